//! The operator's policy as one request reads it from the Worker's variables: the upstreams
//! (`UPSTREAMS`, then those added at runtime), who may use them (`ACCESS`), and the execution
//! limits (`LIMITS`). Read on every request, so a deploy or a registry change takes effect at
//! once; what cannot be used is refused with the field at fault, for the operator.

use crate::config::{
    AccessError, AccessPolicy, ConfigError, RunnerConfig, UpstreamConfig, ACCESS_VAR, UPSTREAMS_VAR,
};
use crate::sandbox::limits::{ExecutionLimits, LimitsError};

/// The variable holding the execution limits.
pub const LIMITS_VAR: &str = "LIMITS";

/// Why the runner cannot start; shown to the operator.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// `UPSTREAMS` cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// `LIMITS` cannot be used.
    #[error(transparent)]
    Limits(#[from] LimitsError),
    /// `ACCESS` cannot be used.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The registry of runtime upstreams could not be read.
    #[error("the registry of added upstreams could not be read: {0}")]
    Registry(String),
}

/// The upstreams (`UPSTREAMS` from `var`, then `added` at runtime, or why the registry could
/// not be read) and who may use them (`ACCESS`).
pub fn operator_policy(
    var: impl Fn(&str) -> Option<String>,
    added: Result<Vec<UpstreamConfig>, String>,
) -> Result<(RunnerConfig, AccessPolicy), StartError> {
    let config = match var(UPSTREAMS_VAR) {
        Some(text) => RunnerConfig::from_json(&text)?,
        None => RunnerConfig::default(),
    };
    let config = config.with_added(&added.map_err(StartError::Registry)?);
    let access = AccessPolicy::from_json(var(ACCESS_VAR).as_deref(), &config.upstream_names())?;
    Ok((config, access))
}

/// The execution limits `LIMITS` in `var` sets (the defaults without it).
pub fn limits(var: impl Fn(&str) -> Option<String>) -> Result<ExecutionLimits, StartError> {
    match var(LIMITS_VAR) {
        Some(text) => Ok(ExecutionLimits::from_json(&text)?),
        None => Ok(ExecutionLimits::default()),
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        |name| {
            let found = pairs.iter().find(|(n, _)| *n == name);
            found.map(|(_, value)| (*value).to_owned())
        }
    }

    const DEPLOYED: &str = r#"[{"name": "docs", "url": "http://127.0.0.1:9/mcp"}]"#;

    #[test]
    fn the_deployed_upstreams_come_first_then_those_added_at_runtime() {
        let added: Vec<UpstreamConfig> =
            serde_json::from_str(r#"[{"name": "crm", "url": "http://127.0.0.1:8/mcp"}]"#).unwrap();
        let (config, _) = operator_policy(vars(&[("UPSTREAMS", DEPLOYED)]), Ok(added)).unwrap();
        assert_eq!(config.upstream_names(), ["docs", "crm"]);
    }

    #[test]
    fn each_part_that_cannot_be_used_is_refused_saying_which() {
        let unreadable = operator_policy(vars(&[]), Err("storage failed".into())).unwrap_err();
        assert!(unreadable.to_string().contains("registry"), "{unreadable}");
        let access = vars(&[
            ("UPSTREAMS", DEPLOYED),
            ("ACCESS", r#"{"default": {"gitub": {}}}"#),
        ]);
        let unknown = operator_policy(access, Ok(Vec::new())).unwrap_err();
        assert!(unknown.to_string().contains("gitub"), "{unknown}");
        let limits = limits(vars(&[("LIMITS", r#"{"timeoutMs": 5}"#)])).unwrap_err();
        assert!(limits.to_string().contains("LIMITS.timeoutMs"), "{limits}");
    }
}
