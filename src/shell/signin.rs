//! The sign-in paths' adapter: the OAuth layer's helpers (`env.OAUTH_PROVIDER`, which it puts in
//! the environment of every request it hands the runner) as [`OAuthLayer`], and the answers of
//! [`crate::signin::flow`] as responses.

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use worker::{console_error, web_sys, Env, Headers, Method, Request, Response};

use super::js::{call_async, describe, new_secret, property, to_js};
use super::respond;
use super::services::operator_policy;
use super::upstream_object::WorkerHttp;
use crate::config::AccessKeys;
use crate::protocol::person::{Person, SignedIn};
use crate::signin::flow::{Answer, OAuthLayer, SignIn, StepError};
use crate::signin::oidc::OidcConfig;
use crate::signin::page::{error_page, page_response, redirect_response, ClientView};
use crate::signin::{
    grant_user_id, AuthRequest, Pending, AUTHORIZE_PATH, CALLBACK_PATH, CONFIRM_PATH,
};

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
    let (policy, provider) = match (operator_policy(env).await, identity_provider(env)) {
        (Ok(policy), Ok(provider)) => (policy, provider),
        (Err(e), _) => return misconfigured(&e.to_string()),
        (_, Err(e)) => return misconfigured(&e),
    };
    let url = req.url()?;
    let callback_url = format!("{}{CALLBACK_PATH}", url.origin().ascii_serialization());
    let sign_in = SignIn {
        keys,
        provider: provider.as_ref(),
        config: &policy.0,
        access: &policy.1,
        http: &WorkerHttp::default(),
        callback_url: &callback_url,
        new_secret: &new_secret,
    };
    let form = match req.method() {
        Method::Post => req.bytes().await?,
        _ => Vec::new(),
    };
    let layer = JsLayer {
        helpers,
        request: req.inner(),
    };
    let step = match (req.method(), url.path()) {
        (Method::Get, AUTHORIZE_PATH) => sign_in.begin(&layer).await,
        (Method::Post, AUTHORIZE_PATH) => sign_in.sign_in(&layer, &form).await,
        (Method::Post, CONFIRM_PATH) => sign_in.confirm(&layer, &form).await,
        (Method::Get, CALLBACK_PATH) => {
            let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            sign_in.callback(&layer, &query).await
        }
        _ => Err(StepError::Page(
            405,
            "This page only answers its own forms.".into(),
        )),
    };
    match step {
        Ok(Answer::Page(status, html, headers)) => page(status, &html, headers),
        Ok(Answer::Redirect(location, headers)) => redirect(&location, Some(headers)),
        Err(StepError::Page(status, message)) => {
            if status >= 500 {
                console_error!("sign-in failed: {message}");
            }
            page(status, &error_page(&message), None)
        }
        Err(StepError::Layer(error)) => failed(&error),
    }
}

/// The operator's identity provider, if one is configured, or what is wrong with its settings.
pub(crate) fn identity_provider(env: &Env) -> Result<Option<OidcConfig>, String> {
    OidcConfig::from_vars(|name| super::setting(env, name)).map_err(|e| e.to_string())
}

/// The OAuth layer's helpers, for one request.
struct JsLayer<'a> {
    helpers: JsValue,
    request: &'a web_sys::Request,
}

impl JsLayer<'_> {
    /// `helpers[name](...args)`, awaited.
    async fn call(&self, name: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
        call_async(&self.helpers, name, args).await
    }
}

impl OAuthLayer for JsLayer<'_> {
    type Request = JsValue;
    type Headers = JsValue;
    type Error = JsValue;

    async fn parse_request(&self) -> Result<JsValue, JsValue> {
        self.call("parseAuthRequest", &[self.request]).await
    }

    async fn describe(&self, request: &JsValue) -> Result<ClientView, JsValue> {
        from_js(&self.call("describeConsent", &[request]).await?)
    }

    async fn begin_consent(&self, request: &JsValue) -> Result<(String, JsValue), JsValue> {
        let consent = self.call("beginConsent", &[request]).await?;
        Ok((text(&consent, "handle")?, field(&consent, "headers")?))
    }

    async fn approve_consent(&self, handle: &str) -> Result<(JsValue, JsValue), JsValue> {
        let approved = self
            .call("approveConsent", &[self.request, &handle.into()])
            .await?;
        Ok((field(&approved, "request")?, field(&approved, "headers")?))
    }

    async fn deny_consent(&self, handle: &str) -> Result<(String, JsValue), JsValue> {
        let denied = self
            .call("denyConsent", &[self.request, &handle.into()])
            .await?;
        Ok((text(&denied, "redirectTo")?, field(&denied, "headers")?))
    }

    async fn begin_transaction(
        &self,
        request: &JsValue,
        pending: &Pending,
        headers: JsValue,
    ) -> Result<(String, JsValue), JsValue> {
        let options = object(&[("data", to_js(pending)?), ("headers", headers)])?;
        let begun = self.call("beginUpstream", &[request, &options]).await?;
        Ok((text(&begun, "state")?, field(&begun, "headers")?))
    }

    async fn finish_transaction(&self) -> Result<(JsValue, Pending, JsValue), JsValue> {
        let finished = self.call("finishUpstream", &[self.request]).await?;
        let pending = from_js(&field(&finished, "data")?)?;
        Ok((
            field(&finished, "request")?,
            pending,
            field(&finished, "headers")?,
        ))
    }

    async fn complete(&self, request: &JsValue, person: &Person) -> Result<String, JsValue> {
        let props = to_js(&SignedIn {
            person: Some(person.clone()),
        })?;
        let options = object(&[
            ("request", request.clone()),
            ("userId", grant_user_id(&person.id).into()),
            ("metadata", props.clone()),
            ("scope", field(request, "scope")?),
            ("props", props),
        ])?;
        text(
            &self.call("completeAuthorization", &[&options]).await?,
            "redirectTo",
        )
    }

    fn read(&self, request: &JsValue) -> Result<AuthRequest, JsValue> {
        from_js(request)
    }
}

/// The answer to the OAuth layer's error: the client's redirect when the layer says it is safe,
/// a page saying what went wrong otherwise.
fn failed(error: &JsValue) -> worker::Result<Response> {
    let text = |name: &str| property(error, name).ok().and_then(|v| v.as_string());
    if let Some(location) = text("redirectTo") {
        return redirect(&location, None);
    }
    let message = match text("name").as_deref() {
        Some("AuthorizationError") => text("description").unwrap_or_else(|| describe(error)),
        Some("CimdFetchError") => "This app could not be verified: its metadata document could \
                                   not be fetched or is not valid."
            .to_owned(),
        _ => {
            console_error!("sign-in failed: {}", describe(error));
            return page(
                503,
                &error_page("The sign-in service failed; try again shortly."),
                None,
            );
        }
    };
    page(400, &error_page(&message), None)
}

/// The page for a configuration the runner cannot use.
fn misconfigured(problem: &str) -> worker::Result<Response> {
    console_error!("sign-in: the runner is misconfigured: {problem}");
    page(
        503,
        &error_page("The runner is misconfigured; its operator has been told."),
        None,
    )
}

/// A page with `status`, sent with the OAuth layer's `headers` (its binding cookie) if given.
fn page(status: u16, html: &str, headers: Option<JsValue>) -> worker::Result<Response> {
    respond(
        page_response(status, html.to_owned()),
        layer_headers(headers)?,
    )
}

/// A redirect to `location`, with the OAuth layer's `headers` (cookies cleared) if given.
fn redirect(location: &str, headers: Option<JsValue>) -> worker::Result<Response> {
    respond(redirect_response(location), layer_headers(headers)?)
}

/// The OAuth layer's `headers`, or new ones.
fn layer_headers(headers: Option<JsValue>) -> worker::Result<Headers> {
    Ok(match headers {
        Some(headers) => Headers(headers.unchecked_into()),
        None => Headers::new(),
    })
}

/// A plain JS object of `fields`.
fn object(fields: &[(&str, JsValue)]) -> Result<JsValue, JsValue> {
    let object = Object::new();
    for (name, value) in fields {
        Reflect::set(&object, &JsValue::from_str(name), value)?;
    }
    Ok(object.into())
}

/// `target[name]`, which the layer documents.
fn field(target: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    property(target, name)
        .map_err(|e| JsValue::from(format!("the OAuth layer answered without {e}")))
}

/// `target[name]` as a string.
fn text(target: &JsValue, name: &str) -> Result<String, JsValue> {
    field(target, name)?
        .as_string()
        .ok_or_else(|| JsValue::from(format!("the OAuth layer's `{name}` is not a string")))
}

/// A JS value as a Rust one.
fn from_js<T: serde::de::DeserializeOwned>(value: &JsValue) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value.clone()).map_err(|e| JsValue::from(e.to_string()))
}
