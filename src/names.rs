//! Stable TypeScript identifiers for MCP tool names.
//!
//! MCP tool names may contain hyphens, dots and slashes, start with a digit, or be a JavaScript
//! reserved word; the model needs a valid identifier to call. The original name stays on the
//! wire and in the JSDoc.

use std::collections::{HashMap, HashSet};

/// The global the sandbox harness binds in every program, which no upstream namespace may take.
pub const CONSOLE: &str = "console";

/// JavaScript reserved words and literals that cannot be used as an identifier in module code.
const RESERVED_WORDS: &[&str] = &[
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "implements",
    "import",
    "in",
    "instanceof",
    "interface",
    "let",
    "new",
    "null",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
    "arguments",
    "eval",
    "undefined",
    "NaN",
    "Infinity",
];

/// Names that are valid identifiers but mean something to every plain object: the properties of
/// `Object.prototype`, and `then`, which makes an object a thenable that `await` would call. A
/// function bound under one of them on a namespace object would replace the object's prototype
/// (`__proto__`), be shadowed by or shadow built-in behaviour, or be called by the language
/// itself, so a tool with such a name gets another identifier, and the declaration and the
/// binding agree on it.
const SPECIAL_PROPERTY_NAMES: &[&str] = &[
    "__proto__",
    "__defineGetter__",
    "__defineSetter__",
    "__lookupGetter__",
    "__lookupSetter__",
    "constructor",
    "hasOwnProperty",
    "isPrototypeOf",
    "propertyIsEnumerable",
    "toLocaleString",
    "toString",
    "valueOf",
    "then",
];

/// Whether `word` cannot be used as a JavaScript identifier.
pub fn is_reserved_word(word: &str) -> bool {
    RESERVED_WORDS.contains(&word)
}

/// `name` as an identifier: every character outside `[A-Za-z0-9_$]` becomes `_`, a leading
/// digit or an empty name gets a `_` prefix, and a reserved word or a special property name
/// (`__proto__`, `constructor`, `then`, …) gets a `_` suffix.
pub fn to_identifier(name: &str) -> String {
    let mut ident: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ident.is_empty() || ident.starts_with(|c: char| c.is_ascii_digit()) {
        ident.insert(0, '_');
    }
    if is_reserved_word(&ident) || SPECIAL_PROPERTY_NAMES.contains(&ident.as_str()) {
        ident.push('_');
    }
    ident
}

/// Identifiers for a list of names, in order, unique within the list: the second name that maps
/// to `get_sum` becomes `get_sum_2`, and so on. The same input always gives the same output.
///
/// Each identifier's next number is remembered, so the time is linear even when an upstream
/// lists thousands of names that map to one identifier (`x-`, `x.`, `x/`, …).
pub fn unique_identifiers<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut taken = HashSet::new();
    let mut next_number: HashMap<String, usize> = HashMap::new();
    names
        .into_iter()
        .map(|name| {
            let base = to_identifier(name);
            if taken.insert(base.clone()) {
                return base;
            }
            let n = next_number.entry(base.clone()).or_insert(2);
            loop {
                let candidate = format!("{base}_{n}");
                *n += 1;
                if taken.insert(candidate.clone()) {
                    return candidate;
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn hyphens_dots_and_slashes_become_underscores() {
        assert_eq!(to_identifier("get-sum"), "get_sum");
        assert_eq!(to_identifier("repo.list/all"), "repo_list_all");
    }

    #[test]
    fn leading_digits_and_reserved_words_are_made_valid() {
        assert_eq!(to_identifier("2fa-check"), "_2fa_check");
        assert_eq!(to_identifier("delete"), "delete_");
        assert_eq!(to_identifier(""), "_");
    }

    #[test]
    fn special_property_names_get_a_suffix_and_stay_unique() {
        for name in SPECIAL_PROPERTY_NAMES {
            let ident = to_identifier(name);
            assert_eq!(ident, format!("{name}_"));
            assert!(!SPECIAL_PROPERTY_NAMES.contains(&ident.as_str()));
        }
        assert_eq!(
            unique_identifiers(["__proto__", "__proto___", "toString", "tostring"]),
            ["__proto___", "__proto____2", "toString_", "tostring"]
        );
    }

    #[test]
    fn colliding_names_get_numbered_suffixes_in_order() {
        assert_eq!(
            unique_identifiers(["a-b", "a_b", "a.b"]),
            ["a_b", "a_b_2", "a_b_3"]
        );
        assert_eq!(
            unique_identifiers(["a_b_2", "a-b", "a.b", "a/b", "a_b_3"]),
            ["a_b_2", "a_b", "a_b_3", "a_b_4", "a_b_3_2"]
        );
    }
}
