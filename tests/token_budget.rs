//! `tools/list` stays small whatever the upstreams offer: code mode's point is that the
//! agent's context holds two tool definitions, not hundreds. Counted with a real tokenizer
//! (o200k, the GPT-4o family's), on the exact JSON a client receives.
#![cfg(not(target_arch = "wasm32"))]

use std::sync::Arc;

use mcp_isolate_runner::codemode::catalog::{Catalog, UpstreamTools};
use mcp_isolate_runner::codemode::tools::definitions;
use rmcp::model::Tool;
use serde_json::json;

/// The budget from the issue: at or under 1,000 tokens for any number of upstream tools.
const TOOLS_LIST_TOKEN_BUDGET: usize = 1_000;

/// A realistic tool: a description and a few documented, typed parameters.
fn synthetic_tool(index: usize) -> Tool {
    let schema = json!({
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "The record's identifier"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 100},
            "filter": {"type": "object", "properties": {"status": {"enum": ["open", "closed"]}}}
        },
        "required": ["id"]
    });
    Tool::new(
        format!("operation_{index:03}"),
        format!("Performs operation number {index} on a record and returns the updated record."),
        Arc::new(schema.as_object().unwrap().clone()),
    )
}

fn upstreams(count: usize, tools_each: usize) -> Vec<UpstreamTools> {
    (0..count)
        .map(|u| UpstreamTools {
            upstream: format!("service_{u}"),
            tools: Ok((0..tools_each)
                .map(|t| synthetic_tool(u * tools_each + t))
                .collect()),
        })
        .collect()
}

fn tools_list_tokens(catalog: &Catalog) -> usize {
    let result = json!({"tools": definitions(catalog)});
    let bpe = tiktoken_rs::o200k_base().unwrap();
    bpe.encode_with_special_tokens(&result.to_string()).len()
}

#[test]
fn tools_list_fits_the_budget_with_500_tools_in_one_upstream() {
    let tokens = tools_list_tokens(&Catalog::new(upstreams(1, 500)));
    assert!(tokens <= TOOLS_LIST_TOKEN_BUDGET, "{tokens} tokens");
}

#[test]
fn tools_list_fits_the_budget_with_500_tools_across_ten_upstreams() {
    let tokens = tools_list_tokens(&Catalog::new(upstreams(10, 50)));
    assert!(tokens <= TOOLS_LIST_TOKEN_BUDGET, "{tokens} tokens");
}

#[test]
fn tools_list_does_not_grow_with_the_number_of_tools() {
    let small = tools_list_tokens(&Catalog::new(upstreams(1, 5)));
    let large = tools_list_tokens(&Catalog::new(upstreams(1, 500)));
    assert!(
        large <= small + 2,
        "5 tools: {small} tokens, 500 tools: {large} tokens"
    );
}
