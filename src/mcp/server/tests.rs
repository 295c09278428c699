//! Method dispatch inside a session and without one, driven through the transport as a client
//! drives it.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::rc::Rc;

use futures::executor::block_on;
use rmcp::model::RequestId;
use serde_json::{json, Value};

use crate::mcp::testing::*;
use crate::protocol::http::SESSION_HEADER;

#[test]
fn initialize_echoes_a_supported_version_and_issues_a_session() {
    let backend = Rc::new(Sessions::default());
    let response = block_on(serve(&post(None, INITIALIZE), &backend));
    assert!(response
        .headers
        .iter()
        .any(|(n, v)| n == SESSION_HEADER && v == "s1"));
    let result = &body(response)["result"];
    assert_eq!(result["protocolVersion"], "2025-06-18");
    assert_eq!(result["serverInfo"]["name"], "mcp-isolate-runner");
    assert!(result["capabilities"]["tools"].is_object());
}

#[test]
fn initialize_answers_an_unknown_version_with_the_newest_supported() {
    let body_text = INITIALIZE.replace("2025-06-18", "2099-01-01");
    let response = block_on(serve(
        &post(None, &body_text),
        &Rc::new(Sessions::default()),
    ));
    assert_eq!(body(response)["result"]["protocolVersion"], "2025-11-25");
}

#[test]
fn initialize_with_bad_params_is_invalid_params() {
    let bad = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"x":1}}"#;
    let response = block_on(serve(&post(None, bad), &Rc::new(Sessions::default())));
    assert_eq!(body(response)["error"]["code"], -32602);
}

#[test]
fn ping_and_tools_list_answer_inside_a_session() {
    let backend = Rc::new(Sessions::default());
    let id = open(&backend);
    let ping = block_on(serve(
        &post(Some(&id), r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#),
        &backend,
    ));
    assert_eq!(body(ping), json!({"jsonrpc":"2.0","id":2,"result":{}}));
    let list = r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#;
    let tools = body(block_on(serve(&post(Some(&id), list), &backend)));
    assert_eq!(tools["result"]["tools"][0]["name"], "echo");
}

#[test]
fn tools_call_results_carry_no_result_type_for_session_versions() {
    let backend = Rc::new(Sessions::default());
    let id = open(&backend);
    let call = r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo"}}"#;
    let result = body(block_on(serve(&post(Some(&id), call), &backend)));
    assert_eq!(
        result["result"],
        json!({"content":[{"type":"text","text":"hi"}],"isError":false})
    );
}

#[test]
fn unknown_tool_and_unknown_method_have_their_codes() {
    let backend = Rc::new(Sessions::default());
    let id = open(&backend);
    let call = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"nope"}}"#;
    assert_eq!(
        body(block_on(serve(&post(Some(&id), call), &backend)))["error"]["code"],
        -32602
    );
    let other = r#"{"jsonrpc":"2.0","id":6,"method":"prompts/list"}"#;
    assert_eq!(
        body(block_on(serve(&post(Some(&id), other), &backend)))["error"]["code"],
        -32601
    );
}

#[test]
fn a_cancelled_call_gets_no_reply() {
    let backend = Rc::new(Sessions::default());
    let id = open(&backend);
    let cancel = r#"{"jsonrpc":"2.0","method":"notifications/cancelled",
        "params":{"requestId":8,"reason":"user pressed stop"}}"#;
    let response = block_on(serve(&post(Some(&id), cancel), &backend));
    assert_eq!(response.status, 202);
    assert_eq!(*backend.cancelled.borrow(), vec![RequestId::Number(8)]);
    let sent = messages(block_on(serve(
        &post(Some(&id), CALL_WITH_PROGRESS),
        &backend,
    )));
    assert!(sent.iter().all(|m| m.get("id").is_none()), "{sent:?}");
}

#[test]
fn the_metrics_resource_is_listed_and_read_for_its_caller() {
    let backend = Rc::new(Sessions::default());
    let id = open(&backend);
    let send = |text: &str| body(block_on(serve(&post(Some(&id), text), &backend)));
    let listed = send(r#"{"jsonrpc":"2.0","id":2,"method":"resources/list"}"#);
    assert_eq!(listed["result"]["resources"][0]["uri"], "runner://metrics");
    assert_eq!(
        listed["result"]["resources"][0]["mimeType"],
        "application/json"
    );
    let templates = send(r#"{"jsonrpc":"2.0","id":3,"method":"resources/templates/list"}"#);
    assert_eq!(templates["result"]["resourceTemplates"], json!([]));
    let read = send(
        r#"{"jsonrpc":"2.0","id":4,"method":"resources/read","params":{"uri":"runner://metrics"}}"#,
    );
    let contents = &read["result"]["contents"][0];
    assert_eq!(contents["mimeType"], "application/json");
    let metrics: Value = serde_json::from_str(contents["text"].as_str().unwrap()).unwrap();
    assert_eq!(metrics["caller"], json!(id));
    let missing = send(
        r#"{"jsonrpc":"2.0","id":5,"method":"resources/read","params":{"uri":"file:///etc/passwd"}}"#,
    );
    assert_eq!(missing["error"]["code"], -32002);
    assert_eq!(missing["error"]["data"]["uri"], "file:///etc/passwd");
    let stateless = body(block_on(serve(
        &stateless_post("resources/read", json!({"uri": "runner://metrics"})),
        &backend,
    )));
    assert_eq!(stateless["result"]["resultType"], "complete");
    assert!(stateless["result"]["contents"][0]["text"]
        .as_str()
        .unwrap()
        .contains("\"caller\": null"));
}
