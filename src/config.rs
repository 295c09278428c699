//! The operator's configuration: which upstream MCP servers the runner aggregates.
//!
//! Configuration arrives as the `UPSTREAMS` Worker variable, a JSON array. Header values may
//! name Worker secrets as `${SECRET_NAME}`; they are resolved only inside the upstream's Durable
//! Object, at request time, so a secret value never enters the configuration, a log line, an
//! error message or the sandbox.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;

use crate::codemode::names::is_reserved_word;

/// Longest accepted upstream name; names become TypeScript namespaces the model types out.
const MAX_UPSTREAM_NAME_CHARS: usize = 32;

/// Names the sandbox harness already binds inside the user's program.
const NAMES_TAKEN_BY_HARNESS: &[&str] = &["console"];

/// The whole runner configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerConfig {
    /// The upstream MCP servers, in the order the operator listed them.
    pub upstreams: Vec<UpstreamConfig>,
}

/// One upstream MCP server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// The namespace the upstream's tools appear under in TypeScript (`name.tool(...)`), and
    /// the name of the Durable Object that holds its MCP session.
    pub name: String,
    /// The upstream's streamable HTTP endpoint.
    pub url: String,
    /// Extra request headers; values may contain `${SECRET_NAME}` placeholders.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
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
        Ok(Self { upstreams })
    }

    /// The upstream with this name, if configured.
    pub fn upstream(&self, name: &str) -> Option<&UpstreamConfig> {
        self.upstreams.iter().find(|u| u.name == name)
    }

    /// Every configured upstream name, in configuration order.
    pub fn upstream_names(&self) -> Vec<String> {
        self.upstreams.iter().map(|u| u.name.clone()).collect()
    }
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
        Ok(())
    }

    /// The request headers with every `${SECRET}` replaced through `lookup`.
    pub fn resolved_headers(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<(String, String)>, ConfigError> {
        self.headers
            .iter()
            .map(|(header, template)| {
                let value =
                    substitute(template, &lookup).map_err(|secret| ConfigError::MissingSecret {
                        upstream: self.name.clone(),
                        header: header.clone(),
                        secret,
                    })?;
                Ok((header.clone(), value))
            })
            .collect()
    }

    /// Every distinct secret value this upstream's headers use; used to scrub them from text
    /// that could leave the runner (error messages from the upstream, for instance).
    pub fn secret_values(&self, lookup: impl Fn(&str) -> Option<String>) -> Vec<String> {
        self.headers
            .values()
            .flat_map(|template| secret_names(template).unwrap_or_default())
            .filter_map(|name| lookup(&name))
            .filter(|value| !value.is_empty())
            .collect()
    }
}

/// `text` with every secret value replaced by `[redacted]`; applied to anything an upstream
/// says before it leaves the upstream's object.
pub fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "[redacted]"))
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
    if is_reserved_word(name) || NAMES_TAKEN_BY_HARNESS.contains(&name) {
        return Err(format!(
            "`{name}` is reserved in JavaScript; choose another name"
        ));
    }
    Ok(())
}

/// The secret names a header template refers to, or why the template is malformed.
fn secret_names(template: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| "a `${` has no closing `}`".to_owned())?;
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`${{{name}}}` is not a secret name (A-Z, 0-9, _)"));
        }
        names.push(name.to_owned());
        rest = &after[end + 1..];
    }
    Ok(names)
}

/// Replaces each `${NAME}` in `template`; on a missing secret, returns its name.
fn substitute(template: &str, lookup: &impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        out.push_str(&lookup(name).ok_or_else(|| name.to_owned())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    const TWO_UPSTREAMS: &str = r#"[
        {"name": "everything", "url": "http://127.0.0.1:3101/mcp"},
        {"name": "github", "url": "https://api.example.com/mcp",
         "headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"}}
    ]"#;

    #[test]
    fn parses_upstreams_in_order() {
        let config = RunnerConfig::from_json(TWO_UPSTREAMS).unwrap();
        assert_eq!(config.upstream_names(), ["everything", "github"]);
        assert_eq!(
            config.upstream("github").unwrap().url,
            "https://api.example.com/mcp"
        );
    }

    /// The fenced block after `<!-- example: NAME -->` in README.md.
    fn readme_example(name: &str) -> &'static str {
        let readme = include_str!("../README.md");
        let marker = format!("<!-- example: {name} -->");
        let after_marker = &readme[readme.find(&marker).expect("example is in README.md")..];
        let body = &after_marker[after_marker.find("```").unwrap()..];
        let body = &body[body.find('\n').unwrap() + 1..];
        &body[..body.find("\n```").unwrap()]
    }

    #[test]
    fn the_readme_configuration_example_is_valid() {
        let config = RunnerConfig::from_json(readme_example("config")).unwrap();
        assert_eq!(config.upstream_names(), ["everything", "github"]);
        let github = config.upstream("github").unwrap();
        assert_eq!(
            github.resolved_headers(|_| Some("t".into())).unwrap()[0].1,
            "Bearer t"
        );
    }

    #[test]
    fn resolves_secret_placeholders_in_headers() {
        let config = RunnerConfig::from_json(TWO_UPSTREAMS).unwrap();
        let github = config.upstream("github").unwrap();
        let headers = github
            .resolved_headers(|name| (name == "GITHUB_TOKEN").then(|| "s3cr3t".to_owned()))
            .unwrap();
        assert_eq!(
            headers,
            [("Authorization".to_owned(), "Bearer s3cr3t".to_owned())]
        );
        assert_eq!(
            github.secret_values(|_| Some("s3cr3t".to_owned())),
            ["s3cr3t"]
        );
    }

    #[test]
    fn missing_secret_names_the_secret_but_not_a_value() {
        let config = RunnerConfig::from_json(TWO_UPSTREAMS).unwrap();
        let err = config
            .upstream("github")
            .unwrap()
            .resolved_headers(|_| None)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "upstream `github` header `Authorization` needs secret `GITHUB_TOKEN`, which is not set"
        );
    }

    #[test]
    fn redact_replaces_every_occurrence_of_each_secret() {
        let secrets = vec!["s3cr3t".to_owned(), String::new()];
        assert_eq!(
            redact("a s3cr3t b s3cr3t", &secrets),
            "a [redacted] b [redacted]"
        );
    }

    #[test]
    fn rejects_each_bad_field_by_name() {
        let cases = [
            (
                r#"[{"name": "Bad-Name", "url": "http://x"}]"#,
                "UPSTREAMS[0].name",
            ),
            (r#"[{"name": "ok", "url": "ftp://x"}]"#, "UPSTREAMS[0].url"),
            (
                r#"[{"name": "ok", "url": "http://x", "headers": {"A": "${"}}]"#,
                "headers.A",
            ),
            (
                r#"[{"name": "a", "url": "http://x"}, {"name": "a", "url": "http://y"}]"#,
                "[1].name",
            ),
            (r#"[{"name": "class", "url": "http://x"}]"#, "reserved"),
            (r#"[{"name": "console", "url": "http://x"}]"#, "reserved"),
            (
                r#"[{"name": "a", "url": "http://x", "extra": 1}]"#,
                "unknown field `extra`",
            ),
            (r#"{"name": "a"}"#, "UPSTREAMS is not valid"),
        ];
        for (json, expected) in cases {
            let err = RunnerConfig::from_json(json).unwrap_err().to_string();
            assert!(err.contains(expected), "{json}: {err}");
        }
    }
}
