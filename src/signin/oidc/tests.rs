#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

use super::*;
use crate::signin::testing::{claims, config, provider, signed, Provider, JWKS, NOW};

fn person(token: &str) -> Result<Person, OidcError> {
    config().person(token, &parse_keys(JWKS).unwrap(), "n-1", NOW)
}

#[test]
fn a_verified_id_token_names_the_person_their_email_and_groups() {
    let person = person(&signed(&claims())).unwrap();
    assert_eq!(person.id, "oidc:248289761001");
    assert_eq!(person.email.as_deref(), Some("alice@example.com"));
    assert_eq!(person.groups, ["eng", "ops"]);
}

#[test]
fn an_unverified_email_is_not_taken() {
    let mut claims = claims();
    claims["email_verified"] = json!(false);
    let person = person(&signed(&claims)).unwrap();
    assert_eq!(person.email, None);
    assert_eq!(person.name, "248289761001");
}

#[test]
fn each_broken_claim_is_refused() {
    let cases: [(&str, Value); 5] = [
        ("iss", json!("https://evil.example.com")),
        ("aud", json!("another-client")),
        ("exp", json!(NOW - 3600)),
        ("nonce", json!("replayed")),
        ("sub", json!("")),
    ];
    for (claim, value) in cases {
        let mut claims = claims();
        claims[claim] = value;
        let refused = person(&signed(&claims)).unwrap_err();
        assert!(
            matches!(refused, OidcError::IdToken(_)),
            "{claim}: {refused}"
        );
    }
}

#[test]
fn a_forged_signature_or_a_symmetric_algorithm_is_refused() {
    let token = signed(&claims());
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let forged = format!("{rest}.{}", signature.chars().rev().collect::<String>());
    assert!(person(&forged).is_err());
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("test-key-1".into());
    let symmetric = encode(
        &header,
        &claims(),
        &EncodingKey::from_secret(b"s3cret").unwrap(),
    )
    .unwrap();
    let refused = person(&symmetric).unwrap_err();
    assert!(refused.to_string().contains("not allowed"), "{refused}");
}

#[test]
fn the_authorization_url_carries_pkce_state_and_nonce() {
    let metadata = ProviderMetadata::parse(
        r#"{"issuer": "https://idp.example.com", "authorization_endpoint": "https://idp.example.com/auth",
            "token_endpoint": "https://idp.example.com/token", "jwks_uri": "https://idp.example.com/jwks"}"#,
        &config(),
    )
    .unwrap();
    let url = config()
        .authorization_url(
            &metadata,
            "https://runner.example/callback",
            "st",
            "verifier-1",
            "n-1",
        )
        .unwrap();
    let url = url::Url::parse(&url).unwrap();
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge"], code_challenge("verifier-1"));
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["nonce"], "n-1");
    assert_eq!(query["state"], "st");
    assert_eq!(query["scope"], "openid email profile");
}

#[test]
fn metadata_from_another_issuer_is_refused() {
    let refused = ProviderMetadata::parse(
        r#"{"issuer": "https://evil.example.com", "authorization_endpoint": "a",
            "token_endpoint": "t", "jwks_uri": "j"}"#,
        &config(),
    )
    .unwrap_err();
    assert!(refused.to_string().contains("evil.example.com"));
}

#[test]
fn an_issuer_must_be_https_and_needs_a_client_id() {
    let plain = |name: &str| (name == ISSUER_VAR).then(|| "http://idp.example.com".to_owned());
    assert!(OidcConfig::from_vars(plain).is_err());
    let no_client = |name: &str| (name == ISSUER_VAR).then(|| "https://idp.example.com".to_owned());
    let refused = OidcConfig::from_vars(no_client).unwrap_err();
    assert!(refused.to_string().contains(CLIENT_ID_VAR));
    assert_eq!(OidcConfig::from_vars(|_| None), Ok(None));
}

#[test]
fn a_failed_token_request_says_its_status_and_error_code_only() {
    let refused = TokenResponse::parse(
        400,
        r#"{"error": "invalid_grant", "error_description": "x"}"#,
    )
    .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the identity provider did not issue an ID token: HTTP 400 (invalid_grant)"
    );
}

const EXCHANGE: CodeExchange<'static> = CodeExchange {
    code: "code-1",
    redirect_uri: "https://runner.example/callback",
    verifier: "verifier-1",
    nonce: "n-1",
};

#[test]
fn a_code_becomes_the_person_through_discovery_token_and_keys() {
    let id_token = signed(&claims());
    let idp = provider((
        200,
        json!({"id_token": id_token, "access_token": "a"}).to_string(),
    ));
    let person = futures::executor::block_on(async {
        let metadata = config().discover(&idp).await?;
        config().signed_in(&idp, &metadata, &EXCHANGE).await
    })
    .unwrap();
    assert_eq!(person.email.as_deref(), Some("alice@example.com"));
    let sent = idp.sent.borrow();
    let token_body = sent[1].1.as_deref().unwrap();
    for field in [
        "grant_type=authorization_code",
        "code=code-1",
        "code_verifier=verifier-1",
        "client_secret=s3cret",
    ] {
        assert!(token_body.contains(field), "{token_body}");
    }
}

#[test]
fn a_provider_that_does_not_answer_times_out_with_a_clear_error() {
    let idp = Provider {
        timers_fire: true,
        ..Provider::default()
    };
    let refused = futures::executor::block_on(config().discover(&idp)).unwrap_err();
    assert!(
        refused.to_string().contains("did not answer within"),
        "{refused}"
    );
}

#[test]
fn a_refused_code_is_the_providers_error_not_a_person() {
    let idp = provider((400, r#"{"error": "invalid_grant"}"#.to_owned()));
    let refused = futures::executor::block_on(async {
        let metadata = config().discover(&idp).await?;
        config().signed_in(&idp, &metadata, &EXCHANGE).await
    })
    .unwrap_err();
    assert!(matches!(refused, OidcError::Token(_)), "{refused}");
}
