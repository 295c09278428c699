//! The steps of a sign-in, over the OAuth layer's helpers ([`OAuthLayer`]): what each request
//! to the sign-in paths is answered with. The shell only adapts the layer's JavaScript helpers
//! and the HTTP request; every decision is here.

use std::future::Future;

use super::oidc::{CodeExchange, OidcConfig, OidcError};
use super::page::{consent_page, sign_in_page, ClientView, SignInMethods};
use super::{approved, denied_redirect, upstreams_for, AuthRequest, Pending, SignInForm};
use crate::config::{AccessKeys, AccessPolicy, RunnerConfig};
use crate::protocol::person::Person;
use crate::upstream::session::Http;

/// The OAuth layer's helpers for one request to a sign-in path. Its `Request` is an
/// authorization request the layer validated; its `Headers` are what a step's answer must carry
/// (the cookies binding a step to the browser); its `Error` is the layer's own.
pub trait OAuthLayer {
    /// An authorization request the layer validated, kept opaque here.
    type Request;
    /// Headers to send with a step's answer.
    type Headers;
    /// The layer's error.
    type Error;

    /// The client's authorization request in this request's URL, validated.
    fn parse_request(&self) -> impl Future<Output = Result<Self::Request, Self::Error>>;
    /// What the page may say about the client behind `request`.
    fn describe(
        &self,
        request: &Self::Request,
    ) -> impl Future<Output = Result<ClientView, Self::Error>>;
    /// A consent transaction for `request`: its handle, bound to the browser by the headers.
    fn begin_consent(
        &self,
        request: &Self::Request,
    ) -> impl Future<Output = Result<(String, Self::Headers), Self::Error>>;
    /// Consumes the consent transaction `handle`, approved: the stored request.
    fn approve_consent(
        &self,
        handle: &str,
    ) -> impl Future<Output = Result<(Self::Request, Self::Headers), Self::Error>>;
    /// Consumes the consent transaction `handle`, declined: where to send the browser.
    fn deny_consent(
        &self,
        handle: &str,
    ) -> impl Future<Output = Result<(String, Self::Headers), Self::Error>>;
    /// Seals `request` and `pending` until the next step, bound to the browser (adding to
    /// `headers`): the transaction's `state`.
    fn begin_transaction(
        &self,
        request: &Self::Request,
        pending: &Pending,
        headers: Self::Headers,
    ) -> impl Future<Output = Result<(String, Self::Headers), Self::Error>>;
    /// Opens the transaction named by this request's `state`, once.
    fn finish_transaction(
        &self,
    ) -> impl Future<Output = Result<(Self::Request, Pending, Self::Headers), Self::Error>>;
    /// Issues the authorization code for `person`: where to send the browser.
    fn complete(
        &self,
        request: &Self::Request,
        person: &Person,
    ) -> impl Future<Output = Result<String, Self::Error>>;
    /// The parts of `request` the runner reads.
    fn read(&self, request: &Self::Request) -> Result<AuthRequest, Self::Error>;
}

/// What a sign-in step has besides the layer: the operator's configuration and the network.
pub struct SignIn<'a, H> {
    /// The operator's access keys.
    pub keys: &'a AccessKeys,
    /// The operator's identity provider, if any.
    pub provider: Option<&'a OidcConfig>,
    /// The upstreams.
    pub config: &'a RunnerConfig,
    /// Who may use them.
    pub access: &'a AccessPolicy,
    /// The network, to reach the identity provider.
    pub http: &'a H,
    /// This runner's callback URL, where the identity provider sends people back.
    pub callback_url: &'a str,
    /// Fresh random values, for PKCE verifiers and nonces.
    pub new_secret: &'a dyn Fn() -> String,
}

/// A step's answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer<Headers> {
    /// A page, with its status and the headers to send.
    Page(u16, String, Option<Headers>),
    /// A redirect, with the headers to send.
    Redirect(String, Headers),
}

/// Why a step could not go on.
#[derive(Debug, PartialEq, Eq)]
pub enum StepError<E> {
    /// The layer refused or failed (the shell decides: redirect to the client, or a page).
    Layer(E),
    /// A page saying what went wrong, with its status.
    Page(u16, String),
}

impl<E> From<E> for StepError<E> {
    fn from(error: E) -> Self {
        Self::Layer(error)
    }
}

/// A step's result.
pub type Step<L> = Result<Answer<<L as OAuthLayer>::Headers>, StepError<<L as OAuthLayer>::Error>>;

/// What a person is told when the key they typed is not one.
const UNKNOWN_KEY: &str = "That access key is not one this runner knows.";

impl<H: Http> SignIn<'_, H> {
    /// `GET /authorize`: the sign-in page for the client's request.
    pub async fn begin<L: OAuthLayer>(&self, layer: &L) -> Step<L> {
        let request = layer.parse_request().await?;
        let client = layer.describe(&request).await?;
        let (handle, headers) = layer.begin_consent(&request).await?;
        let page = sign_in_page(&client, &handle, &self.methods(), None);
        Ok(Answer::Page(200, page, Some(headers)))
    }

    /// `POST /authorize`: the sign-in page's answer, `form`.
    pub async fn sign_in<L: OAuthLayer>(&self, layer: &L, form: &[u8]) -> Step<L> {
        match SignInForm::parse(form).map_err(|e| StepError::Page(400, e.to_string()))? {
            SignInForm::Deny { handle } => {
                let (location, headers) = layer.deny_consent(&handle).await?;
                Ok(Answer::Redirect(location, headers))
            }
            SignInForm::AccessKey { handle, key } => match self.keys.identify(&key) {
                Some(person) => {
                    let (request, headers) = layer.approve_consent(&handle).await?;
                    self.ask_consent(layer, &request, person, headers).await
                }
                None => {
                    let request = layer.parse_request().await?;
                    let client = layer.describe(&request).await?;
                    let page = sign_in_page(&client, &handle, &self.methods(), Some(UNKNOWN_KEY));
                    Ok(Answer::Page(401, page, None))
                }
            },
            SignInForm::Provider { handle } => {
                let provider = self.provider()?;
                let metadata = provider
                    .discover(self.http)
                    .await
                    .map_err(provider_failed)?;
                let (request, headers) = layer.approve_consent(&handle).await?;
                let (verifier, nonce) = ((self.new_secret)(), (self.new_secret)());
                let pending = Pending::Provider {
                    verifier: verifier.clone(),
                    nonce: nonce.clone(),
                };
                let (state, headers) = layer.begin_transaction(&request, &pending, headers).await?;
                let location = provider
                    .authorization_url(&metadata, self.callback_url, &state, &verifier, &nonce)
                    .map_err(provider_failed)?;
                Ok(Answer::Redirect(location, headers))
            }
        }
    }

    /// `GET /callback?…`: the identity provider's redirect back, with its `query`. The code is
    /// exchanged and the person it names asked to consent; a person who declined there is
    /// sent back to the client with `access_denied`.
    pub async fn callback<L: OAuthLayer>(&self, layer: &L, query: &[(String, String)]) -> Step<L> {
        let (request, pending, headers) = layer.finish_transaction().await?;
        let Pending::Provider { verifier, nonce } = pending else {
            return Err(StepError::Page(
                400,
                "This is not a sign-in's return.".into(),
            ));
        };
        let provider = self.provider()?;
        let field = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if field("iss").is_some_and(|iss| iss != provider.issuer) {
            return Err(StepError::Page(
                400,
                "The sign-in came back from another issuer.".into(),
            ));
        }
        let Some(code) = field("code") else {
            return Ok(Answer::Redirect(denial(layer, &request)?, headers));
        };
        let metadata = provider
            .discover(self.http)
            .await
            .map_err(provider_failed)?;
        let exchange = CodeExchange {
            code,
            redirect_uri: self.callback_url,
            verifier: &verifier,
            nonce: &nonce,
        };
        let person = provider
            .signed_in(self.http, &metadata, &exchange)
            .await
            .map_err(provider_failed)?;
        self.ask_consent(layer, &request, person, headers).await
    }

    /// `POST /authorize/confirm?state=…`: the consent page's answer, `form`.
    pub async fn confirm<L: OAuthLayer>(&self, layer: &L, form: &[u8]) -> Step<L> {
        let (request, pending, headers) = layer.finish_transaction().await?;
        let Pending::Consent { person } = pending else {
            return Err(StepError::Page(
                400,
                "This is not a consent page's answer.".into(),
            ));
        };
        if !approved(form) {
            return Ok(Answer::Redirect(denial(layer, &request)?, headers));
        }
        let location = layer.complete(&request, &person).await?;
        Ok(Answer::Redirect(location, headers))
    }

    /// The consent page for `person`: the client's request waits, sealed and bound to this
    /// browser, for the answer.
    async fn ask_consent<L: OAuthLayer>(
        &self,
        layer: &L,
        request: &L::Request,
        person: Person,
        headers: L::Headers,
    ) -> Step<L> {
        let upstreams = upstreams_for(self.config, self.access, &person);
        let client = layer.describe(request).await?;
        let pending = Pending::Consent {
            person: person.clone(),
        };
        let (state, headers) = layer.begin_transaction(request, &pending, headers).await?;
        let page = consent_page(&client, &person, &upstreams, &state);
        Ok(Answer::Page(200, page, Some(headers)))
    }

    /// The sign-in methods the operator configured.
    fn methods(&self) -> SignInMethods {
        SignInMethods {
            access_key: !self.keys.is_empty(),
            provider: self.provider.map(|provider| provider.name.clone()),
        }
    }

    /// The identity provider, or the page saying there is none.
    fn provider<E>(&self) -> Result<&OidcConfig, StepError<E>> {
        self.provider.ok_or_else(|| {
            StepError::Page(
                400,
                "No identity provider is configured on this runner.".into(),
            )
        })
    }
}

/// Where to send the browser when the person declined: the client's redirect URI with
/// `access_denied`.
fn denial<L: OAuthLayer>(layer: &L, request: &L::Request) -> Result<String, StepError<L::Error>> {
    denied_redirect(&layer.read(request)?)
        .ok_or_else(|| StepError::Page(400, "The app's redirect URI is not a URL.".into()))
}

/// A sign-in at the identity provider that failed: the page says what went wrong.
fn provider_failed<E>(error: OidcError) -> StepError<E> {
    StepError::Page(502, format!("Signing in failed: {error}."))
}

#[cfg(test)]
mod tests;
