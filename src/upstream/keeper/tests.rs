//! The keeper against a scripted upstream and an in-memory store: the tool list's cache and
//! storage, the checks a call passes before it leaves, redaction, and cancellation.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::rc::Rc;

use futures::executor::block_on;
use futures::future::{join, ready, Ready};
use rmcp::model::Tool;
use serde_json::{json, Value};

use super::testing::{
    ask, call, configured, keeper, listing, names, sent, target, tool, MemoryStore, SECRET,
};
use super::*;
use crate::config::AccessPolicy;
use crate::protocol::approval::{Approval, ApprovalWay};
use crate::protocol::person::Person;
use crate::upstream::session::fake::{result, FakeHttp, Reply};

#[test]
fn the_first_listing_is_fetched_stored_and_then_served_from_the_cache() {
    let http = FakeHttp::answering([listing(&[tool("echo", "Echo.")])]);
    let store = MemoryStore::default();
    let keeper = keeper(&http, &store);
    let target = target(json!({}));
    assert_eq!(
        names(&ask(
            &keeper,
            &target,
            UpstreamCommand::ListTools { person: None }
        )),
        ["echo"]
    );
    assert_eq!(
        names(&ask(
            &keeper,
            &target,
            UpstreamCommand::ListTools { person: None }
        )),
        ["echo"]
    );
    assert_eq!(sent(&http, "tools/list"), 1);
    assert_eq!(store.0.borrow().as_ref().unwrap().tools.len(), 1);
}

#[test]
fn a_stored_list_serves_a_restarted_object_redacted_again() {
    let store = MemoryStore::default();
    *store.0.borrow_mut() = Some(CachedTools {
        tools: vec![tool("echo", &format!("Uses {SECRET}."))],
        fetched_at_ms: 1_000,
        left_out: 0,
    });
    let http = Rc::new(FakeHttp::default());
    let keeper = keeper(&http, &store);
    let answer = ask(
        &keeper,
        &target(json!({})),
        UpstreamCommand::ListTools { person: None },
    );
    let UpstreamAnswer::Tools { tools, .. } = answer else {
        panic!("{answer:?}");
    };
    assert_eq!(tools[0].description.as_deref(), Some("Uses [redacted]."));
    assert_eq!(sent(&http, "tools/list"), 0, "the stored list was fresh");
}

#[test]
fn the_operators_filter_hides_tools_and_refuses_their_calls_before_the_upstream() {
    let http = FakeHttp::answering([listing(&[tool("echo", ""), tool("delete", "")])]);
    let keeper = keeper(&http, &MemoryStore::default());
    let target = target(json!({"tools": {"deny": ["delete"]}}));
    assert_eq!(
        names(&ask(
            &keeper,
            &target,
            UpstreamCommand::ListTools { person: None }
        )),
        ["echo"]
    );
    let refused = ask(&keeper, &target, call("delete", json!({"text": "x"}), None));
    assert!(
        matches!(refused, UpstreamAnswer::NotPermitted { .. }),
        "{refused:?}"
    );
    assert_eq!(sent(&http, "tools/call"), 0);
}

#[test]
fn arguments_that_break_the_schema_are_refused_before_the_upstream() {
    let http = FakeHttp::answering([listing(&[tool("echo", "")])]);
    let keeper = keeper(&http, &MemoryStore::default());
    let answer = ask(
        &keeper,
        &target(json!({})),
        call("echo", json!({"text": 1}), None),
    );
    let UpstreamAnswer::InvalidArguments { detail } = answer else {
        panic!("{answer:?}");
    };
    assert!(detail.contains("text"), "{detail}");
    assert_eq!(sent(&http, "tools/call"), 0);
}

#[test]
fn a_result_that_echoes_a_secret_is_redacted() {
    let http = FakeHttp::answering([
        listing(&[tool("echo", "")]),
        result(
            json!({"content": [{"type": "text", "text": format!("header was Bearer {SECRET}")}]}),
        ),
    ]);
    let keeper = keeper(&http, &MemoryStore::default());
    let answer = ask(
        &keeper,
        &target(json!({})),
        call("echo", json!({"text": "x"}), None),
    );
    let UpstreamAnswer::ToolResult { result } = answer else {
        panic!("{answer:?}");
    };
    let text = &result.content[0].as_text().unwrap().text;
    assert_eq!(text, "header was Bearer [redacted]");
}

#[test]
fn cancelling_an_execution_stops_its_call_in_flight() {
    let http = FakeHttp::answering([listing(&[tool("echo", "")]), Reply::Never]);
    let keeper = keeper(&http, &MemoryStore::default());
    let target = target(json!({}));
    let cancel = UpstreamCommand::Cancel {
        execution: "e1".into(),
        reason: "the program timed out".into(),
    };
    let (called, cancelled) = block_on(join(
        keeper.answer(&target, call("echo", json!({"text": "x"}), Some("e1"))),
        keeper.answer(&target, cancel),
    ));
    assert_eq!(cancelled, UpstreamAnswer::Cancelled { calls: 1 });
    let UpstreamAnswer::Failed {
        error: UpstreamError::Cancelled { reason },
    } = called
    else {
        panic!("{called:?}");
    };
    assert_eq!(reason, "the program timed out");
}

#[test]
fn an_upstream_that_fails_its_first_listing_is_reported_and_not_waited_for_again() {
    let http = Rc::new(FakeHttp {
        timers_under_ms: 1,
        ..FakeHttp::default()
    });
    http.replies.borrow_mut().extend([
        Reply::With(503, vec![], "down for maintenance".into()),
        Reply::Never,
    ]);
    let keeper = keeper(&http, &MemoryStore::default());
    let target = target(json!({}));
    let first = ask(
        &keeper,
        &target,
        UpstreamCommand::ListTools { person: None },
    );
    assert!(matches!(first, UpstreamAnswer::Failed { .. }), "{first:?}");
    let second = ask(
        &keeper,
        &target,
        UpstreamCommand::ListTools { person: None },
    );
    let UpstreamAnswer::Pending {
        waited_ms,
        last_error,
    } = second
    else {
        panic!("{second:?}");
    };
    assert_eq!(waited_ms, 0);
    assert!(last_error.unwrap().to_string().contains("503"));
}

#[test]
fn the_upstream_is_configured_at_first_use_and_kept_but_a_failure_is_not() {
    let keeper = keeper(&Rc::new(FakeHttp::default()), &MemoryStore::default());
    let cancel = || UpstreamCommand::Cancel {
        execution: "exec-1".into(),
        reason: "stopped".into(),
    };
    let misconfigured = || {
        ready(Err(UpstreamError::Misconfigured {
            detail: "no upstream is named `fake`".into(),
        }))
    };
    let failed = block_on(keeper.answer_configured(misconfigured, cancel()));
    assert!(
        matches!(failed, UpstreamAnswer::Failed { .. }),
        "{failed:?}"
    );
    let stopped = UpstreamAnswer::Cancelled { calls: 0 };
    let first = block_on(keeper.answer_configured(|| ready(Ok(configured(json!({})))), cancel()));
    assert_eq!(first, stopped);
    let kept =
        block_on(keeper.answer_configured(|| -> Ready<_> { panic!("configured again") }, cancel()));
    assert_eq!(kept, stopped);
}

#[test]
fn the_object_refuses_a_call_the_persons_grant_does_not_allow() {
    let mut configured = configured(json!({}));
    configured.access = AccessPolicy::from_json(
        Some(r#"{"people": {"key:alice": {"fake": {"allow": ["echo"]}}}}"#),
        &["fake".to_owned()],
    )
    .unwrap();
    let target = Rc::new(configured);
    let http = FakeHttp::answering([listing(&[tool("echo", "Echo."), tool("delete", "Delete.")])]);
    let keeper = keeper(&http, &MemoryStore::default());
    let as_person = |person: &str, tool: &str| UpstreamCommand::CallTool {
        name: tool.into(),
        arguments: json!({"text": "hi"}).as_object().cloned(),
        execution: None,
        person: Some(Person::access_key(person)),
        approval: None,
    };
    for (person, tool) in [("alice", "delete"), ("mallory", "echo")] {
        let answer = ask(&keeper, &target, as_person(person, tool));
        assert!(
            matches!(&answer, UpstreamAnswer::NotPermitted { detail } if detail.contains("ACCESS")),
            "{person} {tool}: {answer:?}"
        );
    }
    assert_eq!(sent(&http, "tools/call"), 0, "nothing reached the upstream");
}

#[test]
fn a_forgotten_upstream_is_configured_again_with_a_new_session_and_its_list_fetched_anew() {
    let http = FakeHttp::answering([listing(&[tool("echo", "Echo.")])]);
    http.replies
        .borrow_mut()
        .push_back(listing(&[tool("echo", "Echo."), tool("add", "Add.")]));
    let keeper = keeper(&http, &MemoryStore::default());
    let list = |configured_again: &Cell<u32>| {
        block_on(keeper.answer_configured(
            || {
                configured_again.set(configured_again.get() + 1);
                ready(Ok(configured(json!({}))))
            },
            UpstreamCommand::ListTools { person: None },
        ))
    };
    let configurations = Cell::new(0);
    assert_eq!(names(&list(&configurations)), ["echo"]);
    let forgotten = block_on(keeper.answer_configured(
        || -> Ready<_> { panic!("not read") },
        UpstreamCommand::Forget,
    ));
    assert_eq!(forgotten, UpstreamAnswer::Forgotten);
    assert_eq!(names(&list(&configurations)), ["echo", "add"]);
    assert_eq!(configurations.get(), 2, "the configuration was read again");
    assert_eq!(sent(&http, "tools/list"), 2);
    assert_eq!(http.sessions_opened.get(), 2, "the session was dropped too");
}

#[test]
fn a_tool_with_invalid_header_markings_is_left_out_and_a_marked_argument_goes_as_a_header() {
    let marked = |name: &str, header: Value| -> Tool {
        serde_json::from_value(json!({"name": name, "inputSchema": {"type": "object",
            "properties": {"region": {"type": "string", "x-mcp-header": header}}}}))
        .unwrap()
    };
    let http = FakeHttp::answering([
        listing(&[
            marked("routed", json!("Region")),
            marked("broken", json!("My Region")),
        ]),
        result(json!({"content": []})),
    ]);
    let keeper = keeper(&http, &MemoryStore::default());
    let target = target(json!({}));
    assert_eq!(
        names(&ask(
            &keeper,
            &target,
            UpstreamCommand::ListTools { person: None }
        )),
        ["routed"]
    );
    let called = ask(
        &keeper,
        &target,
        call("routed", json!({"region": "eu"}), None),
    );
    assert!(
        matches!(called, UpstreamAnswer::ToolResult { .. }),
        "{called:?}"
    );
    let received = http.received.borrow();
    let sent = received
        .iter()
        .find(|r| r.method() == "tools/call")
        .unwrap();
    assert_eq!(sent.header("Mcp-Param-Region"), Some("eu"));
}

#[test]
fn a_removed_upstream_refuses_a_call_from_a_runner_that_still_lists_it() {
    let http = FakeHttp::answering([listing(&[tool("echo", "Echo.")])]);
    let keeper = keeper(&http, &MemoryStore::default());
    let listed = block_on(keeper.answer_configured(
        || ready(Ok(configured(json!({})))),
        UpstreamCommand::ListTools { person: None },
    ));
    assert_eq!(names(&listed), ["echo"]);
    block_on(keeper.answer_configured(
        || -> Ready<_> { panic!("not read") },
        UpstreamCommand::Forget,
    ));
    // A runner isolate whose policy is up to 10 s old still sends the call; the registry the
    // object reads no longer has the upstream.
    let removed = || {
        ready(Err(UpstreamError::Misconfigured {
            detail: "no upstream is named `everything`".into(),
        }))
    };
    let answer = block_on(keeper.answer_configured(removed, call("echo", json!({}), None)));
    assert!(
        matches!(
            answer,
            UpstreamAnswer::Failed {
                error: UpstreamError::Misconfigured { .. }
            }
        ),
        "{answer:?}"
    );
    assert_eq!(sent(&http, "tools/call"), 0, "nothing reached the upstream");
}

#[test]
fn an_upstream_changed_elsewhere_is_read_again_after_a_minute_with_a_new_session() {
    let http = FakeHttp::answering([
        listing(&[tool("echo", "Echo.")]),
        listing(&[tool("echo", "Echo.")]),
    ]);
    let keeper = keeper(&http, &MemoryStore::default());
    let reads = Cell::new(0);
    let list = |timeout_ms: u32| {
        block_on(keeper.answer_configured(
            || {
                reads.set(reads.get() + 1);
                ready(Ok(configured(json!({"timeoutMs": timeout_ms}))))
            },
            UpstreamCommand::ListTools { person: None },
        ))
    };
    assert_eq!(names(&list(1_000)), ["echo"]);
    http.elapsed_ms.set(CONFIGURATION_TTL_MS - 1);
    list(2_000);
    assert_eq!(reads.get(), 1, "fresh: not read again");
    http.elapsed_ms.set(CONFIGURATION_TTL_MS);
    assert_eq!(names(&list(2_000)), ["echo"]);
    assert_eq!(reads.get(), 2, "read again after a minute");
    assert_eq!(
        http.sessions_opened.get(),
        2,
        "the changed upstream got a new session"
    );
}

#[test]
fn the_object_refuses_a_call_that_needs_approval_and_carries_none() {
    let http = Rc::new(FakeHttp::default());
    let replies = [
        listing(&[tool("echo", "Echo.")]),
        result(json!({"content": []})),
    ];
    http.replies.borrow_mut().extend(replies);
    let target = target(json!({"tools": {"approve": ["echo"]}}));
    let keeper = keeper(&http, &MemoryStore::default());
    let unapproved = ask(&keeper, &target, call("echo", json!({"text": "hi"}), None));
    assert!(
        matches!(&unapproved, UpstreamAnswer::NotPermitted { detail } if detail.contains("approval")),
        "{unapproved:?}"
    );
    assert_eq!(sent(&http, "tools/call"), 0);
    let approval = Approval {
        way: ApprovalWay::Elicitation,
        by: None,
        at_ms: 1,
    };
    let approved = UpstreamCommand::CallTool {
        name: "echo".into(),
        arguments: json!({"text": "hi"}).as_object().cloned(),
        execution: None,
        person: None,
        approval: Some(approval),
    };
    let answered = ask(&keeper, &target, approved);
    assert!(
        matches!(answered, UpstreamAnswer::ToolResult { .. }),
        "{answered:?}"
    );
}
