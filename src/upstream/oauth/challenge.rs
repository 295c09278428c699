//! Reading an upstream's `WWW-Authenticate` (RFC 9110 §11.6.1): the Bearer challenge's
//! parameters the MCP authorization spec uses: where the protected resource metadata is
//! (RFC 9728 §5.1), the scope to ask for, and the error (`invalid_token`,
//! `insufficient_scope`, RFC 6750 §3).

/// The parts of a Bearer challenge the runner acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    /// `resource_metadata`: the URL of the protected resource metadata.
    pub resource_metadata: Option<String>,
    /// `scope`: what to ask for, space-separated.
    pub scope: Option<String>,
    /// `error`: why the token was refused.
    pub error: Option<String>,
}

impl Challenge {
    /// The Bearer challenge in a `WWW-Authenticate` value, if there is one. Other schemes'
    /// challenges in the same value are skipped; a malformed parameter ends the reading there.
    pub fn bearer(header: &str) -> Option<Self> {
        let mut reader = Reader(header.trim());
        loop {
            let scheme = reader.token()?;
            let params = reader.params();
            if scheme.eq_ignore_ascii_case("bearer") {
                let find = |name: &str| {
                    params
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(name))
                        .map(|(_, value)| value.clone())
                };
                return Some(Self {
                    resource_metadata: find("resource_metadata"),
                    scope: find("scope"),
                    error: find("error"),
                });
            }
            reader.0 = reader.0.trim_start_matches([',', ' ', '\t']);
        }
    }
}

/// A cursor over a `WWW-Authenticate` value.
struct Reader<'a>(&'a str);

impl Reader<'_> {
    /// The next token (a scheme or a parameter name).
    fn token(&mut self) -> Option<String> {
        self.0 = self.0.trim_start_matches([',', ' ', '\t']);
        let end = self
            .0
            .find(|c: char| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)))
            .unwrap_or(self.0.len());
        let (token, rest) = self.0.split_at(end);
        self.0 = rest;
        (!token.is_empty()).then(|| token.to_owned())
    }

    /// The `name=value` parameters of one challenge, up to the next scheme.
    fn params(&mut self) -> Vec<(String, String)> {
        let mut params = Vec::new();
        loop {
            let saved = self.0;
            let Some(name) = self.token() else { break };
            let rest = self.0.trim_start();
            let Some(after_equals) = rest.strip_prefix('=') else {
                // A token with no `=` is the next challenge's scheme (or a token68).
                self.0 = saved;
                break;
            };
            self.0 = after_equals.trim_start();
            let Some(value) = self.value() else { break };
            params.push((name, value));
            self.0 = self.0.trim_start();
            match self.0.strip_prefix(',') {
                Some(rest) => self.0 = rest,
                None => break,
            }
        }
        params
    }

    /// A parameter's value: a quoted string (with `\` escapes) or a token.
    fn value(&mut self) -> Option<String> {
        let Some(quoted) = self.0.strip_prefix('"') else {
            return self.token();
        };
        let mut value = String::new();
        let mut chars = quoted.char_indices();
        while let Some((at, c)) = chars.next() {
            match c {
                '\\' => value.push(chars.next()?.1),
                '"' => {
                    self.0 = &quoted[at + 1..];
                    return Some(value);
                }
                c => value.push(c),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn a_bearer_challenge_names_the_metadata_scope_and_error() {
        let challenge = Challenge::bearer(
            r#"Bearer realm="mcp", error="insufficient_scope", scope="files:read files:write", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#,
        )
        .unwrap();
        assert_eq!(
            challenge.resource_metadata.as_deref(),
            Some("https://mcp.example.com/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(challenge.scope.as_deref(), Some("files:read files:write"));
        assert_eq!(challenge.error.as_deref(), Some("insufficient_scope"));
    }

    #[test]
    fn the_bearer_challenge_is_found_among_others_and_escapes_are_read() {
        let challenge = Challenge::bearer(
            r#"Basic realm="a, b", DPoP algs="ES256", bearer scope="x \"y\"", error=invalid_token"#,
        )
        .unwrap();
        assert_eq!(challenge.scope.as_deref(), Some(r#"x "y""#));
        assert_eq!(challenge.error.as_deref(), Some("invalid_token"));
        assert_eq!(challenge.resource_metadata, None);
    }

    #[test]
    fn no_bearer_challenge_or_a_bare_one() {
        assert_eq!(Challenge::bearer(r#"Basic realm="x""#), None);
        assert_eq!(Challenge::bearer(""), None);
        assert_eq!(Challenge::bearer("Bearer"), Some(Challenge::default()));
    }

    #[test]
    fn an_unterminated_quote_ends_the_reading_without_a_panic() {
        let challenge = Challenge::bearer(r#"Bearer scope="open, error=x"#).unwrap();
        assert_eq!(challenge.scope, None);
    }
}
