//! Reading the person's answer, and the question's summary of a call's arguments.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use serde_json::{json, Map, Value};

use super::{choice, summary, FOR_SESSION, IN_QUESTION, ONCE, ON_PAGE};

fn answered(result: Value) -> String {
    json!({"jsonrpc": "2.0", "id": "approval-1", "result": result}).to_string()
}

#[test]
fn an_accepted_answer_is_the_persons_choice() {
    let once = answered(json!({"action": "accept", "content": {"decision": "once"}}));
    assert_eq!(choice(&once), Ok(ONCE));
    let session = answered(json!({"action": "accept", "content": {"decision": "session"}}));
    assert_eq!(choice(&session), Ok(FOR_SESSION));
}

#[test]
fn anything_but_a_clear_yes_is_no() {
    for (response, why) in [
        (answered(json!({"action": "decline"})), "declined"),
        (answered(json!({"action": "cancel"})), "dismissed"),
        (
            answered(json!({"action": "accept", "content": {}})),
            "neither",
        ),
        (
            answered(json!({"action": "accept", "content": {"decision": "always"}})),
            "neither",
        ),
        (
            json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "no UI"}})
                .to_string(),
            "could not ask (no UI)",
        ),
        ("not json".to_owned(), "not JSON"),
    ] {
        let refused = choice(&response).unwrap_err();
        assert!(refused.contains(why), "{response}: {refused}");
    }
}

#[test]
fn the_question_shows_each_argument_cut_to_size() {
    let long = "x".repeat(500);
    let arguments = json!({"owner": "acme", "body": long, "count": 3, "labels": ["a", "b"]});
    let Value::Object(arguments) = arguments else {
        unreachable!()
    };
    let text = summary(&arguments, IN_QUESTION);
    assert!(text.contains("  owner: \"acme\""), "{text}");
    assert!(text.contains("  count: 3"), "{text}");
    assert!(text.contains(r#"  labels: ["a","b"]"#), "{text}");
    assert!(
        text.contains(&format!(
            "  body: \"{}\"… [500 chars, cut]",
            "x".repeat(IN_QUESTION.value_chars)
        )),
        "{text}"
    );
    assert_eq!(summary(&Map::new(), IN_QUESTION), "(no arguments)");
}

/// `value`'s fields, as a call's arguments.
fn arguments_of(value: Value) -> Map<String, Value> {
    let Value::Object(arguments) = value else {
        unreachable!()
    };
    arguments
}

#[test]
fn the_approval_page_shows_at_length_what_the_question_cuts() {
    let content = "line of the file\n".repeat(200);
    let arguments = arguments_of(json!({"path": "notes.md", "content": content}));
    let question = summary(&arguments, IN_QUESTION);
    assert!(question.contains("… [3400 chars, cut]"), "{question}");
    let page = summary(&arguments, ON_PAGE);
    let whole = serde_json::to_string(&content).unwrap();
    assert!(
        page.contains(&format!("  content: {whole}")),
        "the page shows it whole"
    );
    assert!(!page.contains("cut]"));
}

#[test]
fn an_argument_cannot_pass_for_another_line_or_hide_part_of_itself() {
    // A value forging an argument line, a value reversed on screen by a bidirectional
    // override, a zero-width space, and a name that reads as part of the question.
    let arguments = arguments_of(json!({
        "repo": "acme/sandbox\n  repo: acme/sandbox-test",
        "path": "report\u{202e}fdp.exe",
        "nested": {"who": "Ada\u{200b}\u{2028}Lovelace"},
        "mode: dry-run\n  force": true,
    }));
    let text = summary(&arguments, IN_QUESTION);
    assert_eq!(text.lines().count(), 4, "one line an argument: {text}");
    assert!(
        text.contains(r#"  repo: "acme/sandbox\n  repo: acme/sandbox-test""#),
        "{text}"
    );
    assert!(text.contains(r#"  path: "report\u202efdp.exe""#), "{text}");
    assert!(
        text.contains(r#"  nested: {"who":"Ada\u200b\u2028Lovelace"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"  "mode: dry-run\n  force": true"#),
        "{text}"
    );
    assert!(
        !text.contains(['\u{202e}', '\u{200b}', '\u{2028}']),
        "nothing invisible or reordering: {text}"
    );
}

#[test]
fn long_first_arguments_cannot_push_the_later_ones_out_of_sight() {
    let mut padded: Map<String, Value> = (0..20)
        .map(|n| (format!("pad{n}"), json!("y".repeat(500))))
        .collect();
    padded.insert("repo".into(), json!("acme/production"));
    let text = summary(&padded, IN_QUESTION);
    assert!(text.ends_with(r#"  repo: "acme/production""#), "{text}");
    let value_chars = IN_QUESTION.summary_chars / 21;
    assert!(text.contains(&format!(
        "\"{}\"… [500 chars, cut]",
        "y".repeat(value_chars)
    )));

    let shown = IN_QUESTION.arguments_shown;
    let many: Map<String, Value> = (0..shown + 8)
        .map(|n| (format!("field{n}"), json!("z".repeat(50))))
        .collect();
    let text = summary(&many, IN_QUESTION);
    assert_eq!(text.lines().count(), shown + 1, "{text}");
    let value_chars = IN_QUESTION.summary_chars / shown;
    assert!(
        text.contains(&format!("\"{}\"…", "z".repeat(value_chars))),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "  … and 8 more arguments, not shown ({} in all)",
            shown + 8
        )),
        "{text}"
    );
}
