//! The shape of the results a tool returns, learned from the results themselves, for tools
//! that declare no `outputSchema`: which kinds of values, which fields, which of them every
//! result had. Never the values: strings, numbers and booleans are kept as their kind, and an
//! object whose keys look like data (an id, a date, an address) is kept as a map of values of
//! one shape, not by its keys.
//!
//! A shape is bounded whatever the results: [`MAX_DEPTH`] levels, [`MAX_FIELDS`] fields per
//! object, [`MAX_VARIANTS`] kinds per union, [`MAX_NODES`] nodes in all, and only the first
//! [`ARRAY_SAMPLE`] items of an array are read; past a bound a part is `unknown`. Shapes merge
//! ([`Shape::merge`]): a field missing from some results becomes optional, different kinds
//! become a union. [`Shape::schema`] is the shape as JSON Schema, for the declarations.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// How many levels of nesting a shape keeps.
pub const MAX_DEPTH: usize = 8;
/// How many fields an object keeps before it is kept as a map.
pub const MAX_FIELDS: usize = 40;
/// How many kinds a union keeps before it is `unknown`.
pub const MAX_VARIANTS: usize = 4;
/// How many nodes a whole shape keeps.
pub const MAX_NODES: usize = 400;
/// How many items of an array (or values of a map) are read.
pub const ARRAY_SAMPLE: usize = 32;

/// The shape of a JSON value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Shape {
    /// Anything: past a bound, or too varied to say.
    Unknown,
    /// `null`.
    Null,
    /// `true` or `false`.
    Boolean,
    /// A number; `integer` when every one seen was whole.
    Number {
        /// Whether every number seen was whole.
        integer: bool,
    },
    /// A string.
    String,
    /// An array of items of one shape; `None` when every array seen was empty.
    Array {
        /// The items' shape.
        items: Option<Box<Shape>>,
    },
    /// An object with named fields, in the order first seen.
    Object {
        /// Its fields.
        fields: Vec<Field>,
    },
    /// An object whose keys are data, with values of one shape.
    Map {
        /// The values' shape.
        values: Box<Shape>,
    },
    /// One of several kinds (never `Unknown` or another union).
    Union {
        /// The kinds.
        variants: Vec<Shape>,
    },
}

/// One field of an object shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// The key.
    pub name: String,
    /// The values' shape.
    pub shape: Shape,
    /// Whether every object seen had it.
    pub required: bool,
}

impl Shape {
    /// The shape of `value`, within the bounds.
    pub fn of(value: &Value) -> Self {
        Self::at(value, 0).bounded()
    }

    fn at(value: &Value, depth: usize) -> Self {
        if depth >= MAX_DEPTH {
            return Self::Unknown;
        }
        match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Boolean,
            Value::Number(number) => Self::Number {
                integer: number.is_i64() || number.is_u64(),
            },
            Value::String(_) => Self::String,
            Value::Array(items) => Self::Array {
                items: Self::merged(items.iter().take(ARRAY_SAMPLE), depth + 1).map(Box::new),
            },
            Value::Object(object)
                if object.len() <= MAX_FIELDS && object.keys().all(|k| is_name(k)) =>
            {
                Self::Object {
                    fields: (object.iter())
                        .map(|(name, value)| Field {
                            name: name.clone(),
                            shape: Self::at(value, depth + 1),
                            required: true,
                        })
                        .collect(),
                }
            }
            Value::Object(object) => Self::Map {
                values: Box::new(
                    Self::merged(object.values().take(ARRAY_SAMPLE), depth + 1)
                        .unwrap_or(Self::Unknown),
                ),
            },
        }
    }

    /// The merged shape of `values`, or `None` when there are none.
    fn merged<'a>(values: impl Iterator<Item = &'a Value>, depth: usize) -> Option<Self> {
        values
            .map(|value| Self::at(value, depth))
            .reduce(|merged, next| merged.merge(next))
    }

    /// The shape of values that are of this shape or of `other`'s, within the bounds.
    pub fn merge(self, other: Self) -> Self {
        self.merged_with(other).bounded()
    }

    fn merged_with(self, other: Self) -> Self {
        match (self, other) {
            (Self::Unknown, _) | (_, Self::Unknown) => Self::Unknown,
            (Self::Union { variants }, other) => Self::union(variants, other),
            (one, Self::Union { variants }) => Self::union(variants, one),
            (Self::Number { integer: a }, Self::Number { integer: b }) => {
                Self::Number { integer: a && b }
            }
            (Self::Array { items: a }, Self::Array { items: b }) => Self::Array {
                items: match (a, b) {
                    (Some(a), Some(b)) => Some(Box::new(a.merged_with(*b))),
                    (a, b) => a.or(b),
                },
            },
            (Self::Object { fields: a }, Self::Object { fields: b }) => Self::objects(a, b),
            (Self::Map { values }, Self::Object { fields })
            | (Self::Object { fields }, Self::Map { values }) => Self::Map {
                values: Box::new(
                    fields
                        .into_iter()
                        .fold(*values, |v, f| v.merged_with(f.shape)),
                ),
            },
            (Self::Map { values: a }, Self::Map { values: b }) => Self::Map {
                values: Box::new(a.merged_with(*b)),
            },
            (a, b) if a.kind() == b.kind() => a,
            (a, b) => Self::union(vec![a], b),
        }
    }

    /// The fields of two object shapes together: a field one lacks is optional.
    fn objects(a: Vec<Field>, b: Vec<Field>) -> Self {
        let mut b: Vec<Option<Field>> = b.into_iter().map(Some).collect();
        let mut fields: Vec<Field> = a
            .into_iter()
            .map(|field| {
                let found = b
                    .iter_mut()
                    .find(|o| o.as_ref().is_some_and(|o| o.name == field.name));
                match found.and_then(Option::take) {
                    Some(other) => Field {
                        required: field.required && other.required,
                        shape: field.shape.merged_with(other.shape),
                        name: field.name,
                    },
                    None => Field {
                        required: false,
                        ..field
                    },
                }
            })
            .collect();
        fields.extend(b.into_iter().flatten().map(|field| Field {
            required: false,
            ..field
        }));
        if fields.len() <= MAX_FIELDS {
            return Self::Object { fields };
        }
        let values = fields
            .into_iter()
            .map(|f| f.shape)
            .reduce(Self::merged_with);
        Self::Map {
            values: Box::new(values.unwrap_or(Self::Unknown)),
        }
    }

    /// `variants` with `other` added: merged into the variant of its kind, else a new one.
    fn union(mut variants: Vec<Self>, other: Self) -> Self {
        let others = match other {
            Self::Union { variants } => variants,
            other => vec![other],
        };
        for other in others {
            match variants.iter().position(|v| v.kind() == other.kind()) {
                Some(at) => {
                    let merged = variants.remove(at).merged_with(other);
                    variants.insert(at, merged);
                }
                None => variants.push(other),
            }
        }
        match variants.len() {
            1 => variants.remove(0),
            n if n > MAX_VARIANTS || variants.contains(&Self::Unknown) => Self::Unknown,
            _ => Self::Union { variants },
        }
    }

    /// The kind a union keeps one variant of (objects and maps are one kind).
    fn kind(&self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::Null => 1,
            Self::Boolean => 2,
            Self::Number { .. } => 3,
            Self::String => 4,
            Self::Array { .. } => 5,
            Self::Object { .. } | Self::Map { .. } => 6,
            Self::Union { .. } => 7,
        }
    }

    /// How many nodes the shape has.
    pub fn nodes(&self) -> usize {
        1 + match self {
            Self::Array { items: Some(items) } => items.nodes(),
            Self::Object { fields } => fields.iter().map(|f| f.shape.nodes()).sum(),
            Self::Map { values } => values.nodes(),
            Self::Union { variants } => variants.iter().map(Self::nodes).sum(),
            _ => 0,
        }
    }

    /// The shape within [`MAX_NODES`]: deeper parts become `unknown` until it fits.
    fn bounded(self) -> Self {
        let mut shape = self;
        let mut depth = MAX_DEPTH;
        while shape.nodes() > MAX_NODES && depth > 0 {
            depth -= 1;
            shape = shape.cut_below(depth);
        }
        shape
    }

    /// The shape with everything `depth` levels down replaced by `unknown`.
    fn cut_below(self, depth: usize) -> Self {
        if depth == 0 {
            return Self::Unknown;
        }
        let cut = |shape: Self| shape.cut_below(depth - 1);
        match self {
            Self::Array { items } => Self::Array {
                items: items.map(|items| Box::new(cut(*items))),
            },
            Self::Object { fields } => Self::Object {
                fields: (fields.into_iter())
                    .map(|field| Field {
                        shape: cut(field.shape),
                        ..field
                    })
                    .collect(),
            },
            Self::Map { values } => Self::Map {
                values: Box::new(cut(*values)),
            },
            // A union's variants are at its own level.
            Self::Union { variants } => (variants.into_iter())
                .map(|variant| variant.cut_below(depth))
                .reduce(Self::merged_with)
                .unwrap_or(Self::Unknown),
            leaf => leaf,
        }
    }

    /// The shape as JSON Schema.
    pub fn schema(&self) -> Value {
        match self {
            Self::Unknown => json!({}),
            Self::Null => json!({"type": "null"}),
            Self::Boolean => json!({"type": "boolean"}),
            Self::Number { integer: true } => json!({"type": "integer"}),
            Self::Number { integer: false } => json!({"type": "number"}),
            Self::String => json!({"type": "string"}),
            Self::Array { items } => json!({
                "type": "array",
                "items": items.as_ref().map_or(json!({}), |items| items.schema()),
            }),
            Self::Object { fields } => {
                let properties: Map<String, Value> = (fields.iter())
                    .map(|field| (field.name.clone(), field.shape.schema()))
                    .collect();
                let required: Vec<&str> = (fields.iter())
                    .filter(|field| field.required)
                    .map(|field| field.name.as_str())
                    .collect();
                json!({"type": "object", "properties": properties, "required": required})
            }
            Self::Map { values } => {
                json!({"type": "object", "additionalProperties": values.schema()})
            }
            Self::Union { variants } => {
                json!({"anyOf": variants.iter().map(Self::schema).collect::<Vec<_>>()})
            }
        }
    }
}

/// Whether an object's key reads as a field's name rather than as data: a short word of
/// letters, digits, `_`, `-`, `.` or `$`, starting with a letter (or `_`, `$`, `@`), with no
/// run of four digits (ids, dates, numbers); an address has its `@` inside, so it is data.
fn is_name(key: &str) -> bool {
    let mut chars = key.chars();
    let starts_well = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '_' | '$' | '@'));
    let mut digits = 0;
    starts_well
        && key.len() <= 64
        && chars.all(|c| {
            digits = if c.is_ascii_digit() { digits + 1 } else { 0 };
            digits < 4 && (c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$'))
        })
}

#[cfg(test)]
mod tests;
