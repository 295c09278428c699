//! The runner against in-memory services: who a session belongs to, what a session may use,
//! how bad tool input is answered, what the ledger is told, and how a failing upstream object
//! reads to the operator.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use futures::executor::block_on;
use rmcp::model::{
    CallToolResponse, CallToolResult, ClientCapabilities, ProtocolVersion, RequestId,
};
use serde_json::json;

use super::testing::*;
use super::*;
use crate::admin::{AdminBackend, ChangeError};
use crate::audit::LedgerCommand;
use crate::mcp::ServerBackend;
use crate::protocol::log_level::LogLevel;
use crate::session::recent::RECENT_SESSIONS_MS;
use crate::session::request_key;

#[test]
fn a_session_opened_by_one_person_is_no_session_to_another() {
    let services = FakeServices::default();
    let alice = runner(&services, Some("alice"), None);
    let id = open(&alice).unwrap();
    assert!(block_on(alice.session_exists(&id)).unwrap());
    let mallory = runner(&services, Some("mallory"), None);
    assert!(!block_on(mallory.session_exists(&id)).unwrap());
    let executed = block_on(mallory.call_tool(
        Caller::Session(&id),
        call("execute", json!({"code": "return 1"})),
        &context(),
    ));
    assert!(
        executed.is_err(),
        "another person's session cannot run code"
    );
    assert!(services.executed().is_empty());
}

#[test]
fn a_session_keeps_the_scope_it_was_opened_with() {
    let services = FakeServices::default();
    let opened = runner(&services, None, Some("memory"));
    let id = open(&opened).unwrap();
    // A later request's URL cannot widen what the session may use.
    let later = runner(&services, None, None);
    let code = call("execute", json!({"code": "return 1"}));
    block_on(later.call_tool(Caller::Session(&id), code, &context())).unwrap();
    assert_eq!(services.executed(), [["memory"]]);
}

#[test]
fn an_unknown_scope_is_the_clients_mistake() {
    let services = FakeServices::default();
    let runner = runner(&services, None, Some("nowhere"));
    let refused = open(&runner).unwrap_err();
    assert!(
        matches!(refused, BackendError::InvalidParams(_)),
        "{refused:?}"
    );
}

#[test]
fn bad_tool_input_is_a_tool_error_naming_the_tool_and_an_unknown_tool_a_protocol_error() {
    let services = FakeServices::default();
    let runner = runner(&services, None, None);
    let bad = block_on(runner.call_tool(Caller::Stateless, call("execute", json!({})), &context()));
    let bad = complete(bad.unwrap().unwrap());
    assert_eq!(bad.is_error, Some(true));
    let text = &bad.content[0].as_text().unwrap().text;
    assert!(text.contains("execute") && text.contains("code"), "{text}");
    let unknown =
        block_on(runner.call_tool(Caller::Stateless, call("delete", json!({})), &context()));
    assert!(matches!(unknown, Err(BackendError::UnknownTool(_))));
}

#[test]
fn listing_tools_tells_the_ledger_what_the_listing_saved() {
    let services = FakeServices::default();
    let runner = runner(&services, None, None);
    let tools = block_on(runner.list_tools(Caller::Stateless)).unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert_eq!(names, ["search", "execute"]);
    assert!(matches!(
        services.told.borrow().as_slice(),
        [LedgerCommand::Listed { upstream_chars, served_chars }] if *upstream_chars > 0 && *served_chars > 0
    ));
}

#[test]
fn an_upstream_whose_object_fails_reads_as_unreachable_to_the_operator() {
    let services = FakeServices::default();
    let runner = runner(&services, None, None);
    let statuses = block_on(runner.statuses());
    assert_eq!(statuses.len(), 2);
    let status = serde_json::to_value(&statuses[0]).unwrap();
    assert!(
        status
            .to_string()
            .contains("the object of everything is gone"),
        "{status}"
    );
    assert!(block_on(runner.refresh("nowhere")).is_none());
    let failed = block_on(runner.metrics()).unwrap_err();
    assert!(failed.contains("the ledger failed"), "{failed}");
}

#[test]
fn a_log_level_change_is_read_back_within_the_request() {
    let services = FakeServices::default();
    let runner = runner(&services, None, None);
    let id = open(&runner).unwrap();
    assert!(block_on(runner.session_exists(&id)).unwrap());
    block_on(runner.set_log_level(&id, LogLevel::Debug)).unwrap();
    let record = block_on(runner.record(&id)).unwrap().unwrap();
    assert_eq!(record.log_level, Some(LogLevel::Debug));
}

fn search_text(runner: &Runner<&FakeServices>) -> String {
    let found = block_on(runner.call_tool(
        Caller::Stateless,
        call("search", json!({"query": "echo"})),
        &context(),
    ))
    .unwrap()
    .unwrap();
    complete(found).content[0].as_text().unwrap().text.clone()
}

/// The result of a tool call that completed.
fn complete(answer: CallToolResponse) -> CallToolResult {
    match answer {
        CallToolResponse::Complete(result) => result,
        other => panic!("not complete: {other:?}"),
    }
}

#[test]
fn a_search_query_past_its_length_is_refused_saying_why_and_nothing_is_searched() {
    let services = FakeServices::default();
    let runner = runner(&services, None, None);
    let words: Vec<String> = (0..200_000).map(|n| format!("w{n}")).collect();
    let query = words.join(" ");
    let refused = block_on(runner.call_tool(
        Caller::Stateless,
        call("search", json!({ "query": query })),
        &context(),
    ))
    .unwrap()
    .unwrap();
    let refused = complete(refused);
    assert_eq!(refused.is_error, Some(true));
    let text = &refused.content[0].as_text().unwrap().text;
    assert!(
        text.contains(&format!(
            "`query` is {} characters, over the 1000",
            query.len()
        )),
        "{text}"
    );
    assert!(text.len() < 400, "the query does not come back: {text}");
    assert!(
        search_text(&runner).contains("echo"),
        "a short query is searched"
    );
}

#[test]
fn two_people_with_different_grants_find_different_namespaces() {
    let services = FakeServices::default();
    let alice = search_text(&governed(&services, Some(SPLIT), Some("alice"), None));
    let bob = search_text(&governed(&services, Some(SPLIT), Some("bob"), None));
    assert!(
        alice.contains("everything") && !alice.contains("memory"),
        "{alice}"
    );
    assert!(
        bob.contains("memory") && !bob.contains("everything"),
        "{bob}"
    );
}

#[test]
fn an_execution_may_use_only_what_the_person_is_granted() {
    let services = FakeServices::default();
    let alice = governed(&services, Some(SPLIT), Some("alice"), None);
    let code = call("execute", json!({"code": "return 1"}));
    block_on(alice.call_tool(Caller::Stateless, code, &context())).unwrap();
    assert_eq!(services.executed(), [["everything"]]);
}

#[test]
fn the_url_may_narrow_a_grant_but_never_widen_it() {
    let services = FakeServices::default();
    let widened = governed(
        &services,
        Some(SPLIT),
        Some("alice"),
        Some("everything,memory"),
    );
    let refused = open(&widened).unwrap_err();
    let BackendError::InvalidParams(message) = refused else {
        panic!("{refused:?}")
    };
    assert!(
        message.contains("`memory`") && message.contains("`alice`"),
        "{message}"
    );
    let narrowed = governed(&services, Some(SPLIT), Some("alice"), Some("everything"));
    assert!(open(&narrowed).is_ok());
}

#[test]
fn a_policy_change_reaches_a_session_already_open() {
    let services = FakeServices::default();
    let opened = governed(&services, None, Some("alice"), None);
    let id = open(&opened).unwrap();
    let now = governed(&services, Some(SPLIT), Some("alice"), None);
    let code = call("execute", json!({"code": "return 1"}));
    block_on(now.call_tool(Caller::Session(&id), code, &context())).unwrap();
    assert_eq!(services.executed(), [["everything"]]);
}

#[test]
fn a_person_with_no_grant_is_refused_with_403_saying_so() {
    let services = FakeServices::default();
    let refusal = governed(&services, Some(SPLIT), Some("carol"), None)
        .refusal()
        .expect("carol has no grant");
    assert_eq!(refusal.status, 403);
    let text = String::from_utf8_lossy(refusal.bytes()).into_owned();
    assert!(
        text.contains("`carol`") && text.contains("ACCESS"),
        "{text}"
    );
    assert!(governed(&services, Some(SPLIT), Some("alice"), None)
        .refusal()
        .is_none());
    assert!(runner(&services, None, None).refusal().is_none());
}

/// A grant of the OAuth layer to `client` for `person`, as the runner files it.
fn oauth_grant(id: &str, client: &str, person: &Person) -> OAuthGrant {
    OAuthGrant {
        id: id.into(),
        client_id: client.into(),
        scope: vec!["mcp".into()],
        created_at: Some(1),
        expires_at: None,
        metadata: json!({ "person": person }),
    }
}

#[test]
fn the_operator_sees_a_persons_grant_clients_and_open_sessions() {
    let services = FakeServices::default();
    let carol = Person::signed_in("c-1", Some("carol@example.com".into()), vec!["eng".into()]);
    let user = crate::signin::grant_user_id(&carol.id);
    services
        .oauth_grants
        .borrow_mut()
        .push((user, oauth_grant("g-1", "claude", &carol)));
    let access = r#"{"groups": {"eng": {"memory": {}}}}"#;
    let signed_in = Runner::new(
        &services,
        RunnerConfig::from_json(CONFIG).unwrap(),
        &AccessPolicy::from_json(Some(access), &["everything".into(), "memory".into()]).unwrap(),
        ExecutionLimits::default(),
        Some(carol.clone()),
        None,
    );
    let session = open(&signed_in).unwrap();
    let operator = governed(&services, Some(access), None, None);
    let view = block_on(operator.person("oidc:c-1")).unwrap();
    assert_eq!(
        view.grant,
        json!({"memory": [{}]}),
        "from the groups recorded with the grant"
    );
    assert_eq!(view.oauth_grants[0].client_id, "claude");
    assert_eq!(view.sessions, [session]);
    let shown = serde_json::to_string(&view).unwrap();
    assert!(!shown.contains("metadata"), "{shown}");
}

#[test]
fn revoking_a_person_revokes_their_grants_and_ends_their_sessions() {
    let services = FakeServices::default();
    let alice = Person::access_key("alice");
    let user = crate::signin::grant_user_id(&alice.id);
    services
        .oauth_grants
        .borrow_mut()
        .push((user, oauth_grant("g-1", "claude", &alice)));
    let opened = runner(&services, Some("alice"), None);
    let session = open(&opened).unwrap();
    let operator = runner(&services, None, None);
    let revoked = block_on(operator.revoke_person("key:alice")).unwrap();
    assert_eq!((revoked.oauth_grants, revoked.sessions), (1, 1));
    assert!(services.oauth_grants.borrow().is_empty());
    assert!(!block_on(opened.session_exists(&session)).unwrap());
    let after = block_on(operator.person("key:alice")).unwrap();
    assert!(after.sessions.is_empty() && after.oauth_grants.is_empty());
    assert_eq!(after.grant, json!("everything"));
}

#[test]
fn the_operator_adds_changes_and_removes_an_upstream_but_not_a_deployed_one() {
    let services = FakeServices::default();
    let operator = runner(&services, None, None);
    let linear = br#"{"name": "linear", "url": "https://mcp.linear.app/mcp"}"#;
    block_on(operator.put_upstream("linear", linear)).unwrap();
    let moved = br#"{"name": "linear", "url": "https://mcp2.linear.app/mcp"}"#;
    block_on(operator.put_upstream("linear", moved)).unwrap();
    assert_eq!(services.registry.borrow().len(), 1);
    assert_eq!(
        services.policy_forgotten.get(),
        2,
        "each change is read at once"
    );
    assert_eq!(
        services.registry.borrow()[0].url,
        "https://mcp2.linear.app/mcp"
    );

    let deployed = br#"{"name": "memory", "url": "https://x/mcp"}"#;
    let refused = block_on(operator.put_upstream("memory", deployed)).unwrap_err();
    assert!(matches!(refused, ChangeError::Deployed(_)), "{refused:?}");
    let mismatched = block_on(operator.put_upstream("other", linear)).unwrap_err();
    assert!(
        matches!(mismatched, ChangeError::Invalid(_)),
        "{mismatched:?}"
    );
    assert!(matches!(
        block_on(operator.remove_upstream("memory")),
        Err(ChangeError::Deployed(_))
    ));

    block_on(operator.remove_upstream("linear")).unwrap();
    assert!(services.registry.borrow().is_empty());
    assert_eq!(services.policy_forgotten.get(), 3);
    assert_eq!(
        block_on(operator.remove_upstream("linear")),
        Err(ChangeError::Unknown("linear".into()))
    );
}

#[test]
fn a_clients_answer_is_passed_to_its_session_unless_it_is_too_large() {
    let services = FakeServices::default();
    let runner = runner(&services, None, None);
    let session = open(&runner).unwrap();
    let small = json!({"jsonrpc": "2.0", "id": "ask-1", "result": {"action": "decline"}});
    block_on(runner.answered(&session, "ask-1", &small)).unwrap();
    let large = json!({"jsonrpc": "2.0", "id": "ask-2", "result": {"text": "x".repeat(2 << 20)}});
    let refused = block_on(runner.answered(&session, "ask-2", &large)).unwrap_err();
    assert!(
        matches!(refused, BackendError::InvalidParams(_)),
        "{refused:?}"
    );
    assert_eq!(*services.answered.borrow(), ["ask-1"]);
}

#[test]
fn an_isolate_serves_a_session_from_the_record_it_read_until_the_record_is_old() {
    let services = FakeServices::default();
    let id = open(&runner(&services, None, None)).unwrap();
    // Another isolate ends the session: its object no longer holds it.
    services.sessions.borrow_mut().remove(&id);
    let later = runner(&services, None, None);
    assert!(
        block_on(later.session_exists(&id)).unwrap(),
        "served from the record this isolate kept when it opened the session"
    );
    services.elapsed_ms.set(RECENT_SESSIONS_MS);
    let after = runner(&services, None, None);
    assert!(!block_on(after.session_exists(&id)).unwrap());
}

#[test]
fn a_session_ended_or_changed_through_this_isolate_is_read_again_at_once() {
    let services = FakeServices::default();
    let id = open(&runner(&services, None, None)).unwrap();
    // The record changes behind this isolate's copy...
    services
        .sessions
        .borrow_mut()
        .get_mut(&id)
        .unwrap()
        .upstreams = vec!["memory".into()];
    let execute = || {
        let code = call("execute", json!({"code": "return 1"}));
        let later = runner(&services, None, None);
        block_on(later.call_tool(Caller::Session(&id), code, &context())).unwrap();
    };
    execute();
    // ...and setting the log level through this isolate makes it read the record again.
    block_on(runner(&services, None, None).set_log_level(&id, LogLevel::Debug)).unwrap();
    execute();
    let executed = services.executed();
    assert_eq!(executed[1], ["memory"], "{executed:?}");
    assert_ne!(executed[0], ["memory"]);

    assert!(block_on(runner(&services, None, None).close_session(&id)).unwrap());
    let after = runner(&services, None, None);
    assert!(!block_on(after.session_exists(&id)).unwrap());
}

/// Opens a session on 2025-06-18 for a client that declares nothing.
fn open(runner: &Runner<&FakeServices>) -> Result<String, BackendError> {
    block_on(runner.open_session(
        &ProtocolVersion::V_2025_06_18,
        &ClientCapabilities::default(),
    ))
}

#[test]
fn a_cancellation_meets_a_request_of_this_isolate_here_and_any_other_in_its_sessions_object() {
    let services = FakeServices::default();
    let runner = runner(&services, None, None);
    let id = open(&runner).unwrap();
    let running = services
        .waiting_requests
        .wait(&id, request_key(&RequestId::Number(7)));
    block_on(runner.cancel(&id, &RequestId::Number(7), "stop")).unwrap();
    assert_eq!(block_on(running), "stop");
    assert!(services.cancels_told.borrow().is_empty());
    // A request this isolate does not run may run in another, or not have arrived yet.
    block_on(runner.cancel(&id, &RequestId::Number(8), "stop")).unwrap();
    assert_eq!(*services.cancels_told.borrow(), ["8"]);
}
