//! Tool parameters an upstream asks to see as HTTP headers (SEP-2243): a property of a tool's
//! input schema marked `"x-mcp-header": "Name"` is sent again, with each call, as the header
//! `Mcp-Param-Name`, so that gateways and load balancers in front of the upstream can route on
//! it without reading the body. A tool whose markings are invalid is left out of the tool list,
//! as the specification requires, and the upstream's other tools are kept.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rmcp::model::Tool;
use serde_json::Value;

/// The annotation's key in a property's schema.
const ANNOTATION: &str = "x-mcp-header";
/// What a mirrored parameter's header name starts with.
const HEADER_PREFIX: &str = "Mcp-Param-";

/// A tool's mirrored parameters: each property and the header name it is sent under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamHeaders(Vec<(String, String)>);

impl ParamHeaders {
    /// The mirrored parameters of `tool`, or why its markings are invalid: a header name that
    /// is empty, not an HTTP token, or used twice (ignoring case), or a marking on a property
    /// that is not a string, an integer or a boolean.
    pub fn of(tool: &Tool) -> Result<Self, String> {
        let Some(properties) = tool
            .input_schema
            .get("properties")
            .and_then(Value::as_object)
        else {
            return Ok(Self::default());
        };
        let mut mirrored: Vec<(String, String)> = Vec::new();
        for (property, schema) in properties {
            let Some(marking) = schema.get(ANNOTATION) else {
                continue;
            };
            let name = marking
                .as_str()
                .filter(|name| !name.is_empty() && name.bytes().all(is_token_byte))
                .ok_or_else(|| format!("`{property}` has an invalid {ANNOTATION}: {marking}"))?;
            let primitive = matches!(
                schema.get("type").and_then(Value::as_str),
                Some("string" | "integer" | "boolean")
            );
            if !primitive {
                return Err(format!(
                    "`{property}` has an {ANNOTATION} but is not a string, integer or boolean"
                ));
            }
            if mirrored.iter().any(|(_, n)| n.eq_ignore_ascii_case(name)) {
                return Err(format!("the {ANNOTATION} `{name}` is used twice"));
            }
            mirrored.push((property.clone(), name.to_owned()));
        }
        Ok(Self(mirrored))
    }

    /// The headers a call with `arguments` carries: each mirrored argument that is present and
    /// not null, a string sent as base64 (`=?base64?…?=`) when it is not plain visible ASCII or
    /// has spaces at either end.
    pub fn headers(&self, arguments: &Value) -> Vec<(String, String)> {
        let value = |property: &str| match arguments.get(property)? {
            Value::String(text) if plain(text) => Some(text.clone()),
            Value::String(text) => Some(format!("=?base64?{}?=", STANDARD.encode(text))),
            Value::Bool(flag) => Some(flag.to_string()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        };
        let mirrored = self.0.iter();
        mirrored
            .filter_map(|(property, name)| {
                Some((format!("{HEADER_PREFIX}{name}"), value(property)?))
            })
            .collect()
    }
}

/// Whether `text` can be a header value as it is.
fn plain(text: &str) -> bool {
    text.bytes().all(|b| (0x20..0x7f).contains(&b)) && text.trim() == text
}

/// Whether `byte` may be in an HTTP token (RFC 9110 §5.6.2), as a header name must be.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::json;

    use super::*;

    fn tool(properties: Value) -> Tool {
        serde_json::from_value(json!({"name": "t", "inputSchema": {"type": "object",
            "properties": properties}}))
        .unwrap()
    }

    #[test]
    fn marked_arguments_are_mirrored_encoded_where_they_must_be_and_null_ones_left_out() {
        let tool = tool(json!({
            "region": {"type": "string", "x-mcp-header": "Region"},
            "priority": {"type": "integer", "x-mcp-header": "Priority"},
            "debug": {"type": "boolean", "x-mcp-header": "Debug"},
            "city": {"type": "string", "x-mcp-header": "City"},
            "padded": {"type": "string", "x-mcp-header": "Padded"},
            "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
            "query": {"type": "string"},
        }));
        let mirrored = ParamHeaders::of(&tool).unwrap();
        let arguments = json!({"region": "us west1", "priority": 42, "debug": true,
            "city": "Zürich", "padded": " x", "verbose": null, "query": "q"});
        let mut headers = mirrored.headers(&arguments);
        headers.sort();
        assert_eq!(
            headers,
            [
                (
                    "Mcp-Param-City".to_owned(),
                    "=?base64?WsO8cmljaA==?=".to_owned()
                ),
                ("Mcp-Param-Debug".to_owned(), "true".to_owned()),
                ("Mcp-Param-Padded".to_owned(), "=?base64?IHg=?=".to_owned()),
                ("Mcp-Param-Priority".to_owned(), "42".to_owned()),
                ("Mcp-Param-Region".to_owned(), "us west1".to_owned()),
            ]
        );
    }

    #[test]
    fn invalid_markings_are_refused() {
        let refused = |properties: Value| ParamHeaders::of(&tool(properties)).is_err();
        assert!(refused(
            json!({"v": {"type": "string", "x-mcp-header": ""}})
        ));
        assert!(refused(
            json!({"v": {"type": "string", "x-mcp-header": "My Region"}})
        ));
        assert!(refused(
            json!({"v": {"type": "string", "x-mcp-header": "A:b"}})
        ));
        assert!(refused(
            json!({"v": {"type": "string", "x-mcp-header": "Région"}})
        ));
        assert!(refused(json!({"v": {"type": "string", "x-mcp-header": 7}})));
        assert!(refused(
            json!({"v": {"type": "number", "x-mcp-header": "Score"}})
        ));
        assert!(refused(
            json!({"v": {"type": "array", "x-mcp-header": "Items"}})
        ));
        assert!(refused(
            json!({"a": {"type": "string", "x-mcp-header": "MyField"},
                               "b": {"type": "string", "x-mcp-header": "myfield"}})
        ));
        assert!(!refused(
            json!({"a": {"type": "string", "x-mcp-header": "Region"}})
        ));
    }
}
