//! The operator's view of the runner: upstream health and refresh, the audit log, metrics, and
//! people: what each is granted, the clients they allowed, their sessions.

use futures::future::join_all;

use super::{Runner, Services};
use crate::admin::{
    AdminBackend, ChangeError, Connection, ConnectionError, OAuthClient, OAuthGrant, PersonView,
    Revocation,
};
use crate::audit::{ExecutionAudit, LedgerCommand};
use crate::config::runtime::{AddError, RegistryCommand};
use crate::config::{Per, RunnerConfig};
use crate::execution::objects::Object;
use crate::metrics::Metrics;
use crate::protocol::person::{Person, SignedIn, ACCESS_KEY_PREFIX};
use crate::session::{SessionCommand, SessionRecord};
use crate::signin::grant_user_id;
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

    async fn put_upstream(&self, name: &str, body: &[u8]) -> Result<(), ChangeError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| ChangeError::Invalid("the body is not UTF-8 JSON".into()))?;
        let upstream =
            RunnerConfig::addable(text, &self.config.deployed_names()).map_err(|e| match e {
                AddError::Configured(_) => ChangeError::Deployed(e.to_string()),
                other => ChangeError::Invalid(other.to_string()),
            })?;
        if upstream.name != name {
            return Err(ChangeError::Invalid(format!(
                "the body names `{}`, the path `{name}`",
                upstream.name
            )));
        }
        let _saved: bool = self
            .services
            .ask(Object::Registry, &RegistryCommand::Put { upstream })
            .await
            .map_err(ChangeError::Unavailable)?;
        self.services.forget_policy();
        self.forget(name).await;
        Ok(())
    }

    async fn remove_upstream(&self, name: &str) -> Result<(), ChangeError> {
        if self.config.deployed_names().iter().any(|n| n == name) {
            return Err(ChangeError::Deployed(format!(
                "`{name}` is configured in UPSTREAMS; remove it there and deploy"
            )));
        }
        if self.access.names(name) {
            return Err(ChangeError::Deployed(format!(
                "the ACCESS policy names `{name}`; change it first"
            )));
        }
        let command = RegistryCommand::Remove {
            name: name.to_owned(),
        };
        let removed: bool = self
            .services
            .ask(Object::Registry, &command)
            .await
            .map_err(ChangeError::Unavailable)?;
        if !removed {
            return Err(ChangeError::Unknown(name.to_owned()));
        }
        self.services.forget_policy();
        self.forget(name).await;
        Ok(())
    }

    async fn person(&self, id: &str) -> Result<PersonView, String> {
        let oauth_grants = self.services.oauth_grants(&grant_user_id(id)).await?;
        let person = known_person(id, &oauth_grants);
        let mut connections = Vec::new();
        for (upstream, object) in self.config.accounts(Some(&person)).personal() {
            let answer = self
                .services
                .ask(Object::Upstream(object), &UpstreamCommand::AccountStatus);
            if let UpstreamAnswer::Account {
                connected_since_ms: Some(since_ms),
            } = answer.await?
            {
                connections.push(Connection {
                    upstream: upstream.to_owned(),
                    since_ms,
                });
            }
        }
        Ok(PersonView {
            person: id.to_owned(),
            grant: self.access.grant_for(Some(&person)).summary(),
            sessions: self.live_sessions(id).await?,
            oauth_grants,
            connections,
        })
    }

    async fn revoke_person(&self, id: &str) -> Result<Revocation, String> {
        let user_id = grant_user_id(id);
        let grants = self.services.oauth_grants(&user_id).await?;
        for grant in &grants {
            self.services
                .revoke_oauth_grant(&grant.id, &user_id)
                .await?;
        }
        let sessions = self.live_sessions(id).await?;
        for session in &sessions {
            let closed = self
                .services
                .ask::<bool, _>(Object::Session(session), &SessionCommand::Close);
            let closed = closed.await;
            self.forget_session(session);
            closed?;
        }
        self.services.tell_ledger(LedgerCommand::SessionsEnded {
            sessions: sessions.clone(),
        });
        let mut connections = 0;
        let person = known_person(id, &grants);
        for (_, object) in self.config.accounts(Some(&person)).personal() {
            let answer = self
                .services
                .ask(Object::Upstream(object), &UpstreamCommand::Disconnect);
            if let UpstreamAnswer::Disconnected {
                was_connected: true,
            } = answer.await?
            {
                connections += 1;
            }
        }
        Ok(Revocation {
            oauth_grants: grants.len(),
            sessions: sessions.len(),
            connections,
        })
    }

    async fn clients(&self) -> Result<Vec<OAuthClient>, String> {
        self.services.oauth_clients().await
    }

    async fn remove_client(&self, id: &str) -> Result<bool, String> {
        self.services.remove_oauth_client(id).await
    }

    async fn connect(&self, name: &str) -> Result<String, ConnectionError> {
        match self.shared_account(name, UpstreamCommand::Connect).await? {
            UpstreamAnswer::Redirect { url } => Ok(url),
            UpstreamAnswer::SignInFailed { message } => Err(ConnectionError::NotShared(message)),
            _ => Err(ConnectionError::Unavailable(
                "it answered out of turn".into(),
            )),
        }
    }

    async fn disconnect(&self, name: &str) -> Result<bool, ConnectionError> {
        match self
            .shared_account(name, UpstreamCommand::Disconnect)
            .await?
        {
            UpstreamAnswer::Disconnected { was_connected } => Ok(was_connected),
            UpstreamAnswer::SignInFailed { message } => Err(ConnectionError::NotShared(message)),
            _ => Err(ConnectionError::Unavailable(
                "it answered out of turn".into(),
            )),
        }
    }
}

/// The person `id` as well as the runner knows them: an access key's holder by name; someone
/// the identity provider signed in as their newest grant recorded them (email and groups).
fn known_person(id: &str, grants: &[OAuthGrant]) -> Person {
    if let Some(name) = id.strip_prefix(ACCESS_KEY_PREFIX) {
        return Person::access_key(name);
    }
    let recorded = grants
        .iter()
        .rev()
        .find_map(|grant| serde_json::from_value::<SignedIn>(grant.metadata.clone()).ok())
        .and_then(|props| props.person);
    match recorded {
        Some(person) if person.id == id => person,
        _ => Person {
            id: id.to_owned(),
            name: id.to_owned(),
            email: None,
            groups: Vec::new(),
        },
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

    /// Tells the object of upstream `name` to forget it, so the next request reads the
    /// configuration again; an object that fails to hear it restarts knowing nothing anyway.
    async fn forget(&self, name: &str) {
        let forgotten: Result<UpstreamAnswer, String> = self
            .services
            .ask(Object::Upstream(name), &UpstreamCommand::Forget)
            .await;
        if let Err(e) = forgotten {
            self.services.log(&format!(
                "the object of upstream `{name}` did not forget it: {e}"
            ));
        }
    }

    /// The answer of the object of `name`'s shared OAuth account to `command`.
    async fn shared_account(
        &self,
        name: &str,
        command: UpstreamCommand,
    ) -> Result<UpstreamAnswer, ConnectionError> {
        let upstream = (self.config.upstream(name))
            .ok_or_else(|| ConnectionError::Unknown(name.to_owned()))?;
        if upstream
            .oauth()
            .is_none_or(|oauth| oauth.per != Per::Shared)
        {
            return Err(ConnectionError::NotShared(format!(
                "`{name}` has no shared OAuth account (its auth is not {{\"type\": \"oauth\", \"per\": \"shared\"}})"
            )));
        }
        (self.services.ask(Object::Upstream(name), &command).await)
            .map_err(ConnectionError::Unavailable)
    }

    /// The sessions of the person `id` that are still open, newest first; those found gone
    /// are forgotten by the ledger.
    async fn live_sessions(&self, id: &str) -> Result<Vec<String>, String> {
        let command = LedgerCommand::SessionsOf {
            person: id.to_owned(),
        };
        let remembered: Vec<String> = self.services.ask(Object::Ledger, &command).await?;
        let mut live = Vec::new();
        let mut gone = Vec::new();
        for session in remembered {
            let record: Option<SessionRecord> = self
                .services
                .ask(Object::Session(&session), &SessionCommand::Get)
                .await?;
            match record {
                Some(record) if record.person.as_deref() == Some(id) => live.push(session),
                _ => gone.push(session),
            }
        }
        if !gone.is_empty() {
            self.services
                .tell_ledger(LedgerCommand::SessionsEnded { sessions: gone });
        }
        Ok(live)
    }

    /// The runner's metrics, from the ledger.
    pub(super) async fn ledger_metrics(&self) -> Result<Metrics, String> {
        self.services
            .ask(Object::Ledger, &LedgerCommand::Metrics)
            .await
            .map_err(|e| format!("the ledger failed: {e}"))
    }
}
