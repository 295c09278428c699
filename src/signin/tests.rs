#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;

#[test]
fn each_sign_in_form_is_read_and_a_form_without_its_handle_is_refused() {
    assert_eq!(
        SignInForm::parse(b"handle=h1&action=key&key=+s3cr%2Bt+").unwrap(),
        SignInForm::AccessKey {
            handle: "h1".into(),
            key: "s3cr+t".into()
        }
    );
    assert_eq!(
        SignInForm::parse(b"action=provider&handle=h2").unwrap(),
        SignInForm::Provider {
            handle: "h2".into()
        }
    );
    assert_eq!(
        SignInForm::parse(b"handle=h3&action=deny").unwrap(),
        SignInForm::Deny {
            handle: "h3".into()
        }
    );
    assert_eq!(
        SignInForm::parse(b"action=key&key=k")
            .unwrap_err()
            .to_string(),
        "the form is incomplete: it has no handle; start again from your app"
    );
    assert!(SignInForm::parse(b"handle=h&action=approve-everything").is_err());
}

#[test]
fn only_an_explicit_allow_approves() {
    assert!(approved(b"decision=approve"));
    assert!(!approved(b"decision=deny"));
    assert!(!approved(b""));
    assert!(!approved(b"decision=approved"));
}

#[test]
fn a_denial_goes_back_to_the_registered_redirect_with_state_and_issuer() {
    let request = AuthRequest {
        redirect_uri: "http://127.0.0.1:3000/callback?app=1".into(),
        state: "xyz&evil=1".into(),
        issuer: Some("https://mcp.example.com".into()),
    };
    let url = url::Url::parse(&denied_redirect(&request).unwrap()).unwrap();
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    assert_eq!(url.path(), "/callback");
    assert!(query.contains(&("app".into(), "1".into())));
    assert!(query.contains(&("error".into(), "access_denied".into())));
    assert!(query.contains(&("state".into(), "xyz&evil=1".into())));
    assert!(query.contains(&("iss".into(), "https://mcp.example.com".into())));
    assert!(!query.iter().any(|(k, _)| k == "evil"));
}

#[test]
fn a_grant_user_id_never_holds_the_separator_the_oauth_layer_splits_on() {
    assert_eq!(
        grant_user_id(&Person::access_key("alice").id),
        "key%3Aalice"
    );
    let odd = Person::signed_in("a:b%3Ac", None, vec![]);
    let id = grant_user_id(&odd.id);
    assert!(!id.contains(':'));
    assert_ne!(
        id,
        grant_user_id(&Person::signed_in("a%3Ab:c", None, vec![]).id)
    );
}

#[test]
fn the_consent_page_lists_what_the_policy_grants_the_person() {
    let config = RunnerConfig::from_json(
        r#"[{"name": "github", "url": "https://gh.example/mcp"},
            {"name": "docs", "url": "https://docs.example/mcp"}]"#,
    )
    .unwrap();
    let access = AccessPolicy::from_json(
        Some(r#"{"people": {"key:alice": {"docs": {}}}}"#),
        &config.upstream_names(),
    )
    .unwrap();
    assert_eq!(
        upstreams_for(&config, &access, &Person::access_key("alice")),
        ["docs"]
    );
    assert!(upstreams_for(&config, &access, &Person::access_key("bob")).is_empty());
}

#[test]
fn a_pending_step_round_trips_through_json() {
    let pending = Pending::Consent {
        person: Person::access_key("alice"),
    };
    let json = serde_json::to_string(&pending).unwrap();
    assert_eq!(serde_json::from_str::<Pending>(&json).unwrap(), pending);
}

#[test]
fn a_self_registered_name_cannot_hide_where_access_is_sent() {
    let client = page::ClientView {
        client_name: format!("Claude\u{202e}{}", "x".repeat(5_000)),
        client_domain: None,
        redirect_host: "evil.example".into(),
        redirect_is_loopback: false,
    };
    let methods = page::SignInMethods {
        access_key: true,
        provider: None,
    };
    let html = page::sign_in_page(&client, "h-1", &methods, None);
    let name = format!("<strong>Claude\\u202e{}…</strong>", "x".repeat(73));
    assert!(html.contains(&name), "{html}");
    assert!(html.len() < 5_000, "the name is cut in the title too");
    assert!(!html.contains('\u{202e}'));
    assert!(html.contains("its name is not verified"));
    assert!(html.contains("<strong>evil.example</strong>"));
}

#[test]
fn an_error_page_shows_a_servers_words_cut_and_visible() {
    let words = format!("refused\u{202e}{}", "z".repeat(5_000));
    let html = page::error_page(&words);
    assert!(html.contains(&format!("refused\\u202e{}…", "z".repeat(592))));
    assert!(!html.contains('\u{202e}') && html.len() < 3_000);
}
