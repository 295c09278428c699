//! Property tests of everything that reads untrusted input on the host: whatever bytes or
//! JSON arrive, the parsers answer with a value or a specification error, never a panic.

use std::collections::BTreeMap;
use std::sync::Arc;

use mcp_isolate_runner::codemode::catalog::{Catalog, UpstreamTools};
use mcp_isolate_runner::codemode::search::SearchIndex;
use mcp_isolate_runner::codemode::source::prepare;
use mcp_isolate_runner::codemode::tools::search_result;
use mcp_isolate_runner::config::RunnerConfig;
use mcp_isolate_runner::mcp::jsonrpc::{self, Message, Payload};
use mcp_isolate_runner::mcp::stateless;
use mcp_isolate_runner::protocol::http::HttpRequest;
use mcp_isolate_runner::sandbox::limits::ExecutionLimits;
use mcp_isolate_runner::upstream::arguments::ArgumentChecker;
use mcp_isolate_runner::upstream::tool_caps::ToolBudget;
use proptest::prelude::*;
use rmcp::model::Tool;
use serde_json::{json, Value};

/// Arbitrary JSON, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-z_/.]{0,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON-RPC-shaped messages with arbitrary parts, which reach deeper than random JSON.
fn rpc_like() -> impl Strategy<Value = Value> {
    let methods = prop_oneof![
        Just("initialize".to_owned()),
        Just("tools/call".to_owned()),
        Just("tools/list".to_owned()),
        Just("server/discover".to_owned()),
        Just("notifications/cancelled".to_owned()),
        ".{0,20}",
    ];
    (any_json(), methods, any_json(), any::<bool>()).prop_map(|(id, method, params, versioned)| {
        let mut params = params;
        if versioned {
            params = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"},
                            "name": "execute", "arguments": params});
        }
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
    })
}

/// Schema-shaped JSON: the keywords a checker and the TypeScript renderer act on, with `$ref`s
/// to the root, to its definitions and to its properties, so cycles and fan-outs occur.
fn schema_like() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        prop_oneof![
            Just("string"),
            Just("integer"),
            Just("object"),
            Just("array"),
            Just("null")
        ]
        .prop_map(|t| json!({"type": t})),
        prop_oneof![
            Just("#"),
            Just("#/$defs/a"),
            Just("#/$defs/b"),
            Just("#/properties/x"),
            Just("#/$defs/missing"),
            Just("#anchor")
        ]
        .prop_map(|r| json!({"$ref": r})),
        any_json().prop_map(|v| json!({"enum": [v]})),
        Just(json!(true)),
    ];
    leaf.prop_recursive(5, 64, 4, |inner| {
        let keyword = prop_oneof![
            Just("anyOf"),
            Just("oneOf"),
            Just("allOf"),
            Just("not"),
            Just("items"),
            Just("prefixItems"),
            Just("additionalProperties"),
            Just("patternProperties"),
            Just("properties"),
            Just("$defs"),
            Just("if"),
            Just("then"),
            Just("propertyNames"),
        ];
        (keyword, prop::collection::vec(inner, 1..4)).prop_map(|(keyword, subs)| {
            let named = || {
                let pairs = ["a", "b", "x", "y"].iter().zip(subs.iter());
                Value::Object(pairs.map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
            };
            let value = match keyword {
                "anyOf" | "oneOf" | "allOf" | "prefixItems" => Value::Array(subs.clone()),
                "properties" | "$defs" | "patternProperties" => named(),
                _ => subs[0].clone(),
            };
            json!({ keyword: value })
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tool_lists_and_argument_checks_answer_any_schema(
        schema in schema_like(),
        arguments in any_json(),
        query in ".{0,12}",
    ) {
        let schema = match schema {
            Value::Object(object) => object,
            other => json!({"properties": {"x": other}}).as_object().unwrap().clone(),
        };
        let mut budget = ToolBudget::default();
        budget.add(vec![Tool::new("fuzzed", "A fuzzed tool.", Arc::new(schema))]);
        let (mut tools, left_out) = budget.finish();
        prop_assert_eq!((tools.len(), left_out), (1, 0));
        let tool = tools.remove(0);
        let checker = ArgumentChecker::new(&tool.input_schema);
        let _ = checker.check(&json!({"x": arguments}));
        let _ = checker.check(&arguments);
        let catalog = Catalog::new(vec![UpstreamTools::new("fuzz", Ok(vec![tool]))]);
        let index = SearchIndex::default();
        let first = search_result(&catalog, &query, 4_000, &index);
        prop_assert_eq!(first, search_result(&catalog, &query, 4_000, &index));
        let _ = search_result(&catalog, "fuzz.fuzzed", 4_000, &index);
    }

    #[test]
    fn jsonrpc_parse_answers_any_bytes(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = jsonrpc::parse(&body);
    }

    #[test]
    fn jsonrpc_parse_answers_any_json(value in prop_oneof![any_json(), rpc_like()]) {
        let _ = jsonrpc::parse(value.to_string().as_bytes());
    }

    #[test]
    fn stateless_check_answers_any_request_and_headers(
        value in rpc_like(),
        method_header in proptest::option::of(".{0,20}"),
        name_header in proptest::option::of(".{0,20}"),
        version_header in proptest::option::of(prop_oneof![Just("2026-07-28".to_owned()), ".{0,12}"]),
    ) {
        let mut headers = Vec::new();
        for (name, value) in [("Mcp-Method", method_header), ("Mcp-Name", name_header),
                              ("MCP-Protocol-Version", version_header)] {
            if let Some(value) = value {
                headers.push((name.to_owned(), value));
            }
        }
        let http = HttpRequest { method: "POST".into(), headers, ..Default::default() };
        if let Ok(Payload::Single(Message::Request(request))) = jsonrpc::parse(value.to_string().as_bytes()) {
            let _ = stateless::check(&http, &request);
        }
    }

    #[test]
    fn configuration_parsers_answer_any_json(value in any_json()) {
        let text = value.to_string();
        let _ = RunnerConfig::from_json(&text);
        let _ = ExecutionLimits::from_json(&text);
    }

    #[test]
    fn prepare_answers_any_code(code in ".{0,200}") {
        let _ = prepare(&code, &BTreeMap::new(), &ExecutionLimits::default());
    }

    #[test]
    fn prepare_answers_code_made_of_javascript_pieces(pieces in prop::collection::vec(
        prop_oneof![
            Just("while (x) "), Just("for (;;) "), Just("{"), Just("}"), Just("("), Just(")"),
            Just("=>"), Just("x"), Just(";"), Just("async "), Just("function f() "), Just("return "),
            Just("`${"), Just("`"), Just("/re/"), Just("class A { m() {} }"), Just("\n"), Just(","),
            Just("await "), Just("import("), Just("\"s\""), Just(": number"), Just("<T>"),
        ], 0..40)) {
        let code: String = pieces.concat();
        let _ = prepare(&code, &BTreeMap::new(), &ExecutionLimits::default());
    }
}
