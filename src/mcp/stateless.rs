//! The 2026-07-28 protocol (SEP-2575): every request stands alone, on the same endpoint as the
//! session-based versions.
//!
//! There is no `initialize` and no session. Each request says in `params._meta` which version
//! it speaks and what the client can do, repeats the version, the method and the tool name in
//! headers (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`) so that intermediaries can route
//! without reading the body, and opts in to log events per request. `server/discover` replaces
//! the handshake. Cancelling a request means closing its response stream.
//!
//! The checks run in the order the conformance suite expects: envelope (`-32602`), headers
//! against the body (`-32020`), version (`-32022`), method (`404`, `-32601`). Every error
//! echoes the request's id.

use base64::Engine;
use rmcp::model::{CacheScope, DiscoverResult, ErrorCode, ErrorData, ProtocolVersion, RequestId};
use serde_json::{json, Map, Value};

use super::jsonrpc::{Message, Payload, Reply, Request};
use super::server;
use crate::protocol::http::{HttpRequest, PROTOCOL_VERSION_HEADER};
use crate::protocol::log_level::LogLevel;
use crate::protocol::meta::{
    CAPABILITIES_KEY, LOG_LEVEL_KEY, METHOD_HEADER, NAME_HEADER, SERVER_INFO_KEY, VERSION_KEY,
};
use crate::protocol::method;
use crate::protocol::version::{SESSION_VERSIONS, STATELESS_VERSIONS};

/// Whether this server speaks `version` without a session.
pub fn speaks(version: &str) -> bool {
    STATELESS_VERSIONS.iter().any(|v| v.as_str() == version)
}

/// How long a client may reuse a `tools/list` answer: tool lists change rarely, but they do
/// change (a description may name what the backend can reach).
pub const TOOLS_TTL_MS: u64 = 60_000;

/// Whether a POST belongs to the stateless protocol: its `MCP-Protocol-Version` header names a
/// version newer than the handshake era, or its body carries a version in `_meta`.
pub fn is_stateless(request: &HttpRequest, payload: &Payload) -> bool {
    // Any version the handshake era does not know counts, so that an unknown one gets -32022.
    let modern_header = request
        .header(PROTOCOL_VERSION_HEADER)
        .is_some_and(|version| {
            let version = version.trim();
            !server::is_supported(version) && version != ProtocolVersion::V_2024_11_05.as_str()
        });
    let modern_body = matches!(payload, Payload::Single(Message::Request(request))
        if request.params.as_ref().and_then(|p| p.pointer("/_meta")).and_then(|m| m.get(VERSION_KEY)).is_some());
    modern_header || modern_body
}

/// Whether a GET or DELETE names a stateless version, which has neither streams nor sessions.
pub fn names_stateless_version(request: &HttpRequest) -> bool {
    request
        .header(PROTOCOL_VERSION_HEADER)
        .is_some_and(|version| speaks(version.trim()))
}

/// What a stateless request declared about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The protocol version it speaks.
    pub version: String,
    /// The least severe log event it wants, if any.
    pub log_level: Option<LogLevel>,
}

/// A request refused before it reached a handler: the HTTP status and the reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    /// `400` or `404`.
    pub status: u16,
    /// The JSON-RPC error, with the request's id.
    pub reply: Reply,
}

impl Refused {
    fn new(
        status: u16,
        id: &RequestId,
        code: ErrorCode,
        message: String,
        data: Option<Value>,
    ) -> Self {
        Self {
            status,
            reply: Reply::Error {
                id: Some(id.clone()),
                error: Box::new(ErrorData::new(code, message, data)),
            },
        }
    }
}

/// Checks `request` (sent with `http`'s headers) in the specification's order; returns what it
/// declared, or why it is refused.
pub fn check(http: &HttpRequest, request: &Request) -> Result<Envelope, Refused> {
    let envelope = read_envelope(request)?;
    let mismatch =
        |message: String| Refused::new(400, &request.id, ErrorCode::HEADER_MISMATCH, message, None);
    let header = |name: &str| http.header(name).map(str::trim);
    if header(PROTOCOL_VERSION_HEADER) != Some(envelope.version.as_str()) {
        return Err(mismatch(format!(
            "Header mismatch: {PROTOCOL_VERSION_HEADER} must repeat _meta[\"{VERSION_KEY}\"] \
             (`{}`), got {:?}",
            envelope.version,
            header(PROTOCOL_VERSION_HEADER)
        )));
    }
    if header(METHOD_HEADER) != Some(request.method.as_str()) {
        return Err(mismatch(format!(
            "Header mismatch: {METHOD_HEADER} must repeat the method `{}`, got {:?}",
            request.method,
            header(METHOD_HEADER)
        )));
    }
    if request.method == method::TOOLS_CALL {
        if let Some(name) = request
            .params
            .as_ref()
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
        {
            let sent = header(NAME_HEADER).map(decode_header_value);
            if sent != Some(Some(name.to_owned())) {
                return Err(mismatch(format!(
                    "Header mismatch: {NAME_HEADER} must repeat the tool name `{name}` \
                     (plain, or as =?base64?…?=)"
                )));
            }
        }
    }
    if !speaks(&envelope.version) {
        return Err(Refused::new(
            400,
            &request.id,
            ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
            format!(
                "Unsupported protocol version `{}`: this server speaks {} without a session, \
                 and {} after `initialize`",
                envelope.version,
                STATELESS_VERSIONS[0].as_str(),
                SESSION_VERSIONS
                    .iter()
                    .map(ProtocolVersion::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Some(json!({"supported": STATELESS_VERSIONS, "requested": envelope.version})),
        ));
    }
    let method_name = request.method.as_str();
    if method_name == method::SERVER_DISCOVER || server::FOR_CALLER.contains(&method_name) {
        Ok(envelope)
    } else {
        Err(Refused {
            status: 404,
            reply: server::not_found(request, method_name),
        })
    }
}

fn read_envelope(request: &Request) -> Result<Envelope, Refused> {
    let invalid = |message: String| {
        Refused::new(
            400,
            &request.id,
            ErrorCode::INVALID_PARAMS,
            format!("Invalid params: {message}"),
            None,
        )
    };
    let Some(meta) = request.params.as_ref().and_then(|p| p.get("_meta")) else {
        return Err(invalid(format!(
            "params._meta is required in protocol {}: it carries \"{VERSION_KEY}\" and \
             \"{CAPABILITIES_KEY}\"",
            STATELESS_VERSIONS[0].as_str()
        )));
    };
    let Some(meta) = meta.as_object() else {
        return Err(invalid("params._meta must be an object".into()));
    };
    let version = match meta.get(VERSION_KEY) {
        Some(Value::String(version)) => version.clone(),
        Some(_) => {
            return Err(invalid(format!(
                "_meta[\"{VERSION_KEY}\"] must be a string"
            )))
        }
        None => return Err(invalid(format!("_meta[\"{VERSION_KEY}\"] is missing"))),
    };
    match meta.get(CAPABILITIES_KEY) {
        Some(Value::Object(_)) => {}
        Some(_) => {
            return Err(invalid(format!(
                "_meta[\"{CAPABILITIES_KEY}\"] must be an object"
            )))
        }
        None => return Err(invalid(format!("_meta[\"{CAPABILITIES_KEY}\"] is missing"))),
    }
    let log_level = match meta.get(LOG_LEVEL_KEY) {
        None => None,
        Some(level) => Some(
            serde_json::from_value(level.clone())
                .map_err(|e| invalid(format!("_meta[\"{LOG_LEVEL_KEY}\"]: {e}")))?,
        ),
    };
    Ok(Envelope { version, log_level })
}

/// A header value as sent: literal, or the text inside `=?base64?…?=`; `None` when the
/// base64 form does not decode to UTF-8.
fn decode_header_value(value: &str) -> Option<String> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        None => Some(value.to_owned()),
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok()),
    }
}

/// The `server/discover` result.
pub fn discover_result(request: &Request, instructions: &str) -> Reply {
    let mut result = DiscoverResult::new(STATELESS_VERSIONS.to_vec(), server::capabilities());
    result.instructions = Some(instructions.to_owned());
    result.set_server_info(server::implementation());
    match serde_json::to_value(result) {
        Ok(result) => Reply::Result {
            id: request.id.clone(),
            result,
        },
        Err(e) => Reply::error(
            Some(request.id.clone()),
            ErrorCode::INTERNAL_ERROR,
            format!("Internal error: could not encode the result: {e}"),
        ),
    }
}

/// A handler's reply as this protocol shapes results: `resultType`, the server named in
/// `_meta`, and caching hints on lists and resource reads.
pub fn complete(reply: Reply, method_name: &str) -> Reply {
    let Reply::Result { id, mut result } = reply else {
        return reply;
    };
    if let Value::Object(fields) = &mut result {
        // An `input_required` result says so itself.
        fields
            .entry("resultType")
            .or_insert_with(|| json!("complete"));
        let meta = fields
            .entry("_meta")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(meta) = meta {
            meta.insert(SERVER_INFO_KEY.into(), json!(server::implementation()));
        }
        let ttl_ms = match method_name {
            method::TOOLS_LIST | method::RESOURCES_LIST | method::RESOURCES_TEMPLATES_LIST => {
                Some(TOOLS_TTL_MS)
            }
            // A resource may change with every request, so it is read fresh.
            method::RESOURCES_READ => Some(0),
            _ => None,
        };
        if let Some(ttl_ms) = ttl_ms {
            fields.insert("ttlMs".into(), json!(ttl_ms));
            fields.insert("cacheScope".into(), json!(CacheScope::Private));
        }
    }
    Reply::Result { id, result }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    fn request(method_name: &str, params: Value) -> Request {
        Request {
            id: RequestId::Number(5),
            method: method_name.into(),
            params: Some(params),
        }
    }

    fn meta() -> Value {
        json!({VERSION_KEY: "2026-07-28", CAPABILITIES_KEY: {}})
    }

    fn http(headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: "POST".into(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).into(), (*v).into()))
                .collect(),
            ..Default::default()
        }
    }

    fn refusal(result: Result<Envelope, Refused>) -> (u16, i32) {
        let refused = result.expect_err("refused");
        match refused.reply {
            Reply::Error { id, error } => {
                assert_eq!(id, Some(RequestId::Number(5)), "errors echo the id");
                (refused.status, error.code.0)
            }
            Reply::Result { .. } => panic!("not an error"),
        }
    }

    const DISCOVER_HEADERS: &[(&str, &str)] = &[
        ("mcp-protocol-version", "2026-07-28"),
        ("mcp-method", "server/discover"),
    ];

    #[test]
    fn a_missing_envelope_is_invalid_params_with_400() {
        let missing = request("server/discover", json!({}));
        assert_eq!(
            refusal(check(&http(DISCOVER_HEADERS), &missing)),
            (400, -32602)
        );
        let no_capabilities = request(
            "server/discover",
            json!({"_meta": {VERSION_KEY: "2026-07-28"}}),
        );
        assert_eq!(
            refusal(check(&http(DISCOVER_HEADERS), &no_capabilities)),
            (400, -32602)
        );
    }

    #[test]
    fn headers_that_disagree_with_the_body_are_a_header_mismatch() {
        let discover = request("server/discover", json!({"_meta": meta()}));
        let wrong_method = http(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/list"),
        ]);
        assert_eq!(refusal(check(&wrong_method, &discover)), (400, -32020));
        let mut other_version = meta();
        other_version[VERSION_KEY] = json!("v999.0.0");
        let claims_other = request("server/discover", json!({"_meta": other_version}));
        // The header says 2026-07-28, the body another: a mismatch, not an unknown version.
        assert_eq!(
            refusal(check(&http(DISCOVER_HEADERS), &claims_other)),
            (400, -32020)
        );
    }

    #[test]
    fn an_unknown_version_lists_the_supported_ones() {
        let mut unknown = meta();
        unknown[VERSION_KEY] = json!("v999.0.0");
        let discover = request("server/discover", json!({"_meta": unknown}));
        let headers = http(&[
            ("mcp-protocol-version", "v999.0.0"),
            ("mcp-method", "server/discover"),
        ]);
        let refused = check(&headers, &discover).unwrap_err();
        assert_eq!(refused.status, 400);
        let Reply::Error { error, .. } = refused.reply else {
            panic!()
        };
        assert_eq!(error.code.0, -32022);
        assert_eq!(
            error.data,
            Some(json!({"supported": ["2026-07-28"], "requested": "v999.0.0"}))
        );
    }

    #[test]
    fn the_tool_name_header_may_be_plain_or_base64() {
        let call = request("tools/call", json!({"name": "execute", "_meta": meta()}));
        let with_name = |name: &str| {
            http(&[
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", name),
            ])
        };
        assert!(check(&with_name("execute"), &call).is_ok());
        assert!(check(&with_name("  execute "), &call).is_ok());
        assert!(check(&with_name("=?base64?ZXhlY3V0ZQ==?="), &call).is_ok());
        assert_eq!(
            refusal(check(&with_name("=?base64?ZXhlY3V0ZQ?="), &call)),
            (400, -32020)
        );
        assert_eq!(refusal(check(&with_name("search"), &call)), (400, -32020));
    }

    #[test]
    fn handshake_and_unserved_methods_do_not_exist_without_a_session() {
        for name in ["initialize", "ping", "logging/setLevel", "prompts/list"] {
            let headers = http(&[("mcp-protocol-version", "2026-07-28"), ("mcp-method", name)]);
            let request = request(name, json!({"_meta": meta()}));
            assert_eq!(refusal(check(&headers, &request)), (404, -32601), "{name}");
        }
    }

    #[test]
    fn a_log_level_in_the_envelope_is_read_and_a_bad_one_refused() {
        let mut with_level = meta();
        with_level[LOG_LEVEL_KEY] = json!("warning");
        let list = request("tools/list", json!({"_meta": with_level}));
        let headers = http(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/list"),
        ]);
        assert_eq!(
            check(&headers, &list).unwrap().log_level,
            Some(LogLevel::Warning)
        );
        let mut loud = meta();
        loud[LOG_LEVEL_KEY] = json!("loud");
        assert_eq!(
            refusal(check(
                &headers,
                &request("tools/list", json!({"_meta": loud}))
            )),
            (400, -32602)
        );
    }

    #[test]
    fn results_say_complete_and_name_the_server_and_tool_lists_can_be_cached() {
        let reply = Reply::Result {
            id: RequestId::Number(1),
            result: json!({"tools": []}),
        };
        let Reply::Result { result, .. } = complete(reply, "tools/list") else {
            panic!()
        };
        assert_eq!(result["resultType"], "complete");
        assert_eq!(
            result["_meta"][SERVER_INFO_KEY]["name"],
            "mcp-isolate-runner"
        );
        assert_eq!(result["ttlMs"], TOOLS_TTL_MS);
        assert_eq!(result["cacheScope"], "private");
    }

    #[test]
    fn resource_lists_can_be_cached_but_a_metrics_read_is_always_fresh() {
        let hints = |method_name: &str| {
            let reply = Reply::Result {
                id: RequestId::Number(1),
                result: json!({}),
            };
            let Reply::Result { result, .. } = complete(reply, method_name) else {
                panic!()
            };
            (result["ttlMs"].clone(), result["cacheScope"].clone())
        };
        assert_eq!(
            hints("resources/list"),
            (json!(TOOLS_TTL_MS), json!("private"))
        );
        assert_eq!(
            hints("resources/templates/list"),
            (json!(TOOLS_TTL_MS), json!("private"))
        );
        assert_eq!(hints("resources/read"), (json!(0), json!("private")));
        assert_eq!(hints("tools/call"), (Value::Null, Value::Null));
    }

    #[test]
    fn discover_lists_versions_capabilities_and_the_server() {
        let Reply::Result { result, .. } =
            discover_result(&request("server/discover", json!({})), "Echoes.")
        else {
            panic!()
        };
        assert_eq!(result["supportedVersions"], json!(["2026-07-28"]));
        assert!(result["capabilities"]["tools"].is_object());
        assert_eq!(result["resultType"], "complete");
        assert_eq!(
            result["_meta"][SERVER_INFO_KEY]["name"],
            "mcp-isolate-runner"
        );
    }
}
