//! One upstream account's OAuth state, and the decisions about it: which token a request
//! carries (refreshed a minute before it expires), what a refusal means (refresh, ask the
//! person to sign in, ask for more scope a bounded number of times, or give up), and the two
//! steps of a sign-in: the person opening its link, and the authorization server sending
//! them back with a code.
//!
//! The state is one [`Record`], kept in the upstream object's storage through a [`Vault`],
//! which seals it: tokens, codes and secrets are never stored in the clear.

use std::cell::RefCell;
use std::rc::Rc;

use futures::future::LocalBoxFuture;
use serde::{Deserialize, Serialize};

use super::challenge::Challenge;
use super::flow::{self, Client, Discovered, OAuthError, TokenGrant};
use super::grant::{stepped_up, AuthorizationRequest, Registration, Tokens};
use super::settings::{AccountSettings, CONNECT_PATH};
use crate::config::Per;
use crate::upstream::client::UpstreamError;
use crate::upstream::session::Http;

/// How long a sign-in link, and the authorization request it starts, stay usable.
pub const SIGN_IN_TTL_MS: u64 = 10 * 60_000;

/// How many sign-ins in a row the runner asks for to get more scope before it gives up.
pub const MAX_STEP_UPS: u32 = 2;

/// The most sign-ins kept waiting; the oldest is dropped for a new one.
const MAX_PENDING: usize = 4;

/// Where the record is kept, sealed.
pub trait Vault {
    /// The stored record's JSON, opened; `None` when there is none.
    fn load(&self) -> LocalBoxFuture<'_, Result<Option<String>, String>>;
    /// Seals and stores `json`.
    fn save(&self, json: String) -> LocalBoxFuture<'_, Result<(), String>>;
}

/// Everything about one account that outlives a request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The runner as a client of the authorization server, once registered.
    #[serde(default)]
    pub client: Option<Client>,
    /// The connection, once a sign-in completed.
    #[serde(default)]
    pub connected: Option<Connected>,
    /// Sign-ins under way.
    #[serde(default)]
    pub pending: Vec<Pending>,
}

/// A completed sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connected {
    /// The tokens.
    pub tokens: Tokens,
    /// Where they came from, and where they are refreshed.
    pub discovered: Discovered,
    /// When the sign-in completed, in ms since the epoch.
    pub since_ms: u64,
    /// How many step-ups in a row led to it (0 for a first sign-in).
    #[serde(default)]
    pub step_ups: u32,
    /// The upstream's URL it was made for: its tokens go to no other.
    pub mcp_url: String,
}

/// A sign-in the runner asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// The id in its link.
    pub flow: String,
    /// When it was asked for.
    pub created_ms: u64,
    /// What the upstream's refusal said.
    pub resource_metadata: Option<String>,
    /// The scopes to ask for, when decided at the refusal (a step-up, or the challenge's).
    pub scope: Option<String>,
    /// Which step-up this is (0 for a first sign-in).
    pub step_up: u32,
    /// The authorization request, once the person opened the link.
    #[serde(default)]
    pub started: Option<Started>,
}

/// An authorization request sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    /// Its `state`.
    pub state: String,
    /// The scopes it asked for.
    #[serde(default)]
    pub scope: Option<String>,
    /// Its PKCE verifier.
    pub verifier: String,
    /// The server it went to.
    pub discovered: Discovered,
}

/// What to do about an upstream's refusal of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// New tokens are held: send the request again.
    Retry,
    /// Fail the request with this.
    Fail(UpstreamError),
}

/// Why a sign-in step failed, shown on the page the person sees.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// The link or `state` is not one this account has waiting, or has expired.
    #[error(
        "this sign-in link is unknown or has expired; ask your agent to try again for a new one"
    )]
    Unknown,
    /// The authorization server sent the person back with an error.
    #[error("the authorization server refused: {0}")]
    Refused(String),
    /// The response's `iss` is missing or names another server (RFC 9207).
    #[error("the authorization response came from `{0}`, not the server it was sent to")]
    WrongIssuer(String),
    /// An exchange with the servers failed.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// The record could not be stored.
    #[error("the connection could not be stored: {0}")]
    Storage(String),
}

/// One upstream account.
pub struct Account<H: Http> {
    http: Rc<H>,
    vault: Box<dyn Vault>,
    /// A fresh unguessable value (for PKCE, `state` and link ids).
    new_secret: Box<dyn Fn() -> String>,
    /// The record, once loaded.
    record: RefCell<Option<Record>>,
}

impl<H: Http> Account<H> {
    /// The account kept in `vault`.
    pub fn new(http: Rc<H>, vault: Box<dyn Vault>, new_secret: Box<dyn Fn() -> String>) -> Self {
        Self {
            http,
            vault,
            new_secret,
            record: RefCell::new(None),
        }
    }

    /// The record, loaded at the first use. A record that cannot be opened (the key was
    /// rotated) counts as none: the person signs in again.
    async fn record(&self) -> Record {
        if let Some(record) = self.record.borrow().clone() {
            return record;
        }
        let loaded = self.vault.load().await.ok().flatten();
        let record: Record = loaded
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default();
        *self.record.borrow_mut() = Some(record.clone());
        record
    }

    /// Keeps `record` and stores it.
    async fn keep(&self, record: Record) -> Result<(), String> {
        let json = serde_json::to_string(&record).map_err(|e| e.to_string())?;
        *self.record.borrow_mut() = Some(record);
        self.vault.save(json).await
    }

    /// The tokens held for the upstream `settings` describe, if connected there: tokens made
    /// for an upstream since removed or moved to another URL are not sent to this one.
    pub async fn tokens(&self, settings: &AccountSettings) -> Option<Tokens> {
        let connected = self.record().await.connected?;
        (connected.mcp_url == settings.mcp_url).then_some(connected.tokens)
    }

    /// The access token a request carries: the held one, refreshed first when it is about to
    /// expire; `None` when not connected (the upstream's refusal then says how to sign in).
    pub async fn access_token(&self, settings: &AccountSettings) -> Option<String> {
        let record = self.record().await;
        let connected = record.connected.filter(|c| c.mcp_url == settings.mcp_url)?;
        if connected.tokens.needs_refresh(self.http.now_ms()) {
            return self.refreshed().await.map(|tokens| tokens.access_token);
        }
        Some(connected.tokens.access_token)
    }

    /// New tokens for the refresh token held; on a refusal the connection is dropped.
    async fn refreshed(&self) -> Option<Tokens> {
        let before = self.record().await;
        let connected = before.connected?;
        let refresh_token = connected.tokens.refresh_token.as_deref()?;
        let client = before.client?;
        let answer = flow::request_tokens(
            self.http.as_ref(),
            &connected.discovered.server,
            &client,
            &connected.discovered.resource,
            TokenGrant::Refresh(refresh_token),
            Some(&connected.tokens),
        )
        .await;
        // Read again: another request may have refreshed (or dropped) the tokens meanwhile,
        // and a refresh token is often good for one use only. Then its outcome stands.
        let mut record = self.record().await;
        let current = record.connected.as_ref().map(|c| &c.tokens);
        if current != Some(&connected.tokens) {
            return current.cloned();
        }
        match answer {
            Ok(tokens) => {
                record.connected = Some(Connected {
                    tokens: tokens.clone(),
                    ..connected
                });
                // Kept in memory even if the write fails; the next refresh writes again.
                let _ = self.keep(record).await;
                Some(tokens)
            }
            Err(OAuthError::Unreachable { .. }) => None,
            Err(_) => {
                record.connected = None;
                let _ = self.keep(record).await;
                None
            }
        }
    }

    /// What to do about the upstream's answer `status` with its `WWW-Authenticate`, to a
    /// request that carried `sent` (the access token, if any).
    pub async fn refused(
        &self,
        settings: &AccountSettings,
        status: u16,
        www_authenticate: Option<&str>,
        sent: Option<&str>,
    ) -> Refusal {
        let challenge = www_authenticate
            .and_then(Challenge::bearer)
            .unwrap_or_default();
        let held = self.tokens(settings).await;
        if status == 403 && challenge.error.as_deref() == Some("insufficient_scope") {
            return self.step_up(settings, &challenge, held.as_ref()).await;
        }
        if status != 401 {
            return Refusal::Fail(UpstreamError::HttpStatus {
                status,
                detail: "the upstream refused the runner's credentials".into(),
            });
        }
        if let Some(held) = &held {
            if sent != Some(held.access_token.as_str()) {
                // Another request already replaced the token this one carried.
                return Refusal::Retry;
            }
            if self.refreshed().await.is_some() {
                return Refusal::Retry;
            }
        }
        let mut record = self.record().await;
        record.connected = None;
        let reason = if held.is_some() {
            "the upstream no longer accepts the runner's sign-in"
        } else {
            "it is not connected for this person yet"
        };
        self.ask(
            settings,
            record,
            &challenge,
            challenge.scope.clone(),
            0,
            reason,
        )
        .await
    }

    /// A sign-in for more scope, unless the last ones did not get it.
    async fn step_up(
        &self,
        settings: &AccountSettings,
        challenge: &Challenge,
        held: Option<&Tokens>,
    ) -> Refusal {
        let record = self.record().await;
        let last = record.pending.iter().map(|p| p.step_up).max().unwrap_or(0);
        let wanted = challenge.scope.as_deref().unwrap_or_default();
        let scope = stepped_up(held.and_then(|t| t.scope.as_deref()), wanted);
        match scope {
            Some(scope) if last < MAX_STEP_UPS => {
                let reason = format!("the upstream needs more scope (`{wanted}`)");
                self.ask(settings, record, challenge, Some(scope), last + 1, &reason)
                    .await
            }
            _ => Refusal::Fail(UpstreamError::HttpStatus {
                status: 403,
                detail: format!(
                    "the upstream still wants scope `{wanted}` after {last} sign-ins asking for \
                     it; the runner does not ask again (the operator can set the upstream's \
                     auth.scope)"
                ),
            }),
        }
    }

    /// Asks the person to sign in, with a link in the record, in the error that carries it;
    /// for a shared account, asks for the operator, who gets the link through [`Account::link`].
    async fn ask(
        &self,
        settings: &AccountSettings,
        record: Record,
        challenge: &Challenge,
        scope: Option<String>,
        step_up: u32,
        reason: &str,
    ) -> Refusal {
        let url = match settings.oauth.per {
            Per::Shared => None,
            Per::Person => match self
                .pending_link(settings, record, challenge, scope, step_up)
                .await
            {
                Ok(url) => Some(url),
                Err(detail) => {
                    return Refusal::Fail(UpstreamError::Misconfigured {
                        detail: format!("a sign-in could not be stored: {detail}"),
                    })
                }
            },
        };
        Refusal::Fail(UpstreamError::AuthorizationRequired {
            upstream: settings.upstream.clone(),
            url,
            reason: reason.to_owned(),
        })
    }

    /// A sign-in link for the operator to connect the account.
    pub async fn link(&self, settings: &AccountSettings) -> Result<String, String> {
        let record = self.record().await;
        let challenge = Challenge::default();
        self.pending_link(settings, record, &challenge, None, 0)
            .await
    }

    /// The link of a sign-in waiting in `record` for the same step (one not yet opened, asked
    /// for in the last half of its life), or of a new one.
    async fn pending_link(
        &self,
        settings: &AccountSettings,
        mut record: Record,
        challenge: &Challenge,
        scope: Option<String>,
        step_up: u32,
    ) -> Result<String, String> {
        let now = self.http.now_ms();
        record
            .pending
            .retain(|p| now < p.created_ms + SIGN_IN_TTL_MS);
        let waiting = record.pending.iter().find(|p| {
            p.started.is_none() && p.step_up == step_up && now < p.created_ms + SIGN_IN_TTL_MS / 2
        });
        let flow = match waiting {
            Some(pending) => pending.flow.clone(),
            None => {
                if record.pending.len() >= MAX_PENDING {
                    record.pending.remove(0);
                }
                let flow = (self.new_secret)();
                record.pending.push(Pending {
                    flow: flow.clone(),
                    created_ms: now,
                    resource_metadata: challenge.resource_metadata.clone(),
                    scope,
                    step_up,
                    started: None,
                });
                self.keep(record).await?;
                flow
            }
        };
        Ok(format!(
            "{}{CONNECT_PATH}{}",
            settings.public_url,
            settings.addressed(&flow)
        ))
    }

    /// Forgets the connection and the sign-ins under way (the registration stays).
    pub async fn disconnect(&self) -> Result<bool, String> {
        let mut record = self.record().await;
        let was = record.connected.take().is_some();
        record.pending.clear();
        self.keep(record).await?;
        Ok(was)
    }

    /// When the account connected, if it is.
    pub async fn connected_since(&self) -> Option<u64> {
        self.record().await.connected.map(|c| c.since_ms)
    }

    /// Forgets what is in memory, so the next use reads storage again.
    pub fn forget(&self) {
        self.record.borrow_mut().take();
    }
}

mod steps;
#[cfg(test)]
mod tests;
