//! The OAuth exchanges with an upstream's servers, over the session's [`Http`] platform:
//! discovering the metadata, registering the runner as a client, and the token requests
//! (a code for tokens, a refresh token for new ones).

use std::pin::pin;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use futures::future::{select, Either};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use url::Url;

use super::challenge::Challenge;
use super::discovery::{
    authorization_server_urls, resource_metadata_urls, MetadataError, ResourceMetadata,
    ServerMetadata,
};
use super::grant::{GrantError, Registration, Tokens};
use crate::upstream::bounds::ERROR_BODY_BYTES;
use crate::upstream::client::UpstreamError;
use crate::upstream::session::{read_body, Http, UpstreamRequest, UpstreamResponse};

/// The largest metadata document or token answer read.
const DOCUMENT_BYTES: u64 = 256 * 1024;

/// The client name the runner registers under.
pub const CLIENT_NAME: &str = "MCP Isolate Runner";

/// Why signing in to an upstream failed; shown to the person and the operator. Never holds a
/// token, a code or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// A server could not be reached, or answered something unreadable.
    #[error("{url} could not be read: {detail}")]
    Unreachable {
        /// What was fetched.
        url: String,
        /// Why it failed.
        detail: String,
    },
    /// No protected resource metadata was found where the spec says to look.
    #[error("the upstream publishes no OAuth protected resource metadata (tried {tried})")]
    NoResourceMetadata {
        /// The URLs tried.
        tried: String,
    },
    /// No authorization server metadata was found.
    #[error("the authorization server {issuer} publishes no metadata (tried {tried})")]
    NoServerMetadata {
        /// Its issuer.
        issuer: String,
        /// The URLs tried.
        tried: String,
    },
    /// A metadata document cannot be used.
    #[error("{url}: {problem}")]
    Metadata {
        /// The document's URL.
        url: String,
        /// What is wrong with it.
        problem: MetadataError,
    },
    /// Registration or the token endpoint failed.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// Dynamic client registration was refused.
    #[error("its registration endpoint answered HTTP {status}")]
    Registration {
        /// The HTTP status.
        status: u16,
    },
}

/// An upstream's authorization server, as discovered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovered {
    /// The resource to ask tokens for (RFC 8707): the protected resource metadata's.
    pub resource: String,
    /// The scopes the resource lists.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
    /// The authorization server's metadata.
    pub server: Server,
}

/// The fields of an authorization server's metadata the runner keeps between steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Server {
    /// Its issuer.
    pub issuer: String,
    /// Where people sign in.
    pub authorization_endpoint: String,
    /// Where codes and refresh tokens become tokens.
    pub token_endpoint: String,
    /// Whether its authorization responses carry `iss` (RFC 9207).
    pub sends_iss: bool,
    /// The client authentication methods its token endpoint takes.
    #[serde(default)]
    pub token_auth_methods: Option<Vec<String>>,
    /// The scopes it lists.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

/// Finds the authorization server of the MCP endpoint `mcp_url`, starting from its
/// `challenge`: the protected resource metadata (RFC 9728), then its first authorization
/// server's metadata (RFC 8414, else OpenID Connect discovery), each checked to be about what
/// it was fetched for. Returns the metadata and how the runner can be a client there.
pub async fn discover<H: Http>(
    http: &H,
    mcp_url: &str,
    challenge: &Challenge,
) -> Result<(Discovered, ServerMetadata), OAuthError> {
    let resource = Url::parse(mcp_url).map_err(|e| OAuthError::Unreachable {
        url: mcp_url.to_owned(),
        detail: e.to_string(),
    })?;
    let urls = resource_metadata_urls(&resource, challenge.resource_metadata.as_deref());
    let mut found = None;
    for url in &urls {
        if let Some(text) = get(http, url).await? {
            let metadata = ResourceMetadata::parse(&text, &resource).map_err(|problem| {
                OAuthError::Metadata {
                    url: url.clone(),
                    problem,
                }
            })?;
            found = Some(metadata);
            break;
        }
    }
    let metadata = found.ok_or_else(|| OAuthError::NoResourceMetadata {
        tried: urls.join(", "),
    })?;
    let issuer = metadata.authorization_servers[0].clone();
    let issuer_url = Url::parse(&issuer).map_err(|e| OAuthError::Metadata {
        url: issuer.clone(),
        problem: MetadataError::Malformed(e.to_string()),
    })?;
    let server_urls = authorization_server_urls(&issuer_url);
    for url in &server_urls {
        if let Some(text) = get(http, url).await? {
            let server =
                ServerMetadata::parse(&text, &issuer).map_err(|problem| OAuthError::Metadata {
                    url: url.clone(),
                    problem,
                })?;
            let discovered = Discovered {
                resource: metadata.resource.clone(),
                scopes_supported: metadata.scopes_supported.clone(),
                server: Server {
                    issuer: server.issuer.clone(),
                    authorization_endpoint: server.authorization_endpoint.clone(),
                    token_endpoint: server.token_endpoint.clone(),
                    sends_iss: server.authorization_response_iss_parameter_supported,
                    token_auth_methods: server.token_endpoint_auth_methods_supported.clone(),
                    scopes_supported: server.scopes_supported.clone(),
                },
            };
            return Ok((discovered, server));
        }
    }
    Err(OAuthError::NoServerMetadata {
        issuer,
        tried: server_urls.join(", "),
    })
}

/// The client the runner is at one authorization server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Client {
    /// The issuer it is a client of.
    pub issuer: String,
    /// Its client id.
    pub client_id: String,
    /// Its secret, for a confidential client.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// How it authenticates at the token endpoint.
    pub auth: ClientAuth,
    /// The redirect URI it was registered with.
    pub redirect_uri: String,
}

/// How a client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// A public client: its id in the form, no secret.
    None,
    /// HTTP Basic with the id and secret.
    ClientSecretBasic,
    /// The id and secret in the form.
    ClientSecretPost,
}

impl ClientAuth {
    /// The method for a client with a secret at a token endpoint that takes `supported`
    /// (RFC 8414: Basic when it does not say).
    fn for_secret(supported: Option<&[String]>) -> Self {
        match supported {
            Some(methods)
                if !methods.iter().any(|m| m == "client_secret_basic")
                    && methods.iter().any(|m| m == "client_secret_post") =>
            {
                Self::ClientSecretPost
            }
            _ => Self::ClientSecretBasic,
        }
    }

    /// The RFC 7591 name of the method.
    fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }
}

/// Becomes a client of `server` the way `registration` says, with `redirect_uri`: a
/// pre-registered client as it is, a metadata document's URL as the id, or a new registration
/// (RFC 7591), asking for the method the token endpoint prefers.
pub async fn register<H: Http>(
    http: &H,
    server: &ServerMetadata,
    registration: Registration,
    redirect_uri: &str,
) -> Result<Client, OAuthError> {
    let methods = server.token_endpoint_auth_methods_supported.as_deref();
    let client = |client_id: String, client_secret: Option<String>, auth| Client {
        issuer: server.issuer.clone(),
        client_id,
        client_secret,
        auth,
        redirect_uri: redirect_uri.to_owned(),
    };
    match registration {
        Registration::Preregistered {
            client_id,
            client_secret,
        } => {
            let auth = match client_secret {
                Some(_) => ClientAuth::for_secret(methods),
                None => ClientAuth::None,
            };
            Ok(client(client_id, client_secret, auth))
        }
        Registration::MetadataDocument(url) => Ok(client(url, None, ClientAuth::None)),
        Registration::Dynamic(endpoint) => {
            let public = methods.is_none_or(|m| m.iter().any(|m| m == "none"));
            let wanted = if public {
                ClientAuth::None
            } else {
                ClientAuth::for_secret(methods)
            };
            let body = json!({
                "client_name": CLIENT_NAME,
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": wanted.name(),
                "application_type": "web",
            });
            let headers = vec![
                ("Content-Type".to_owned(), "application/json".to_owned()),
                ("Accept".to_owned(), "application/json".to_owned()),
            ];
            let request = UpstreamRequest::post(&endpoint, headers, body.to_string());
            let (status, text) = exchange(http, request).await?;
            if !(200..300).contains(&status) {
                return Err(OAuthError::Registration { status });
            }
            let answer: RegistrationAnswer =
                serde_json::from_str(&text).map_err(|e| OAuthError::Unreachable {
                    url: endpoint.clone(),
                    detail: format!("not a registration answer: {e}"),
                })?;
            let auth = match (
                &answer.client_secret,
                answer.token_endpoint_auth_method.as_deref(),
            ) {
                (None, _) => ClientAuth::None,
                (Some(_), Some("client_secret_post")) => ClientAuth::ClientSecretPost,
                (Some(_), _) => ClientAuth::ClientSecretBasic,
            };
            Ok(client(answer.client_id, answer.client_secret, auth))
        }
    }
}

/// A registration endpoint's answer (RFC 7591 §3.2.1), the fields the runner uses.
#[derive(Deserialize)]
struct RegistrationAnswer {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

/// A PKCE verifier's S256 challenge (RFC 7636 §4.2).
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What a token request asks for.
pub enum TokenGrant<'a> {
    /// A code, with the PKCE verifier of its request.
    Code {
        /// The authorization code.
        code: &'a str,
        /// The verifier.
        verifier: &'a str,
    },
    /// New tokens for a refresh token.
    Refresh(&'a str),
}

/// Asks `server`'s token endpoint for tokens as `client`, for `resource`; `previous` are the
/// tokens being refreshed, if any.
pub async fn request_tokens<H: Http>(
    http: &H,
    server: &Server,
    client: &Client,
    resource: &str,
    grant: TokenGrant<'_>,
    previous: Option<&Tokens>,
) -> Result<Tokens, OAuthError> {
    let mut form: Vec<(&str, &str)> = match grant {
        TokenGrant::Code { code, verifier } => vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &client.redirect_uri),
            ("code_verifier", verifier),
        ],
        TokenGrant::Refresh(refresh_token) => vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    };
    form.push(("resource", resource));
    let mut headers = vec![
        (
            "Content-Type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        ),
        ("Accept".to_owned(), "application/json".to_owned()),
    ];
    let secret = client.client_secret.as_deref().unwrap_or_default();
    match client.auth {
        ClientAuth::None => form.push(("client_id", &client.client_id)),
        ClientAuth::ClientSecretPost => {
            form.push(("client_id", &client.client_id));
            form.push(("client_secret", secret));
        }
        ClientAuth::ClientSecretBasic => {
            // RFC 6749 §2.3.1: each part form-encoded before the Basic encoding.
            let pair = format!("{}:{}", form_encode(&client.client_id), form_encode(secret));
            headers.push((
                "Authorization".to_owned(),
                format!("Basic {}", STANDARD.encode(pair)),
            ));
        }
    }
    let body = form
        .iter()
        .map(|(name, value)| format!("{name}={}", form_encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    let request = UpstreamRequest::post(&server.token_endpoint, headers, body);
    let (status, text) = exchange(http, request).await?;
    Ok(Tokens::from_answer(status, &text, http.now_ms(), previous)?)
}

/// `value` as `application/x-www-form-urlencoded` writes it.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The body of `url` when it answers 200; `None` for any other status, so the next place is
/// tried.
async fn get<H: Http>(http: &H, url: &str) -> Result<Option<String>, OAuthError> {
    let headers = vec![("Accept".to_owned(), "application/json".to_owned())];
    let (status, text) = exchange(http, UpstreamRequest::get(url, headers)).await?;
    Ok((status == 200).then_some(text))
}

/// How long one exchange with an authorization server may take.
const EXCHANGE_MS: u32 = 10_000;

/// Sends `request`, for its status and (bounded) body, within [`EXCHANGE_MS`].
async fn exchange<H: Http>(
    http: &H,
    request: UpstreamRequest<'_>,
) -> Result<(u16, String), OAuthError> {
    let url = request.url.to_owned();
    let unreachable = |detail: String| OAuthError::Unreachable {
        url: url.clone(),
        detail,
    };
    let answered = async {
        let mut response = http.send(request, None).await?;
        let status = response.status();
        let limit = if status == 200 {
            DOCUMENT_BYTES
        } else {
            ERROR_BODY_BYTES
        };
        let body = read_body(&mut response, limit).await?;
        Ok::<_, UpstreamError>((status, String::from_utf8_lossy(&body).into_owned()))
    };
    match select(pin!(answered), pin!(http.sleep(EXCHANGE_MS))).await {
        Either::Left((answer, _)) => answer.map_err(|e| unreachable(e.to_string())),
        Either::Right(_) => Err(unreachable(format!("no answer within {EXCHANGE_MS} ms"))),
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s() {
        // RFC 7636 appendix B.
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
