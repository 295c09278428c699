//! One Durable Object per upstream MCP server, named by the upstream's configured name. It
//! owns the MCP client session to that server, caches its tool list and forwards tool calls.
//!
//! Secrets are read here, at request time, and nowhere else; anything the upstream says is
//! redacted of them before it leaves the object.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures::future::{select, Either};
use rmcp::model::{CallToolResult, ListToolsResult, Tool};
use serde_json::{json, Value};
use worker::{
    durable_object, DurableObject, Env, Fetch, Headers, Method, Request, RequestInit, Response,
    Result, State,
};

use crate::config::{redact, RunnerConfig};
use crate::upstream::arguments::ArgumentChecker;
use crate::upstream::client::{
    self, call_tool_request, initialize_request, initialized_notification, read_response,
    session_rejected, UpstreamError, SESSION_HEADER, UPSTREAM_TIMEOUT_MS,
};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};

/// Pages of `tools/list` followed before giving up on a server that never stops paginating.
const MAX_TOOL_PAGES: usize = 50;

/// The upstream's Durable Object.
#[durable_object]
pub struct UpstreamObject {
    env: Env,
    /// The MCP session, once initialized.
    link: RefCell<Option<Link>>,
    /// The tool list, once fetched.
    tools: RefCell<Option<Vec<Tool>>>,
    /// Each tool's compiled input schema, by tool name, built on the tool's first call.
    checkers: RefCell<HashMap<String, Rc<ArgumentChecker>>>,
    next_id: Cell<u64>,
}

/// An initialized session with the upstream.
#[derive(Clone)]
struct Link {
    session_id: Option<String>,
    protocol_version: String,
}

/// Where and how to reach the upstream, with its secrets resolved.
struct Target {
    url: String,
    headers: Vec<(String, String)>,
    secrets: Vec<String>,
}

/// One HTTP answer from the upstream.
struct Answer {
    status: u16,
    content_type: Option<String>,
    session_id: Option<String>,
    body: String,
}

impl DurableObject for UpstreamObject {
    fn new(_state: State, env: Env) -> Self {
        Self {
            env,
            link: RefCell::new(None),
            tools: RefCell::new(None),
            checkers: RefCell::new(HashMap::new()),
            next_id: Cell::new(1),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let name = req.path().trim_start_matches('/').to_owned();
        let command: UpstreamCommand = req.json().await?;
        let answer = match self.target(&name) {
            Ok(target) => self.answer(&target, command).await.unwrap_or_else(|error| {
                let error = redact_error(error, &target.secrets);
                UpstreamAnswer::Failed { error }
            }),
            Err(error) => UpstreamAnswer::Failed { error },
        };
        Response::from_json(&answer)
    }
}

impl UpstreamObject {
    fn target(&self, name: &str) -> std::result::Result<Target, UpstreamError> {
        let misconfigured = |detail: String| UpstreamError::Misconfigured { detail };
        let text = self
            .env
            .var("UPSTREAMS")
            .map(|v| v.to_string())
            .unwrap_or_default();
        let config = RunnerConfig::from_json(&text).map_err(|e| misconfigured(e.to_string()))?;
        let upstream = config
            .upstream(name)
            .ok_or_else(|| misconfigured(format!("no upstream is named `{name}`")))?;
        let lookup = |secret: &str| self.env.secret(secret).ok().map(|s| s.to_string());
        let headers = upstream
            .resolved_headers(lookup)
            .map_err(|e| misconfigured(e.to_string()))?;
        Ok(Target {
            url: upstream.url.clone(),
            headers,
            secrets: upstream.secret_values(lookup),
        })
    }

    async fn answer(
        &self,
        target: &Target,
        command: UpstreamCommand,
    ) -> std::result::Result<UpstreamAnswer, UpstreamError> {
        match command {
            UpstreamCommand::ListTools => Ok(UpstreamAnswer::Tools {
                tools: self.tools(target).await?,
            }),
            UpstreamCommand::CallTool { name, arguments } => {
                // Checked here, against the cached list, so a wrong call never leaves the runner.
                if let Some(checker) = self.checker(target, &name).await? {
                    let given = arguments.clone().unwrap_or_default();
                    if let Err(detail) = checker.check(&given) {
                        return Ok(UpstreamAnswer::InvalidArguments { detail });
                    }
                }
                let id = self.next_id();
                let result = self
                    .request(target, &call_tool_request(id, &name, arguments), id)
                    .await?;
                let result: CallToolResult =
                    serde_json::from_value(result).map_err(|e| UpstreamError::Malformed {
                        detail: format!("tools/call result: {e}"),
                    })?;
                Ok(UpstreamAnswer::ToolResult { result })
            }
        }
    }

    /// The compiled input schema of tool `name`, if the upstream lists it.
    async fn checker(
        &self,
        target: &Target,
        name: &str,
    ) -> std::result::Result<Option<Rc<ArgumentChecker>>, UpstreamError> {
        if let Some(checker) = self.checkers.borrow().get(name) {
            return Ok(Some(Rc::clone(checker)));
        }
        let tools = self.tools(target).await?;
        let Some(tool) = tools.iter().find(|t| t.name == name) else {
            return Ok(None);
        };
        let checker = Rc::new(ArgumentChecker::new(&tool.input_schema));
        self.checkers
            .borrow_mut()
            .insert(name.to_owned(), Rc::clone(&checker));
        Ok(Some(checker))
    }

    /// The tool list, fetched on first use and kept.
    async fn tools(&self, target: &Target) -> std::result::Result<Vec<Tool>, UpstreamError> {
        if let Some(tools) = self.tools.borrow().clone() {
            return Ok(tools);
        }
        let tools = self.list_tools(target).await?;
        *self.tools.borrow_mut() = Some(tools.clone());
        Ok(tools)
    }

    async fn list_tools(&self, target: &Target) -> std::result::Result<Vec<Tool>, UpstreamError> {
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_TOOL_PAGES {
            let id = self.next_id();
            let params = cursor.as_ref().map_or(json!({}), |c| json!({"cursor": c}));
            let page = self
                .request(target, &client::request(id, "tools/list", params), id)
                .await?;
            let page: ListToolsResult =
                serde_json::from_value(page).map_err(|e| UpstreamError::Malformed {
                    detail: format!("tools/list result: {e}"),
                })?;
            tools.extend(page.tools);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(tools),
            }
        }
        Err(UpstreamError::Malformed {
            detail: format!("tools/list had over {MAX_TOOL_PAGES} pages"),
        })
    }

    /// Sends a request in the session, opening it first if needed; when the upstream has
    /// forgotten the session ([`session_rejected`]), opens a new one and sends once more.
    async fn request(
        &self,
        target: &Target,
        body: &Value,
        id: u64,
    ) -> std::result::Result<Value, UpstreamError> {
        for _ in 0..2 {
            let link = self.link(target).await?;
            let answer = self.post(target, Some(&link), body).await?;
            if session_rejected(answer.status, link.session_id.is_some()) {
                self.link.borrow_mut().take();
                continue;
            }
            return read_response(
                answer.status,
                answer.content_type.as_deref(),
                &answer.body,
                id,
            );
        }
        Err(UpstreamError::SessionExpired)
    }

    /// The session, initialized on first use.
    async fn link(&self, target: &Target) -> std::result::Result<Link, UpstreamError> {
        if let Some(link) = self.link.borrow().clone() {
            return Ok(link);
        }
        let id = self.next_id();
        let answer = self.post(target, None, &initialize_request(id)).await?;
        let result = read_response(
            answer.status,
            answer.content_type.as_deref(),
            &answer.body,
            id,
        )?;
        let protocol_version = result
            .get("protocolVersion")
            .and_then(Value::as_str)
            .ok_or_else(|| UpstreamError::Malformed {
                detail: "initialize result has no protocolVersion".into(),
            })?
            .to_owned();
        let link = Link {
            session_id: answer.session_id,
            protocol_version,
        };
        let confirm = self
            .post(target, Some(&link), &initialized_notification())
            .await?;
        if !(200..300).contains(&confirm.status) {
            return Err(UpstreamError::HttpStatus {
                status: confirm.status,
                detail: "notifications/initialized was refused".into(),
            });
        }
        *self.link.borrow_mut() = Some(link.clone());
        Ok(link)
    }

    async fn post(
        &self,
        target: &Target,
        link: Option<&Link>,
        body: &Value,
    ) -> std::result::Result<Answer, UpstreamError> {
        let headers = Headers::new();
        let set = |name: &str, value: &str| {
            headers
                .set(name, value)
                .map_err(|e| unreachable(e.to_string()))
        };
        set("Content-Type", "application/json")?;
        set("Accept", "application/json, text/event-stream")?;
        if let Some(link) = link {
            set("MCP-Protocol-Version", &link.protocol_version)?;
            if let Some(session_id) = &link.session_id {
                set(SESSION_HEADER, session_id)?;
            }
        }
        for (name, value) in &target.headers {
            set(name, value)?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(body.to_string().into()));
        let request =
            Request::new_with_init(&target.url, &init).map_err(|e| unreachable(e.to_string()))?;
        let exchange = async move {
            let mut response = Fetch::Request(request)
                .send()
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let header = |name: &str| response.headers().get(name).ok().flatten();
            let content_type = header("Content-Type");
            let session_id = header(SESSION_HEADER);
            let body = response
                .text()
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            Ok(Answer {
                status: response.status_code(),
                content_type,
                session_id,
                body,
            })
        };
        let deadline = worker::Delay::from(Duration::from_millis(UPSTREAM_TIMEOUT_MS.into()));
        match select(Box::pin(exchange), deadline).await {
            Either::Left((answer, _)) => answer,
            Either::Right(_) => Err(UpstreamError::Timeout {
                ms: UPSTREAM_TIMEOUT_MS,
            }),
        }
    }

    fn next_id(&self) -> u64 {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        id
    }
}

fn unreachable(detail: String) -> UpstreamError {
    UpstreamError::Unreachable { detail }
}

/// The error with every secret value removed from its text.
fn redact_error(error: UpstreamError, secrets: &[String]) -> UpstreamError {
    match error {
        UpstreamError::Unreachable { detail } => UpstreamError::Unreachable {
            detail: redact(&detail, secrets),
        },
        UpstreamError::HttpStatus { status, detail } => UpstreamError::HttpStatus {
            status,
            detail: redact(&detail, secrets),
        },
        UpstreamError::Malformed { detail } => UpstreamError::Malformed {
            detail: redact(&detail, secrets),
        },
        UpstreamError::Rpc { code, message } => UpstreamError::Rpc {
            code,
            message: redact(&message, secrets),
        },
        other => other,
    }
}
