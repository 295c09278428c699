//! The session against a scripted upstream: opening, renewal, timeouts, cancellation and the
//! answers' two forms, with every request the upstream received checked.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::cell::RefCell;
use std::rc::Rc;

use futures::executor::block_on;
use futures::future::{join, ready, LocalBoxFuture};
use futures::FutureExt;
use serde_json::{json, Value};

use super::fake::{connect, result, target, FakeHttp, Received, Reply, PIECE};
use super::*;

fn call(connection: &Rc<Connection<Rc<FakeHttp>>>, method: &str) -> Result<Value, UpstreamError> {
    block_on(connection.request(&target(), (method, json!({})), &[], None, never()))
}

#[test]
fn a_session_is_opened_once_and_its_headers_go_with_every_request() {
    let http = FakeHttp::default();
    http.replies
        .borrow_mut()
        .extend([result(json!({"tools": []})), result(json!({"content": []}))]);
    let (http, connection, _) = connect(http);
    assert_eq!(
        call(&connection, "tools/list").unwrap(),
        json!({"tools": []})
    );
    assert_eq!(
        call(&connection, "tools/call").unwrap(),
        json!({"content": []})
    );
    let received = http.received.borrow();
    let methods: Vec<&str> = received.iter().map(Received::method).collect();
    assert_eq!(
        methods,
        [
            "initialize",
            "notifications/initialized",
            "tools/list",
            "tools/call"
        ]
    );
    assert_eq!(received[0].header("Mcp-Session-Id"), None);
    assert_eq!(received[3].header("Mcp-Session-Id"), Some("session-1"));
    assert_eq!(
        received[3].header("MCP-Protocol-Version"),
        Some("2025-06-18")
    );
    assert_eq!(
        received[3].header("Authorization"),
        Some("Bearer t0ken-value")
    );
}

#[test]
fn requests_waiting_for_the_session_share_one_initialize() {
    let http = FakeHttp::default();
    http.replies
        .borrow_mut()
        .extend([result(json!(1)), result(json!(2))]);
    let (http, connection, _) = connect(http);
    let target = target();
    let both = join(
        connection.request(&target, ("tools/list", json!({})), &[], None, never()),
        connection.request(&target, ("tools/list", json!({})), &[], None, never()),
    );
    let (first, second) = block_on(both);
    assert_eq!((first.unwrap(), second.unwrap()), (json!(1), json!(2)));
    assert_eq!(http.sessions_opened.get(), 1);
}

#[test]
fn an_ended_session_is_renewed_and_a_listing_sent_again_but_never_a_call() {
    let gone = || Reply::With(404, vec![], "session not found".into());
    let http = FakeHttp::default();
    http.replies.borrow_mut().extend([
        result(json!(0)),
        gone(),
        result(json!({"tools": []})),
        gone(),
    ]);
    let (http, connection, _) = connect(http);
    call(&connection, "tools/list").unwrap();
    assert_eq!(
        call(&connection, "tools/list").unwrap(),
        json!({"tools": []})
    );
    assert_eq!(http.sessions_opened.get(), 2);
    assert!(matches!(
        call(&connection, "tools/call"),
        Err(UpstreamError::SessionExpired)
    ));
    let calls = http
        .received
        .borrow()
        .iter()
        .filter(|r| r.method() == "tools/call")
        .count();
    assert_eq!(calls, 1, "a call is never sent twice");
}

#[test]
fn a_400_that_is_not_about_the_session_is_the_upstreams_error_and_the_session_stays() {
    let http = FakeHttp::default();
    http.replies.borrow_mut().extend([
        result(json!(0)),
        Reply::With(400, vec![], "bad arguments: x must be a number".into()),
        result(json!(1)),
    ]);
    let (http, connection, _) = connect(http);
    call(&connection, "tools/list").unwrap();
    let error = call(&connection, "tools/call").unwrap_err();
    assert!(error.to_string().contains("x must be a number"), "{error}");
    assert_eq!(call(&connection, "tools/list").unwrap(), json!(1));
    assert_eq!(http.sessions_opened.get(), 1);
}

#[test]
fn a_request_past_its_timeout_is_aborted_and_the_upstream_told_to_stop() {
    let http = FakeHttp {
        timers_under_ms: u32::MAX,
        ..FakeHttp::default()
    };
    http.replies.borrow_mut().push_back(Reply::Never);
    let (http, connection, _) = connect(http);
    let error = call(&connection, "tools/call").unwrap_err();
    assert!(matches!(error, UpstreamError::Timeout { .. }), "{error:?}");
    assert_eq!(http.aborted.get(), 1);
    http.run_spawned();
    let received = http.received.borrow();
    let cancelled = received.last().unwrap();
    assert_eq!(cancelled.method(), "notifications/cancelled");
    assert_eq!(
        cancelled.message["params"]["requestId"],
        received[2].message["id"]
    );
}

#[test]
fn a_request_whose_caller_gives_up_is_cancelled_with_the_callers_reason() {
    let http = FakeHttp::default();
    http.replies.borrow_mut().push_back(Reply::Never);
    let (http, connection, _) = connect(http);
    let stopped = block_on(connection.request(
        &target(),
        ("tools/call", json!({})),
        &[],
        None,
        ready("the client cancelled".to_owned()).boxed_local(),
    ));
    let Err(UpstreamError::Cancelled { reason }) = stopped else {
        panic!("{stopped:?}");
    };
    assert_eq!(reason, "the client cancelled");
    assert_eq!(http.aborted.get(), 1);
    http.run_spawned();
    let last = http.received.borrow().last().unwrap().method().to_owned();
    assert_eq!(last, "notifications/cancelled");
}

#[test]
fn an_sse_answer_is_read_to_its_response_and_a_list_change_is_heard() {
    let stream = format!(
        "event: message\ndata: {}\n\nevent: message\ndata: {}\n\n",
        json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}),
        json!({"jsonrpc": "2.0", "id": "$id", "result": {"ok": true}})
    );
    let http = FakeHttp::default();
    http.replies.borrow_mut().push_back(Reply::With(
        200,
        vec![("Content-Type", "text/event-stream".into())],
        stream,
    ));
    let (_, connection, changed) = connect(http);
    assert_eq!(
        call(&connection, "tools/call").unwrap(),
        json!({"ok": true})
    );
    assert!(changed.get());
}

#[test]
fn an_answer_declared_larger_than_the_limit_is_refused_unread() {
    let http = FakeHttp::default();
    http.replies.borrow_mut().push_back(Reply::With(
        200,
        vec![
            ("Content-Type", "application/json".into()),
            ("Content-Length", "999999999999".into()),
        ],
        "{}".into(),
    ));
    let (_, connection, _) = connect(http);
    assert!(matches!(
        call(&connection, "tools/call"),
        Err(UpstreamError::TooLarge { declared: true, .. })
    ));
}

#[test]
fn an_endpoint_on_another_origin_is_refused() {
    assert!(legacy::same_origin("http://127.0.0.1:9/sse", "/messages?s=1").is_ok());
    let elsewhere = legacy::same_origin("http://127.0.0.1:9/sse", "https://evil.example/steal");
    assert!(elsewhere
        .unwrap_err()
        .to_string()
        .contains("another origin"));
}

#[test]
fn an_upstream_that_speaks_only_the_stateless_protocol_gets_meta_and_headers_on_every_request() {
    for answer in [
        (
            404,
            json!({"error": {"code": -32601, "message": "Method not found"}}),
        ),
        (
            400,
            json!({"error": {"code": -32022, "message": "Unsupported protocol version",
                   "data": {"supported": ["2026-07-28"], "requested": "2025-11-25"}}}),
        ),
        (
            200,
            json!({"result": {"protocolVersion": "2026-07-28", "capabilities": {}}}),
        ),
    ] {
        let http = FakeHttp {
            initialize_answer: Some(answer),
            ..FakeHttp::default()
        };
        http.replies
            .borrow_mut()
            .extend([result(json!({"tools": []})), result(json!({"content": []}))]);
        let (http, connection, _) = connect(http);
        assert_eq!(
            call(&connection, "tools/list").unwrap(),
            json!({"tools": []})
        );
        let params = json!({"name": "add-numbers", "arguments": {}});
        let called =
            block_on(connection.request(&target(), ("tools/call", params), &[], None, never()));
        assert_eq!(called.unwrap(), json!({"content": []}));
        let received = http.received.borrow();
        let methods: Vec<&str> = received.iter().map(Received::method).collect();
        assert_eq!(
            methods,
            ["initialize", "tools/list", "tools/call"],
            "no initialized"
        );
        for request in &received[1..] {
            let meta = &request.message["params"]["_meta"];
            assert_eq!(
                meta["io.modelcontextprotocol/protocolVersion"],
                "2026-07-28"
            );
            assert_eq!(
                meta["io.modelcontextprotocol/clientCapabilities"],
                client::client_capabilities()
            );
            assert_eq!(request.header("MCP-Protocol-Version"), Some("2026-07-28"));
            assert_eq!(request.header("Mcp-Method"), Some(request.method()));
            assert_eq!(request.header("Mcp-Session-Id"), None);
        }
        assert_eq!(received[2].header("Mcp-Name"), Some("add-numbers"));
        assert_eq!(received[0].header("Mcp-Method"), Some("initialize"));
    }
}

#[test]
fn a_refused_initialize_that_does_not_name_the_stateless_protocol_is_an_error() {
    let http = FakeHttp {
        initialize_answer: Some((
            400,
            json!({"error": {"code": -32602, "message": "bad params"}}),
        )),
        ..FakeHttp::default()
    };
    let (_, connection, _) = connect(http);
    let error = call(&connection, "tools/list").unwrap_err();
    assert!(
        matches!(error, UpstreamError::HttpStatus { status: 400, .. }),
        "{error:?}"
    );
}

#[test]
fn a_tool_name_that_is_not_plain_ascii_is_sent_in_base64() {
    let headers =
        client::method_headers(&json!({"method": "tools/call", "params": {"name": "añadir"}}));
    assert_eq!(
        headers[1],
        ("Mcp-Name", "=?base64?YcOxYWRpcg==?=".to_owned())
    );
}

#[test]
fn a_stream_that_ends_before_its_answer_is_resumed_with_a_get_after_its_retry_time() {
    let sse = |body: &str| {
        Reply::With(
            200,
            vec![("Content-Type", "text/event-stream".into())],
            body.into(),
        )
    };
    let http = FakeHttp {
        timers_under_ms: 100,
        ..FakeHttp::default()
    };
    http.replies.borrow_mut().extend([
        sse("id: e-1\nretry: 50\ndata:\n\n"),
        sse(r#"id: e-2
data: {"jsonrpc": "2.0", "id": 2, "result": {"content": []}}

"#),
    ]);
    let (http, connection, _) = connect(http);
    assert_eq!(
        call(&connection, "tools/call").unwrap(),
        json!({"content": []})
    );
    let received = http.received.borrow();
    let resumed = received.last().unwrap();
    assert_eq!(resumed.message, Value::Null, "a GET");
    assert_eq!(resumed.header("Last-Event-ID"), Some("e-1"));
    assert_eq!(resumed.header("Mcp-Session-Id"), Some("session-1"));
    assert_eq!(resumed.header("Accept"), Some("text/event-stream"));
}

/// An asker that answers every question with `answer`, noting what it was asked.
struct Noting {
    asked: RefCell<Vec<(String, Value)>>,
    answer: Value,
}

impl Asker for Noting {
    fn ask(&self, method: &str, params: Value) -> LocalBoxFuture<'_, Result<Value, ErrorData>> {
        self.asked.borrow_mut().push((method.to_owned(), params));
        ready(Ok(self.answer.clone())).boxed_local()
    }
}

/// A call's event stream: the upstream asks `question` (id `q1`), then answers the call.
fn asking_stream(question: Value) -> Reply {
    let asked = json!({"jsonrpc": "2.0", "id": "q1", "method": question["method"], "params": question["params"]});
    let answered = json!({"jsonrpc": "2.0", "id": "$id", "result": {"content": []}});
    Reply::With(
        200,
        vec![("Content-Type", "text/event-stream".into())],
        format!("event: message\ndata: {asked}\n\n{PIECE}event: message\ndata: {answered}\n\n"),
    )
}

/// The runner's answers to the upstream's request `q1`.
fn answers_to_q1(http: &FakeHttp) -> Vec<Received> {
    let received = http.received.borrow();
    let answers = received.iter().filter(|r| r.message["id"] == "q1");
    answers.cloned().collect()
}

#[test]
fn what_the_upstream_asks_during_a_call_goes_to_the_asker_and_the_answer_back_in_the_session() {
    let http = FakeHttp::default();
    let question = json!({"method": "elicitation/create", "params": {"message": "Sure?"}});
    http.replies.borrow_mut().push_back(asking_stream(question));
    let (http, connection, _) = connect(http);
    let asker = Noting {
        asked: RefCell::default(),
        answer: json!({"action": "accept", "content": {"sure": true}}),
    };
    let sent = ("tools/call", json!({"name": "x"}));
    let called = block_on(connection.request(&target(), sent, &[], Some(&asker), never()));
    assert_eq!(called.unwrap(), json!({"content": []}));
    assert_eq!(
        *asker.asked.borrow(),
        [("elicitation/create".to_owned(), json!({"message": "Sure?"}))]
    );
    let answers = answers_to_q1(&http);
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].message["result"], asker.answer);
    assert_eq!(answers[0].header("Mcp-Session-Id"), Some("session-1"));
}

#[test]
fn without_an_asker_a_question_is_refused_and_a_ping_is_answered() {
    let http = FakeHttp::default();
    let question = json!({"method": "sampling/createMessage", "params": {"messages": []}});
    http.replies.borrow_mut().push_back(asking_stream(question));
    http.replies
        .borrow_mut()
        .push_back(asking_stream(json!({"method": "ping"})));
    let (http, connection, _) = connect(http);
    for _ in 0..2 {
        let sent = ("tools/call", json!({"name": "x"}));
        block_on(connection.request(&target(), sent, &[], None, never())).unwrap();
    }
    let answers = answers_to_q1(&http);
    assert_eq!(answers[0].message["error"]["code"], -32601);
    assert_eq!(answers[1].message["result"], json!({}));
}
