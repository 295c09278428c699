//! The runner as the MCP server's backend: sessions kept in their objects, the two tools and
//! the metrics resource.

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ClientCapabilities, ProtocolVersion, RequestId,
    RequestMetaObject, Resource, ResourceContents, Tool,
};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{Runner, Services};
use crate::audit::LedgerCommand;
use crate::codemode::tools::{self, ExecuteInput, SearchInput, EXECUTE_TOOL, SEARCH_TOOL};
use crate::cold::cold;
use crate::execution::resume::Resuming;
use crate::execution::{self, Requester};
use crate::json_size::json_bytes;
use crate::mcp::context::RequestContext;
use crate::mcp::{BackendError, Caller, ServerBackend};
use crate::metrics::{definition_chars, metrics_contents, metrics_resource, METRICS_URI};
use crate::protocol::http::EventStream;
use crate::protocol::log_level::LogLevel;
use crate::protocol::meta::CAPABILITIES_KEY;
use crate::session::{request_key, SessionCommand, SessionRecord};

impl<S: Services> ServerBackend for Runner<S> {
    const INSTRUCTIONS: &'static str = tools::INSTRUCTIONS;

    async fn open_session(
        &self,
        protocol_version: &ProtocolVersion,
        client: &ClientCapabilities,
    ) -> Result<String, BackendError> {
        let session_id = self.services.new_id();
        let record = SessionRecord {
            client: client.clone(),
            ..SessionRecord::new(
                protocol_version.to_string(),
                self.scope()?,
                self.person.as_ref(),
                self.services.now_ms(),
            )
        };
        let recent = self.services.recent_sessions();
        let mark = recent.mark();
        let _: bool = self
            .ask_session(
                &session_id,
                &SessionCommand::Open {
                    record: Box::new(record.clone()),
                },
            )
            .await?;
        recent.keep(&session_id, record, self.services.now_ms(), mark);
        if let Some(person) = &self.person {
            self.services.tell_ledger(LedgerCommand::SessionOpened {
                person: person.id.clone(),
                session: session_id.clone(),
            });
        }
        Ok(session_id)
    }

    async fn answered(
        &self,
        session_id: &str,
        id: &str,
        response: &Value,
    ) -> Result<(), BackendError> {
        // Only the session's holder reaches here; an answer nobody awaits is dropped there.
        if json_bytes(response) > MAX_ANSWER_BYTES {
            return Err(BackendError::InvalidParams(format!(
                "an answer to the runner's request is at most {MAX_ANSWER_BYTES} bytes of JSON"
            )));
        }
        let answer = SessionCommand::Answer {
            id: id.to_owned(),
            response: response.to_string(),
        };
        self.ask_session::<bool>(session_id, &answer)
            .await
            .map(drop)
    }

    async fn session_exists(&self, session_id: &str) -> Result<bool, BackendError> {
        Ok(self.record(session_id).await?.is_some())
    }

    async fn close_session(&self, session_id: &str) -> Result<bool, BackendError> {
        let closed = self.ask_session(session_id, &SessionCommand::Close).await;
        self.forget_session(session_id);
        let closed = closed?;
        self.services.tell_ledger(LedgerCommand::SessionsEnded {
            sessions: vec![session_id.to_owned()],
        });
        Ok(closed)
    }

    async fn set_log_level(&self, session_id: &str, level: LogLevel) -> Result<(), BackendError> {
        let command = SessionCommand::SetLogLevel { level };
        let set = self.ask_session::<bool>(session_id, &command).await;
        self.forget_session(session_id);
        set.map(drop)
    }

    async fn cancel(
        &self,
        session_id: &str,
        request_id: &RequestId,
        reason: &str,
    ) -> Result<(), BackendError> {
        let request = request_key(request_id);
        if (self.services.waiting_requests()).deliver(session_id, &request, reason) {
            return Ok(());
        }
        // The request runs in another isolate (or has not reached one yet): they meet in the
        // session's object.
        let command = SessionCommand::Cancel {
            request,
            reason: reason.to_owned(),
        };
        let _watched: bool = self.ask_session(session_id, &command).await?;
        Ok(())
    }

    async fn listen(&self, session_id: &str) -> Result<EventStream, BackendError> {
        self.services
            .listen(session_id)
            .await
            .map_err(|e| BackendError::Internal(format!("session stream failed: {e}")))
    }

    async fn list_tools(&self, caller: Caller<'_>) -> Result<Vec<Tool>, BackendError> {
        let upstreams = self.upstreams_of(caller, None).await?;
        let catalog =
            (self.services.catalog(&upstreams, &self.accounts).await).granted(&self.grant);
        let served = tools::definitions(&catalog);
        let upstream_tools = catalog
            .namespaces()
            .iter()
            .flat_map(|namespace| &namespace.functions)
            .map(|function| &function.tool);
        self.services.tell_ledger(LedgerCommand::Listed {
            upstream_chars: definition_chars(upstream_tools),
            served_chars: definition_chars(&served),
        });
        Ok(served)
    }

    async fn list_resources(&self, _caller: Caller<'_>) -> Result<Vec<Resource>, BackendError> {
        Ok(vec![metrics_resource()])
    }

    async fn read_resource(
        &self,
        caller: Caller<'_>,
        uri: &str,
    ) -> Result<Option<ResourceContents>, BackendError> {
        if uri != METRICS_URI {
            return Ok(None);
        }
        let upstreams = self.upstreams_of(caller, None).await?;
        let metrics = self
            .ledger_metrics()
            .await
            .map_err(BackendError::Internal)?;
        Ok(Some(metrics_contents(&metrics.summary(&upstreams))))
    }

    async fn call_tool(
        &self,
        caller: Caller<'_>,
        params: CallToolRequestParams,
        context: &RequestContext,
    ) -> Result<Option<CallToolResponse>, BackendError> {
        let arguments = params.arguments.unwrap_or_default();
        let complete = |result| Ok(Some(CallToolResponse::Complete(result)));
        match params.name.as_ref() {
            SEARCH_TOOL => cold(self.search(caller, arguments, context)).await,
            EXECUTE_TOOL => {
                let input: ExecuteInput = match input(arguments) {
                    Ok(input) => input,
                    Err(e) => return complete(tools::invalid_arguments_result(EXECUTE_TOOL, &e)),
                };
                let upstreams = self.upstreams_of(caller, Some(context)).await?;
                let record = match caller.session_id() {
                    Some(session) => Some(self.live_record(session).await?),
                    None => None,
                };
                let requester = Requester {
                    session: caller.session_id().map(str::to_owned),
                    person: self.person.clone(),
                    upstreams,
                    grant: self.grant.clone(),
                    accounts: self.accounts.clone(),
                    client: match &record {
                        Some(record) => record.client.clone(),
                        None => stateless_client(params.meta.as_ref()),
                    },
                    approved_tools: record.map(|r| r.approved_tools).unwrap_or_default(),
                    resume: params.request_state.map(|state| Resuming {
                        state,
                        responses: params.input_responses.unwrap_or_default(),
                    }),
                };
                let limits = &self.limits;
                Ok(self
                    .services
                    .execute(requester, &input.code, limits, context)
                    .await)
            }
            other => Err(BackendError::UnknownTool(other.to_owned())),
        }
    }
}

impl<S: Services> Runner<S> {
    /// Answers a `search` with `arguments`.
    async fn search(
        &self,
        caller: Caller<'_>,
        arguments: Map<String, Value>,
        context: &RequestContext,
    ) -> Result<Option<CallToolResponse>, BackendError> {
        let complete = |result| Ok(Some(CallToolResponse::Complete(result)));
        let input: SearchInput = match input(arguments) {
            Ok(input) => input,
            Err(e) => return complete(tools::invalid_arguments_result(SEARCH_TOOL, &e)),
        };
        if let Some(problem) = input.problem() {
            return complete(tools::invalid_arguments_result(SEARCH_TOOL, &problem));
        }
        let upstreams = self.upstreams_of(caller, Some(context)).await?;
        let catalog =
            (self.services.catalog(&upstreams, &self.accounts).await).granted(&self.grant);
        execution::report_unavailable(&catalog, context);
        complete(tools::search_result(
            &catalog,
            &input.query,
            self.limits.max_search_tokens,
            self.services.search_index(),
        ))
    }
}

/// The largest answer to one of the runner's requests (an elicitation's form, a sampled
/// message) that is passed on; a larger one is dropped, as if never sent.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// What a stateless request's client says it can do, in its `_meta`.
fn stateless_client(meta: Option<&RequestMetaObject>) -> ClientCapabilities {
    let declared = meta.and_then(|meta| meta.get(CAPABILITIES_KEY)).cloned();
    declared
        .and_then(|declared| serde_json::from_value(declared).ok())
        .unwrap_or_default()
}

/// A tool's arguments as its input type, or what is wrong with them.
fn input<T: DeserializeOwned>(arguments: Map<String, Value>) -> Result<T, String> {
    serde_json::from_value(Value::Object(arguments)).map_err(|e| e.to_string())
}
