//! A test identity provider for the sign-in tests: its signing key and published keys, ID
//! tokens it signs, and the provider on a scripted network.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;

use futures::future::pending;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use super::oidc::{OidcConfig, CLIENT_ID_VAR, CLIENT_SECRET_VAR, ISSUER_VAR};
use crate::upstream::client::UpstreamError;
use crate::upstream::oauth::testing::{Answer, NoAbort};
use crate::upstream::session::{Http, UpstreamRequest};

/// The provider's RSA key (PKCS#1 DER) and its published JWKS.
const SIGNING_KEY: &[u8] = include_bytes!("../../tests/fixtures/oidc/signing-key.der");
pub(crate) const JWKS: &str = include_str!("../../tests/fixtures/oidc/jwks.json");

/// The tests' clock, in seconds.
pub(crate) const NOW: u64 = 1_800_000_000;

/// The runner as the provider's client `runner`.
pub(crate) fn config() -> OidcConfig {
    let vars = |name: &str| match name {
        ISSUER_VAR => Some("https://idp.example.com".to_owned()),
        CLIENT_ID_VAR => Some("runner".to_owned()),
        CLIENT_SECRET_VAR => Some("s3cret".to_owned()),
        _ => None,
    };
    OidcConfig::from_vars(vars).unwrap().unwrap()
}

/// An ID token's claims for alice, with the nonce `n-1`.
pub(crate) fn claims() -> Value {
    json!({
        "iss": "https://idp.example.com", "aud": "runner", "sub": "248289761001",
        "exp": NOW + 300, "iat": NOW, "nonce": "n-1",
        "email": "alice@example.com", "email_verified": true, "groups": ["eng", "ops"],
    })
}

/// `claims` signed by the provider.
pub(crate) fn signed(claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-key-1".into());
    encode(&header, claims, &EncodingKey::from_rsa_der(SIGNING_KEY)).unwrap()
}

/// A provider on a scripted network: each URL answers with its status and body; a URL not
/// scripted never answers, and the timer fires at once when `timers_fire`.
#[derive(Default)]
pub(crate) struct Provider {
    pub(crate) answers: HashMap<String, (u16, String)>,
    pub(crate) timers_fire: bool,
    pub(crate) sent: RefCell<Vec<(String, Option<String>)>>,
}

impl Http for Provider {
    type Response = Answer;
    type Abort = NoAbort;

    fn abort(&self) -> NoAbort {
        NoAbort
    }

    async fn send(
        &self,
        request: UpstreamRequest<'_>,
        _abort: Option<&NoAbort>,
    ) -> Result<Answer, UpstreamError> {
        self.sent
            .borrow_mut()
            .push((request.url.to_owned(), request.body.clone()));
        match self.answers.get(request.url) {
            Some((status, body)) => Ok(Answer::new(*status, body)),
            None => pending().await,
        }
    }

    async fn sleep(&self, _ms: u32) {
        if !self.timers_fire {
            pending::<()>().await;
        }
    }

    fn spawn(&self, _work: impl Future<Output = ()> + 'static) {}

    fn now_ms(&self) -> u64 {
        NOW * 1000
    }
}

pub(crate) const DISCOVERY: &str = r#"{"issuer": "https://idp.example.com",
    "authorization_endpoint": "https://idp.example.com/auth",
    "token_endpoint": "https://idp.example.com/token", "jwks_uri": "https://idp.example.com/jwks"}"#;

/// The provider answering discovery, its keys, and `token_answer` at its token endpoint.
pub(crate) fn provider(token_answer: (u16, String)) -> Provider {
    let answers = [
        (
            "https://idp.example.com/.well-known/openid-configuration",
            (200, DISCOVERY.to_owned()),
        ),
        ("https://idp.example.com/token", token_answer),
        ("https://idp.example.com/jwks", (200, JWKS.to_owned())),
    ];
    Provider {
        answers: answers
            .into_iter()
            .map(|(u, a)| (u.to_owned(), a))
            .collect(),
        ..Provider::default()
    }
}
