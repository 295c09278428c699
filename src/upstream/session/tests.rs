//! The session against a scripted upstream: opening, renewal, timeouts, cancellation and the
//! answers' two forms, with every request the upstream received checked.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;

use futures::executor::block_on;
use futures::future::{join, pending, ready, LocalBoxFuture};
use futures::FutureExt;
use serde_json::{json, Value};

use super::*;
use crate::config::RunnerConfig;
use crate::redact::Secrets;

/// One request as the fake upstream received it.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    /// The JSON-RPC message.
    message: Value,
}

impl Received {
    fn method(&self) -> &str {
        self.message["method"].as_str().unwrap_or("")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the fake upstream answers one request.
enum Reply {
    /// This status, headers and body.
    With(u16, Vec<(&'static str, String)>, String),
    /// Never.
    Never,
}

/// A scripted upstream: answers are taken in order; `initialize` and notifications are
/// answered on their own.
#[derive(Default)]
struct FakeHttp {
    replies: RefCell<VecDeque<Reply>>,
    received: RefCell<Vec<Received>>,
    aborted: Rc<Cell<u32>>,
    /// Whether timers fire at once (every request times out) or never.
    timers_fire: bool,
    sessions_opened: Cell<u32>,
    /// Background work, run by [`FakeHttp::run_spawned`].
    spawned: RefCell<Vec<LocalBoxFuture<'static, ()>>>,
}

impl FakeHttp {
    /// Runs the background work started so far.
    fn run_spawned(&self) {
        let spawned = std::mem::take(&mut *self.spawned.borrow_mut());
        spawned.into_iter().for_each(block_on);
    }
}

struct FakeResponse {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
}

impl HttpResponse for FakeResponse {
    fn status(&self) -> u16 {
        self.status
    }

    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    }

    fn next_piece(&mut self) -> impl Future<Output = Result<Option<Vec<u8>>, UpstreamError>> {
        ready(Ok(self.body.take()))
    }
}

/// The abort handle counts into the upstream's `aborted`.
struct CountingAbort(Rc<Cell<u32>>);

impl Abort for CountingAbort {
    fn abort(&self) {
        self.0.set(self.0.get() + 1);
    }
}

impl Http for Rc<FakeHttp> {
    type Response = FakeResponse;
    type Abort = CountingAbort;

    fn abort(&self) -> CountingAbort {
        CountingAbort(Rc::clone(&self.aborted))
    }

    fn send(
        &self,
        request: HttpRequest<'_>,
        _abort: Option<&CountingAbort>,
    ) -> impl Future<Output = Result<FakeResponse, UpstreamError>> {
        let message: Value =
            serde_json::from_str(request.body.as_deref().unwrap_or("null")).unwrap();
        let received = Received {
            headers: request.headers,
            message,
        };
        self.received.borrow_mut().push(received.clone());
        let json = |status: u16, body: Value| {
            Reply::With(
                status,
                vec![("Content-Type", "application/json".into())],
                body.to_string(),
            )
        };
        let reply = match received.method() {
            "initialize" => {
                self.sessions_opened.set(self.sessions_opened.get() + 1);
                let id = format!("session-{}", self.sessions_opened.get());
                Reply::With(
                    200,
                    vec![
                        ("Content-Type", "application/json".into()),
                        ("Mcp-Session-Id", id),
                    ],
                    json!({"jsonrpc": "2.0", "id": received.message["id"],
                           "result": {"protocolVersion": "2025-06-18", "capabilities": {},
                                      "serverInfo": {"name": "fake", "version": "1"}}})
                    .to_string(),
                )
            }
            method if method.starts_with("notifications/") => {
                Reply::With(202, vec![], String::new())
            }
            _ => {
                let scripted = self.replies.borrow_mut().pop_front();
                match scripted {
                    Some(Reply::With(status, headers, body)) => Reply::With(
                        status,
                        headers,
                        body.replace("\"$id\"", &received.message["id"].to_string()),
                    ),
                    Some(Reply::Never) => Reply::Never,
                    None => json(500, json!("no reply scripted")),
                }
            }
        };
        async move {
            match reply {
                Reply::With(status, headers, body) => Ok(FakeResponse {
                    status,
                    headers,
                    body: Some(body.into_bytes()).filter(|b| !b.is_empty()),
                }),
                Reply::Never => pending().await,
            }
        }
    }

    fn sleep(&self, _ms: u32) -> impl Future<Output = ()> {
        let fires = self.timers_fire;
        async move {
            if !fires {
                pending::<()>().await;
            }
        }
    }

    fn spawn(&self, work: impl Future<Output = ()> + 'static) {
        self.spawned.borrow_mut().push(work.boxed_local());
    }
}

fn target() -> Rc<Target> {
    let config = RunnerConfig::from_json(
        r#"[{"name": "fake", "url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer t0ken-value"}}]"#,
    )
    .unwrap();
    Rc::new(Target {
        config: config.upstream("fake").unwrap().clone(),
        headers: vec![("Authorization".into(), "Bearer t0ken-value".into())],
        secrets: Secrets::default(),
    })
}

/// A connection to the fake upstream, and the flag its tool-list changes set.
type Connected = (Rc<FakeHttp>, Rc<Connection<Rc<FakeHttp>>>, Rc<Cell<bool>>);

fn connect(http: FakeHttp) -> Connected {
    let http = Rc::new(http);
    let changed = Rc::new(Cell::new(false));
    let flag = Rc::clone(&changed);
    let connection = Connection::new(Rc::new(Rc::clone(&http)), Rc::new(move || flag.set(true)));
    (http, connection, changed)
}

fn result(value: Value) -> Reply {
    Reply::With(
        200,
        vec![("Content-Type", "application/json".into())],
        json!({"jsonrpc": "2.0", "id": "$id", "result": value}).to_string(),
    )
}

fn call(connection: &Rc<Connection<Rc<FakeHttp>>>, method: &str) -> Result<Value, UpstreamError> {
    block_on(connection.request(&target(), method, json!({}), never()))
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
        connection.request(&target, "tools/list", json!({}), never()),
        connection.request(&target, "tools/list", json!({}), never()),
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
        timers_fire: true,
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
        "tools/call",
        json!({}),
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
