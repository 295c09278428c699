//! Redaction: every form of every secret, in text, values and tool lists.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::sync::Arc;

use serde_json::json;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;

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
fn each_form_is_found_alone_in_a_long_text_whether_or_not_it_holds_a_shorter_form() {
    // Text is searched for the forms that hold no shorter one; a longer form is found
    // through the shorter form inside it, and replaced whole.
    let secrets = Secrets::new(
        ["tok-5f3a9c1e".to_owned()],
        ["Bearer tok-5f3a9c1e".to_owned()],
    );
    let padding = "x".repeat(1 << 20);
    let forms = [
        "tok-5f3a9c1e".to_owned(),
        STANDARD.encode("tok-5f3a9c1e"),
        STANDARD.encode("Bearer tok-5f3a9c1e"),
        "Bearer%20tok-5f3a9c1e".to_owned(),
    ];
    for form in forms {
        let redacted = secrets.string(format!("{padding}<{form}>{padding}"));
        assert_eq!(
            redacted.len(),
            2 * padding.len() + "<[redacted]>".len(),
            "{form}"
        );
        assert!(redacted.contains("<[redacted]>"), "{form}");
    }
    let clean = format!("{padding}tok-5f3a9c1{padding}");
    assert_eq!(secrets.string(clean.clone()), clean);
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

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::redact::forms::encodings;

    /// Text around a secret: letters, digits and the punctuation base64, percent-encoding and
    /// credentials are made of, so a neighbour can run into a form.
    const TEXT: &str = "[A-Za-z0-9+/=:%_ -]{0,40}";

    proptest! {
        #[test]
        fn no_form_of_a_secret_is_left_wherever_it_stands(
            secret in "[A-Za-z0-9+/=:_-]{6,24}",
            wrapped in any::<bool>(),
            which in any::<prop::sample::Index>(),
            before in TEXT,
            after in TEXT,
            padding in 0usize..3,
        ) {
            let wrapper = format!("Bearer {secret}");
            let secrets = Secrets::new([secret.clone()], wrapped.then(|| wrapper.clone()));
            let mut forms = encodings(&secret);
            forms.push(secret.clone());
            if wrapped {
                forms.extend(encodings(&wrapper));
            }
            let form = which.get(&forms);
            let long = "x".repeat(padding * 50_000);
            let redacted = secrets.string(format!("{long}{before}{form}{after}{long}"));
            let left: Vec<&String> = secrets.needles.iter().filter(|n| redacted.contains(n.as_str())).collect();
            prop_assert!(left.is_empty(), "{left:?} left in {redacted:.200}");
        }

        #[test]
        fn a_text_with_no_form_is_returned_as_it_is(secret in "[A-Za-z0-9]{8,24}", text in TEXT) {
            let secrets = Secrets::new([secret], []);
            prop_assume!(!secrets.needles.iter().any(|n| text.contains(n.as_str())));
            prop_assert_eq!(secrets.string(text.clone()), text);
        }
    }
}
