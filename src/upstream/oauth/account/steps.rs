//! The two steps of a sign-in that reach the account's object: the person opening its link
//! (discovery, registration, the authorization request), and the authorization server sending
//! them back (the checks of the response, the code exchanged for tokens).

use super::*;
use crate::upstream::error::token_or_quoted;

impl<H: Http> Account<H> {
    /// The person opened link `flow`: discovers the authorization server, registers where
    /// needed, and returns the authorization URL to send them to.
    pub async fn open_link(
        &self,
        settings: &AccountSettings,
        flow: &str,
    ) -> Result<String, SignInError> {
        let record = self.record().await;
        let now = self.http.now_ms();
        let pending = (record.pending.iter())
            .find(|p| p.flow == flow && now < p.created_ms + SIGN_IN_TTL_MS)
            .cloned()
            .ok_or(SignInError::Unknown)?;
        let challenge = Challenge {
            resource_metadata: pending.resource_metadata.clone(),
            ..Challenge::default()
        };
        let (discovered, server) =
            flow::discover(self.http.as_ref(), &settings.mcp_url, &challenge).await?;
        let redirect_uri = settings.redirect_uri();
        let client = match record.client.clone() {
            Some(client)
                if client.issuer == server.issuer && client.redirect_uri == redirect_uri =>
            {
                client
            }
            _ => {
                let preregistered = settings
                    .oauth
                    .client_id
                    .clone()
                    .map(|id| (id, settings.client_secret.clone()));
                let metadata_document = settings.metadata_document();
                let registration =
                    Registration::choose(&server, preregistered, metadata_document.as_deref())
                        .map_err(OAuthError::from)?;
                flow::register(self.http.as_ref(), &server, registration, &redirect_uri).await?
            }
        };
        // A step-up's scopes first; else the operator's, the challenge's, the resource's.
        let scope = if pending.step_up > 0 {
            pending.scope.clone()
        } else {
            let listed = discovered.scopes_supported.as_ref().map(|s| s.join(" "));
            settings
                .oauth
                .scope
                .clone()
                .or(pending.scope.clone())
                .or(listed)
        }
        .filter(|scope| !scope.is_empty());
        let scope = with_offline_access(scope, discovered.server.scopes_supported.as_deref());
        let (state, verifier) = ((self.new_secret)(), (self.new_secret)());
        let url = AuthorizationRequest {
            client_id: &client.client_id,
            redirect_uri: &client.redirect_uri,
            scope: scope.as_deref(),
            resource: &discovered.resource,
            state: &settings.addressed(&state),
            code_challenge: &flow::code_challenge(&verifier),
        }
        .url(&discovered.server.authorization_endpoint)
        .map_err(|e| OAuthError::Unreachable {
            url: discovered.server.authorization_endpoint.clone(),
            detail: e.to_string(),
        })?;
        // Read again: other requests may have changed the record while this one waited.
        let mut record = self.record().await;
        let pending = (record.pending.iter_mut())
            .find(|p| p.flow == flow)
            .ok_or(SignInError::Unknown)?;
        pending.started = Some(Started {
            state,
            scope,
            verifier,
            discovered,
        });
        record.client = Some(client);
        self.keep(record).await.map_err(SignInError::Storage)?;
        Ok(url)
    }

    /// The authorization server sent the person back with `state` and either a `code` (and,
    /// per RFC 9207, `iss`) or an `error`: exchanges the code for tokens.
    pub async fn complete(
        &self,
        settings: &AccountSettings,
        state: &str,
        code: Result<&str, &str>,
        iss: Option<&str>,
    ) -> Result<(), SignInError> {
        let mut record = self.record().await;
        let now = self.http.now_ms();
        let index = record
            .pending
            .iter()
            .position(|p| {
                now < p.created_ms + SIGN_IN_TTL_MS
                    && p.started.as_ref().is_some_and(|s| s.state == state)
            })
            .ok_or(SignInError::Unknown)?;
        // One use: whatever happens next, this state is spent.
        let pending = record.pending.remove(index);
        let client = record.client.clone();
        self.keep(record).await.map_err(SignInError::Storage)?;
        let started = pending.started.ok_or(SignInError::Unknown)?;
        let server = &started.discovered.server;
        let code = code.map_err(|error| SignInError::Refused(token_or_quoted(error)))?;
        match iss {
            Some(iss) if iss != server.issuer => {
                return Err(SignInError::WrongIssuer(token_or_quoted(iss)));
            }
            None if server.sends_iss => {
                return Err(SignInError::WrongIssuer("nowhere (no `iss`)".into()));
            }
            _ => {}
        }
        let client = client.ok_or(SignInError::Unknown)?;
        let tokens = flow::request_tokens(
            self.http.as_ref(),
            server,
            &client,
            &started.discovered.resource,
            TokenGrant::Code {
                code,
                verifier: &started.verifier,
            },
            None,
        )
        .await;
        let tokens = tokens?;
        // Without a `scope`, the scopes granted are those asked for (RFC 6749 §5.1).
        let tokens = Tokens {
            scope: tokens.scope.or(started.scope.clone()),
            ..tokens
        };
        let mut record = self.record().await;
        record.connected = Some(Connected {
            tokens,
            discovered: started.discovered,
            since_ms: now,
            step_ups: pending.step_up,
            mcp_url: settings.mcp_url.clone(),
        });
        self.keep(record).await.map_err(SignInError::Storage)
    }
}

/// `scope` with `offline_access` added where the authorization server lists it, so that it
/// issues a refresh token (SEP-2207); unchanged otherwise.
pub(super) fn with_offline_access(
    scope: Option<String>,
    listed: Option<&[String]>,
) -> Option<String> {
    const OFFLINE_ACCESS: &str = "offline_access";
    let offered = listed.is_some_and(|l| l.iter().any(|s| s == OFFLINE_ACCESS));
    match scope {
        Some(scope) if offered && !scope.split_whitespace().any(|s| s == OFFLINE_ACCESS) => {
            Some(format!("{scope} {OFFLINE_ACCESS}"))
        }
        None if offered => Some(OFFLINE_ACCESS.to_owned()),
        scope => scope,
    }
}
