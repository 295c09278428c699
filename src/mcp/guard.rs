//! Who may talk to the MCP endpoint: DNS-rebinding protection (`Host` and `Origin`) and, when
//! the operator sets `RUNNER_TOKEN`, a bearer token.
//!
//! A web page can make a browser send requests to a server on the user's machine by pointing
//! its own domain at 127.0.0.1 ("DNS rebinding"); the request then carries the attacker's
//! domain in `Host` and `Origin`. So, as the spec asks
//! (<https://modelcontextprotocol.io/specification/2025-11-25/basic/transports#security-warning>),
//! the runner answers only for hosts it knows: loopback names, `*.workers.dev` (Cloudflare's DNS,
//! which no attacker can point at 127.0.0.1), and those the operator lists in `ALLOWED_HOSTS`.
//! A browser `Origin` must be the runner's own origin, a loopback origin, or listed in
//! `ALLOWED_ORIGINS`.
//!
//! `RUNNER_TOKEN` holds the operator's [`AccessKeys`], `NAME=KEY` entries, one per person or
//! script, so one can be revoked without the others. Each is compared in constant time, and
//! all of them are compared on every request. What a request presented is remembered only as
//! the [`Person`] holding it: sessions are bound to them and the audit log names them.

use crate::config::AccessKeys;
use crate::protocol::person::Person;

/// The realm of the runner's bearer challenges.
const REALM: &str = "mcp-isolate-runner";

/// Hosts served without configuration.
const LOOPBACK_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1"];
/// Deployed Workers' default domain.
const WORKERS_DEV_SUFFIX: &str = ".workers.dev";

/// The hosts, origins and token the endpoint accepts.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestGuard {
    /// Extra host names (no port), lower case.
    allowed_hosts: Vec<String>,
    /// Extra origins (`scheme://host[:port]`), lower case.
    allowed_origins: Vec<String>,
    /// The keys of which every request must carry one; none means no key needed.
    keys: AccessKeys,
    /// Where the OAuth layer in front of the runner publishes its protected resource metadata
    /// (RFC 9728), named in the challenge of a refused token so a client can sign in instead.
    resource_metadata: Option<String>,
}

impl std::fmt::Debug for RequestGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestGuard")
            .field("allowed_hosts", &self.allowed_hosts)
            .field("allowed_origins", &self.allowed_origins)
            .field("keys", &self.keys)
            .field("resource_metadata", &self.resource_metadata)
            .finish()
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The `Host` is not one this runner serves.
    #[error("Forbidden: host `{0}` is not allowed; the operator can add it to ALLOWED_HOSTS")]
    Host(String),
    /// The `Origin` is another site's.
    #[error("Forbidden: origin `{0}` is not allowed; the operator can add it to ALLOWED_ORIGINS")]
    Origin(String),
    /// No `Authorization: Bearer …` header, or not the configured token.
    #[error("Unauthorized: send the runner's token as `Authorization: Bearer <token>`")]
    Token,
}

impl Refusal {
    /// The HTTP status for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Host(_) | Refusal::Origin(_) => 403,
            Refusal::Token => 401,
        }
    }
}

impl RequestGuard {
    /// A guard from the comma-separated `ALLOWED_HOSTS` and `ALLOWED_ORIGINS` values and the
    /// access keys of a secret (`RUNNER_TOKEN`).
    pub fn new(
        allowed_hosts: Option<&str>,
        allowed_origins: Option<&str>,
        tokens: Option<String>,
    ) -> Self {
        let list = |value: Option<&str>| -> Vec<String> {
            value
                .unwrap_or("")
                .split(',')
                .map(|item| item.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|item| !item.is_empty())
                .collect()
        };
        Self {
            allowed_hosts: list(allowed_hosts),
            allowed_origins: list(allowed_origins),
            keys: AccessKeys::parse(tokens.as_deref()),
            resource_metadata: None,
        }
    }

    /// The guard of a runner behind the OAuth layer, whose metadata is at `url`.
    pub fn with_resource_metadata(self, url: String) -> Self {
        Self {
            resource_metadata: Some(url),
            ..self
        }
    }

    /// The `WWW-Authenticate` challenge of a refused token: where to sign in, when the OAuth
    /// layer is there.
    pub fn challenge(&self) -> String {
        match &self.resource_metadata {
            Some(url) => format!(
                r#"Bearer realm="{REALM}", error="invalid_token", resource_metadata="{url}""#
            ),
            None => format!(r#"Bearer realm="{REALM}""#),
        }
    }

    /// Whether requests need a token.
    pub fn requires_token(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The person holding the key an `Authorization` header presents; `None` when keys are
    /// not required (every keyless request is the same anonymous caller) or it is not one.
    pub fn person(&self, authorization: Option<&str>) -> Option<Person> {
        self.keys.identify(bearer(authorization))
    }

    /// Whether `host` (a `Host` value) names this machine.
    pub fn is_loopback(host: &str) -> bool {
        LOOPBACK_HOSTS.contains(&host_name(host).as_str())
    }

    /// Checks a request's `Host` (or its URL's authority), `Origin` and `Authorization`.
    pub fn check(
        &self,
        host: &str,
        origin: Option<&str>,
        authorization: Option<&str>,
    ) -> Result<(), Refusal> {
        self.check_origin(host, origin)?;
        if !self.requires_token() {
            return Ok(());
        }
        match self.person(authorization) {
            Some(_) => Ok(()),
            None => Err(Refusal::Token),
        }
    }

    fn check_origin(&self, host: &str, origin: Option<&str>) -> Result<(), Refusal> {
        let host_name = host_name(host);
        let host_allowed = LOOPBACK_HOSTS.contains(&host_name.as_str())
            || host_name.ends_with(WORKERS_DEV_SUFFIX)
            || self.allowed_hosts.contains(&host_name);
        if !host_allowed {
            return Err(Refusal::Host(host.to_owned()));
        }
        let Some(origin) = origin else { return Ok(()) };
        let origin_lower = origin.trim_end_matches('/').to_ascii_lowercase();
        let origin_authority = origin_lower.split_once("://").map(|(_, rest)| rest);
        let origin_allowed = match origin_authority {
            Some(authority) => {
                authority == host.to_ascii_lowercase()
                    || LOOPBACK_HOSTS.contains(&host_name_of(authority).as_str())
                    || self.allowed_origins.contains(&origin_lower)
            }
            None => false,
        };
        if origin_allowed {
            Ok(())
        } else {
            Err(Refusal::Origin(origin.to_owned()))
        }
    }
}

/// The token an `Authorization: Bearer …` header carries; empty when there is none.
fn bearer(authorization: Option<&str>) -> &str {
    authorization
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("")
}

/// `example.com` for `Example.com:8787`, `::1` for `[::1]:8787`.
fn host_name(authority: &str) -> String {
    host_name_of(&authority.to_ascii_lowercase())
}

fn host_name_of(authority: &str) -> String {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_owned();
    }
    authority.split(':').next().unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn loopback_and_workers_dev_hosts_are_served_without_configuration() {
        let guard = RequestGuard::default();
        for host in [
            "127.0.0.1:8787",
            "localhost",
            "[::1]:8787",
            "runner.me.workers.dev",
        ] {
            assert_eq!(guard.check(host, None, None), Ok(()), "{host}");
        }
    }

    #[test]
    fn a_rebinding_host_is_refused_even_with_a_matching_origin() {
        let refusal = RequestGuard::default()
            .check("evil.example.com", Some("http://evil.example.com"), None)
            .unwrap_err();
        assert_eq!(refusal, Refusal::Host("evil.example.com".into()));
    }

    #[test]
    fn listed_hosts_are_served() {
        let guard = RequestGuard::new(Some("mcp.example.com, Other.example.org"), None, None);
        assert_eq!(guard.check("MCP.example.com", None, None), Ok(()));
        assert_eq!(guard.check("other.example.org:443", None, None), Ok(()));
        assert!(guard.check("example.com", None, None).is_err());
    }

    #[test]
    fn a_configured_token_is_required_as_a_bearer() {
        let guard = RequestGuard::new(None, None, Some("s3cr3t".into()));
        assert!(guard.requires_token());
        assert_eq!(
            guard.check("127.0.0.1", None, Some("Bearer s3cr3t")),
            Ok(())
        );
        for wrong in [
            None,
            Some("Bearer nope"),
            Some("s3cr3t"),
            Some("Bearer "),
            Some("Basic s3cr3t"),
        ] {
            assert_eq!(
                guard.check("127.0.0.1", None, wrong),
                Err(Refusal::Token),
                "{wrong:?}"
            );
        }
        assert_eq!(Refusal::Token.status(), 401);
        assert!(!format!("{guard:?}").contains("s3cr3t"));
    }

    #[test]
    fn a_refused_token_is_told_where_to_sign_in_when_oauth_is_there() {
        let guard = RequestGuard::new(None, None, Some("k".into()));
        assert_eq!(guard.challenge(), r#"Bearer realm="mcp-isolate-runner""#);
        let url = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
        let challenge = guard.with_resource_metadata(url.into()).challenge();
        assert!(
            challenge.ends_with(&format!(r#"resource_metadata="{url}""#)),
            "{challenge}"
        );
        assert!(challenge.contains(r#"error="invalid_token""#));
    }

    #[test]
    fn an_empty_token_means_no_token() {
        assert!(!RequestGuard::new(None, None, Some(String::new())).requires_token());
        assert!(!RequestGuard::new(None, None, Some(" , ".into())).requires_token());
    }

    #[test]
    fn any_of_several_tokens_is_accepted() {
        let guard = RequestGuard::new(None, None, Some("alpha-token, beta-token".into()));
        for token in ["alpha-token", "beta-token"] {
            let header = format!("Bearer {token}");
            assert_eq!(guard.check("127.0.0.1", None, Some(&header)), Ok(()));
        }
        for wrong in ["alpha-token, beta-token", "alpha", "gamma-token"] {
            let header = format!("Bearer {wrong}");
            assert_eq!(
                guard.check("127.0.0.1", None, Some(&header)),
                Err(Refusal::Token)
            );
        }
    }

    #[test]
    fn the_person_is_the_holder_of_the_key_presented_and_never_the_key() {
        let guard = RequestGuard::new(None, None, Some("alice=alpha-token,bob=beta-token".into()));
        let alice = guard.person(Some("Bearer alpha-token")).unwrap();
        assert_eq!(alice, Person::access_key("alice"));
        assert_eq!(guard.person(Some("Bearer beta-token")).unwrap().name, "bob");
        assert!(!serde_json::to_string(&alice).unwrap().contains("alpha"));
        assert_eq!(guard.person(Some("Bearer gamma-token")), None);
        assert_eq!(RequestGuard::default().person(Some("Bearer x")), None);
    }

    #[test]
    fn origins_must_be_own_loopback_or_listed() {
        let guard = RequestGuard::new(
            Some("mcp.example.com"),
            Some("https://console.example.com/"),
            None,
        );
        assert_eq!(
            guard.check("mcp.example.com", Some("https://mcp.example.com"), None),
            Ok(())
        );
        assert_eq!(
            guard.check("127.0.0.1:8787", Some("http://localhost:6274"), None),
            Ok(())
        );
        assert_eq!(
            guard.check("mcp.example.com", Some("https://console.example.com"), None),
            Ok(())
        );
        for origin in [
            "https://evil.example.com",
            "null",
            "http://mcp.example.com.evil.io",
        ] {
            assert_eq!(
                guard.check("mcp.example.com", Some(origin), None),
                Err(Refusal::Origin(origin.into())),
                "{origin}"
            );
        }
    }
}
