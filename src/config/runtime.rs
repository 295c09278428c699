//! Upstreams the operator adds while the runner runs (through the operator endpoint): kept by
//! the runner, validated as `UPSTREAMS` entries are, and listed after them. `UPSTREAMS` wins a
//! name: an entry it also names is its, and changes only with a deploy.

use super::{ConfigError, RunnerConfig, UpstreamConfig};

/// Why an upstream cannot be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddError {
    /// The body is not one upstream's JSON.
    #[error("the upstream is not valid: {0}")]
    Malformed(String),
    /// A field holds a value the runner cannot use.
    #[error("{field}: {problem}")]
    InvalidField {
        /// The field, e.g. `url`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// `UPSTREAMS` names it already.
    #[error("`{0}` is configured in UPSTREAMS; change it there and deploy")]
    Configured(String),
}

impl RunnerConfig {
    /// This configuration with the operator's runtime `added` upstreams after its own; one
    /// whose name it already has is left out.
    pub fn with_added(mut self, added: &[UpstreamConfig]) -> Self {
        for upstream in added {
            if self.upstream(&upstream.name).is_none() {
                self.upstreams.push(upstream.clone());
            }
        }
        self
    }

    /// `json`, one upstream, if it can be added to this configuration (it may replace an
    /// upstream added before, never one of `UPSTREAMS`: `deployed` names those).
    pub fn addable(json: &str, deployed: &[String]) -> Result<UpstreamConfig, AddError> {
        let upstream: UpstreamConfig =
            serde_json::from_str(json).map_err(|e| AddError::Malformed(e.to_string()))?;
        upstream.validate(0).map_err(|error| match error {
            ConfigError::InvalidField { field, problem, .. } => {
                AddError::InvalidField { field, problem }
            }
            other => AddError::Malformed(other.to_string()),
        })?;
        if deployed.contains(&upstream.name) {
            return Err(AddError::Configured(upstream.name));
        }
        Ok(upstream)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn deployed() -> RunnerConfig {
        RunnerConfig::from_json(r#"[{"name": "docs", "url": "https://docs.example/mcp"}]"#).unwrap()
    }

    #[test]
    fn an_added_upstream_comes_after_the_deployed_ones_which_win_a_name() {
        let linear = RunnerConfig::addable(
            r#"{"name": "linear", "url": "https://mcp.linear.app/mcp"}"#,
            &deployed().upstream_names(),
        )
        .unwrap();
        let shadow = UpstreamConfig {
            url: "https://evil.example/mcp".into(),
            ..deployed().upstreams[0].clone()
        };
        let merged = deployed().with_added(&[linear, shadow]);
        assert_eq!(merged.upstream_names(), ["docs", "linear"]);
        assert_eq!(
            merged.upstream("docs").unwrap().url,
            "https://docs.example/mcp"
        );
    }

    #[test]
    fn an_upstream_is_refused_with_the_field_at_fault_or_when_deployed() {
        let names = deployed().upstream_names();
        let bad_url = RunnerConfig::addable(r#"{"name": "x", "url": "ftp://x"}"#, &names);
        assert!(
            matches!(bad_url, Err(AddError::InvalidField { ref field, .. }) if field == "url"),
            "{bad_url:?}"
        );
        let taken = RunnerConfig::addable(r#"{"name": "docs", "url": "https://d/mcp"}"#, &names);
        assert_eq!(taken, Err(AddError::Configured("docs".into())));
        let unknown = RunnerConfig::addable(
            r#"{"name": "x", "url": "https://x", "hedaers": {}}"#,
            &names,
        );
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `hedaers`"));
    }
}
