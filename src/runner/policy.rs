//! The operator's policy as a request reads it from the Worker's variables: the upstreams
//! (`UPSTREAMS`, then those added at runtime), who may use them (`ACCESS`), and the execution
//! limits (`LIMITS`). What cannot be used is refused with the field at fault, for the operator.
//!
//! The variables change only with a deploy, which starts new isolates; the upstreams added at
//! runtime live in the registry's one Durable Object, wherever in the world that is. So an
//! isolate keeps the policy it read for [`POLICY_TTL_MS`] ([`PolicyCache`]) rather than ask
//! the registry on every request, and reads it again at once after a change it made itself.

use std::cell::{Cell, RefCell};
use std::future::Future;

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

/// How long an isolate uses the operator's policy it read before reading it again: how long
/// an upstream added or removed at runtime may take to appear or go in the other isolates
/// (an upstream's object, told to forget a removed one, refuses its calls at once).
pub const POLICY_TTL_MS: u64 = 10_000;

/// The upstreams and who may use them, as an isolate last read them.
#[derive(Default)]
pub struct PolicyCache {
    read: RefCell<Option<(u64, (RunnerConfig, AccessPolicy))>>,
    /// How many changes were forgotten: a read that began before one is not kept.
    changes: Cell<u64>,
}

impl PolicyCache {
    /// The policy read within [`POLICY_TTL_MS`] before `now_ms`, or else the one `read` reads
    /// (kept when it could be used; an error is read again by the next request).
    pub async fn policy<F>(
        &self,
        now_ms: u64,
        read: impl FnOnce() -> F,
    ) -> Result<(RunnerConfig, AccessPolicy), StartError>
    where
        F: Future<Output = Result<(RunnerConfig, AccessPolicy), StartError>>,
    {
        if let Some((at_ms, policy)) = &*self.read.borrow() {
            if (*at_ms..at_ms.saturating_add(POLICY_TTL_MS)).contains(&now_ms) {
                return Ok(policy.clone());
            }
        }
        let changes = self.changes.get();
        let policy = read().await?;
        if self.changes.get() == changes {
            *self.read.borrow_mut() = Some((now_ms, policy.clone()));
        }
        Ok(policy)
    }

    /// Forgets the policy read: the registry changed, and the next request reads it again.
    pub fn forget(&self) {
        self.read.borrow_mut().take();
        self.changes.set(self.changes.get() + 1);
    }
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

    use futures::executor::block_on;

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

    /// A policy read for a cache: `reads` counts the reads, and the registry holds `added`.
    async fn read_policy(
        reads: &Cell<u32>,
        added: &str,
    ) -> Result<(RunnerConfig, AccessPolicy), StartError> {
        reads.set(reads.get() + 1);
        let added = serde_json::from_str(added).map_err(|e| e.to_string());
        operator_policy(vars(&[("UPSTREAMS", DEPLOYED)]), added)
    }

    #[test]
    fn an_isolate_reads_the_policy_again_after_its_ttl_or_a_change_it_made() {
        let cache = PolicyCache::default();
        let reads = Cell::new(0);
        let crm = r#"[{"name": "crm", "url": "http://127.0.0.1:8/mcp"}]"#;
        let at = |ms| block_on(cache.policy(ms, || read_policy(&reads, "[]"))).unwrap();
        assert_eq!(at(1_000).0.upstream_names(), ["docs"]);
        at(1_000 + POLICY_TTL_MS - 1);
        assert_eq!(reads.get(), 1, "read once within the TTL");

        let after_ttl = block_on(cache.policy(1_000 + POLICY_TTL_MS, || read_policy(&reads, crm)));
        assert_eq!(after_ttl.unwrap().0.upstream_names(), ["docs", "crm"]);
        assert_eq!(reads.get(), 2);

        cache.forget();
        let after_change =
            block_on(cache.policy(1_000 + POLICY_TTL_MS, || read_policy(&reads, "[]")));
        assert_eq!(after_change.unwrap().0.upstream_names(), ["docs"]);
        assert_eq!(reads.get(), 3, "read again at once after a change");
    }

    #[test]
    fn a_read_that_began_before_a_change_is_not_kept() {
        let cache = PolicyCache::default();
        let reads = Cell::new(0);
        let stale = block_on(cache.policy(5, || async {
            let policy = read_policy(&reads, "[]").await;
            cache.forget();
            policy
        }));
        assert_eq!(stale.unwrap().0.upstream_names(), ["docs"]);
        block_on(cache.policy(6, || read_policy(&reads, "[]"))).unwrap();
        assert_eq!(
            reads.get(),
            2,
            "the read that crossed the change was not kept"
        );
    }

    #[test]
    fn a_policy_that_could_not_be_read_is_read_again_by_the_next_request() {
        let cache = PolicyCache::default();
        let reads = Cell::new(0);
        let failed = block_on(cache.policy(5, || read_policy(&reads, "not json")));
        assert!(matches!(failed, Err(StartError::Registry(_))), "{failed:?}");
        let read = block_on(cache.policy(6, || read_policy(&reads, "[]")));
        assert_eq!(read.unwrap().0.upstream_names(), ["docs"]);
        assert_eq!(reads.get(), 2);
    }

    #[test]
    fn a_clock_that_went_back_reads_the_policy_again() {
        let cache = PolicyCache::default();
        let reads = Cell::new(0);
        block_on(cache.policy(50_000, || read_policy(&reads, "[]"))).unwrap();
        block_on(cache.policy(49_999, || read_policy(&reads, "[]"))).unwrap();
        assert_eq!(reads.get(), 2);
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
