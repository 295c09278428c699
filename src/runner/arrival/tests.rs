#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::cell::{Cell, RefCell};

use futures::executor::block_on;

use super::*;
use crate::config::{AccessPolicy, RunnerConfig};
use crate::protocol::http::Body;
use crate::runner::testing::{FakeServices, CONFIG};
use crate::sandbox::limits::ExecutionLimits;

const PING: &str = r#"{"jsonrpc": "2.0", "id": 1, "method": "ping"}"#;

fn arrival(endpoint: Endpoint, authorization: Option<&str>, oauth: Option<SignedIn>) -> Arrival {
    let mut headers = vec![
        ("content-type".to_owned(), "application/json".to_owned()),
        (
            "accept".to_owned(),
            "application/json, text/event-stream".to_owned(),
        ),
    ];
    headers.extend(authorization.map(|value| ("authorization".to_owned(), value.to_owned())));
    Arrival {
        endpoint,
        request: HttpRequest {
            method: "POST".into(),
            authority: "runner.example.workers.dev".into(),
            headers,
            body: PING.as_bytes().to_vec(),
        },
        origin: "https://runner.example.workers.dev".into(),
        query: None,
        oauth,
    }
}

/// Serves `arrival` with the keys `alice=k-alice`; returns the answer, who the runner was made
/// for (if it was), and what the operator was told.
fn serve_with_keys(
    arrival: Arrival,
) -> (
    HttpResponse,
    Option<Option<Person>>,
    Vec<(LogLevel, String)>,
) {
    let services: &'static FakeServices = Box::leak(Box::default());
    let made_for = Cell::new(None);
    let told = RefCell::new(Vec::new());
    let setting = |name: &str| (name == RUNNER_TOKEN).then(|| "alice=k-alice".to_owned());
    let start = |person: Option<Person>, scope: Option<String>| {
        made_for.set(Some(person.clone()));
        let config = RunnerConfig::from_json(CONFIG).map_err(|e| e.to_string());
        let access = AccessPolicy::default();
        futures::future::ready(config.map(|config| {
            Runner::new(
                services,
                config,
                &access,
                ExecutionLimits::default(),
                person,
                scope,
            )
        }))
    };
    let log = |level, message: &str| told.borrow_mut().push((level, message.to_owned()));
    let response = block_on(serve(arrival, setting, start, log));
    (response, made_for.into_inner(), told.into_inner())
}

fn text(response: &HttpResponse) -> String {
    match &response.body {
        Body::Complete(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Body::Events(_) => String::new(),
    }
}

#[test]
fn a_request_without_a_key_is_refused_before_the_runner_is_made() {
    let (response, made_for, _) = serve_with_keys(arrival(Endpoint::Mcp, None, None));
    assert_eq!(response.status, 401);
    assert_eq!(made_for, None, "the configuration was not read");
}

#[test]
fn a_key_makes_the_runner_for_its_holder() {
    let (response, made_for, told) =
        serve_with_keys(arrival(Endpoint::Mcp, Some("Bearer k-alice"), None));
    assert_ne!(response.status, 401, "{}", text(&response));
    assert_eq!(made_for, Some(Some(Person::access_key("alice"))));
    assert!(told.is_empty(), "{told:?}");
}

#[test]
fn behind_the_oauth_layer_its_person_needs_no_key_and_a_stranger_is_told_where_to_sign_in() {
    let bob = Person::signed_in("bob", None, vec![]);
    let signed_in = SignedIn {
        person: Some(bob.clone()),
    };
    let (_, made_for, _) = serve_with_keys(arrival(
        Endpoint::Mcp,
        Some("Bearer issued"),
        Some(signed_in),
    ));
    assert_eq!(made_for, Some(Some(bob)));

    let unknown = SignedIn::default();
    let (response, made_for, _) =
        serve_with_keys(arrival(Endpoint::Mcp, Some("Bearer guess"), Some(unknown)));
    assert_eq!(response.status, 401);
    assert_eq!(made_for, None);
    let challenge = response
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("WWW-Authenticate"))
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    assert!(
        challenge.contains(r#"resource_metadata="https://runner.example.workers.dev/.well-known/oauth-protected-resource/mcp""#),
        "{challenge}"
    );
}

#[test]
fn the_oauth_layers_word_never_opens_the_operators_endpoint() {
    let signed_in = SignedIn {
        person: Some(Person::signed_in("bob", None, vec![])),
    };
    let (response, made_for, _) = serve_with_keys(arrival(
        Endpoint::Admin("/admin/audit".into()),
        None,
        Some(signed_in),
    ));
    assert_eq!(response.status, 404, "no ADMIN_TOKEN: the endpoint is off");
    assert_eq!(made_for, None);
}
