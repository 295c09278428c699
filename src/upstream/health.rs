//! What an upstream's Durable Object knows about its upstream beyond the session: the cached
//! tool list and how well the upstream has been answering. The operator reads both through the
//! admin endpoint ([`UpstreamStatus`]).

use rmcp::model::Tool;
use serde::{Deserialize, Serialize};

use super::client::UpstreamError;

/// A tool list as fetched, kept in the object's storage so it outlives restarts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedTools {
    /// Every tool the upstream listed (before the operator's filter).
    pub tools: Vec<Tool>,
    /// When they were fetched, in milliseconds since the Unix epoch.
    pub fetched_at_ms: u64,
    /// Tools the upstream listed that were left out: too large even cut, or past the list's
    /// [budget](crate::upstream::tool_caps::MAX_LIST_BYTES).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub left_out: usize,
}

/// Whether a count is nothing, so it is not stored.
fn is_zero(count: &usize) -> bool {
    *count == 0
}

impl CachedTools {
    /// Whether the list is younger than `ttl_seconds` at `now_ms`.
    pub fn is_fresh(&self, now_ms: u64, ttl_seconds: u32) -> bool {
        now_ms.saturating_sub(self.fetched_at_ms) < u64::from(ttl_seconds) * 1000
    }
}

/// How an upstream has been answering since its object started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Requests answered successfully.
    pub successes: u64,
    /// Requests that failed.
    pub failures: u64,
    /// When the last success was, in milliseconds since the Unix epoch.
    pub last_success_at_ms: Option<u64>,
    /// How long the last successful request took.
    pub last_latency_ms: Option<u64>,
    /// The last failure.
    pub last_error: Option<LastError>,
}

/// One failure, as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastError {
    /// When it happened, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// What happened (secrets already redacted).
    pub message: String,
    /// The failure itself, for the object's own answers (which quote the upstream's words
    /// apart from the runner's); the operator reads `message`.
    #[serde(skip)]
    pub error: Option<UpstreamError>,
}

impl Health {
    /// Records a request that succeeded at `now_ms` after `latency_ms`.
    pub fn record_success(&mut self, now_ms: u64, latency_ms: u64) {
        self.successes += 1;
        self.last_success_at_ms = Some(now_ms);
        self.last_latency_ms = Some(latency_ms);
    }

    /// Records a request that failed at `now_ms`.
    pub fn record_failure(&mut self, now_ms: u64, error: &UpstreamError) {
        self.failures += 1;
        self.last_error = Some(LastError {
            at_ms: now_ms,
            message: error.to_string(),
            error: Some(error.clone()),
        });
    }

    /// Adds what `other` recorded since it started: the requests a lessee made
    /// ([`crate::upstream::session::Lease`]) count as the object's own.
    pub fn merge(&mut self, other: Health) {
        self.successes += other.successes;
        self.failures += other.failures;
        if other.last_success_at_ms >= self.last_success_at_ms {
            self.last_success_at_ms = other.last_success_at_ms.or(self.last_success_at_ms);
            self.last_latency_ms = other.last_latency_ms.or(self.last_latency_ms);
        }
        let later = |error: &Option<LastError>| error.as_ref().map(|e| e.at_ms);
        if later(&other.last_error) > later(&self.last_error) {
            self.last_error = other.last_error;
        }
    }

    /// Whether the last request failed.
    pub fn is_failing(&self) -> bool {
        match (&self.last_error, self.last_success_at_ms) {
            (Some(error), Some(success)) => error.at_ms >= success,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

/// One upstream as the operator's endpoint lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamStatus {
    /// The configured name.
    pub name: String,
    /// `ready`, `failing` or `unknown` (nothing asked of it yet).
    pub state: String,
    /// Tools exposed after the operator's filter, when a list is cached.
    pub tool_count: Option<usize>,
    /// Tools the upstream lists, before the filter.
    pub upstream_tool_count: Option<usize>,
    /// Tools the upstream lists that the runner left out, too large even cut or past the
    /// list's [budget](crate::upstream::tool_caps::MAX_LIST_BYTES); absent when none were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools_left_out: Option<usize>,
    /// When the cached list was fetched.
    pub tools_fetched_at_ms: Option<u64>,
    /// Whether the cached list is within its TTL.
    pub tools_fresh: bool,
    /// The request record.
    pub health: Health,
}

impl UpstreamStatus {
    /// The status from what the object holds; `exposed` counts the tools that pass the filter.
    pub fn new(
        name: &str,
        cached: Option<&CachedTools>,
        exposed: Option<usize>,
        fresh: bool,
        health: &Health,
    ) -> Self {
        let state = if health.is_failing() {
            "failing"
        } else if health.last_success_at_ms.is_some() || cached.is_some() {
            "ready"
        } else {
            "unknown"
        };
        Self {
            name: name.to_owned(),
            state: state.to_owned(),
            tool_count: exposed,
            upstream_tool_count: cached.map(|c| c.tools.len()),
            tools_left_out: cached.map(|c| c.left_out).filter(|&count| count > 0),
            tools_fetched_at_ms: cached.map(|c| c.fetched_at_ms),
            tools_fresh: fresh,
            health: health.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn a_tool_list_is_fresh_for_its_ttl() {
        let cached = CachedTools {
            tools: Vec::new(),
            fetched_at_ms: 10_000,
            left_out: 0,
        };
        assert!(cached.is_fresh(10_000, 5));
        assert!(cached.is_fresh(14_999, 5));
        assert!(!cached.is_fresh(15_000, 5));
        assert!(!cached.is_fresh(10_000, 0), "a TTL of 0 never caches");
    }

    #[test]
    fn a_lessees_requests_count_as_the_objects_and_the_later_outcome_decides() {
        let mut object = Health::default();
        object.record_success(100, 12);
        object.record_failure(200, &UpstreamError::Timeout { ms: 5 });
        let mut lessee = Health::default();
        lessee.record_failure(150, &UpstreamError::SessionExpired);
        lessee.record_success(300, 7);
        object.merge(lessee);
        assert_eq!((object.successes, object.failures), (2, 2));
        assert_eq!(
            (object.last_success_at_ms, object.last_latency_ms),
            (Some(300), Some(7))
        );
        assert_eq!(object.last_error.as_ref().map(|e| e.at_ms), Some(200));
        assert!(!object.is_failing());
        let mut failing = Health::default();
        failing.record_failure(400, &UpstreamError::SessionExpired);
        object.merge(failing);
        assert!(object.is_failing());
        assert_eq!(object.last_success_at_ms, Some(300));
    }

    #[test]
    fn health_is_failing_until_a_later_success() {
        let mut health = Health::default();
        assert!(!health.is_failing());
        health.record_failure(100, &UpstreamError::Timeout { ms: 5 });
        assert!(health.is_failing());
        health.record_success(200, 12);
        assert!(!health.is_failing());
        assert_eq!(
            (health.successes, health.failures, health.last_latency_ms),
            (1, 1, Some(12))
        );
        health.record_failure(300, &UpstreamError::SessionExpired);
        assert!(health.is_failing());
        let status = UpstreamStatus::new("a", None, None, false, &health);
        assert_eq!(status.state, "failing");
        assert_eq!(
            UpstreamStatus::new("a", None, None, false, &Health::default()).state,
            "unknown"
        );
    }
}
