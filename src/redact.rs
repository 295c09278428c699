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

use aho_corasick::{AhoCorasick, MatchKind};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use rmcp::model::Tool;
use serde_json::Value;

/// What each secret occurrence is replaced by.
pub const REDACTED: &str = "[redacted]";

/// The mark an excerpt of an upstream's text ends with where it was cut
/// (`upstream::client`): a secret cut in two there must not leave its first part behind.
const CUT_MARK: char = '…';

/// The shortest start of a secret that is redacted before a [`CUT_MARK`]; a shorter one says
/// next to nothing of the secret, and is too likely to be ordinary text.
const MIN_PARTIAL_BYTES: usize = 3;

/// Derived forms shorter than this are not looked for: a short decoded password would redact
/// ordinary words. The secret itself is always looked for, whatever its length.
const MIN_DERIVED_CHARS: usize = 6;

/// The texts to remove from what an upstream says: its secrets and their encodings, found in
/// one pass over the text (a 10 MB result is read once, not once per form), the longest form
/// at a position replaced whole rather than a shorter one inside it.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// Every form, longest first.
    needles: Vec<String>,
    /// The matcher of all of them; `None` when there is nothing to redact.
    matcher: Option<AhoCorasick>,
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
        Self { needles, matcher }
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
        if self.is_empty() || !text.contains(CUT_MARK) {
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
            out.push(CUT_MARK);
            rest = &rest[at + CUT_MARK.len_utf8()..];
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

/// The forms of `secret` an upstream might echo instead of the secret itself.
fn encodings(secret: &str) -> Vec<String> {
    let bytes = secret.as_bytes();
    let mut forms = vec![
        percent_encoded(secret, true),
        percent_encoded(secret, false),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
    ];
    if let Ok(json) = serde_json::to_string(secret) {
        forms.push(json[1..json.len() - 1].to_owned());
    }
    if let Some(decoded) = decoded_text(secret) {
        if let Some((_, password)) = decoded.split_once(':') {
            forms.push(password.to_owned());
        }
        forms.push(decoded);
    }
    forms.retain(|form| form != secret);
    forms
}

/// `text` percent-encoded as `encodeURIComponent` does, with upper- or lower-case hex digits.
fn percent_encoded(text: &str, upper: bool) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'_'
            | b'.'
            | b'!'
            | b'~'
            | b'*'
            | b'\''
            | b'('
            | b')' => char::from(b).to_string(),
            _ if upper => format!("%{b:02X}"),
            _ => format!("%{b:02x}"),
        })
        .collect()
}

/// `secret` decoded from base64, when it is base64 of printable text.
fn decoded_text(secret: &str) -> Option<String> {
    let bytes = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(secret.trim()).ok())?;
    let text = String::from_utf8(bytes).ok()?;
    (!text.is_empty() && !text.chars().any(char::is_control)).then_some(text)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use std::sync::Arc;

    use serde_json::json;

    use super::*;

    fn of(values: &[&str]) -> Secrets {
        Secrets::new(values.iter().map(|v| (*v).to_owned()), [])
    }

    #[test]
    fn every_occurrence_of_each_secret_is_replaced() {
        let secrets = of(&["s3cr3t", ""]);
        assert_eq!(
            secrets.text("a s3cr3t b s3cr3t"),
            "a [redacted] b [redacted]"
        );
        assert!(Secrets::new([], []).is_empty());
    }

    #[test]
    fn the_longer_of_two_forms_at_a_place_is_replaced_whole() {
        let secrets = of(&["abc123", "abc123xyz"]);
        assert_eq!(secrets.text("<abc123xyz>"), "<[redacted]>");
    }

    #[test]
    fn overlapping_secrets_leave_neither_whole() {
        let secrets = of(&["xyz-123", "123-abc", "c-12"]);
        let redacted = secrets.text("xyz-123-abc-123-abc");
        for secret in ["xyz-123", "123-abc", "c-12"] {
            assert!(!redacted.contains(secret), "{secret} left in {redacted}");
        }
    }

    #[test]
    fn a_secret_cut_by_an_excerpt_loses_its_start_too() {
        let secrets = of(&["tok/Echo+5f3a9c1e"]);
        assert_eq!(
            secrets.text("HTTP 503: for Bearer tok/Ech… and more"),
            "HTTP 503: for Bearer [redacted]… and more"
        );
        assert_eq!(
            secrets.text("ends to…"),
            "ends to…",
            "two characters say nothing"
        );
        assert_eq!(secrets.text("plain text…"), "plain text…");
    }

    #[test]
    fn common_encodings_of_a_secret_are_replaced_too() {
        let secret = "p@ss word/+=tok3n";
        let secrets = of(&[secret]);
        let echoes = [
            STANDARD.encode(secret),
            URL_SAFE_NO_PAD.encode(secret),
            "p%40ss%20word%2F%2B%3Dtok3n".to_owned(),
            "p%40ss%20word%2f%2b%3dtok3n".to_owned(),
        ];
        for echo in echoes {
            assert_eq!(
                secrets.text(&format!("got <{echo}>")),
                "got <[redacted]>",
                "{echo}"
            );
        }
        let quoted = of(&["a\"b\\c-long"]);
        assert_eq!(
            quoted.text(r#"{"token": "a\"b\\c-long"}"#),
            r#"{"token": "[redacted]"}"#,
            "the JSON-escaped form"
        );
    }

    #[test]
    fn a_basic_credential_is_found_decoded_and_by_its_password() {
        let credential = STANDARD.encode("alice:correct-horse");
        let secrets = of(&[&credential]);
        assert_eq!(secrets.text("user alice:correct-horse"), "user [redacted]");
        assert_eq!(
            secrets.text("password correct-horse"),
            "password [redacted]"
        );
        assert_eq!(
            secrets.text(&format!("Basic {credential}")),
            "Basic [redacted]"
        );
    }

    #[test]
    fn a_header_holding_a_secret_is_found_encoded_and_reads_as_itself_otherwise() {
        let secrets = Secrets::new(["s3cr3t".to_owned()], ["Bearer s3cr3t".to_owned()]);
        assert_eq!(secrets.text("got Bearer s3cr3t"), "got Bearer [redacted]");
        let encoded = STANDARD.encode("Bearer s3cr3t");
        assert_eq!(secrets.text(&format!("got {encoded}")), "got [redacted]");
    }

    #[test]
    fn short_derived_forms_are_not_looked_for() {
        // The credential decodes to `bob:pw`: that is looked for, the two-letter password alone
        // is not, or every "pw" in every tool description would be redacted.
        let secrets = of(&[&STANDARD.encode("bob:pw")]);
        assert_eq!(secrets.text("a pw here"), "a pw here");
        assert_eq!(secrets.text("bob:pw"), "[redacted]");
    }

    #[test]
    fn every_string_in_a_value_is_redacted_keys_included() {
        let secrets = of(&["s3cr3t"]);
        let result = json!({
            "content": [{"type": "text", "text": "token s3cr3t"}],
            "structuredContent": {"s3cr3t": ["x s3cr3t", 1, null]}
        });
        assert_eq!(
            secrets.value(result),
            json!({
                "content": [{"type": "text", "text": "token [redacted]"}],
                "structuredContent": {"[redacted]": ["x [redacted]", 1, null]}
            })
        );
    }

    /// A tool that carries `echo` in every field that holds text.
    fn echoing_tool(echo: &str) -> Tool {
        let schema = json!({
            "type": "object",
            "title": format!("input {echo}"),
            "properties": {"mode": {
                "type": "string",
                "description": format!("send {echo}"),
                "enum": [echo, "plain"],
                "default": echo,
            }},
        });
        let mut annotations = rmcp::model::ToolAnnotations::default();
        annotations.title = Some(format!("annotated {echo}"));
        Tool::new(
            format!("tool_{echo}"),
            format!("Described with {echo}"),
            Arc::new(schema.as_object().unwrap().clone()),
        )
        .with_title(format!("titled {echo}"))
        .with_annotations(annotations)
        .with_raw_output_schema(Arc::new(
            json!({"type": "object", "description": echo})
                .as_object()
                .unwrap()
                .clone(),
        ))
        .with_meta(rmcp::model::MetaObject(
            json!({"note": echo}).as_object().unwrap().clone(),
        ))
    }

    #[test]
    fn a_tool_is_redacted_in_every_part() {
        let secret = "tok-8e1f0c";
        let tool = of(&[secret]).tool(echoing_tool(secret));
        let text = serde_json::to_string(&tool).unwrap();
        assert!(!text.contains(secret), "{text}");
        assert_eq!(tool.name, "tool_[redacted]");
        assert_eq!(tool.title.as_deref(), Some("titled [redacted]"));
        assert_eq!(
            tool.input_schema["properties"]["mode"]["enum"],
            json!(["[redacted]", "plain"])
        );
        assert_eq!(
            tool.annotations.unwrap().title.as_deref(),
            Some("annotated [redacted]")
        );
        assert_eq!(
            tool.meta.unwrap().0["note"],
            json!("[redacted]"),
            "`_meta` is redacted, not dropped"
        );
    }

    #[test]
    fn a_tool_that_no_longer_parses_is_redacted_field_by_field() {
        let secret = "tok-8e1f0c";
        let tool = of(&[secret]).tool_by_field(echoing_tool(secret));
        let text = serde_json::to_string(&tool).unwrap();
        assert!(!text.contains(secret), "{text}");
        assert_eq!(
            tool.description.as_deref(),
            Some("Described with [redacted]")
        );
        assert_eq!(tool.meta, None);
    }

    #[test]
    fn nothing_is_changed_without_secrets() {
        let tool = echoing_tool("anything");
        assert_eq!(Secrets::default().tool(tool.clone()), tool);
    }
}
