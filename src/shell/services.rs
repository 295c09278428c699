//! The Worker as the runner's [`Services`]: the runner's Durable Objects, reached through
//! their bindings (what it needs as an execution's platform is in [`super::platform`]); and
//! making the [`Runner`] of one request from the configuration and limits in the Worker's
//! variables.

use std::future::Future;

use futures::future::ready;
use futures::StreamExt;
use worker::{Context, Env};

use super::objects::send;
use crate::config::{ConfigError, RunnerConfig, UPSTREAMS_VAR};
use crate::execution::objects::{Object, Objects};
use crate::protocol::http::EventStream;
use crate::protocol::token::TokenFingerprint;
use crate::runner::{Runner, Services};
use crate::sandbox::limits::{ExecutionLimits, LimitsError};

/// The variable holding the execution limits.
const LIMITS_VAR: &str = "LIMITS";

/// Why the runner cannot start; shown to the operator.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Limits(#[from] LimitsError),
}

/// One request's bindings and context.
pub(crate) struct WorkerServices {
    pub(super) env: Env,
    /// The request's context, for work that must outlive the response.
    pub(super) ctx: Context,
}

/// The runner for one request presenting `holder`'s token and asking, with the URL's
/// `upstreams` parameter, for `requested_upstreams`.
pub(crate) fn start(
    env: Env,
    ctx: Context,
    holder: Option<TokenFingerprint>,
    requested_upstreams: Option<String>,
) -> Result<Runner<WorkerServices>, StartError> {
    let config = match env.var(UPSTREAMS_VAR) {
        Ok(text) => RunnerConfig::from_json(&text.to_string())?,
        Err(_) => RunnerConfig {
            upstreams: Vec::new(),
        },
    };
    let limits = match env.var(LIMITS_VAR) {
        Ok(text) => ExecutionLimits::from_json(&text.to_string())?,
        Err(_) => ExecutionLimits::default(),
    };
    let services = WorkerServices { env, ctx };
    Ok(Runner::new(
        services,
        config,
        limits,
        holder,
        requested_upstreams,
    ))
}

impl Objects for WorkerServices {
    fn send_json(
        &self,
        object: Object<'_>,
        command: String,
    ) -> impl Future<Output = Result<String, String>> + 'static + use<> {
        let sent = send(&self.env, object, command);
        async move {
            let mut answer = sent.await.map_err(|e| e.to_string())?;
            answer.text().await.map_err(|e| e.to_string())
        }
    }

    async fn open_json(&self, object: Object<'_>, command: String) -> Result<EventStream, String> {
        let sent = send(&self.env, object, command).await;
        let frames = sent.and_then(|mut answer| answer.stream());
        // A broken stream ends; a GET stream's client reconnects with a new GET.
        Ok(frames
            .map_err(|e| e.to_string())?
            .take_while(|frame| ready(frame.is_ok()))
            .filter_map(|frame| ready(frame.ok()))
            .boxed_local())
    }
}

impl Services for WorkerServices {}
