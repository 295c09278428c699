//! Requests to upstreams and the reading of their answers, as plain values.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;
use crate::redact::Secrets;
use crate::upstream::error::DETAIL_CHARS;

#[test]
fn reads_a_json_response() {
    let body = r#"{"jsonrpc":"2.0","id":3,"result":{"tools":[]}}"#;
    assert_eq!(read_json_response(body, 3).unwrap(), json!({"tools": []}));
}

fn streamed(body: &str, id: u64) -> (Result<Value, UpstreamError>, Vec<String>) {
    let mut reader = StreamedResponse::new(id, 1 << 20);
    match reader.feed(body.as_bytes()) {
        Some(outcome) => (outcome, reader.notifications().to_vec()),
        None => {
            let seen = reader.notifications().to_vec();
            (reader.finish(), seen)
        }
    }
}

#[test]
fn reads_an_sse_response_after_a_priming_event_and_notifications() {
    let body = "id: a\ndata:\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{}}\n\n\
                data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n\
                event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"ok\":true}}\n\n";
    let (outcome, notifications) = streamed(body, 9);
    assert_eq!(outcome.unwrap(), json!({"ok": true}));
    assert_eq!(
        notifications,
        ["notifications/progress", notification::TOOLS_LIST_CHANGED]
    );
}

#[test]
fn an_sse_response_is_found_before_the_stream_ends() {
    let mut reader = StreamedResponse::new(1, 1 << 20);
    assert_eq!(reader.feed(b"data: {\"jsonrpc\":\"2.0\",\"id\":1,"), None);
    assert_eq!(
        reader.feed(b"\"result\":{}}\n\n"),
        Some(Ok(json!({}))),
        "the response is returned as soon as its event is complete"
    );
}

#[test]
fn a_stream_that_ends_without_the_response_says_what_it_saw() {
    let (outcome, _) = streamed("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\n\n", 4);
    let Err(UpstreamError::Malformed { detail }) = outcome else {
        panic!("expected a malformed-response error, got {outcome:?}")
    };
    assert!(
        detail.contains("ended without the response to request 4")
            && detail.contains(r#"{"jsonrpc":"2.0","id":"#),
        "{detail}"
    );
}

#[test]
fn each_failure_has_its_own_error() {
    assert!(matches!(
        http_failure(500, "boom"),
        UpstreamError::HttpStatus { status: 500, .. }
    ));
    assert!(matches!(
        read_json_response("<html>", 1),
        Err(UpstreamError::Malformed { .. })
    ));
    assert!(matches!(
        read_json_response(r#"{"jsonrpc":"2.0","id":2,"result":{}}"#, 1),
        Err(UpstreamError::Malformed { .. })
    ));
    let rpc = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad\nthing"}}"#;
    assert_eq!(
        read_json_response(rpc, 1),
        Err(UpstreamError::Rpc {
            code: -32602,
            message: "bad thing".into()
        })
    );
}

#[test]
fn classifies_requests_notifications_and_responses() {
    assert_eq!(
        classify(json!({"jsonrpc": "2.0", "id": 7, "method": "ping"})).unwrap(),
        Incoming::Request {
            id: json!(7),
            method: "ping".into(),
            params: Value::Null,
        }
    );
    assert_eq!(
        classify(json!({"jsonrpc": "2.0", "method": notification::TOOLS_LIST_CHANGED})).unwrap(),
        Incoming::Notification {
            method: notification::TOOLS_LIST_CHANGED.into()
        }
    );
    assert!(classify(json!({"jsonrpc": "2.0"})).is_err());
}

#[test]
fn negotiates_down_to_2024_11_05_and_refuses_unknown_versions() {
    for version in UPSTREAM_VERSIONS.iter().map(ProtocolVersion::as_str) {
        assert_eq!(
            negotiated_version(&json!({"protocolVersion": version})).unwrap(),
            version
        );
    }
    let err = negotiated_version(&json!({"protocolVersion": "2023-01-01"})).unwrap_err();
    assert!(
        err.to_string().contains("speaks protocol 2023-01-01"),
        "{err}"
    );
    assert!(!sends_version_header("2025-03-26"));
    assert!(sends_version_header("2025-06-18"));
}

#[test]
fn a_stream_past_its_size_limit_fails_without_waiting_for_the_response() {
    let mut reader = StreamedResponse::new(1, 64);
    assert_eq!(reader.feed(b"data: {\"jsonrpc\":\"2.0\",\"id\":1,"), None);
    assert_eq!(
        reader.feed(&[b' '; 40]),
        Some(Err(UpstreamError::TooLarge {
            bytes: 70,
            declared: false,
            limit: 64
        }))
    );
}

#[test]
fn a_deeply_nested_result_is_read_with_the_deep_part_marked() {
    let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
    let body = format!(r#"{{"jsonrpc":"2.0","id":2,"result":{{"a":1,"b":{deep}}}}}"#);
    let result = read_json_response(&body, 2).unwrap();
    assert_eq!(result["a"], 1);
    assert!(result.to_string().contains("cut by the runner"));
}

#[test]
fn an_http_error_quotes_the_upstream_and_reads_a_json_rpc_error_body() {
    assert_eq!(
        http_failure(500, "boom \"quoted\"").to_string(),
        r#"HTTP 500: "boom \"quoted\"""#
    );
    let body = r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"order 7 is locked"}}"#;
    assert_eq!(
        http_failure(400, body).to_string(),
        r#"HTTP 400: JSON-RPC error -32602 "order 7 is locked""#
    );
    let disguised = "denied\u{202e}txt.exe */ ok";
    assert_eq!(
        http_failure(403, disguised).to_string(),
        r#"HTTP 403: "denied\u202etxt.exe *\/ ok""#,
        "no reordering character, and no end of a comment, reaches the reader"
    );
}

#[test]
fn redaction_reaches_the_text_an_upstream_supplied() {
    let secrets = Secrets::new(["s3cr3t".to_owned()], []);
    assert_eq!(
        http_failure(500, "token s3cr3t refused").redacted(&secrets),
        UpstreamError::HttpStatus {
            status: 500,
            detail: "\"token [redacted] refused\"".into()
        }
    );
    let rpc = UpstreamError::Rpc {
        code: -32603,
        message: "bad s3cr3t".into(),
    };
    assert_eq!(
        rpc.redacted(&secrets).to_string(),
        "JSON-RPC error -32603: bad [redacted]"
    );
}

#[test]
fn a_secret_at_the_cut_of_an_error_body_leaves_no_part_behind() {
    let secret = "tok/Echo+5f3a9c1e";
    let secrets = Secrets::new([secret.to_owned()], []);
    // The secret starts 8 characters before the excerpt ends.
    let body = format!("{}{secret} and more", "x".repeat(DETAIL_CHARS - 8));
    let UpstreamError::HttpStatus { detail, .. } = http_failure(503, &body).redacted(&secrets)
    else {
        panic!("expected an HTTP error")
    };
    assert!(detail.ends_with("x[redacted]…\""), "{detail}");
    assert!(!detail.contains("tok/Ec"), "{detail}");
}

#[test]
fn long_error_bodies_are_cut_on_a_character_boundary_to_one_line() {
    let body = "é\n".repeat(500);
    let UpstreamError::HttpStatus { detail, .. } = http_failure(502, &body) else {
        panic!("expected an HTTP error")
    };
    assert_eq!(
        detail.chars().count(),
        DETAIL_CHARS + 3,
        "the excerpt, `…` and quotes"
    );
    assert!(!detail.contains('\n'));
}
