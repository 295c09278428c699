//! An in-memory platform for an execution's tests: a fixed catalog, a fake isolate that makes
//! the calls it is told to, a clock that only moves when told, timers that fire only for the
//! durations they are told, and a session object that hands out the client's answers.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::rc::Rc;

use futures::executor::block_on;
use futures::future::{pending, ready};
use futures::{stream, StreamExt};
use rmcp::model::{CallToolResponse, CallToolResult, ClientCapabilities, RequestId, Tool};
use serde_json::{json, Value};

use super::page_approval::testing::apply_in;
use super::page_approval::{PageAnswer, PageApproval, PageCommand};
use super::*;
use crate::codemode::catalog::{Catalog, Unavailable, UpstreamTools};
use crate::mcp::jsonrpc::Request;
use crate::protocol::http::EventStream;
use crate::sandbox::gate::{HeldReply, Sent};
use crate::sandbox::protocol::{BridgeReply, ThrownError, ToolErrorKind};
use crate::session::{request_key, SessionCommand, SessionRecord, WaitingRequests};
use crate::upstream::protocol::{QuestionAnswer, UpstreamCommand};

/// What the fake isolate does with the program it is given.
pub(super) enum Program {
    /// Makes these calls (namespace, function), then returns `1`.
    Calls(&'static [(&'static str, &'static str)]),
    /// Tries these calls, noting in `admitted` whether the gate let each through.
    Tries(&'static [(&'static str, &'static str)]),
    /// Tries this call this many times, one after the other.
    Repeats((&'static str, &'static str), usize),
    /// Calls `everything.echo`, whose upstream asks the question of this method, with these
    /// params (JSON), before it answers.
    CallsAsking(&'static str, &'static str),
    /// Calls `everything.echo`, whose upstream asks an `elicitation/create` question after
    /// every answer and never replies; each command the object gets is counted in `sent`.
    KeepsAsking,
    /// Passes these calls through the gate as the bridge does, with `{"n": index}`; each call
    /// that reaches the upstream is counted in `forwarded`, and answers the count.
    Passes(&'static [(&'static str, &'static str)]),
    /// Throws this error.
    Throws(&'static str),
    /// Starts one call and never finishes.
    HangsInACall,
    /// Runs this many milliseconds past its time limit, then returns.
    Overruns(u64),
    /// Fails as a sandbox.
    Fails(SandboxError),
}

/// An in-memory platform: a fixed catalog, a fake isolate, a clock that only moves when told.
pub(super) struct FakePlatform {
    pub(super) program: Program,
    /// The client's cancellation reason, if it cancels.
    pub(super) cancels_with: Option<&'static str>,
    /// The timers that fire: those set for these many milliseconds (the others never do).
    pub(super) fires: Vec<u32>,
    /// How often an execution watched for its cancellation.
    pub(super) cancellation_watches: Cell<u32>,
    /// The client's reason, given to this isolate while a [`Program::HangsInACall`] runs.
    pub(super) cancels_here_with: Option<&'static str>,
    /// The requests of this isolate that their clients may cancel.
    pub(super) waiting_requests: WaitingRequests,
    pub(super) clock: Cell<u64>,
    pub(super) runs: Cell<u32>,
    pub(super) audits: RefCell<Vec<ExecutionAudit>>,
    pub(super) abandoned: Rc<RefCell<Vec<Abandonment>>>,
    pub(super) background: Cell<u32>,
    /// The gate of the last run, to try it after the run.
    pub(super) gate: RefCell<Option<CallGate>>,
    /// Whether the gate admitted each call of a [`Program::Tries`] or [`Program::Repeats`].
    pub(super) admitted: RefCell<Vec<bool>>,
    /// The client's answers to the runner's questions, in order (`result`s of JSON-RPC
    /// responses); once they run out, no answer ever comes.
    pub(super) answers: RefCell<VecDeque<Value>>,
    /// The commands the session's object was sent, other than watches.
    pub(super) told_session: RefCell<Vec<Value>>,
    /// The tools the session's record holds as approved for the session.
    pub(super) approved_for_session: RefCell<BTreeSet<String>>,
    /// What the upstream of a [`Program::CallsAsking`] was answered.
    pub(super) upstream_got: RefCell<Vec<QuestionAnswer>>,
    /// The operations of the commands a [`Program::KeepsAsking`] sent its object.
    pub(super) sent: RefCell<Vec<String>>,
    /// How many calls of a [`Program::Passes`] reached the upstream.
    pub(super) forwarded: Cell<u32>,
    /// The stash objects, by name: what they keep.
    pub(super) stashes: RefCell<HashMap<String, Value>>,
    /// The approval pages' objects, by name: what they keep.
    pub(super) pages: RefCell<HashMap<String, PageApproval>>,
}

impl FakePlatform {
    pub(super) fn new(program: Program) -> Self {
        Self {
            program,
            cancels_with: None,
            fires: Vec::new(),
            cancellation_watches: Cell::new(0),
            cancels_here_with: None,
            waiting_requests: WaitingRequests::default(),
            clock: Cell::new(1_000),
            runs: Cell::new(0),
            audits: RefCell::default(),
            abandoned: Rc::default(),
            background: Cell::new(0),
            gate: RefCell::default(),
            admitted: RefCell::default(),
            answers: RefCell::default(),
            told_session: RefCell::default(),
            approved_for_session: RefCell::default(),
            upstream_got: RefCell::default(),
            sent: RefCell::default(),
            forwarded: Cell::new(0),
            stashes: RefCell::default(),
            pages: RefCell::default(),
        }
    }

    /// Applies a page's `command` to the page object `name`, as its Durable Object does.
    pub(super) fn page_command(&self, name: &str, command: PageCommand) -> PageAnswer {
        apply_in(&mut self.pages.borrow_mut(), name, command)
    }

    pub(super) fn audit_entry(&self) -> ExecutionAudit {
        let audits = self.audits.borrow();
        assert_eq!(audits.len(), 1, "exactly one audit entry");
        audits[0].clone()
    }
}

/// The session's object: it remembers what it is told, keeps the tools approved for the
/// session in its record and hands out the client's answers; the fake platform answers for
/// itself what would reach the other objects.
impl Objects for FakePlatform {
    fn send_json(
        &self,
        object: Object<'_>,
        command: String,
    ) -> impl Future<Output = Result<String, String>> + 'static + use<> {
        let answer = match object {
            Object::Session(_) => {
                self.told_session
                    .borrow_mut()
                    .push(serde_json::from_str(&command).unwrap_or_default());
                let mut approved = self.approved_for_session.borrow_mut();
                match serde_json::from_str(&command) {
                    Ok(SessionCommand::Get) => {
                        let record = SessionRecord::new(String::new(), Vec::new(), None, 0);
                        let approved_tools = approved.clone();
                        let record = SessionRecord {
                            approved_tools,
                            ..record
                        };
                        Ok(json!(record).to_string())
                    }
                    Ok(SessionCommand::ApproveForSession { tool }) => {
                        approved.insert(tool);
                        Ok("true".to_owned())
                    }
                    _ => Ok("true".to_owned()),
                }
            }
            Object::Stash(name) => {
                let command: Value = serde_json::from_str(&command).unwrap_or_default();
                let mut stashes = self.stashes.borrow_mut();
                Ok(match command["op"].as_str() {
                    Some("put") => {
                        stashes.insert(name.to_owned(), command["stash"].clone());
                        "true".to_owned()
                    }
                    _ => stashes.remove(name).unwrap_or(Value::Null).to_string(),
                })
            }
            Object::PageApproval(name) => serde_json::from_str(&command)
                .map(|command| self.page_command(name, command))
                .and_then(|answer| serde_json::to_string(&answer))
                .map_err(|e| e.to_string()),
            other => Err(format!("{other:?} is not faked")),
        };
        ready(answer)
    }

    async fn open_json(&self, object: Object<'_>, command: String) -> Result<EventStream, String> {
        let command: Value = serde_json::from_str(&command).map_err(|e| e.to_string())?;
        let key = command["key"].as_str().unwrap_or_default().to_owned();
        if !matches!(object, Object::Session(_)) || !key.starts_with("answer ") {
            return Err(format!("{object:?} is not faked for {command}"));
        }
        let id = key.trim_start_matches("answer ").to_owned();
        Ok(match self.answers.borrow_mut().pop_front() {
            Some(result) => {
                let response = json!({"jsonrpc": "2.0", "id": id, "result": result});
                stream::once(ready(response.to_string().into_bytes())).boxed_local()
            }
            None => stream::pending().boxed_local(),
        })
    }
}

/// A reply as the fake bridge holds it.
pub(super) struct Held(BridgeReply);

impl HeldReply for Held {
    fn of(reply: &BridgeReply) -> Self {
        Held(reply.clone())
    }

    fn error(&self) -> Option<ToolErrorKind> {
        self.0.error_kind()
    }

    fn chars(&self) -> usize {
        self.0.to_wire().chars().count()
    }

    fn wire(&self) -> String {
        self.0.to_wire()
    }
}

pub(super) fn tool(name: &str) -> Tool {
    serde_json::from_value(json!({"name": name, "inputSchema": {"type": "object"}})).unwrap()
}

impl Platform for FakePlatform {
    async fn catalog(&self, upstreams: &[String], _: &Accounts) -> Catalog {
        Catalog::new(
            upstreams
                .iter()
                .map(|name| {
                    UpstreamTools::new(
                        name.clone(),
                        match name.as_str() {
                            "down" => Err(Unavailable::new("it did not answer")),
                            _ => Ok(vec![tool("echo"), tool("get-sum")]),
                        },
                    )
                })
                .collect(),
        )
    }

    async fn run(&self, run: &IsolateRun<'_>) -> Result<Outcome, SandboxError> {
        self.runs.set(self.runs.get() + 1);
        *self.gate.borrow_mut() = Some(run.gate.clone());
        let returned = Outcome {
            result_json: Some("1".into()),
            ..Outcome::default()
        };
        match &self.program {
            Program::Calls(calls) => {
                for (namespace, function) in *calls {
                    let (permit, _) = run
                        .gate
                        .admit(namespace, function, "{}", || 0)
                        .await
                        .unwrap();
                    permit.finish(None, 10, 5);
                }
                Ok(returned)
            }
            Program::Tries(calls) => {
                for (namespace, function) in *calls {
                    self.try_call(run, namespace, function).await;
                }
                Ok(returned)
            }
            Program::CallsAsking(method, params) => {
                let (permit, call) = run
                    .gate
                    .admit("everything", "echo", "{}", || 0)
                    .await
                    .unwrap();
                let send = |_: &str, command: &UpstreamCommand| {
                    let sent = match command {
                        UpstreamCommand::Answer { answer, .. } => {
                            self.upstream_got.borrow_mut().push(answer.clone());
                            Sent::Reply(Held(BridgeReply::Ok { value: json!(1) }))
                        }
                        _ => Sent::Asked {
                            call: "1".into(),
                            method: (*method).to_owned(),
                            params: serde_json::from_str(params).unwrap(),
                        },
                    };
                    ready(Ok(sent))
                };
                let reply: Held = run.gate.make_call((call, run.id), &|| 0, send).await;
                permit.finish(reply.error(), reply.chars(), 5);
                Ok(returned)
            }
            Program::KeepsAsking => {
                let (permit, call) = run
                    .gate
                    .admit("everything", "echo", "{}", || 0)
                    .await
                    .unwrap();
                let send = |_: &str, command: &UpstreamCommand| {
                    let op = serde_json::to_value(command).unwrap()["op"].clone();
                    self.sent
                        .borrow_mut()
                        .push(op.as_str().unwrap_or_default().to_owned());
                    ready(Ok(Sent::Asked {
                        call: "1".into(),
                        method: "elicitation/create".into(),
                        params: json!({"message": "Again?"}),
                    }))
                };
                let reply: Held = run.gate.make_call((call, run.id), &|| 0, send).await;
                permit.finish(reply.error(), reply.chars(), 5);
                Ok(returned)
            }
            Program::Passes(calls) => {
                for (n, (namespace, function)) in calls.iter().enumerate() {
                    let arguments = json!({"n": n}).to_string();
                    let forward = |_| async {
                        self.forwarded.set(self.forwarded.get() + 1);
                        Held(BridgeReply::Ok {
                            value: json!(self.forwarded.get()),
                        })
                    };
                    let call = (*namespace, *function, arguments.as_str());
                    let (reply, _) = run.gate.pass(call, || 0, forward).await;
                    self.admitted.borrow_mut().push(reply.error().is_none());
                }
                Ok(returned)
            }
            Program::Repeats((namespace, function), times) => {
                for _ in 0..*times {
                    self.try_call(run, namespace, function).await;
                }
                Ok(returned)
            }
            Program::Throws(name) => Ok(Outcome {
                error: Some(ThrownError {
                    name: (*name).to_owned(),
                    message: "boom".into(),
                    stack: None,
                }),
                ..Outcome::default()
            }),
            Program::HangsInACall => {
                let _in_flight = run.gate.admit("everything", "echo", "{}", || 0).await;
                if let (Some(reason), Some(session)) = (self.cancels_here_with, run.session) {
                    let request = request_key(run.context.id());
                    assert!(self.waiting_requests.deliver(session, &request, reason));
                }
                pending().await
            }
            Program::Overruns(ms) => {
                self.clock
                    .set(self.clock.get() + u64::from(run.timeout_ms) + ms);
                Ok(returned)
            }
            Program::Fails(error) => Err(error.clone()),
        }
    }

    async fn sleep(&self, ms: u32) {
        if !self.fires.contains(&ms) {
            pending::<()>().await;
        }
    }

    async fn cancellation(&self, _run: &IsolateRun<'_>) -> String {
        self.cancellation_watches
            .set(self.cancellation_watches.get() + 1);
        match self.cancels_with {
            Some(reason) => reason.to_owned(),
            None => pending().await,
        }
    }

    fn abandon(&self, abandonment: Abandonment) -> impl Future<Output = ()> + 'static {
        self.abandoned.borrow_mut().push(abandonment);
        async {}
    }

    fn in_background(&self, work: impl Future<Output = ()> + 'static) {
        self.background.set(self.background.get() + 1);
        block_on(work);
    }

    fn log(&self, _line: &str) {}

    fn audit(&self, entry: ExecutionAudit) {
        self.audits.borrow_mut().push(entry);
    }

    fn now_ms(&self) -> u64 {
        self.clock.get()
    }

    fn new_id(&self) -> String {
        "execution-1".into()
    }

    fn origin(&self) -> &str {
        "https://runner.example"
    }

    fn waiting_requests(&self) -> &WaitingRequests {
        &self.waiting_requests
    }
}

impl FakePlatform {
    /// Tries one call of the program, noting whether the gate admitted it.
    async fn try_call(&self, run: &IsolateRun<'_>, namespace: &str, function: &str) {
        let admitted = run.gate.admit(namespace, function, "{}", || 0).await;
        self.admitted.borrow_mut().push(admitted.is_ok());
        if let Ok((permit, _)) = admitted {
            permit.finish(None, 10, 5);
        }
    }
}

pub(super) fn requester(upstreams: &[&str]) -> Requester {
    Requester {
        session: Some("session-1".into()),
        person: None,
        upstreams: upstreams.iter().map(|u| (*u).to_owned()).collect(),
        grant: Grant::everything(),
        accounts: Accounts::default(),
        client: ClientCapabilities::default(),
        approved_tools: BTreeSet::new(),
        resume: None,
    }
}

pub(super) fn context() -> (
    RequestContext,
    futures::channel::mpsc::UnboundedReceiver<Value>,
) {
    let request = Request {
        id: RequestId::Number(1),
        method: "tools/call".into(),
        params: None,
    };
    let (sink, stream) = futures::channel::mpsc::unbounded();
    let context = RequestContext::new(&request, Some(sink));
    context.set_log_level(Some(LogLevel::Debug));
    (context, stream)
}

pub(super) const CODE: &str = "return 1;";

pub(super) fn run_code(platform: &FakePlatform, code: &str) -> Option<CallToolResult> {
    let (context, _) = context();
    let answer = block_on(execute(
        platform,
        requester(&["everything"]),
        code,
        &ExecutionLimits::default(),
        &context,
    ));
    answer.map(|answer| match answer {
        CallToolResponse::Complete(result) => result,
        other => panic!("not a complete result: {other:?}"),
    })
}
