//! In-memory services for the runner's tests: sessions, the ledger, the registry and the OAuth
//! layer kept in maps, and a catalog of one upstream.

use crate::codemode::search::SearchIndex;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use futures::future::{pending, ready};
use rmcp::model::{CallToolRequestParams, RequestId};
use serde_json::{json, Value};

use super::*;
use crate::admin::{OAuthClient, OAuthGrant};
use crate::audit::LedgerCommand;
use crate::codemode::catalog::{Catalog, UpstreamTools};
use crate::config::runtime::{self, RegistryStore};
use crate::config::UpstreamConfig;
use crate::execution::objects::Objects;
use crate::execution::{IsolateRun, SandboxError};
use crate::sandbox::protocol::Outcome;
use crate::session::WaitingRequests;

/// Sessions and the ledger in memory, and isolates whose programs return at once.
#[derive(Default)]
pub(super) struct FakeServices {
    pub(super) sessions: RefCell<HashMap<String, SessionRecord>>,
    /// Every command the ledger was sent.
    pub(super) told: RefCell<Vec<LedgerCommand>>,
    /// The OAuth layer's grants: (user id, grant).
    pub(super) oauth_grants: RefCell<Vec<(String, OAuthGrant)>>,
    /// The OAuth layer's clients.
    pub(super) oauth_clients: RefCell<Vec<OAuthClient>>,
    /// The upstreams added at runtime.
    pub(super) registry: RefCell<Vec<UpstreamConfig>>,
    /// The ids of the runner's requests the client's answers were passed on for.
    pub(super) answered: RefCell<Vec<String>>,
    /// How often the runner said the registry changed.
    pub(super) policy_forgotten: Cell<u32>,
    /// The session records the runners of this isolate read lately.
    pub(super) recent_sessions: RecentSessions,
    /// The words of the functions searched lately.
    pub(super) search_index: SearchIndex,
    /// How far the clock has moved on from 1 s.
    pub(super) elapsed_ms: Cell<u64>,
    /// The requests of this isolate that their clients may cancel.
    pub(super) waiting_requests: WaitingRequests,
    /// The requests whose cancellation was passed to their session's object.
    pub(super) cancels_told: RefCell<Vec<String>>,
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
            SessionCommand::Cancel { request, .. } => {
                self.cancels_told.borrow_mut().push(request);
                json!(false)
            }
            SessionCommand::Answer { id, .. } => {
                self.answered.borrow_mut().push(id);
                json!(false)
            }
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
            Object::Stash(id) | Object::PageApproval(id) => {
                Err(format!("the object {id} is not kept here"))
            }
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
                .map(|name| UpstreamTools::new(name.clone(), Ok(vec![tool.clone()])))
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
        1_000 + self.elapsed_ms.get()
    }

    fn new_id(&self) -> String {
        "session-1".into()
    }

    fn origin(&self) -> &str {
        "https://runner.example"
    }

    fn waiting_requests(&self) -> &WaitingRequests {
        &self.waiting_requests
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

    fn forget_policy(&self) {
        self.policy_forgotten.set(self.policy_forgotten.get() + 1);
    }

    fn recent_sessions(&self) -> &RecentSessions {
        &self.recent_sessions
    }

    fn search_index(&self) -> &SearchIndex {
        &self.search_index
    }
}

impl FakeServices {
    /// The upstreams of each execution the ledger was told of.
    pub(super) fn executed(&self) -> Vec<Vec<String>> {
        let told = self.told.borrow();
        let entries = told.iter().flat_map(|command| match command {
            LedgerCommand::Record { entries } => entries.as_slice(),
            _ => &[],
        });
        entries.map(|entry| entry.upstreams.clone()).collect()
    }
}

pub(super) const CONFIG: &str = r#"[{"name": "everything", "url": "http://127.0.0.1:9/mcp"},
                         {"name": "memory", "url": "http://127.0.0.1:8/mcp"}]"#;

pub(super) fn runner<'s>(
    services: &'s FakeServices,
    person: Option<&str>,
    scope: Option<&str>,
) -> Runner<&'s FakeServices> {
    governed(services, None, person, scope)
}

/// A runner under the `ACCESS` policy `access`, for the access key holder `person`.
pub(super) fn governed<'s>(
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
pub(super) const SPLIT: &str =
    r#"{"people": {"key:alice": {"everything": {}}, "key:bob": {"memory": {}}}}"#;

pub(super) fn context() -> RequestContext {
    let request = crate::mcp::jsonrpc::Request {
        id: RequestId::Number(1),
        method: "tools/call".into(),
        params: None,
    };
    RequestContext::new(&request, None)
}

pub(super) fn call(name: &str, arguments: Value) -> CallToolRequestParams {
    serde_json::from_value(json!({"name": name, "arguments": arguments})).unwrap()
}
