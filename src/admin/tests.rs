//! The operator's endpoint as an operator and an intruder meet it.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use futures::executor::block_on;

use super::*;
use crate::upstream::health::Health;

struct TwoUpstreams;

impl AdminBackend for TwoUpstreams {
    async fn statuses(&self) -> Vec<UpstreamStatus> {
        ["a", "b"]
            .iter()
            .map(|name| UpstreamStatus::new(name, None, None, false, &Health::default()))
            .collect()
    }

    async fn refresh(&self, name: &str) -> Option<UpstreamStatus> {
        (name == "a").then(|| UpstreamStatus::new(name, None, None, false, &Health::default()))
    }

    async fn put_upstream(&self, name: &str, body: &[u8]) -> Result<(), ChangeError> {
        match (name, body.is_empty()) {
            ("a", _) => Err(ChangeError::Deployed(
                "`a` is configured in UPSTREAMS".into(),
            )),
            (_, true) => Err(ChangeError::Invalid("the body is empty".into())),
            _ => Ok(()),
        }
    }

    async fn remove_upstream(&self, name: &str) -> Result<(), ChangeError> {
        Err(ChangeError::Unknown(name.to_owned()))
    }

    async fn metrics(&self) -> Result<Metrics, String> {
        Ok(Metrics::new(0))
    }

    async fn audit(&self, limit: usize) -> Result<Vec<ExecutionAudit>, String> {
        Ok((0..limit.min(3))
            .map(|n| {
                ExecutionAudit::begin(
                    n as u64,
                    format!("e{n}"),
                    None,
                    None,
                    "return 1;",
                    Vec::new(),
                )
            })
            .collect())
    }

    async fn person(&self, id: &str) -> Result<PersonView, String> {
        Ok(PersonView {
            person: id.to_owned(),
            grant: json!("everything"),
            oauth_grants: Vec::new(),
            sessions: vec!["s-1".into()],
            connections: vec![Connection {
                upstream: "a".into(),
                since_ms: 7,
            }],
        })
    }

    async fn revoke_person(&self, _id: &str) -> Result<Revocation, String> {
        Err("the OAuth layer is down".into())
    }

    async fn clients(&self) -> Result<Vec<OAuthClient>, String> {
        Ok(Vec::new())
    }

    async fn remove_client(&self, id: &str) -> Result<bool, String> {
        Ok(id == "https://claude.ai/oauth/client.json")
    }

    async fn connect(&self, name: &str) -> Result<String, ConnectionError> {
        match name {
            "a" => Ok("https://runner.example/oauth/connect/x.y".into()),
            "b" => Err(ConnectionError::NotShared("`b` is per person".into())),
            _ => Err(ConnectionError::Unknown(name.into())),
        }
    }

    async fn disconnect(&self, name: &str) -> Result<bool, ConnectionError> {
        Err(ConnectionError::Unavailable(format!("{name} is gone")))
    }
}

fn request(method: &str, token: Option<&str>) -> HttpRequest {
    let mut headers = vec![("Host".to_owned(), "127.0.0.1:8787".to_owned())];
    if let Some(token) = token {
        headers.push(("Authorization".to_owned(), format!("Bearer {token}")));
    }
    HttpRequest {
        method: method.to_owned(),
        headers,
        ..HttpRequest::default()
    }
}

fn serve(method: &str, path: &str, token: Option<&str>, admin_token: Option<&str>) -> HttpResponse {
    let (path, query) = match path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (path, None),
    };
    let guard = RequestGuard::new(None, None, admin_token.map(str::to_owned));
    let request = request(method, token);
    refused(&request, &guard)
        .unwrap_or_else(|| block_on(handle(&request, path, query, &TwoUpstreams)))
}

#[test]
fn an_upstream_is_put_and_removed_with_the_status_of_what_went_wrong() {
    assert_eq!(
        serve("PUT", "/admin/upstreams/a", Some("t"), Some("t")).status,
        409
    );
    assert_eq!(
        serve("PUT", "/admin/upstreams/b", Some("t"), Some("t")).status,
        400
    );
    let unknown = serve("DELETE", "/admin/upstreams/c", Some("t"), Some("t"));
    assert_eq!(unknown.status, 404);
    assert!(body(&unknown)["error"].as_str().unwrap().contains("`c`"));
}

#[test]
fn people_and_clients_are_read_and_removed_by_their_encoded_ids() {
    let person = serve("GET", "/admin/people/key%3Aalice", Some("t"), Some("t"));
    assert_eq!(person.status, 200);
    assert_eq!(body(&person)["person"], "key:alice");
    assert_eq!(body(&person)["sessions"], json!(["s-1"]));
    let failed = serve("DELETE", "/admin/people/key:alice", Some("t"), Some("t"));
    assert_eq!(failed.status, 503);
    assert!(body(&failed)["error"]
        .as_str()
        .unwrap()
        .contains("OAuth layer is down"));
    let encoded = "https%3A%2F%2Fclaude.ai%2Foauth%2Fclient.json";
    let removed = serve(
        "DELETE",
        &format!("/admin/clients/{encoded}"),
        Some("t"),
        Some("t"),
    );
    assert_eq!(
        body(&removed)["removed"],
        "https://claude.ai/oauth/client.json"
    );
    let unknown = serve("DELETE", "/admin/clients/nobody", Some("t"), Some("t"));
    assert_eq!(unknown.status, 404);
    assert_eq!(
        serve("PUT", "/admin/clients", Some("t"), Some("t")).status,
        405
    );
}

fn body(response: &HttpResponse) -> Value {
    serde_json::from_slice(response.bytes()).unwrap()
}

#[test]
fn is_off_without_an_admin_token() {
    let response = serve("GET", "/admin/upstreams", Some("x"), None);
    assert_eq!(response.status, 404);
    assert!(body(&response)["error"]
        .as_str()
        .unwrap()
        .contains("ADMIN_TOKEN"));
}

#[test]
fn needs_the_admin_token() {
    assert_eq!(
        serve("GET", "/admin/upstreams", None, Some("op")).status,
        401
    );
    assert_eq!(
        serve("GET", "/admin/upstreams", Some("nope"), Some("op")).status,
        401
    );
}

#[test]
fn lists_upstreams_and_refreshes_one_by_name() {
    let listed = serve("GET", "/admin/upstreams", Some("op"), Some("op"));
    assert_eq!(listed.status, 200);
    let names: Vec<_> = body(&listed)["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].clone())
        .collect();
    assert_eq!(names, [json!("a"), json!("b")]);
    let refreshed = serve("POST", "/admin/upstreams/a/refresh", Some("op"), Some("op"));
    assert_eq!(
        (refreshed.status, body(&refreshed)["name"].clone()),
        (200, json!("a"))
    );
    assert_eq!(
        serve(
            "POST",
            "/admin/upstreams/zz/refresh",
            Some("op"),
            Some("op")
        )
        .status,
        404
    );
}

#[test]
fn the_audit_log_is_read_with_a_bounded_limit() {
    let all = serve("GET", "/admin/audit", Some("op"), Some("op"));
    assert_eq!(all.status, 200);
    assert_eq!(body(&all)["entries"].as_array().unwrap().len(), 3);
    let one = serve("GET", "/admin/audit?limit=1", Some("op"), Some("op"));
    assert_eq!(body(&one)["entries"][0]["execution"], "e0");
    for bad in ["0", "x", "100000"] {
        let refused = serve(
            "GET",
            &format!("/admin/audit?limit={bad}"),
            Some("op"),
            Some("op"),
        );
        assert_eq!(refused.status, 400, "{bad}");
        assert!(body(&refused)["error"].as_str().unwrap().contains(bad));
    }
    assert_eq!(serve("GET", "/admin/audit", None, Some("op")).status, 401);
    assert_eq!(
        serve("POST", "/admin/audit", Some("op"), Some("op")).status,
        405
    );
}

#[test]
fn metrics_are_served_to_the_operator_in_prometheus_text() {
    let scraped = serve("GET", "/metrics", Some("op"), Some("op"));
    assert_eq!(scraped.status, 200);
    assert!(scraped
        .headers
        .iter()
        .any(|(name, value)| name == "Content-Type" && value.starts_with("text/plain")));
    let text = String::from_utf8(scraped.bytes().to_vec()).unwrap();
    assert!(text.contains("# TYPE mir_executions_total counter"));
    assert_eq!(serve("GET", "/metrics", None, Some("op")).status, 401);
    assert_eq!(serve("GET", "/metrics", Some("op"), None).status, 404);
    assert_eq!(serve("PUT", "/metrics", Some("op"), Some("op")).status, 405);
}

#[test]
fn wrong_methods_and_paths_are_named() {
    assert_eq!(
        serve("DELETE", "/admin/upstreams", Some("op"), Some("op")).status,
        405
    );
    assert_eq!(
        serve("GET", "/admin/other", Some("op"), Some("op")).status,
        404
    );
}

#[test]
fn the_operator_connects_and_disconnects_a_shared_account_with_clear_errors() {
    let connected = serve("POST", "/admin/upstreams/a/connect", Some("t"), Some("t"));
    assert_eq!(connected.status, 200);
    assert_eq!(
        body(&connected)["signIn"],
        "https://runner.example/oauth/connect/x.y"
    );
    let per_person = serve("POST", "/admin/upstreams/b/connect", Some("t"), Some("t"));
    assert_eq!(per_person.status, 400);
    assert_eq!(body(&per_person)["error"], "`b` is per person");
    let unknown = serve("POST", "/admin/upstreams/zz/connect", Some("t"), Some("t"));
    assert_eq!(unknown.status, 404);
    let down = serve(
        "DELETE",
        "/admin/upstreams/a/connection",
        Some("t"),
        Some("t"),
    );
    assert_eq!(down.status, 503);
    let wrong = serve("GET", "/admin/upstreams/a/connect", Some("t"), Some("t"));
    assert_eq!(wrong.status, 405);
    let person = serve("GET", "/admin/people/key%3Aalice", Some("t"), Some("t"));
    assert_eq!(body(&person)["connections"][0]["upstream"], "a");
}
