#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::collections::HashMap;

use super::*;

const NOW: u64 = 1_000_000;

fn request(person: &str) -> PageRequest {
    PageRequest {
        person: person.into(),
        session: Some("s-1".into()),
        upstream: "github".into(),
        function: "github.delete_issue".into(),
        tool: "delete_issue".into(),
        summary: "  number: 7".into(),
    }
}

fn open(now_ms: u64) -> PageCommand {
    PageCommand::Open {
        request: Box::new(request("key:alice")),
        now_ms,
    }
}

/// Applies `commands` in turn to an empty object; the answers.
fn run(commands: Vec<PageCommand>) -> Vec<PageAnswer> {
    let mut pages = HashMap::new();
    (commands.into_iter())
        .map(|command| testing::apply_in(&mut pages, "page", command))
        .collect()
}

fn signed_in(person: &str, secret: &str) -> PageCommand {
    PageCommand::SignedIn {
        person: person.into(),
        secret: secret.into(),
        now_ms: NOW + 10,
    }
}

fn decide(secret: &str, decision: PageDecision) -> PageCommand {
    PageCommand::Decide {
        secret: secret.into(),
        decision,
        now_ms: NOW + 20,
    }
}

#[test]
fn an_approval_on_the_page_is_handed_to_the_rerun_once() {
    let answers = run(vec![
        open(NOW),
        PageCommand::Look { now_ms: NOW + 5 },
        signed_in("key:alice", "t1"),
        decide("t1", PageDecision::Once),
        open(NOW + 30),
        open(NOW + 40),
    ]);
    assert_eq!(answers[0], PageAnswer::Pending);
    assert_eq!(answers[1], PageAnswer::Pending);
    assert_eq!(
        answers[2],
        PageAnswer::Review {
            request: request("key:alice")
        }
    );
    assert!(matches!(
        answers[3],
        PageAnswer::Decided {
            decision: PageDecision::Once,
            ..
        }
    ));
    let approval = Approval {
        way: ApprovalWay::Page,
        by: Some("key:alice".into()),
        at_ms: NOW + 20,
    };
    assert_eq!(answers[4], PageAnswer::Approved { approval });
    assert_eq!(answers[5], PageAnswer::Pending, "a second call asks again");
}

#[test]
fn only_the_person_whose_call_it_is_can_decide_and_only_with_their_ticket() {
    let answers = run(vec![
        open(NOW),
        signed_in("key:mallory", "m1"),
        decide("m1", PageDecision::Once),
        signed_in("key:alice", "t1"),
        decide("guess", PageDecision::Once),
        decide("t1", PageDecision::Once),
    ]);
    assert_eq!(answers[1], PageAnswer::NotYours);
    assert_eq!(answers[2], PageAnswer::Unknown);
    assert_eq!(
        answers[4],
        PageAnswer::Unknown,
        "a wrong secret decides nothing"
    );
    assert_eq!(answers[5], PageAnswer::Unknown, "and spends the ticket");
}

#[test]
fn a_ticket_decides_once() {
    let answers = run(vec![
        open(NOW),
        signed_in("key:alice", "t1"),
        decide("t1", PageDecision::Decline),
        decide("t1", PageDecision::Once),
        open(NOW + 30),
    ]);
    assert!(matches!(
        answers[2],
        PageAnswer::Decided {
            decision: PageDecision::Decline,
            ..
        }
    ));
    assert_eq!(answers[3], PageAnswer::Unknown);
    assert_eq!(answers[4], PageAnswer::Declined);
}

#[test]
fn approving_for_the_session_leaves_nothing_behind() {
    let answers = run(vec![
        open(NOW),
        signed_in("key:alice", "t1"),
        decide("t1", PageDecision::ForSession),
        PageCommand::Look { now_ms: NOW + 30 },
    ]);
    assert!(matches!(
        answers[2],
        PageAnswer::Decided {
            decision: PageDecision::ForSession,
            ..
        }
    ));
    assert_eq!(answers[3], PageAnswer::Unknown);
}

#[test]
fn an_expired_page_is_unknown_and_a_new_call_opens_a_new_one() {
    let late = NOW + PAGE_APPROVAL_TTL_MS;
    let answers = run(vec![
        open(NOW),
        PageCommand::Look { now_ms: late },
        PageCommand::SignedIn {
            person: "key:alice".into(),
            secret: "t1".into(),
            now_ms: late,
        },
        open(late),
    ]);
    assert_eq!(answers[1], PageAnswer::Unknown);
    assert_eq!(answers[2], PageAnswer::Unknown);
    assert_eq!(answers[3], PageAnswer::Pending);
}

#[test]
fn the_identity_providers_return_is_checked_against_its_state_once() {
    let sign_in = ProviderSignIn {
        state: "approval.x.s1".into(),
        verifier: "v".into(),
        nonce: "n".into(),
    };
    let finish = |state: &str| PageCommand::FinishProvider {
        state: state.into(),
        now_ms: NOW + 5,
    };
    let answers = run(vec![
        open(NOW),
        PageCommand::BeginProvider {
            sign_in: sign_in.clone(),
            now_ms: NOW + 1,
        },
        finish("approval.x.other"),
        finish("approval.x.s1"),
        finish("approval.x.s1"),
    ]);
    assert_eq!(answers[1], PageAnswer::Pending);
    assert_eq!(answers[2], PageAnswer::Unknown);
    assert_eq!(answers[3], PageAnswer::Provider { sign_in });
    assert_eq!(answers[4], PageAnswer::Unknown, "a return is taken once");
}

#[test]
fn an_object_name_is_a_hash_that_tells_calls_apart() {
    let name = object_name("key:alice", "github.delete_issue", "ab");
    assert!(is_object_name(&name));
    assert_ne!(name, object_name("key:bob", "github.delete_issue", "ab"));
    assert_ne!(name, object_name("key:alice", "github.delete_issue", "ac"));
    assert!(!is_object_name("../admin"));
    assert!(!is_object_name(&name.to_uppercase()));
}
