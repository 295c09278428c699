//! The operator's view of the runner: upstream health and refresh, the audit log, metrics.

use futures::future::join_all;

use super::{Runner, Services};
use crate::admin::AdminBackend;
use crate::audit::{ExecutionAudit, LedgerCommand};
use crate::execution::objects::Object;
use crate::metrics::Metrics;
use crate::upstream::client::UpstreamError;
use crate::upstream::health::{Health, UpstreamStatus};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};

impl<S: Services> AdminBackend for Runner<S> {
    async fn statuses(&self) -> Vec<UpstreamStatus> {
        let names = self.config.upstream_names();
        join_all(
            names
                .iter()
                .map(|name| self.report(name, UpstreamCommand::Status)),
        )
        .await
    }

    async fn refresh(&self, name: &str) -> Option<UpstreamStatus> {
        self.config.upstream(name)?;
        Some(self.report(name, UpstreamCommand::Refresh).await)
    }

    async fn audit(&self, limit: usize) -> Result<Vec<ExecutionAudit>, String> {
        self.services
            .ask(Object::Ledger, &LedgerCommand::Recent { limit })
            .await
    }

    async fn metrics(&self) -> Result<Metrics, String> {
        self.ledger_metrics().await
    }
}

impl<S: Services> Runner<S> {
    /// The status an upstream's object reports after `command`; an object that fails reads as
    /// an unreachable upstream.
    async fn report(&self, name: &str, command: UpstreamCommand) -> UpstreamStatus {
        let failure = match self.services.ask(Object::Upstream(name), &command).await {
            Ok(UpstreamAnswer::Status { report }) => return report,
            Ok(_) => "its object answered out of turn".to_owned(),
            Err(e) => format!("its object failed: {e}"),
        };
        let mut health = Health::default();
        let error = UpstreamError::unreachable(failure);
        health.record_failure(self.services.now_ms(), &error);
        UpstreamStatus::new(name, None, None, false, &health)
    }

    /// The runner's metrics, from the ledger.
    pub(super) async fn ledger_metrics(&self) -> Result<Metrics, String> {
        self.services
            .ask(Object::Ledger, &LedgerCommand::Metrics)
            .await
            .map_err(|e| format!("the ledger failed: {e}"))
    }
}
