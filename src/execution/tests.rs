//! Every ending of an execution, against an in-memory platform, with the audit entry of each.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::Context;

use futures::executor::block_on;
use futures::future::{pending, ready};
use futures::task::noop_waker;
use rmcp::model::{CallToolResult, RequestId, Tool};
use serde_json::{json, Value};

use super::*;
use crate::codemode::catalog::{Catalog, Unavailable, UpstreamTools};
use crate::config::AccessPolicy;
use crate::mcp::jsonrpc::Request;
use crate::protocol::http::EventStream;
use crate::sandbox::limits::Limit;
use crate::sandbox::protocol::ThrownError;

/// What the fake isolate does with the program it is given.
enum Program {
    /// Makes these calls (namespace, function), then returns `1`.
    Calls(&'static [(&'static str, &'static str)]),
    /// Tries these calls, noting in `admitted` whether the gate let each through.
    Tries(&'static [(&'static str, &'static str)]),
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
struct FakePlatform {
    program: Program,
    /// The client's cancellation reason, if it cancels.
    cancels_with: Option<&'static str>,
    /// Whether the time limit's timer fires (else it never does).
    times_out: bool,
    clock: Cell<u64>,
    runs: Cell<u32>,
    audits: RefCell<Vec<ExecutionAudit>>,
    abandoned: Rc<RefCell<Vec<Abandonment>>>,
    background: Cell<u32>,
    /// The gate of the last run, to try it after the run.
    gate: RefCell<Option<CallGate>>,
    /// Whether the gate admitted each call of a [`Program::Tries`].
    admitted: RefCell<Vec<bool>>,
}

impl FakePlatform {
    fn new(program: Program) -> Self {
        Self {
            program,
            cancels_with: None,
            times_out: false,
            clock: Cell::new(1_000),
            runs: Cell::new(0),
            audits: RefCell::default(),
            abandoned: Rc::default(),
            background: Cell::new(0),
            gate: RefCell::default(),
            admitted: RefCell::default(),
        }
    }

    fn audit_entry(&self) -> ExecutionAudit {
        let audits = self.audits.borrow();
        assert_eq!(audits.len(), 1, "exactly one audit entry");
        audits[0].clone()
    }
}

/// Never reached: the fake platform answers for itself what would reach the objects.
impl Objects for FakePlatform {
    fn send_json(
        &self,
        object: Object<'_>,
        _command: String,
    ) -> impl Future<Output = Result<String, String>> + 'static + use<> {
        ready(Err(format!("{object:?} is not faked")))
    }

    async fn open_json(&self, object: Object<'_>, _command: String) -> Result<EventStream, String> {
        Err(format!("{object:?} is not faked"))
    }
}

fn tool(name: &str) -> Tool {
    serde_json::from_value(json!({"name": name, "inputSchema": {"type": "object"}})).unwrap()
}

impl Platform for FakePlatform {
    async fn catalog(&self, upstreams: &[String], _: &Accounts) -> Catalog {
        Catalog::new(
            upstreams
                .iter()
                .map(|name| UpstreamTools {
                    upstream: name.clone(),
                    tools: match name.as_str() {
                        "down" => Err(Unavailable::new("it did not answer")),
                        _ => Ok(vec![tool("echo"), tool("get-sum")]),
                    },
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
                    let (permit, _) = run.gate.admit(namespace, function, "{}", 0).await.unwrap();
                    permit.finish(None, 10, 5);
                }
                Ok(returned)
            }
            Program::Tries(calls) => {
                for (namespace, function) in *calls {
                    let admitted = run.gate.admit(namespace, function, "{}", 0).await;
                    self.admitted.borrow_mut().push(admitted.is_ok());
                    if let Ok((permit, _)) = admitted {
                        permit.finish(None, 10, 5);
                    }
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
                let _in_flight = run.gate.admit("everything", "echo", "{}", 0).await;
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

    async fn sleep(&self, _ms: u32) {
        if !self.times_out {
            pending::<()>().await;
        }
    }

    async fn cancellation(&self, _run: &IsolateRun<'_>) -> String {
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
}

fn requester(upstreams: &[&str]) -> Requester {
    Requester {
        session: Some("session-1".into()),
        person: None,
        upstreams: upstreams.iter().map(|u| (*u).to_owned()).collect(),
        grant: Grant::everything(),
        accounts: Accounts::default(),
    }
}

fn context() -> (
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

const CODE: &str = "return 1;";

fn run_code(platform: &FakePlatform, code: &str) -> Option<CallToolResult> {
    let (context, _) = context();
    block_on(execute(
        platform,
        requester(&["everything"]),
        code,
        &ExecutionLimits::default(),
        &context,
    ))
}

#[test]
fn the_gate_admits_only_the_tools_the_person_is_granted() {
    let platform = FakePlatform::new(Program::Tries(&[
        ("everything", "get_sum"),
        ("everything", "echo"),
    ]));
    let access = AccessPolicy::from_json(
        Some(r#"{"default": {"everything": {"allow": ["get-*"]}}}"#),
        &["everything".to_owned()],
    )
    .unwrap();
    let requester = Requester {
        grant: access.grant_for(None),
        ..requester(&["everything"])
    };
    let (context, _) = context();
    block_on(execute(
        &platform,
        requester,
        CODE,
        &ExecutionLimits::default(),
        &context,
    ));
    assert_eq!(*platform.admitted.borrow(), [true, false]);
}

fn text_of(result: &CallToolResult) -> String {
    result.content[0].as_text().unwrap().text.clone()
}

#[test]
fn a_program_that_returns_is_audited_with_the_calls_the_gate_saw() {
    let platform = FakePlatform::new(Program::Calls(&[
        ("everything", "echo"),
        ("everything", "get_sum"),
    ]));
    let result = run_code(&platform, CODE).unwrap();
    assert_ne!(result.is_error, Some(true), "{}", text_of(&result));
    let audit = platform.audit_entry();
    assert_eq!(audit.ending, Ending::Returned);
    assert_eq!(audit.calls_total, 2);
    assert_eq!(audit.calls[1].tool, "everything.get_sum");
    assert_eq!(audit.call_result_chars, 20);
    assert_eq!(audit.execution, "execution-1");
    assert_eq!(audit.session.as_deref(), Some("session-1"));
    let gate = platform.gate.borrow().clone().unwrap();
    let late = block_on(gate.admit("everything", "echo", "{}", 0));
    assert!(
        late.is_err(),
        "a call after the program returned is refused"
    );
}

#[test]
fn a_program_that_throws_is_audited_with_the_error_name() {
    let platform = FakePlatform::new(Program::Throws("TypeError"));
    let result = run_code(&platform, CODE).unwrap();
    assert_eq!(result.is_error, Some(true));
    let audit = platform.audit_entry();
    assert_eq!(audit.ending, Ending::Threw);
    assert_eq!(audit.error.as_deref(), Some("TypeError"));
}

#[test]
fn code_that_does_not_parse_is_refused_without_an_isolate() {
    let platform = FakePlatform::new(Program::Calls(&[]));
    let result = run_code(&platform, "return (;").unwrap();
    assert_eq!(result.is_error, Some(true));
    assert_eq!(platform.runs.get(), 0, "no isolate was loaded");
    let audit = platform.audit_entry();
    assert_eq!(audit.ending, Ending::Refused);
    assert_eq!(audit.error.as_deref(), Some("SyntaxError"));
}

#[test]
fn a_program_past_its_time_is_abandoned_and_its_calls_stopped() {
    let mut platform = FakePlatform::new(Program::HangsInACall);
    platform.times_out = true;
    let result = run_code(&platform, CODE).unwrap();
    assert_eq!(result.is_error, Some(true));
    assert!(
        text_of(&result).contains("TimeoutExceeded"),
        "{}",
        text_of(&result)
    );
    let audit = platform.audit_entry();
    assert_eq!(audit.ending, Ending::TimedOut);
    assert_eq!(audit.limits_hit, vec![Limit::TimeoutMs]);
    let abandoned = platform.abandoned.borrow();
    assert_eq!(abandoned[0].upstreams, vec!["everything".to_owned()]);
    assert_eq!(
        abandoned[0].report_to, None,
        "the timed-out request is answered itself"
    );
}

#[test]
fn a_program_that_returns_after_its_time_has_overrun_and_timed_out() {
    let platform = FakePlatform::new(Program::Overruns(1));
    let result = run_code(&platform, CODE).unwrap();
    assert!(
        text_of(&result).contains("past its limit"),
        "{}",
        text_of(&result)
    );
    assert_eq!(platform.audit_entry().ending, Ending::TimedOut);
    assert!(
        platform.abandoned.borrow().is_empty(),
        "nothing was left running"
    );
}

#[test]
fn a_cancelled_execution_gets_no_answer_and_its_session_hears_what_stopped() {
    let mut platform = FakePlatform::new(Program::HangsInACall);
    platform.cancels_with = Some("the user pressed stop");
    assert!(run_code(&platform, CODE).is_none());
    assert_eq!(platform.audit_entry().ending, Ending::Cancelled);
    let abandoned = platform.abandoned.borrow();
    assert_eq!(abandoned[0].report_to.as_deref(), Some("session-1"));
    assert!(abandoned[0].reason.contains("the user pressed stop"));
    assert_eq!(
        abandoned[0].event()["stoppedCallsTo"],
        json!(["everything"])
    );
}

#[test]
fn a_sandbox_failure_is_reported_and_audited_as_such() {
    let platform = FakePlatform::new(Program::Fails(SandboxError::Crashed("gone".into())));
    let result = run_code(&platform, CODE).unwrap();
    assert!(
        text_of(&result).contains("SandboxError"),
        "{}",
        text_of(&result)
    );
    assert_eq!(platform.audit_entry().ending, Ending::SandboxFailed);
}

#[test]
fn an_execution_dropped_unfinished_is_abandoned_in_the_background_and_audited() {
    let platform = FakePlatform::new(Program::HangsInACall);
    let (context, _) = context();
    let limits = ExecutionLimits::default();
    {
        let mut running = pin!(execute(
            &platform,
            requester(&["everything"]),
            CODE,
            &limits,
            &context
        ));
        let waker = noop_waker();
        assert!(running
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
    }
    assert_eq!(platform.background.get(), 1);
    let audit = platform.audit_entry();
    assert_eq!(audit.ending, Ending::Cancelled);
    assert_eq!(audit.calls_total, 0, "the call in flight never finished");
    let abandoned = platform.abandoned.borrow();
    assert_eq!(abandoned[0].reason, "the client closed the connection");
    assert_eq!(abandoned[0].upstreams, vec!["everything".to_owned()]);
}

#[test]
fn an_unavailable_upstream_is_reported_to_the_client_as_a_warning() {
    let platform = FakePlatform::new(Program::Calls(&[]));
    let (context, mut messages) = context();
    let limits = ExecutionLimits::default();
    let ran = execute(
        &platform,
        requester(&["everything", "down"]),
        CODE,
        &limits,
        &context,
    );
    assert!(block_on(ran).is_some());
    let warning = messages.try_recv().unwrap();
    assert_eq!(warning["params"]["level"], "warning");
    assert_eq!(warning["params"]["data"]["upstream"], "down");
}
