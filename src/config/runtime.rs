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

/// What the runner asks of the registry that keeps the runtime upstreams (one Durable Object
/// for the runner).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "command", rename_all = "camelCase")]
pub enum RegistryCommand {
    /// Every runtime upstream, in the order they were first added; answers
    /// `Vec<UpstreamConfig>`.
    List,
    /// Add `upstream`, or replace the one of its name in place; answers `true`.
    Put {
        /// The upstream, already checked with [`RunnerConfig::addable`].
        upstream: UpstreamConfig,
    },
    /// Remove the upstream `name`; answers whether there was one.
    Remove {
        /// Its name.
        name: String,
    },
}

/// Where the registry keeps its upstreams.
pub trait RegistryStore {
    /// Why the storage failed.
    type Error;
    /// The upstreams kept, in order.
    fn load(&self) -> Result<Vec<UpstreamConfig>, Self::Error>;
    /// Keeps `upstreams` in place of those before.
    fn save(&self, upstreams: &[UpstreamConfig]) -> Result<(), Self::Error>;
}

/// Carries out `command` on the upstreams in `store`; its answer as the runner reads it.
pub fn answer<S: RegistryStore>(
    store: &S,
    command: RegistryCommand,
) -> Result<serde_json::Value, S::Error> {
    let mut upstreams = store.load()?;
    Ok(match command {
        RegistryCommand::List => serde_json::to_value(&upstreams).unwrap_or_default(),
        RegistryCommand::Put { upstream } => {
            match upstreams.iter_mut().find(|kept| kept.name == upstream.name) {
                Some(kept) => *kept = upstream,
                None => upstreams.push(upstream),
            }
            store.save(&upstreams)?;
            serde_json::Value::Bool(true)
        }
        RegistryCommand::Remove { name } => {
            let before = upstreams.len();
            upstreams.retain(|kept| kept.name != name);
            let removed = upstreams.len() < before;
            if removed {
                store.save(&upstreams)?;
            }
            serde_json::Value::Bool(removed)
        }
    })
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

    #[derive(Default)]
    struct Memory(std::cell::RefCell<Vec<UpstreamConfig>>);

    impl RegistryStore for Memory {
        type Error = std::convert::Infallible;

        fn load(&self) -> Result<Vec<UpstreamConfig>, Self::Error> {
            Ok(self.0.borrow().clone())
        }

        fn save(&self, upstreams: &[UpstreamConfig]) -> Result<(), Self::Error> {
            *self.0.borrow_mut() = upstreams.to_vec();
            Ok(())
        }
    }

    #[test]
    fn the_registry_adds_replaces_in_place_and_removes() {
        let store = Memory::default();
        let upstream = |name: &str, url: &str| {
            RunnerConfig::addable(&format!(r#"{{"name": "{name}", "url": "{url}"}}"#), &[]).unwrap()
        };
        let put = |upstream| answer(&store, RegistryCommand::Put { upstream }).unwrap();
        put(upstream("linear", "https://a/mcp"));
        put(upstream("sentry", "https://b/mcp"));
        put(upstream("linear", "https://c/mcp"));
        let listed: Vec<UpstreamConfig> =
            serde_json::from_value(answer(&store, RegistryCommand::List).unwrap()).unwrap();
        let urls: Vec<&str> = listed.iter().map(|u| u.url.as_str()).collect();
        assert_eq!(urls, ["https://c/mcp", "https://b/mcp"]);
        let remove =
            |name: &str| answer(&store, RegistryCommand::Remove { name: name.into() }).unwrap();
        assert_eq!(remove("linear"), serde_json::json!(true));
        assert_eq!(remove("linear"), serde_json::json!(false));
        assert_eq!(store.0.borrow().len(), 1);
    }
}
