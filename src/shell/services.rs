//! The Worker as the runner's [`Services`] (an execution's platform, in [`super::platform`],
//! and the runner's objects, in [`super::objects`]); and making the [`Runner`] of one request
//! from the configuration and limits in the Worker's variables.

use worker::{Context, Env};

use crate::config::{
    AccessError, AccessPolicy, ConfigError, RunnerConfig, ACCESS_VAR, UPSTREAMS_VAR,
};
use crate::protocol::person::Person;
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
    #[error(transparent)]
    Access(#[from] AccessError),
}

/// One request's bindings and context.
pub(crate) struct WorkerServices {
    pub(super) env: Env,
    /// The request's context, for work that must outlive the response.
    pub(super) ctx: Context,
}

/// The runner for one request from `person`, asking with the URL's `upstreams` parameter for
/// `requested_upstreams`.
pub(crate) fn start(
    env: Env,
    ctx: Context,
    person: Option<Person>,
    requested_upstreams: Option<String>,
) -> Result<Runner<WorkerServices>, StartError> {
    let (config, access) = operator_policy(&env)?;
    let limits = match env.var(LIMITS_VAR) {
        Ok(text) => ExecutionLimits::from_json(&text.to_string())?,
        Err(_) => ExecutionLimits::default(),
    };
    let services = WorkerServices { env, ctx };
    Ok(Runner::new(
        services,
        config,
        &access,
        limits,
        person,
        requested_upstreams,
    ))
}

/// The upstreams (`UPSTREAMS`) and who may use them (`ACCESS`).
pub(crate) fn operator_policy(env: &Env) -> Result<(RunnerConfig, AccessPolicy), StartError> {
    let config = match env.var(UPSTREAMS_VAR) {
        Ok(text) => RunnerConfig::from_json(&text.to_string())?,
        Err(_) => RunnerConfig {
            upstreams: Vec::new(),
        },
    };
    let access = env.var(ACCESS_VAR).ok().map(|text| text.to_string());
    let access = AccessPolicy::from_json(access.as_deref(), &config.upstream_names())?;
    Ok((config, access))
}

impl Services for WorkerServices {}
