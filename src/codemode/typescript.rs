//! JSON Schema → TypeScript type expressions.
//!
//! Total and bounded: every schema renders (anything unknown becomes `unknown`), local `$ref`s
//! into `$defs`/`definitions` are followed with a guard against cycles, and nesting is capped
//! so a hostile schema cannot blow the stack or the output.

use serde_json::{Map, Value};

use super::names::is_reserved_word;

/// How deep nested schemas render before collapsing to `unknown`.
const MAX_SCHEMA_DEPTH: usize = 12;

/// Renders `schema` as a TypeScript type; `$ref`s resolve against `schema` itself.
pub fn type_of(schema: &Value) -> String {
    Renderer {
        root: schema,
        refs: Vec::new(),
    }
    .render(schema, 0)
}

/// A JSDoc comment for `text` at `indent`, or nothing when there is no text.
pub fn jsdoc(lines: &[String], indent: &str) -> String {
    let lines: Vec<String> = lines
        .iter()
        .flat_map(|l| {
            l.lines()
                .map(str::trim_end)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|l| l.replace("*/", "*\\/"))
        .collect();
    match lines.as_slice() {
        [] => String::new(),
        [one] => format!("{indent}/** {one} */\n"),
        many => {
            let body: String = many.iter().map(|l| format!("{indent} * {l}\n")).collect();
            format!("{indent}/**\n{body}{indent} */\n")
        }
    }
}

/// A property key: bare when it is an identifier, else a quoted string literal.
pub fn property_key(key: &str) -> String {
    let mut chars = key.chars();
    let is_ident = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if is_ident && !is_reserved_word(key) {
        key.to_owned()
    } else {
        string_literal(key)
    }
}

/// `text` as a TypeScript string literal.
pub fn string_literal(text: &str) -> String {
    Value::String(text.to_owned()).to_string()
}

struct Renderer<'a> {
    root: &'a Value,
    /// `$ref`s being expanded, innermost last: a repeat means a cycle.
    refs: Vec<String>,
}

impl Renderer<'_> {
    fn render(&mut self, schema: &Value, depth: usize) -> String {
        if depth > MAX_SCHEMA_DEPTH {
            return "unknown".into();
        }
        let Some(object) = schema.as_object() else {
            // `true` accepts anything; `false` accepts nothing.
            return if schema == &Value::Bool(false) {
                "never"
            } else {
                "unknown"
            }
            .into();
        };
        let rendered = self.render_object(object, depth);
        if object.get("nullable") == Some(&Value::Bool(true)) && rendered != "unknown" {
            format!("{} | null", parenthesize(&rendered))
        } else {
            rendered
        }
    }

    fn render_object(&mut self, schema: &Map<String, Value>, depth: usize) -> String {
        if let Some(Value::String(reference)) = schema.get("$ref") {
            return self.render_ref(reference, depth);
        }
        if let Some(value) = schema.get("const") {
            return literal(value);
        }
        if let Some(Value::Array(values)) = schema.get("enum") {
            return union(values.iter().map(literal).collect());
        }
        for (keyword, joiner) in [("anyOf", " | "), ("oneOf", " | "), ("allOf", " & ")] {
            if let Some(Value::Array(options)) = schema.get(keyword) {
                let parts: Vec<String> = options
                    .iter()
                    .map(|option| parenthesize(&self.render(option, depth + 1)))
                    .collect();
                return join_unique(parts, joiner);
            }
        }
        match schema.get("type") {
            Some(Value::String(kind)) => self.render_type(kind, schema, depth),
            Some(Value::Array(kinds)) => union(
                kinds
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|kind| self.render_type(kind, schema, depth))
                    .collect(),
            ),
            _ if schema.contains_key("properties") => self.render_type("object", schema, depth),
            _ if schema.contains_key("items") => self.render_type("array", schema, depth),
            _ => "unknown".into(),
        }
    }

    fn render_type(&mut self, kind: &str, schema: &Map<String, Value>, depth: usize) -> String {
        match kind {
            "string" => "string".into(),
            "number" | "integer" => "number".into(),
            "boolean" => "boolean".into(),
            "null" => "null".into(),
            "array" => self.render_array(schema, depth),
            "object" => self.render_properties(schema, depth),
            _ => "unknown".into(),
        }
    }

    fn render_array(&mut self, schema: &Map<String, Value>, depth: usize) -> String {
        if let Some(Value::Array(items)) = schema.get("prefixItems").or(schema.get("items")) {
            let parts: Vec<String> = items.iter().map(|i| self.render(i, depth + 1)).collect();
            return format!("[{}]", parts.join(", "));
        }
        match schema.get("items") {
            Some(items) => format!("{}[]", parenthesize(&self.render(items, depth + 1))),
            None => "unknown[]".into(),
        }
    }

    fn render_properties(&mut self, schema: &Map<String, Value>, depth: usize) -> String {
        let required: Vec<&str> = match schema.get("required") {
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let indent = "  ".repeat(depth + 1);
        let mut members = String::new();
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (key, property) in properties {
                let doc = property.get("description").and_then(Value::as_str);
                members.push_str(&jsdoc(
                    &doc.map(str::to_owned).into_iter().collect::<Vec<_>>(),
                    &indent,
                ));
                let optional = if required.contains(&key.as_str()) {
                    ""
                } else {
                    "?"
                };
                let ty = self.render(property, depth + 1);
                members.push_str(&format!("{indent}{}{optional}: {ty};\n", property_key(key)));
            }
        }
        match schema.get("additionalProperties") {
            Some(Value::Bool(false)) => {}
            Some(extra @ Value::Object(_)) => {
                let ty = self.render(extra, depth + 1);
                members.push_str(&format!("{indent}[key: string]: {ty};\n"));
            }
            _ if members.is_empty() => return "Record<string, unknown>".into(),
            _ => {}
        }
        if members.is_empty() {
            return "Record<string, never>".into();
        }
        format!("{{\n{members}{}}}", "  ".repeat(depth))
    }

    fn render_ref(&mut self, reference: &str, depth: usize) -> String {
        if self.refs.iter().any(|r| r == reference) {
            return "unknown".into();
        }
        let Some(target) = resolve_local_ref(self.root, reference) else {
            return "unknown".into();
        };
        self.refs.push(reference.to_owned());
        let rendered = self.render(target, depth);
        self.refs.pop();
        rendered
    }
}

/// Follows a `#/...` JSON pointer within `root`; other references are not followed.
fn resolve_local_ref<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    let unescaped: String = pointer.replace("~1", "/").replace("~0", "~");
    root.pointer(&unescaped)
}

fn literal(value: &Value) -> String {
    match value {
        Value::String(s) => string_literal(s),
        Value::Number(_) | Value::Bool(_) | Value::Null => value.to_string(),
        _ => "unknown".into(),
    }
}

fn union(parts: Vec<String>) -> String {
    join_unique(parts, " | ")
}

fn join_unique(parts: Vec<String>, joiner: &str) -> String {
    let mut unique: Vec<String> = Vec::new();
    for part in parts {
        if !unique.contains(&part) {
            unique.push(part);
        }
    }
    match unique.len() {
        0 => "never".into(),
        _ if unique.iter().any(|p| p == "unknown") && joiner == " | " => "unknown".into(),
        _ => unique.join(joiner),
    }
}

/// Wraps a union or intersection in parentheses so it can be an array element or a member.
fn parenthesize(ty: &str) -> String {
    let top_level_operator = {
        let mut depth = 0i32;
        ty.chars().any(|c| {
            match c {
                '{' | '(' | '[' | '<' => depth += 1,
                '}' | ')' | ']' | '>' => depth -= 1,
                '|' | '&' if depth == 0 => return true,
                _ => {}
            }
            false
        })
    };
    if top_level_operator {
        format!("({ty})")
    } else {
        ty.to_owned()
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::json;

    use super::*;

    #[test]
    fn object_marks_optional_properties_and_documents_them() {
        let schema = json!({
            "type": "object",
            "properties": {
                "a": {"type": "number", "description": "First number"},
                "b": {"type": "string"}
            },
            "required": ["a"]
        });
        assert_eq!(
            type_of(&schema),
            "{\n  /** First number */\n  a: number;\n  b?: string;\n}"
        );
    }

    #[test]
    fn enums_consts_unions_and_arrays() {
        assert_eq!(type_of(&json!({"enum": ["a", "b", 3]})), r#""a" | "b" | 3"#);
        assert_eq!(type_of(&json!({"const": "x"})), r#""x""#);
        assert_eq!(
            type_of(
                &json!({"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "null"}]}})
            ),
            "(string | null)[]"
        );
        assert_eq!(
            type_of(&json!({"type": ["string", "null"]})),
            "string | null"
        );
        assert_eq!(
            type_of(
                &json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]})
            ),
            "[string, number]"
        );
    }

    #[test]
    fn refs_resolve_locally_and_cycles_end_in_unknown() {
        let schema = json!({
            "$defs": {"Node": {"type": "object", "properties": {
                "value": {"type": "integer"}, "next": {"$ref": "#/$defs/Node"}}, "required": ["value"]}},
            "$ref": "#/$defs/Node"
        });
        assert_eq!(
            type_of(&schema),
            "{\n  value: number;\n  next?: unknown;\n}"
        );
    }

    #[test]
    fn additional_properties_become_an_index_signature() {
        let schema = json!({"type": "object", "additionalProperties": {"type": "number"}});
        assert_eq!(type_of(&schema), "{\n  [key: string]: number;\n}");
        assert_eq!(
            type_of(&json!({"type": "object"})),
            "Record<string, unknown>"
        );
    }

    #[test]
    fn odd_keys_are_quoted_and_unknown_shapes_are_unknown() {
        let schema = json!({"type": "object", "properties": {"x-y": {"type": "boolean"}}, "required": ["x-y"]});
        assert_eq!(type_of(&schema), "{\n  \"x-y\": boolean;\n}");
        assert_eq!(
            type_of(&json!({"$ref": "http://elsewhere/schema"})),
            "unknown"
        );
        assert_eq!(type_of(&json!(42)), "unknown");
    }

    #[test]
    fn very_deep_nesting_is_cut_off_instead_of_overflowing() {
        let mut schema = json!({"type": "string"});
        for _ in 0..500 {
            schema = json!({"type": "array", "items": schema});
        }
        assert!(type_of(&schema).contains("unknown"));
    }
}
