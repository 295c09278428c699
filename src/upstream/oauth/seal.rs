//! An OAuth account's record sealed for storage: AES-256-GCM under a key derived (SHA-256) from
//! the operator's `UPSTREAM_TOKEN_KEY` secret, with a fresh random nonce at every write.
//!
//! A record sealed under `UPSTREAM_TOKEN_KEY_PREVIOUS` still opens, and is sealed again under
//! the current key at its next write: that is how the key is rotated. The sealed form is
//! `v1.` then base64 of the nonce and the ciphertext with its tag.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

/// The secret the sealing key is derived from.
pub const KEY_SECRET: &str = "UPSTREAM_TOKEN_KEY";
/// The secret of the key being rotated away from.
pub const PREVIOUS_KEY_SECRET: &str = "UPSTREAM_TOKEN_KEY_PREVIOUS";

/// What a sealed record starts with: the format's version.
const SEALED_PREFIX: &str = "v1.";
/// AES-GCM's nonce length.
const NONCE_BYTES: usize = 12;

/// Why a record could not be sealed or opened; none of them carries the record or a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The operator has not set the key.
    #[error("OAuth upstreams need the secret {KEY_SECRET}, which seals their tokens")]
    NoKey,
    /// The platform gave no randomness for a nonce.
    #[error("no randomness for a nonce: {0}")]
    NoRandomness(String),
    /// The stored text is not a record this runner sealed.
    #[error("the stored record is not in the sealed form")]
    NotSealed,
    /// The record was sealed under a key the runner no longer has, or was altered.
    #[error("the stored record opens with neither {KEY_SECRET} nor {PREVIOUS_KEY_SECRET}")]
    WrongKey,
}

/// The keys a record is sealed and opened with.
pub struct Keys {
    /// The key new records are sealed under.
    current: Option<Aes256Gcm>,
    /// The key being rotated away from, only for opening.
    previous: Option<Aes256Gcm>,
}

impl Keys {
    /// The keys derived from the current and previous secrets, where set.
    pub fn from_secrets(current: Option<&str>, previous: Option<&str>) -> Self {
        Self {
            current: current.map(cipher),
            previous: previous.map(cipher),
        }
    }

    /// `text` sealed under the current key.
    pub fn seal(&self, text: &str) -> Result<String, SealError> {
        let cipher = self.current.as_ref().ok_or(SealError::NoKey)?;
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| SealError::NoRandomness(e.to_string()))?;
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), text.as_bytes())
            .map_err(|_| SealError::NotSealed)?;
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// The text `sealed` holds, opened with the current key or else the previous one.
    pub fn open(&self, sealed: &str) -> Result<String, SealError> {
        self.current.as_ref().ok_or(SealError::NoKey)?;
        let bytes = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|encoded| STANDARD.decode(encoded).ok())
            .filter(|bytes| bytes.len() > NONCE_BYTES)
            .ok_or(SealError::NotSealed)?;
        let (nonce, data) = bytes.split_at(NONCE_BYTES);
        let opened = [&self.current, &self.previous]
            .into_iter()
            .flatten()
            .find_map(|cipher| cipher.decrypt(Nonce::from_slice(nonce), data).ok())
            .ok_or(SealError::WrongKey)?;
        String::from_utf8(opened).map_err(|_| SealError::NotSealed)
    }
}

/// The AES-256-GCM cipher of the key derived from `secret`.
fn cipher(secret: &str) -> Aes256Gcm {
    let digest = Sha256::digest(secret.as_bytes());
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"connected":{"accessToken":"at-1"}}"#;

    #[test]
    fn a_sealed_record_opens_to_what_was_sealed_and_does_not_show_it() {
        let keys = Keys::from_secrets(Some("k1"), None);
        let sealed = keys.seal(RECORD).unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("at-1"));
        assert_eq!(keys.open(&sealed).unwrap(), RECORD);
    }

    #[test]
    fn a_record_sealed_by_webcrypto_opens() {
        // Sealed with `crypto.subtle` (SHA-256 of "k1", AES-GCM, nonce 0..12), as records
        // stored before the sealing moved into Rust were.
        let sealed = "v1.AAECAwQFBgcICQoLBHsJ3NDcKm2r105qMDTSb3m1nNC2HwOlamFXcUdrOJzh/+oOH7lxXQuXOWh5Z+fsptnWdg==";
        let keys = Keys::from_secrets(Some("k1"), None);
        assert_eq!(keys.open(sealed).unwrap(), RECORD);
    }

    #[test]
    fn each_seal_uses_a_fresh_nonce() {
        let keys = Keys::from_secrets(Some("k1"), None);
        assert_ne!(keys.seal(RECORD).unwrap(), keys.seal(RECORD).unwrap());
    }

    #[test]
    fn a_record_sealed_under_the_previous_key_opens_during_a_rotation() {
        let old = Keys::from_secrets(Some("k1"), None).seal(RECORD).unwrap();
        let rotating = Keys::from_secrets(Some("k2"), Some("k1"));
        assert_eq!(rotating.open(&old).unwrap(), RECORD);
        let resealed = rotating.seal(RECORD).unwrap();
        let rotated = Keys::from_secrets(Some("k2"), None);
        assert_eq!(rotated.open(&resealed).unwrap(), RECORD);
        assert_eq!(rotated.open(&old), Err(SealError::WrongKey));
    }

    #[test]
    fn an_altered_record_does_not_open() {
        let keys = Keys::from_secrets(Some("k1"), None);
        let sealed = keys.seal(RECORD).unwrap();
        let mut bytes = STANDARD.decode(&sealed[3..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = format!("v1.{}", STANDARD.encode(bytes));
        assert_eq!(keys.open(&altered), Err(SealError::WrongKey));
    }

    #[test]
    fn without_the_key_nothing_is_sealed_or_opened() {
        let sealed = Keys::from_secrets(Some("k1"), None).seal(RECORD).unwrap();
        let keyless = Keys::from_secrets(None, Some("k1"));
        assert_eq!(keyless.seal(RECORD), Err(SealError::NoKey));
        assert_eq!(keyless.open(&sealed), Err(SealError::NoKey));
    }

    #[test]
    fn text_not_in_the_sealed_form_is_refused() {
        let keys = Keys::from_secrets(Some("k1"), None);
        for text in ["", RECORD, "v1.", "v1.!!!", "v1.AAAA"] {
            assert_eq!(keys.open(text), Err(SealError::NotSealed), "{text}");
        }
    }
}
