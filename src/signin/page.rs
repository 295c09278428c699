//! The pages a person sees while signing in: plain HTML, no script, every value escaped (a
//! client's name and redirect URI are chosen by whoever registered it).

use std::fmt::Write;

use serde::Deserialize;

use crate::protocol::http::{Body, HttpResponse};
use crate::protocol::person::Person;
use crate::quote::{cut, visible};

/// What a page may load and who may frame it: its own inline style, nothing else. Forms are
/// left free: a consent's answer redirects to the client's own scheme (`cursor://…`).
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

/// `html` as a response with `status`, never cached or framed. The referrer stays on this
/// origin, so the page's own form posts carry the `Origin` the runner checks.
pub fn page_response(status: u16, html: String) -> HttpResponse {
    let headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
        ("Content-Security-Policy", PAGE_POLICY),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
    ];
    HttpResponse {
        status,
        headers: headers.map(|(n, v)| (n.to_owned(), v.to_owned())).to_vec(),
        body: Body::Complete(html.into_bytes()),
    }
}

/// A redirect to `location`, never cached.
pub fn redirect_response(location: &str) -> HttpResponse {
    HttpResponse {
        status: 302,
        headers: vec![
            ("Location".to_owned(), location.to_owned()),
            ("Cache-Control".to_owned(), "no-store".to_owned()),
        ],
        body: Body::Complete(Vec::new()),
    }
}

/// What the page tells the person about the client asking for access: the OAuth layer's
/// description of it (`describeConsent`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientView {
    /// The client's name, or its id when it gave none; self-asserted unless `client_domain`.
    pub client_name: String,
    /// The domain a Client ID Metadata Document client's id is on: verified, unlike the name.
    #[serde(default)]
    pub client_domain: Option<String>,
    /// Where the tokens will be sent.
    pub redirect_host: String,
    /// Whether that is an app on the person's own computer.
    #[serde(default)]
    pub redirect_is_loopback: bool,
}

impl ClientView {
    /// The client's name as its pages show it: cut to [`CLIENT_NAME_CHARS`], its invisible and
    /// reordering characters as `\u` escapes.
    fn shown_name(&self) -> String {
        visible(&cut(&self.client_name, CLIENT_NAME_CHARS))
    }
}

/// How people can sign in on this runner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInMethods {
    /// The operator issued access keys.
    pub access_key: bool,
    /// The organisation's identity provider, by the name shown on its button.
    pub provider: Option<String>,
}

/// The first page: who is asking, and how to sign in. `handle` ties the forms to this
/// browser's consent transaction; `error` says why the last attempt failed. Its forms post back
/// to the page's own URL, whose query is the client's authorization request.
pub fn sign_in_page(
    client: &ClientView,
    handle: &str,
    methods: &SignInMethods,
    error: Option<&str>,
) -> String {
    let mut body = client_summary(client);
    if let Some(error) = error {
        let _ = write!(
            body,
            r#"<p class="error" role="alert">{}</p>"#,
            escape(error)
        );
    }
    let handle = escape(handle);
    if methods.access_key {
        let _ = write!(
            body,
            r#"<form method="post">
<input type="hidden" name="handle" value="{handle}">
<label for="key">Access key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button name="action" value="key">Sign in</button>
</form>"#
        );
    }
    if let Some(provider) = &methods.provider {
        let _ = write!(
            body,
            r#"<form method="post">
<input type="hidden" name="handle" value="{handle}">
<button name="action" value="provider">Sign in with {}</button>
</form>"#,
            escape(provider)
        );
    }
    let _ = write!(
        body,
        r#"<form method="post">
<input type="hidden" name="handle" value="{handle}">
<button name="action" value="deny" class="secondary">Cancel</button>
</form>"#
    );
    document(
        &format!("Sign in to connect {}", client.shown_name()),
        &body,
    )
}

/// The second page, once the person is known: what the client will reach as them. Its form
/// answers the sign-in transaction `state`.
pub fn consent_page(
    client: &ClientView,
    person: &Person,
    upstreams: &[String],
    state: &str,
) -> String {
    let mut body = client_summary(client);
    let _ = write!(
        body,
        "<p>Signed in as <strong>{}</strong>.</p>",
        escape(&person.name)
    );
    if upstreams.is_empty() {
        body.push_str("<p>The operator grants you no upstream on this runner yet.</p>");
    } else {
        body.push_str("<p>It will be able to use these upstreams as you:</p><ul>");
        for upstream in upstreams {
            let _ = write!(body, "<li><code>{}</code></li>", escape(upstream));
        }
        body.push_str("</ul>");
    }
    let _ = write!(
        body,
        r#"<form method="post" action="/authorize/confirm?state={}">
<button name="decision" value="approve">Allow</button>
<button name="decision" value="deny" class="secondary">Deny</button>
</form>"#,
        escape(&form_value(state))
    );
    document(&format!("Allow {}?", client.shown_name()), &body)
}

/// A page saying the sign-in cannot go on, and why. The why may hold a server's words (an
/// authorization server's refusal, an identity provider's error), so it is cut to
/// [`ERROR_CHARS`] and its invisible and reordering characters are shown as `\u` escapes.
pub fn error_page(message: &str) -> String {
    document(
        "Sign-in failed",
        &format!(
            "<p class=\"error\" role=\"alert\">{}</p><p>Start again from your app.</p>",
            escape(&visible(&cut(message, ERROR_CHARS)))
        ),
    )
}

/// Who is asking and where the tokens go, with the MCP authorization spec's warnings.
fn client_summary(client: &ClientView) -> String {
    let mut summary = format!(
        "<p><strong>{}</strong> wants to use this MCP Isolate Runner as you.</p>",
        escape(&client.shown_name())
    );
    match &client.client_domain {
        Some(domain) => {
            let _ = write!(
                summary,
                "<p>Published by <strong>{}</strong>.</p>",
                escape(domain)
            );
        }
        None => summary.push_str("<p>This app registered itself; its name is not verified.</p>"),
    }
    let _ = write!(
        summary,
        "<p>Access will be sent to <strong>{}</strong>.</p>",
        escape(&client.redirect_host)
    );
    if client.redirect_is_loopback {
        summary.push_str(
            "<p class=\"warning\"><strong>This sends access to an app on your computer.</strong> \
             Continue only if you just started connecting from it.</p>",
        );
    }
    summary
}

/// Characters of the reason an error page gives.
const ERROR_CHARS: usize = 600;

/// Characters of a client's name its pages show. Any app can register itself under any
/// name: a long one would push where access is sent out of sight, and an invisible or
/// reordering character could disguise it, so the name is cut and such characters are shown
/// as `\u` escapes.
const CLIENT_NAME_CHARS: usize = 80;

/// A whole page around `body`.
pub(super) fn document(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{STYLE}</style></head>
<body><main><h1>{title}</h1>
{body}
</main></body></html>
"#,
        title = escape(title),
    )
}

/// The pages' style. What a person must read whole (a call's arguments, a long name) wraps
/// inside the card: nothing of it may run off the screen.
const STYLE: &str =
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f5;color:#18181b}\
main{max-width:28rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:.75rem;\
box-shadow:0 1px 3px #0002}h1{font-size:1.35rem;margin-top:0}label{display:block;font-weight:600}\
input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;margin:.25rem 0 1rem;\
font:inherit}button{font:inherit;padding:.5rem 1rem;border-radius:.4rem;border:0;\
background:#f38020;color:#fff;cursor:pointer;margin:0 .5rem .5rem 0}\
button.secondary{background:#e4e4e7;color:#18181b}.error{color:#b91c1c}.warning{color:#92400e}\
form{margin:1rem 0}code{background:#f4f4f5;padding:0 .25rem}main{overflow-wrap:anywhere}\
pre{white-space:pre-wrap;background:#f4f4f5;padding:.75rem;border-radius:.4rem}";

/// `value` escaped for HTML text and attribute values.
pub fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `value` percent-encoded for a URL's query.
fn form_value(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn hostile_client() -> ClientView {
        ClientView {
            client_name: "<script>alert(1)</script>".into(),
            client_domain: None,
            redirect_host: "evil.example\" onmouseover=\"x".into(),
            redirect_is_loopback: true,
        }
    }

    #[test]
    fn what_the_client_chose_is_escaped_everywhere() {
        let methods = SignInMethods {
            access_key: true,
            provider: Some("Okta".into()),
        };
        let page = sign_in_page(&hostile_client(), "h\"1", &methods, Some("<b>no</b>"));
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!page.contains("\" onmouseover=\""));
        assert!(page.contains(r#"value="h&quot;1""#));
        assert!(page.contains("&lt;b&gt;no&lt;/b&gt;"));
    }

    #[test]
    fn the_sign_in_page_offers_only_the_configured_methods_and_warns_of_local_apps() {
        let key_only = sign_in_page(
            &hostile_client(),
            "h",
            &SignInMethods {
                access_key: true,
                provider: None,
            },
            None,
        );
        assert!(key_only.contains(r#"name="key""#));
        assert!(!key_only.contains("Sign in with"));
        assert!(key_only.contains("app on your computer"));
        assert!(key_only.contains("not verified"));
        let provider_only = sign_in_page(
            &ClientView {
                client_domain: Some("claude.ai".into()),
                redirect_is_loopback: false,
                ..hostile_client()
            },
            "h",
            &SignInMethods {
                access_key: false,
                provider: Some("Okta".into()),
            },
            None,
        );
        assert!(!provider_only.contains(r#"name="key""#));
        assert!(provider_only.contains("Sign in with Okta"));
        assert!(provider_only.contains("Published by <strong>claude.ai</strong>"));
        assert!(!provider_only.contains("app on your computer"));
    }

    #[test]
    fn the_consent_page_names_the_person_and_the_upstreams_they_will_reach() {
        let page = consent_page(
            &hostile_client(),
            &Person::access_key("alice"),
            &["github".into(), "docs".into()],
            "s+t/a=te",
        );
        assert!(page.contains("Signed in as <strong>alice</strong>"));
        assert!(page.contains("<li><code>github</code></li><li><code>docs</code></li>"));
        assert!(page.contains(r#"action="/authorize/confirm?state=s%2Bt%2Fa%3Dte""#));
    }

    #[test]
    fn a_page_is_never_cached_framed_or_allowed_to_load_anything() {
        let response = page_response(400, error_page("no"));
        let header = |name: &str| {
            let found = response.headers.iter().find(|(n, _)| n == name);
            found.map(|(_, v)| v.as_str())
        };
        assert_eq!(response.status, 400);
        assert_eq!(header("Cache-Control"), Some("no-store"));
        assert_eq!(header("X-Frame-Options"), Some("DENY"));
        let policy = header("Content-Security-Policy").unwrap();
        assert!(policy.starts_with("default-src 'none';"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(!policy.contains("script-src"), "{policy}");
    }
}
