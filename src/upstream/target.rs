//! Where and how to reach one upstream, with its secrets resolved: what its Durable Object
//! builds for each command, from the operator's configuration and the Worker's secrets.

use rmcp::model::Tool;

use super::client::UpstreamError;
use super::health::CachedTools;
use crate::config::{AccessPolicy, RunnerConfig, UpstreamConfig};
use crate::redact::Secrets;

/// One upstream, ready to be called.
pub struct Target {
    /// Its configuration.
    pub config: UpstreamConfig,
    /// The headers every request to it carries, secrets resolved.
    pub headers: Vec<(String, String)>,
    /// What to remove from anything it says.
    pub secrets: Secrets,
    /// Who may use which of its tools.
    pub access: AccessPolicy,
}

impl Target {
    /// Upstream `name` of `config`, under the operator's policy `access`, its secrets read
    /// with `lookup`.
    pub fn configured(
        config: &RunnerConfig,
        access: AccessPolicy,
        name: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, UpstreamError> {
        let misconfigured = |detail: String| UpstreamError::Misconfigured { detail };
        let upstream = config
            .upstream(name)
            .ok_or_else(|| misconfigured(format!("no upstream is named `{name}`")))?;
        let headers = upstream
            .resolved_headers(&lookup)
            .map_err(|e| misconfigured(e.to_string()))?;
        Ok(Self {
            secrets: upstream.secrets(&lookup),
            config: upstream.clone(),
            headers,
            access,
        })
    }

    /// The cached tools the operator's filter lets through.
    pub fn exposed<'a>(&'a self, cached: &'a CachedTools) -> impl Iterator<Item = &'a Tool> {
        cached
            .tools
            .iter()
            .filter(|tool| self.config.tools.permits(&tool.name))
    }
}
