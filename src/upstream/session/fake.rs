//! A scripted upstream for tests: it answers `initialize` and notifications itself, every
//! other request with the next scripted reply, and records what it received.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;

use futures::executor::block_on;
use futures::future::{pending, ready, LocalBoxFuture};
use futures::FutureExt;
use serde_json::{json, Value};

use super::{Abort, Connection, Http, Method, UpstreamRequest, UpstreamResponse};
use crate::config::{AccessPolicy, RunnerConfig};
use crate::upstream::client::UpstreamError;
use crate::upstream::target::Target;

/// One request as the fake upstream received it.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) http_method: Method,
    pub(crate) headers: Vec<(String, String)>,
    /// The JSON-RPC message.
    pub(crate) message: Value,
}

impl Received {
    pub(crate) fn method(&self) -> &str {
        self.message["method"].as_str().unwrap_or("")
    }

    /// Whether it is the runner's answer to one of the upstream's requests.
    pub(crate) fn is_answer(&self) -> bool {
        let message = &self.message;
        message.get("result").or(message.get("error")).is_some()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the fake upstream answers one request.
pub(crate) enum Reply {
    /// This status, headers and body; the body is read in pieces split at [`PIECE`].
    With(u16, Vec<(&'static str, String)>, String),
    /// Never.
    Never,
}

/// Where a scripted body is split into the pieces it is read in.
pub(crate) const PIECE: &str = "<piece>";

/// A scripted upstream: answers are taken in order; `initialize` and notifications are
/// answered on their own.
#[derive(Default)]
pub(crate) struct FakeHttp {
    pub(crate) replies: RefCell<VecDeque<Reply>>,
    pub(crate) received: RefCell<Vec<Received>>,
    pub(crate) aborted: Rc<Cell<u32>>,
    /// Timers shorter than this fire at once, the others never: `u32::MAX` makes every
    /// request time out, `1` fires only a zero wait.
    pub(crate) timers_under_ms: u32,
    pub(crate) sessions_opened: Cell<u32>,
    /// What `initialize` is answered, when not with a session (an upstream that speaks only
    /// the stateless protocol): a status, and the answer's `result` or `error` member.
    pub(crate) initialize_answer: Option<(u16, Value)>,
    /// How far the clock has moved past its start (1,000 ms).
    pub(crate) elapsed_ms: Cell<u64>,
    /// Background work, run by [`FakeHttp::run_spawned`].
    pub(crate) spawned: RefCell<Vec<LocalBoxFuture<'static, ()>>>,
}

impl FakeHttp {
    /// An upstream that answers with `replies`, in order.
    pub(crate) fn answering(replies: impl IntoIterator<Item = Reply>) -> Rc<Self> {
        let http = Self::default();
        http.replies.borrow_mut().extend(replies);
        Rc::new(http)
    }

    /// Runs the background work started so far.
    pub(crate) fn run_spawned(&self) {
        let spawned = std::mem::take(&mut *self.spawned.borrow_mut());
        spawned.into_iter().for_each(block_on);
    }
}

pub(crate) struct FakeResponse {
    status: u16,
    headers: Vec<(&'static str, String)>,
    /// The body's pieces, still to read.
    body: VecDeque<Vec<u8>>,
}

impl UpstreamResponse for FakeResponse {
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
        ready(Ok(self.body.pop_front()))
    }
}

/// The abort handle counts into the upstream's `aborted`.
pub(crate) struct CountingAbort(Rc<Cell<u32>>);

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
        request: UpstreamRequest<'_>,
        _abort: Option<&CountingAbort>,
    ) -> impl Future<Output = Result<FakeResponse, UpstreamError>> {
        let message: Value =
            serde_json::from_str(request.body.as_deref().unwrap_or("null")).unwrap();
        let received = Received {
            http_method: request.method,
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
            _ if received.http_method == Method::Delete => Reply::With(200, vec![], String::new()),
            "initialize" if self.initialize_answer.is_some() => {
                let (status, mut answer) = self.initialize_answer.clone().unwrap_or_default();
                answer["jsonrpc"] = json!("2.0");
                answer["id"] = received.message["id"].clone();
                json(status, answer)
            }
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
            // Notifications, and answers to the upstream's own requests.
            method if method.starts_with("notifications/") || received.is_answer() => {
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
                    body: (body.split(PIECE))
                        .filter(|piece| !piece.is_empty())
                        .map(|piece| piece.as_bytes().to_vec())
                        .collect(),
                }),
                Reply::Never => pending().await,
            }
        }
    }

    fn sleep(&self, ms: u32) -> impl Future<Output = ()> {
        let fires = ms < self.timers_under_ms;
        async move {
            if !fires {
                pending::<()>().await;
            }
        }
    }

    fn spawn(&self, work: impl Future<Output = ()> + 'static) {
        self.spawned.borrow_mut().push(work.boxed_local());
    }

    fn now_ms(&self) -> u64 {
        1_000 + self.elapsed_ms.get()
    }
}

pub(crate) fn target() -> Rc<Target> {
    let config = RunnerConfig::from_json(
        r#"[{"name": "fake", "url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer ${FAKE_TOKEN}"}}]"#,
    )
    .unwrap();
    let lookup = |_: &str| Some("t0ken-value".to_owned());
    Rc::new(Target::configured(&config, AccessPolicy::default(), "fake", None, lookup).unwrap())
}

/// A connection to the fake upstream, and the flag its tool-list changes set.
pub(crate) type Connected = (Rc<FakeHttp>, Rc<Connection<Rc<FakeHttp>>>, Rc<Cell<bool>>);

pub(crate) fn connect(http: FakeHttp) -> Connected {
    let http = Rc::new(http);
    let changed = Rc::new(Cell::new(false));
    let flag = Rc::clone(&changed);
    let connection = Connection::new(Rc::new(Rc::clone(&http)), Rc::new(move || flag.set(true)));
    (http, connection, changed)
}

pub(crate) fn result(value: Value) -> Reply {
    Reply::With(
        200,
        vec![("Content-Type", "application/json".into())],
        json!({"jsonrpc": "2.0", "id": "$id", "result": value}).to_string(),
    )
}
