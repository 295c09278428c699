//! One Durable Object per MCP session, named by the session id, holding its record.
//!
//! An id that was never issued names an empty object, so "unknown" and "ended" sessions look
//! the same to the transport: both are 404. An alarm at the session's expiry deletes what an
//! idle session left in storage.
//!
//! The object is also where a `notifications/cancelled` meets the request it cancels: the
//! two may reach different Worker isolates, but both reach this object. A running `execute`
//! watches (an open response stream), and the cancellation writes the reason into it.
//!
//! It also holds the session's GET streams, for what the runner says outside any request.

use std::cell::RefCell;
use std::time::Duration;

use futures::future::{select, Either};
use futures::{stream, StreamExt};
use serde_json::Value;
use wasm_bindgen::JsValue;

use super::js::now_ms;
use worker::{
    durable_object, Delay, DurableObject, Env, Request, Response, Result, ScheduledTime, State,
};

use crate::mcp::context::log_message;
use crate::mcp::events;
use crate::protocol::log_level::LogLevel;
use crate::session::{Room, SessionCommand, SessionRecord};

const RECORD_KEY: &str = "session";

/// How often an idle GET stream carries a comment, so proxies do not close it as dead.
const KEEP_ALIVE: Duration = Duration::from_secs(25);

/// The session's Durable Object.
#[durable_object]
pub struct SessionObject {
    state: State,
    /// Cancellation watchers and GET streams.
    room: RefCell<Room>,
}

impl DurableObject for SessionObject {
    fn new(state: State, _env: Env) -> Self {
        Self {
            state,
            room: RefCell::new(Room::default()),
        }
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
            SessionCommand::Watch { request } => self.watch(request),
            SessionCommand::Cancel { request, reason } => {
                Response::from_json(&self.room.borrow_mut().cancel(request, reason))
            }
            SessionCommand::Close => {
                let existed = self.state.storage().delete(RECORD_KEY).await?;
                self.state.storage().delete_alarm().await?;
                self.room.borrow_mut().close_streams();
                Response::from_json(&existed)
            }
            SessionCommand::Listen => self.listen(),
            SessionCommand::Publish { level, data } => {
                Response::from_json(&self.publish(level, data).await?)
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
    /// A stream that carries the reason once `request` is cancelled.
    fn watch(&self, request: String) -> Result<Response> {
        let receiver = self.room.borrow_mut().watch(request);
        let reason = stream::once(receiver).filter_map(|outcome| async move {
            outcome
                .ok()
                .map(|reason| Ok::<_, worker::Error>(reason.into_bytes()))
        });
        Response::from_stream(reason)
    }

    /// A new GET stream: a comment at once (so the client sees it open), then each published
    /// event, with a keep-alive comment whenever it has been idle a while.
    fn listen(&self) -> Result<Response> {
        let receiver = self
            .room
            .borrow_mut()
            .listen(events::comment("session stream open"));
        let frames = stream::unfold(receiver, |mut receiver| async move {
            let next = {
                let wait = Delay::from(KEEP_ALIVE);
                match select(receiver.next(), wait).await {
                    Either::Left((frame, _)) => frame,
                    Either::Right(_) => Some(events::comment("keep-alive")),
                }
            };
            next.map(|frame| (Ok::<_, worker::Error>(frame), receiver))
        });
        Response::from_stream(frames)
    }

    /// Sends a runner log event to the session's GET streams, if the client wants it; returns
    /// how many streams it went to.
    async fn publish(&self, level: LogLevel, data: Value) -> Result<usize> {
        let wanted = self
            .live_record()
            .await?
            .is_some_and(|record| level.is_wanted(record.log_level));
        if !wanted {
            return Ok(0);
        }
        let frame = events::frame(&log_message(level, data));
        Ok(self.room.borrow_mut().publish(&frame))
    }

    /// The record if the session is live, renewed when due; an expired one is deleted and its
    /// streams closed.
    async fn live_record(&self) -> Result<Option<SessionRecord>> {
        let storage = self.state.storage();
        let Some(record) = storage.get::<SessionRecord>(RECORD_KEY).await? else {
            return Ok(None);
        };
        let now = now_ms();
        if record.is_expired(now) {
            storage.delete_all().await?;
            self.room.borrow_mut().close_streams();
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
