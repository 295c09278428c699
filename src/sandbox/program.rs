//! The code a dynamic isolate is loaded with: the harness module, the user's program module,
//! and the run request the harness receives.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use super::limits::{ExecutionLimits, ISOLATE_COMPATIBILITY_DATE, ISOLATE_COMPATIBILITY_FLAGS};
use super::protocol::ToolErrorKind;
use crate::names::CONSOLE;

/// The module name the harness is loaded under; it is the isolate's main module.
pub const HARNESS_MODULE: &str = "harness.js";
/// The harness's modules, by name: the harness (builds namespace objects over the bridge,
/// captures the console, runs the program and reports an outcome), the built-ins it captures
/// before the program's module runs, the guard on regular expressions, and the removal of the
/// Cache API.
pub const HARNESS_MODULES: [(&str, &str); 4] = [
    (
        HARNESS_MODULE,
        include_str!("../../worker-template/harness.js"),
    ),
    (
        "primordials.js",
        include_str!("../../worker-template/primordials.js"),
    ),
    (
        "regexp_guard.js",
        include_str!("../../worker-template/regexp_guard.js"),
    ),
    (
        "no_cache.js",
        include_str!("../../worker-template/no_cache.js"),
    ),
];
/// The module name the user's program is loaded under in the isolate.
pub const PROGRAM_MODULE: &str = "program.js";

/// The functions an execution is given: namespace (the upstream's name) → function → the MCP
/// tool it calls. The harness is told only the names; the bridge's gate resolves a call through
/// this, so a program can reach no tool it was not given, whatever it sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Manifest(pub BTreeMap<String, BTreeMap<String, BoundTool>>);

/// The upstream tool a function calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoundTool {
    /// Its MCP name.
    pub name: String,
    /// Whether each call waits for a person's approval.
    pub needs_approval: bool,
}

impl Manifest {
    /// The tool `namespace.function` calls, if the execution was given it.
    pub fn tool(&self, namespace: &str, function: &str) -> Option<&BoundTool> {
        self.0.get(namespace)?.get(function)
    }
}

/// The Worker Loader's `WorkerCode`, less the parts only JavaScript can express (`env` with the
/// bridge stub, and `globalOutbound: null`), which the shell adds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerCode {
    /// The isolate's compatibility date.
    pub compatibility_date: &'static str,
    /// The isolate's compatibility flags.
    pub compatibility_flags: [&'static str; 2],
    /// The module the isolate starts from.
    pub main_module: &'static str,
    /// Module name → source.
    pub modules: BTreeMap<&'static str, String>,
    /// Resource limits the platform enforces.
    pub limits: IsolateLimits,
}

/// `WorkerCode.limits`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IsolateLimits {
    /// CPU milliseconds.
    pub cpu_ms: u32,
    /// Subrequests, tool calls included.
    pub sub_requests: u32,
}

/// What the runner asks the harness to run: `run(request)` on its entrypoint.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunRequest {
    /// Parameter names of the program's wrapper function, in order: `console`, then each
    /// namespace. The harness passes its console and namespace objects in this order.
    pub bindings: Vec<String>,
    /// Namespace → the names of its functions.
    pub namespaces: BTreeMap<String, Vec<String>>,
    /// Namespace → why it has no functions: any function of it the program calls throws this.
    pub unavailable: BTreeMap<String, UnavailableNamespace>,
    /// The execution's limits; the harness applies the console, result and tool-call ones.
    #[serde(flatten)]
    pub limits: ExecutionLimits,
}

impl WorkerCode {
    /// The isolate's code for one prepared program module.
    pub fn new(program_module: String, limits: &ExecutionLimits) -> Self {
        let modules = HARNESS_MODULES
            .iter()
            .map(|(name, source)| (*name, (*source).to_owned()))
            .chain([(PROGRAM_MODULE, program_module)])
            .collect();
        Self {
            compatibility_date: ISOLATE_COMPATIBILITY_DATE,
            compatibility_flags: ISOLATE_COMPATIBILITY_FLAGS,
            main_module: HARNESS_MODULE,
            modules,
            limits: IsolateLimits {
                cpu_ms: limits.cpu_ms,
                sub_requests: limits.sub_requests,
            },
        }
    }
}

/// Why a namespace has no functions, as a call to one of them fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct UnavailableNamespace {
    /// The error's class.
    pub kind: ToolErrorKind,
    /// Why, in one line (the harness puts the function's name in front).
    pub message: String,
}

impl RunRequest {
    /// A run request over these namespaces, those `unavailable` among them failing every call,
    /// with the configured limits.
    pub fn new(
        manifest: &Manifest,
        unavailable: BTreeMap<String, UnavailableNamespace>,
        limits: &ExecutionLimits,
    ) -> Self {
        let bindings = std::iter::once(CONSOLE.to_owned())
            .chain(manifest.0.keys().cloned())
            .collect();
        let namespaces = manifest
            .0
            .iter()
            .map(|(namespace, functions)| (namespace.clone(), functions.keys().cloned().collect()))
            .collect();
        Self {
            bindings,
            namespaces,
            unavailable,
            limits: *limits,
        }
    }
}
