//! The ledger: one Durable Object for the whole runner that keeps the last
//! [`AUDIT_KEPT`] audit entries in its SQLite storage, for `GET /admin/audit`, and the
//! runner's [`Metrics`], which every entry and every `tools/list` updates.
//!
//! One object serves every execution, which bounds the rate it can record at (a Durable
//! Object handles on the order of a thousand requests a second); entries are sent after the
//! response, so a slow ledger never slows an execution, and the log line is written first,
//! so nothing is lost from Workers Logs when the ledger is busy.

use std::cell::{RefCell, RefMut};

use worker::{
    console_log, durable_object, Context, DurableObject, Env, Request, Response, Result,
    SqlStorageValue, State,
};

use super::js::now_ms;
use super::objects::{ask, LEDGER};
use crate::audit::{ExecutionAudit, LedgerCommand, AUDIT_KEPT};
use crate::metrics::Metrics;

/// The name of the one ledger object.
pub(crate) const LEDGER_NAME: &str = "ledger";

/// Writes `entry` to the log now and to the ledger after the response.
pub(crate) fn record(env: &Env, ctx: &Context, entry: ExecutionAudit) {
    console_log!("{}", entry.log_line());
    // The log line is already written; a lost ledger entry is only missing from /admin/audit
    // and the metrics.
    tell_ledger(
        env,
        ctx,
        LedgerCommand::Record {
            entry: Box::new(entry),
        },
    );
}

/// Sends `command` to the ledger after the response, so the client never waits for it.
pub(crate) fn tell_ledger(env: &Env, ctx: &Context, command: LedgerCommand) {
    let env = env.clone();
    ctx.wait_until(async move {
        let _: Result<bool> = ask(&env, LEDGER, LEDGER_NAME, &command).await;
    });
}

/// The runner's ledger Durable Object.
#[durable_object]
pub struct LedgerObject {
    state: State,
    /// The metrics as last stored, read on first use.
    metrics: RefCell<Option<Metrics>>,
}

impl DurableObject for LedgerObject {
    fn new(state: State, _env: Env) -> Self {
        // A failure here surfaces on first use, as the error of the statement that needs it.
        let sql = state.storage().sql();
        for table in [
            "audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL)",
            "metrics (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL)",
        ] {
            let _ = sql.exec(&format!("CREATE TABLE IF NOT EXISTS {table}"), None);
        }
        Self {
            state,
            metrics: RefCell::new(None),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match req.json::<LedgerCommand>().await? {
            LedgerCommand::Record { entry } => {
                self.keep(&entry)?;
                self.update_metrics(|metrics| metrics.record_execution(&entry))?;
                Response::from_json(&true)
            }
            LedgerCommand::Recent { limit } => Response::from_json(&self.recent(limit)?),
            LedgerCommand::Listed {
                upstream_chars,
                served_chars,
            } => {
                self.update_metrics(|metrics| {
                    metrics.record_listing(upstream_chars, served_chars)
                })?;
                Response::from_json(&true)
            }
            LedgerCommand::Metrics => Response::from_json(&*self.metrics()?),
        }
    }
}

/// One stored JSON text, as a query selects it (`… AS json`).
#[derive(serde::Deserialize)]
struct Row {
    json: String,
}

impl LedgerObject {
    /// Stores `entry` and drops what falls past the newest [`AUDIT_KEPT`].
    fn keep(&self, entry: &ExecutionAudit) -> Result<()> {
        let sql = self.state.storage().sql();
        sql.exec(
            "INSERT INTO audit (entry) VALUES (?)",
            vec![SqlStorageValue::String(serde_json::to_string(entry)?)],
        )?;
        sql.exec(
            "DELETE FROM audit WHERE seq <= (SELECT MAX(seq) FROM audit) - ?",
            vec![SqlStorageValue::Integer(AUDIT_KEPT as i64)],
        )?;
        Ok(())
    }

    /// Applies `change` to the metrics and stores them.
    fn update_metrics(&self, change: impl FnOnce(&mut Metrics)) -> Result<()> {
        let mut metrics = self.metrics()?;
        change(&mut metrics);
        self.state.storage().sql().exec(
            "INSERT OR REPLACE INTO metrics (id, body) VALUES (1, ?)",
            vec![SqlStorageValue::String(serde_json::to_string(&*metrics)?)],
        )?;
        Ok(())
    }

    /// The metrics, read from storage on first use.
    fn metrics(&self) -> Result<RefMut<'_, Metrics>> {
        let mut cached = self.metrics.borrow_mut();
        if cached.is_none() {
            let stored: Vec<Row> = self
                .state
                .storage()
                .sql()
                .exec("SELECT body AS json FROM metrics WHERE id = 1", None)?
                .to_array()?;
            *cached = Some(match stored.first() {
                Some(row) => serde_json::from_str(&row.json)?,
                None => Metrics::new(now_ms()),
            });
        }
        RefMut::filter_map(cached, Option::as_mut)
            .map_err(|_| worker::Error::RustError("the metrics were not loaded".into()))
    }

    /// The newest `limit` entries, newest first.
    fn recent(&self, limit: usize) -> Result<Vec<ExecutionAudit>> {
        let rows: Vec<Row> = self
            .state
            .storage()
            .sql()
            .exec(
                "SELECT entry AS json FROM audit ORDER BY seq DESC LIMIT ?",
                vec![SqlStorageValue::Integer(limit.min(AUDIT_KEPT) as i64)],
            )?
            .to_array()?;
        rows.iter()
            .map(|row| serde_json::from_str(&row.json).map_err(Into::into))
            .collect()
    }
}
