//! Values nested too deep, cut with a marker instead of lost.
//!
//! serde_json refuses JSON nested deeper than 128 arrays and objects (its recursion limit keeps
//! the parser off the end of the stack), and a program or an upstream can produce such a value
//! in one line. Read naively, the whole value then falls back to its JSON text. Instead, JSON
//! text from the sandbox or a tool is read through [`parse`], which first replaces every array
//! or object that starts deeper than [`MAX_VALUE_DEPTH`] with the string [`TOO_DEEP`], with the
//! same one-pass scanner that guards upstream messages ([`cut_deep`]), so the rest of the value
//! arrives intact.

use serde_json::Value;

use crate::upstream::bounds::cut_deep;

/// The deepest nesting of arrays and objects kept; below the parser's limit of 128 with room
/// for the envelope a value travels in (the report, `structuredContent`, JSON-RPC).
pub const MAX_VALUE_DEPTH: usize = 64;

/// What an array or object nested deeper than [`MAX_VALUE_DEPTH`] is replaced by.
pub const TOO_DEEP: &str = "[cut by the runner: nested deeper than 64 levels]";

/// `json` parsed, with whatever is nested deeper than [`MAX_VALUE_DEPTH`] cut to [`TOO_DEEP`].
pub fn parse(json: &str) -> Result<Value, serde_json::Error> {
    // Only an array or an object nests; any other text (a scalar, or no JSON at all, which
    // fails at its first byte) is read as it is, without a pass over a text of megabytes.
    match json.trim_start().as_bytes().first() {
        Some(b'[' | b'{') => serde_json::from_str(&cut_deep(json, MAX_VALUE_DEPTH)),
        _ => serde_json::from_str(json),
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::json;

    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
    }

    /// How many arrays deep `value` goes.
    fn depth_of(value: &Value) -> usize {
        let mut depth = 0;
        let mut current = value;
        while let Value::Array(items) = current {
            depth += 1;
            current = &items[0];
        }
        depth
    }

    #[test]
    fn a_value_past_the_parsers_limit_is_cut_with_a_marker_not_lost() {
        let value = parse(&nested(200)).unwrap();
        assert_eq!(depth_of(&value), MAX_VALUE_DEPTH);
        let mut innermost = &value;
        while let Value::Array(items) = innermost {
            innermost = &items[0];
        }
        assert_eq!(innermost, &json!(TOO_DEEP));
    }

    #[test]
    fn values_within_the_limit_are_unchanged() {
        let text = nested(MAX_VALUE_DEPTH);
        assert_eq!(depth_of(&parse(&text).unwrap()), MAX_VALUE_DEPTH);
    }

    #[test]
    fn text_that_is_not_json_is_still_refused() {
        assert!(parse("not json").is_err());
        assert!(parse(&"[".repeat(300)).is_err());
    }

    #[test]
    fn scalars_parse_as_they_are_and_nesting_after_space_is_still_cut() {
        assert_eq!(parse(" \"text\"").unwrap(), json!("text"));
        assert_eq!(parse("-1.5").unwrap(), json!(-1.5));
        let spaced = format!("\n {}", nested(MAX_VALUE_DEPTH + 10));
        assert_eq!(depth_of(&parse(&spaced).unwrap()), MAX_VALUE_DEPTH);
    }
}
