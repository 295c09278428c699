//! Which of an upstream's tools the operator exposes: `allow` and `deny` lists of name
//! patterns.

use serde::{Deserialize, Serialize};

/// Tool names the operator exposes or hides; `*` in a pattern matches any run of characters.
/// With `allow`, only matching tools are exposed; `deny` then hides tools from what remains.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolFilter {
    /// If set, the only tools exposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
    /// Tools never exposed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

impl ToolFilter {
    /// Whether the tool named `tool` (its upstream name) is exposed.
    pub fn permits(&self, tool: &str) -> bool {
        let allowed = self
            .allow
            .as_ref()
            .is_none_or(|patterns| patterns.iter().any(|p| glob_matches(p, tool)));
        allowed && !self.deny.iter().any(|p| glob_matches(p, tool))
    }

    /// Checks every pattern; on error, the list (`allow` or `deny`) and the problem.
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        let patterns = self.allow.iter().flatten().map(|p| ("allow", p));
        for (list, pattern) in patterns.chain(self.deny.iter().map(|p| ("deny", p))) {
            if pattern.is_empty() {
                return Err((list, "a pattern is empty".to_owned()));
            }
        }
        Ok(())
    }
}

/// Whether `name` matches `pattern`, where each `*` matches any run of characters.
fn glob_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let Some(last) = parts.pop() else {
        return rest.is_empty();
    };
    for part in parts {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn tool_patterns_match_with_stars_anywhere() {
        let cases = [
            ("echo", "echo", true),
            ("echo", "echoes", false),
            ("*", "", true),
            ("get_*", "get_", true),
            ("get_*", "set_x", false),
            ("*_admin", "drop_admin", true),
            ("*_admin", "admin", false),
            ("a*b*c", "a_x_b_y_c", true),
            ("a*b*c", "acb", false),
            ("a*a", "a", false),
        ];
        for (pattern, name, expected) in cases {
            assert_eq!(glob_matches(pattern, name), expected, "{pattern} ~ {name}");
        }
    }
}
