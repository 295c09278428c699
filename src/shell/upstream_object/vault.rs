//! An OAuth account's record sealed in the upstream object's storage: AES-GCM through
//! WebCrypto, under a key derived (SHA-256) from the `UPSTREAM_TOKEN_KEY` secret. A record
//! sealed under `UPSTREAM_TOKEN_KEY_PREVIOUS` is still opened, and sealed again under the new
//! key at its next write, which is how the key is rotated.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::JsValue;
use worker::{Env, Storage};

use crate::shell::js::{call_async, call_method, describe, property};
use crate::upstream::oauth::account::Vault;

/// The secret the sealing key is derived from.
pub(crate) const KEY_SECRET: &str = "UPSTREAM_TOKEN_KEY";
/// The key being rotated away from.
const PREVIOUS_KEY_SECRET: &str = "UPSTREAM_TOKEN_KEY_PREVIOUS";
/// The storage key of the sealed record.
const RECORD_KEY: &str = "oauth";
/// What a sealed record starts with: the format's version.
const SEALED_PREFIX: &str = "v1.";
/// AES-GCM's nonce length.
const NONCE_BYTES: u32 = 12;

/// The object's storage, sealing the record.
pub(crate) struct SealedStorage {
    storage: Storage,
    /// The current key's secret, and the previous one's.
    secrets: (Option<String>, Option<String>),
}

impl SealedStorage {
    /// The record in `storage`, sealed under the keys `env`'s secrets give.
    pub(crate) fn new(storage: Storage, env: &Env) -> Self {
        let secret = |name: &str| env.secret(name).ok().map(|s| s.to_string());
        Self {
            storage,
            secrets: (secret(KEY_SECRET), secret(PREVIOUS_KEY_SECRET)),
        }
    }

    fn current(&self) -> Result<&str, String> {
        self.secrets.0.as_deref().ok_or_else(|| {
            format!("OAuth upstreams need the secret {KEY_SECRET}, which seals their tokens")
        })
    }
}

impl Vault for SealedStorage {
    fn load(&self) -> LocalBoxFuture<'_, Result<Option<String>, String>> {
        async move {
            let stored: Option<String> = self
                .storage
                .get(RECORD_KEY)
                .await
                .map_err(|e| e.to_string())?;
            let Some(sealed) = stored else {
                return Ok(None);
            };
            let keys = [Some(self.current()?), self.secrets.1.as_deref()];
            for secret in keys.into_iter().flatten() {
                if let Ok(json) = open(secret, &sealed).await {
                    return Ok(Some(json));
                }
            }
            Err("the stored record opens with neither key".into())
        }
        .boxed_local()
    }

    fn save(&self, json: String) -> LocalBoxFuture<'_, Result<(), String>> {
        async move {
            let sealed = seal(self.current()?, &json).await?;
            self.storage
                .put(RECORD_KEY, sealed)
                .await
                .map_err(|e| e.to_string())
        }
        .boxed_local()
    }
}

/// `crypto.subtle`.
fn subtle() -> Result<JsValue, String> {
    property(&property(&js_sys::global(), "crypto")?, "subtle")
}

/// The AES-GCM key derived from `secret`.
async fn key(secret: &str) -> Result<JsValue, String> {
    let subtle = subtle()?;
    let bytes = Uint8Array::from(secret.as_bytes());
    let digest = call_async(&subtle, "digest", &[&"SHA-256".into(), &bytes])
        .await
        .map_err(|e| describe(&e))?;
    let usages: Array = ["encrypt", "decrypt"]
        .iter()
        .map(|u| JsValue::from(*u))
        .collect();
    let args = [
        &"raw".into(),
        &digest,
        &algorithm(None)?,
        &JsValue::FALSE,
        &usages.into(),
    ];
    call_async(&subtle, "importKey", &args)
        .await
        .map_err(|e| describe(&e))
}

/// `{name: "AES-GCM", iv}`.
fn algorithm(iv: Option<&Uint8Array>) -> Result<JsValue, String> {
    let object = Object::new();
    Reflect::set(&object, &"name".into(), &"AES-GCM".into()).map_err(|e| describe(&e))?;
    if let Some(iv) = iv {
        Reflect::set(&object, &"iv".into(), iv).map_err(|e| describe(&e))?;
    }
    Ok(object.into())
}

/// `text` sealed under `secret`: the version, then base64 of the nonce and the ciphertext.
async fn seal(secret: &str, text: &str) -> Result<String, String> {
    let key = key(secret).await?;
    let nonce = Uint8Array::new_with_length(NONCE_BYTES);
    call_method(
        &property(&js_sys::global(), "crypto")?,
        "getRandomValues",
        &[&nonce],
    )?;
    let data = Uint8Array::from(text.as_bytes());
    let sealed = call_async(
        &subtle()?,
        "encrypt",
        &[&algorithm(Some(&nonce))?, &key, &data],
    )
    .await
    .map_err(|e| describe(&e))?;
    let mut bytes = nonce.to_vec();
    bytes.extend(Uint8Array::new(&sealed).to_vec());
    Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(bytes)))
}

/// The text `sealed` holds, if it was sealed under `secret`.
async fn open(secret: &str, sealed: &str) -> Result<String, String> {
    let encoded = sealed
        .strip_prefix(SEALED_PREFIX)
        .ok_or("not a sealed record")?;
    let bytes = STANDARD.decode(encoded).map_err(|e| e.to_string())?;
    if bytes.len() < NONCE_BYTES as usize {
        return Err("too short".into());
    }
    let (nonce, data) = bytes.split_at(NONCE_BYTES as usize);
    let key = key(secret).await?;
    let nonce = Uint8Array::from(nonce);
    let data = Uint8Array::from(data);
    let opened = call_async(
        &subtle()?,
        "decrypt",
        &[&algorithm(Some(&nonce))?, &key, &data],
    )
    .await
    .map_err(|e| describe(&e))?;
    String::from_utf8(Uint8Array::new(&opened).to_vec()).map_err(|e| e.to_string())
}
