#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};

use futures::executor::block_on;
use futures::task::noop_waker;

use super::*;
use crate::config::Accounts;
use crate::sandbox::program::BoundTool;

fn manifest() -> Manifest {
    let functions = |pairs: &[(&str, &str)]| -> BTreeMap<String, BoundTool> {
        let bound = |name: &str| BoundTool {
            name: name.to_owned(),
            needs_approval: name.starts_with("delete"),
        };
        pairs
            .iter()
            .map(|(f, t)| ((*f).to_owned(), bound(t)))
            .collect()
    };
    Manifest(BTreeMap::from([
        (
            "everything".to_owned(),
            functions(&[("get_sum", "get-sum"), ("echo", "echo")]),
        ),
        ("memory".to_owned(), functions(&[("read", "read_graph")])),
    ]))
}

/// A gate whose calls that need approval find no one to ask.
fn gate(limits: ExecutionLimits) -> CallGate {
    CallGate::new(manifest(), limits, None, Accounts::default()).0
}

fn error_kind(reply: &BridgeReply) -> ToolErrorKind {
    match reply {
        BridgeReply::Error { kind, .. } => *kind,
        BridgeReply::Ok { .. } => panic!("expected an error reply"),
    }
}

#[test]
fn a_call_is_resolved_to_the_upstream_tool_through_the_manifest() {
    let gate = gate(ExecutionLimits::default());
    let (permit, call) =
        block_on(gate.admit("everything", "get_sum", r#"{"a":1}"#, || 10)).unwrap();
    assert_eq!(call.upstream, "everything");
    assert_eq!(call.tool, "get-sum");
    assert_eq!(call.arguments["a"], 1);
    permit.finish(None, 42, 25);
    let record = gate.record();
    assert_eq!(record.calls_total, 1);
    assert_eq!(record.call_result_chars, 42);
    assert_eq!(
        record.calls,
        [CallTrace {
            tool: "everything.get_sum".into(),
            ms: 15,
            ok: true,
            error: None,
            approval: None,
            replayed: false,
        }]
    );
}

#[test]
fn a_function_or_namespace_the_execution_was_not_given_is_refused_and_traced() {
    let gate = gate(ExecutionLimits::default());
    for (namespace, function) in [
        ("everything", "get-sum"),
        ("admin", "get_sum"),
        ("everything", "__proto__"),
        ("memory", "constructor"),
    ] {
        let refusal = block_on(gate.admit(namespace, function, "{}", || 0))
            .err()
            .unwrap();
        assert_eq!(error_kind(&refusal), ToolErrorKind::NotPermitted);
    }
    let record = gate.record();
    assert_eq!(record.calls_total, 4);
    assert!(record.calls.iter().all(|c| !c.ok));
    assert!(record.limits_hit.is_empty());
}

#[test]
fn calls_past_max_tool_calls_are_refused_and_the_limit_is_recorded() {
    let gate = gate(ExecutionLimits {
        max_tool_calls: 2,
        ..ExecutionLimits::default()
    });
    for _ in 0..2 {
        let (permit, _) = block_on(gate.admit("everything", "echo", "{}", || 0)).unwrap();
        permit.finish(None, 1, 0);
    }
    for _ in 0..5 {
        let refusal = block_on(gate.admit("everything", "echo", "{}", || 0))
            .err()
            .unwrap();
        assert_eq!(error_kind(&refusal), ToolErrorKind::LimitExceeded);
    }
    let record = gate.record();
    assert_eq!(record.calls_total, 7);
    assert_eq!(record.calls.len(), 2, "the first maxToolCalls are kept");
    assert_eq!(record.limits_hit, BTreeSet::from([Limit::MaxToolCalls]));
}

#[test]
fn refused_calls_count_toward_max_tool_calls() {
    let gate = gate(ExecutionLimits {
        max_tool_calls: 1,
        ..ExecutionLimits::default()
    });
    assert!(block_on(gate.admit("admin", "x", "{}", || 0)).is_err());
    let refusal = block_on(gate.admit("everything", "echo", "{}", || 0))
        .err()
        .unwrap();
    assert_eq!(error_kind(&refusal), ToolErrorKind::LimitExceeded);
}

#[test]
fn oversized_or_non_object_arguments_are_refused() {
    let gate = gate(ExecutionLimits {
        max_argument_bytes: 64,
        ..ExecutionLimits::default()
    });
    let large = format!(r#"{{"text":"{}"}}"#, "x".repeat(64));
    let refusal = block_on(gate.admit("everything", "echo", &large, || 0))
        .err()
        .unwrap();
    let BridgeReply::Error { kind, message } = refusal else {
        panic!("accepted");
    };
    assert_eq!(kind, ToolErrorKind::LimitExceeded);
    assert_eq!(
        message,
        "the arguments are 75 bytes of JSON; the limit is 64 bytes (maxArgumentBytes)"
    );
    for bad in ["[1]", "\"text\"", "{", "7"] {
        let refusal = block_on(gate.admit("everything", "echo", bad, || 0))
            .err()
            .unwrap();
        assert_eq!(
            error_kind(&refusal),
            ToolErrorKind::InvalidArguments,
            "{bad}"
        );
    }
    let (_, call) = block_on(gate.admit("everything", "echo", "null", || 0)).unwrap();
    assert!(call.arguments.is_empty(), "null means no arguments");
    assert_eq!(
        gate.record().limits_hit,
        BTreeSet::from([Limit::MaxArgumentBytes])
    );
}

#[test]
fn calls_past_max_concurrent_tool_calls_wait_for_a_slot_in_order() {
    let gate = gate(ExecutionLimits {
        max_concurrent_tool_calls: 2,
        ..ExecutionLimits::default()
    });
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let (first, _) = block_on(gate.admit("everything", "echo", "{}", || 0)).unwrap();
    let (second, _) = block_on(gate.admit("everything", "echo", "{}", || 0)).unwrap();
    let mut third = pin!(gate.admit("everything", "echo", r#"{"n":3}"#, || 0));
    let mut fourth = pin!(gate.admit("everything", "echo", r#"{"n":4}"#, || 0));
    assert!(third.as_mut().poll(&mut cx).is_pending());
    assert!(fourth.as_mut().poll(&mut cx).is_pending());
    first.finish(None, 0, 1);
    let Poll::Ready(Ok((third_permit, third_call))) = third.as_mut().poll(&mut cx) else {
        panic!("the first waiter did not get the freed slot");
    };
    assert_eq!(third_call.arguments["n"], 3);
    assert!(fourth.as_mut().poll(&mut cx).is_pending(), "two in flight");
    drop(second);
    assert!(matches!(fourth.as_mut().poll(&mut cx), Poll::Ready(Ok(_))));
    drop(third_permit);
}

#[test]
fn a_waiter_that_gives_up_does_not_keep_a_slot() {
    let gate = gate(ExecutionLimits {
        max_concurrent_tool_calls: 1,
        ..ExecutionLimits::default()
    });
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let (first, _) = block_on(gate.admit("everything", "echo", "{}", || 0)).unwrap();
    {
        let mut abandoned = pin!(gate.admit("everything", "echo", "{}", || 0));
        assert!(abandoned.as_mut().poll(&mut cx).is_pending());
    }
    drop(first);
    assert!(block_on(gate.admit("everything", "echo", "{}", || 0)).is_ok());
}

#[test]
fn closing_refuses_later_and_waiting_calls_and_names_the_upstreams_in_flight() {
    let gate = gate(ExecutionLimits {
        max_concurrent_tool_calls: 1,
        ..ExecutionLimits::default()
    });
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let (in_flight, _) = block_on(gate.admit("memory", "read", "{}", || 0)).unwrap();
    let mut waiting = pin!(gate.admit("everything", "echo", "{}", || 0));
    assert!(waiting.as_mut().poll(&mut cx).is_pending());
    assert_eq!(gate.close("timed out"), ["memory"]);
    let Poll::Ready(Err(refusal)) = waiting.as_mut().poll(&mut cx) else {
        panic!("a waiting call went on after the gate closed");
    };
    assert_eq!(error_kind(&refusal), ToolErrorKind::Cancelled);
    let calls_before = gate.record().calls_total;
    let late = block_on(gate.admit("everything", "echo", "{}", || 0))
        .err()
        .unwrap();
    let BridgeReply::Error { kind, message } = late else {
        panic!("accepted");
    };
    assert_eq!(kind, ToolErrorKind::Cancelled);
    assert_eq!(message, "the execution is over (timed out)");
    assert_eq!(gate.record().calls_total, calls_before, "not recorded");
    drop(in_flight);
    assert!(gate.close("again").is_empty());
}

#[test]
fn a_failed_call_is_traced_with_its_class_and_adds_no_result_chars() {
    let gate = gate(ExecutionLimits::default());
    let (permit, _) = block_on(gate.admit("everything", "echo", "{}", || 0)).unwrap();
    permit.finish(Some(ToolErrorKind::UpstreamTimeout), 100, 7);
    let record = gate.record();
    assert_eq!(record.call_result_chars, 0);
    assert_eq!(record.calls[0].error, Some(ToolErrorKind::UpstreamTimeout));
    assert_eq!(record.calls[0].ms, 7);
}

/// A reply held as its error class and JSON.
#[derive(Debug, PartialEq)]
struct Held(Option<ToolErrorKind>, String);

impl HeldReply for Held {
    fn of(reply: &BridgeReply) -> Self {
        Held(reply.error_kind(), reply.to_wire())
    }

    fn error(&self) -> Option<ToolErrorKind> {
        self.0
    }

    fn chars(&self) -> usize {
        self.1.chars().count()
    }

    fn wire(&self) -> String {
        self.1.clone()
    }
}

/// A value's reply of 12 characters.
fn twelve() -> Held {
    Held(None, "\"0123456789\"".into())
}

#[test]
fn a_passed_call_is_forwarded_and_recorded_and_a_refused_one_is_not_forwarded() {
    let gate = gate(ExecutionLimits::default());
    let clock = std::cell::Cell::new(100);
    let tick = || {
        clock.set(clock.get() + 5);
        clock.get()
    };
    let forward = |call: ToolCall| async move {
        let (upstream, command) = call.into_command("exec-1");
        assert_eq!(upstream, "everything");
        let UpstreamCommand::CallTool {
            name, execution, ..
        } = command
        else {
            panic!("{command:?}");
        };
        assert_eq!(
            (name.as_str(), execution.as_deref()),
            ("echo", Some("exec-1"))
        );
        twelve()
    };
    let call = ("everything", "echo", "{}");
    let (reply, summary) = block_on(gate.pass(call, tick, forward));
    assert_eq!(reply, twelve());
    assert_eq!(summary, "everything.echo answered in 5 ms");
    assert_eq!(gate.record().call_result_chars, 12);
    let unknown = ("everything", "delete_all", "{}");
    let never = |_: ToolCall| async { panic!("a refused call is not forwarded") };
    let (reply, summary): (Held, _) = block_on(gate.pass(unknown, tick, never));
    assert_eq!(reply.0, Some(ToolErrorKind::NotPermitted));
    assert_eq!(summary, "everything.delete_all was refused");
    assert_eq!(gate.record().calls_total, 2);
}

#[test]
fn every_call_carries_the_person_the_execution_runs_for() {
    let alice = Person::access_key("alice");
    let (gate, _asks) = CallGate::new(
        manifest(),
        ExecutionLimits::default(),
        Some(alice.clone()),
        Accounts::default(),
    );
    let (permit, call) = block_on(gate.admit("everything", "echo", "{}", || 0)).unwrap();
    permit.finish(None, 1, 1);
    let (_, command) = call.into_command("exec-1");
    let UpstreamCommand::CallTool { person, .. } = command else {
        panic!("{command:?}");
    };
    assert_eq!(person, Some(alice));
}

#[test]
fn a_call_refused_for_its_arguments_comes_back_with_the_declared_arguments() {
    let gate = gate(ExecutionLimits::default());
    gate.explain_with(Box::new(|namespace, function| {
        ((namespace, function) == ("everything", "get_sum"))
            .then(|| "`{ a: number; b: number; }`".to_owned())
    }));
    let invalid = |_: ToolCall| async {
        Held::of(&BridgeReply::Error {
            kind: ToolErrorKind::InvalidArguments,
            message:
                "the arguments do not match the tool's input schema: /a: \"x\" is not a number"
                    .into(),
        })
    };
    let (reply, _) = block_on(gate.pass(("everything", "get_sum", r#"{"a":"x"}"#), || 0, invalid));
    let BridgeReply::Error { message, .. } = BridgeReply::from_wire(&reply.wire()).unwrap() else {
        panic!("an error");
    };
    assert_eq!(
        message,
        "the arguments do not match the tool's input schema: /a: \"x\" is not a number; \
         `everything.get_sum` takes `{ a: number; b: number; }`"
    );
    let other = |_: ToolCall| async {
        Held::of(&BridgeReply::Error {
            kind: ToolErrorKind::UpstreamToolError,
            message: "no".into(),
        })
    };
    let (reply, _) = block_on(gate.pass(("everything", "get_sum", "{}"), || 0, other));
    assert!(
        reply.wire().contains("\"no\""),
        "other errors are left as they are"
    );
}
