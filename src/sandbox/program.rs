//! The code a dynamic isolate is loaded with: the harness module, the user's program module,
//! and the run request the harness receives.

use std::collections::BTreeMap;

use serde::Serialize;

use super::limits::{ExecutionLimits, ISOLATE_COMPATIBILITY_DATE};
use crate::codemode::catalog::Manifest;
use crate::codemode::source::PROGRAM_MODULE;

/// The harness: builds namespace objects over the bridge, captures the console, runs the
/// program and reports an outcome.
pub const HARNESS_SOURCE: &str = include_str!("../../worker-template/harness.js");
/// The module name the harness is loaded under; it is the isolate's main module.
pub const HARNESS_MODULE: &str = "harness.js";

/// The Worker Loader's `WorkerCode`, less the parts only JavaScript can express (`env` with the
/// bridge stub, and `globalOutbound: null`), which the shell adds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerCode {
    /// The isolate's compatibility date.
    pub compatibility_date: &'static str,
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
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRequest {
    /// Parameter names of the program's wrapper function, in order: `console`, then each
    /// namespace. The harness passes its console and namespace objects in this order.
    pub bindings: Vec<String>,
    /// Namespace → function → MCP tool name.
    pub namespaces: Manifest,
    /// The execution's limits; the harness applies the console, result and tool-call ones.
    #[serde(flatten)]
    pub limits: ExecutionLimits,
}

impl WorkerCode {
    /// The isolate's code for one prepared program module.
    pub fn new(program_module: String, limits: &ExecutionLimits) -> Self {
        let modules = BTreeMap::from([
            (HARNESS_MODULE, HARNESS_SOURCE.to_owned()),
            (PROGRAM_MODULE, program_module),
        ]);
        Self {
            compatibility_date: ISOLATE_COMPATIBILITY_DATE,
            main_module: HARNESS_MODULE,
            modules,
            limits: IsolateLimits {
                cpu_ms: limits.cpu_ms,
                sub_requests: limits.sub_requests,
            },
        }
    }
}

impl RunRequest {
    /// A run request over these namespaces, with the configured limits.
    pub fn new(namespaces: Manifest, limits: &ExecutionLimits) -> Self {
        let bindings = std::iter::once("console".to_owned())
            .chain(namespaces.0.keys().cloned())
            .collect();
        Self {
            bindings,
            namespaces,
            limits: *limits,
        }
    }
}
