//! Where and how to reach one upstream, with its secrets resolved: what its Durable Object
//! builds for each command, from the operator's configuration and the Worker's secrets.

use std::cell::RefCell;
use std::rc::Rc;

use rmcp::model::Tool;

use super::client::UpstreamError;
use super::health::CachedTools;
use super::oauth::grant::Tokens;
use super::oauth::settings::AccountSettings;
use crate::config::{
    account_of_object, AccessPolicy, RunnerConfig, Transport, UpstreamConfig, Verdict,
};
use crate::redact::Secrets;

/// One upstream, ready to be called.
pub struct Target {
    /// Its configuration.
    pub config: UpstreamConfig,
    /// The headers every request to it carries, secrets resolved.
    pub headers: Vec<(String, String)>,
    /// Who may use which of its tools.
    pub access: AccessPolicy,
    /// Its OAuth account, when it signs in with OAuth.
    pub account: Option<AccountSettings>,
    /// The configured secrets to remove from anything it says.
    configured_secrets: Secrets,
    /// Those and the tokens held: what is removed.
    secrets: RefCell<Rc<Secrets>>,
    /// The access token requests carry now.
    bearer: RefCell<Option<String>>,
}

impl Target {
    /// The upstream whose object is named `object` (the upstream's name, or an account's) in
    /// `config`, under the operator's policy `access`, its secrets read with `lookup` and the
    /// runner's `public_url` (for OAuth sign-in links).
    pub fn configured(
        config: &RunnerConfig,
        access: AccessPolicy,
        object: &str,
        public_url: Option<String>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, UpstreamError> {
        let misconfigured = |detail: String| UpstreamError::Misconfigured { detail };
        let (name, _) = account_of_object(object);
        let upstream = config
            .upstream(name)
            .ok_or_else(|| misconfigured(format!("no upstream is named `{name}`")))?;
        let headers = upstream
            .resolved_headers(&lookup)
            .map_err(|e| misconfigured(e.to_string()))?;
        let mut secrets = upstream.secrets(&lookup);
        let account = match upstream.oauth() {
            None => None,
            Some(oauth) => {
                let client_secret = oauth.resolved_secret(&lookup).map_err(|secret| {
                    misconfigured(format!(
                        "auth.clientSecret needs secret `{secret}`, which is not set"
                    ))
                })?;
                let public_url = public_url.ok_or_else(|| {
                    misconfigured(format!(
                        "an OAuth upstream needs {}: the runner's public origin, where people \
                         return from signing in",
                        crate::config::PUBLIC_URL_VAR
                    ))
                })?;
                secrets = secrets.and(client_secret.clone());
                Some(AccountSettings {
                    oauth: oauth.clone(),
                    client_secret,
                    mcp_url: upstream.url.clone(),
                    public_url: public_url.trim_end_matches('/').to_owned(),
                    upstream: name.to_owned(),
                    object: object.to_owned(),
                })
            }
        };
        Ok(Self {
            secrets: RefCell::new(Rc::new(secrets.clone())),
            configured_secrets: secrets,
            config: upstream.clone(),
            headers,
            access,
            account,
            bearer: RefCell::new(None),
        })
    }

    /// Whether the upstream's object may lend its session ([`crate::upstream::session::Lease`]),
    /// or why not: not when its account's tokens are the object's to hold and refresh, nor
    /// when the object queues its calls under `maxConcurrentCalls`, nor on the 2024-11-05
    /// transport, whose answers come on the object's own stream.
    pub fn lendable(&self) -> Result<(), String> {
        if self.account.is_some() {
            return Err("it signs in with OAuth, and the object holds the tokens".into());
        }
        if self.config.max_concurrent_calls.is_some() {
            return Err("the object queues its calls under `maxConcurrentCalls`".into());
        }
        if self.config.transport != Transport::StreamableHttp {
            return Err("it speaks the 2024-11-05 transport".into());
        }
        Ok(())
    }

    /// The cached tools the operator's filter lets through.
    pub fn exposed<'a>(&'a self, cached: &'a CachedTools) -> impl Iterator<Item = &'a Tool> {
        cached
            .tools
            .iter()
            .filter(|tool| self.config.tools.verdict(tool) != Verdict::Block)
    }

    /// What to remove from anything the upstream says: its configured secrets and the tokens
    /// held for it.
    pub fn secrets(&self) -> Rc<Secrets> {
        Rc::clone(&self.secrets.borrow())
    }

    /// The access token requests carry now, if any.
    pub fn bearer(&self) -> Option<String> {
        self.bearer.borrow().clone()
    }

    /// Makes requests carry `tokens`' access token (none without), and redacts them.
    pub fn hold(&self, tokens: Option<&Tokens>) {
        let access = tokens.map(|t| t.access_token.clone());
        if *self.bearer.borrow() == access {
            return;
        }
        let values = tokens
            .into_iter()
            .flat_map(|t| [Some(t.access_token.clone()), t.refresh_token.clone()])
            .flatten();
        *self.secrets.borrow_mut() = Rc::new(self.configured_secrets.and(values));
        *self.bearer.borrow_mut() = access;
    }
}
