//! Small JavaScript helpers: serde values in and out, calling RPC stubs, randomness.

use js_sys::{Array, Function, Reflect};
use serde::Serialize;
use wasm_bindgen::{prelude::wasm_bindgen, JsCast, JsValue};

#[wasm_bindgen]
extern "C" {
    /// `crypto.randomUUID()`: the Workers runtime's CSPRNG.
    #[wasm_bindgen(js_namespace = crypto, js_name = randomUUID)]
    pub(crate) fn random_uuid() -> String;
}

/// A fresh secret of 244 random bits (two UUIDs, without their dashes), for PKCE verifiers,
/// OAuth `state`s, link ids and tickets.
pub(crate) fn new_secret() -> String {
    format!("{}{}", random_uuid(), random_uuid()).replace('-', "")
}

/// Milliseconds since the Unix epoch, from the Workers clock.
pub(crate) fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

/// A Rust value as a plain JS value (objects, not `Map`s).
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, String> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| e.to_string())
}

/// `target[name]`, or an error naming what is missing.
pub(crate) fn property(target: &JsValue, name: &str) -> Result<JsValue, String> {
    match Reflect::get(target, &JsValue::from_str(name)) {
        Ok(value) if !value.is_undefined() => Ok(value),
        _ => Err(format!("`{name}` is not available")),
    }
}

/// Calls `target[name](...args)` with `this` bound to `target`.
///
/// RPC stubs must be called this way: `Function::call1` turns into a remote `.call`, which
/// fails with DataCloneError.
pub(crate) fn call_method(
    target: &JsValue,
    name: &str,
    args: &[&JsValue],
) -> Result<JsValue, String> {
    let method: Function = property(target, name)?.unchecked_into();
    let args: Array = args.iter().copied().collect();
    Reflect::apply(&method, target, &args).map_err(|e| describe(&e))
}

/// Calls `target[name](...args)` and awaits what it returns.
pub(crate) async fn call_async(
    target: &JsValue,
    name: &str,
    args: &[&JsValue],
) -> Result<JsValue, JsValue> {
    let returned = call_method(target, name, args).map_err(JsValue::from)?;
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&returned)).await
}

/// A readable message for a thrown JS value.
pub(crate) fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| format!("{}: {}", String::from(e.name()), String::from(e.message())))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}
