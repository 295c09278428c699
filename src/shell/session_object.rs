//! One Durable Object per MCP session, named by the session id, holding its record.
//!
//! An id that was never issued names an empty object, so "unknown" and "ended" sessions look
//! the same to the transport: both are 404.

use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

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
        let storage = self.state.storage();
        match req.json::<SessionCommand>().await? {
            SessionCommand::Open { record } => {
                storage.put(RECORD_KEY, &record).await?;
                Response::from_json(&true)
            }
            SessionCommand::Get => {
                Response::from_json(&storage.get::<SessionRecord>(RECORD_KEY).await?)
            }
            SessionCommand::Close => Response::from_json(&storage.delete(RECORD_KEY).await?),
        }
    }
}
