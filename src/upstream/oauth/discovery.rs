//! Where an OAuth-protected upstream's metadata is, and what the runner needs of it: the
//! protected resource metadata (RFC 9728) names the authorization servers; an authorization
//! server's metadata (RFC 8414, or OpenID Connect discovery) names its endpoints. The MCP
//! authorization spec says which well-known URLs to try, in which order.

use serde::Deserialize;
use url::Url;

/// The well-known path of protected resource metadata.
const PROTECTED_RESOURCE: &str = "/.well-known/oauth-protected-resource";
/// The well-known path of authorization server metadata (RFC 8414).
const AUTHORIZATION_SERVER: &str = "/.well-known/oauth-authorization-server";
/// The well-known path of OpenID Connect discovery.
const OPENID_CONFIGURATION: &str = "/.well-known/openid-configuration";

/// The URLs to try for the protected resource metadata of the MCP endpoint `resource`, in
/// order: the one its challenge named, then the path-suffixed well-known URL, then the
/// origin's.
pub fn resource_metadata_urls(resource: &Url, named: Option<&str>) -> Vec<String> {
    let mut urls: Vec<String> = named.map(str::to_owned).into_iter().collect();
    let path = resource.path().trim_end_matches('/');
    if !path.is_empty() {
        urls.push(well_known(resource, PROTECTED_RESOURCE, path));
    }
    urls.push(well_known(resource, PROTECTED_RESOURCE, ""));
    urls.dedup();
    urls
}

/// The URLs to try for the metadata of the authorization server `issuer`, in order. With a
/// path: RFC 8414's, OpenID Connect's inserted, then OpenID Connect's appended; without:
/// RFC 8414's, then OpenID Connect's.
pub fn authorization_server_urls(issuer: &Url) -> Vec<String> {
    let path = issuer.path().trim_end_matches('/');
    if path.is_empty() {
        return vec![
            well_known(issuer, AUTHORIZATION_SERVER, ""),
            well_known(issuer, OPENID_CONFIGURATION, ""),
        ];
    }
    let mut appended = issuer.clone();
    appended.set_path(&format!("{path}{OPENID_CONFIGURATION}"));
    appended.set_query(None);
    vec![
        well_known(issuer, AUTHORIZATION_SERVER, path),
        well_known(issuer, OPENID_CONFIGURATION, path),
        appended.into(),
    ]
}

/// `base`'s origin with `prefix` then `path`, no query or fragment.
fn well_known(base: &Url, prefix: &str, path: &str) -> String {
    let mut url = base.clone();
    url.set_path(&format!("{prefix}{path}"));
    url.set_query(None);
    url.set_fragment(None);
    url.into()
}

/// Why an upstream's OAuth metadata cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// It is not the JSON document the RFC describes.
    #[error("its metadata is not valid: {0}")]
    Malformed(String),
    /// It describes another resource or issuer than the one it was fetched for.
    #[error("its metadata names `{named}`, not `{expected}`")]
    Mismatch {
        /// What the document names.
        named: String,
        /// What it was fetched for.
        expected: String,
    },
    /// It lacks what the MCP authorization spec requires.
    #[error("its authorization server {0}")]
    Unsupported(String),
}

/// Protected resource metadata (RFC 9728 §2), the fields the runner uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ResourceMetadata {
    /// The resource it describes.
    pub resource: String,
    /// The issuers of the authorization servers that protect it.
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// The scopes it uses.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

impl ResourceMetadata {
    /// The document `text`, checked to describe `resource` (RFC 9728 §3.3).
    pub fn parse(text: &str, resource: &Url) -> Result<Self, MetadataError> {
        let metadata: Self =
            serde_json::from_str(text).map_err(|e| MetadataError::Malformed(e.to_string()))?;
        let named = Url::parse(&metadata.resource)
            .map_err(|e| MetadataError::Malformed(format!("resource: {e}")))?;
        if !covers(&named, resource) {
            return Err(MetadataError::Mismatch {
                named: metadata.resource,
                expected: resource.to_string(),
            });
        }
        if metadata.authorization_servers.is_empty() {
            return Err(MetadataError::Malformed(
                "it names no authorization server".into(),
            ));
        }
        Ok(metadata)
    }
}

/// Whether `named` (a metadata document's resource) describes `resource`: the same origin,
/// and the same path or a path `resource` lies under.
fn covers(named: &Url, resource: &Url) -> bool {
    let path = named.path().trim_end_matches('/');
    named.origin() == resource.origin()
        && (resource.path().trim_end_matches('/') == path
            || resource.path().starts_with(&format!("{path}/")))
}

/// Authorization server metadata (RFC 8414 §2), the fields the runner uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ServerMetadata {
    /// Its issuer.
    pub issuer: String,
    /// Where people sign in.
    pub authorization_endpoint: String,
    /// Where codes and refresh tokens become tokens.
    pub token_endpoint: String,
    /// Where clients register (RFC 7591), if it lets them.
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    /// The PKCE methods it supports.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// Whether a client may be identified by its metadata document's URL.
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    /// Whether its authorization responses carry `iss` (RFC 9207).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// The client authentication methods its token endpoint takes.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// The scopes it lists.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

impl ServerMetadata {
    /// The document `text`, fetched for `issuer`: it must name that issuer exactly (RFC 8414
    /// §3.3, against mix-up) and support PKCE S256, which the MCP authorization spec requires.
    pub fn parse(text: &str, issuer: &str) -> Result<Self, MetadataError> {
        let metadata: Self =
            serde_json::from_str(text).map_err(|e| MetadataError::Malformed(e.to_string()))?;
        if metadata.issuer != issuer {
            return Err(MetadataError::Mismatch {
                named: metadata.issuer,
                expected: issuer.to_owned(),
            });
        }
        if !metadata
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
        {
            return Err(MetadataError::Unsupported(
                "does not advertise PKCE S256 (code_challenge_methods_supported)".into(),
            ));
        }
        Ok(metadata)
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn resource_metadata_is_looked_for_where_the_challenge_says_then_path_then_origin() {
        let resource = url("https://mcp.example.com/public/mcp?x=1");
        assert_eq!(
            resource_metadata_urls(&resource, Some("https://mcp.example.com/meta")),
            [
                "https://mcp.example.com/meta",
                "https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp",
                "https://mcp.example.com/.well-known/oauth-protected-resource",
            ]
        );
        assert_eq!(
            resource_metadata_urls(&url("https://mcp.example.com/"), None),
            ["https://mcp.example.com/.well-known/oauth-protected-resource"]
        );
    }

    #[test]
    fn an_issuer_with_a_path_is_tried_three_ways_and_one_without_two() {
        assert_eq!(
            authorization_server_urls(&url("https://auth.example.com/tenant1")),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example.com/.well-known/openid-configuration/tenant1",
                "https://auth.example.com/tenant1/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            authorization_server_urls(&url("https://auth.example.com")),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server",
                "https://auth.example.com/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn resource_metadata_must_describe_the_resource_it_was_fetched_for() {
        let resource = url("https://mcp.example.com/mcp");
        let good = r#"{"resource": "https://mcp.example.com/mcp", "authorization_servers": ["https://auth.example.com"]}"#;
        assert!(ResourceMetadata::parse(good, &resource).is_ok());
        let other = r#"{"resource": "https://evil.example.com/mcp", "authorization_servers": ["https://a"]}"#;
        assert!(matches!(
            ResourceMetadata::parse(other, &resource),
            Err(MetadataError::Mismatch { .. })
        ));
        let none = r#"{"resource": "https://mcp.example.com/mcp", "authorization_servers": []}"#;
        assert!(ResourceMetadata::parse(none, &resource).is_err());
    }

    #[test]
    fn server_metadata_must_name_its_issuer_and_support_s256() {
        let metadata = |issuer: &str, methods: &str| {
            format!(
                r#"{{"issuer": "{issuer}", "authorization_endpoint": "https://a/authorize",
                    "token_endpoint": "https://a/token", "code_challenge_methods_supported": {methods}}}"#
            )
        };
        assert!(ServerMetadata::parse(&metadata("https://a", r#"["S256"]"#), "https://a").is_ok());
        let mixed_up = ServerMetadata::parse(&metadata("https://b", r#"["S256"]"#), "https://a");
        assert!(matches!(mixed_up, Err(MetadataError::Mismatch { .. })));
        let plain = ServerMetadata::parse(&metadata("https://a", r#"["plain"]"#), "https://a");
        assert!(matches!(plain, Err(MetadataError::Unsupported(_))));
    }
}
