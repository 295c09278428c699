//! Finding the functions a query is about.
//!
//! Plain term matching: the query and each function's names, parameter names and description
//! are split into lower-case words (snake_case, camelCase and kebab-case all split), and a
//! function scores by how many query words it contains, names counting most.

use super::catalog::{Catalog, Function};

/// How many functions one search returns at most.
pub const SEARCH_RESULT_LIMIT: usize = 8;

/// Weights of a query word found in each part of a function.
const NAME_WEIGHT: u32 = 3;
const PARAMETER_WEIGHT: u32 = 2;
const DESCRIPTION_WEIGHT: u32 = 1;

/// The best matches for `query`, best first, as `(namespace, ident)` pairs.
///
/// `namespace.function` (or just a namespace name) selects exactly that, so a model that
/// already knows the name gets the declaration without ranking.
pub fn search<'a>(catalog: &'a Catalog, query: &str) -> Vec<(&'a str, &'a str)> {
    let query = query.trim();
    if let Some(exact) = exact_match(catalog, query) {
        return exact;
    }
    let terms = words(query);
    let mut scored: Vec<(u32, &str, &str)> = catalog
        .namespaces()
        .iter()
        .flat_map(|n| n.functions.iter().map(move |f| (n.name.as_str(), f)))
        .map(|(namespace, function)| {
            (
                score(namespace, function, &terms),
                namespace,
                function.ident.as_str(),
            )
        })
        .filter(|(score, _, _)| *score > 0)
        .collect();
    // Stable sort: ties keep catalog order.
    scored.sort_by_key(|(score, _, _)| std::cmp::Reverse(*score));
    scored
        .into_iter()
        .take(SEARCH_RESULT_LIMIT)
        .map(|(_, n, f)| (n, f))
        .collect()
}

fn exact_match<'a>(catalog: &'a Catalog, query: &str) -> Option<Vec<(&'a str, &'a str)>> {
    if let Some((namespace, ident)) = query.split_once('.') {
        let function = catalog.function(namespace, ident)?;
        let namespace = catalog.namespaces().iter().find(|n| n.name == namespace)?;
        return Some(vec![(namespace.name.as_str(), function.ident.as_str())]);
    }
    let namespace = catalog.namespaces().iter().find(|n| n.name == query)?;
    Some(
        namespace
            .functions
            .iter()
            .map(|f| (namespace.name.as_str(), f.ident.as_str()))
            .collect(),
    )
}

fn score(namespace: &str, function: &Function, terms: &[String]) -> u32 {
    let names = words(&format!(
        "{namespace} {} {}",
        function.ident, function.tool.name
    ));
    let parameters = words(&function.parameter_names().join(" "));
    let description = words(function.tool.description.as_deref().unwrap_or(""));
    terms
        .iter()
        .map(|term| {
            let found = |list: &[String]| list.iter().any(|w| w == term);
            if found(&names) {
                NAME_WEIGHT
            } else if found(&parameters) {
                PARAMETER_WEIGHT
            } else if found(&description) {
                DESCRIPTION_WEIGHT
            } else {
                0
            }
        })
        .sum()
}

/// Lower-case words of `text`, split at non-alphanumerics and at camelCase boundaries.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for chunk in text.split(|c: char| !c.is_alphanumeric()) {
        let mut word = String::new();
        let mut previous_lower = false;
        for c in chunk.chars() {
            if c.is_uppercase() && previous_lower && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
            word.extend(c.to_lowercase());
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use std::sync::Arc;

    use rmcp::model::Tool;
    use serde_json::{json, Value};

    use super::*;
    use crate::codemode::catalog::UpstreamTools;

    fn tool(name: &str, description: &str, properties: &[&str]) -> Tool {
        let properties: serde_json::Map<String, Value> = properties
            .iter()
            .map(|p| (p.to_string(), json!({"type": "string"})))
            .collect();
        let schema = json!({"type": "object", "properties": properties});
        Tool::new(
            name.to_owned(),
            description.to_owned(),
            Arc::new(schema.as_object().unwrap().clone()),
        )
    }

    fn catalog() -> Catalog {
        Catalog::new(vec![UpstreamTools {
            upstream: "github".into(),
            tools: Ok(vec![
                tool(
                    "create_issue",
                    "Create a new issue in a repository",
                    &["owner", "repo", "title"],
                ),
                tool(
                    "add_issue_comment",
                    "Add a comment to an existing issue",
                    &["issue_number", "body"],
                ),
                tool(
                    "createPullRequest",
                    "Open a pull request",
                    &["head", "base"],
                ),
            ]),
        }])
    }

    #[test]
    fn words_split_snake_camel_and_kebab_case() {
        assert_eq!(
            words("getPullRequest add_issue-comment"),
            ["get", "pull", "request", "add", "issue", "comment"]
        );
    }

    #[test]
    fn names_rank_above_descriptions() {
        let catalog = catalog();
        assert_eq!(
            search(&catalog, "comment")[0],
            ("github", "add_issue_comment")
        );
        assert_eq!(
            search(&catalog, "pull request")[0],
            ("github", "createPullRequest")
        );
    }

    #[test]
    fn exact_names_select_one_function_or_one_namespace() {
        let catalog = catalog();
        assert_eq!(
            search(&catalog, "github.create_issue"),
            [("github", "create_issue")]
        );
        assert_eq!(search(&catalog, "github").len(), 3);
    }

    #[test]
    fn nothing_matching_returns_nothing() {
        assert!(search(&catalog(), "weather forecast").is_empty());
    }
}
