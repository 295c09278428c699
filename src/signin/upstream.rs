//! A person connecting their account at an OAuth upstream: the link the runner gave them opens
//! a page naming the upstream and whose account it connects (so a link someone else made is
//! recognised), its button starts the authorization request, and the authorization server's
//! redirect back completes it. Each step is a command to the object that holds the account,
//! which the link's and the `state`'s address name.

use serde_json::{json, Value};

use super::from_own_page;
use super::page::{document, error_page, escape};
use crate::config::account_of_object;
use crate::upstream::oauth::flow::CLIENT_NAME;
use crate::upstream::oauth::settings::{
    addressee, CALLBACK_PATH, CLIENT_METADATA_PATH, CONNECT_PATH,
};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};

/// What a request to one of these paths asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Show the page of a link.
    Page(String),
    /// Ask the object for the command's answer.
    Ask {
        /// The object holding the account.
        object: String,
        /// What to ask.
        command: Box<UpstreamCommand>,
    },
    /// Answer with this status and page.
    Refuse(u16, String),
}

/// Whether `path` is one of the paths served here.
pub fn serves(path: &str) -> bool {
    path.starts_with(CONNECT_PATH) || path == CALLBACK_PATH || path == CLIENT_METADATA_PATH
}

/// A request to one of these paths, as far as the step it asks for depends on it.
#[derive(Debug, Clone, Copy)]
pub struct Visit<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The URL's path.
    pub path: &'a str,
    /// The URL's query pairs.
    pub query: &'a [(String, String)],
    /// The request's `Origin`, which browsers send with a form's POST (`null` when the page
    /// it came from sends no referrer).
    pub origin: Option<&'a str>,
    /// The request's `Sec-Fetch-Site`, which browsers send: where the request came from.
    pub fetch_site: Option<&'a str>,
    /// The runner's own origin (`PUBLIC_URL`).
    pub own_origin: &'a str,
}

/// The step `visit` asks for. A link's form is accepted only from the runner's own page: a
/// browser's POST from another site (one that submits a link made for someone else's account,
/// skipping the page that names it) is refused.
pub fn step(visit: Visit<'_>) -> Step {
    let Visit {
        method,
        path,
        query,
        ..
    } = visit;
    let find = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let unknown = || Step::Refuse(404, error_page("This sign-in link is not valid."));
    if let Some(address) = path.strip_prefix(CONNECT_PATH) {
        let Some((object, flow)) = addressee(address) else {
            return unknown();
        };
        return match method {
            "GET" => Step::Page(connect_page(&object)),
            "POST" if !from_own_page(visit.origin, visit.fetch_site, visit.own_origin) => {
                Step::Refuse(
                    403,
                    error_page("This sign-in can only be started from the runner's own page."),
                )
            }
            "POST" => Step::Ask {
                object,
                command: Box::new(UpstreamCommand::OpenSignIn {
                    flow: flow.to_owned(),
                }),
            },
            _ => Step::Refuse(405, error_page("This page only answers its own form.")),
        };
    }
    let Some((object, state)) = find("state")
        .as_deref()
        .and_then(|s| addressee(s).map(|(object, state)| (object, state.to_owned())))
    else {
        return Step::Refuse(
            400,
            error_page("The authorization server sent you back without a valid `state`."),
        );
    };
    Step::Ask {
        object,
        command: Box::new(UpstreamCommand::CompleteSignIn {
            state,
            code: find("code"),
            error: find("error"),
            iss: find("iss"),
        }),
    }
}

/// The page a link opens: which upstream, for whom, and a button to go on.
fn connect_page(object: &str) -> String {
    let (upstream, person) = account_of_object(object);
    let whose = match person {
        Some(person) => format!("your account as <strong>{}</strong>", escape(person)),
        None => "the account everyone on this runner shares".to_owned(),
    };
    document(
        &format!("Connect {upstream}"),
        &format!(
            "<p>Your agent asked to use <strong>{}</strong> through this MCP Isolate Runner, \
             with {whose}.</p><p>If you did not just ask your agent for this, close this page: \
             someone may be trying to link your account to theirs.</p>\
             <form method=\"post\"><button type=\"submit\">Continue to sign in</button></form>",
            escape(upstream)
        ),
    )
}

/// The page after the object's `answer` to a step: `Ok` with a redirect's location, or a
/// status and page.
pub fn answered(answer: Result<UpstreamAnswer, String>) -> Result<String, (u16, String)> {
    match answer {
        Ok(UpstreamAnswer::Redirect { url }) => Ok(url),
        Ok(UpstreamAnswer::SignedIn { upstream }) => Err((
            200,
            document(
                &format!("{upstream} is connected"),
                &format!(
                    "<p><strong>{}</strong> is connected. Return to your agent and ask it to \
                     go on; you can close this page.</p>",
                    escape(&upstream)
                ),
            ),
        )),
        Ok(UpstreamAnswer::SignInFailed { message }) => Err((400, error_page(&message))),
        Ok(UpstreamAnswer::Failed { error }) => Err((502, error_page(&error.to_string()))),
        Ok(_) => Err((
            502,
            error_page("The upstream's object answered out of turn."),
        )),
        Err(detail) => Err((
            502,
            error_page(&format!("The upstream's object failed: {detail}")),
        )),
    }
}

/// The runner's Client ID Metadata Document, served at `public_url` + [`CLIENT_METADATA_PATH`].
pub fn client_metadata(public_url: &str) -> Value {
    json!({
        "client_id": format!("{public_url}{CLIENT_METADATA_PATH}"),
        "client_name": CLIENT_NAME,
        "client_uri": public_url,
        "redirect_uris": [format!("{public_url}{CALLBACK_PATH}")],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use super::*;

    fn address(object: &str, rest: &str) -> String {
        format!("{}.{rest}", URL_SAFE_NO_PAD.encode(object))
    }

    const OWN: &str = "https://runner.example";

    fn visit<'a>(
        method: &'a str,
        path: &'a str,
        query: &'a [(String, String)],
        origin: Option<&'a str>,
    ) -> Step {
        step(Visit {
            method,
            path,
            query,
            origin,
            fetch_site: origin.map(|o| {
                if o == OWN {
                    "same-origin"
                } else {
                    "cross-site"
                }
            }),
            own_origin: OWN,
        })
    }

    #[test]
    fn a_link_shows_whose_account_it_connects_and_its_form_starts_the_sign_in() {
        let path = format!("{CONNECT_PATH}{}", address("github/key:<alice>", "flow-1"));
        let Step::Page(page) = visit("GET", &path, &[], None) else {
            panic!("a page");
        };
        assert!(page.contains("key:&lt;alice&gt;"), "escaped: {page}");
        assert!(page.contains("<form method=\"post\">"));
        assert_eq!(
            visit("POST", &path, &[], Some(OWN)),
            Step::Ask {
                object: "github/key:<alice>".into(),
                command: Box::new(UpstreamCommand::OpenSignIn {
                    flow: "flow-1".into()
                }),
            }
        );
        let bad = visit("GET", &format!("{CONNECT_PATH}not-an-address"), &[], None);
        assert!(matches!(bad, Step::Refuse(404, _)));
        let elsewhere = visit("POST", &path, &[], Some("https://evil.example"));
        assert!(matches!(elsewhere, Step::Refuse(403, _)), "{elsewhere:?}");
        let hidden = visit("POST", &path, &[], Some("null"));
        assert!(
            matches!(hidden, Step::Refuse(403, _)),
            "an opaque origin: {hidden:?}"
        );
    }

    #[test]
    fn the_callback_goes_to_the_object_its_state_names() {
        let query = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        let state = address("linear", "s-1");
        let pairs = query(&[("code", "c"), ("state", &state), ("iss", "https://as")]);
        let asked = visit("GET", CALLBACK_PATH, &pairs, None);
        let Step::Ask { object, command } = asked else {
            panic!("asks the object");
        };
        assert_eq!(object, "linear");
        assert_eq!(
            *command,
            UpstreamCommand::CompleteSignIn {
                state: "s-1".into(),
                code: Some("c".into()),
                error: None,
                iss: Some("https://as".into()),
            }
        );
        let stateless = visit("GET", CALLBACK_PATH, &query(&[("code", "c")]), None);
        assert!(matches!(stateless, Step::Refuse(400, _)));
    }
}
