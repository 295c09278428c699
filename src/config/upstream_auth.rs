//! An upstream's `auth`: how the runner signs in to an upstream that accepts only OAuth, and
//! whose account a call uses: each person's own, or one the operator connected for everyone.

use serde::{Deserialize, Serialize};

use super::headers::{secret_names, substitute};
use crate::protocol::person::Person;

/// The Worker variable naming the runner's public origin (`https://mcp.example.com`): where
/// people come back to from an upstream's sign-in. A pre-registered client's redirect URI is
/// `{PUBLIC_URL}/oauth/callback`, so it must not depend on the URL a client happened to use.
pub const PUBLIC_URL_VAR: &str = "PUBLIC_URL";

/// How the runner signs in to an upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum UpstreamAuth {
    /// The MCP authorization spec: OAuth 2.1 with PKCE, the upstream's metadata discovered.
    #[serde(rename = "oauth")]
    OAuth(OAuthConfig),
}

/// An OAuth upstream's settings; every field may be left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OAuthConfig {
    /// The scopes to ask for, space-separated; else the upstream's challenge or metadata say.
    #[serde(default)]
    pub scope: Option<String>,
    /// A client id the operator registered at the upstream's authorization server.
    #[serde(default)]
    pub client_id: Option<String>,
    /// That client's secret, as a `${SECRET}` template.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The URL of a Client ID Metadata Document that names the runner, used as its client id
    /// where the authorization server accepts one.
    #[serde(default)]
    pub client_metadata_url: Option<String>,
    /// Whose account a call uses.
    #[serde(default)]
    pub per: Per,
}

/// Whose upstream account a call uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Per {
    /// Each person connects the upstream for themself; one person's tokens never serve
    /// another's call.
    #[default]
    Person,
    /// The operator connects once, and everyone's calls use that account.
    Shared,
}

impl OAuthConfig {
    /// Why these settings cannot be used, naming the field (under `auth.`).
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        if let Some(template) = &self.client_secret {
            let names = secret_names(template).map_err(|problem| ("clientSecret", problem))?;
            if names.is_empty() {
                return Err((
                    "clientSecret",
                    "must name a secret, as `${SECRET_NAME}`, never hold the value".into(),
                ));
            }
            if self.client_id.is_none() {
                return Err(("clientSecret", "needs a clientId".into()));
            }
        }
        if let Some(url) = &self.client_metadata_url {
            let parsed = url::Url::parse(url).map_err(|e| ("clientMetadataUrl", e.to_string()))?;
            if parsed.scheme() != "https" || parsed.path() == "/" {
                return Err((
                    "clientMetadataUrl",
                    "must be an https URL with a path (a Client ID Metadata Document)".into(),
                ));
            }
        }
        Ok(())
    }

    /// The client secret, its `${SECRET}` read through `lookup`; `Err` names a missing secret.
    pub fn resolved_secret(
        &self,
        lookup: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<String>, String> {
        self.client_secret
            .as_deref()
            .map(|template| substitute(template, lookup))
            .transpose()
    }

    /// Whose account serves `person`: theirs when the upstream is per person and someone
    /// signed in, else the one account of the upstream.
    pub fn account_of<'a>(&self, person: Option<&'a Person>) -> Option<&'a Person> {
        match self.per {
            Per::Person => person,
            Per::Shared => None,
        }
    }
}
