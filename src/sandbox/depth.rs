//! Values nested too deep, cut with a marker instead of lost.
//!
//! serde_json refuses JSON nested deeper than 128 arrays and objects (its recursion limit keeps
//! the parser off the end of the stack), and a program or an upstream can produce such a value
//! in one line. Read naively, the whole value then falls back to its JSON text. Instead, JSON
//! text from the sandbox or a tool is read through [`parse`], which first replaces every array
//! or object that starts deeper than [`MAX_VALUE_DEPTH`] with the string [`TOO_DEEP`], in one
//! pass that keeps no stack, so the rest of the value arrives intact.

use std::borrow::Cow;

use serde_json::Value;

/// The deepest nesting of arrays and objects kept; below the parser's limit of 128 with room
/// for the envelope a value travels in (the report, `structuredContent`, JSON-RPC).
pub const MAX_VALUE_DEPTH: usize = 64;

/// What an array or object nested deeper than [`MAX_VALUE_DEPTH`] is replaced by.
pub const TOO_DEEP: &str = "[cut: nested deeper than 64 levels]";

/// `json` parsed, with whatever is nested deeper than [`MAX_VALUE_DEPTH`] cut to [`TOO_DEEP`].
pub fn parse(json: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(&cut(json, MAX_VALUE_DEPTH))
}

/// `json` with every array or object that would be the `max + 1`th level of nesting replaced
/// by the [`TOO_DEEP`] string. Text that is not JSON comes back unchanged enough for the parser
/// to refuse it as before.
fn cut(json: &str, max: usize) -> Cow<'_, str> {
    let marker = format!("\"{TOO_DEEP}\"");
    let mut out: Option<String> = None;
    let mut copied_to = 0;
    let mut depth = 0usize;
    let mut skipping_from: Option<usize> = None;
    let mut in_string = false;
    let mut escaped = false;
    for (at, byte) in json.bytes().enumerate() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max && skipping_from.is_none() {
                    skipping_from = Some(at);
                }
            }
            b']' | b'}' => {
                if depth == max + 1 {
                    if let Some(start) = skipping_from.take() {
                        let out = out.get_or_insert_with(String::new);
                        out.push_str(&json[copied_to..start]);
                        out.push_str(&marker);
                        copied_to = at + 1;
                    }
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    match out {
        None => Cow::Borrowed(json),
        Some(mut out) => {
            out.push_str(&json[copied_to..]);
            Cow::Owned(out)
        }
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
        assert!(matches!(cut(&text, MAX_VALUE_DEPTH), Cow::Borrowed(_)));
        assert_eq!(depth_of(&parse(&text).unwrap()), MAX_VALUE_DEPTH);
    }

    #[test]
    fn only_the_deep_branch_is_cut_and_brackets_in_strings_do_not_count() {
        let text = r#"{"keep": "[[[{{{\"", "deep": [[[["x"]]]], "after": {"b": [2]}}"#;
        assert_eq!(
            serde_json::from_str::<Value>(&cut(text, 2)).unwrap(),
            json!({"keep": "[[[{{{\"", "deep": [TOO_DEEP], "after": {"b": TOO_DEEP}})
        );
    }

    #[test]
    fn text_that_is_not_json_is_still_refused() {
        assert!(parse("not json").is_err());
        assert!(parse(&"[".repeat(300)).is_err());
    }
}
