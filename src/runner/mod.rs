//! The product's MCP backend: sessions, the `search` and `execute` tools, the metrics resource
//! and the operator's view, for one request, over the [`Services`] the Worker provides (the
//! session, upstream and ledger objects, the catalog, executions). What a session's object
//! does with the commands the runner sends it is [`session_keeper`].
//!
//! Identity is the runner's: the token a request presented is fixed when the runner is made,
//! a session opened with another token reads as no session at all, and what a session may use
//! is the `?upstreams=` scope it was opened with.

mod admin;
mod server;
pub mod session_keeper;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::future::Future;

use rmcp::model::CallToolResult;
use serde::de::DeserializeOwned;

use crate::config::RunnerConfig;
use crate::execution::objects::Object;
use crate::execution::{self, Platform, Requester};
use crate::mcp::context::RequestContext;
use crate::mcp::{BackendError, Caller};
use crate::protocol::http::EventStream;
use crate::protocol::token::TokenFingerprint;
use crate::sandbox::limits::ExecutionLimits;
use crate::session::{SessionCommand, SessionRecord};

/// What the runner needs of the Worker: what an execution needs, which includes the runner's
/// objects. Everything the runner asks of them is written here, once, over those.
pub trait Services: Platform {
    /// The session's GET stream.
    fn listen(&self, session_id: &str) -> impl Future<Output = Result<EventStream, String>> {
        self.open(Object::Session(session_id), &SessionCommand::Listen)
    }

    /// Runs `code` for `requester` (see [`execution::execute`]).
    fn execute(
        &self,
        requester: Requester,
        code: &str,
        limits: &ExecutionLimits,
        context: &RequestContext,
    ) -> impl Future<Output = Option<CallToolResult>> {
        execution::execute(self, requester, code, limits, context)
    }
}

/// Serves one HTTP request's worth of MCP.
pub struct Runner<S: Services> {
    services: S,
    config: RunnerConfig,
    limits: ExecutionLimits,
    /// The token the request presented, when tokens are required.
    holder: Option<TokenFingerprint>,
    /// The `upstreams` URL parameter: what a new session or a stateless request is limited to.
    requested_upstreams: Option<String>,
    /// The session looked up for this request, so each request reads it once.
    session: RefCell<Option<(String, SessionRecord)>>,
}

impl<S: Services> Runner<S> {
    /// The runner for one request presenting `holder`'s token and asking, with the URL's
    /// `upstreams` parameter, for `requested_upstreams`.
    pub fn new(
        services: S,
        config: RunnerConfig,
        limits: ExecutionLimits,
        holder: Option<TokenFingerprint>,
        requested_upstreams: Option<String>,
    ) -> Self {
        Self {
            services,
            config,
            limits,
            holder,
            requested_upstreams,
            session: RefCell::new(None),
        }
    }

    /// The session's record, if it is live and held by this request's token.
    async fn record(&self, session_id: &str) -> Result<Option<SessionRecord>, BackendError> {
        if let Some((id, record)) = self.session.borrow().as_ref() {
            if id == session_id {
                return Ok(Some(record.clone()));
            }
        }
        let record: Option<SessionRecord> = self
            .ask_session::<Option<SessionRecord>>(session_id, &SessionCommand::Get)
            .await?
            // Another token's session looks exactly like one that does not exist.
            .filter(|record| record.is_held_by(self.holder.as_ref()));
        if let Some(record) = &record {
            *self.session.borrow_mut() = Some((session_id.to_owned(), record.clone()));
        }
        Ok(record)
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
                Ok(record.upstreams)
            }
            Caller::Stateless => self.scope(),
        }
    }

    /// The upstreams the request's URL asks for (all of them when it does not ask).
    fn scope(&self) -> Result<Vec<String>, BackendError> {
        self.config
            .scope(self.requested_upstreams.as_deref())
            .map_err(|e| BackendError::InvalidParams(e.to_string()))
    }
}
