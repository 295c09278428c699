//! Which of an upstream's tools the operator exposes and which need a person's approval:
//! `allow`, `deny` and `approve` lists of patterns, each a tool name (where `*` matches any run
//! of characters) or an `@` selector on the tool's annotations.
//!
//! Annotations are the upstream's own claims about its tools. The selectors read them as the
//! MCP spec defines their defaults: a tool says nothing, so it may write, destroy and reach the
//! open world. An upstream that lies about a tool defeats a selector, never a name pattern.

use rmcp::model::Tool;
use serde::{Deserialize, Serialize};

/// What the runner does with a program's call of a tool, strictest last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// The call is made.
    Allow,
    /// The call waits for a person's approval.
    Approve,
    /// The tool is not shown, and a call is refused.
    Block,
}

/// The annotation selectors a pattern may be.
const SELECTORS: [&str; 4] = ["@readOnly", "@notReadOnly", "@destructive", "@openWorld"];

/// Tool names the operator exposes, hides or wants approved. With `allow`, only matching tools
/// are exposed; `deny` then hides tools from what remains; an exposed tool matching `approve`
/// is called only once a person approves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolFilter {
    /// If set, the only tools exposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<Vec<String>>,
    /// Tools never exposed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
    /// Tools whose every call needs a person's approval.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approve: Vec<String>,
}

impl ToolFilter {
    /// What the filter says of calls of `tool`.
    pub fn verdict(&self, tool: &Tool) -> Verdict {
        let any = |patterns: &[String]| patterns.iter().any(|p| matches(p, tool));
        let allowed = self.allow.as_deref().is_none_or(any);
        if !allowed || any(&self.deny) {
            Verdict::Block
        } else if any(&self.approve) {
            Verdict::Approve
        } else {
            Verdict::Allow
        }
    }

    /// Checks every pattern; on error, the list (`allow`, `deny` or `approve`) and the problem.
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        let lists = [
            ("allow", self.allow.as_deref().unwrap_or_default()),
            ("deny", &self.deny),
            ("approve", &self.approve),
        ];
        for (list, patterns) in lists {
            for pattern in patterns {
                if pattern.is_empty() {
                    return Err((list, "a pattern is empty".to_owned()));
                }
                if pattern.starts_with('@') && !SELECTORS.contains(&pattern.as_str()) {
                    return Err((
                        list,
                        format!(
                            "`{pattern}` is not a selector; use one of {}",
                            SELECTORS.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Whether `tool` matches `pattern`: a name pattern, or a selector on its annotations (with
/// the spec's defaults for what the tool does not say).
fn matches(pattern: &str, tool: &Tool) -> bool {
    let hints = tool.annotations.as_ref();
    let read_only = hints.and_then(|h| h.read_only_hint).unwrap_or(false);
    match pattern {
        "@readOnly" => read_only,
        "@notReadOnly" => !read_only,
        "@destructive" => !read_only && hints.and_then(|h| h.destructive_hint).unwrap_or(true),
        "@openWorld" => hints.and_then(|h| h.open_world_hint).unwrap_or(true),
        _ => glob_matches(pattern, &tool.name),
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
pub(crate) mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use std::sync::Arc;

    use rmcp::model::ToolAnnotations;

    use super::*;

    /// A tool named `name`, with `annotations` if given.
    pub(crate) fn tool(name: &str, annotations: Option<ToolAnnotations>) -> Tool {
        let tool = Tool::new(name.to_owned(), "", Arc::new(serde_json::Map::new()));
        match annotations {
            Some(annotations) => tool.annotate(annotations),
            None => tool,
        }
    }

    fn filter(json: serde_json::Value) -> ToolFilter {
        let filter: ToolFilter = serde_json::from_value(json).unwrap();
        filter.validate().unwrap();
        filter
    }

    #[test]
    fn deny_blocks_approve_asks_and_the_rest_is_allowed() {
        let filter = filter(serde_json::json!({
            "allow": ["get_*", "delete_*"], "deny": ["delete_all"], "approve": ["delete_*"]}));
        let verdict = |name| filter.verdict(&tool(name, None));
        assert_eq!(verdict("get_issue"), Verdict::Allow);
        assert_eq!(verdict("delete_issue"), Verdict::Approve);
        assert_eq!(
            verdict("delete_all"),
            Verdict::Block,
            "deny wins over approve"
        );
        assert_eq!(verdict("create_issue"), Verdict::Block, "not in allow");
    }

    #[test]
    fn selectors_read_annotations_with_the_specs_defaults() {
        let unannotated = tool("x", None);
        let read_only = tool("x", Some(ToolAnnotations::new().read_only(true)));
        let additive = tool(
            "x",
            Some(
                ToolAnnotations::new()
                    .read_only(false)
                    .destructive(false)
                    .open_world(false),
            ),
        );
        let verdict = |selector: &str, tool: &Tool| {
            filter(serde_json::json!({"approve": [selector]})).verdict(tool)
        };
        for selector in ["@notReadOnly", "@destructive", "@openWorld"] {
            assert_eq!(
                verdict(selector, &unannotated),
                Verdict::Approve,
                "{selector}"
            );
        }
        assert_eq!(verdict("@readOnly", &unannotated), Verdict::Allow);
        assert_eq!(verdict("@readOnly", &read_only), Verdict::Approve);
        assert_eq!(verdict("@destructive", &read_only), Verdict::Allow);
        assert_eq!(verdict("@notReadOnly", &additive), Verdict::Approve);
        assert_eq!(verdict("@destructive", &additive), Verdict::Allow);
        assert_eq!(verdict("@openWorld", &additive), Verdict::Allow);
        let only_read = filter(serde_json::json!({"allow": ["@readOnly"]}));
        assert_eq!(only_read.verdict(&read_only), Verdict::Allow);
        assert_eq!(only_read.verdict(&unannotated), Verdict::Block);
    }

    #[test]
    fn an_unknown_selector_is_refused_naming_the_known_ones() {
        let filter: ToolFilter =
            serde_json::from_value(serde_json::json!({"approve": ["@destroys"]})).unwrap();
        let (list, problem) = filter.validate().unwrap_err();
        assert_eq!(list, "approve");
        assert!(problem.contains("@destructive"), "{problem}");
    }

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
