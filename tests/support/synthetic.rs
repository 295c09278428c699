//! Synthetic upstreams of any size, shared by the token-budget test and the token benchmark
//! (both include this file with `#[path]`).

use std::sync::Arc;

use mcp_isolate_runner::codemode::catalog::UpstreamTools;
use rmcp::model::Tool;
use serde_json::json;

/// A realistic tool: a description and a few documented, typed parameters.
pub fn synthetic_tool(index: usize) -> Tool {
    let schema = json!({
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "The record's identifier"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 100},
            "filter": {"type": "object", "properties": {"status": {"enum": ["open", "closed"]}}}
        },
        "required": ["id"]
    });
    let schema = schema.as_object().cloned().unwrap_or_default();
    Tool::new(
        format!("operation_{index:03}"),
        format!("Performs operation number {index} on a record and returns the updated record."),
        Arc::new(schema),
    )
}

/// `count` upstreams of `tools_each` synthetic tools.
pub fn synthetic_upstreams(count: usize, tools_each: usize) -> Vec<UpstreamTools> {
    (0..count)
        .map(|u| {
            UpstreamTools::new(
                format!("service_{u}"),
                Ok((0..tools_each)
                    .map(|t| synthetic_tool(u * tools_each + t))
                    .collect()),
            )
        })
        .collect()
}
