#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use futures::executor::block_on;
use serde_json::json;

use super::*;
use crate::signin::testing::{self, claims, provider, signed, Provider};

/// The client's authorization request, as the fake layer keeps it.
#[derive(Debug, Clone, PartialEq)]
struct Request(&'static str);

/// The OAuth layer in memory: transactions by handle and state, the browser's request naming
/// one `state` at a time, and the people authorizations were completed for.
#[derive(Default)]
struct Layer {
    consents: RefCell<HashMap<String, Request>>,
    transactions: RefCell<HashMap<String, (Request, Pending)>>,
    /// The `state` the current request's URL names.
    state: RefCell<String>,
    completed: RefCell<Vec<Person>>,
    next: Cell<u32>,
}

impl Layer {
    fn handle(&self, kind: &str) -> String {
        self.next.set(self.next.get() + 1);
        format!("{kind}-{}", self.next.get())
    }
}

impl OAuthLayer for Layer {
    type Request = Request;
    type Headers = Vec<String>;
    type Error = String;

    async fn parse_request(&self) -> Result<Request, String> {
        Ok(Request("http://127.0.0.1:9/callback"))
    }

    async fn describe(&self, _request: &Request) -> Result<ClientView, String> {
        Ok(ClientView {
            client_name: "Claude".into(),
            client_domain: None,
            redirect_host: "127.0.0.1".into(),
            redirect_is_loopback: true,
        })
    }

    async fn begin_consent(&self, request: &Request) -> Result<(String, Vec<String>), String> {
        let handle = self.handle("consent");
        self.consents
            .borrow_mut()
            .insert(handle.clone(), request.clone());
        Ok((handle.clone(), vec![format!("bind {handle}")]))
    }

    async fn approve_consent(&self, handle: &str) -> Result<(Request, Vec<String>), String> {
        let request = self.consents.borrow_mut().remove(handle);
        let request = request.ok_or("not started in this browser")?;
        Ok((request, vec![format!("clear {handle}")]))
    }

    async fn deny_consent(&self, handle: &str) -> Result<(String, Vec<String>), String> {
        self.approve_consent(handle).await?;
        Ok((
            "http://127.0.0.1:9/callback?error=access_denied".into(),
            vec![],
        ))
    }

    async fn begin_transaction(
        &self,
        request: &Request,
        pending: &Pending,
        mut headers: Vec<String>,
    ) -> Result<(String, Vec<String>), String> {
        let state = self.handle("state");
        let sealed = (request.clone(), pending.clone());
        self.transactions.borrow_mut().insert(state.clone(), sealed);
        headers.push(format!("bind {state}"));
        Ok((state, headers))
    }

    async fn finish_transaction(&self) -> Result<(Request, Pending, Vec<String>), String> {
        let state = self.state.borrow().clone();
        let (request, pending) = self
            .transactions
            .borrow_mut()
            .remove(&state)
            .ok_or("used or unknown state")?;
        Ok((request, pending, vec![format!("clear {state}")]))
    }

    async fn complete(&self, request: &Request, person: &Person) -> Result<String, String> {
        self.completed.borrow_mut().push(person.clone());
        Ok(format!("{}?code=c-1", request.0))
    }

    fn read(&self, request: &Request) -> Result<AuthRequest, String> {
        Ok(AuthRequest {
            redirect_uri: request.0.into(),
            state: "client-state".into(),
            issuer: Some("https://runner.example".into()),
        })
    }
}

struct Setup {
    keys: AccessKeys,
    provider: Option<OidcConfig>,
    config: RunnerConfig,
    access: AccessPolicy,
    http: Provider,
}

impl Setup {
    fn new(http: Provider) -> Self {
        let config = RunnerConfig::from_json(
            r#"[{"name": "github", "url": "https://gh.example/mcp"},
                {"name": "docs", "url": "https://docs.example/mcp"}]"#,
        )
        .unwrap();
        let access = AccessPolicy::from_json(
            Some(r#"{"people": {"key:alice": {"docs": {}}}, "groups": {"eng": {"*": {}}}}"#),
            &config.upstream_names(),
        )
        .unwrap();
        Self {
            keys: AccessKeys::parse(Some("alice=k-alice")),
            provider: Some(testing::config()),
            config,
            access,
            http,
        }
    }

    fn sign_in(&self) -> SignIn<'_, Provider> {
        SignIn {
            keys: &self.keys,
            provider: self.provider.as_ref(),
            config: &self.config,
            access: &self.access,
            http: &self.http,
            callback_url: "https://runner.example/callback",
            new_secret: &|| "n-1".to_owned(),
        }
    }
}

fn page(answer: Step<Layer>) -> (u16, String) {
    match answer {
        Ok(Answer::Page(status, html, _)) => (status, html),
        other => panic!("not a page: {other:?}"),
    }
}

fn redirect(answer: Step<Layer>) -> String {
    match answer {
        Ok(Answer::Redirect(location, _)) => location,
        other => panic!("not a redirect: {other:?}"),
    }
}

/// The value of the `state` query in a consent page's form.
fn consent_state(html: &str) -> String {
    let at = html.find("confirm?state=").unwrap() + "confirm?state=".len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// The sign-in page's answer `form`, once the page was shown (its handle is `consent-1`).
fn answered(setup: &Setup, layer: &Layer, form: &[u8]) -> Step<Layer> {
    block_on(setup.sign_in().begin(layer)).unwrap();
    block_on(setup.sign_in().sign_in(layer, form))
}

#[test]
fn the_sign_in_page_offers_the_configured_methods_bound_to_the_browser() {
    let setup = Setup::new(Provider::default());
    let layer = Layer::default();
    let Ok(Answer::Page(200, html, Some(headers))) = block_on(setup.sign_in().begin(&layer)) else {
        panic!("no page")
    };
    assert!(html.contains(r#"name="key""#) && html.contains("Sign in with idp.example.com"));
    assert_eq!(headers, ["bind consent-1"]);
}

#[test]
fn a_wrong_key_shows_the_page_again_and_keeps_the_transaction_open() {
    let setup = Setup::new(Provider::default());
    let layer = Layer::default();
    let (status, html) = page(answered(
        &setup,
        &layer,
        b"handle=consent-1&action=key&key=nope",
    ));
    assert_eq!(status, 401);
    assert!(html.contains(UNKNOWN_KEY));
    assert!(layer.consents.borrow().contains_key("consent-1"));
}

#[test]
fn a_key_then_allow_completes_the_authorization_for_its_holder() {
    let setup = Setup::new(Provider::default());
    let layer = Layer::default();
    let (status, html) = page(answered(
        &setup,
        &layer,
        b"handle=consent-1&action=key&key=k-alice",
    ));
    assert_eq!(status, 200);
    assert!(html.contains("<li><code>docs</code></li>") && !html.contains("github"));
    *layer.state.borrow_mut() = consent_state(&html);
    let location = redirect(block_on(
        setup.sign_in().confirm(&layer, b"decision=approve"),
    ));
    assert_eq!(location, "http://127.0.0.1:9/callback?code=c-1");
    assert_eq!(*layer.completed.borrow(), [Person::access_key("alice")]);
    let replayed = block_on(setup.sign_in().confirm(&layer, b"decision=approve"));
    assert_eq!(
        replayed,
        Err(StepError::Layer("used or unknown state".into()))
    );
}

#[test]
fn declining_sends_the_client_access_denied_and_issues_nothing() {
    let setup = Setup::new(Provider::default());
    let layer = Layer::default();
    let html = page(answered(
        &setup,
        &layer,
        b"handle=consent-1&action=key&key=k-alice",
    ))
    .1;
    *layer.state.borrow_mut() = consent_state(&html);
    let location = redirect(block_on(setup.sign_in().confirm(&layer, b"decision=deny")));
    assert!(location.contains("error=access_denied") && location.contains("state=client-state"));
    assert!(layer.completed.borrow().is_empty());
    let cancelled = redirect(answered(&setup, &layer, b"handle=consent-3&action=deny"));
    assert!(cancelled.contains("error=access_denied"));
}

#[test]
fn signing_in_at_the_provider_comes_back_to_consent_for_the_person_it_names() {
    let token = json!({"id_token": signed(&claims())}).to_string();
    let setup = Setup::new(provider((200, token)));
    let layer = Layer::default();
    let to_provider = redirect(answered(
        &setup,
        &layer,
        b"handle=consent-1&action=provider",
    ));
    assert!(to_provider.starts_with("https://idp.example.com/auth?"));
    assert!(to_provider.contains("state=state-2") && to_provider.contains("nonce=n-1"));

    *layer.state.borrow_mut() = "state-2".into();
    let back = [
        ("code".to_owned(), "code-1".to_owned()),
        ("iss".to_owned(), "https://idp.example.com".to_owned()),
    ];
    let (status, html) = page(block_on(setup.sign_in().callback(&layer, &back)));
    assert_eq!(status, 200);
    assert!(html.contains("Signed in as <strong>alice@example.com</strong>"));
    assert!(
        html.contains("<code>github</code>"),
        "the eng group reaches every upstream"
    );
}

#[test]
fn a_return_from_another_issuer_or_without_a_code_completes_nothing() {
    let setup = Setup::new(provider((200, "{}".into())));
    let layer = Layer::default();
    let pending = Pending::Provider {
        verifier: "v".into(),
        nonce: "n-1".into(),
    };
    for state in ["s-1", "s-2"] {
        layer.transactions.borrow_mut().insert(
            state.into(),
            (Request("http://127.0.0.1:9/callback"), pending.clone()),
        );
    }
    *layer.state.borrow_mut() = "s-1".into();
    let mixed_up = block_on(setup.sign_in().callback(
        &layer,
        &[
            ("code".into(), "c".into()),
            ("iss".into(), "https://evil.example".into()),
        ],
    ));
    assert!(
        matches!(mixed_up, Err(StepError::Page(400, _))),
        "{mixed_up:?}"
    );
    *layer.state.borrow_mut() = "s-2".into();
    let declined = redirect(block_on(
        setup
            .sign_in()
            .callback(&layer, &[("error".into(), "access_denied".into())]),
    ));
    assert!(declined.contains("error=access_denied"));
    assert!(layer.completed.borrow().is_empty());
}

#[test]
fn a_consent_answer_cannot_finish_a_provider_transaction() {
    let setup = Setup::new(Provider::default());
    let layer = Layer::default();
    let pending = Pending::Provider {
        verifier: "v".into(),
        nonce: "n".into(),
    };
    layer
        .transactions
        .borrow_mut()
        .insert("s".into(), (Request("r"), pending));
    *layer.state.borrow_mut() = "s".into();
    let refused = block_on(setup.sign_in().confirm(&layer, b"decision=approve"));
    assert!(matches!(refused, Err(StepError::Page(400, _))));
    assert!(layer.completed.borrow().is_empty());
}

#[test]
fn the_provider_button_without_a_provider_is_a_clear_error() {
    let mut setup = Setup::new(Provider::default());
    setup.provider = None;
    let layer = Layer::default();
    let refused = answered(&setup, &layer, b"handle=consent-1&action=provider");
    assert_eq!(
        refused,
        Err(StepError::Page(
            400,
            "No identity provider is configured on this runner.".into()
        ))
    );
}
