//! The Worker as the runner's [`Services`] (an execution's platform, in [`super::platform`],
//! and the runner's objects, in [`super::objects`]); and making the [`Runner`] of one request
//! from the configuration and limits in the Worker's variables.

use worker::{Context, Env};

use crate::config::{ConfigError, RunnerConfig, UPSTREAMS_VAR};
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

impl Services for WorkerServices {}
