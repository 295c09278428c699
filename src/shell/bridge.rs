//! The Rust half of the bridge: what a tool call from the sandbox does.
//!
//! `entry.js` declares the `Bridge` entrypoint class and forwards its one method here with the
//! props the runner set. This is a wasm-bindgen *class* on purpose: worker-build attaches every
//! free `#[wasm_bindgen]` function to the default entrypoint as an RPC method, while a class is
//! only reachable by code that imports it, and `entry.js` does not re-export it.

use serde_json::{Map, Value};
use wasm_bindgen::{prelude::wasm_bindgen, JsValue};
use worker::Env;

use super::js::{from_js, to_js};
use super::objects::{ask, UPSTREAM_OBJECTS};
use crate::sandbox::protocol::{BridgeReply, Grant, ToolErrorKind};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};

/// Tool calls from sandboxed programs.
#[wasm_bindgen]
pub struct BridgeHost {}

#[wasm_bindgen]
impl BridgeHost {
    /// Calls `tool` on `upstream` for the execution described by `props`; always resolves to
    /// a [`BridgeReply`], never rejects.
    #[wasm_bindgen(js_name = callTool)]
    pub async fn call_tool(
        env: Env,
        props: JsValue,
        upstream: String,
        tool: String,
        args: JsValue,
    ) -> JsValue {
        let reply = reply(&env, props, &upstream, &tool, args).await;
        to_js(&reply).unwrap_or(JsValue::NULL)
    }
}

async fn reply(
    env: &Env,
    props: JsValue,
    upstream: &str,
    tool: &str,
    args: JsValue,
) -> BridgeReply {
    let refuse = |kind, message: String| BridgeReply::Error { kind, message };
    let Ok(grant) = from_js::<Grant>(props) else {
        return refuse(
            ToolErrorKind::NotPermitted,
            "this bridge carries no grant".into(),
        );
    };
    let arguments = match from_js::<Value>(args) {
        Ok(Value::Object(map)) => map,
        Ok(Value::Null) => Map::new(),
        _ => {
            return refuse(
                ToolErrorKind::InvalidArguments,
                "the arguments must be an object".into(),
            )
        }
    };
    if let Some(refusal) = grant.refusal(upstream, &arguments) {
        return refusal;
    }
    let command = UpstreamCommand::CallTool {
        name: tool.to_owned(),
        arguments: Some(arguments),
        execution: Some(grant.execution),
    };
    match ask::<_, UpstreamAnswer>(env, UPSTREAM_OBJECTS, upstream, &command).await {
        Ok(UpstreamAnswer::ToolResult { result }) => BridgeReply::from_tool_result(result),
        Ok(UpstreamAnswer::InvalidArguments { detail }) => refuse(
            ToolErrorKind::InvalidArguments,
            format!("the arguments do not match the tool's input schema: {detail}"),
        ),
        Ok(UpstreamAnswer::NotPermitted { detail }) => refuse(ToolErrorKind::NotPermitted, detail),
        Ok(UpstreamAnswer::Failed { error }) => {
            refuse(ToolErrorKind::of(&error), error.to_string())
        }
        Ok(
            UpstreamAnswer::Tools { .. }
            | UpstreamAnswer::Pending { .. }
            | UpstreamAnswer::Cancelled { .. }
            | UpstreamAnswer::Status { .. },
        ) => refuse(
            ToolErrorKind::UpstreamProtocolError,
            "the upstream's object answered out of turn".into(),
        ),
        Err(e) => refuse(
            ToolErrorKind::UpstreamUnreachable,
            format!("the upstream's object failed: {e}"),
        ),
    }
}
