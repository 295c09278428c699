//! The approval pages' adapter ([`crate::signin::approval`]): the request as a [`PageVisit`],
//! the Worker's objects, network and clock, and the answer as a response. The identity
//! provider's return to the shared sign-in callback comes here when its `state` is a page's.

use worker::{Context, Env, Headers, Request, Response};

use super::js::{new_secret, now_ms};
use super::services::WorkerServices;
use super::signin::identity_provider;
use super::upstream_object::WorkerHttp;
use super::{access_keys, own_origin, respond};
use crate::signin::approval::{is_provider_return, ApprovalPages, PageVisit};
use crate::signin::page::{error_page, page_response};
use crate::signin::CALLBACK_PATH;

/// Whether `req` is the identity provider's return from an approval page's sign-in.
pub(crate) fn is_approval_return(req: &Request) -> bool {
    let state = req.url().ok().and_then(|url| {
        let mut pairs = url.query_pairs();
        pairs
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
    });
    state.is_some_and(|state| is_provider_return(&state))
}

/// Serves a request to an approval page, or the identity provider's return to one.
pub(crate) async fn serve(mut req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let url = req.url()?;
    let keys = access_keys(&env);
    let provider = match identity_provider(&env) {
        Ok(provider) => provider,
        Err(problem) => {
            let page = error_page(&format!("The runner is misconfigured: {problem}"));
            return respond(page_response(503, page), Headers::new());
        }
    };
    let request_origin = url.origin().ascii_serialization();
    let origin = own_origin(&env, &request_origin);
    let callback_url = format!("{request_origin}{CALLBACK_PATH}");
    let form = match req.method() {
        worker::Method::Post => req.bytes().await?,
        _ => Vec::new(),
    };
    let objects = WorkerServices::new(env, ctx, origin.clone());
    let pages = ApprovalPages {
        keys: &keys,
        provider: provider.as_ref(),
        http: &WorkerHttp::default(),
        objects: &objects,
        callback_url: &callback_url,
        new_secret: &new_secret,
        now_ms: now_ms(),
    };
    let response = if url.path() == CALLBACK_PATH {
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        pages.provider_return(&query).await
    } else {
        let header = |name: &str| req.headers().get(name).ok().flatten();
        let (origin_header, fetch_site) = (header("Origin"), header("Sec-Fetch-Site"));
        let method = req.method();
        let visit = PageVisit {
            method: method.as_ref(),
            path: url.path(),
            form: &form,
            origin: origin_header.as_deref(),
            fetch_site: fetch_site.as_deref(),
            own_origin: &origin,
        };
        pages.serve(visit).await
    };
    respond(response, Headers::new())
}
