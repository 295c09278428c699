//! The product's MCP backend: sessions, the `search` and `execute` tools, the metrics resource
//! and the operator's view, for one request, over the [`Services`] the Worker provides (the
//! session, upstream and ledger objects, the catalog, executions). What a session's object
//! does with the commands the runner sends it is [`session_keeper`].
//!
//! Identity is the runner's: the person a request is signed in as is fixed when the runner is
//! made, a session opened by someone else reads as no session at all, and what a session may
//! use is the operator's grant to that person, narrowed by the `?upstreams=` scope it was
//! opened with.

mod admin;
pub mod arrival;
pub mod policy;
mod server;
pub mod session_keeper;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::future::Future;

use rmcp::model::CallToolResponse;
use serde::de::DeserializeOwned;

use crate::admin::{OAuthClient, OAuthGrant};
use crate::codemode::search::SearchIndex;
use crate::config::{AccessPolicy, Accounts, Grant, RunnerConfig};
use crate::execution::objects::Object;
use crate::execution::{self, Platform, Requester};
use crate::mcp::context::RequestContext;
use crate::mcp::{BackendError, Caller};
use crate::protocol::http::{Body, EventStream, HttpResponse};
use crate::protocol::person::Person;
use crate::sandbox::limits::ExecutionLimits;
use crate::session::recent::RecentSessions;
use crate::session::{SessionCommand, SessionRecord};

/// What the runner needs of the Worker: what an execution needs, which includes the runner's
/// objects. Everything the runner asks of them is written here, once, over those.
pub trait Services: Platform {
    /// The session's GET stream.
    fn listen(&self, session_id: &str) -> impl Future<Output = Result<EventStream, String>> {
        self.open(Object::Session(session_id), &SessionCommand::Listen)
    }

    /// The OAuth layer's grants filed under `user_id` (none where there is no OAuth layer).
    fn oauth_grants(&self, user_id: &str) -> impl Future<Output = Result<Vec<OAuthGrant>, String>>;
    /// Revokes the OAuth grant `grant_id` of `user_id`, with its tokens.
    fn revoke_oauth_grant(
        &self,
        grant_id: &str,
        user_id: &str,
    ) -> impl Future<Output = Result<(), String>>;
    /// The registered OAuth clients (none where there is no OAuth layer).
    fn oauth_clients(&self) -> impl Future<Output = Result<Vec<OAuthClient>, String>>;
    /// Removes the OAuth client `client_id`; `false` when there was none.
    fn remove_oauth_client(&self, client_id: &str) -> impl Future<Output = Result<bool, String>>;
    /// The registry of upstreams changed through this isolate: its next request reads the
    /// operator's policy again (see [`policy::PolicyCache`]).
    fn forget_policy(&self);
    /// The session records this isolate read lately: a session's requests are served from
    /// its record for a while rather than each asking its object.
    fn recent_sessions(&self) -> &RecentSessions;
    /// The words of the functions this isolate searched lately, so a `search` splits only
    /// the tools it has not seen into words.
    fn search_index(&self) -> &SearchIndex;

    /// Runs `code` for `requester` (see [`execution::execute`]).
    fn execute(
        &self,
        requester: Requester,
        code: &str,
        limits: &ExecutionLimits,
        context: &RequestContext,
    ) -> impl Future<Output = Option<CallToolResponse>> {
        execution::execute(self, requester, code, limits, context)
    }
}

/// Serves one HTTP request's worth of MCP.
pub struct Runner<S: Services> {
    services: S,
    config: RunnerConfig,
    /// Who may use what.
    access: AccessPolicy,
    limits: ExecutionLimits,
    /// Who the request is signed in as; none when the runner asks for no sign-in.
    person: Option<Person>,
    /// What the operator's policy lets them use.
    grant: Grant,
    /// Which objects hold their upstream sessions.
    accounts: Accounts,
    /// The `upstreams` URL parameter: what a new session or a stateless request is limited to.
    requested_upstreams: Option<String>,
    /// The session looked up for this request, so each request reads it once.
    session: RefCell<Option<(String, SessionRecord)>>,
}

impl<S: Services> Runner<S> {
    /// The runner for one request from `person`, whom `access` grants what they may use,
    /// asking with the URL's `upstreams` parameter for `requested_upstreams`.
    pub fn new(
        services: S,
        config: RunnerConfig,
        access: &AccessPolicy,
        limits: ExecutionLimits,
        person: Option<Person>,
        requested_upstreams: Option<String>,
    ) -> Self {
        Self {
            services,
            limits,
            grant: access.grant_for(person.as_ref()).under(&config.upstreams),
            accounts: config.accounts(person.as_ref()),
            access: access.clone(),
            config,
            person,
            requested_upstreams,
            session: RefCell::new(None),
        }
    }

    /// The session's record, if it is live and held by this request's person: as this
    /// isolate read it lately, or else from the session's object.
    async fn record(&self, session_id: &str) -> Result<Option<SessionRecord>, BackendError> {
        if let Some((id, record)) = self.session.borrow().as_ref() {
            if id == session_id {
                return Ok(Some(record.clone()));
            }
        }
        let recent = self.services.recent_sessions();
        let record = match recent.get(session_id, self.services.now_ms()) {
            Some(record) => Some(record),
            None => {
                let mark = recent.mark();
                let read: Option<SessionRecord> =
                    self.ask_session(session_id, &SessionCommand::Get).await?;
                if let Some(record) = &read {
                    recent.keep(session_id, record.clone(), self.services.now_ms(), mark);
                }
                read
            }
        };
        // Another person's session looks exactly like one that does not exist.
        let record = record.filter(|record| record.is_held_by(self.person.as_ref()));
        if let Some(record) = &record {
            *self.session.borrow_mut() = Some((session_id.to_owned(), record.clone()));
        }
        Ok(record)
    }

    /// Forgets what this request and isolate read of the session's record, after a change to
    /// it was sent (see [`RecentSessions`]).
    fn forget_session(&self, session_id: &str) {
        self.session.borrow_mut().take();
        self.services.recent_sessions().forget(session_id);
    }

    async fn live_record(&self, session_id: &str) -> Result<SessionRecord, BackendError> {
        self.record(session_id)
            .await?
            .ok_or_else(|| BackendError::Internal("the session ended during the request".into()))
    }

    async fn ask_session<A: DeserializeOwned + 'static>(
        &self,
        session_id: &str,
        command: &SessionCommand,
    ) -> Result<A, BackendError> {
        self.services
            .ask(Object::Session(session_id), command)
            .await
            .map_err(|e| BackendError::Internal(format!("session storage failed: {e}")))
    }

    /// The upstreams `caller` may use: its session's, or all of them. A session's log level
    /// goes to `context` (a stateless request brings its own).
    async fn upstreams_of(
        &self,
        caller: Caller<'_>,
        context: Option<&RequestContext>,
    ) -> Result<Vec<String>, BackendError> {
        match caller {
            Caller::Session(session_id) => {
                let record = self.live_record(session_id).await?;
                if let Some(context) = context {
                    context.set_log_level(record.log_level);
                }
                // The policy may have changed since the session opened.
                Ok(self.granted(record.upstreams))
            }
            Caller::Stateless => self.scope(),
        }
    }

    /// The upstreams the request's URL asks for (all it may use when it does not ask).
    fn scope(&self) -> Result<Vec<String>, BackendError> {
        let requested = self.requested_upstreams.as_deref();
        let scope = self
            .config
            .scope(requested)
            .map_err(|e| BackendError::InvalidParams(e.to_string()))?;
        if requested.is_some() {
            if let Some(refused) = scope.iter().find(|u| !self.grant.reaches(u)) {
                return Err(BackendError::InvalidParams(format!(
                    "the `upstreams` URL parameter names `{refused}`, which the operator's \
                     ACCESS policy does not grant to {}",
                    self.who()
                )));
            }
        }
        Ok(self.granted(scope))
    }

    /// `upstreams` without those the grant does not reach.
    fn granted(&self, mut upstreams: Vec<String>) -> Vec<String> {
        upstreams.retain(|u| self.grant.reaches(u));
        upstreams
    }

    /// The person, as the operator names them.
    fn who(&self) -> String {
        match &self.person {
            Some(person) => format!("`{}`", person.name),
            None => "callers who do not sign in".to_owned(),
        }
    }

    /// The answer for a person the operator's policy grants nothing: 403, saying so. `None`
    /// when they may use something.
    pub fn refusal(&self) -> Option<HttpResponse> {
        self.grant.is_empty().then(|| HttpResponse {
            status: 403,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body: Body::Complete(
                format!(
                    "Forbidden: the operator's ACCESS policy grants {} no upstream on this \
                     runner. Ask the operator to add an entry for you.",
                    self.who()
                )
                .into_bytes(),
            ),
        })
    }
}
