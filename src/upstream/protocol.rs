//! Messages between the runner and an upstream's Durable Object, which holds that upstream's
//! MCP session. Sent as JSON in the body of a request to the object.

use rmcp::model::{CallToolResult, Tool};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::client::UpstreamError;

/// What the runner asks an upstream's object to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum UpstreamCommand {
    /// List the upstream's tools (served from cache when fresh).
    ListTools,
    /// Call one tool.
    CallTool {
        /// The tool's MCP name.
        name: String,
        /// Its arguments.
        arguments: Option<Map<String, Value>>,
    },
}

/// What the object answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum UpstreamAnswer {
    /// The tool list.
    Tools {
        /// Every tool, across pages.
        tools: Vec<Tool>,
    },
    /// A tool's result (which may itself report `isError`).
    ToolResult {
        /// The result as the upstream sent it.
        result: CallToolResult,
    },
    /// The arguments do not fit the tool's input schema; the upstream was not called.
    InvalidArguments {
        /// Each problem with its JSON path.
        detail: String,
    },
    /// The upstream could not answer.
    Failed {
        /// Why.
        error: UpstreamError,
    },
}
