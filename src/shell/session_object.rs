//! One Durable Object per MCP session, named by the session id: the Worker's side of a
//! [`SessionKeeper`], with the record in the object's storage and an alarm at its expiry.

use futures::StreamExt;
use wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, ScheduledTime, State};

use super::js::now_ms;
use super::objects::read_command;
use super::timer::Sleep;
use crate::runner::session_keeper::{
    with_keep_alive, RecordStore, SessionAnswer, SessionKeeper, KEEP_ALIVE_MS,
};
use crate::session::SessionRecord;

/// The storage key of the session's record.
const RECORD_KEY: &str = "session";

/// The session's Durable Object.
#[durable_object]
pub struct SessionObject {
    keeper: SessionKeeper<ObjectRecord>,
}

impl DurableObject for SessionObject {
    fn new(state: State, _env: Env) -> Self {
        Self {
            keeper: SessionKeeper::new(ObjectRecord(state)),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match self
            .keeper
            .answer(read_command(&mut req).await?, now_ms())
            .await?
        {
            SessionAnswer::Value(value) => Response::from_json(&value),
            SessionAnswer::Watched(reason) => {
                Response::from_stream(reason.map(Ok::<_, worker::Error>))
            }
            SessionAnswer::Events(frames) => Response::from_stream(
                with_keep_alive(frames, || Sleep::new(KEEP_ALIVE_MS)).map(Ok::<_, worker::Error>),
            ),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.keeper.alarm(now_ms()).await?;
        Response::empty()
    }
}

/// The object's storage, holding the record.
struct ObjectRecord(State);

impl RecordStore for ObjectRecord {
    type Error = worker::Error;

    async fn get(&self) -> Result<Option<SessionRecord>> {
        self.0.storage().get(RECORD_KEY).await
    }

    async fn put(&self, record: &SessionRecord) -> Result<()> {
        let storage = self.0.storage();
        storage.put(RECORD_KEY, record).await?;
        let at = js_sys::Date::new(&JsValue::from_f64(record.expires_at_ms as f64));
        storage.set_alarm(ScheduledTime::new(at)).await
    }

    async fn delete(&self) -> Result<bool> {
        let storage = self.0.storage();
        let existed = storage.delete(RECORD_KEY).await?;
        storage.delete_alarm().await?;
        Ok(existed)
    }
}
