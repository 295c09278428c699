//! The operator's configuration: which upstream MCP servers the runner aggregates.
//!
//! Configuration arrives as the `UPSTREAMS` Worker variable, a JSON array. Header values may
//! name Worker secrets as `${SECRET_NAME}`; they are resolved only inside the upstream's Durable
//! Object, at request time, so a secret value never enters the configuration, a log line, an
//! error message or the sandbox.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::names::{is_reserved_word, CONSOLE};

mod access;
mod access_keys;
mod accounts;
mod headers;
pub mod runtime;
mod tool_filter;
mod upstream_auth;

pub use access::{AccessError, AccessPolicy, Grant, ACCESS_VAR};
pub use access_keys::AccessKeys;
pub use accounts::{account_of_object, Accounts};
use headers::secret_names;
pub use tool_filter::{ToolFilter, Verdict};
pub use upstream_auth::{OAuthConfig, Per, UpstreamAuth, PUBLIC_URL_VAR};

/// Longest accepted upstream name; names become TypeScript namespaces the model types out.
const MAX_UPSTREAM_NAME_CHARS: usize = 32;

/// The Worker variable holding the configuration.
pub const UPSTREAMS_VAR: &str = "UPSTREAMS";

/// The whole runner configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunnerConfig {
    /// The upstream MCP servers, in the order the operator listed them: those of `UPSTREAMS`,
    /// then those added at runtime.
    pub upstreams: Vec<UpstreamConfig>,
    /// How many of `upstreams` come from `UPSTREAMS`.
    pub deployed: usize,
}

/// How long the runner waits for one answer from an upstream unless its `timeoutMs` says else.
pub const DEFAULT_TIMEOUT_MS: u32 = 30_000;

/// How long a fetched tool list counts as fresh unless `toolsTtlSeconds` says else. A stale
/// list is still served while a fresh one is fetched behind it.
pub const DEFAULT_TOOLS_TTL_SECONDS: u32 = 300;

/// Bounds on `timeoutMs`: long enough for one round trip, short of the execution's own limit.
const TIMEOUT_MS_RANGE: std::ops::RangeInclusive<u32> = 100..=120_000;

/// The largest answer read from an upstream unless its `maxResultBytes` says else: room for a
/// 10 MB tool result, while the few copies a result passes through stay well inside a Worker's
/// 128 MB. A larger answer fails with its own error and is not read further.
pub const DEFAULT_MAX_RESULT_BYTES: u32 = 16 * 1024 * 1024;

/// Bounds on `maxResultBytes`: an MCP answer needs a few hundred bytes; past 32 MiB its copies
/// crowd a Worker's memory.
const MAX_RESULT_BYTES_RANGE: std::ops::RangeInclusive<u32> = 1024..=32 * 1024 * 1024;

/// Bounds on `maxConcurrentCalls`.
const MAX_CONCURRENT_CALLS_RANGE: std::ops::RangeInclusive<u32> = 1..=1000;

/// One upstream MCP server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpstreamConfig {
    /// The namespace the upstream's tools appear under in TypeScript (`name.tool(...)`), and
    /// the name of the Durable Object that holds its MCP session.
    pub name: String,
    /// The upstream's endpoint: the MCP endpoint for streamable HTTP, the SSE endpoint for the
    /// 2024-11-05 HTTP+SSE transport.
    pub url: String,
    /// Which MCP transport the upstream speaks.
    #[serde(default)]
    pub transport: Transport,
    /// Extra request headers; values may contain `${SECRET_NAME}` placeholders.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How long to wait for each answer, in milliseconds; a `tools/call` past it is cancelled.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
    /// How long a fetched tool list is fresh, in seconds.
    #[serde(default = "default_tools_ttl_seconds")]
    pub tools_ttl_seconds: u32,
    /// Which of the upstream's tools the runner exposes.
    #[serde(default)]
    pub tools: ToolFilter,
    /// The largest answer read from the upstream, in bytes.
    #[serde(default = "default_max_result_bytes")]
    pub max_result_bytes: u32,
    /// How many of its tool calls may be in flight at once; later ones wait their turn, in
    /// order. For servers that lose writes under parallel calls. No limit when absent.
    #[serde(default)]
    pub max_concurrent_calls: Option<u32>,
    /// How the runner signs in to the upstream, when it accepts only OAuth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Box<UpstreamAuth>>,
}

/// The MCP transports the runner can speak to an upstream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// Streamable HTTP (protocol 2025-03-26 and later): one POST per message.
    #[default]
    StreamableHttp,
    /// The HTTP+SSE transport of protocol 2024-11-05: a GET event stream carries every answer,
    /// messages are POSTed to the endpoint the stream names.
    Sse,
}

fn default_timeout_ms() -> u32 {
    DEFAULT_TIMEOUT_MS
}

fn default_tools_ttl_seconds() -> u32 {
    DEFAULT_TOOLS_TTL_SECONDS
}

fn default_max_result_bytes() -> u32 {
    DEFAULT_MAX_RESULT_BYTES
}

/// `Err` naming the range when `value` is outside it.
fn within_range(value: u32, range: &std::ops::RangeInclusive<u32>) -> Result<(), String> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(format!(
        "{value} is outside {} to {}",
        range.start(),
        range.end()
    ))
}

/// A configuration the runner refuses, naming the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The variable is not a JSON array of upstream objects.
    #[error("UPSTREAMS is not valid: {0}")]
    Malformed(String),
    /// A field holds a value the runner cannot use.
    #[error("UPSTREAMS[{index}].{field}: {problem}")]
    InvalidField {
        /// Position of the upstream in the array.
        index: usize,
        /// The offending field, e.g. `url` or `headers.Authorization`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A header names a secret the Worker does not have.
    #[error("upstream `{upstream}` header `{header}` needs secret `{secret}`, which is not set")]
    MissingSecret {
        /// The upstream whose header needs it.
        upstream: String,
        /// The header that names it.
        header: String,
        /// The secret's name (never its value).
        secret: String,
    },
}

impl RunnerConfig {
    /// Parses and validates the `UPSTREAMS` JSON text.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let upstreams: Vec<UpstreamConfig> =
            serde_json::from_str(text).map_err(|e| ConfigError::Malformed(e.to_string()))?;
        let mut seen = HashSet::new();
        for (index, upstream) in upstreams.iter().enumerate() {
            upstream.validate(index)?;
            if !seen.insert(upstream.name.as_str()) {
                return Err(invalid(
                    index,
                    "name",
                    format!("`{}` is used twice", upstream.name),
                ));
            }
        }
        Ok(Self {
            deployed: upstreams.len(),
            upstreams,
        })
    }

    /// The upstream with this name, if configured.
    pub fn upstream(&self, name: &str) -> Option<&UpstreamConfig> {
        self.upstreams.iter().find(|u| u.name == name)
    }

    /// The names of the upstreams `UPSTREAMS` configures (not those added at runtime).
    pub fn deployed_names(&self) -> Vec<String> {
        let deployed = self.upstreams.iter().take(self.deployed);
        deployed.map(|u| u.name.clone()).collect()
    }

    /// Every configured upstream name, in configuration order.
    pub fn upstream_names(&self) -> Vec<String> {
        self.upstreams.iter().map(|u| u.name.clone()).collect()
    }

    /// The upstreams a client asked to be limited to, from the comma-separated `upstreams`
    /// query parameter of its MCP URL (`/mcp?upstreams=github,docs`), in configuration order;
    /// every upstream when it did not ask. A session keeps the scope it was opened with, so a
    /// client can hand an agent a URL that reaches only what the task needs.
    pub fn scope(&self, requested: Option<&str>) -> Result<Vec<String>, ScopeError> {
        let Some(requested) = requested else {
            return Ok(self.upstream_names());
        };
        let names: Vec<&str> = requested
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .collect();
        if names.is_empty() {
            return Err(ScopeError::Empty);
        }
        if let Some(unknown) = names.iter().find(|name| self.upstream(name).is_none()) {
            return Err(ScopeError::Unknown {
                name: (*unknown).to_owned(),
                configured: self.upstream_names().join(", "),
            });
        }
        Ok(self
            .upstream_names()
            .into_iter()
            .filter(|name| names.contains(&name.as_str()))
            .collect())
    }
}

/// An `upstreams` query parameter the runner cannot honour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// The parameter is there but names nothing.
    #[error("the `upstreams` URL parameter names no upstream; leave it out to use all of them")]
    Empty,
    /// It names an upstream that is not configured.
    #[error("the `upstreams` URL parameter names `{name}`, which is not configured; the configured upstreams are: {configured}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// Every configured name, comma-separated.
        configured: String,
    },
}

impl UpstreamConfig {
    fn validate(&self, index: usize) -> Result<(), ConfigError> {
        validate_name(&self.name).map_err(|problem| invalid(index, "name", problem))?;
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(invalid(
                index,
                "url",
                format!("`{}` is not an http(s) URL", self.url),
            ));
        }
        for (header, value) in &self.headers {
            secret_names(value)
                .map_err(|problem| invalid(index, &format!("headers.{header}"), problem))?;
        }
        within_range(self.timeout_ms, &TIMEOUT_MS_RANGE)
            .map_err(|problem| invalid(index, "timeoutMs", problem))?;
        within_range(self.max_result_bytes, &MAX_RESULT_BYTES_RANGE)
            .map_err(|problem| invalid(index, "maxResultBytes", problem))?;
        if let Some(calls) = self.max_concurrent_calls {
            within_range(calls, &MAX_CONCURRENT_CALLS_RANGE)
                .map_err(|problem| invalid(index, "maxConcurrentCalls", problem))?;
        }
        if let Some(UpstreamAuth::OAuth(oauth)) = self.auth.as_deref() {
            if self.transport != Transport::StreamableHttp {
                return Err(invalid(
                    index,
                    "auth",
                    "OAuth is spoken only over streamable HTTP (the 2025-03-26 transport and later)"
                        .into(),
                ));
            }
            if self
                .headers
                .keys()
                .any(|h| h.eq_ignore_ascii_case("authorization"))
            {
                return Err(invalid(
                    index,
                    "headers.Authorization",
                    "an OAuth upstream's Authorization header carries its tokens; remove it".into(),
                ));
            }
            oauth
                .validate()
                .map_err(|(field, problem)| invalid(index, &format!("auth.{field}"), problem))?;
        }
        self.tools
            .validate()
            .map_err(|(list, problem)| invalid(index, &format!("tools.{list}"), problem))
    }

    /// Its OAuth settings, when it signs in with OAuth.
    pub fn oauth(&self) -> Option<&OAuthConfig> {
        match self.auth.as_deref() {
            Some(UpstreamAuth::OAuth(oauth)) => Some(oauth),
            None => None,
        }
    }
}

fn invalid(index: usize, field: &str, problem: String) -> ConfigError {
    ConfigError::InvalidField {
        index,
        field: field.to_owned(),
        problem,
    }
}

fn validate_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !starts_well || !rest_ok || name.chars().count() > MAX_UPSTREAM_NAME_CHARS {
        return Err(format!(
            "`{name}` must be 1 to {MAX_UPSTREAM_NAME_CHARS} characters of a-z, 0-9 and _, \
             starting with a letter"
        ));
    }
    if is_reserved_word(name) || name == CONSOLE {
        return Err(format!(
            "`{name}` is reserved in JavaScript; choose another name"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
