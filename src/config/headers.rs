//! Header templates: `${SECRET}` placeholders resolved at request time, and the secrets to
//! redact from what the upstream says, derived from the same templates.

use super::{ConfigError, UpstreamConfig};
use crate::redact::Secrets;

impl UpstreamConfig {
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

    /// What to remove from anything this upstream says: every secret value its headers use,
    /// and (encoded) each header value that holds one, since an upstream may echo a whole
    /// header in base64.
    pub fn secrets(&self, lookup: impl Fn(&str) -> Option<String>) -> Secrets {
        let mut values = Vec::new();
        let mut wrappers = Vec::new();
        for template in self.headers.values() {
            let names = secret_names(template).unwrap_or_default();
            let resolved: Vec<String> = names.iter().filter_map(|name| lookup(name)).collect();
            if !resolved.is_empty() {
                wrappers.extend(substitute(template, &lookup));
            }
            values.extend(resolved);
        }
        Secrets::new(values, wrappers)
    }
}

/// The secret names a header template refers to, or why the template is malformed.
pub(super) fn secret_names(template: &str) -> Result<Vec<String>, String> {
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
pub(super) fn substitute(
    template: &str,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
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

    use crate::config::tests::TWO_UPSTREAMS;
    use crate::config::RunnerConfig;

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
        let secrets = github.secrets(|_| Some("s3cr3t".to_owned()));
        assert_eq!(secrets.text("Bearer s3cr3t"), "Bearer [redacted]");
        assert_eq!(
            secrets.text(&base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                "Bearer s3cr3t"
            )),
            "[redacted]"
        );
        assert_eq!(secrets.text("token s3cr3t"), "token [redacted]");
        assert!(RunnerConfig::from_json(TWO_UPSTREAMS).unwrap().upstreams[0]
            .secrets(|_| Some("unused".to_owned()))
            .is_empty());
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
}
