//! Every ending of an execution, against an in-memory platform, with the audit entry of each.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::pin::pin;
use std::task::Context;

use futures::executor::block_on;
use futures::task::noop_waker;
use rmcp::model::CallToolResult;

use super::testing::*;
use super::*;
use crate::config::AccessPolicy;
use crate::sandbox::limits::Limit;
use lifecycle::CANCELLATION_WATCH_AFTER_MS;

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
    let late = block_on(gate.admit("everything", "echo", "{}", || 0));
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
    platform.fires = vec![ExecutionLimits::default().timeout_ms];
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
    platform.fires = vec![CANCELLATION_WATCH_AFTER_MS];
    assert!(run_code(&platform, CODE).is_none());
    assert_eq!(platform.cancellation_watches.get(), 1);
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
fn a_cancellation_that_reaches_the_executions_own_isolate_stops_it_without_its_sessions_object() {
    let mut platform = FakePlatform::new(Program::HangsInACall);
    platform.cancels_here_with = Some("the user pressed stop");
    assert!(run_code(&platform, CODE).is_none());
    assert_eq!(platform.cancellation_watches.get(), 0);
    assert_eq!(platform.audit_entry().ending, Ending::Cancelled);
    let abandoned = platform.abandoned.borrow();
    assert!(abandoned[0].reason.contains("the user pressed stop"));
    assert_eq!(
        abandoned[0].event()["stoppedCallsTo"],
        json!(["everything"])
    );
}

#[test]
fn an_execution_that_ends_before_the_watch_never_asks_its_session_about_cancellation() {
    let mut platform = FakePlatform::new(Program::HangsInACall);
    platform.cancels_with = Some("the user pressed stop");
    platform.fires = vec![ExecutionLimits::default().timeout_ms];
    let result = run_code(&platform, CODE).unwrap();
    assert_eq!(
        platform.audit_entry().ending,
        Ending::TimedOut,
        "{}",
        text_of(&result)
    );
    assert_eq!(platform.cancellation_watches.get(), 0);
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
