//! The forms of a secret an upstream might echo instead of the secret itself.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;

/// The forms of `secret` an upstream might echo instead of the secret itself.
pub(super) fn encodings(secret: &str) -> Vec<String> {
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
