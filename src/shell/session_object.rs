//! One Durable Object per MCP session, named by the session id, holding its record.
//!
//! An id that was never issued names an empty object, so "unknown" and "ended" sessions look
//! the same to the transport: both are 404. An alarm at the session's expiry deletes what an
//! idle session left in storage.

use wasm_bindgen::JsValue;

use super::js::now_ms;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, ScheduledTime, State};

use crate::session::{SessionCommand, SessionRecord};

const RECORD_KEY: &str = "session";

/// The session's Durable Object.
#[durable_object]
pub struct SessionObject {
    state: State,
}

impl DurableObject for SessionObject {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match req.json::<SessionCommand>().await? {
            SessionCommand::Open { record } => {
                self.store(&record).await?;
                Response::from_json(&true)
            }
            SessionCommand::Get => Response::from_json(&self.live_record().await?),
            SessionCommand::SetLogLevel { level } => {
                let Some(record) = self.live_record().await? else {
                    return Response::from_json(&false);
                };
                self.store(&SessionRecord {
                    log_level: Some(level),
                    ..record
                })
                .await?;
                Response::from_json(&true)
            }
            SessionCommand::Close => {
                let existed = self.state.storage().delete(RECORD_KEY).await?;
                self.state.storage().delete_alarm().await?;
                Response::from_json(&existed)
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        // Deletes the record if it has expired, else re-arms for the new expiry.
        self.live_record().await?;
        Response::empty()
    }
}

impl SessionObject {
    /// The record if the session is live, renewed when due; an expired one is deleted.
    async fn live_record(&self) -> Result<Option<SessionRecord>> {
        let storage = self.state.storage();
        let Some(record) = storage.get::<SessionRecord>(RECORD_KEY).await? else {
            return Ok(None);
        };
        let now = now_ms();
        if record.is_expired(now) {
            storage.delete_all().await?;
            return Ok(None);
        }
        match record.renewed(now) {
            Some(renewed) => {
                self.store(&renewed).await?;
                Ok(Some(renewed))
            }
            None => Ok(Some(record)),
        }
    }

    /// Stores the record and sets the alarm for its expiry.
    async fn store(&self, record: &SessionRecord) -> Result<()> {
        let storage = self.state.storage();
        storage.put(RECORD_KEY, record).await?;
        let at = js_sys::Date::new(&JsValue::from_f64(record.expires_at_ms as f64));
        storage.set_alarm(ScheduledTime::new(at)).await
    }
}
