//! The streamable HTTP transport, driven as a client drives it.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::rc::Rc;

use futures::executor::block_on;
use futures::StreamExt;
use serde_json::json;

use super::*;
use crate::mcp::guard::RequestGuard;
use crate::mcp::testing::*;
use crate::protocol::http::Body;

fn get(session: Option<&str>, accept: &str) -> HttpRequest {
    let mut headers = vec![("accept".into(), accept.into())];
    if let Some(id) = session {
        headers.push(("mcp-session-id".into(), id.into()));
    }
    HttpRequest {
        method: "GET".into(),
        authority: "localhost:8787".into(),
        headers,
        ..Default::default()
    }
}

fn with_header(mut request: HttpRequest, name: &str, value: &str) -> HttpRequest {
    request
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    request.headers.push((name.into(), value.into()));
    request
}

#[test]
fn notifications_get_202_with_an_empty_body() {
    let backend = Rc::new(Sessions::default());
    let id = open(&backend);
    let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let response = block_on(serve(&post(Some(&id), note), &backend));
    assert_eq!((response.status, response.bytes().len()), (202, 0));
}

#[test]
fn logging_set_level_accepts_rfc_5424_levels_and_refuses_others() {
    let backend = Rc::new(Sessions::default());
    let id = open(&backend);
    let set = |level: &str| {
        let request = format!(
            r#"{{"jsonrpc":"2.0","id":7,"method":"logging/setLevel","params":{{"level":"{level}"}}}}"#
        );
        body(block_on(serve(&post(Some(&id), &request), &backend)))
    };
    assert_eq!(set("warning"), json!({"jsonrpc":"2.0","id":7,"result":{}}));
    let refused = set("loud");
    assert_eq!(refused["error"]["code"], -32602);
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("unknown variant `loud`"));
}

#[test]
fn requests_without_a_session_header_are_400_and_unknown_sessions_404() {
    let backend = Rc::new(Sessions::default());
    let ping = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;
    assert_eq!(block_on(serve(&post(None, ping), &backend)).status, 400);
    assert_eq!(
        block_on(serve(&post(Some("nope"), ping), &backend)).status,
        404
    );
}

#[test]
fn delete_ends_the_session_and_later_requests_get_404() {
    let backend = Rc::new(Sessions::default());
    let id = open(&backend);
    let mut delete = post(Some(&id), "");
    delete.method = "DELETE".into();
    assert_eq!(block_on(serve(&delete, &backend)).status, 200);
    let ping = r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#;
    assert_eq!(
        block_on(serve(&post(Some(&id), ping), &backend)).status,
        404
    );
    assert_eq!(block_on(serve(&delete, &backend)).status, 404);
}

#[test]
fn server_discover_is_refused_at_once_with_404_and_method_not_found() {
    let probe = r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{}}"#;
    let response = block_on(serve(&post(None, probe), &Rc::new(Sessions::default())));
    assert_eq!(response.status, 404);
    assert_eq!(body(response)["error"]["code"], -32601);
}

#[test]
fn a_foreign_host_or_origin_is_403_before_anything_else() {
    let backend = Rc::new(Sessions::default());
    let mut rebound = post(None, INITIALIZE);
    rebound.authority = "evil.example.com".into();
    assert_eq!(block_on(serve(&rebound, &backend)).status, 403);
    let mut cross_site = post(None, INITIALIZE);
    cross_site
        .headers
        .push(("origin".into(), "https://evil.example.com".into()));
    let response = block_on(serve(&cross_site, &backend));
    assert_eq!(response.status, 403);
    assert_eq!(body(response)["error"]["code"], -32600);
    assert!(backend.open.borrow().is_empty(), "no session was opened");
}

#[test]
fn a_missing_token_is_401_with_www_authenticate() {
    let guard = RequestGuard::new(None, None, Some("t0ken".into()));
    let backend = Rc::new(Sessions::default());
    let response = block_on(serve_with(&post(None, INITIALIZE), &guard, &backend));
    assert_eq!(response.status, 401);
    assert!(response
        .headers
        .iter()
        .any(|(n, v)| n == "WWW-Authenticate" && v.starts_with("Bearer")));
    let mut authorized = post(None, INITIALIZE);
    authorized
        .headers
        .push(("authorization".into(), "Bearer t0ken".into()));
    assert_eq!(
        block_on(serve_with(&authorized, &guard, &backend)).status,
        200
    );
}

#[test]
fn get_opens_the_sessions_event_stream() {
    let backend = Rc::new(Sessions::default());
    let session = open(&backend);
    let response = block_on(serve(&get(Some(&session), EVENT_STREAM), &backend));
    assert_eq!(response.status, 200);
    assert!(response
        .headers
        .contains(&("Content-Type".into(), EVENT_STREAM.into())));
    let Body::Events(stream) = response.body else {
        panic!("expected an event stream, got {:?}", response.body);
    };
    let frames: Vec<String> = block_on(stream.collect::<Vec<_>>())
        .into_iter()
        .map(|f| String::from_utf8(f).unwrap())
        .collect();
    assert_eq!(frames, [format!(": listening to {session}\n\n")]);
}

#[test]
fn get_needs_a_live_session_and_an_event_stream_accept() {
    let backend = Rc::new(Sessions::default());
    let session = open(&backend);
    let status = |request: HttpRequest| block_on(serve(&request, &backend)).status;
    assert_eq!(status(get(None, EVENT_STREAM)), 400);
    assert_eq!(status(get(Some("never-issued"), EVENT_STREAM)), 404);
    assert_eq!(status(get(Some(&session), "application/json")), 406);
}

#[test]
fn other_methods_are_405_and_name_the_allowed_ones() {
    let put = HttpRequest {
        method: "PUT".into(),
        authority: "localhost:8787".into(),
        ..Default::default()
    };
    let response = block_on(serve(&put, &Rc::new(Sessions::default())));
    assert_eq!(response.status, 405);
    assert!(response
        .headers
        .contains(&("Allow".into(), "GET, POST, DELETE".into())));
}

#[test]
fn wrong_content_type_accept_and_body_have_their_statuses() {
    let backend = Rc::new(Sessions::default());
    let mut wrong_type = post(None, INITIALIZE);
    wrong_type.headers[0].1 = "text/plain".into();
    assert_eq!(block_on(serve(&wrong_type, &backend)).status, 415);
    let mut wrong_accept = post(None, INITIALIZE);
    wrong_accept.headers[1].1 = "text/html".into();
    assert_eq!(block_on(serve(&wrong_accept, &backend)).status, 406);
    let garbage = block_on(serve(&post(None, "{oops"), &backend));
    assert_eq!(garbage.status, 400);
    assert_eq!(body(garbage)["error"]["code"], -32700);
}

#[test]
fn an_unsupported_protocol_version_header_is_400() {
    let backend = Rc::new(Sessions::default());
    let id = open(&backend);
    let mut ping = post(Some(&id), r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#);
    ping.headers
        .push(("mcp-protocol-version".into(), "1999-01-01".into()));
    assert_eq!(block_on(serve(&ping, &backend)).status, 400);
}

#[test]
fn a_batch_answers_each_request_in_order() {
    let backend = Rc::new(Sessions::default());
    let id = open(&backend);
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},
                    {"jsonrpc":"2.0","method":"notifications/initialized"},
                    {"jsonrpc":"2.0","id":2,"method":"nope"}]"#;
    let replies = body(block_on(serve(&post(Some(&id), batch), &backend)));
    assert_eq!(replies[0]["id"], 1);
    assert_eq!(replies[1]["error"]["code"], -32601);
    assert_eq!(replies.as_array().unwrap().len(), 2);
}

#[test]
fn tools_call_streams_progress_before_the_result_when_the_client_accepts_sse() {
    let backend = Rc::new(Sessions::default());
    let id = open(&backend);
    let response = block_on(serve(&post(Some(&id), CALL_WITH_PROGRESS), &backend));
    assert!(response
        .headers
        .contains(&("Content-Type".into(), "text/event-stream".into())));
    let sent = messages(response);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0]["method"], "notifications/progress");
    assert_eq!(sent[0]["params"]["progressToken"], "tok");
    assert_eq!(sent[1]["id"], 8);
    assert_eq!(sent[1]["result"]["content"][0]["text"], "hi");
}

#[test]
fn a_json_only_client_gets_the_result_as_json() {
    let backend = Rc::new(Sessions::default());
    let id = open(&backend);
    let request = with_header(
        post(Some(&id), CALL_WITH_PROGRESS),
        "accept",
        "application/json",
    );
    let response = block_on(serve(&request, &backend));
    assert_eq!(body(response)["result"]["content"][0]["text"], "hi");
}

#[test]
fn batches_are_refused_from_2025_06_18_on() {
    let backend = Rc::new(Sessions::default());
    let id = open(&backend);
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#;
    let request = with_header(
        post(Some(&id), batch),
        PROTOCOL_VERSION_HEADER,
        "2025-06-18",
    );
    let response = block_on(serve(&request, &backend));
    assert_eq!(response.status, 400);
    let reply = body(response);
    assert_eq!(reply["error"]["code"], -32600);
    assert!(reply["error"]["message"]
        .as_str()
        .unwrap()
        .contains("batches"));
}

#[test]
fn stateless_requests_need_no_session_and_say_their_results_are_complete() {
    let backend = Rc::new(Sessions::default());
    let discover = body(block_on(serve(
        &stateless_post("server/discover", json!({})),
        &backend,
    )));
    assert_eq!(
        discover["result"]["supportedVersions"],
        json!(["2026-07-28"])
    );
    let list = block_on(serve(&stateless_post("tools/list", json!({})), &backend));
    assert!(list.headers.iter().all(|(n, _)| n != SESSION_HEADER));
    let list = body(list);
    assert_eq!(list["result"]["resultType"], "complete");
    assert_eq!(list["result"]["tools"][0]["name"], "echo");
    let call = stateless_post(
        "tools/call",
        json!({"name": "echo", "_meta": {"progressToken": 1}}),
    );
    let sent = messages(block_on(serve(&call, &backend)));
    assert_eq!(sent[0]["method"], "notifications/progress");
    assert_eq!(sent[1]["result"]["resultType"], "complete");
    assert!(backend.open.borrow().is_empty(), "no session was opened");
}

#[test]
fn a_stateless_get_is_405_allowing_only_post() {
    let get = HttpRequest {
        method: "GET".into(),
        authority: "localhost:8787".into(),
        headers: vec![(PROTOCOL_VERSION_HEADER.into(), "2026-07-28".into())],
        ..Default::default()
    };
    let response = block_on(serve(&get, &Rc::new(Sessions::default())));
    assert_eq!(response.status, 405);
    assert!(response.headers.contains(&("Allow".into(), "POST".into())));
}
