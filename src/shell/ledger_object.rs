//! The [ledger](crate::metrics::ledger)'s Durable Object: one for the whole runner, keeping its
//! entries and metrics in the object's SQLite storage.

use std::cell::RefCell;

use worker::{
    durable_object, DurableObject, Env, Request, Response, Result, SqlStorage, SqlStorageValue,
    State,
};

use super::js::now_ms;
use super::objects::read_command;
use crate::audit::LedgerCommand;
use crate::metrics::ledger::{Ledger, LedgerStore};

/// The runner's ledger Durable Object.
#[durable_object]
pub struct LedgerObject {
    ledger: RefCell<Ledger<SqlLedger>>,
}

impl DurableObject for LedgerObject {
    fn new(state: State, _env: Env) -> Self {
        // A failure here surfaces on first use, as the error of the statement that needs it.
        let sql = state.storage().sql();
        for table in [
            "audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL)",
            "metrics (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL)",
            "sessions (session TEXT PRIMARY KEY, person TEXT NOT NULL, at INTEGER NOT NULL)",
        ] {
            let _ = sql.exec(&format!("CREATE TABLE IF NOT EXISTS {table}"), None);
        }
        Self {
            ledger: RefCell::new(Ledger::new(SqlLedger(sql))),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let command: LedgerCommand = read_command(&mut req).await?;
        let answer = self.ledger.borrow_mut().answer(command, now_ms());
        Response::from_json(&answer.map_err(|e| worker::Error::RustError(e.to_string()))?)
    }
}

/// The object's SQLite storage: the `audit`, `metrics` and `sessions` tables.
struct SqlLedger(SqlStorage);

/// One stored JSON text, as a query selects it (`… AS json`).
#[derive(serde::Deserialize)]
struct Row {
    json: String,
}

impl SqlLedger {
    /// The JSON texts `query` selects.
    fn select(&self, query: &str, bindings: Vec<SqlStorageValue>) -> Result<Vec<String>> {
        let rows: Vec<Row> = self.0.exec(query, bindings)?.to_array()?;
        Ok(rows.into_iter().map(|row| row.json).collect())
    }
}

impl LedgerStore for SqlLedger {
    type Error = worker::Error;

    fn append(&self, entries: &[String], kept: usize) -> Result<()> {
        for entry in entries {
            let entry = entry.as_str().into();
            self.0
                .exec("INSERT INTO audit (entry) VALUES (?)", vec![entry])?;
        }
        let kept = SqlStorageValue::Integer(kept as i64);
        let trim = "DELETE FROM audit WHERE seq <= (SELECT MAX(seq) FROM audit) - ?";
        self.0.exec(trim, vec![kept]).map(drop)
    }

    fn recent(&self, limit: usize) -> Result<Vec<String>> {
        let query = "SELECT entry AS json FROM audit ORDER BY seq DESC LIMIT ?";
        self.select(query, vec![SqlStorageValue::Integer(limit as i64)])
    }

    fn metrics(&self) -> Result<Option<String>> {
        let query = "SELECT body AS json FROM metrics WHERE id = 1";
        Ok(self.select(query, Vec::new())?.pop())
    }

    fn put_metrics(&self, metrics: &str) -> Result<()> {
        let query = "INSERT OR REPLACE INTO metrics (id, body) VALUES (1, ?)";
        self.0.exec(query, vec![metrics.into()]).map(drop)
    }

    fn add_session(
        &self,
        person: &str,
        session: &str,
        at_ms: u64,
        forget_before_ms: u64,
    ) -> Result<()> {
        let forget = SqlStorageValue::Integer(forget_before_ms as i64);
        self.0
            .exec("DELETE FROM sessions WHERE at < ?", vec![forget])?;
        let query = "INSERT OR REPLACE INTO sessions (session, person, at) VALUES (?, ?, ?)";
        let at = SqlStorageValue::Integer(at_ms as i64);
        self.0
            .exec(query, vec![session.into(), person.into(), at])
            .map(drop)
    }

    fn remove_sessions(&self, sessions: &[String]) -> Result<()> {
        for session in sessions {
            self.0.exec(
                "DELETE FROM sessions WHERE session = ?",
                vec![session.as_str().into()],
            )?;
        }
        Ok(())
    }

    fn sessions_of(&self, person: &str) -> Result<Vec<String>> {
        let query = "SELECT session AS json FROM sessions WHERE person = ? ORDER BY at DESC";
        self.select(query, vec![person.into()])
    }
}
