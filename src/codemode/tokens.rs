//! How many tokens a text costs the model, estimated without a tokenizer: budgets are in
//! tokens (what clients cap, e.g. Claude Code's 25,000 per tool result), but a tokenizer's
//! tables are megabytes the Worker should not carry. The estimate follows how byte-pair
//! encoders such as o200k split text (words, digit groups, punctuation, spaces, other scripts)
//! and errs high; `tests/token_budget.rs` holds it against o200k itself.

/// The estimated tokens of `text`.
pub fn estimate(text: &str) -> usize {
    let mut tokens = 0;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let run = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, same: fn(char) -> bool| {
            let mut length: usize = 1;
            while chars.next_if(|&next| same(next)).is_some() {
                length += 1;
            }
            length
        };
        tokens += if c.is_ascii_alphabetic() {
            // A capital after a small letter starts a new piece (`camelCase`); a run of many
            // short pieces is not words (base64, ids) and costs about a token per two letters.
            let (mut length, mut pieces, mut tokens): (usize, usize, usize) = (1, 1, 0);
            let mut piece: usize = 1;
            let mut previous = c;
            while let Some(next) = chars.next_if(char::is_ascii_alphabetic) {
                if previous.is_ascii_lowercase() && next.is_ascii_uppercase() {
                    tokens += piece.div_ceil(LETTERS_PER_TOKEN);
                    pieces += 1;
                    piece = 0;
                }
                piece += 1;
                length += 1;
                previous = next;
            }
            if pieces > 2 && length < pieces * 4 {
                length.div_ceil(2)
            } else {
                tokens + piece.div_ceil(LETTERS_PER_TOKEN)
            }
        } else if c.is_ascii_digit() {
            run(&mut chars, |c| c.is_ascii_digit()).div_ceil(DIGITS_PER_TOKEN)
        } else if c == ' ' {
            // A space usually joins the word after it.
            run(&mut chars, |c| c == ' ').saturating_sub(1)
        } else if c.is_ascii_whitespace() {
            // A line break and its indentation are one token or two.
            run(&mut chars, |c| c.is_ascii_whitespace()).min(2)
        } else if c.is_ascii() {
            run(&mut chars, |c| c.is_ascii_punctuation()).div_ceil(PUNCTUATION_PER_TOKEN)
        } else {
            1
        };
    }
    tokens
}

/// Letters an English-like word spends per token.
const LETTERS_PER_TOKEN: usize = 5;
/// Digits per token (o200k splits numbers in groups of three).
const DIGITS_PER_TOKEN: usize = 3;
/// Punctuation characters per token (JSON's `":`, `",` and `},{` merge).
const PUNCTUATION_PER_TOKEN: usize = 2;

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn words_numbers_punctuation_and_other_scripts_each_cost_their_share() {
        assert_eq!(estimate(""), 0);
        assert_eq!(estimate("hello"), 1);
        assert_eq!(estimate("hello world"), 2);
        assert_eq!(estimate("getIssueComments"), 4);
        assert_eq!(
            estimate("aZbYcXdW"),
            4,
            "not words: a token per two letters"
        );
        assert_eq!(estimate("123456"), 2);
        assert_eq!(estimate(r#"{"a":1}"#), 5);
        assert_eq!(estimate("日本語"), 3);
    }
}
