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
fn every_tool_description_fits_what_clients_keep_with_1_10_and_50_upstreams() {
    use mcp_isolate_runner::codemode::catalog::{Unavailable, UpstreamTools};
    for count in [1, 10, 50] {
        let mut listed = upstreams(count, 5);
        // Unavailable upstreams say why at length.
        for upstream in listed.iter_mut().step_by(3) {
            *upstream = UpstreamTools::new(
                upstream.upstream.clone(),
                Err(Unavailable::new(format!(
                    "UpstreamUnreachable: {}",
                    "connection refused ".repeat(40)
                ))),
            );
        }
        for tool in definitions(&Catalog::new(listed)) {
            let chars = tool.description.as_deref().unwrap_or("").chars().count();
            assert!(
                chars < 2_048,
                "{count} upstreams: `{}` is {chars} characters",
                tool.name
            );
        }
    }
    let many = definitions(&Catalog::new(upstreams(200, 1)));
    let execute = many[1].description.as_deref().unwrap();
    assert!(execute.chars().count() < 2_048);
    assert!(
        execute.contains("(200 in all): `search` with a namespace's name lists its functions"),
        "{execute}"
    );
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

/// The runner's token estimate against o200k on the texts budgets apply to: tool lists, the
/// declarations `search` answers, results of real shapes, prose, numbers, base64 and other
/// scripts.
#[test]
fn the_token_estimate_errs_high_but_not_far() {
    use mcp_isolate_runner::codemode::tokens::estimate;
    let bpe = tiktoken_rs::o200k_base().unwrap();
    let catalog = Catalog::new(upstreams(3, 20));
    let chosen: Vec<(&str, &str)> = catalog
        .namespaces()
        .iter()
        .flat_map(|n| {
            n.functions
                .iter()
                .map(|f| (n.name.as_str(), f.ident.as_str()))
        })
        .collect();
    let issues: Vec<serde_json::Value> = (0..200)
        .map(|n| json!({"number": n, "title": format!("Crash when saving file {n}"), "state": "open",
                        "labels": [{"name": "bug"}], "assignee": {"login": "ada"}, "comments": n % 7,
                        "created_at": "2026-11-30T08:15:06Z", "url": format!("https://example.com/issues/{n}")}))
        .collect();
    let samples = [
        (
            "fixture tool list",
            std::fs::read_to_string("tests/fixtures/server-github.tools.json").unwrap(),
        ),
        ("declarations", catalog.declarations(chosen)),
        (
            "issues",
            json!({"total_count": 200, "items": issues}).to_string(),
        ),
        (
            "prose",
            "The quick brown fox jumps over the lazy dog. ".repeat(50),
        ),
        (
            "numbers",
            json!((0..500).map(|n| n * 7919).collect::<Vec<_>>()).to_string(),
        ),
        ("base64", {
            use base64::Engine;
            let bytes: Vec<u8> = (0u32..3_000)
                .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect();
            base64::engine::general_purpose::STANDARD.encode(bytes)
        }),
        ("other scripts", "日本語のテキストと Ünïcödé ".repeat(40)),
    ];
    for (name, text) in samples {
        let actual = bpe.encode_with_special_tokens(&text).len();
        let estimated = estimate(&text);
        let ratio = estimated as f64 / actual as f64;
        // Random text (base64, ids) is the one kind it under-counts, by up to a quarter; the
        // default budgets leave that much room under the clients' caps.
        assert!(
            (0.75..=1.5).contains(&ratio),
            "{name}: estimated {estimated}, o200k {actual}"
        );
    }
}
