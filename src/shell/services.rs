//! The Worker as the runner's [`Services`] (an execution's platform, in [`super::platform`],
//! and the runner's objects, reached with [`super::objects::send`]); and making the [`Runner`]
//! of one request from the [operator's policy](crate::runner::policy), read from the Worker's
//! variables and the registry's object.

use std::future::Future;
use std::rc::Rc;

use futures::future::ready;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{Context, Env};

use super::js::{call_async, describe, now_ms, property};

use super::objects::{ask_json, ask_text, send};
use super::setting;
use crate::admin::{OAuthClient, OAuthGrant};
use crate::codemode::search::SearchIndex;
use crate::config::runtime::RegistryCommand;
use crate::config::{AccessPolicy, RunnerConfig, UpstreamConfig};
use crate::execution::objects::{Object, Objects};
use crate::protocol::http::EventStream;
use crate::protocol::person::Person;
use crate::runner::policy::{self, PolicyCache, StartError};
use crate::runner::{Runner, Services};
use crate::session::recent::RecentSessions;
use crate::session::WaitingRequests;

/// One request's bindings and context.
pub(crate) struct WorkerServices {
    pub(super) env: Env,
    /// The request's context, for work that must outlive the response.
    pub(super) ctx: Rc<Context>,
    /// The runner's origin as people reach it.
    pub(super) origin: String,
    /// The session records this isolate read lately.
    recent_sessions: Rc<RecentSessions>,
    search_index: Rc<SearchIndex>,
    /// The requests this isolate runs that their clients may cancel.
    pub(super) waiting_requests: Rc<WaitingRequests>,
}

impl WorkerServices {
    /// The services of one request with `env` and `ctx`, reached at `origin`.
    pub(super) fn new(env: Env, ctx: Context, origin: String) -> Self {
        let recent_sessions = SESSIONS.with(Rc::clone);
        let search_index = SEARCH_INDEX.with(Rc::clone);
        let waiting_requests = WAITING_REQUESTS.with(Rc::clone);
        Self {
            env,
            ctx: Rc::new(ctx),
            origin,
            recent_sessions,
            search_index,
            waiting_requests,
        }
    }
}

/// The runner for one request from `person`, reached at `origin`, asking with the URL's `upstreams` parameter for
/// `requested_upstreams`.
pub(crate) async fn start(
    env: Env,
    ctx: Context,
    origin: String,
    person: Option<Person>,
    requested_upstreams: Option<String>,
) -> Result<Runner<WorkerServices>, StartError> {
    let cache = POLICY.with(Rc::clone);
    let (config, access) = cache.policy(now_ms(), || operator_policy(&env)).await?;
    let limits = policy::limits(|name| setting(&env, name))?;
    let services = WorkerServices::new(env, ctx, origin);
    Ok(Runner::new(
        services,
        config,
        &access,
        limits,
        person,
        requested_upstreams,
    ))
}

thread_local! {
    /// The operator's policy as this isolate last read it, for the requests it serves (an
    /// upstream's object, told to forget its upstream, reads the registry itself).
    pub(super) static POLICY: Rc<PolicyCache> = Rc::default();
    /// The session records this isolate read lately, for the requests it serves.
    static SESSIONS: Rc<RecentSessions> = Rc::default();
    /// The words of the functions this isolate searched lately.
    static SEARCH_INDEX: Rc<SearchIndex> = Rc::default();
    /// The requests this isolate runs that their clients may cancel.
    static WAITING_REQUESTS: Rc<WaitingRequests> = Rc::default();
}

/// The upstreams (`UPSTREAMS`, then those the registry holds) and who may use them (`ACCESS`),
/// read now.
pub(crate) async fn operator_policy(env: &Env) -> Result<(RunnerConfig, AccessPolicy), StartError> {
    let added = ask_json::<Vec<UpstreamConfig>>(env, Object::Registry, &RegistryCommand::List);
    policy::operator_policy(|name| setting(env, name), added.await)
}

/// The OAuth layer's helpers, where the OAuth layer is in front (sign-in is configured).
fn oauth_layer(env: &Env) -> Option<JsValue> {
    property(env, "OAUTH_PROVIDER").ok()
}

/// `helpers[name](...args)` of the OAuth layer, its answer as a Rust value.
async fn ask_layer<T: DeserializeOwned>(
    layer: &JsValue,
    name: &str,
    args: &[&JsValue],
) -> Result<T, String> {
    let answer = call_async(layer, name, args)
        .await
        .map_err(|e| describe(&e))?;
    serde_wasm_bindgen::from_value(answer).map_err(|e| e.to_string())
}

/// A page of the OAuth layer's listing.
#[derive(serde::Deserialize)]
struct Listed<T> {
    items: Vec<T>,
}

impl Services for WorkerServices {
    async fn oauth_grants(&self, user_id: &str) -> Result<Vec<OAuthGrant>, String> {
        let Some(layer) = oauth_layer(&self.env) else {
            return Ok(Vec::new());
        };
        let listed: Listed<OAuthGrant> =
            ask_layer(&layer, "listUserGrants", &[&user_id.into()]).await?;
        Ok(listed.items)
    }

    async fn revoke_oauth_grant(&self, grant_id: &str, user_id: &str) -> Result<(), String> {
        let layer = oauth_layer(&self.env).ok_or("sign-in is not configured")?;
        let args: [&JsValue; 2] = [&grant_id.into(), &user_id.into()];
        call_async(&layer, "revokeGrant", &args)
            .await
            .map(drop)
            .map_err(|e| describe(&e))
    }

    async fn oauth_clients(&self) -> Result<Vec<OAuthClient>, String> {
        let Some(layer) = oauth_layer(&self.env) else {
            return Ok(Vec::new());
        };
        let listed: Listed<OAuthClient> = ask_layer(&layer, "listClients", &[]).await?;
        Ok(listed.items)
    }

    fn forget_policy(&self) {
        POLICY.with(|cache| cache.forget());
    }

    fn recent_sessions(&self) -> &RecentSessions {
        &self.recent_sessions
    }

    fn search_index(&self) -> &SearchIndex {
        &self.search_index
    }

    async fn remove_oauth_client(&self, client_id: &str) -> Result<bool, String> {
        let Some(layer) = oauth_layer(&self.env) else {
            return Ok(false);
        };
        let known: Option<OAuthClient> =
            ask_layer(&layer, "lookupClient", &[&client_id.into()]).await?;
        if known.is_none() {
            return Ok(false);
        }
        call_async(&layer, "deleteClient", &[&client_id.into()])
            .await
            .map_err(|e| describe(&e))?;
        Ok(true)
    }
}

impl Objects for WorkerServices {
    fn send_json(
        &self,
        object: Object<'_>,
        command: String,
    ) -> impl Future<Output = Result<String, String>> + 'static + use<> {
        ask_text(&self.env, object, command)
    }

    async fn open_json(&self, object: Object<'_>, command: String) -> Result<EventStream, String> {
        let mut answer = worker::Response::from(send(&self.env, object, command).await?);
        // A broken stream ends; a GET stream's client reconnects with a new GET.
        Ok((answer.stream())
            .map_err(|e| e.to_string())?
            .take_while(|frame| ready(frame.is_ok()))
            .filter_map(|frame| ready(frame.ok()))
            .boxed_local())
    }
}
