//! The [registry](crate::config::runtime)'s Durable Object: one for the whole runner, keeping
//! the upstreams the operator added at runtime in its SQLite storage.

use worker::{durable_object, DurableObject, Env, Request, Response, Result, SqlStorage, State};

use super::objects::read_command;
use crate::config::runtime::{answer, RegistryCommand, RegistryStore};
use crate::config::UpstreamConfig;

/// The runner's registry Durable Object.
#[durable_object]
pub struct RegistryObject {
    store: SqlRegistry,
}

impl DurableObject for RegistryObject {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        // A failure here surfaces on first use, as the error of the statement that needs it.
        let table = "CREATE TABLE IF NOT EXISTS registry (id INTEGER PRIMARY KEY CHECK (id = 1), body TEXT NOT NULL)";
        let _ = sql.exec(table, None);
        Self {
            store: SqlRegistry(sql),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let command: RegistryCommand = read_command(&mut req).await?;
        Response::from_json(&answer(&self.store, command)?)
    }
}

/// The object's SQLite storage: the upstreams as one JSON text.
struct SqlRegistry(SqlStorage);

/// The stored JSON text, as a query selects it.
#[derive(serde::Deserialize)]
struct Row {
    body: String,
}

impl RegistryStore for SqlRegistry {
    type Error = worker::Error;

    fn load(&self) -> Result<Vec<UpstreamConfig>> {
        let rows: Vec<Row> = self
            .0
            .exec("SELECT body FROM registry WHERE id = 1", None)?
            .to_array()?;
        match rows.first() {
            Some(row) => Ok(serde_json::from_str(&row.body)?),
            None => Ok(Vec::new()),
        }
    }

    fn save(&self, upstreams: &[UpstreamConfig]) -> Result<()> {
        let body = serde_json::to_string(upstreams)?;
        let query = "INSERT OR REPLACE INTO registry (id, body) VALUES (1, ?)";
        self.0.exec(query, vec![body.into()]).map(drop)
    }
}
