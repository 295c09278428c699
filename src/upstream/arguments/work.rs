//! How much work checking arguments against a schema would take, counted before the check.
//!
//! `jsonschema` applies every subschema that applies to a value, and an `anyOf` or `oneOf`
//! that fails keeps the errors of each of its branches. So the work of one check is the number
//! of (subschema, value) pairs it visits, and a schema can make that exponential: an `anyOf` of
//! two `$ref`s to a definition that does the same, thirty definitions down, or two branches
//! that both recurse into the same child of deeply nested arguments. One such call would hold
//! the upstream's object for minutes and fill its memory. [`fits`] counts those pairs first,
//! over-approximating (each `patternProperties` schema applies to every key), and stops at
//! [`MAX_CHECK_STEPS`] or [`MAX_CHECK_DEPTH`]; a check that would go past either is not made,
//! and the upstream judges the arguments.

use serde_json::{Map, Value};

/// (subschema, value) pairs one check may visit. Honest schemas visit a few per argument: an
/// array of 2,000 objects of five properties each is about 12,000.
pub(super) const MAX_CHECK_STEPS: usize = 20_000;

/// How deep a check may go, counting each `$ref` followed and each step into a value. It keeps
/// the check's own recursion well inside a Worker's stack.
pub(super) const MAX_CHECK_DEPTH: usize = 128;

/// Whether checking `value` against `schema` (a whole schema, the root of its `$ref`s) stays
/// within [`MAX_CHECK_STEPS`] and [`MAX_CHECK_DEPTH`].
pub(super) fn fits(schema: &Value, value: &Value) -> bool {
    let mut walk = Walk {
        root: schema,
        steps_left: MAX_CHECK_STEPS,
    };
    walk.visit(schema, value, 0).is_some()
}

/// Whether `schema` holds a resource of its own below its root (a nested `$id`, or a draft 4
/// `id`, with a string value) or a named anchor: its `$ref`s may then resolve against another
/// base than the root, which [`fits`] does not follow, so such a schema is not checked.
pub(super) fn has_nested_resources(schema: &Value) -> bool {
    let Value::Object(root) = schema else {
        return false;
    };
    root.iter()
        .filter(|(keyword, _)| !matches!(keyword.as_str(), "$id" | "id"))
        .any(|(_, value)| names_a_resource(value))
}

/// Whether `value`, or anything in it, carries `$id`, `id`, `$anchor` or `$dynamicAnchor`
/// with a string value.
fn names_a_resource(value: &Value) -> bool {
    match value {
        Value::Object(object) => object.iter().any(|(key, value)| {
            let keyword = matches!(key.as_str(), "$id" | "id" | "$anchor" | "$dynamicAnchor");
            (keyword && value.is_string()) || names_a_resource(value)
        }),
        Value::Array(items) => items.iter().any(names_a_resource),
        _ => false,
    }
}

/// A count of the pairs a check would visit.
struct Walk<'s> {
    /// The whole schema, which `$ref`s point into.
    root: &'s Value,
    steps_left: usize,
}

impl<'s> Walk<'s> {
    /// Counts the pairs of `schema` against `value` at `depth`; `None` once past a bound.
    fn visit(&mut self, schema: &'s Value, value: &Value, depth: usize) -> Option<()> {
        self.steps_left = self.steps_left.checked_sub(1)?;
        if depth >= MAX_CHECK_DEPTH {
            return None;
        }
        let Value::Object(schema) = schema else {
            return Some(());
        };
        let deeper = depth + 1;
        for (keyword, sub) in schema {
            match keyword.as_str() {
                "allOf" | "anyOf" | "oneOf" => self.each(schema_list(sub), value, deeper)?,
                "not" | "if" | "then" | "else" => self.visit(sub, value, deeper)?,
                "dependentSchemas" | "dependencies" => {
                    self.each(schema_values(sub), value, deeper)?;
                }
                "$ref" | "$dynamicRef" | "$recursiveRef" => {
                    let target = resolve(self.root, sub.as_str()?)?;
                    self.visit(target, value, deeper)?;
                }
                _ => self.visit_children(keyword, sub, value, deeper)?,
            }
        }
        Some(())
    }

    /// Counts `schemas` each against `value`.
    fn each(
        &mut self,
        schemas: impl Iterator<Item = &'s Value>,
        value: &Value,
        depth: usize,
    ) -> Option<()> {
        for schema in schemas {
            self.visit(schema, value, depth)?;
        }
        Some(())
    }

    /// Counts a keyword that applies `sub` to the members or items of `value`.
    fn visit_children(
        &mut self,
        keyword: &str,
        sub: &'s Value,
        value: &Value,
        depth: usize,
    ) -> Option<()> {
        match (keyword, value) {
            ("properties", Value::Object(members)) => {
                let Value::Object(properties) = sub else {
                    return Some(());
                };
                for (name, member) in members {
                    if let Some(schema) = properties.get(name) {
                        self.visit(schema, member, depth)?;
                    }
                }
            }
            ("patternProperties", Value::Object(members)) => {
                for schema in schema_values(sub) {
                    self.each_value(schema, members.values(), depth)?;
                }
            }
            ("additionalProperties" | "unevaluatedProperties", Value::Object(members)) => {
                self.each_value(sub, members.values(), depth)?;
            }
            ("propertyNames", Value::Object(members)) => {
                for name in members.keys() {
                    self.visit(sub, &Value::String(name.clone()), depth)?;
                }
            }
            ("items" | "prefixItems", Value::Array(items)) if sub.is_array() => {
                for (schema, item) in schema_list(sub).zip(items) {
                    self.visit(schema, item, depth)?;
                }
            }
            (
                "items" | "additionalItems" | "unevaluatedItems" | "contains",
                Value::Array(items),
            ) => self.each_value(sub, items.iter(), depth)?,
            _ => {}
        }
        Some(())
    }

    /// Counts `schema` against each of `values`.
    fn each_value<'v>(
        &mut self,
        schema: &'s Value,
        values: impl Iterator<Item = &'v Value>,
        depth: usize,
    ) -> Option<()> {
        for value in values {
            self.visit(schema, value, depth)?;
        }
        Some(())
    }
}

/// The schemas of a keyword holding a list of them.
fn schema_list(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_array().into_iter().flatten()
}

/// The schemas of a keyword holding a map of them.
fn schema_values(value: &Value) -> impl Iterator<Item = &Value> {
    value.as_object().into_iter().flat_map(Map::values)
}

/// The subschema a local `$ref` (`#` or `#/json/pointer`, percent-encoded or not) names;
/// `None` for any other reference, which [`fits`] cannot follow.
fn resolve<'s>(root: &'s Value, reference: &str) -> Option<&'s Value> {
    let pointer = reference.strip_prefix('#')?;
    let pointer = percent_encoding::percent_decode_str(pointer)
        .decode_utf8()
        .ok()?;
    root.pointer(&pointer)
}
