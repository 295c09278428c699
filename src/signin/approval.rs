//! The approval page: where a person approves a call their agent's program made, when their
//! client could not ask them (see [`crate::execution::page_approval`]).
//!
//! 1. `GET /approvals/{object}`: a page that only asks the person to sign in; nothing of the
//!    call is shown before.
//! 2. `POST /approvals/{object}`: an access key is checked here; the identity provider is a
//!    redirect away and back to the sign-in's callback, whose `state` names the object
//!    ([`provider_return`](ApprovalPages::provider_return)). Whoever signs in must be the person
//!    whose call it is.
//! 3. The review page shows the call and its arguments, with a form carrying a ticket only the
//!    signed-in person's browser got; `POST /approvals/{object}/decide` records the decision.
//!    "Every call in this session" is written to the session's record.
//!
//! Every POST must come from the runner's own page ([`from_own_page`]).

use std::fmt::Write;

use super::from_own_page;
use super::oidc::{CodeExchange, OidcConfig};
use super::page::SignInMethods;
use super::page::{document, escape, page_response, redirect_response};
use crate::config::AccessKeys;
use crate::execution::objects::{Object, Objects};
use crate::execution::page_approval::{
    is_object_name, PageAnswer, PageCommand, PageDecision, PageRequest, ProviderSignIn,
    APPROVALS_PATH, PROVIDER_STATE_PREFIX,
};
use crate::protocol::http::HttpResponse;
use crate::protocol::person::Person;
use crate::quote::{name_or_quoted, NAME_CHARS};
use crate::session::SessionCommand;
use crate::upstream::session::Http;

/// The path of a page's decision form, after the object's name.
const DECIDE_SUFFIX: &str = "/decide";

/// What the approval pages need: the operator's sign-in methods, the network, the objects and
/// the clock.
pub struct ApprovalPages<'a, H, O> {
    /// The operator's access keys.
    pub keys: &'a AccessKeys,
    /// The operator's identity provider, if any.
    pub provider: Option<&'a OidcConfig>,
    /// The network, to reach the identity provider.
    pub http: &'a H,
    /// The runner's objects, where each page's call is kept.
    pub objects: &'a O,
    /// Where the identity provider sends people back.
    pub callback_url: &'a str,
    /// Fresh random values, for tickets, PKCE verifiers and nonces.
    pub new_secret: &'a dyn Fn() -> String,
    /// The time now.
    pub now_ms: u64,
}

/// A request to an approval page.
#[derive(Debug, Clone, Copy)]
pub struct PageVisit<'a> {
    /// `GET` or `POST`.
    pub method: &'a str,
    /// The URL's path.
    pub path: &'a str,
    /// A POST's form.
    pub form: &'a [u8],
    /// The request's `Origin`.
    pub origin: Option<&'a str>,
    /// The request's `Sec-Fetch-Site`.
    pub fetch_site: Option<&'a str>,
    /// The runner's own origin.
    pub own_origin: &'a str,
}

/// Whether `path` is an approval page's.
pub fn serves(path: &str) -> bool {
    path.starts_with(APPROVALS_PATH)
}

/// Whether the identity provider's `state` is an approval page's sign-in.
pub fn is_provider_return(state: &str) -> bool {
    state.starts_with(PROVIDER_STATE_PREFIX)
}

/// What a page tells someone whose link leads nowhere.
const GONE: &str = "This approval link is not valid any more: the call was decided, or its \
                    10 minutes passed. Ask your agent to run the program again for a new link.";

impl<H: Http, O: Objects> ApprovalPages<'_, H, O> {
    /// Answers `visit`.
    pub async fn serve(&self, visit: PageVisit<'_>) -> HttpResponse {
        let rest = visit.path.strip_prefix(APPROVALS_PATH).unwrap_or_default();
        let (object, deciding) = match rest.strip_suffix(DECIDE_SUFFIX) {
            Some(object) => (object, true),
            None => (rest, false),
        };
        if !is_object_name(object) {
            return refuse(404, GONE);
        }
        if visit.method == "POST"
            && !from_own_page(visit.origin, visit.fetch_site, visit.own_origin)
        {
            return refuse(
                403,
                "This form can only be sent from the runner's own page.",
            );
        }
        let field = |name: &str| {
            url::form_urlencoded::parse(visit.form)
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        match (visit.method, deciding) {
            ("GET", false) => match self
                .tell(
                    object,
                    PageCommand::Look {
                        now_ms: self.now_ms,
                    },
                )
                .await
            {
                Ok(PageAnswer::Pending) => page_response(200, sign_in_page(&self.methods(), None)),
                Ok(_) => refuse(404, GONE),
                Err(response) => response,
            },
            ("POST", false) => match field("action").as_deref() {
                Some("key") => {
                    self.with_key(object, &field("key").unwrap_or_default())
                        .await
                }
                Some("provider") => self.to_provider(object).await,
                _ => refuse(400, "The form is incomplete; open the link again."),
            },
            ("POST", true) => {
                let decision = field("decision").as_deref().and_then(PageDecision::named);
                match (field("ticket"), decision) {
                    (Some(ticket), Some(decision)) => self.decide(object, ticket, decision).await,
                    _ => refuse(400, "The form is incomplete; open the link again."),
                }
            }
            _ => refuse(405, "This page only answers its own forms."),
        }
    }

    /// The identity provider's redirect back with `query`, for the object its `state` names.
    pub async fn provider_return(&self, query: &[(String, String)]) -> HttpResponse {
        let field = |name: &str| {
            query
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let state = field("state").unwrap_or_default();
        let object = state
            .strip_prefix(PROVIDER_STATE_PREFIX)
            .and_then(|rest| rest.split_once('.'))
            .map(|(object, _)| object)
            .filter(|object| is_object_name(object));
        let (Some(object), Some(provider)) = (object, self.provider) else {
            return refuse(400, "This is not a sign-in's return.");
        };
        let finish = PageCommand::FinishProvider {
            state: state.to_owned(),
            now_ms: self.now_ms,
        };
        let sign_in = match self.tell(object, finish).await {
            Ok(PageAnswer::Provider { sign_in }) => sign_in,
            Ok(_) => return refuse(400, GONE),
            Err(response) => return response,
        };
        if field("iss").is_some_and(|iss| iss != provider.issuer) {
            return refuse(400, "The sign-in came back from another issuer.");
        }
        let Some(code) = field("code") else {
            return refuse(403, "You did not sign in; the call was not approved.");
        };
        let signed_in = async {
            let metadata = provider.discover(self.http).await?;
            let exchange = CodeExchange {
                code,
                redirect_uri: self.callback_url,
                verifier: &sign_in.verifier,
                nonce: &sign_in.nonce,
            };
            provider.signed_in(self.http, &metadata, &exchange).await
        };
        match signed_in.await {
            Ok(person) => self.review(object, &person).await,
            Err(e) => refuse(502, &format!("Signing in failed: {e}.")),
        }
    }

    /// The sign-in form's access key, `key`.
    async fn with_key(&self, object: &str, key: &str) -> HttpResponse {
        match self.keys.identify(key) {
            Some(person) => self.review(object, &person).await,
            None => page_response(
                401,
                sign_in_page(
                    &self.methods(),
                    Some("That access key is not one this runner knows."),
                ),
            ),
        }
    }

    /// Off to the identity provider, with a `state` naming the object.
    async fn to_provider(&self, object: &str) -> HttpResponse {
        let Some(provider) = self.provider else {
            return refuse(400, "No identity provider is configured on this runner.");
        };
        let metadata = match provider.discover(self.http).await {
            Ok(metadata) => metadata,
            Err(e) => return refuse(502, &format!("Signing in failed: {e}.")),
        };
        let sign_in = ProviderSignIn {
            state: format!("{PROVIDER_STATE_PREFIX}{object}.{}", (self.new_secret)()),
            verifier: (self.new_secret)(),
            nonce: (self.new_secret)(),
        };
        let location = provider.authorization_url(
            &metadata,
            self.callback_url,
            &sign_in.state,
            &sign_in.verifier,
            &sign_in.nonce,
        );
        let location = match location {
            Ok(location) => location,
            Err(e) => return refuse(502, &format!("Signing in failed: {e}.")),
        };
        let begin = PageCommand::BeginProvider {
            sign_in,
            now_ms: self.now_ms,
        };
        match self.tell(object, begin).await {
            Ok(PageAnswer::Pending) => redirect_response(&location),
            Ok(_) => refuse(404, GONE),
            Err(response) => response,
        }
    }

    /// `person` signed in: the call to review, if it is theirs.
    async fn review(&self, object: &str, person: &Person) -> HttpResponse {
        let secret = (self.new_secret)();
        let signed_in = PageCommand::SignedIn {
            person: person.id.clone(),
            secret: secret.clone(),
            now_ms: self.now_ms,
        };
        match self.tell(object, signed_in).await {
            Ok(PageAnswer::Review { request }) => {
                page_response(200, review_page(object, &request, person, &secret))
            }
            Ok(PageAnswer::NotYours) => refuse(
                403,
                "This call is someone else's. Sign in as the person whose agent made it.",
            ),
            Ok(_) => refuse(404, GONE),
            Err(response) => response,
        }
    }

    /// The review form's `decision`, with its `ticket`.
    async fn decide(&self, object: &str, ticket: String, decision: PageDecision) -> HttpResponse {
        let decide = PageCommand::Decide {
            secret: ticket,
            decision,
            now_ms: self.now_ms,
        };
        let request = match self.tell(object, decide).await {
            Ok(PageAnswer::Decided { request, .. }) => request,
            Ok(_) => return refuse(404, GONE),
            Err(response) => return response,
        };
        if let (PageDecision::ForSession, Some(session)) = (decision, &request.session) {
            let remember = SessionCommand::ApproveForSession {
                tool: format!("{}/{}", request.upstream, request.tool),
            };
            let remembered = self
                .objects
                .ask::<bool, _>(Object::Session(session), &remember);
            if !matches!(remembered.await, Ok(true)) {
                return refuse(
                    410,
                    "The session this call was made in has ended, so nothing was approved. \
                     Ask your agent to run the program again.",
                );
            }
        }
        page_response(200, decided_page(&request, decision))
    }

    /// Sends `command` to the page's object: its answer, or the page saying it failed.
    async fn tell(&self, object: &str, command: PageCommand) -> Result<PageAnswer, HttpResponse> {
        (self
            .objects
            .ask(Object::PageApproval(object), &command)
            .await)
            .map_err(|e| refuse(502, &format!("The approval could not be reached: {e}.")))
    }

    /// The sign-in methods the operator configured.
    fn methods(&self) -> SignInMethods {
        SignInMethods {
            access_key: !self.keys.is_empty(),
            provider: self.provider.map(|provider| provider.name.clone()),
        }
    }
}

/// The page saying why nothing can be done here.
fn refuse(status: u16, message: &str) -> HttpResponse {
    let html = document(
        "Nothing to approve here",
        &format!("<p class=\"error\" role=\"alert\">{}</p>", escape(message)),
    );
    page_response(status, html)
}

/// The first page: sign in, and nothing about the call yet; `error` says why the last attempt
/// failed. The forms post back to the page's own URL.
fn sign_in_page(methods: &SignInMethods, error: Option<&str>) -> String {
    let mut body = String::from(
        "<p>Your agent's program wants to make a call that needs your approval. Sign in to see \
         it.</p>",
    );
    if let Some(error) = error {
        let _ = write!(
            body,
            r#"<p class="error" role="alert">{}</p>"#,
            escape(error)
        );
    }
    if methods.access_key {
        body.push_str(
            r#"<form method="post">
<label for="key">Access key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button name="action" value="key">Sign in</button>
</form>"#,
        );
    }
    if let Some(provider) = &methods.provider {
        let _ = write!(
            body,
            r#"<form method="post"><button name="action" value="provider">Sign in with {}</button></form>"#,
            escape(provider)
        );
    }
    if !methods.access_key && methods.provider.is_none() {
        body.push_str(r#"<p class="error" role="alert">This runner has no way to sign in.</p>"#);
    }
    document("Approve a call", &body)
}

/// The second page: the call, for `person`, with the decision's form carrying `ticket`.
fn review_page(object: &str, request: &PageRequest, person: &Person, ticket: &str) -> String {
    let mut body = format!(
        "<p>Signed in as <strong>{}</strong>.</p>\
         <p>Your agent's program wants to call <code>{}</code> (the tool <code>{}</code> of the \
         upstream <code>{}</code>) with:</p><pre>{}</pre>",
        escape(&person.name),
        escape(&request.function),
        escape(&name_or_quoted(&request.tool, NAME_CHARS)),
        escape(&request.upstream),
        escape(&request.summary),
    );
    let _ = write!(
        body,
        r#"<form method="post" action="{APPROVALS_PATH}{object}{DECIDE_SUFFIX}">
<input type="hidden" name="ticket" value="{}">
<button name="decision" value="once">Allow this call</button>"#,
        escape(ticket)
    );
    if request.session.is_some() {
        let _ = write!(
            body,
            r#"<button name="decision" value="session">Allow every call of {} in this session</button>"#,
            escape(&request.function)
        );
    }
    body.push_str(
        r#"<button name="decision" value="decline" class="secondary">Decline</button></form>"#,
    );
    document("Approve a call", &body)
}

/// The last page: what was decided, and what happens next.
fn decided_page(request: &PageRequest, decision: PageDecision) -> String {
    let function = escape(&request.function);
    let (title, text) = match decision {
        PageDecision::Once => (
            "Call approved",
            format!(
                "<p>The call of <code>{function}</code> is approved, once. Tell your agent to \
                 run the same program again within 10 minutes.</p>"
            ),
        ),
        PageDecision::ForSession => (
            "Calls approved",
            format!(
                "<p>Every call of <code>{function}</code> is approved for the rest of this \
                 session. Tell your agent to run the program again.</p>"
            ),
        ),
        PageDecision::Decline => (
            "Call declined",
            format!(
                "<p>The call of <code>{function}</code> was declined; it will not be made.</p>"
            ),
        ),
    };
    document(title, &text)
}

#[cfg(test)]
mod tests;
