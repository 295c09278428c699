//! The runner against in-memory services: who a session belongs to, what a session may use,
//! how bad tool input is answered, what the ledger is told, and how a failing upstream object
//! reads to the operator.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::cell::RefCell;
use std::collections::HashMap;

use futures::executor::block_on;
use futures::future::{pending, ready};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientCapabilities, ProtocolVersion,
    RequestId,
};
use serde_json::{json, Value};

use super::*;
use crate::admin::{AdminBackend, ChangeError, OAuthClient, OAuthGrant};
use crate::audit::LedgerCommand;
use crate::codemode::catalog::{Catalog, UpstreamTools};
use crate::config::runtime::{self, RegistryStore};
use crate::config::UpstreamConfig;
use crate::execution::objects::Objects;
use crate::execution::{IsolateRun, SandboxError};
use crate::mcp::ServerBackend;
use crate::protocol::log_level::LogLevel;
use crate::sandbox::protocol::Outcome;

/// Sessions and the ledger in memory, and isolates whose programs return at once.
#[derive(Default)]
pub(super) struct FakeServices {
    sessions: RefCell<HashMap<String, SessionRecord>>,
    /// Every command the ledger was sent.
    told: RefCell<Vec<LedgerCommand>>,
    /// The OAuth layer's grants: (user id, grant).
    oauth_grants: RefCell<Vec<(String, OAuthGrant)>>,
    /// The OAuth layer's clients.
    oauth_clients: RefCell<Vec<OAuthClient>>,
    /// The upstreams added at runtime.
    registry: RefCell<Vec<UpstreamConfig>>,
}

impl RegistryStore for FakeServices {
    type Error = std::convert::Infallible;

    fn load(&self) -> Result<Vec<UpstreamConfig>, Self::Error> {
        Ok(self.registry.borrow().clone())
    }

    fn save(&self, upstreams: &[UpstreamConfig]) -> Result<(), Self::Error> {
        *self.registry.borrow_mut() = upstreams.to_vec();
        Ok(())
    }
}

impl FakeServices {
    /// What the object of session `id` answers to `command`.
    fn session(&self, id: &str, command: SessionCommand) -> Result<Value, String> {
        let mut sessions = self.sessions.borrow_mut();
        Ok(match command {
            SessionCommand::Open { record } => {
                sessions.insert(id.to_owned(), *record);
                json!(true)
            }
            SessionCommand::Get => json!(sessions.get(id)),
            SessionCommand::Close => json!(sessions.remove(id).is_some()),
            SessionCommand::SetLogLevel { level } => match sessions.get_mut(id) {
                Some(record) => {
                    record.log_level = Some(level);
                    json!(true)
                }
                None => json!(false),
            },
            SessionCommand::Cancel { .. } => json!(false),
            other => return Err(format!("not faked: {other:?}")),
        })
    }

    /// What the ledger answers to `command`; it keeps every one.
    fn ledger(&self, command: LedgerCommand) -> Result<Value, String> {
        let answer = match &command {
            LedgerCommand::Recent { .. } => Ok(json!([])),
            LedgerCommand::Metrics => Err("the ledger is busy".into()),
            LedgerCommand::SessionsOf { person } => {
                let told = self.told.borrow();
                let opened = told.iter().filter_map(|command| match command {
                    LedgerCommand::SessionOpened { person: p, session } if p == person => {
                        Some(session.clone())
                    }
                    _ => None,
                });
                Ok(json!(opened.collect::<Vec<_>>()))
            }
            _ => Ok(json!(true)),
        };
        self.told.borrow_mut().push(command);
        answer
    }
}

impl<'s> Objects for &'s FakeServices {
    fn send_json(
        &self,
        object: Object<'_>,
        command: String,
    ) -> impl Future<Output = Result<String, String>> + 'static + use<'s> {
        let answer = match object {
            Object::Session(id) => self.session(id, serde_json::from_str(&command).unwrap()),
            Object::Upstream(name) => Err(format!("the object of {name} is gone")),
            Object::Ledger => self.ledger(serde_json::from_str(&command).unwrap()),
            Object::Registry => {
                let answer = runtime::answer(*self, serde_json::from_str(&command).unwrap());
                Ok(answer.unwrap())
            }
            Object::Stash(id) => Err(format!("the stash {id} is not kept here")),
        };
        ready(answer.map(|value| value.to_string()))
    }

    async fn open_json(
        &self,
        _object: Object<'_>,
        _command: String,
    ) -> Result<EventStream, String> {
        Err("no streams here".into())
    }
}

impl Platform for &FakeServices {
    async fn catalog(&self, upstreams: &[String], _: &Accounts) -> Catalog {
        let tool: rmcp::model::Tool =
            serde_json::from_value(json!({"name": "echo", "inputSchema": {"type": "object"}}))
                .unwrap();
        Catalog::new(
            upstreams
                .iter()
                .map(|name| UpstreamTools {
                    upstream: name.clone(),
                    tools: Ok(vec![tool.clone()]),
                })
                .collect(),
        )
    }

    async fn run(&self, _run: &IsolateRun<'_>) -> Result<Outcome, SandboxError> {
        Ok(Outcome::default())
    }

    async fn sleep(&self, _ms: u32) {
        pending().await
    }

    fn in_background(&self, work: impl Future<Output = ()> + 'static) {
        // What the work sends was sent when it was made.
        drop(work);
    }

    fn log(&self, _line: &str) {}

    fn now_ms(&self) -> u64 {
        1_000
    }

    fn new_id(&self) -> String {
        "session-1".into()
    }
}

impl Services for &FakeServices {
    async fn oauth_grants(&self, user_id: &str) -> Result<Vec<OAuthGrant>, String> {
        let grants = self.oauth_grants.borrow();
        let theirs = grants.iter().filter(|(user, _)| user == user_id);
        Ok(theirs.map(|(_, grant)| grant.clone()).collect())
    }

    async fn revoke_oauth_grant(&self, grant_id: &str, user_id: &str) -> Result<(), String> {
        let mut grants = self.oauth_grants.borrow_mut();
        grants.retain(|(user, grant)| !(user == user_id && grant.id == grant_id));
        Ok(())
    }

    async fn oauth_clients(&self) -> Result<Vec<OAuthClient>, String> {
        Ok(self.oauth_clients.borrow().clone())
    }

    async fn remove_oauth_client(&self, client_id: &str) -> Result<bool, String> {
        let mut clients = self.oauth_clients.borrow_mut();
        let before = clients.len();
        clients.retain(|client| client.client_id != client_id);
        Ok(clients.len() < before)
    }
}

impl FakeServices {
    /// The upstreams of each execution the ledger was told of.
    fn executed(&self) -> Vec<Vec<String>> {
        let told = self.told.borrow();
        let entries = told.iter().filter_map(|command| match command {
            LedgerCommand::Record { entry } => Some(entry.upstreams.clone()),
            _ => None,
        });
        entries.collect()
    }
}

pub(super) const CONFIG: &str = r#"[{"name": "everything", "url": "http://127.0.0.1:9/mcp"},
                         {"name": "memory", "url": "http://127.0.0.1:8/mcp"}]"#;

fn runner<'s>(
    services: &'s FakeServices,
    person: Option<&str>,
    scope: Option<&str>,
) -> Runner<&'s FakeServices> {
    governed(services, None, person, scope)
}

/// A runner under the `ACCESS` policy `access`, for the access key holder `person`.
fn governed<'s>(
    services: &'s FakeServices,
    access: Option<&str>,
    person: Option<&str>,
    scope: Option<&str>,
) -> Runner<&'s FakeServices> {
    let config = RunnerConfig::from_json(CONFIG).unwrap();
    let access = AccessPolicy::from_json(access, &config.upstream_names()).unwrap();
    Runner::new(
        services,
        config,
        &access,
        ExecutionLimits::default(),
        person.map(Person::access_key),
        scope.map(str::to_owned),
    )
}

/// Alice may use `everything`, Bob `memory`; nobody else anything.
const SPLIT: &str = r#"{"people": {"key:alice": {"everything": {}}, "key:bob": {"memory": {}}}}"#;

fn context() -> RequestContext {
    let request = crate::mcp::jsonrpc::Request {
        id: RequestId::Number(1),
        method: "tools/call".into(),
        params: None,
    };
    RequestContext::new(&request, None)
}

fn call(name: &str, arguments: Value) -> CallToolRequestParams {
    serde_json::from_value(json!({"name": name, "arguments": arguments})).unwrap()
}

#[test]
fn a_session_opened_by_one_person_is_no_session_to_another() {
    let services = FakeServices::default();
    let alice = runner(&services, Some("alice"), None);
    let id = block_on(alice.open_session(
        &ProtocolVersion::V_2025_06_18,
        &ClientCapabilities::default(),
    ))
    .unwrap();
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
    let id = block_on(opened.open_session(
        &ProtocolVersion::V_2025_06_18,
        &ClientCapabilities::default(),
    ))
    .unwrap();
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
    let refused = block_on(runner.open_session(
        &ProtocolVersion::V_2025_06_18,
        &ClientCapabilities::default(),
    ))
    .unwrap_err();
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
    let id = block_on(runner.open_session(
        &ProtocolVersion::V_2025_06_18,
        &ClientCapabilities::default(),
    ))
    .unwrap();
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
    let refused = block_on(widened.open_session(
        &ProtocolVersion::V_2025_06_18,
        &ClientCapabilities::default(),
    ))
    .unwrap_err();
    let BackendError::InvalidParams(message) = refused else {
        panic!("{refused:?}")
    };
    assert!(
        message.contains("`memory`") && message.contains("`alice`"),
        "{message}"
    );
    let narrowed = governed(&services, Some(SPLIT), Some("alice"), Some("everything"));
    assert!(block_on(narrowed.open_session(
        &ProtocolVersion::V_2025_06_18,
        &ClientCapabilities::default()
    ))
    .is_ok());
}

#[test]
fn a_policy_change_reaches_a_session_already_open() {
    let services = FakeServices::default();
    let opened = governed(&services, None, Some("alice"), None);
    let id = block_on(opened.open_session(
        &ProtocolVersion::V_2025_06_18,
        &ClientCapabilities::default(),
    ))
    .unwrap();
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
    let session = block_on(signed_in.open_session(
        &ProtocolVersion::V_2025_06_18,
        &ClientCapabilities::default(),
    ))
    .unwrap();
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
    let session = block_on(opened.open_session(
        &ProtocolVersion::V_2025_06_18,
        &ClientCapabilities::default(),
    ))
    .unwrap();
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
    assert_eq!(
        block_on(operator.remove_upstream("linear")),
        Err(ChangeError::Unknown("linear".into()))
    );
}
