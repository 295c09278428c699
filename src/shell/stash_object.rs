//! The Durable Object that keeps a stateless run's [`Stash`] between the request that stopped
//! for the person and the one that resumes it: one object per stash, named by its unguessable
//! id, with an alarm at its expiry.

use wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, ScheduledTime, State};

use super::objects::read_command;
use crate::execution::resume::{Stash, StashCommand};

/// The storage key of the stash.
const STASH_KEY: &str = "stash";

/// A stash's Durable Object.
#[durable_object]
pub struct StashObject {
    state: State,
}

impl DurableObject for StashObject {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let storage = self.state.storage();
        match read_command::<StashCommand>(&mut req).await? {
            StashCommand::Put { stash } => {
                let at = js_sys::Date::new(&JsValue::from_f64(stash.expires_at_ms as f64));
                storage.put(STASH_KEY, &*stash).await?;
                storage.set_alarm(ScheduledTime::new(at)).await?;
                Response::from_json(&true)
            }
            StashCommand::Take { now_ms } => {
                let stash: Option<Stash> = storage.get(STASH_KEY).await?;
                storage.delete_all().await?;
                Response::from_json(&stash.filter(|stash| now_ms < stash.expires_at_ms))
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.state.storage().delete_all().await?;
        Response::empty()
    }
}
