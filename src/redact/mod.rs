//! Removing secret values from anything an upstream says.
//!
//! An upstream receives its configured headers, secrets resolved, and may say them back: in a
//! tool result, an error, a tool's description or schema, a status line. Everything it says is
//! passed through [`Secrets`] inside its Durable Object, before it is stored or leaves the
//! object, so no secret reaches the sandbox, the model, a log or the operator.
//!
//! An echo need not be verbatim, so each secret is also looked for in the encodings an upstream
//! is likely to use: percent-encoded (as in a URL), base64 (standard and URL-safe, padded or
//! not), JSON-escaped, and, when the secret is itself base64 text (a Basic credential), decoded,
//! with the password part of a decoded `user:password` on its own. An encoding of a secret that
//! starts mid-way through a longer base64 text is not found: base64 has no fixed alignment.

mod forms;

use aho_corasick::{AhoCorasick, MatchKind};
use memchr::memmem::{self, Finder};
use rmcp::model::Tool;
use serde_json::Value;

use forms::encodings;

/// What each secret occurrence is replaced by.
pub const REDACTED: &str = "[redacted]";

/// The mark an excerpt of an upstream's text ends with where it was cut
/// (`upstream::client`): a secret cut in two there must not leave its first part behind.
const CUT_MARK: &str = "…";

/// The shortest start of a secret that is redacted before a [`CUT_MARK`]; a shorter one says
/// next to nothing of the secret, and is too likely to be ordinary text.
const MIN_PARTIAL_BYTES: usize = 3;

/// Derived forms shorter than this are not looked for: a short decoded password would redact
/// ordinary words. The secret itself is always looked for, whatever its length.
const MIN_DERIVED_CHARS: usize = 6;

/// The texts to remove from what an upstream says: its secrets and their encodings, the
/// longest form at a position replaced whole rather than a shorter one inside it.
///
/// Most text holds no secret, so it is first searched for the [cores](Secrets::cores) alone,
/// with memchr's SIMD substring search. In wasm that reads a 10 MB result several times faster
/// than the matcher's automaton, which takes a byte at a time (aho-corasick's own SIMD
/// prefilter exists only on x86-64 and aarch64).
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// Every form, longest first.
    needles: Vec<String>,
    /// The matcher of all of them; `None` when there is nothing to redact.
    matcher: Option<AhoCorasick>,
    /// The forms that hold no shorter form: a text holds a form only if it holds one of these
    /// (a secret's padded base64 holds its unpadded one, `Bearer%20…` holds the secret).
    cores: Vec<Finder<'static>>,
}

impl PartialEq for Secrets {
    fn eq(&self, other: &Self) -> bool {
        self.needles == other.needles
    }
}

impl Eq for Secrets {}

impl Secrets {
    /// The secrets of one upstream: its resolved secret `values`, found as they are and
    /// encoded, and the `wrappers` that hold them (whole header values such as `Bearer …`),
    /// found encoded: as they are, they hold a secret, which is redacted on its own and leaves
    /// the rest readable (`Bearer [redacted]`).
    pub fn new(
        values: impl IntoIterator<Item = String>,
        wrappers: impl IntoIterator<Item = String>,
    ) -> Self {
        let derived = |value: &str| {
            encodings(value)
                .into_iter()
                .filter(|form| form.chars().count() >= MIN_DERIVED_CHARS)
                .collect::<Vec<_>>()
        };
        let mut needles: Vec<String> = Vec::new();
        for value in values.into_iter().filter(|v| !v.is_empty()) {
            needles.extend(derived(&value));
            needles.push(value);
        }
        for wrapper in wrappers.into_iter().filter(|w| !w.is_empty()) {
            needles.extend(derived(&wrapper));
        }
        Self::from_needles(needles)
    }

    /// The matcher of `needles`, longest first.
    fn from_needles(mut needles: Vec<String>) -> Self {
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        let matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&needles)
            .ok()
            .filter(|_| !needles.is_empty());
        let cores = needles
            .iter()
            .filter(|form| {
                let holds = |shorter: &String| {
                    shorter.len() < form.len() && form.contains(shorter.as_str())
                };
                !needles.iter().any(holds)
            })
            .map(|core| Finder::new(core).into_owned())
            .collect();
        Self {
            needles,
            matcher,
            cores,
        }
    }

    /// These secrets and `values` too, found as they are and encoded.
    pub fn and(&self, values: impl IntoIterator<Item = String>) -> Self {
        let more = Self::new(values, []);
        if more.is_empty() {
            return self.clone();
        }
        let mut needles = self.needles.clone();
        needles.extend(more.needles);
        Self::from_needles(needles)
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every secret form replaced by [`REDACTED`].
    pub fn text(&self, text: &str) -> String {
        self.string(text.to_owned())
    }

    /// Like [`Secrets::text`], reusing `text` when it holds no secret. Where the text was cut
    /// (a [`CUT_MARK`]), the start of a secret just before the cut is redacted too.
    pub fn string(&self, text: String) -> String {
        let Some(matcher) = &self.matcher else {
            return text;
        };
        if !self
            .cores
            .iter()
            .any(|core| core.find(text.as_bytes()).is_some())
        {
            return self.cut_secrets(text);
        }
        // One pass replaces every form that does not overlap a longer one found first; the
        // rare overlap of two forms is caught by another pass, so no whole form is left.
        let mut text = text;
        for _ in 0..self.needles.len() {
            if !matcher.is_match(&text) {
                break;
            }
            let mut replaced = String::with_capacity(text.len());
            matcher.replace_all_with(&text, &mut replaced, |_, _, out| {
                out.push_str(REDACTED);
                true
            });
            text = replaced;
        }
        self.cut_secrets(text)
    }

    /// `text` with the start of a secret that ends at a [`CUT_MARK`] redacted.
    fn cut_secrets(&self, text: String) -> String {
        // memchr's search, not `str::contains`, which reads a long text a byte at a time.
        if self.is_empty() || memmem::find(text.as_bytes(), CUT_MARK.as_bytes()).is_none() {
            return text;
        }
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        while let Some(at) = rest.find(CUT_MARK) {
            let before = &rest[..at];
            let partial = self
                .needles
                .iter()
                .filter_map(|needle| secret_start(before, needle))
                .max()
                .unwrap_or(0);
            out.push_str(&before[..before.len() - partial]);
            if partial > 0 {
                out.push_str(REDACTED);
            }
            out.push_str(CUT_MARK);
            rest = &rest[at + CUT_MARK.len()..];
        }
        out.push_str(rest);
        out
    }

    /// `value` with every string in it redacted, object keys included.
    pub fn value(&self, value: Value) -> Value {
        if self.is_empty() {
            return value;
        }
        match value {
            Value::String(text) => Value::String(self.string(text)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.value(v)).collect()),
            Value::Object(entries) => Value::Object(
                entries
                    .into_iter()
                    .map(|(key, item)| (self.string(key), self.value(item)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// `tool` with every string in it redacted: name, title, description, input and output
    /// schemas, annotations, icons and `_meta`. A tool whose name held a secret keeps the
    /// redacted name, so calling it fails at the upstream rather than leaking the name.
    pub fn tool(&self, tool: Tool) -> Tool {
        if self.is_empty() {
            return tool;
        }
        let redacted = serde_json::to_value(&tool)
            .ok()
            .and_then(|value| serde_json::from_value::<Tool>(self.value(value)).ok());
        redacted.unwrap_or_else(|| self.tool_by_field(tool))
    }

    /// Each tool of a list, redacted.
    pub fn tools(&self, tools: Vec<Tool>) -> Vec<Tool> {
        tools.into_iter().map(|tool| self.tool(tool)).collect()
    }

    /// The fallback when a redacted tool no longer reads as a tool (a secret equal to one of the
    /// few typed strings in it, such as an icon's theme): the free-text fields are redacted one
    /// by one and the typed extras (icons, `_meta`) are dropped.
    fn tool_by_field(&self, mut tool: Tool) -> Tool {
        let object = |schema: &serde_json::Map<String, Value>| match self
            .value(Value::Object(schema.clone()))
        {
            Value::Object(clean) => clean,
            _ => serde_json::Map::new(),
        };
        tool.name = self.text(&tool.name).into();
        tool.title = tool.title.map(|t| self.string(t));
        tool.description = tool.description.map(|d| self.text(&d).into());
        tool.input_schema = object(&tool.input_schema).into();
        tool.output_schema = tool.output_schema.map(|s| object(&s).into());
        if let Some(annotations) = tool.annotations.as_mut() {
            annotations.title = annotations.title.take().map(|t| self.string(t));
        }
        tool.icons = None;
        tool.meta = None;
        tool
    }
}

/// How many bytes at the end of `text` are the start of `needle` (at least
/// [`MIN_PARTIAL_BYTES`], and less than all of it), if any.
fn secret_start(text: &str, needle: &str) -> Option<usize> {
    (MIN_PARTIAL_BYTES..needle.len())
        .rev()
        .find(|&k| needle.is_char_boundary(k) && text.ends_with(&needle[..k]))
}

#[cfg(test)]
mod tests;
