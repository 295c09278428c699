//! An OAuth account's record in the upstream object's storage, [sealed](crate::upstream::oauth::seal)
//! under the keys the Worker's secrets give.

use futures::future::LocalBoxFuture;
use futures::FutureExt;
use worker::{Env, Storage};

use crate::upstream::oauth::account::Vault;
use crate::upstream::oauth::seal::{Keys, KEY_SECRET, PREVIOUS_KEY_SECRET};

/// The storage key of the sealed record.
const RECORD_KEY: &str = "oauth";

/// The object's storage, sealing the record.
pub(crate) struct SealedStorage {
    storage: Storage,
    keys: Keys,
}

impl SealedStorage {
    /// The record in `storage`, sealed under the keys `env`'s secrets give.
    pub(crate) fn new(storage: Storage, env: &Env) -> Self {
        let secret = |name: &str| env.secret(name).ok().map(|s| s.to_string());
        let (current, previous) = (secret(KEY_SECRET), secret(PREVIOUS_KEY_SECRET));
        Self {
            storage,
            keys: Keys::from_secrets(current.as_deref(), previous.as_deref()),
        }
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
            let opened = stored.map(|sealed| self.keys.open(&sealed)).transpose();
            opened.map_err(|e| e.to_string())
        }
        .boxed_local()
    }

    fn save(&self, json: String) -> LocalBoxFuture<'_, Result<(), String>> {
        async move {
            let sealed = self.keys.seal(&json).map_err(|e| e.to_string())?;
            self.storage
                .put(RECORD_KEY, sealed)
                .await
                .map_err(|e| e.to_string())
        }
        .boxed_local()
    }
}
