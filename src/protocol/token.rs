//! Who presented a bearer token, without the token: sessions are bound to it, the audit log
//! names it, and neither needs the secret.

use crate::digest::{hex, sha256};

/// Who holds a session, without the secret: the first 8 bytes of the token's SHA-256, in
/// hex. Safe to store and to log, and enough to tell a handful of tokens apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct TokenFingerprint(String);

impl TokenFingerprint {
    /// The fingerprint of `token`.
    pub fn of(token: &str) -> Self {
        Self(hex(&sha256(token)[..8]))
    }

    /// The fingerprint as hex.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
