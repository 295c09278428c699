//! What a session's Durable Object does with each [`SessionCommand`] the runner sends it: it
//! keeps the [`SessionRecord`] in the object's storage (behind a [`RecordStore`]) and the
//! session's [`Room`] in memory.
//!
//! An id that was never issued names an empty object, so "unknown" and "ended" sessions look
//! the same to the transport: both are 404. The store's alarm at the session's expiry deletes
//! what an idle session left in storage.
//!
//! The object is also where a `notifications/cancelled` meets the request it cancels: the
//! two may reach different Worker isolates, but both reach this object. A running `execute`
//! watches (an open response stream), and the cancellation writes the reason into it. It also
//! holds the session's GET streams, for what the runner says outside any request.

use std::cell::RefCell;
use std::future::Future;

use futures::channel::mpsc;
use futures::future::{ready, select, Either};
use futures::{stream, Stream, StreamExt};
use serde_json::{json, Value};

use crate::mcp::context::log_message;
use crate::mcp::events;
use crate::protocol::http::EventStream;
use crate::protocol::log_level::LogLevel;
use crate::session::{answer_key, Room, SessionCommand, SessionRecord};

/// How often an idle GET stream carries a comment, so proxies do not close it as dead.
pub const KEEP_ALIVE_MS: u32 = 25_000;

/// Where a session's object keeps the record, with an alarm at its expiry.
pub trait RecordStore {
    /// Why the storage failed.
    type Error;
    /// The stored record, if any.
    fn get(&self) -> impl Future<Output = Result<Option<SessionRecord>, Self::Error>>;
    /// Stores `record` and sets the alarm for its expiry.
    fn put(&self, record: &SessionRecord) -> impl Future<Output = Result<(), Self::Error>>;
    /// Deletes the record and the alarm; answers whether there was a record.
    fn delete(&self) -> impl Future<Output = Result<bool, Self::Error>>;
}

/// A session object's answer to a command.
pub enum SessionAnswer {
    /// The answer as JSON (what each command answers is on [`SessionCommand`]).
    Value(Value),
    /// For [`SessionCommand::Watch`]: a stream that carries what is delivered for the key
    /// once it is, and ends empty if nothing ever is.
    Watched(EventStream),
    /// For [`SessionCommand::Listen`]: the GET stream's Server-Sent Events, starting with a
    /// comment so the client sees it open.
    Events(mpsc::UnboundedReceiver<Vec<u8>>),
}

/// One session's record and room.
pub struct SessionKeeper<S> {
    store: S,
    /// Cancellation watchers and GET streams.
    room: RefCell<Room>,
}

impl<S: RecordStore> SessionKeeper<S> {
    /// The keeper of the session whose record `store` holds.
    pub fn new(store: S) -> Self {
        Self {
            store,
            room: RefCell::new(Room::default()),
        }
    }

    /// Carries out `command` at `now_ms`.
    pub async fn answer(
        &self,
        command: SessionCommand,
        now_ms: u64,
    ) -> Result<SessionAnswer, S::Error> {
        let value = match command {
            SessionCommand::Open { record } => {
                self.store.put(&record).await?;
                json!(true)
            }
            SessionCommand::Get => json!(self.live_record(now_ms).await?),
            SessionCommand::SetLogLevel { level } => match self.live_record(now_ms).await? {
                Some(record) => {
                    let log_level = Some(level);
                    self.store
                        .put(&SessionRecord {
                            log_level,
                            ..record
                        })
                        .await?;
                    json!(true)
                }
                None => json!(false),
            },
            SessionCommand::Watch { key } => {
                let reason = self.room.borrow_mut().watch(key);
                let reason = stream::once(reason).filter_map(|reason| ready(reason.ok()));
                let reason = reason.map(String::into_bytes).boxed_local();
                return Ok(SessionAnswer::Watched(reason));
            }
            SessionCommand::Cancel { request, reason } => {
                json!(self.room.borrow_mut().deliver(request, reason))
            }
            SessionCommand::Answer { id, response } => {
                json!(self.room.borrow_mut().deliver(answer_key(&id), response))
            }
            SessionCommand::ApproveForSession { tool } => match self.live_record(now_ms).await? {
                Some(mut record) => {
                    record.approved_tools.insert(tool);
                    self.store.put(&record).await?;
                    json!(true)
                }
                None => json!(false),
            },
            SessionCommand::Close => {
                let existed = self.store.delete().await?;
                self.room.borrow_mut().close_streams();
                json!(existed)
            }
            SessionCommand::Listen => {
                let opened = events::comment("session stream open");
                return Ok(SessionAnswer::Events(self.room.borrow_mut().listen(opened)));
            }
            SessionCommand::Publish { level, data } => {
                json!(self.publish(level, data, now_ms).await?)
            }
        };
        Ok(SessionAnswer::Value(value))
    }

    /// At the store's alarm: deletes the record if it has expired by `now_ms`.
    pub async fn alarm(&self, now_ms: u64) -> Result<(), S::Error> {
        self.live_record(now_ms).await.map(drop)
    }

    /// Sends a runner log event to the session's GET streams, if the client wants it; returns
    /// how many streams it went to.
    async fn publish(&self, level: LogLevel, data: Value, now_ms: u64) -> Result<usize, S::Error> {
        let wanted = self
            .live_record(now_ms)
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
    async fn live_record(&self, now_ms: u64) -> Result<Option<SessionRecord>, S::Error> {
        let Some(record) = self.store.get().await? else {
            return Ok(None);
        };
        if record.is_expired(now_ms) {
            self.store.delete().await?;
            self.room.borrow_mut().close_streams();
            return Ok(None);
        }
        match record.renewed(now_ms) {
            Some(renewed) => {
                self.store.put(&renewed).await?;
                Ok(Some(renewed))
            }
            None => Ok(Some(record)),
        }
    }
}

/// A GET stream's `frames`, with a keep-alive comment whenever `idle()` (a timer of
/// [`KEEP_ALIVE_MS`]) ends before the next frame; it ends with `frames`.
pub fn with_keep_alive<T: Future>(
    frames: impl Stream<Item = Vec<u8>> + Unpin,
    idle: impl Fn() -> T,
) -> impl Stream<Item = Vec<u8>> {
    stream::unfold(frames, move |mut frames| {
        let wait = Box::pin(idle());
        async move {
            let next = match select(frames.next(), wait).await {
                Either::Left((frame, _)) => frame,
                Either::Right(_) => Some(events::comment("keep-alive")),
            };
            next.map(|frame| (frame, frames))
        }
    })
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use std::cell::Cell;
    use std::convert::Infallible;

    use futures::executor::block_on;
    use futures::future::pending;

    use super::*;
    use crate::session::SESSION_IDLE_TIMEOUT_MS;

    const OPENED: u64 = 1_000_000;

    /// A session object's storage in memory, with the alarm's time.
    #[derive(Default)]
    struct Memory {
        record: RefCell<Option<SessionRecord>>,
        alarm: Cell<Option<u64>>,
        writes: Cell<u32>,
    }

    impl RecordStore for &Memory {
        type Error = Infallible;

        async fn get(&self) -> Result<Option<SessionRecord>, Infallible> {
            Ok(self.record.borrow().clone())
        }

        async fn put(&self, record: &SessionRecord) -> Result<(), Infallible> {
            self.writes.set(self.writes.get() + 1);
            *self.record.borrow_mut() = Some(record.clone());
            self.alarm.set(Some(record.expires_at_ms));
            Ok(())
        }

        async fn delete(&self) -> Result<bool, Infallible> {
            self.alarm.set(None);
            Ok(self.record.borrow_mut().take().is_some())
        }
    }

    fn record() -> SessionRecord {
        SessionRecord::new("2025-11-25".into(), vec!["everything".into()], None, OPENED)
    }

    fn value(keeper: &SessionKeeper<&Memory>, command: SessionCommand, now_ms: u64) -> Value {
        match block_on(keeper.answer(command, now_ms)).unwrap() {
            SessionAnswer::Value(value) => value,
            _ => panic!("not a value"),
        }
    }

    fn listen(keeper: &SessionKeeper<&Memory>) -> mpsc::UnboundedReceiver<Vec<u8>> {
        match block_on(keeper.answer(SessionCommand::Listen, OPENED)).unwrap() {
            SessionAnswer::Events(frames) => frames,
            _ => panic!("not the GET stream"),
        }
    }

    fn open(keeper: &SessionKeeper<&Memory>) {
        let opened = value(
            keeper,
            SessionCommand::Open {
                record: Box::new(record()),
            },
            OPENED,
        );
        assert_eq!(opened, json!(true));
    }

    #[test]
    fn an_opened_session_is_read_back_with_its_alarm_set_and_ends_when_closed() {
        let memory = Memory::default();
        let keeper = SessionKeeper::new(&memory);
        assert_eq!(value(&keeper, SessionCommand::Get, OPENED), Value::Null);
        open(&keeper);
        assert_eq!(memory.alarm.get(), Some(OPENED + SESSION_IDLE_TIMEOUT_MS));
        assert_eq!(value(&keeper, SessionCommand::Get, OPENED), json!(record()));
        let mut stream = listen(&keeper);
        assert_eq!(value(&keeper, SessionCommand::Close, OPENED), json!(true));
        assert_eq!(
            (memory.alarm.get(), memory.record.borrow().clone()),
            (None, None)
        );
        assert_eq!(value(&keeper, SessionCommand::Close, OPENED), json!(false));
        assert!(stream.try_recv().is_ok(), "the opening comment");
        assert!(
            stream.try_recv().is_err(),
            "the stream closed with the session"
        );
    }

    #[test]
    fn a_use_renews_the_session_only_once_half_its_time_has_passed() {
        let memory = Memory::default();
        let keeper = SessionKeeper::new(&memory);
        open(&keeper);
        value(
            &keeper,
            SessionCommand::Get,
            OPENED + SESSION_IDLE_TIMEOUT_MS / 4,
        );
        assert_eq!(memory.writes.get(), 1, "not yet due");
        let later = OPENED + SESSION_IDLE_TIMEOUT_MS / 2 + 1;
        let read = value(&keeper, SessionCommand::Get, later);
        assert_eq!(read["expiresAtMs"], later + SESSION_IDLE_TIMEOUT_MS);
        assert_eq!(memory.alarm.get(), Some(later + SESSION_IDLE_TIMEOUT_MS));
    }

    #[test]
    fn an_expired_session_is_deleted_by_its_alarm_and_its_streams_closed() {
        let memory = Memory::default();
        let keeper = SessionKeeper::new(&memory);
        open(&keeper);
        let mut stream = listen(&keeper);
        block_on(keeper.alarm(OPENED + SESSION_IDLE_TIMEOUT_MS / 4)).unwrap();
        assert!(memory.record.borrow().is_some(), "not expired yet");
        block_on(keeper.alarm(OPENED + SESSION_IDLE_TIMEOUT_MS)).unwrap();
        assert!(memory.record.borrow().is_none());
        stream.try_recv().unwrap();
        assert!(stream.try_recv().is_err(), "closed");
        let level = SessionCommand::SetLogLevel {
            level: LogLevel::Debug,
        };
        assert_eq!(value(&keeper, level, OPENED), json!(false));
    }

    #[test]
    fn an_event_reaches_the_streams_only_at_the_level_the_client_asked_for() {
        let memory = Memory::default();
        let keeper = SessionKeeper::new(&memory);
        open(&keeper);
        let mut stream = listen(&keeper);
        assert_eq!(
            stream.try_recv().unwrap(),
            events::comment("session stream open")
        );
        let publish = |level| SessionCommand::Publish {
            level,
            data: json!({"event": "execution_abandoned"}),
        };
        assert_eq!(value(&keeper, publish(LogLevel::Info), OPENED), json!(0));
        let level = SessionCommand::SetLogLevel {
            level: LogLevel::Info,
        };
        assert_eq!(value(&keeper, level, OPENED), json!(true));
        assert_eq!(value(&keeper, publish(LogLevel::Debug), OPENED), json!(0));
        assert_eq!(value(&keeper, publish(LogLevel::Info), OPENED), json!(1));
        let frame = String::from_utf8(stream.try_recv().unwrap()).unwrap();
        assert!(frame.contains("notifications/message"), "{frame}");
        assert!(frame.contains("execution_abandoned"), "{frame}");
    }

    #[test]
    fn a_cancellation_reaches_the_request_watching_for_it() {
        let memory = Memory::default();
        let keeper = SessionKeeper::new(&memory);
        let watch = SessionCommand::Watch { key: "7".into() };
        let SessionAnswer::Watched(reason) = block_on(keeper.answer(watch, OPENED)).unwrap() else {
            panic!("not a watch");
        };
        let cancel = SessionCommand::Cancel {
            request: "7".into(),
            reason: "user stopped".into(),
        };
        assert_eq!(value(&keeper, cancel, OPENED), json!(true));
        let reasons: Vec<Vec<u8>> = block_on(reason.collect());
        assert_eq!(
            reasons,
            [b"user stopped".to_vec()],
            "once, then the stream ends"
        );
    }

    #[test]
    fn an_idle_stream_carries_keep_alive_comments_and_ends_with_its_frames() {
        let (sender, frames) = mpsc::unbounded();
        sender.unbounded_send(b"first".to_vec()).unwrap();
        let idle = Cell::new(false);
        let timer = || {
            let fired = idle.get();
            async move {
                if !fired {
                    pending::<()>().await;
                }
            }
        };
        let mut stream = Box::pin(with_keep_alive(frames, timer));
        assert_eq!(block_on(stream.next()), Some(b"first".to_vec()));
        idle.set(true);
        assert_eq!(block_on(stream.next()), Some(events::comment("keep-alive")));
        drop(sender);
        idle.set(false);
        assert_eq!(block_on(stream.next()), None);
    }
}
