//! Values that cross the sandbox boundary, shared with `worker-template/harness.js`.
//!
//! Tool calls never throw across RPC: the bridge returns a [`BridgeReply`] (as JSON text) and
//! the harness turns an error reply into a thrown `Error` inside the user's program. The
//! [`Outcome`] is the harness's report, so it holds only what the program itself produced:
//! its result, console and error. What the program did with tools is recorded on the trusted
//! side, by the bridge's [gate](super::gate).

use rmcp::model::{CallToolResult, ContentBlock};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::depth;
use super::limits::ExecutionLimits;
use crate::protocol::approval::Approval;
use crate::quote::cut_marked;
use crate::upstream::client::UpstreamError;
use crate::upstream::protocol::UpstreamAnswer;

/// Why a tool call from the sandbox failed; each becomes the `name` of the thrown `Error`, so a
/// program (and the model reading its result) can tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ToolErrorKind {
    /// The upstream ran the tool and reported failure (`isError: true`).
    UpstreamToolError,
    /// The upstream answered with a JSON-RPC error.
    UpstreamRpcError,
    /// The upstream did not answer within its timeout; the call was cancelled.
    UpstreamTimeout,
    /// The upstream could not be reached.
    UpstreamUnreachable,
    /// The upstream answered with an HTTP error status.
    UpstreamHttpError,
    /// The upstream answered with something that is not MCP.
    UpstreamProtocolError,
    /// The upstream had ended the session; the call was not processed.
    UpstreamSessionExpired,
    /// The upstream's answer was larger than its `maxResultBytes`; it was not read further.
    UpstreamResultTooLarge,
    /// The runner's configuration for the upstream cannot be used.
    UpstreamMisconfigured,
    /// The program asked for an upstream or tool it may not use.
    NotPermitted,
    /// The arguments do not fit the tool's input schema.
    InvalidArguments,
    /// The client cancelled the execution; calls in flight were abandoned.
    Cancelled,
    /// The call would pass one of the execution's limits (arguments size, number of calls).
    LimitExceeded,
    /// The upstream needs the person to sign in first; the message holds the link.
    AuthorizationRequired,
    /// The call needs a person's approval, and the runner could not ask for it here; the
    /// message says how to get it.
    ApprovalRequired,
    /// The person declined the call, or did not answer in time; it was not made.
    ApprovalDeclined,
    /// A resumed program made other calls than it did before; it was stopped.
    ResumeDiverged,
}

impl ToolErrorKind {
    /// The class of an upstream failure.
    pub fn of(error: &UpstreamError) -> Self {
        match error {
            UpstreamError::Rpc { .. } | UpstreamError::Unanswered { .. } => Self::UpstreamRpcError,
            UpstreamError::Timeout { .. } => Self::UpstreamTimeout,
            UpstreamError::Unreachable { .. } | UpstreamError::NoLease { .. } => {
                Self::UpstreamUnreachable
            }
            UpstreamError::HttpStatus { .. } | UpstreamError::Unauthorized { .. } => {
                Self::UpstreamHttpError
            }
            UpstreamError::Malformed { .. } => Self::UpstreamProtocolError,
            UpstreamError::SessionExpired => Self::UpstreamSessionExpired,
            UpstreamError::Misconfigured { .. } => Self::UpstreamMisconfigured,
            UpstreamError::Cancelled { .. } => Self::Cancelled,
            UpstreamError::TooLarge { .. } => Self::UpstreamResultTooLarge,
            UpstreamError::AuthorizationRequired { .. } => Self::AuthorizationRequired,
        }
    }

    /// The kind's name as it is serialized (`UpstreamTimeout`), for a header to carry.
    pub fn name(self) -> String {
        match serde_json::to_value(self) {
            Ok(Value::String(name)) => name,
            _ => format!("{self:?}"),
        }
    }

    /// The kind whose [`name`](Self::name) is `name`.
    pub fn named(name: &str) -> Result<Self, UnknownErrorKind> {
        serde_json::from_value(Value::String(name.to_owned()))
            .map_err(|_| UnknownErrorKind(name.to_owned()))
    }
}

/// A name that is no [`ToolErrorKind`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an error class")]
pub struct UnknownErrorKind(pub String);

/// The first character of a bridge reply that is a call's returned string, sent as itself
/// (harness.js reads the same mark).
pub const TEXT_REPLY_MARK: char = '=';

/// The answer to one tool call made through the bridge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum BridgeReply {
    /// The tool's value: structured content, else its text parsed as JSON when it parses.
    Ok {
        /// The value the call resolves to.
        value: Value,
    },
    /// The call failed.
    Error {
        /// The failure class.
        kind: ToolErrorKind,
        /// Why, in one line; the harness puts the function's name in front.
        message: String,
    },
}

impl BridgeReply {
    /// The reply for an upstream's tool result: its structured content, else its text content
    /// (parsed as JSON when it parses; several blocks become an array); `isError` becomes an
    /// [`ToolErrorKind::UpstreamToolError`] carrying the upstream's own message.
    pub fn from_tool_result(result: CallToolResult) -> Self {
        // Each block's text is moved, not copied: a result can be many megabytes.
        let texts: Vec<String> = result
            .content
            .into_iter()
            .map(|block| match block {
                ContentBlock::Text(text) => text.text,
                other => serde_json::to_string(&other).unwrap_or_default(),
            })
            .collect();
        if result.is_error == Some(true) {
            let message = if texts.is_empty() {
                "no message".to_owned()
            } else {
                texts.join("\n")
            };
            return BridgeReply::Error {
                kind: ToolErrorKind::UpstreamToolError,
                message: format!("the tool reported an error: {message}"),
            };
        }
        let value = match result.structured_content {
            Some(structured) => structured,
            None => match <[String; 1]>::try_from(texts) {
                Ok([one]) => parse_or_text(one),
                Err(texts) if texts.is_empty() => Value::Null,
                Err(many) => Value::Array(many.into_iter().map(parse_or_text).collect()),
            },
        };
        BridgeReply::Ok { value }
    }

    /// The reply for what an upstream's object answered to a call.
    pub fn from_answer(answer: UpstreamAnswer) -> Self {
        let refuse = |kind, message: String| BridgeReply::Error { kind, message };
        match answer {
            UpstreamAnswer::ToolResult { result } => BridgeReply::from_tool_result(result),
            UpstreamAnswer::InvalidArguments { detail } => refuse(
                ToolErrorKind::InvalidArguments,
                format!("the arguments do not match the tool's input schema: {detail}"),
            ),
            UpstreamAnswer::NotPermitted { detail } => refuse(ToolErrorKind::NotPermitted, detail),
            UpstreamAnswer::Failed { error } => {
                refuse(ToolErrorKind::of(&error), error.to_string())
            }
            UpstreamAnswer::Tools { .. }
            | UpstreamAnswer::Pending { .. }
            | UpstreamAnswer::Cancelled { .. }
            | UpstreamAnswer::Status { .. }
            | UpstreamAnswer::Forgotten
            | UpstreamAnswer::Leased { .. }
            | UpstreamAnswer::Observed { .. }
            | UpstreamAnswer::Redirect { .. }
            | UpstreamAnswer::SignedIn { .. }
            | UpstreamAnswer::SignInFailed { .. }
            | UpstreamAnswer::Disconnected { .. }
            | UpstreamAnswer::Account { .. }
            | UpstreamAnswer::Asked { .. } => refuse(
                ToolErrorKind::UpstreamProtocolError,
                "the upstream's object answered out of turn".into(),
            ),
        }
    }

    /// The reply as the bridge hands it to the harness. A call that returned a string sends
    /// [`TEXT_REPLY_MARK`] and the string itself, so a text of megabytes is neither escaped
    /// here nor parsed in the isolate; any other reply is its JSON, which starts with `{`.
    pub fn to_wire(&self) -> String {
        match self {
            BridgeReply::Ok {
                value: Value::String(text),
            } => {
                let mut wire = String::with_capacity(text.len() + TEXT_REPLY_MARK.len_utf8());
                wire.push(TEXT_REPLY_MARK);
                wire.push_str(text);
                wire
            }
            _ => self.to_json(),
        }
    }

    /// Reads a reply written by [`to_wire`](Self::to_wire).
    pub fn from_wire(wire: &str) -> Result<Self, serde_json::Error> {
        match wire.strip_prefix(TEXT_REPLY_MARK) {
            Some(text) => Ok(BridgeReply::Ok {
                value: Value::String(text.to_owned()),
            }),
            None => serde_json::from_str(wire),
        }
    }

    /// The reply's JSON. A reply that cannot be written (a value serde refuses) becomes an
    /// error reply saying so, which holds only strings and always is.
    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|e| {
            BridgeReply::Error {
                kind: ToolErrorKind::UpstreamProtocolError,
                message: format!("the reply could not be written: {e}"),
            }
            .to_json()
        })
    }

    /// Why the call failed, or `None` when it returned a value.
    pub fn error_kind(&self) -> Option<ToolErrorKind> {
        match self {
            BridgeReply::Ok { .. } => None,
            BridgeReply::Error { kind, .. } => Some(*kind),
        }
    }
}

/// `text` parsed when it is JSON (nesting past [`depth::MAX_VALUE_DEPTH`] cut with a marker),
/// else the text itself.
fn parse_or_text(text: String) -> Value {
    depth::parse(&text).unwrap_or(Value::String(text))
}

/// What the harness reports when the program ends.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// When the harness started the program, by the isolate's clock (milliseconds since the
    /// Unix epoch): how long the isolate took to start is measured up to here.
    #[serde(default)]
    pub started_at_ms: Option<u64>,
    /// The program's return value as JSON text (`undefined` gives none).
    #[serde(default)]
    pub result_json: Option<String>,
    /// The full length of the result's JSON when the harness cut it to the limit.
    #[serde(default)]
    pub result_chars: Option<usize>,
    /// Console output, in order.
    #[serde(default)]
    pub logs: Vec<String>,
    /// Console entries dropped past the limit.
    #[serde(default)]
    pub dropped_logs: usize,
    /// Why the program failed, if it did.
    #[serde(default)]
    pub error: Option<ThrownError>,
    /// Whether the loop guard's step budget ran out (the program may have thrown something
    /// else after catching its error).
    #[serde(default)]
    pub loop_limit_hit: bool,
}

impl Outcome {
    /// The outcome held to `limits`. The harness applies the same bounds, but it shares its
    /// isolate with the program, so the runner does not rely on it.
    pub fn bounded(mut self, limits: &ExecutionLimits) -> Self {
        if self.logs.len() > limits.max_log_entries {
            self.dropped_logs += self.logs.len() - limits.max_log_entries;
            self.logs.truncate(limits.max_log_entries);
        }
        for entry in &mut self.logs {
            *entry = cut_marked(entry, limits.max_log_entry_chars);
        }
        self
    }
}

/// A value the program threw (or a rejection it did not handle).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ThrownError {
    /// The error's `name` (`TypeError`, `UpstreamToolError`, …).
    pub name: String,
    /// Its message.
    pub message: String,
    /// Its stack, used to find the line in the user's code.
    #[serde(default)]
    pub stack: Option<String>,
}

/// A question an upstream asked the person during a call, as the audit keeps it (never its
/// words or the answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionTrace {
    /// The upstream that asked.
    pub upstream: String,
    /// What it asked: `elicitation/create`, `sampling/createMessage`, `roots/list`.
    pub method: String,
    /// Whether the person's client gave an answer (else the upstream got an error).
    pub answered: bool,
}

/// One tool call, as the bridge's gate saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallTrace {
    /// `namespace.function`.
    pub tool: String,
    /// Milliseconds from the call reaching the bridge to its answer.
    pub ms: u64,
    /// Whether it succeeded.
    pub ok: bool,
    /// The failure's class when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ToolErrorKind>,
    /// The person's approval, for a call that needed one and got it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// Whether it was answered from the record of an earlier run, not made again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
}

impl CallTrace {
    /// One line for the client's progress display, e.g. `github.search answered in 120 ms`.
    pub fn summary(&self) -> String {
        match self.error {
            None => format!("{} answered in {} ms", self.tool, self.ms),
            Some(kind) => format!("{} failed ({kind:?}) after {} ms", self.tool, self.ms),
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::json;

    use super::*;

    #[test]
    fn bridge_replies_have_the_shape_the_harness_reads() {
        let ok = BridgeReply::Ok { value: json!(42) };
        assert_eq!(
            serde_json::to_value(ok).unwrap(),
            json!({"status": "ok", "value": 42})
        );
        let err = BridgeReply::Error {
            kind: ToolErrorKind::NotPermitted,
            message: "no".into(),
        };
        assert_eq!(
            serde_json::to_value(err).unwrap(),
            json!({"status": "error", "kind": "NotPermitted", "message": "no"})
        );
    }

    #[test]
    fn tool_results_become_values_and_is_error_becomes_an_error_reply() {
        use rmcp::model::ContentBlock;
        let text = CallToolResult::success(vec![ContentBlock::text("The sum of 2 and 40 is 42.")]);
        assert_eq!(
            BridgeReply::from_tool_result(text),
            BridgeReply::Ok {
                value: json!("The sum of 2 and 40 is 42.")
            }
        );
        let json_text = CallToolResult::success(vec![ContentBlock::text("{\"n\": 1}")]);
        assert_eq!(
            BridgeReply::from_tool_result(json_text),
            BridgeReply::Ok {
                value: json!({"n": 1})
            }
        );
        let mut structured = CallToolResult::success(vec![ContentBlock::text("ignored")]);
        structured.structured_content = Some(json!({"total": 3}));
        assert_eq!(
            BridgeReply::from_tool_result(structured),
            BridgeReply::Ok {
                value: json!({"total": 3})
            }
        );
        let mut failed = CallToolResult::success(vec![ContentBlock::text("unknown SKU: X")]);
        failed.is_error = Some(true);
        assert_eq!(
            BridgeReply::from_tool_result(failed),
            BridgeReply::Error {
                kind: ToolErrorKind::UpstreamToolError,
                message: "the tool reported an error: unknown SKU: X".into()
            }
        );
    }

    #[test]
    fn a_tool_text_nested_past_the_parsers_limit_is_cut_not_turned_into_a_string() {
        use rmcp::model::ContentBlock;
        let deep = format!("{}1{}", "[".repeat(130), "]".repeat(130));
        let BridgeReply::Ok { value } =
            BridgeReply::from_tool_result(CallToolResult::success(vec![ContentBlock::text(deep)]))
        else {
            panic!("expected a value")
        };
        assert!(value.is_array(), "{value}");
        assert!(value.to_string().contains(depth::TOO_DEEP));
    }

    #[test]
    fn an_outcome_without_optional_fields_reads() {
        let outcome: Outcome = serde_json::from_value(json!({"logs": ["hi"]})).unwrap();
        assert_eq!(outcome.result_json, None);
        assert_eq!(outcome.logs, ["hi"]);
    }

    #[test]
    fn a_returned_string_crosses_the_bridge_as_itself_and_every_reply_reads_back() {
        let text = BridgeReply::Ok {
            value: json!("a \"quoted\" line\n{not json"),
        };
        assert_eq!(text.to_wire(), "=a \"quoted\" line\n{not json");
        let replies = [
            text,
            BridgeReply::Ok { value: json!("") },
            BridgeReply::Ok {
                value: json!("={\"status\":\"ok\"}"),
            },
            BridgeReply::Ok {
                value: json!({"text": "=x"}),
            },
            BridgeReply::Error {
                kind: ToolErrorKind::UpstreamTimeout,
                message: "=late".into(),
            },
        ];
        for reply in replies {
            let wire = reply.to_wire();
            assert!(wire.starts_with(['=', '{']), "{wire}");
            assert_eq!(BridgeReply::from_wire(&wire).unwrap(), reply);
        }
    }

    #[test]
    fn an_error_kind_is_named_as_it_is_serialized_and_read_back_from_its_name() {
        for kind in [ToolErrorKind::UpstreamTimeout, ToolErrorKind::NotPermitted] {
            assert_eq!(json!(kind.name()), serde_json::to_value(kind).unwrap());
            assert_eq!(ToolErrorKind::named(&kind.name()), Ok(kind));
        }
        let unknown = ToolErrorKind::named("Teapot").unwrap_err();
        assert_eq!(unknown.to_string(), "`Teapot` is not an error class");
        let reply = BridgeReply::Error {
            kind: ToolErrorKind::LimitExceeded,
            message: "too many calls".into(),
        };
        let json: Value = serde_json::from_str(&reply.to_wire()).unwrap();
        assert_eq!(json["kind"], "LimitExceeded");
    }

    #[test]
    fn a_call_trace_summarises_in_one_line() {
        let mut trace = CallTrace {
            tool: "github.search".into(),
            ms: 120,
            ok: true,
            error: None,
            approval: None,
            replayed: false,
        };
        assert_eq!(trace.summary(), "github.search answered in 120 ms");
        trace.ok = false;
        trace.error = Some(ToolErrorKind::UpstreamTimeout);
        assert_eq!(
            trace.summary(),
            "github.search failed (UpstreamTimeout) after 120 ms"
        );
    }
}
