//! Answering a stateless upstream's `input_required` results, against the scripted upstream.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::cell::RefCell;

use futures::executor::block_on;
use futures::future::{ready, LocalBoxFuture};
use futures::FutureExt;
use rmcp::model::{ErrorCode, ErrorData};
use serde_json::{json, Map, Value};

use super::*;
use crate::upstream::session::fake::{connect, result, target, FakeHttp, Received};
use crate::upstream::session::never;

/// An asker that answers with `answer` (or refuses), noting what it was asked.
struct Person {
    asked: RefCell<Vec<(String, Value)>>,
    answer: Result<Value, ErrorData>,
}

impl Asker for Person {
    fn ask(&self, method: &str, params: Value) -> LocalBoxFuture<'_, Result<Value, ErrorData>> {
        self.asked.borrow_mut().push((method.to_owned(), params));
        ready(self.answer.clone()).boxed_local()
    }
}

fn accepting() -> Person {
    Person {
        asked: RefCell::default(),
        answer: Ok(json!({"action": "accept", "content": {"confirmed": true}})),
    }
}

/// An `input_required` result asking to confirm, with `state` if given.
fn asking(state: Option<&str>) -> Value {
    let mut result = json!({
        "resultType": "input_required",
        "inputRequests": {"confirm": {"method": "elicitation/create", "params": {"message": "Sure?"}}},
    });
    if let Some(state) = state {
        result["requestState"] = json!(state);
    }
    result
}

/// A stateless upstream answering its calls with `replies`; what `asker` makes of a call.
fn call_stateless(
    replies: Vec<Value>,
    asker: Option<&Person>,
) -> (Result<Value, UpstreamError>, Vec<Received>) {
    let http = FakeHttp {
        initialize_answer: Some((404, json!({"error": {"code": -32601, "message": "no"}}))),
        ..FakeHttp::default()
    };
    http.replies
        .borrow_mut()
        .extend(replies.into_iter().map(result));
    let (http, connection, _) = connect(http);
    let asker = asker.map(|person| person as &dyn Asker);
    let sent = (
        "tools/call",
        json!({"name": "delete", "arguments": {"id": 7}, "requestState": "forged"}),
    );
    let outcome = block_on(connection.request(&target(), sent, &[], asker, never()));
    let received = http.received.borrow();
    let calls = received.iter().filter(|r| r.method() == "tools/call");
    (outcome, calls.cloned().collect())
}

#[test]
fn the_answers_go_back_with_the_state_untouched_and_a_new_id() {
    let person = accepting();
    let done = json!({"resultType": "complete", "content": []});
    let (outcome, calls) = call_stateless(vec![asking(Some("s\"1")), done.clone()], Some(&person));
    assert_eq!(outcome.unwrap(), done);
    assert_eq!(
        *person.asked.borrow(),
        [("elicitation/create".to_owned(), json!({"message": "Sure?"}))]
    );
    let retry = &calls[1].message;
    assert_ne!(retry["id"], calls[0].message["id"]);
    assert_eq!(retry["params"]["requestState"], "s\"1");
    assert_eq!(
        retry["params"]["inputResponses"]["confirm"]["content"]["confirmed"],
        true
    );
    assert_eq!(retry["params"]["arguments"], json!({"id": 7}));
    assert_eq!(
        retry["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"],
        json!({"elicitation": {"form": {}}, "sampling": {}})
    );
}

#[test]
fn without_a_state_the_retry_carries_none() {
    let done = json!({"content": []});
    let (outcome, calls) = call_stateless(vec![asking(None), done.clone()], Some(&accepting()));
    assert_eq!(outcome.unwrap(), done);
    assert!(calls[1].message["params"].get("requestState").is_none());
}

#[test]
fn a_result_without_result_type_is_complete() {
    let done = json!({"content": [], "inputRequests": {"x": {}}});
    let (outcome, calls) = call_stateless(vec![done.clone()], Some(&accepting()));
    assert_eq!(outcome.unwrap(), done);
    assert_eq!(calls.len(), 1);
}

#[test]
fn a_question_no_one_can_answer_gives_the_request_up_saying_why() {
    let (outcome, calls) = call_stateless(vec![asking(Some("s"))], None);
    let error = outcome.unwrap_err();
    assert!(
        matches!(error, UpstreamError::Unanswered { ref method, .. } if method == "elicitation/create")
    );
    assert!(
        error.to_string().contains("no person is waiting"),
        "{error}"
    );
    assert_eq!(calls.len(), 1);
    let refusing = Person {
        asked: RefCell::default(),
        answer: Err(ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            "this client takes no forms",
            None,
        )),
    };
    let (outcome, _) = call_stateless(vec![asking(Some("s"))], Some(&refusing));
    assert!(outcome
        .unwrap_err()
        .to_string()
        .contains("this client takes no forms"));
}

#[test]
fn an_upstream_that_keeps_asking_is_given_up_after_the_last_round() {
    let rounds = (0..=MAX_INPUT_ROUNDS).map(|_| asking(Some("s"))).collect();
    let person = accepting();
    let (outcome, calls) = call_stateless(rounds, Some(&person));
    assert!(
        matches!(outcome, Err(UpstreamError::Malformed { .. })),
        "{outcome:?}"
    );
    assert_eq!(calls.len(), MAX_INPUT_ROUNDS as usize + 1);
}

#[test]
fn an_input_required_result_that_cannot_be_read_is_an_error() {
    for result in [
        json!({"resultType": "input_required"}),
        json!({"resultType": "input_required", "inputRequests": {}}),
        json!({"resultType": "input_required", "inputRequests": {"a": {"params": {}}}}),
        json!({"resultType": "input_required", "inputRequests": (0..21).map(|n| (n.to_string(), json!({"method": "roots/list"}))).collect::<Map<_, _>>()}),
    ] {
        assert!(
            matches!(
                InputRequired::of(&result),
                Some(Err(UpstreamError::Malformed { .. }))
            ),
            "{result}"
        );
    }
    assert!(InputRequired::of(&json!({"resultType": "complete"})).is_none());
}
