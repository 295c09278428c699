//! The ledger: one Durable Object for the whole runner that keeps the last
//! [`AUDIT_KEPT`] audit entries in its SQLite storage, for `GET /admin/audit`.
//!
//! One object serves every execution, which bounds the rate it can record at (a Durable
//! Object handles on the order of a thousand requests a second); entries are sent after the
//! response, so a slow ledger never slows an execution, and the log line is written first,
//! so nothing is lost from Workers Logs when the ledger is busy.

use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, SqlStorageValue, State,
};

use crate::audit::{ExecutionAudit, LedgerCommand, AUDIT_KEPT};

/// The name of the one ledger object.
pub(crate) const LEDGER_NAME: &str = "ledger";

/// The runner's ledger Durable Object.
#[durable_object]
pub struct LedgerObject {
    state: State,
}

impl DurableObject for LedgerObject {
    fn new(state: State, _env: Env) -> Self {
        // A failure here surfaces on first use, as the error of the statement that needs it.
        let _ = state.storage().sql().exec(
            "CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, \
             entry TEXT NOT NULL)",
            None,
        );
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match req.json::<LedgerCommand>().await? {
            LedgerCommand::Record { entry } => {
                self.keep(&entry)?;
                Response::from_json(&true)
            }
            LedgerCommand::Recent { limit } => Response::from_json(&self.recent(limit)?),
        }
    }
}

#[derive(serde::Deserialize)]
struct Row {
    entry: String,
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

    /// The newest `limit` entries, newest first.
    fn recent(&self, limit: usize) -> Result<Vec<ExecutionAudit>> {
        let rows: Vec<Row> = self
            .state
            .storage()
            .sql()
            .exec(
                "SELECT entry FROM audit ORDER BY seq DESC LIMIT ?",
                vec![SqlStorageValue::Integer(limit.min(AUDIT_KEPT) as i64)],
            )?
            .to_array()?;
        rows.iter()
            .map(|row| serde_json::from_str(&row.entry).map_err(Into::into))
            .collect()
    }
}
