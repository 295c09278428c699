//! The length of a value's JSON text, counted as it is written and never kept: for the caps
//! and metrics that need only the size, so a large value is not copied into a string first.

use std::io;

use serde::Serialize;

/// The bytes of `value`'s compact JSON (as `to_string` writes it); 0 for a value that cannot
/// be serialized.
pub fn json_bytes(value: &impl Serialize) -> usize {
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => 0,
    }
}

/// A writer that keeps only how much it was given.
struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::json;

    use super::*;

    #[test]
    fn counts_exactly_the_bytes_the_json_text_would_have() {
        for value in [
            json!(null),
            json!("caf\u{e9} \"quoted\"\n\u{1}"),
            json!({"a": [1, 2.5, true], "\u{1f600}": {"b": null}}),
        ] {
            assert_eq!(json_bytes(&value), value.to_string().len(), "{value}");
        }
    }
}
