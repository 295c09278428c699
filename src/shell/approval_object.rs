//! The Durable Object that keeps one call waiting on its approval page: the record
//! [`PageApproval::apply`] decides over, with an alarm at its expiry.

use wasm_bindgen::JsValue;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, ScheduledTime, State};

use super::objects::read_command;
use crate::execution::page_approval::{Change, PageApproval, PageCommand};

/// The storage key of the record.
const RECORD_KEY: &str = "approval";

/// A page approval's Durable Object.
#[durable_object]
pub struct ApprovalObject {
    state: State,
}

impl DurableObject for ApprovalObject {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let command: PageCommand = read_command(&mut req).await?;
        let storage = self.state.storage();
        let stored: Option<PageApproval> = storage.get(RECORD_KEY).await?;
        let (change, answer) = PageApproval::apply(stored, command);
        match change {
            Change::Keep => {}
            Change::Put(record) => {
                let at = js_sys::Date::new(&JsValue::from_f64(record.expires_at_ms as f64));
                storage.put(RECORD_KEY, &record).await?;
                storage.set_alarm(ScheduledTime::new(at)).await?;
            }
            Change::Delete => {
                storage.delete_all().await?;
                storage.delete_alarm().await?;
            }
        }
        Response::from_json(&answer)
    }

    async fn alarm(&self) -> Result<Response> {
        self.state.storage().delete_all().await?;
        Response::empty()
    }
}
