//! The tool list as the keeper fetches it: page by page, within the list's bytes.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use serde_json::{json, Map, Value};

use crate::upstream::keeper::testing::{
    ask, keeper, listing, names, sent, target, tool, MemoryStore,
};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};
use crate::upstream::session::fake::{result, FakeHttp};

#[test]
fn a_list_past_its_bytes_reads_no_further_page_and_its_status_counts_what_was_left_out() {
    // 80 tools of 60 parameters described in 900 characters, about 56 KiB each: some 74 fit
    // the list's 4 MiB.
    let parameters: Map<String, Value> = (0..60)
        .map(|i| {
            (
                format!("p{i}"),
                json!({"type": "string", "description": "d".repeat(900)}),
            )
        })
        .collect();
    let wide: Vec<Value> = (0..80)
        .map(|i| json!({"name": format!("wide_{i}"), "inputSchema": {"type": "object", "properties": parameters}}))
        .collect();
    let first_page = result(json!({"tools": wide, "nextCursor": "more"}));
    let http = FakeHttp::answering([first_page, listing(&[tool("echo", "Echo.")])]);
    let store = MemoryStore::default();
    let keeper = keeper(&http, &store);
    let target = target(json!({}));
    let listed = names(&ask(
        &keeper,
        &target,
        UpstreamCommand::ListTools { person: None },
    ));
    assert!((70..80).contains(&listed.len()), "{} kept", listed.len());
    assert_eq!(listed[0], "wide_0");
    assert_eq!(sent(&http, "tools/list"), 1, "the second page is not read");
    let UpstreamAnswer::Status { report } = ask(&keeper, &target, UpstreamCommand::Status) else {
        panic!("no status");
    };
    assert_eq!(report.upstream_tool_count, Some(listed.len()));
    assert_eq!(report.tools_left_out, Some(80 - listed.len()));
    assert_eq!(
        store.0.borrow().as_ref().unwrap().left_out,
        80 - listed.len()
    );
}
