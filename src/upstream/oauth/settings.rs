//! What the runner knows of one upstream account in a request (its `auth`, the runner's
//! public URL, the object holding it), the paths of the sign-in, and the addresses that lead a
//! sign-in link and a `state` back to the object.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::config::OAuthConfig;

/// The path of the page a sign-in link opens.
pub const CONNECT_PATH: &str = "/oauth/connect/";

/// The path the authorization server sends the person back to.
pub const CALLBACK_PATH: &str = "/oauth/callback";

/// The path of the runner's Client ID Metadata Document.
pub const CLIENT_METADATA_PATH: &str = "/oauth/client-metadata.json";

/// What the runner knows of an upstream account in a request: its settings, the runner's
/// public URL, and the object's name, which links and `state` carry so the callback finds it.
pub struct AccountSettings {
    /// The upstream's `auth`.
    pub oauth: OAuthConfig,
    /// Its client secret, resolved.
    pub client_secret: Option<String>,
    /// The upstream's MCP endpoint: the resource.
    pub mcp_url: String,
    /// The runner's public origin (`PUBLIC_URL`).
    pub public_url: String,
    /// The upstream's name, for messages.
    pub upstream: String,
    /// The name of the object holding the account.
    pub object: String,
}

impl AccountSettings {
    /// The redirect URI.
    pub(super) fn redirect_uri(&self) -> String {
        format!("{}{CALLBACK_PATH}", self.public_url)
    }

    /// The runner's Client ID Metadata Document URL: the operator's, else the runner's own
    /// where it is served over https (an authorization server fetches only those).
    pub(super) fn metadata_document(&self) -> Option<String> {
        self.oauth.client_metadata_url.clone().or_else(|| {
            self.public_url
                .starts_with("https://")
                .then(|| format!("{}{CLIENT_METADATA_PATH}", self.public_url))
        })
    }

    /// `value` prefixed with the object's name, so a link or a `state` leads back to it.
    pub(super) fn addressed(&self, value: &str) -> String {
        format!("{}.{value}", URL_SAFE_NO_PAD.encode(&self.object))
    }
}

/// The object a link's or a `state`'s address names, and the rest of it.
pub fn addressee(addressed: &str) -> Option<(String, &str)> {
    let (object, rest) = addressed.split_once('.')?;
    let object = String::from_utf8(URL_SAFE_NO_PAD.decode(object).ok()?).ok()?;
    Some((object, rest))
}
