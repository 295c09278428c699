//! The approval pages against the real page objects' logic in memory, a scripted identity
//! provider and a session object that remembers what it approved.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::{ready, Future};

use futures::executor::block_on;
use serde_json::{json, Value};

use super::*;
use crate::execution::page_approval::testing::apply_in;
use crate::execution::page_approval::{object_name, Change, PageApproval, PageStatus};
use crate::protocol::http::{Body, EventStream};
use crate::signin::testing::{claims, config, provider, signed, Provider};

const ORIGIN: &str = "https://runner.example";

/// The page objects, kept as their Durable Objects keep them, and the sessions' approvals.
#[derive(Default)]
struct Objects {
    pages: RefCell<HashMap<String, PageApproval>>,
    sessions: RefCell<Vec<(String, Value)>>,
    sessions_live: bool,
}

impl crate::execution::objects::Objects for Objects {
    fn send_json(
        &self,
        object: Object<'_>,
        command: String,
    ) -> impl Future<Output = Result<String, String>> + 'static + use<> {
        let answer = match object {
            Object::PageApproval(name) => {
                let command = serde_json::from_str(&command).unwrap();
                let answer = apply_in(&mut self.pages.borrow_mut(), name, command);
                serde_json::to_string(&answer).unwrap()
            }
            Object::Session(id) => {
                let command = serde_json::from_str(&command).unwrap();
                self.sessions.borrow_mut().push((id.to_owned(), command));
                self.sessions_live.to_string()
            }
            other => panic!("{other:?} is not one of the pages' objects"),
        };
        ready(Ok(answer))
    }

    async fn open_json(&self, _: Object<'_>, _: String) -> Result<EventStream, String> {
        Err("no streams here".into())
    }
}

/// Alice's call of `github.delete_issue` in session `s-1`, waiting on its page.
fn waiting(objects: &Objects, person: &str) -> String {
    let name = object_name(person, "github.delete_issue", "ab12");
    let open = PageCommand::Open {
        request: Box::new(PageRequest {
            person: person.into(),
            session: Some("s-1".into()),
            upstream: "github".into(),
            function: "github.delete_issue".into(),
            tool: "delete_issue".into(),
            summary: "  number: 7\n  note: <b>bold</b>".into(),
        }),
        now_ms: 1_000,
    };
    let (change, _) = PageApproval::apply(None, open);
    let Change::Put(record) = change else {
        unreachable!()
    };
    objects.pages.borrow_mut().insert(name.clone(), *record);
    name
}

fn pages<'a>(
    keys: &'a AccessKeys,
    provider: Option<&'a OidcConfig>,
    http: &'a Provider,
    objects: &'a Objects,
) -> ApprovalPages<'a, Provider, Objects> {
    ApprovalPages {
        keys,
        provider,
        http,
        objects,
        callback_url: "https://runner.example/callback",
        new_secret: &|| "n-1".to_owned(),
        now_ms: 2_000,
    }
}

fn visit<'a>(method: &'a str, path: &'a str, form: &'a [u8]) -> PageVisit<'a> {
    PageVisit {
        method,
        path,
        form,
        origin: Some(ORIGIN),
        fetch_site: Some("same-origin"),
        own_origin: ORIGIN,
    }
}

fn html(response: &HttpResponse) -> String {
    match &response.body {
        Body::Complete(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Body::Events(_) => panic!("a page is not a stream"),
    }
}

fn header<'a>(response: &'a HttpResponse, name: &str) -> Option<&'a str> {
    let found = response.headers.iter().find(|(n, _)| n == name);
    found.map(|(_, value)| value.as_str())
}

/// The ticket in a review page's form.
fn ticket(page: &str) -> String {
    let at = page.find(r#"name="ticket" value=""#).expect("a ticket") + 21;
    page[at..].split('"').next().unwrap().to_owned()
}

#[test]
fn the_person_signs_in_with_their_key_reviews_the_call_and_approves_it_once() {
    let objects = Objects::default();
    let name = waiting(&objects, "key:alice");
    let keys = AccessKeys::parse(Some("alice=k-alice, bob=k-bob"));
    let http = Provider::default();
    let pages = pages(&keys, None, &http, &objects);
    let path = format!("{APPROVALS_PATH}{name}");

    let first = block_on(pages.serve(visit("GET", &path, b"")));
    assert_eq!(first.status, 200);
    assert!(
        !html(&first).contains("delete_issue"),
        "nothing of the call before sign-in"
    );
    assert!(html(&first).contains(r#"name="key""#));

    let wrong = block_on(pages.serve(visit("POST", &path, b"action=key&key=nope")));
    assert_eq!(wrong.status, 401);
    assert!(html(&wrong).contains("not one this runner knows"));

    let bob = block_on(pages.serve(visit("POST", &path, b"action=key&key=k-bob")));
    assert_eq!(bob.status, 403);
    assert!(html(&bob).contains("someone else"));

    let review = block_on(pages.serve(visit("POST", &path, b"action=key&key=k-alice")));
    let page = html(&review);
    assert_eq!(review.status, 200);
    assert!(page.contains("<code>github.delete_issue</code>"));
    assert!(page.contains("note: &lt;b&gt;bold&lt;/b&gt;"), "{page}");
    assert!(page.contains(r#"value="session""#));
    let form = format!("ticket={}&decision=once", ticket(&page));
    let decide = format!("{path}/decide");
    let done = block_on(pages.serve(visit("POST", &decide, form.as_bytes())));
    assert_eq!(done.status, 200);
    assert!(html(&done).contains("approved, once"));
    let again = block_on(pages.serve(visit("POST", &decide, form.as_bytes())));
    assert_eq!(again.status, 404, "a ticket decides once");
    let stored = objects.pages.borrow()[&name].status.clone();
    assert!(
        matches!(stored, PageStatus::Approved { approval } if approval.by.as_deref() == Some("key:alice"))
    );
}

#[test]
fn an_upstream_tool_name_that_could_fake_the_page_is_shown_quoted() {
    let objects = Objects::default();
    let name = waiting(&objects, "key:alice");
    let hostile = "delete_issue\u{202e}weiver\n(read-only)";
    objects
        .pages
        .borrow_mut()
        .get_mut(&name)
        .unwrap()
        .request
        .tool = hostile.into();
    let keys = AccessKeys::parse(Some("alice=k-alice"));
    let http = Provider::default();
    let pages = pages(&keys, None, &http, &objects);
    let path = format!("{APPROVALS_PATH}{name}");
    let review = block_on(pages.serve(visit("POST", &path, b"action=key&key=k-alice")));
    let page = html(&review);
    assert!(
        page.contains(r#"the tool <code>&quot;delete_issue\u202eweiver\n(read-only)&quot;</code>"#),
        "{page}"
    );
    assert!(!page.contains('\u{202e}'));
}

#[test]
fn approving_for_the_session_writes_the_tool_to_the_sessions_record() {
    let objects = Objects {
        sessions_live: true,
        ..Objects::default()
    };
    let name = waiting(&objects, "key:alice");
    let keys = AccessKeys::parse(Some("alice=k-alice"));
    let http = Provider::default();
    let pages = pages(&keys, None, &http, &objects);
    let path = format!("{APPROVALS_PATH}{name}");
    let review = html(&block_on(pages.serve(visit(
        "POST",
        &path,
        b"action=key&key=k-alice",
    ))));
    let form = format!("ticket={}&decision=session", ticket(&review));
    let decide = format!("{path}/decide");
    let done = block_on(pages.serve(visit("POST", &decide, form.as_bytes())));
    assert_eq!(done.status, 200);
    assert_eq!(
        *objects.sessions.borrow(),
        [(
            "s-1".to_owned(),
            json!({"op": "approveForSession", "tool": "github/delete_issue"})
        )]
    );
}

#[test]
fn a_form_from_another_site_or_a_made_up_link_is_refused() {
    let objects = Objects::default();
    let name = waiting(&objects, "key:alice");
    let keys = AccessKeys::parse(Some("alice=k-alice"));
    let http = Provider::default();
    let pages = pages(&keys, None, &http, &objects);
    let path = format!("{APPROVALS_PATH}{name}");
    let cross_site = PageVisit {
        origin: Some("https://evil.example"),
        fetch_site: Some("cross-site"),
        ..visit("POST", &path, b"action=key&key=k-alice")
    };
    assert_eq!(block_on(pages.serve(cross_site)).status, 403);
    for path in [
        "/approvals/../admin",
        "/approvals/",
        &format!("{APPROVALS_PATH}{}", "0".repeat(64)),
    ] {
        assert_eq!(
            block_on(pages.serve(visit("GET", path, b""))).status,
            404,
            "{path}"
        );
    }
}

#[test]
fn the_person_can_sign_in_at_the_identity_provider_and_decline() {
    let objects = Objects::default();
    let name = waiting(&objects, "oidc:248289761001");
    let keys = AccessKeys::parse(None);
    let token = json!({"id_token": signed(&claims()), "access_token": "a"}).to_string();
    let http = provider((200, token));
    let oidc = config();
    let pages = pages(&keys, Some(&oidc), &http, &objects);
    let path = format!("{APPROVALS_PATH}{name}");
    let first = html(&block_on(pages.serve(visit("GET", &path, b""))));
    assert!(!first.contains(r#"name="key""#));
    let away = block_on(pages.serve(visit("POST", &path, b"action=provider")));
    assert_eq!(away.status, 302);
    let location = url::Url::parse(header(&away, "Location").unwrap()).unwrap();
    assert!(location
        .as_str()
        .starts_with("https://idp.example.com/auth"));
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    assert!(is_provider_return(&state));
    let query = [
        ("state".to_owned(), state),
        ("code".to_owned(), "c".to_owned()),
    ];
    let review = block_on(pages.provider_return(&query));
    let page = html(&review);
    assert_eq!(review.status, 200, "{page}");
    assert!(page.contains("Signed in as <strong>alice@example.com</strong>"));
    let form = format!("ticket={}&decision=decline", ticket(&page));
    let done = block_on(pages.serve(visit("POST", &format!("{path}/decide"), form.as_bytes())));
    assert!(html(&done).contains("declined"));
    assert_eq!(
        block_on(pages.provider_return(&query)).status,
        400,
        "a return is taken once"
    );
}
