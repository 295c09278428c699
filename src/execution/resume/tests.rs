//! A stateless run that stops for its person and is resumed: the question and the kept record,
//! the rerun that makes no call twice, and the `requestState`s that cannot resume.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use futures::executor::block_on;
use rmcp::model::{CallToolResponse, ClientCapabilities, InputResponses};
use serde_json::{json, Value};

use super::*;
use crate::audit::Ending;
use crate::config::AccessPolicy;
use crate::execution::testing::{context, requester, FakePlatform, Program, CODE};
use crate::execution::{execute, Requester};
use crate::sandbox::limits::ExecutionLimits;
use crate::sandbox::protocol::ToolErrorKind;

/// `get_sum`, then `echo` (which needs approval), then `get_sum` again.
const CALLS: &[(&str, &str)] = &[
    ("everything", "get_sum"),
    ("everything", "echo"),
    ("everything", "get_sum"),
];

/// A stateless requester whose client takes form elicitations, for whom `echo` needs approval.
fn stateless(resume: Option<Resuming>) -> Requester {
    let access = AccessPolicy::from_json(Some(r#"{"approve": ["echo"]}"#), &[]).unwrap();
    let client: ClientCapabilities = serde_json::from_value(json!({"elicitation": {}})).unwrap();
    Requester {
        session: None,
        grant: access.grant_for(None),
        client,
        resume,
        ..requester(&["everything"])
    }
}

fn run(platform: &FakePlatform, requester: Requester, code: &str) -> CallToolResponse {
    let (context, _) = context();
    let limits = ExecutionLimits::default();
    block_on(execute(platform, requester, code, &limits, &context)).expect("answered")
}

/// Resuming the stash the fake platform keeps (its ids are all `execution-1`) with `answer`.
fn resuming(answer: Value) -> Option<Resuming> {
    Some(Resuming {
        state: "execution-1".into(),
        responses: InputResponses::from([(APPROVAL_KEY.to_owned(), answer)]),
    })
}

fn accepted() -> Value {
    json!({"action": "accept", "content": {"decision": "once"}})
}

#[test]
fn a_stateless_call_that_needs_approval_stops_the_run_and_asks_with_input_required() {
    let platform = FakePlatform::new(Program::Passes(CALLS));
    let answer = run(&platform, stateless(None), CODE);
    let CallToolResponse::InputRequired(asked) = answer else {
        panic!("{answer:?}");
    };
    assert_eq!(asked.request_state.as_deref(), Some("execution-1"));
    let question = serde_json::to_value(&asked.input_requests.unwrap()[APPROVAL_KEY]).unwrap();
    assert_eq!(question["method"], "elicitation/create");
    assert!(question["params"]["message"]
        .as_str()
        .unwrap()
        .contains("everything.echo"));
    assert_eq!(
        question["params"]["requestedSchema"]["properties"]["decision"]["enum"],
        json!(["once"])
    );
    assert_eq!(
        platform.forwarded.get(),
        1,
        "only the call before the question was made"
    );
    assert_eq!(platform.audit_entry().ending, Ending::AwaitingPerson);
    assert!(platform.stashes.borrow().contains_key("execution-1"));
}

#[test]
fn the_resumed_run_replays_what_was_made_and_makes_the_rest_once() {
    let platform = FakePlatform::new(Program::Passes(CALLS));
    run(&platform, stateless(None), CODE);
    platform.audits.borrow_mut().clear();
    let answer = run(&platform, stateless(resuming(accepted())), CODE);
    assert!(
        matches!(answer, CallToolResponse::Complete(_)),
        "{answer:?}"
    );
    assert_eq!(
        platform.forwarded.get(),
        3,
        "the first call was not made again"
    );
    let audit = platform.audit_entry();
    assert!(audit.calls[0].replayed);
    assert_eq!(
        audit.calls[1].approval.as_ref().map(|a| a.way),
        Some(crate::protocol::approval::ApprovalWay::Elicitation)
    );
    assert!(!audit.calls[2].replayed);
}

#[test]
fn a_declined_resume_throws_approval_declined_and_makes_nothing_new() {
    let platform = FakePlatform::new(Program::Passes(CALLS));
    run(&platform, stateless(None), CODE);
    platform.audits.borrow_mut().clear();
    run(
        &platform,
        stateless(resuming(json!({"action": "decline"}))),
        CODE,
    );
    let audit = platform.audit_entry();
    assert_eq!(audit.calls[1].error, Some(ToolErrorKind::ApprovalDeclined));
    assert_eq!(
        platform.forwarded.get(),
        2,
        "only the call after the declined one"
    );
}

#[test]
fn a_request_state_works_once_and_only_for_its_code() {
    let platform = FakePlatform::new(Program::Passes(CALLS));
    run(&platform, stateless(None), CODE);
    let other_code = run(&platform, stateless(resuming(accepted())), "return 2;");
    let CallToolResponse::Complete(refused) = other_code else {
        panic!("{other_code:?}");
    };
    let text = &refused.content[0].as_text().unwrap().text;
    assert!(text.contains("another person or another program"), "{text}");
    let again = run(&platform, stateless(resuming(accepted())), CODE);
    let CallToolResponse::Complete(refused) = again else {
        panic!("{again:?}");
    };
    let text = &refused.content[0].as_text().unwrap().text;
    assert!(text.contains("unknown, already used or expired"), "{text}");
    assert_eq!(platform.forwarded.get(), 1);
}

#[test]
fn a_rerun_that_calls_something_else_stops_with_resume_diverged() {
    let platform = FakePlatform::new(Program::Passes(CALLS));
    run(&platform, stateless(None), CODE);
    let diverging = FakePlatform::new(Program::Passes(&[("everything", "echo")]));
    diverging.stashes.replace(platform.stashes.take());
    run(&diverging, stateless(resuming(accepted())), CODE);
    let audit = diverging.audit_entry();
    assert_eq!(audit.calls[0].error, Some(ToolErrorKind::ResumeDiverged));
    assert_eq!(diverging.forwarded.get(), 0);
}

#[test]
fn a_run_that_waits_twice_is_resumed_twice_and_each_call_is_made_once() {
    const TWICE: &[(&str, &str)] = &[
        ("everything", "get_sum"),
        ("everything", "echo"),
        ("everything", "get_sum"),
        ("everything", "echo"),
    ];
    let platform = FakePlatform::new(Program::Passes(TWICE));
    run(&platform, stateless(None), CODE);
    let second = run(&platform, stateless(resuming(accepted())), CODE);
    assert!(
        matches!(second, CallToolResponse::InputRequired(_)),
        "{second:?}"
    );
    assert_eq!(platform.forwarded.get(), 3);
    platform.audits.borrow_mut().clear();
    let third = run(&platform, stateless(resuming(accepted())), CODE);
    assert!(matches!(third, CallToolResponse::Complete(_)), "{third:?}");
    assert_eq!(
        platform.forwarded.get(),
        4,
        "every call made exactly once over three runs"
    );
    let replayed: Vec<bool> = platform
        .audit_entry()
        .calls
        .iter()
        .map(|c| c.replayed)
        .collect();
    assert_eq!(replayed, [true, true, true, false]);
}
