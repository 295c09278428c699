//! JSON Schema → TypeScript type expressions.
//!
//! Total and bounded: every schema renders (anything unknown becomes `unknown`), nesting is
//! capped so a hostile schema cannot blow the stack or the output, the schemas one type visits
//! and the literals one enum spells out are capped so its time is bounded, and only local
//! `$ref`s are followed. A `$ref` into `$defs`/`definitions` becomes a named type in the namespace's
//! [`TypeScope`], so recursive schemas render as recursive types; other local refs are inlined
//! with a guard against cycles.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

use super::jsdoc::{doc_lines, jsdoc};
use crate::names::{is_reserved_word, to_identifier};
use crate::quote::string_literal;

/// How deep nested schemas render before collapsing to `unknown`.
const MAX_SCHEMA_DEPTH: usize = 12;

/// Schemas one rendered type may visit; past it, the rest renders as `unknown`. The largest tool
/// of the test upstreams and GitHub's server visits under 100.
const MAX_RENDERED_SCHEMAS: usize = 2_000;

/// Literals an enum spells out; a longer one renders as the type of its values.
const MAX_ENUM_LITERALS: usize = 500;

/// The named types of one namespace: `$defs` entries of its tools' schemas.
#[derive(Debug, Default)]
pub struct TypeScope {
    /// Name → the definition it was made from, and its rendering once done.
    types: BTreeMap<String, NamedType>,
}

#[derive(Debug)]
struct NamedType {
    definition: Value,
    rendered: Option<String>,
}

impl TypeScope {
    /// `type Name = …;` for every named type, in name order, each with its JSDoc, indented.
    pub fn declarations(&self, indent: &str) -> String {
        self.types
            .iter()
            .filter_map(|(name, named)| {
                let body = named
                    .rendered
                    .as_ref()?
                    .replace('\n', &format!("\n{indent}"));
                Some(format!(
                    "{}{indent}type {name} = {body};\n",
                    jsdoc(&doc_lines(&named.definition), indent)
                ))
            })
            .collect()
    }

    /// The name for `definition` (suggested `wanted`): shared when an equal definition already
    /// has it, numbered when another definition does; `true` when it still needs rendering.
    fn claim(&mut self, wanted: &str, definition: &Value) -> (String, bool) {
        let base = to_identifier(wanted);
        let mut candidate = base.clone();
        let mut n = 2;
        loop {
            match self.types.get(&candidate) {
                None => {
                    let named = NamedType {
                        definition: definition.clone(),
                        rendered: None,
                    };
                    self.types.insert(candidate.clone(), named);
                    return (candidate, true);
                }
                Some(existing) if existing.definition == *definition => return (candidate, false),
                Some(_) => {
                    candidate = format!("{base}{n}");
                    n += 1;
                }
            }
        }
    }
}

/// Renders `schema` as a TypeScript type, with `$defs` it uses added to `scope`.
pub fn type_of(schema: &Value, scope: &mut TypeScope) -> String {
    let mut budget = MAX_RENDERED_SCHEMAS;
    Renderer {
        root: schema,
        scope,
        inlined: Vec::new(),
        nesting: 0,
        budget: &mut budget,
    }
    .render(schema, 0)
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

struct Renderer<'a> {
    /// The schema `$ref`s resolve against.
    root: &'a Value,
    scope: &'a mut TypeScope,
    /// Non-`$defs` refs being inlined, innermost last: a repeat means a cycle.
    inlined: Vec<String>,
    /// How many schemas deep the renderer is; past [`MAX_SCHEMA_DEPTH`] it stops.
    nesting: usize,
    /// Schemas left to visit, shared with the renderers of named types it starts.
    budget: &'a mut usize,
}

impl Renderer<'_> {
    /// Renders `schema`; `depth` is its indentation level in the output.
    fn render(&mut self, schema: &Value, depth: usize) -> String {
        if self.nesting >= MAX_SCHEMA_DEPTH || *self.budget == 0 {
            return "unknown".into();
        }
        *self.budget -= 1;
        self.nesting += 1;
        let rendered = self.render_nested(schema, depth);
        self.nesting -= 1;
        rendered
    }

    fn render_nested(&mut self, schema: &Value, depth: usize) -> String {
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
            if values.len() > MAX_ENUM_LITERALS {
                return union(values.iter().map(value_type).collect());
            }
            return union(values.iter().map(literal).collect());
        }
        for (keyword, joiner) in [("anyOf", " | "), ("oneOf", " | "), ("allOf", " & ")] {
            if let Some(Value::Array(options)) = schema.get(keyword) {
                let parts: Vec<String> = options
                    .iter()
                    .map(|option| parenthesize(&self.render(option, depth)))
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
            let parts: Vec<String> = items.iter().map(|i| self.render(i, depth)).collect();
            return format!("[{}]", parts.join(", "));
        }
        match schema.get("items") {
            Some(items) => format!("{}[]", parenthesize(&self.render(items, depth))),
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
                let mut lines = doc_lines(property);
                lines.extend(self.cut_note());
                members.push_str(&jsdoc(&lines, &indent));
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

    /// Why the next schema will render as `unknown` when a bound rather than the schema says
    /// so, for the JSDoc the model reads.
    fn cut_note(&self) -> Option<String> {
        if self.nesting >= MAX_SCHEMA_DEPTH {
            Some(format!(
                "[cut by the runner: nested deeper than {MAX_SCHEMA_DEPTH} levels; the upstream \
                 checks what is not shown]"
            ))
        } else if *self.budget == 0 {
            Some(format!(
                "[cut by the runner: the schema is larger than {MAX_RENDERED_SCHEMAS} schemas; \
                 the upstream checks what is not shown]"
            ))
        } else {
            None
        }
    }

    fn render_ref(&mut self, reference: &str, depth: usize) -> String {
        let Some(target) = resolve_local_ref(self.root, reference) else {
            return "unknown".into();
        };
        if let Some(name) = definition_name(reference) {
            let (name, needs_rendering) = self.scope.claim(name, target);
            if needs_rendering {
                // The nesting count carries over, so a long chain of definitions is cut off too.
                let nesting = self.nesting;
                let rendered = Renderer {
                    root: self.root,
                    scope: self.scope,
                    inlined: Vec::new(),
                    nesting,
                    budget: &mut *self.budget,
                }
                .render(target, 0);
                if let Some(named) = self.scope.types.get_mut(&name) {
                    named.rendered = Some(rendered);
                }
            }
            return name;
        }
        if self.inlined.iter().any(|r| r == reference) {
            return "unknown".into();
        }
        self.inlined.push(reference.to_owned());
        let rendered = self.render(target, depth);
        self.inlined.pop();
        rendered
    }
}

/// `Address` for `#/$defs/Address` or `#/definitions/Address`.
fn definition_name(reference: &str) -> Option<&str> {
    let name = reference
        .strip_prefix("#/$defs/")
        .or_else(|| reference.strip_prefix("#/definitions/"))?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
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

/// The TypeScript type of a JSON value, for an enum too long to spell out.
fn value_type(value: &Value) -> String {
    match value {
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
        Value::Array(_) | Value::Object(_) => "unknown",
    }
    .into()
}

fn union(parts: Vec<String>) -> String {
    join_unique(parts, " | ")
}

/// `parts` without repeats, in order, joined; linear in their number.
fn join_unique(parts: Vec<String>, joiner: &str) -> String {
    let mut seen = HashSet::new();
    let unique: Vec<String> = parts
        .into_iter()
        .filter(|part| seen.insert(part.clone()))
        .collect();
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
mod tests;
