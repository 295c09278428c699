//! The JSDoc the declarations carry: a schema's description, bounds, hints, examples and
//! deprecation, and the keywords its TypeScript type cannot express, as the model reads them.

use serde_json::Value;

use crate::quote::{bare_or_quoted, quote, PROPERTY_DESCRIPTION_CHARS, TAG_VALUE_CHARS};

/// Examples shown per property at most.
const MAX_EXAMPLES: usize = 3;

/// Keywords that constrain values in ways a TypeScript type does not express; they are named in
/// the property's JSDoc instead.
const UNEXPRESSED_KEYWORDS: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "patternProperties",
    "propertyNames",
    "dependentSchemas",
    "dependentRequired",
    "contains",
    "unevaluatedProperties",
    "uniqueItems",
    "multipleOf",
];

/// Bounds and hints that become JSDoc tags, in the order they are shown.
const DOC_TAGS: &[&str] = &[
    "format",
    "pattern",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "default",
];

/// A JSDoc comment with these lines at `indent`, or nothing when there are none.
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

/// The JSDoc lines of a schema: description, bounds and hints, examples, deprecation, and the
/// keywords the type does not express. What the upstream wrote is quoted and capped: the
/// description always, a tag's value when it is long or not plain (see [`crate::quote`]).
pub fn doc_lines(schema: &Value) -> Vec<String> {
    let Some(object) = schema.as_object() else {
        return Vec::new();
    };
    let mut lines: Vec<String> = Vec::new();
    if let Some(description) = object.get("description").and_then(Value::as_str) {
        if !description.trim().is_empty() {
            lines.push(quote(description.trim(), PROPERTY_DESCRIPTION_CHARS));
        }
    }
    for tag in DOC_TAGS {
        if let Some(value) = object.get(*tag) {
            let shown = value
                .as_str()
                .map_or_else(|| value.to_string(), str::to_owned);
            lines.push(format!(
                "@{tag} {}",
                bare_or_quoted(&shown, TAG_VALUE_CHARS)
            ));
        }
    }
    if let Some(Value::Array(examples)) = object.get("examples") {
        lines.extend(examples.iter().take(MAX_EXAMPLES).map(|e| match e {
            Value::String(text) => format!("@example {}", quote(text, TAG_VALUE_CHARS)),
            other => format!(
                "@example {}",
                bare_or_quoted(&other.to_string(), TAG_VALUE_CHARS)
            ),
        }));
    }
    if object.get("deprecated") == Some(&Value::Bool(true)) {
        lines.push("@deprecated".to_owned());
    }
    let unexpressed: Vec<String> = UNEXPRESSED_KEYWORDS
        .iter()
        .filter(|k| object.contains_key(**k))
        .map(|k| format!("`{k}`"))
        .collect();
    if !unexpressed.is_empty() {
        lines.push(format!(
            "Also constrained by {} (not expressed in this type).",
            unexpressed.join(", ")
        ));
    }
    lines
}
