//! Cutting a JSON value to a token budget while keeping it JSON and keeping its structure: a
//! long array keeps its first items and says how many it left out, a long string keeps its
//! start and says its length, an object nested too deep keeps its top, a wide object its first
//! keys. Every cut is marked in place with `…`, and [`Cuts::note`] says, once, what was cut and
//! how to get the rest.
//!
//! Reading is bounded too ([`read`]): the JSON text is read with serde, keeping only the first
//! [`READ_ITEMS`] items of each array or object, so a result of many megabytes costs the
//! runner the parts it keeps, not the whole. Then [`fit`] tries ever smaller cuts until the
//! value's [estimate](super::tokens::estimate) is within the budget; when nothing else fits,
//! the value is replaced by a note of what it was.

use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::tokens::estimate;
use crate::sandbox::depth::MAX_VALUE_DEPTH;
use crate::upstream::bounds::cut_deep;

/// Items of an array (or keys of an object) read from the text; the rest are counted only.
pub const READ_ITEMS: usize = 1_000;
/// Characters of a string read from the text.
pub const READ_STRING_CHARS: usize = 20_000;
/// Levels of nesting read from the text.
pub const READ_DEPTH: usize = 32;

/// The mark that starts every cut.
pub const CUT_MARK: &str = "…";

/// What a cut left out, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cuts {
    /// Arrays that kept only their first items.
    pub arrays: usize,
    /// Objects that kept only their first keys.
    pub objects: usize,
    /// Strings that kept only their start.
    pub strings: usize,
    /// Arrays and objects nested too deep, kept as a note.
    pub deep: usize,
}

impl Cuts {
    /// Whether anything was cut.
    pub fn any(&self) -> bool {
        *self != Self::default()
    }

    /// The one note that says what was cut from `what` (about `tokens` tokens before, to fit
    /// `budget`), and how to get the rest.
    pub fn note(&self, what: &str, tokens: usize, budget: usize) -> String {
        let mut parts = Vec::new();
        for (count, one, many) in [
            (
                self.arrays,
                "an array keeps its first items",
                "arrays keep their first items",
            ),
            (
                self.objects,
                "an object keeps its first keys",
                "objects keep their first keys",
            ),
            (
                self.strings,
                "a string keeps its start",
                "strings keep their start",
            ),
            (
                self.deep,
                "a value nested deeper is summarised",
                "values nested deeper are summarised",
            ),
        ] {
            match count {
                0 => {}
                1 => parts.push(one.to_owned()),
                n => parts.push(format!("{n} {many}")),
            }
        }
        format!(
            "{what} was about {tokens} tokens, more than the {budget} it may take, so it was cut: \
             {}. Each cut is marked in place with \"{CUT_MARK}\". To get the rest, return less: \
             pick the fields you need, filter or summarise in the program, or fetch a page at a \
             time.",
            parts.join(", ")
        )
    }
}

/// A value cut to its budget.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The value, within the budget.
    pub value: Value,
    /// What was cut.
    pub cuts: Cuts,
    /// The estimated tokens of the value before it was cut.
    pub tokens: usize,
}

/// Reads the JSON `text`, keeping at most [`READ_ITEMS`] items per array or object,
/// [`READ_STRING_CHARS`] characters per string and [`READ_DEPTH`] levels, each cut marked.
/// Nesting past [`MAX_VALUE_DEPTH`] is first cut to [`TOO_DEEP`](crate::sandbox::depth::TOO_DEEP),
/// so no text is refused for the parser's recursion limit.
pub fn read(text: &str) -> Result<(Value, Cuts), serde_json::Error> {
    let mut cuts = Cuts::default();
    let text = cut_deep(text, MAX_VALUE_DEPTH);
    let mut deserializer = serde_json::Deserializer::from_str(&text);
    let value = Reader {
        depth: 0,
        cuts: &mut cuts,
    }
    .deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok((value, cuts))
}

/// `value` cut to `budget` estimated tokens of JSON; `cuts` are those already made reading it.
pub fn fit(value: Value, cuts: Cuts, budget: usize) -> Fitted {
    let tokens = tokens_of(&value);
    if tokens <= budget {
        return Fitted {
            value,
            cuts,
            tokens,
        };
    }
    for (items, chars, depth) in SHAPES {
        let mut made = Cuts::default();
        let shrunk = Shrink {
            items,
            chars,
            depth,
            cuts: &mut made,
        }
        .value(&value, 0);
        if tokens_of(&shrunk) <= budget {
            return Fitted {
                value: shrunk,
                cuts: made,
                tokens,
            };
        }
    }
    Fitted {
        value: Value::String(summary(&value)),
        cuts: Cuts {
            deep: 1,
            ..Cuts::default()
        },
        tokens,
    }
}

/// The start of a text of `all` characters, whose start `text` is, as a JSON string within
/// `budget`, marked with its length (the whole text when it fits).
pub fn text_start(text: &str, all: usize, budget: usize) -> Value {
    let whole = Value::String(text.to_owned());
    if all == text.chars().count() && tokens_of(&whole) <= budget {
        return whole;
    }
    let mut chars = budget.saturating_mul(4);
    loop {
        let head: String = text.chars().take(chars).collect();
        let value = Value::String(string_mark(&head, all));
        if chars == 0 || tokens_of(&value) <= budget {
            return value;
        }
        chars /= 2;
    }
}

/// The first of `items` whose `cost`s, in estimated tokens, fit `budget` together, and how
/// many were left out.
pub fn first_within<T>(
    mut items: Vec<T>,
    budget: usize,
    cost: impl Fn(&T) -> usize,
) -> (Vec<T>, usize) {
    let mut spent = 0;
    let kept = items
        .iter()
        .take_while(|item| {
            spent += cost(item);
            spent <= budget
        })
        .count();
    let left_out = items.len() - kept;
    items.truncate(kept);
    (items, left_out)
}

/// The estimated tokens of `value`'s JSON.
pub fn tokens_of(value: &Value) -> usize {
    estimate(&value.to_string())
}

/// The cuts [`fit`] tries in turn: items kept per array or object, characters per string,
/// levels kept.
const SHAPES: [(usize, usize, usize); 8] = [
    (200, 4_000, 16),
    (100, 2_000, 12),
    (50, 1_000, 10),
    (20, 500, 8),
    (10, 200, 6),
    (5, 100, 5),
    (3, 50, 4),
    (1, 20, 3),
];

/// One attempt at cutting a value. Cuts made while reading are recognised by their marks and
/// counted again, so [`Cuts`] counts each cut value once.
struct Shrink<'c> {
    items: usize,
    chars: usize,
    depth: usize,
    cuts: &'c mut Cuts,
}

impl Shrink<'_> {
    fn value(&mut self, value: &Value, level: usize) -> Value {
        match value {
            Value::String(text) => self.string(text),
            Value::Array(items) if level >= self.depth => {
                self.cuts.deep += 1;
                Value::String(deep_array(length_of_array(items)))
            }
            Value::Object(object) if level >= self.depth => {
                self.cuts.deep += 1;
                Value::String(deep_object(length_of_object(object)))
            }
            Value::Array(items) => {
                let all = length_of_array(items);
                let read = match items.last().and_then(mark_of) {
                    Some(Mark::Items { .. }) => &items[..items.len() - 1],
                    _ => &items[..],
                };
                let kept = read.len().min(self.items);
                let mut out: Vec<Value> = (read[..kept].iter())
                    .map(|item| self.value(item, level + 1))
                    .collect();
                if kept < all {
                    self.cuts.arrays += 1;
                    out.push(Value::String(more_items(all - kept, all)));
                }
                Value::Array(out)
            }
            Value::Object(object) => {
                let all = length_of_object(object);
                let mut out = Map::new();
                let read = object.iter().filter(|(key, _)| *key != CUT_MARK);
                for (key, item) in read.take(self.items) {
                    out.insert(key.clone(), self.value(item, level + 1));
                }
                if out.len() < all {
                    self.cuts.objects += 1;
                    let left = all - out.len();
                    out.insert(CUT_MARK.to_owned(), Value::String(more_keys(left, all)));
                }
                Value::Object(out)
            }
            leaf => leaf.clone(),
        }
    }

    fn string(&mut self, text: &str) -> Value {
        let (head, all) = match mark_of_text(text) {
            Some(Mark::Deep) => {
                self.cuts.deep += 1;
                return Value::String(text.to_owned());
            }
            Some(Mark::Chars { head, all }) => (head, all),
            _ => (text, text.chars().count()),
        };
        match head.char_indices().nth(self.chars) {
            Some((at, _)) => {
                self.cuts.strings += 1;
                Value::String(string_mark(&head[..at], all))
            }
            None if all > head.chars().count() => {
                self.cuts.strings += 1;
                Value::String(text.to_owned())
            }
            None => Value::String(text.to_owned()),
        }
    }
}

/// A cut, as its mark says.
enum Mark<'a> {
    /// An array's last item: how many items it had in all.
    Items { all: usize },
    /// An object's `…` key: how many keys it had in all.
    Keys { all: usize },
    /// A string's start, and its length in all.
    Chars { head: &'a str, all: usize },
    /// A value nested too deep.
    Deep,
}

/// The mark `item` is, if it is one.
fn mark_of(item: &Value) -> Option<Mark<'_>> {
    item.as_str().and_then(mark_of_text)
}

/// The mark `text` is, if it is one.
fn mark_of_text(text: &str) -> Option<Mark<'_>> {
    let count = |text: &str, unit: &str| -> Option<usize> {
        let (_, rest) = text.split_once('(')?;
        rest.strip_suffix(&format!(" {unit})"))?.parse().ok()
    };
    if let Some(rest) = text.strip_prefix(CUT_MARK) {
        if rest.ends_with("nested too deep]") {
            return Some(Mark::Deep);
        }
        if rest.contains(" more items (") {
            return count(rest, "in all").map(|all| Mark::Items { all });
        }
        if rest.contains(" more keys (") {
            return count(rest, "in all").map(|all| Mark::Keys { all });
        }
    }
    let (head, tail) = text.rsplit_once(CUT_MARK)?;
    let all = tail
        .strip_prefix(" [")?
        .strip_suffix(" characters in all]")?;
    Some(Mark::Chars {
        head,
        all: all.parse().ok()?,
    })
}

/// How many items `items` had in all, counting those its mark says were left out.
fn length_of_array(items: &[Value]) -> usize {
    match items.last().and_then(mark_of) {
        Some(Mark::Items { all }) => all,
        _ => items.len(),
    }
}

/// How many keys `object` had in all, counting those its mark says were left out.
fn length_of_object(object: &Map<String, Value>) -> usize {
    match object.get(CUT_MARK).and_then(mark_of) {
        Some(Mark::Keys { all }) => all,
        _ => object.len(),
    }
}

/// `head` marked as the start of a string of `all` characters.
fn string_mark(head: &str, all: usize) -> String {
    format!("{head}{CUT_MARK} [{all} characters in all]")
}

/// `text` cut to `chars` characters with its length, or `None` when it fits.
fn cut_string(text: &str, chars: usize) -> Option<String> {
    let (at, _) = text.char_indices().nth(chars)?;
    Some(string_mark(&text[..at], text.chars().count()))
}

/// What stands in for a value that cannot be kept at all.
fn summary(value: &Value) -> String {
    match value {
        Value::Array(items) => deep_array(length_of_array(items)),
        Value::Object(object) => deep_object(length_of_object(object)),
        Value::String(text) => format!(
            "{CUT_MARK} [a string of {} characters]",
            text.chars().count()
        ),
        other => format!(
            "{CUT_MARK} [{}]",
            cut_string(&other.to_string(), 20).unwrap_or_else(|| other.to_string())
        ),
    }
}

fn deep_array(all: usize) -> String {
    format!("{CUT_MARK} [an array of {all} items, nested too deep]")
}

fn deep_object(all: usize) -> String {
    format!("{CUT_MARK} [an object of {all} keys, nested too deep]")
}

fn more_items(left: usize, all: usize) -> String {
    format!("{CUT_MARK} and {left} more items ({all} in all)")
}

fn more_keys(left: usize, all: usize) -> String {
    format!("{CUT_MARK} and {left} more keys ({all} in all)")
}

/// Reads one value of the text, within the reading bounds.
struct Reader<'c> {
    depth: usize,
    cuts: &'c mut Cuts,
}

impl<'de> DeserializeSeed<'de> for Reader<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reader<'_> {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_str<E>(self, text: &str) -> Result<Value, E> {
        Ok(Value::String(match cut_string(text, READ_STRING_CHARS) {
            Some(cut) => {
                self.cuts.strings += 1;
                cut
            }
            None => text.to_owned(),
        }))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let deep = self.depth >= READ_DEPTH;
        let mut items = Vec::new();
        let mut all = 0;
        while all < READ_ITEMS && !deep {
            let reader = Reader {
                depth: self.depth + 1,
                cuts: &mut *self.cuts,
            };
            match seq.next_element_seed(reader)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
            all += 1;
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {
            all += 1;
        }
        if deep {
            self.cuts.deep += 1;
            return Ok(Value::String(deep_array(all)));
        }
        if all > items.len() {
            self.cuts.arrays += 1;
            items.push(Value::String(more_items(all - items.len(), all)));
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let deep = self.depth >= READ_DEPTH;
        let mut object = Map::new();
        let mut all = 0;
        while all < READ_ITEMS && !deep {
            let Some(key) = map.next_key::<String>()? else {
                return Ok(Value::Object(object));
            };
            let reader = Reader {
                depth: self.depth + 1,
                cuts: &mut *self.cuts,
            };
            object.insert(key, map.next_value_seed(reader)?);
            all += 1;
        }
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
            all += 1;
        }
        if deep {
            self.cuts.deep += 1;
            return Ok(Value::String(deep_object(all)));
        }
        if all > object.len() {
            self.cuts.objects += 1;
            let left = all - object.len();
            object.insert(CUT_MARK.to_owned(), Value::String(more_keys(left, all)));
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests;
