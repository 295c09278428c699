//! The keeper's side of an OAuth upstream's account: requests carry the account's access
//! token, a refusal is answered as the [`Account`] decides (send again with new tokens, or fail
//! with a sign-in link), and the sign-in steps that reach the object.

use std::rc::Rc;

use futures::FutureExt;
use serde_json::Value;

use super::{ToolStore, UpstreamKeeper};
use crate::config::Per;
use crate::upstream::client::UpstreamError;
use crate::upstream::oauth::account::Refusal;
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};
use crate::upstream::session::{Asker, Http, Stop};
use crate::upstream::target::Target;

impl<H: Http + 'static, S: ToolStore + 'static> UpstreamKeeper<H, S> {
    /// Sends request `method` to `target` in the session (with a call's `mirrored` headers,
    /// and the `asker` of what the upstream asks meanwhile), with the account's access token
    /// when it signs in with OAuth; after a refusal that new tokens answer, once more (the
    /// refused request was not processed).
    pub(super) async fn request(
        self: &Rc<Self>,
        target: &Rc<Target>,
        (method, params): (&str, Value),
        (mirrored, asker): (&[(String, String)], Option<&dyn Asker>),
        stop: Stop,
    ) -> Result<Value, UpstreamError> {
        let Some(settings) = &target.account else {
            let connection = &self.connection;
            return connection
                .request(target, (method, params), mirrored, asker, stop)
                .await;
        };
        let stop = stop.shared();
        let mut attempts = 2;
        loop {
            attempts -= 1;
            let token = self.account.access_token(settings).await;
            target.hold(self.account.tokens(settings).await.as_ref());
            let sent = self
                .connection
                .request(
                    target,
                    (method, params.clone()),
                    mirrored,
                    asker,
                    stop.clone().boxed_local(),
                )
                .await;
            let Err(UpstreamError::Unauthorized { status, challenge }) = sent else {
                return sent;
            };
            let refusal = self
                .account
                .refused(settings, status, challenge.as_deref(), token.as_deref())
                .await;
            target.hold(self.account.tokens(settings).await.as_ref());
            match refusal {
                Refusal::Retry if attempts > 0 => {}
                Refusal::Retry => return Err(UpstreamError::Unauthorized { status, challenge }),
                Refusal::Fail(error) => return Err(error),
            }
        }
    }

    /// Answers a sign-in step, or a disconnection, of this object's account.
    pub(super) async fn sign_in(
        self: &Rc<Self>,
        target: &Rc<Target>,
        command: UpstreamCommand,
    ) -> UpstreamAnswer {
        let Some(settings) = &target.account else {
            return UpstreamAnswer::SignInFailed {
                message: format!("`{}` does not sign in with OAuth", target.config.name),
            };
        };
        let failed = |message: String| UpstreamAnswer::SignInFailed { message };
        match command {
            UpstreamCommand::OpenSignIn { flow } => {
                match self.account.open_link(settings, &flow).await {
                    Ok(url) => UpstreamAnswer::Redirect { url },
                    Err(error) => failed(target.secrets().string(error.to_string())),
                }
            }
            UpstreamCommand::CompleteSignIn {
                state,
                code,
                error,
                iss,
            } => {
                let code = code.as_deref().ok_or(error.as_deref().unwrap_or("no code"));
                match self
                    .account
                    .complete(settings, &state, code, iss.as_deref())
                    .await
                {
                    Ok(()) => {
                        // What the upstream lists may depend on who signed in.
                        self.stale.set(true);
                        UpstreamAnswer::SignedIn {
                            upstream: settings.upstream.clone(),
                        }
                    }
                    Err(error) => failed(target.secrets().string(error.to_string())),
                }
            }
            UpstreamCommand::Connect => match settings.oauth.per {
                Per::Shared => match self.account.link(settings).await {
                    Ok(url) => UpstreamAnswer::Redirect { url },
                    Err(detail) => failed(format!("a sign-in could not be stored: {detail}")),
                },
                Per::Person => failed(format!(
                    "each person connects their own `{}` account, from the link their agent gets",
                    settings.upstream
                )),
            },
            UpstreamCommand::AccountStatus => UpstreamAnswer::Account {
                connected_since_ms: self.account.connected_since().await,
            },
            _ => match self.account.disconnect().await {
                Ok(was_connected) => {
                    target.hold(None);
                    self.connection.drop_session();
                    UpstreamAnswer::Disconnected { was_connected }
                }
                Err(detail) => failed(format!("the connection could not be forgotten: {detail}")),
            },
        }
    }
}
