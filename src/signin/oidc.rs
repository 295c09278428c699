//! The runner as a relying party of the organisation's OpenID Connect provider (Okta, Entra
//! ID, Google, Cloudflare Access…): authorization code with PKCE S256 and a `nonce`, the ID
//! token verified against the provider's published keys, and the person read from its claims.
//!
//! The operator sets `OIDC_ISSUER`, `OIDC_CLIENT_ID` and the secret `OIDC_CLIENT_SECRET`, and
//! may set `OIDC_GROUPS_CLAIM` (default `groups`), `OIDC_SCOPES` (default
//! `openid email profile`) and `OIDC_NAME` (the sign-in button's name, default the issuer's
//! host). The provider sends people back to `/callback` on the runner.

use futures::future::{select, Either};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::protocol::person::Person;
use crate::upstream::oauth::flow::code_challenge;
use crate::upstream::session::{read_body, Http, UpstreamRequest, UpstreamResponse};

/// The variables that configure the provider.
pub const ISSUER_VAR: &str = "OIDC_ISSUER";
/// The runner's client id at the provider.
pub const CLIENT_ID_VAR: &str = "OIDC_CLIENT_ID";
/// The runner's client secret at the provider (a secret).
pub const CLIENT_SECRET_VAR: &str = "OIDC_CLIENT_SECRET";
/// The claim that lists a person's groups.
pub const GROUPS_CLAIM_VAR: &str = "OIDC_GROUPS_CLAIM";
/// The scopes the runner asks for.
pub const SCOPES_VAR: &str = "OIDC_SCOPES";
/// The name on the sign-in button.
pub const NAME_VAR: &str = "OIDC_NAME";

/// The algorithms an ID token may be signed with: the asymmetric ones providers publish keys for.
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// How long the runner waits for each of the provider's answers, body included.
const PROVIDER_TIMEOUT_MS: u32 = 10_000;

/// The largest answer read from the provider: discovery documents and key sets are a few KB.
const PROVIDER_BODY_BYTES: u64 = 256 * 1024;

/// How far the provider's clock may be from the runner's, in seconds.
const CLOCK_SKEW_SECONDS: u64 = 60;

/// The operator's provider settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The issuer, exactly as the provider names itself.
    pub issuer: String,
    /// The runner's client id there.
    pub client_id: String,
    /// The runner's client secret there, if it is a confidential client.
    pub client_secret: Option<String>,
    /// The claim holding the person's groups.
    pub groups_claim: String,
    /// The scopes asked for.
    pub scopes: String,
    /// The name on the sign-in button.
    pub name: String,
}

/// Why signing in at the provider failed; shown to the person, logged for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OidcError {
    /// The operator's settings cannot be used.
    #[error("the identity provider is misconfigured: {0}")]
    Config(String),
    /// The provider's discovery document is not usable.
    #[error("the identity provider's metadata is not usable: {0}")]
    Metadata(String),
    /// The token endpoint did not issue an ID token.
    #[error("the identity provider did not issue an ID token: {0}")]
    Token(String),
    /// The ID token failed verification.
    #[error("the identity provider's ID token is not valid: {0}")]
    IdToken(String),
}

impl OidcConfig {
    /// The settings from the Worker's variables (`var` reads one), or `None` when no issuer is
    /// set (no identity provider).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, OidcError> {
        let Some(issuer) = var(ISSUER_VAR).filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        let url = url::Url::parse(&issuer)
            .map_err(|e| OidcError::Config(format!("{ISSUER_VAR} `{issuer}` is not a URL: {e}")))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
            return Err(OidcError::Config(format!(
                "{ISSUER_VAR} `{issuer}` must be https"
            )));
        }
        let client_id = var(CLIENT_ID_VAR)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                OidcError::Config(format!("{ISSUER_VAR} is set but {CLIENT_ID_VAR} is not"))
            })?;
        Ok(Some(Self {
            name: var(NAME_VAR).unwrap_or_else(|| {
                url.host_str()
                    .unwrap_or("your identity provider")
                    .to_owned()
            }),
            issuer,
            client_id,
            client_secret: var(CLIENT_SECRET_VAR).filter(|v| !v.is_empty()),
            groups_claim: var(GROUPS_CLAIM_VAR).unwrap_or_else(|| "groups".to_owned()),
            scopes: var(SCOPES_VAR).unwrap_or_else(|| "openid email profile".to_owned()),
        }))
    }

    /// Where the provider's discovery document is.
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
    }

    /// The provider's discovery document, fetched over `http`.
    pub async fn discover<H: Http>(&self, http: &H) -> Result<ProviderMetadata, OidcError> {
        let url = self.discovery_url();
        let (status, text) = fetch(http, UpstreamRequest::get(&url, accept_json()))
            .await
            .map_err(OidcError::Metadata)?;
        if status != 200 {
            return Err(OidcError::Metadata(format!("{url} answered HTTP {status}")));
        }
        ProviderMetadata::parse(&text, self)
    }

    /// The person who signed in at the provider and came back with `code`: the code exchanged
    /// for an ID token at `metadata`'s token endpoint, verified with its published keys.
    pub async fn signed_in<H: Http>(
        &self,
        http: &H,
        metadata: &ProviderMetadata,
        exchange: &CodeExchange<'_>,
    ) -> Result<Person, OidcError> {
        let body = self.token_request(exchange.code, exchange.redirect_uri, exchange.verifier);
        let mut headers = accept_json();
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        let (status, text) = fetch(
            http,
            UpstreamRequest::post(&metadata.token_endpoint, headers, body),
        )
        .await
        .map_err(OidcError::Token)?;
        let token = TokenResponse::parse(status, &text)?;
        let (status, text) = fetch(
            http,
            UpstreamRequest::get(&metadata.jwks_uri, accept_json()),
        )
        .await
        .map_err(OidcError::Metadata)?;
        if status != 200 {
            return Err(OidcError::Metadata(format!(
                "jwks_uri answered HTTP {status}"
            )));
        }
        let keys = parse_keys(&text)?;
        self.person(&token.id_token, &keys, exchange.nonce, http.now_ms() / 1000)
    }

    /// The provider's authorization URL for one sign-in.
    pub fn authorization_url(
        &self,
        metadata: &ProviderMetadata,
        redirect_uri: &str,
        state: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<String, OidcError> {
        let mut url = url::Url::parse(&metadata.authorization_endpoint)
            .map_err(|e| OidcError::Metadata(format!("authorization_endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", &self.scopes)
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", &code_challenge(verifier))
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// The token request's form body for `code` (client_secret_post when there is a secret).
    pub fn token_request(&self, code: &str, redirect_uri: &str, verifier: &str) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("client_id", &self.client_id)
            .append_pair("code_verifier", verifier);
        if let Some(secret) = &self.client_secret {
            form.append_pair("client_secret", secret);
        }
        form.finish()
    }

    /// The person an ID token names, once it is verified: signed by one of `keys` with an
    /// asymmetric algorithm, issued by the configured issuer to this client, unexpired at
    /// `now_seconds`, and carrying `nonce`. The email counts only when the provider verified it.
    pub fn person(
        &self,
        id_token: &str,
        keys: &JwkSet,
        nonce: &str,
        now_seconds: u64,
    ) -> Result<Person, OidcError> {
        let invalid = |problem: String| OidcError::IdToken(problem);
        let header = decode_header(id_token).map_err(|e| invalid(e.to_string()))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(invalid(format!(
                "it is signed with {:?}, which is not allowed",
                header.alg
            )));
        }
        let key = match &header.kid {
            Some(kid) => keys.find(kid),
            None if keys.keys.len() == 1 => keys.keys.first(),
            None => None,
        }
        .ok_or_else(|| invalid("no published key matches it".into()))?;
        let key = DecodingKey::from_jwk(key).map_err(|e| invalid(e.to_string()))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = CLOCK_SKEW_SECONDS;
        validation.validate_exp = false;
        let claims = decode::<Map<String, Value>>(id_token, &key, &validation)
            .map_err(|e| invalid(e.to_string()))?
            .claims;
        let number = |name: &str| claims.get(name).and_then(Value::as_u64);
        if number("exp").is_none_or(|exp| exp + CLOCK_SKEW_SECONDS < now_seconds) {
            return Err(invalid("it has expired".into()));
        }
        if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return Err(invalid("its nonce is not this sign-in's".into()));
        }
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("it names no subject".into()))?;
        let email = claims
            .get("email")
            .and_then(Value::as_str)
            .filter(|_| claims.get("email_verified") == Some(&Value::Bool(true)))
            .map(str::to_owned);
        let groups = match claims.get(&self.groups_claim) {
            Some(Value::Array(groups)) => groups
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::String(group)) => vec![group.clone()],
            _ => Vec::new(),
        };
        Ok(Person::signed_in(subject, email, groups))
    }
}

/// What the provider's redirect back brought, and what the sign-in it ends began with.
#[derive(Debug, Clone, Copy)]
pub struct CodeExchange<'a> {
    /// The provider's authorization code.
    pub code: &'a str,
    /// The runner's `/callback` URL, as sent in the authorization request.
    pub redirect_uri: &'a str,
    /// The PKCE verifier of the authorization request.
    pub verifier: &'a str,
    /// The `nonce` the ID token must carry.
    pub nonce: &'a str,
}

/// `Accept: application/json`.
fn accept_json() -> Vec<(String, String)> {
    vec![("Accept".into(), "application/json".into())]
}

/// Sends `request` and reads the answer's text, within [`PROVIDER_TIMEOUT_MS`] and
/// [`PROVIDER_BODY_BYTES`]; the error says what went wrong, for the operator.
async fn fetch<H: Http>(http: &H, request: UpstreamRequest<'_>) -> Result<(u16, String), String> {
    let url = request.url.to_owned();
    let answer = async {
        let mut response = http.send(request, None).await.map_err(|e| e.to_string())?;
        let body = read_body(&mut response, PROVIDER_BODY_BYTES)
            .await
            .map_err(|e| e.to_string())?;
        Ok((
            response.status(),
            String::from_utf8_lossy(&body).into_owned(),
        ))
    };
    match select(
        std::pin::pin!(answer),
        std::pin::pin!(http.sleep(PROVIDER_TIMEOUT_MS)),
    )
    .await
    {
        Either::Left((answer, _)) => answer,
        Either::Right(_) => Err(format!(
            "{url} did not answer within {PROVIDER_TIMEOUT_MS} ms"
        )),
    }
}

/// The parts of the provider's discovery document the runner uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProviderMetadata {
    /// The issuer; must be the configured one (mix-up protection).
    pub issuer: String,
    /// Where people sign in.
    pub authorization_endpoint: String,
    /// Where codes become tokens.
    pub token_endpoint: String,
    /// Where the signing keys are.
    pub jwks_uri: String,
}

impl ProviderMetadata {
    /// The discovery document `text`, checked to be `config`'s issuer's.
    pub fn parse(text: &str, config: &OidcConfig) -> Result<Self, OidcError> {
        let metadata: Self =
            serde_json::from_str(text).map_err(|e| OidcError::Metadata(e.to_string()))?;
        if metadata.issuer != config.issuer {
            return Err(OidcError::Metadata(format!(
                "it names the issuer `{}`, not `{}`",
                metadata.issuer, config.issuer
            )));
        }
        Ok(metadata)
    }
}

/// The token endpoint's answer: the ID token.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenResponse {
    /// The ID token, a JWT.
    pub id_token: String,
}

impl TokenResponse {
    /// The token endpoint's answer `text` (with its HTTP `status`).
    pub fn parse(status: u16, text: &str) -> Result<Self, OidcError> {
        if status != 200 {
            let error: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            let code = error
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("no error code");
            return Err(OidcError::Token(format!("HTTP {status} ({code})")));
        }
        serde_json::from_str(text).map_err(|e| OidcError::Token(e.to_string()))
    }
}

/// The signing keys document `text`.
pub fn parse_keys(text: &str) -> Result<JwkSet, OidcError> {
    serde_json::from_str(text).map_err(|e| OidcError::Metadata(format!("jwks_uri: {e}")))
}

#[cfg(test)]
mod tests;
