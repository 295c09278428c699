//! The paths of a person connecting an upstream account ([`crate::signin::upstream`]): each
//! step is sent to the object holding the account, and its answer becomes a page or a
//! redirect.

use worker::{Env, Headers, Request, Response};

use super::objects::ask_json;
use super::respond;
use crate::config::PUBLIC_URL_VAR;
use crate::execution::objects::Object;
use crate::signin::page::{error_page, page_response, redirect_response};
use crate::signin::upstream::{answered, client_metadata, step, Step, Visit};
use crate::upstream::oauth::settings::CLIENT_METADATA_PATH;
use crate::upstream::protocol::UpstreamAnswer;

/// Serves a request to one of the paths.
pub(crate) async fn serve(req: Request, env: &Env) -> worker::Result<Response> {
    let url = req.url()?;
    let Some(public_url) = env.var(PUBLIC_URL_VAR).ok().map(|url| url.to_string()) else {
        let html = error_page("Upstream sign-in is not set up here: PUBLIC_URL is not set.");
        return respond(page_response(404, html), Headers::new());
    };
    let public_url = public_url.trim_end_matches('/');
    if url.path() == CLIENT_METADATA_PATH {
        return Response::from_json(&client_metadata(public_url));
    }
    let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let origin = req.headers().get("Origin")?;
    let fetch_site = req.headers().get("Sec-Fetch-Site")?;
    let method = req.method();
    let visit = Visit {
        method: method.as_ref(),
        path: url.path(),
        query: &query,
        origin: origin.as_deref(),
        fetch_site: fetch_site.as_deref(),
        own_origin: public_url,
    };
    let (object, command) = match step(visit) {
        Step::Page(html) => return respond(page_response(200, html), Headers::new()),
        Step::Refuse(status, html) => return respond(page_response(status, html), Headers::new()),
        Step::Ask { object, command } => (object, command),
    };
    let answer = ask_json::<UpstreamAnswer>(env, Object::Upstream(&object), &command);
    let response = match answered(answer.await) {
        Ok(location) => redirect_response(&location),
        Err((status, html)) => page_response(status, html),
    };
    respond(response, Headers::new())
}
