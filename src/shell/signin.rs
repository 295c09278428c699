//! The sign-in pages' adapter: the OAuth layer's helpers (`env.OAUTH_PROVIDER`, which it puts
//! in the environment of every request it hands the runner) called from Rust, around the pages
//! and decisions of [`crate::signin`].

use js_sys::{Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{console_error, Env, Headers, Method, Request, Response};

use super::js::{call_method, describe, property, random_uuid, to_js};
use super::services::operator_policy;
use super::upstream_object::WorkerHttp;
use crate::config::AccessKeys;
use crate::protocol::person::Person;
use crate::signin::oidc::{CodeExchange, OidcConfig};
use crate::signin::page::{consent_page, error_page, sign_in_page, ClientView, SignInMethods};
use crate::signin::{
    approved, denied_redirect, grant_user_id, upstreams_for, AuthRequest, GrantProps, Pending,
    SignInForm, AUTHORIZE_PATH, CALLBACK_PATH, CONFIRM_PATH,
};

/// Why a sign-in step cannot go on.
enum Failure {
    /// A helper of the OAuth layer threw or rejected.
    Helper(JsValue),
    /// A page to show instead, with its status.
    Page(u16, String),
}

impl From<JsValue> for Failure {
    fn from(error: JsValue) -> Self {
        Self::Helper(error)
    }
}

impl From<worker::Error> for Failure {
    fn from(error: worker::Error) -> Self {
        Self::Page(503, format!("the runner could not answer: {error}"))
    }
}

type Step = Result<Response, Failure>;

/// Serves a request to one of the sign-in paths; `keys` are the operator's access keys.
pub(crate) async fn serve(
    mut req: Request,
    env: &Env,
    keys: &AccessKeys,
) -> worker::Result<Response> {
    let Ok(helpers) = property(env, "OAUTH_PROVIDER") else {
        return page(
            404,
            &error_page("Sign-in is not configured on this runner."),
            None,
        );
    };
    let path = req.path();
    let step = match (req.method(), path.as_str()) {
        (Method::Get, AUTHORIZE_PATH) => begin(&req, env, &helpers, keys).await,
        (Method::Post, AUTHORIZE_PATH) => sign_in(&mut req, env, &helpers, keys).await,
        (Method::Post, CONFIRM_PATH) => confirm(&mut req, &helpers).await,
        (Method::Get, CALLBACK_PATH) => callback(&req, env, &helpers).await,
        _ => Err(Failure::Page(
            405,
            "This page only answers its own forms.".into(),
        )),
    };
    step.or_else(failed)
}

/// The sign-in page for a client's authorization request.
async fn begin(req: &Request, env: &Env, helpers: &JsValue, keys: &AccessKeys) -> Step {
    let request = call(helpers, "parseAuthRequest", &[req.inner()]).await?;
    let client = client_view(helpers, &request).await?;
    let consent = call(helpers, "beginConsent", &[&request]).await?;
    let handle = string(&consent, "handle")?;
    let body = sign_in_page(&client, &handle, &methods(env, keys)?, None);
    Ok(page(
        200,
        &body,
        Some(property(&consent, "headers").map_err(no_field)?),
    )?)
}

/// The sign-in page's answer: an access key, the identity provider, or no.
async fn sign_in(req: &mut Request, env: &Env, helpers: &JsValue, keys: &AccessKeys) -> Step {
    let form =
        SignInForm::parse(&req.bytes().await?).map_err(|e| Failure::Page(400, e.to_string()))?;
    match form {
        SignInForm::Deny { handle } => {
            let denied = call(helpers, "denyConsent", &[req.inner(), &handle.into()]).await?;
            redirect(&string(&denied, "redirectTo")?, &denied)
        }
        SignInForm::AccessKey { handle, key } => match keys.identify(&key) {
            Some(person) => {
                let approved =
                    call(helpers, "approveConsent", &[req.inner(), &handle.into()]).await?;
                let request = property(&approved, "request").map_err(no_field)?;
                let headers = property(&approved, "headers").map_err(no_field)?;
                ask_consent(env, helpers, &request, person, headers).await
            }
            None => {
                let request = call(helpers, "parseAuthRequest", &[req.inner()]).await?;
                let client = client_view(helpers, &request).await?;
                let error = "That access key is not one this runner knows.";
                Ok(page(
                    401,
                    &sign_in_page(&client, &handle, &methods(env, keys)?, Some(error)),
                    None,
                )?)
            }
        },
        SignInForm::Provider { handle } => {
            let oidc = provider(env)?;
            let metadata = oidc.discover(&WorkerHttp).await.map_err(provider_failed)?;
            let approved = call(helpers, "approveConsent", &[req.inner(), &handle.into()]).await?;
            let (verifier, nonce) = (secret(), secret());
            let pending = Pending::Provider {
                verifier: verifier.clone(),
                nonce: nonce.clone(),
            };
            let options = object(&[
                ("data", to_js(&pending).map_err(internal)?),
                ("headers", property(&approved, "headers").map_err(no_field)?),
            ])?;
            let request = property(&approved, "request").map_err(no_field)?;
            let begun = call(helpers, "beginUpstream", &[&request, &options]).await?;
            let state = string(&begun, "state")?;
            let location = oidc
                .authorization_url(&metadata, &callback_url(req)?, &state, &verifier, &nonce)
                .map_err(provider_failed)?;
            redirect(&location, &begun)
        }
    }
}

/// The identity provider's redirect back: the code exchanged, the ID token verified, and the
/// consent page for the person it names (or the client told no, if they declined there).
async fn callback(req: &Request, env: &Env, helpers: &JsValue) -> Step {
    let finished = call(helpers, "finishUpstream", &[req.inner()]).await?;
    let request = property(&finished, "request").map_err(no_field)?;
    let Pending::Provider { verifier, nonce } =
        from_js(&property(&finished, "data").map_err(no_field)?)?
    else {
        return Err(Failure::Page(400, "This is not a sign-in's return.".into()));
    };
    let oidc = provider(env)?;
    let url = req.url()?;
    let query = |name: &str| {
        url.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    if query("iss").is_some_and(|iss| iss != oidc.issuer) {
        return Err(Failure::Page(
            400,
            "The sign-in came back from another issuer.".into(),
        ));
    }
    let Some(code) = query("code") else {
        let auth: AuthRequest = from_js(&request)?;
        let location = denied_redirect(&auth)
            .ok_or_else(|| Failure::Page(400, "The app's redirect URI is not a URL.".into()))?;
        return redirect(&location, &finished);
    };
    let metadata = oidc.discover(&WorkerHttp).await.map_err(provider_failed)?;
    let exchange = CodeExchange {
        code: &code,
        redirect_uri: &callback_url(req)?,
        verifier: &verifier,
        nonce: &nonce,
    };
    let person = oidc
        .signed_in(&WorkerHttp, &metadata, &exchange)
        .await
        .map_err(provider_failed)?;
    let headers = property(&finished, "headers").map_err(no_field)?;
    ask_consent(env, helpers, &request, person, headers).await
}

/// The operator's identity provider, or the page saying there is none.
fn provider(env: &Env) -> Result<OidcConfig, Failure> {
    oidc_config(env)?.ok_or_else(|| {
        Failure::Page(
            400,
            "No identity provider is configured on this runner.".into(),
        )
    })
}

/// The identity provider's settings from the Worker's variables and secrets, if one is set.
fn oidc_config(env: &Env) -> Result<Option<OidcConfig>, Failure> {
    OidcConfig::from_vars(|name| {
        env.var(name)
            .or_else(|_| env.secret(name))
            .ok()
            .map(|value| value.to_string())
    })
    .map_err(provider_failed)
}

/// Where the identity provider sends people back: this runner's `/callback`.
fn callback_url(req: &Request) -> Result<String, Failure> {
    let url = req.url()?;
    Ok(format!(
        "{}{CALLBACK_PATH}",
        url.origin().ascii_serialization()
    ))
}

/// A fresh random value for a PKCE verifier or a nonce: 244 bits from the runtime's CSPRNG.
fn secret() -> String {
    format!("{}{}", random_uuid(), random_uuid()).replace('-', "")
}

/// A sign-in at the identity provider that failed: logged for the operator, said to the person.
fn provider_failed(error: crate::signin::oidc::OidcError) -> Failure {
    console_error!("sign-in at the identity provider failed: {error}");
    Failure::Page(502, format!("Signing in failed: {error}."))
}

/// The consent page for `person`: the client's request waits, sealed and bound to this
/// browser, for the answer.
async fn ask_consent(
    env: &Env,
    helpers: &JsValue,
    request: &JsValue,
    person: Person,
    headers: JsValue,
) -> Step {
    let (config, access) = operator_policy(env)
        .map_err(|e| Failure::Page(503, format!("The runner is misconfigured: {e}")))?;
    let upstreams = upstreams_for(&config, &access, &person);
    let client = client_view(helpers, request).await?;
    let data = to_js(&Pending::Consent {
        person: person.clone(),
    })
    .map_err(internal)?;
    let options = object(&[("data", data), ("headers", headers)])?;
    let begun = call(helpers, "beginUpstream", &[request, &options]).await?;
    let state = string(&begun, "state")?;
    let body = consent_page(&client, &person, &upstreams, &state);
    Ok(page(
        200,
        &body,
        Some(property(&begun, "headers").map_err(no_field)?),
    )?)
}

/// The consent page's answer: complete the authorization for the person, or tell the client no.
async fn confirm(req: &mut Request, helpers: &JsValue) -> Step {
    let body = req.bytes().await?;
    let finished = call(helpers, "finishUpstream", &[req.inner()]).await?;
    let request = property(&finished, "request").map_err(no_field)?;
    let pending: Pending = from_js(&property(&finished, "data").map_err(no_field)?)?;
    let Pending::Consent { person } = pending else {
        return Err(Failure::Page(
            400,
            "This is not a consent page's answer.".into(),
        ));
    };
    if !approved(&body) {
        let auth: AuthRequest = from_js(&request)?;
        let location = denied_redirect(&auth)
            .ok_or_else(|| Failure::Page(400, "The app's redirect URI is not a URL.".into()))?;
        return redirect(&location, &finished);
    }
    let props = to_js(&GrantProps {
        person: person.clone(),
    })
    .map_err(internal)?;
    let options = object(&[
        ("request", request.clone()),
        ("userId", grant_user_id(&person).into()),
        ("metadata", props.clone()),
        ("scope", property(&request, "scope").map_err(no_field)?),
        ("props", props),
    ])?;
    let done = call(helpers, "completeAuthorization", &[&options]).await?;
    redirect(&string(&done, "redirectTo")?, &finished)
}

/// The sign-in methods the operator configured.
fn methods(env: &Env, keys: &AccessKeys) -> Result<SignInMethods, Failure> {
    Ok(SignInMethods {
        access_key: !keys.is_empty(),
        provider: oidc_config(env)?.map(|oidc| oidc.name),
    })
}

/// What the OAuth layer knows of the client behind `request`.
async fn client_view(helpers: &JsValue, request: &JsValue) -> Result<ClientView, Failure> {
    from_js(&call(helpers, "describeConsent", &[request]).await?)
}

/// `helpers[name](...args)`, awaited.
async fn call(helpers: &JsValue, name: &str, args: &[&JsValue]) -> Result<JsValue, Failure> {
    let returned = call_method(helpers, name, args).map_err(|e| Failure::Helper(e.into()))?;
    Ok(JsFuture::from(Promise::resolve(&returned)).await?)
}

/// An answer to a failed step: the client's redirect when the OAuth layer says it is safe, a
/// page saying what went wrong otherwise.
fn failed(failure: Failure) -> worker::Result<Response> {
    match failure {
        Failure::Page(status, message) => page(status, &error_page(&message), None),
        Failure::Helper(error) => {
            let text = |name: &str| property(&error, name).ok().and_then(|v| v.as_string());
            if let Some(location) = text("redirectTo") {
                return Response::redirect_with_status(location.parse()?, 302);
            }
            let name = text("name").unwrap_or_default();
            let message = text("description").unwrap_or_else(|| describe(&error));
            match name.as_str() {
                "AuthorizationError" => page(400, &error_page(&message), None),
                "CimdFetchError" => page(400, &error_page(UNVERIFIED_CLIENT), None),
                _ => {
                    console_error!("sign-in failed: {}", describe(&error));
                    page(
                        503,
                        &error_page("The sign-in service failed; try again shortly."),
                        None,
                    )
                }
            }
        }
    }
}

/// What a person is told when a client's metadata document cannot be used.
const UNVERIFIED_CLIENT: &str =
    "This app could not be verified: its metadata document could not be fetched or is not valid.";

/// A page with `status`, sent with `headers` (the OAuth layer's: its binding cookie, no
/// caching, no framing) when given.
fn page(status: u16, body: &str, headers: Option<JsValue>) -> worker::Result<Response> {
    let headers = Headers(match headers {
        Some(headers) => headers.unchecked_into(),
        None => worker::web_sys::Headers::new()?,
    });
    headers.set("Content-Type", "text/html; charset=utf-8")?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("Content-Security-Policy", PAGE_POLICY)?;
    headers.set("X-Frame-Options", "DENY")?;
    headers.set("Referrer-Policy", "no-referrer")?;
    Ok(Response::from_html(body)?
        .with_status(status)
        .with_headers(headers))
}

/// What a sign-in page may load and who may frame it: its own inline style, nothing else.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'";

/// A redirect to `location`, with the headers (cookies cleared) of the step `answer` is from.
fn redirect(location: &str, answer: &JsValue) -> Step {
    let headers = Headers(
        property(answer, "headers")
            .map_err(no_field)?
            .unchecked_into(),
    );
    headers.set("Location", location)?;
    headers.set("Cache-Control", "no-store")?;
    Ok(Response::empty()?.with_status(302).with_headers(headers))
}

/// A plain JS object of `fields`.
fn object(fields: &[(&str, JsValue)]) -> Result<JsValue, Failure> {
    let object = Object::new();
    for (name, value) in fields {
        Reflect::set(&object, &JsValue::from_str(name), value)?;
    }
    Ok(object.into())
}

/// `target[name]` as a string.
fn string(target: &JsValue, name: &str) -> Result<String, Failure> {
    property(target, name)
        .ok()
        .and_then(|value| value.as_string())
        .ok_or_else(|| no_field(format!("`{name}` is not a string")))
}

/// A JS value as a Rust one.
fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue) -> Result<T, Failure> {
    serde_wasm_bindgen::from_value(value.clone()).map_err(|e| internal(e.to_string()))
}

/// A helper answered without a field it documents.
fn no_field(problem: String) -> Failure {
    internal(format!("the OAuth layer answered unexpectedly: {problem}"))
}

/// A failure of the runner itself, logged for the operator; the person is told to retry.
fn internal(problem: String) -> Failure {
    console_error!("sign-in failed: {problem}");
    Failure::Page(503, "The sign-in service failed; try again shortly.".into())
}
