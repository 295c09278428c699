//! `tools/list` stays small whatever the upstreams offer: code mode's point is that the
//! agent's context holds two tool definitions, not hundreds. Counted with a real tokenizer
//! (o200k, the GPT-4o family's), on the exact JSON a client receives.
#![cfg(not(target_arch = "wasm32"))]

#[path = "support/synthetic.rs"]
mod synthetic;

use mcp_isolate_runner::codemode::catalog::Catalog;
use mcp_isolate_runner::codemode::tools::definitions;
use serde_json::json;
use synthetic::synthetic_upstreams as upstreams;

/// The budget from the issue: at or under 1,000 tokens for any number of upstream tools.
const TOOLS_LIST_TOKEN_BUDGET: usize = 1_000;

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
