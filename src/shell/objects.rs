//! Asking a Durable Object something: a JSON command in a POST, a JSON answer back.

use serde::{de::DeserializeOwned, Serialize};
use worker::{Env, Method, Request, RequestInit, Response};

/// The binding of the per-session objects.
pub(crate) const SESSION_OBJECTS: &str = "SESSION_OBJECTS";
/// The binding of the per-upstream objects.
pub(crate) const UPSTREAM_OBJECTS: &str = "UPSTREAM_OBJECTS";
/// The binding of the ledger object (audit log).
pub(crate) const LEDGER: &str = "LEDGER";

/// Sends `command` to the object named `name` in namespace `binding` and reads its answer.
pub(crate) async fn ask<C: Serialize, A: DeserializeOwned>(
    env: &Env,
    binding: &str,
    name: &str,
    command: &C,
) -> worker::Result<A> {
    send(env, binding, name, command).await?.json().await
}

/// Sends `command` to the object named `name` in namespace `binding`; its answer unread.
pub(crate) async fn send<C: Serialize>(
    env: &Env,
    binding: &str,
    name: &str,
    command: &C,
) -> worker::Result<Response> {
    let stub = env.durable_object(binding)?.get_by_name(name)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(serde_json::to_string(command)?.into()));
    let request = Request::new_with_init(&format!("https://{binding}.internal/{name}"), &init)?;
    stub.fetch_with_request(request).await
}
