//! Every upstream's tools as TypeScript: one namespace per upstream, one function per tool.
//!
//! The catalog is the single source for both what the model reads (declarations, through
//! `search`) and what the sandbox binds (the [`Manifest`] mapping each function to its MCP
//! tool), so the two cannot disagree.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use rmcp::model::Tool;
use serde_json::Value;

use super::jsdoc::jsdoc;
use super::typescript::{type_of, TypeScope};
use crate::config::{Grant, Verdict};
use crate::names::unique_identifiers;
use crate::quote::{
    bare_or_quoted, cut, quote, FAILURE_CHARS, TAG_VALUE_CHARS, TOOL_DESCRIPTION_CHARS,
};
use crate::sandbox::program::{BoundTool, Manifest, UnavailableNamespace};
use crate::sandbox::protocol::ToolErrorKind;
use crate::upstream::client::UpstreamError;
use crate::upstream::observed::ObservedType;

/// What introduces a tool's description in its JSDoc: the words that follow are the upstream's.
pub const UPSTREAM_DESCRIPTION: &str = "Upstream's description:";

/// One upstream's tools, or why they could not be listed.
#[derive(Debug, Clone)]
pub struct UpstreamTools {
    /// The upstream's configured name, which is also its namespace.
    pub upstream: String,
    /// Its tools, or the reason it is unavailable.
    pub tools: Result<Vec<Tool>, Unavailable>,
    /// The observed result types of its tools without `outputSchema`, by tool name.
    pub observed: BTreeMap<String, ObservedType>,
}

impl UpstreamTools {
    /// `upstream`'s `tools`, with nothing observed of their results.
    pub fn new(upstream: impl Into<String>, tools: Result<Vec<Tool>, Unavailable>) -> Self {
        Self {
            upstream: upstream.into(),
            tools,
            observed: BTreeMap::new(),
        }
    }

    /// The same tools, with what was `observed` of their results.
    pub fn with_observed(self, observed: BTreeMap<String, ObservedType>) -> Self {
        Self { observed, ..self }
    }
}

/// Why an upstream's tools are not listed, with the runner's words and the upstream's apart:
/// it is shown to the model (the `execute` description, `search`), so what the upstream said
/// (an HTTP body, a JSON-RPC message) appears only quoted and capped, after the failure's class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// The failure's class: what a call to one of its functions throws.
    pub kind: ToolErrorKind,
    /// The failure's class and what the runner knows of it: `UpstreamHttpError (HTTP 503)`.
    pub cause: String,
    /// Text the upstream or its transport supplied, shown quoted, at most [`FAILURE_CHARS`].
    pub reported: Option<String>,
    /// Whether the upstream's object is trying again.
    pub retrying: bool,
}

impl Unavailable {
    /// A reason in the runner's own words (the upstream could not be reached).
    pub fn new(cause: impl Into<String>) -> Self {
        Self {
            kind: ToolErrorKind::UpstreamUnreachable,
            cause: cause.into(),
            reported: None,
            retrying: false,
        }
    }

    /// The reason for a failed request to the upstream. Every variant is listed, so a new one
    /// cannot be added without deciding which of its text is the upstream's.
    pub fn of(error: &UpstreamError) -> Self {
        let kind = ToolErrorKind::of(error);
        let class = class_name(kind);
        let (cause, reported) = match error {
            UpstreamError::Unreachable { detail } => (class, Some(detail.clone())),
            // The body is already a JSON string literal there; it is quoted once, below.
            UpstreamError::HttpStatus { status, detail } => (
                format!("{class} (HTTP {status})"),
                Some(serde_json::from_str(detail).unwrap_or_else(|_| detail.clone())),
            ),
            UpstreamError::Timeout { ms } => (format!("{class} (no answer within {ms} ms)"), None),
            UpstreamError::Misconfigured { detail } => (format!("{class}: {detail}"), None),
            UpstreamError::SessionExpired => (class, None),
            UpstreamError::Malformed { detail } => (class, Some(detail.clone())),
            UpstreamError::Rpc { code, message } => (
                format!("{class} (JSON-RPC error {code})"),
                Some(message.clone()),
            ),
            UpstreamError::TooLarge { .. }
            | UpstreamError::Unanswered { .. }
            | UpstreamError::NoLease { .. } => (format!("{class}: {error}"), None),
            UpstreamError::Cancelled { reason } => (class, Some(reason.clone())),
            UpstreamError::Unauthorized { status, challenge } => (
                format!("{class} (HTTP {status}: the upstream refused the runner's credentials)"),
                challenge.clone(),
            ),
            // The link is the runner's own, so it is not quoted as the upstream's words.
            UpstreamError::AuthorizationRequired { .. } => (format!("{class}: {error}"), None),
        };
        Self {
            kind,
            cause,
            reported,
            retrying: false,
        }
    }

    /// The same reason, saying the upstream's object is trying again.
    pub fn retrying(self) -> Self {
        Self {
            retrying: true,
            ..self
        }
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.cause)?;
        if let Some(reported) = &self.reported {
            write!(f, ", reporting {}", quote(reported, FAILURE_CHARS))?;
        }
        if self.retrying {
            f.write_str(" (trying again)")?;
        }
        Ok(())
    }
}

/// `UpstreamHttpError` for [`ToolErrorKind::UpstreamHttpError`]: the name a program's `Error`
/// gets for the same failure.
fn class_name(kind: ToolErrorKind) -> String {
    match serde_json::to_value(kind) {
        Ok(Value::String(name)) => name,
        _ => "UpstreamError".to_owned(),
    }
}

/// The generated API across all upstreams a session may use.
#[derive(Debug, Clone)]
pub struct Catalog {
    namespaces: Vec<Namespace>,
}

/// One upstream as a TypeScript namespace.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// The namespace identifier (the upstream's name).
    pub name: String,
    /// Its functions, in the upstream's order; empty when unavailable.
    pub functions: Vec<Function>,
    /// Why the upstream's tools could not be listed, if they could not.
    pub unavailable: Option<Unavailable>,
}

/// One upstream tool as a TypeScript function.
#[derive(Debug, Clone)]
pub struct Function {
    /// The identifier the model calls (`get_sum`).
    pub ident: String,
    /// The tool as the upstream described it; `tool.name` is what goes on the wire.
    pub tool: Tool,
    /// Whether the operator's policy makes each call wait for a person's approval.
    pub needs_approval: bool,
    /// What the runner learned of its results, when it declares no `outputSchema`.
    pub observed: Option<ObservedType>,
}

impl Catalog {
    /// Builds the catalog; identifiers are unique within each namespace.
    pub fn new(upstreams: Vec<UpstreamTools>) -> Self {
        let namespaces = upstreams
            .into_iter()
            .map(|listed| match listed.tools {
                Ok(tools) => {
                    let idents = unique_identifiers(tools.iter().map(|t| t.name.as_ref()));
                    let functions = idents
                        .into_iter()
                        .zip(tools)
                        .map(|(ident, tool)| Function {
                            observed: listed.observed.get(tool.name.as_ref()).cloned(),
                            ident,
                            tool,
                            needs_approval: false,
                        })
                        .collect();
                    Namespace {
                        name: listed.upstream,
                        functions,
                        unavailable: None,
                    }
                }
                Err(reason) => Namespace {
                    name: listed.upstream,
                    functions: Vec::new(),
                    unavailable: Some(reason),
                },
            })
            .collect();
        Self { namespaces }
    }

    /// The catalog without the tools `grant` blocks, and with those it makes wait for approval
    /// marked; identifiers stay as they were, so a function has one name whoever is shown it.
    pub fn granted(mut self, grant: &Grant) -> Self {
        for namespace in &mut self.namespaces {
            namespace.functions.retain_mut(|f| {
                let verdict = grant.verdict(&namespace.name, &f.tool);
                f.needs_approval = verdict == Verdict::Approve;
                verdict != Verdict::Block
            });
        }
        self
    }

    /// The namespaces, in configuration order.
    pub fn namespaces(&self) -> &[Namespace] {
        &self.namespaces
    }

    /// The function `namespace.ident`, if it exists.
    pub fn function(&self, namespace: &str, ident: &str) -> Option<&Function> {
        self.namespaces
            .iter()
            .find(|n| n.name == namespace)?
            .functions
            .iter()
            .find(|f| f.ident == ident)
    }

    /// The namespaces without functions, and what a call to one of them throws.
    pub fn unavailable(&self) -> BTreeMap<String, UnavailableNamespace> {
        let namespaces = self.namespaces.iter();
        namespaces
            .filter_map(|n| {
                let why = n.unavailable.as_ref()?;
                let message = format!("{} is unavailable: {why}", n.name);
                Some((
                    n.name.clone(),
                    UnavailableNamespace {
                        kind: why.kind,
                        message,
                    },
                ))
            })
            .collect()
    }

    /// The functions an execution over this catalog is given: what the bridge's gate resolves
    /// each call through (the harness is told only their names).
    pub fn manifest(&self) -> Manifest {
        Manifest(
            self.namespaces
                .iter()
                .map(|n| {
                    let functions = n.functions.iter().map(|f| {
                        let bound = BoundTool {
                            name: f.tool.name.to_string(),
                            needs_approval: f.needs_approval,
                        };
                        (f.ident.clone(), bound)
                    });
                    (n.name.clone(), functions.collect())
                })
                .collect(),
        )
    }

    /// The declared arguments of `namespace.ident`, as one line of TypeScript with the named
    /// types it uses, cut at [`ARGUMENTS_CHARS`]: what an invalid call is shown beside its
    /// error.
    pub fn arguments(&self, namespace: &str, ident: &str) -> Option<String> {
        let function = self.function(namespace, ident)?;
        let mut scope = TypeScope::default();
        let input = Value::Object((*function.tool.input_schema).clone());
        let mut declared = format!("`{}`", type_of(&input, &mut scope));
        let named = scope.declarations("");
        if !named.is_empty() {
            declared.push_str(&format!(", where `{}`", named.trim_end()));
        }
        let declared = declared.split_whitespace().collect::<Vec<_>>().join(" ");
        Some(cut(&declared, ARGUMENTS_CHARS))
    }

    /// Declarations for the chosen functions, grouped by namespace, in catalog order; each
    /// namespace starts with the named types (`$defs`) its chosen functions use.
    pub fn declarations<'a>(
        &'a self,
        chosen: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> String {
        let chosen: HashSet<(&str, &str)> = chosen.into_iter().collect();
        let mut out = String::new();
        for namespace in &self.namespaces {
            let functions: Vec<&Function> = namespace
                .functions
                .iter()
                .filter(|f| chosen.contains(&(namespace.name.as_str(), f.ident.as_str())))
                .collect();
            if functions.is_empty() {
                continue;
            }
            let mut scope = TypeScope::default();
            let declarations: String = functions
                .iter()
                .map(|f| f.declaration(&mut scope))
                .collect();
            out.push_str(&format!("declare namespace {} {{\n", namespace.name));
            out.push_str(&scope.declarations("  "));
            out.push_str(&declarations);
            out.push_str("}\n");
        }
        out
    }
}

impl Function {
    /// This function's TypeScript declaration, with its JSDoc, indented for a namespace body;
    /// the named types it uses are added to `scope`.
    pub fn declaration(&self, scope: &mut TypeScope) -> String {
        let mut doc: Vec<String> = Vec::new();
        if let Some(description) = self
            .tool
            .description
            .as_deref()
            .filter(|d| !d.trim().is_empty())
        {
            doc.push(format!(
                "{UPSTREAM_DESCRIPTION} {}",
                quote(description.trim(), TOOL_DESCRIPTION_CHARS)
            ));
        }
        doc.push(format!(
            "@mcpTool {}",
            bare_or_quoted(&self.tool.name, TAG_VALUE_CHARS)
        ));
        if self.needs_approval {
            doc.push(APPROVAL_NOTE.to_owned());
        }
        let input = Value::Object((*self.tool.input_schema).clone());
        let args = type_of(&input, scope).replace('\n', "\n  ");
        let returns = match (&self.tool.output_schema, &self.observed) {
            (Some(schema), _) => {
                type_of(&Value::Object((**schema).clone()), scope).replace('\n', "\n  ")
            }
            (None, Some(observed)) => {
                doc.push(observed_note(observed));
                type_of(&observed.schema, scope).replace('\n', "\n  ")
            }
            (None, None) => {
                doc.push(
                    "@returns the tool's text output, parsed as JSON when it is JSON".to_owned(),
                );
                "unknown".to_owned()
            }
        };
        let optional = if input_is_optional(&input) { "?" } else { "" };
        format!(
            "{}  function {}(args{optional}: {args}): Promise<{returns}>;\n",
            jsdoc(&doc, "  "),
            self.ident
        )
    }

    /// Words that describe this function, for search: its names, description and parameters.
    pub fn parameter_names(&self) -> Vec<&str> {
        match self.tool.input_schema.get("properties") {
            Some(Value::Object(properties)) => properties.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// Characters of a function's declared arguments shown beside an invalid call's error.
pub const ARGUMENTS_CHARS: usize = 1_500;

/// What an approval-gated function's JSDoc says, so the model plans for the wait and the throw.
const APPROVAL_NOTE: &str =
    "@remarks Each call waits for a person to approve it; if they decline, \
                             or approval cannot be asked here, the call throws \
                             (ApprovalDeclined, ApprovalRequired) and nothing is done. Make such \
                             calls deliberately, not speculatively.";

/// The JSDoc of a return type learned from results: not the upstream's promise.
fn observed_note(observed: &ObservedType) -> String {
    let results = match observed.results {
        1 => "the one result".to_owned(),
        n => format!("the {n} results"),
    };
    let day = i64::try_from(observed.last_at_ms / 1_000)
        .ok()
        .and_then(|seconds| time::OffsetDateTime::from_unix_timestamp(seconds).ok())
        .map(|at| at.date());
    let when = day.map_or_else(String::new, |day| {
        format!(
            " (the last on {}-{:02}-{:02})",
            day.year(),
            u8::from(day.month()),
            day.day()
        )
    });
    format!(
        "@returns The upstream declares no result type: this is the shape of {results} the \
         runner has seen{when}. Fields some results lacked are optional; check them before use."
    )
}

/// Whether a call may omit the argument object: no property is required.
fn input_is_optional(schema: &Value) -> bool {
    schema
        .get("required")
        .and_then(Value::as_array)
        .is_none_or(|r| r.is_empty())
}

#[cfg(test)]
mod tests;
