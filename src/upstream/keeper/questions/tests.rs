//! A call whose upstream asks the person something: held, answered by its own execution only,
//! then ended; abandoned, its question is answered with an error.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use futures::executor::block_on;
use futures::future::{join, join_all};
use serde_json::{json, Value};

use super::MAX_QUESTION_BYTES;
use crate::upstream::keeper::testing::{
    ask, call, keeper, listing, target, tool, Keeper, MemoryStore,
};
use crate::upstream::protocol::{QuestionAnswer, UpstreamAnswer, UpstreamCommand};
use crate::upstream::session::fake::{FakeHttp, Reply, PIECE};
use crate::upstream::target::Target;

use std::rc::Rc;

/// An upstream whose call asks a question (id `q1`) with these `params`, then answers.
fn asking_upstream(params: Value) -> Rc<FakeHttp> {
    let http = Rc::new(FakeHttp::default());
    let asked = json!({"jsonrpc": "2.0", "id": "q1", "method": "elicitation/create",
                       "params": params});
    let answered = json!({"jsonrpc": "2.0", "id": "$id", "result": {"content": []}});
    http.replies
        .borrow_mut()
        .push_back(listing(&[tool("echo", "Echo.")]));
    http.replies.borrow_mut().push_back(Reply::With(
        200,
        vec![("Content-Type", "text/event-stream".into())],
        format!("data: {asked}\n\n{PIECE}data: {answered}\n\n"),
    ));
    http
}

/// Answers `command` while the work the object left running goes on.
fn answer_running(
    http: &FakeHttp,
    keeper: &Keeper,
    target: &Rc<Target>,
    command: UpstreamCommand,
) -> UpstreamAnswer {
    let running = std::mem::take(&mut *http.spawned.borrow_mut());
    block_on(join(keeper.answer(target, command), join_all(running))).0
}

fn answer(call: &str, execution: &str, answer: Value) -> UpstreamCommand {
    UpstreamCommand::Answer {
        call: call.to_owned(),
        execution: Some(execution.to_owned()),
        answer: QuestionAnswer::Result(answer),
    }
}

/// A keeper of an [`asking_upstream`] asking "Sure?" with the secret in its words, and what it
/// answered a call of execution `e1`.
fn asked_by_e1() -> (Rc<FakeHttp>, Keeper, Rc<Target>, UpstreamAnswer) {
    let http = asking_upstream(json!({"message": "Sure? t0ken-value"}));
    let keeper = keeper(&http, &MemoryStore::default());
    let target = target(json!({}));
    let command = call("echo", json!({"text": "hi"}), Some("e1"));
    let asked = ask(&keeper, &target, command);
    (http, keeper, target, asked)
}

#[test]
fn a_call_whose_upstream_asks_is_held_until_its_execution_answers() {
    let (http, keeper, target, asked) = asked_by_e1();
    let UpstreamAnswer::Asked {
        call: held,
        method,
        params,
    } = asked
    else {
        panic!("{asked:?}");
    };
    assert_eq!(method, "elicitation/create");
    assert_eq!(
        params["message"], "Sure? [redacted]",
        "the upstream's words are redacted"
    );
    let stranger = ask(&keeper, &target, answer(&held, "e2", json!({})));
    assert!(
        matches!(stranger, UpstreamAnswer::NotPermitted { .. }),
        "{stranger:?}"
    );
    let accepted = json!({"action": "accept", "content": {}});
    let ended = answer_running(
        &http,
        &keeper,
        &target,
        answer(&held, "e1", accepted.clone()),
    );
    assert!(
        matches!(ended, UpstreamAnswer::ToolResult { .. }),
        "{ended:?}"
    );
    let received = http.received.borrow();
    let answered = received.iter().find(|r| r.message["id"] == "q1").unwrap();
    assert_eq!(answered.message["result"], accepted);
    let again = ask(&keeper, &target, answer(&held, "e1", json!({})));
    assert!(
        matches!(again, UpstreamAnswer::NotPermitted { .. }),
        "answered once"
    );
}

#[test]
fn cancelling_the_execution_answers_its_held_question_with_an_error() {
    let (http, keeper, target, asked) = asked_by_e1();
    assert!(matches!(asked, UpstreamAnswer::Asked { .. }), "{asked:?}");
    let cancel = UpstreamCommand::Cancel {
        execution: "e1".into(),
        reason: "the client left".into(),
    };
    answer_running(&http, &keeper, &target, cancel);
    let received = http.received.borrow();
    let answered = received.iter().find(|r| r.message["id"] == "q1").unwrap();
    assert!(
        answered.message["error"]["message"].is_string(),
        "{:?}",
        answered.message
    );
}

#[test]
fn a_question_past_its_bytes_is_refused_to_the_upstream_and_the_call_goes_on() {
    let huge = "x".repeat(MAX_QUESTION_BYTES);
    let http =
        asking_upstream(json!({"message": "Sure?", "requestedSchema": {"description": huge}}));
    let keeper = keeper(&http, &MemoryStore::default());
    let target = target(json!({}));
    let command = call("echo", json!({"text": "hi"}), Some("e1"));
    let ended = answer_running(&http, &keeper, &target, command);
    assert!(
        matches!(ended, UpstreamAnswer::ToolResult { .. }),
        "not held for the person: {ended:?}"
    );
    let received = http.received.borrow();
    let refused = received.iter().find(|r| r.message["id"] == "q1").unwrap();
    assert_eq!(refused.message["error"]["code"], -32602);
    let message = refused.message["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("elicitation/create takes 1048")
            && message.ends_with("it was not asked"),
        "{message}"
    );
}
