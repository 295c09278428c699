//! Signing a person in to let an OAuth client use the runner as them: the pages at
//! `/authorize` and what their forms mean. The OAuth layer in front of the runner validates the
//! client's request and keeps each step's state, bound to the browser; this module decides who
//! the person is and what they are shown.
//!
//! 1. `GET /authorize`: the [sign-in page](page::sign_in_page) names the client and where its
//!    tokens go, and offers the operator's sign-in methods.
//! 2. `POST /authorize`: an access key is checked here; the identity provider is a redirect
//!    away and back to [`CALLBACK_PATH`]. Submitting either is the person's consent to the
//!    client signing them in.
//! 3. The [consent page](page::consent_page) then names the person and the upstreams the client
//!    will reach as them; `POST` [`CONFIRM_PATH`] allows or denies.

pub mod approval;
pub mod flow;
pub mod oidc;
pub mod page;
pub mod upstream;

use serde::{Deserialize, Serialize};

use crate::config::{AccessPolicy, RunnerConfig};
use crate::protocol::person::Person;

/// Where a client sends a person to sign in.
pub const AUTHORIZE_PATH: &str = "/authorize";
/// Where the consent page's answer goes.
pub const CONFIRM_PATH: &str = "/authorize/confirm";
/// Where the identity provider sends the person back.
pub const CALLBACK_PATH: &str = "/callback";

/// What the sign-in page's form asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInForm {
    /// Sign in with this access key.
    AccessKey {
        /// The consent transaction.
        handle: String,
        /// The key, as typed.
        key: String,
    },
    /// Sign in at the identity provider.
    Provider {
        /// The consent transaction.
        handle: String,
    },
    /// Do not connect the client.
    Deny {
        /// The consent transaction.
        handle: String,
    },
}

/// A form that is not one of the pages'.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the form is incomplete: {0}; start again from your app")]
pub struct FormError(&'static str);

impl SignInForm {
    /// The form in an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        let field = |name: &str| {
            url::form_urlencoded::parse(body)
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        let handle = field("handle").ok_or(FormError("it has no handle"))?;
        match field("action").as_deref() {
            Some("key") => Ok(Self::AccessKey {
                handle,
                key: field("key").unwrap_or_default().trim().to_owned(),
            }),
            Some("provider") => Ok(Self::Provider { handle }),
            Some("deny") => Ok(Self::Deny { handle }),
            _ => Err(FormError("it names no action")),
        }
    }
}

/// Whether the consent page's answer (its form body) is to allow.
pub fn approved(body: &[u8]) -> bool {
    url::form_urlencoded::parse(body).any(|(key, value)| key == "decision" && value == "approve")
}

/// The parts of the client's authorization request the runner reads (the OAuth layer's
/// `AuthRequest`, as it validated it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthRequest {
    /// The client's redirect URI, checked against its registration.
    pub redirect_uri: String,
    /// The client's `state`, returned to it unchanged.
    #[serde(default)]
    pub state: String,
    /// This authorization server's issuer, for `iss` (RFC 9207).
    #[serde(default)]
    pub issuer: Option<String>,
}

/// The redirect that tells the client the person declined (RFC 6749 §4.1.2.1), with its
/// `state` and the issuer (RFC 9207). `None` if the stored redirect URI is not a URL.
pub fn denied_redirect(request: &AuthRequest) -> Option<String> {
    let mut url = url::Url::parse(&request.redirect_uri).ok()?;
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("error", "access_denied");
        query.append_pair(
            "error_description",
            "The person declined to connect this app",
        );
        if !request.state.is_empty() {
            query.append_pair("state", &request.state);
        }
        if let Some(issuer) = &request.issuer {
            query.append_pair("iss", issuer);
        }
    }
    Some(url.into())
}

/// What a sign-in transaction carries between steps, sealed by the OAuth layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Pending {
    /// Signed in; waiting for the person to allow or deny.
    Consent {
        /// Who signed in.
        person: Person,
    },
    /// At the identity provider; waiting for it to send the person back.
    Provider {
        /// The PKCE verifier of the provider's authorization request.
        verifier: String,
        /// The `nonce` its ID token must carry.
        nonce: String,
    },
}

/// The id the OAuth layer files the grants of the person `person_id` under. It splits its
/// tokens on `:`, so the id is percent-encoded (`key:alice` is `key%3Aalice`).
pub fn grant_user_id(person_id: &str) -> String {
    person_id.replace('%', "%25").replace(':', "%3A")
}

/// Whether a POST came from one of the runner's own pages, as far as a browser says: its
/// `origin` is the runner's `own_origin` and its `fetch_site` (`Sec-Fetch-Site`) is
/// `same-origin`, where it sends them. A request that sends neither is not a browser's form,
/// and another site cannot make a browser send it.
pub fn from_own_page(origin: Option<&str>, fetch_site: Option<&str>, own_origin: &str) -> bool {
    let origin_ok = origin.is_none_or(|origin| origin == own_origin);
    let site_ok = fetch_site.is_none_or(|site| site == "same-origin");
    origin_ok && site_ok
}

/// The upstreams `person` will reach, in configuration order.
pub fn upstreams_for(config: &RunnerConfig, access: &AccessPolicy, person: &Person) -> Vec<String> {
    let grant = access.grant_for(Some(person));
    config
        .upstream_names()
        .into_iter()
        .filter(|upstream| grant.reaches(upstream))
        .collect()
}

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
