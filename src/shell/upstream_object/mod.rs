//! One Durable Object per upstream MCP server, named by the upstream's configured name: the
//! Worker's side of an [`UpstreamKeeper`], which owns the MCP session, the tool list, the
//! health and the calls. The object reads the configuration and the secrets when the keeper
//! first needs them (here, at request time, and nowhere else), keeps the tool list in its
//! storage so it outlives restarts, and answers a tool call in the form the isolate takes.

mod http;
mod vault;

use std::rc::Rc;

use worker::{durable_object, DurableObject, Env, ListOptions, Request, Response, Result, State};

use super::js::new_secret;
use super::objects::{call_answer, object_of_path, question_answer, read_command};
use super::services::operator_policy;
use crate::config::PUBLIC_URL_VAR;
use crate::sandbox::protocol::BridgeReply;
use crate::upstream::client::UpstreamError;
use crate::upstream::health::CachedTools;
use crate::upstream::keeper::{ToolStore, UpstreamKeeper};
use crate::upstream::observed::{Learner, Observations, ObservedResults};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};
use crate::upstream::target::Target;

pub(crate) use http::WorkerHttp;
use vault::SealedStorage;

/// The storage key of the cached tool list.
const TOOLS_KEY: &str = "tools";

/// The upstream's Durable Object.
#[durable_object]
pub struct UpstreamObject {
    env: Env,
    keeper: Rc<UpstreamKeeper<WorkerHttp, ObjectStore>>,
}

/// The object's storage, holding the tool list.
struct ObjectStore(State);

impl ToolStore for ObjectStore {
    async fn load(&self) -> Option<CachedTools> {
        self.0.storage().get(TOOLS_KEY).await.ok().flatten()
    }

    async fn save(&self, cached: &CachedTools) {
        // A failed write only costs the cache across a restart.
        let _ = self.0.storage().put(TOOLS_KEY, cached).await;
    }

    async fn load_observed(&self, learner: &Learner) -> Observations {
        let prefix = learner.storage_prefix();
        let options = ListOptions::new().prefix(&prefix);
        let Ok(stored) = self.0.storage().list_with_options(options).await else {
            return Observations::new();
        };
        let entries = stored.entries().into_iter().flatten();
        entries
            .filter_map(|entry| {
                let pair = js_sys::Array::from(&entry);
                let key = pair.get(0).as_string()?;
                let name = key.strip_prefix(&prefix)?.to_owned();
                let observed = serde_wasm_bindgen::from_value(pair.get(1)).ok()?;
                Some((name, observed))
            })
            .collect()
    }

    async fn save_observed(&self, learner: &Learner, name: &str, observed: &ObservedResults) {
        // A failed write only costs what was learned across a restart.
        let key = format!("{}{name}", learner.storage_prefix());
        let _ = self.0.storage().put(&key, observed).await;
    }
}

impl DurableObject for UpstreamObject {
    fn new(state: State, env: Env) -> Self {
        let vault = Box::new(SealedStorage::new(state.storage(), &env));
        Self {
            env,
            keeper: UpstreamKeeper::new(
                WorkerHttp::default(),
                ObjectStore(state),
                vault,
                Box::new(new_secret),
            ),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let name = object_of_path(&req.path());
        let command: UpstreamCommand = read_command(&mut req).await?;
        let called = command
            .learning()
            .map(|(tool, learner)| (tool.to_owned(), learner));
        let is_call = matches!(
            command,
            UpstreamCommand::CallTool { .. } | UpstreamCommand::Answer { .. }
        );
        let env = &self.env;
        let configure = || async {
            let (config, access) =
                operator_policy(env)
                    .await
                    .map_err(|e| UpstreamError::Misconfigured {
                        detail: e.to_string(),
                    })?;
            let lookup = |secret: &str| env.secret(secret).ok().map(|s| s.to_string());
            let public_url = env.var(PUBLIC_URL_VAR).ok().map(|url| url.to_string());
            Target::configured(&config, access, &name, public_url, lookup)
        };
        let answer = self.keeper.answer_configured(configure, command).await;
        if let UpstreamAnswer::Asked { .. } = answer {
            return question_answer(&answer);
        }
        if is_call {
            let reply = BridgeReply::from_answer(answer);
            let taught = match (&reply, called) {
                (BridgeReply::Ok { value }, Some((tool, learner))) => {
                    self.keeper.observe(&tool, value, &learner).await
                }
                _ => false,
            };
            return call_answer(&reply, taught);
        }
        Response::from_json(&answer)
    }
}
