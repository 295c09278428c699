//! Finding the functions a query is about: BM25 over each function's words.
//!
//! A function's words come from its names (namespace, identifier, MCP name, title), its
//! parameter names, its description, and its parameters' descriptions and enum values, with the
//! names counting most. Words split at snake_case, camelCase and kebab-case boundaries, plurals
//! fold to the singular, and a few verbs agents use expand to the words tools use ("open a PR"
//! also looks for "create pull request").

use super::catalog::Catalog;

mod index;

pub use index::SearchIndex;
use index::Words;

/// How many ranked matches one search answer shows at most; a query that names a namespace
/// shows all of it, within the answer's budget.
pub const SEARCH_RESULT_LIMIT: usize = 8;

/// BM25's term-frequency saturation and length normalisation.
const BM25_K1: f64 = 1.2;
const BM25_B: f64 = 0.75;

/// How much a synonym counts against a word the query used.
const SYNONYM_WEIGHT: f64 = 0.5;

/// Words that say nothing about which tool is meant.
const STOP_WORDS: &[&str] = &[
    "a", "all", "an", "and", "at", "by", "do", "does", "for", "from", "how", "i", "in", "into",
    "is", "it", "me", "my", "of", "on", "once", "or", "several", "some", "that", "the", "this",
    "to", "what", "which", "with",
];

/// Words agents use → words tools use.
const SYNONYMS: &[(&str, &[&str])] = &[
    ("add", &["create"]),
    ("approve", &["review"]),
    ("change", &["update"]),
    ("close", &["update", "state"]),
    ("details", &["get"]),
    ("edit", &["update"]),
    ("fetch", &["get"]),
    ("find", &["search"]),
    ("lookup", &["search"]),
    ("make", &["create"]),
    ("modify", &["update"]),
    ("new", &["create"]),
    ("open", &["create"]),
    ("pr", &["pull", "request"]),
    ("read", &["get"]),
    ("remove", &["delete"]),
    ("repo", &["repository"]),
    ("show", &["get"]),
    ("view", &["get"]),
];

/// What a search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'a> {
    /// The matches as `(namespace, ident)` pairs, best first.
    pub matches: Vec<(&'a str, &'a str)>,
    /// Whether the query named them (a namespace, or `namespace.function`), rather than
    /// ranking them by its words.
    pub named: bool,
}

/// Every match for `query`, best first, weighing the functions' words `index` keeps.
///
/// `namespace.function` (or just a namespace name) selects exactly that, so a model that
/// already knows the name gets the declaration without ranking.
pub fn search<'a>(catalog: &'a Catalog, query: &str, index: &SearchIndex) -> Found<'a> {
    let query = query.trim();
    if let Some(matches) = exact_match(catalog, query) {
        return Found {
            matches,
            named: true,
        };
    }
    let documents = index.words(catalog);
    let terms = query_terms(query);
    let held: Vec<Held> = (documents.iter())
        .map(|(_, _, words)| Held::of(words, &terms))
        .collect();
    let bm25 = Bm25::new(&held, terms.len());
    let mut scored: Vec<(f64, &str, &str)> = (documents.iter().zip(&held))
        .filter(|(_, held)| !held.terms.is_empty())
        .map(|((namespace, function, _), held)| {
            let score = bm25.score(held, &terms);
            (score, *namespace, function.ident.as_str())
        })
        .filter(|(score, _, _)| *score > 0.0)
        .collect();
    // Stable: ties keep catalog order.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    Found {
        matches: scored.into_iter().map(|(_, n, f)| (n, f)).collect(),
        named: false,
    }
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

/// The query's words with their weights: its own words, then their synonyms.
fn query_terms(query: &str) -> Vec<(String, f64)> {
    let mut terms: Vec<(String, f64)> = Vec::new();
    let mut push = |term: String, weight: f64| match terms.iter_mut().find(|(t, _)| *t == term) {
        Some((_, existing)) => *existing = existing.max(weight),
        None => terms.push((term, weight)),
    };
    for word in words(query) {
        if let Some((_, expansions)) = SYNONYMS.iter().find(|(w, _)| *w == word) {
            for expansion in *expansions {
                push((*expansion).to_owned(), SYNONYM_WEIGHT);
            }
        }
        push(word, 1.0);
    }
    terms
}

/// Which of the query's terms one function holds, and how often each counts there.
struct Held {
    /// Each term the function holds, by its index among the query's, with its count.
    terms: Vec<(usize, usize)>,
    /// The function's length.
    length: usize,
}

impl Held {
    fn of(words: &Words, terms: &[(String, f64)]) -> Self {
        let terms = (terms.iter().enumerate())
            .filter_map(|(i, (term, _))| Some((i, *words.counts.get(term)?)))
            .collect();
        Self {
            terms,
            length: words.length,
        }
    }
}

/// Collection statistics for BM25, of the query's terms.
struct Bm25 {
    documents: f64,
    average_length: f64,
    /// How many functions hold each term, by the term's index.
    document_frequency: Vec<usize>,
}

impl Bm25 {
    fn new(held: &[Held], terms: usize) -> Self {
        let mut document_frequency = vec![0; terms];
        for (term, _) in held.iter().flat_map(|h| &h.terms) {
            document_frequency[*term] += 1;
        }
        let documents = held.len().max(1) as f64;
        let total_length: usize = held.iter().map(|h| h.length).sum();
        Self {
            documents,
            average_length: total_length as f64 / documents,
            document_frequency,
        }
    }

    fn score(&self, held: &Held, terms: &[(String, f64)]) -> f64 {
        let length = held.length as f64;
        let norm = BM25_K1 * (1.0 - BM25_B + BM25_B * length / self.average_length.max(1.0));
        (held.terms.iter())
            .map(|&(term, count)| {
                let (tf, df) = (count as f64, self.document_frequency[term] as f64);
                let idf = (1.0 + (self.documents - df + 0.5) / (df + 0.5)).ln();
                terms[term].1 * idf * tf * (BM25_K1 + 1.0) / (tf + norm)
            })
            .sum()
    }
}

/// Lower-case words of `text` without stop words, split at non-alphanumerics and at camelCase
/// boundaries, plurals folded to the singular.
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
    out.into_iter()
        .filter(|w| !STOP_WORDS.contains(&w.as_str()))
        .map(singular)
        .collect()
}

/// `repositories` → `repository`, `files` → `file`; short words and `-ss` words stay.
fn singular(word: String) -> String {
    if word.len() > 4 && word.ends_with("ies") {
        format!("{}y", &word[..word.len() - 3])
    } else if word.len() > 3
        && word.ends_with('s')
        && !word.ends_with("ss")
        && !word.ends_with("us")
    {
        word[..word.len() - 1].to_owned()
    } else {
        word
    }
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

    fn catalog_from(name: &str, fixture: &str) -> Catalog {
        let listed: Value = serde_json::from_str(fixture).unwrap();
        let tools: Vec<Tool> = serde_json::from_value(listed["tools"].clone()).unwrap();
        Catalog::new(vec![UpstreamTools::new(name, Ok(tools))])
    }

    fn github() -> Catalog {
        catalog_from(
            "github",
            include_str!("../../tests/fixtures/server-github.tools.json"),
        )
    }

    #[test]
    fn words_split_cases_drop_stop_words_and_fold_plurals() {
        assert_eq!(
            words("getPullRequests for add_issue-comment of repositories"),
            [
                "get",
                "pull",
                "request",
                "add",
                "issue",
                "comment",
                "repository"
            ]
        );
    }

    #[test]
    fn natural_language_queries_find_the_intended_github_tool_in_the_top_three() {
        let catalog = github();
        let cases = [
            ("open a pull request", "create_pull_request"),
            ("comment on an issue", "add_issue_comment"),
            ("create a new repository", "create_repository"),
            ("fork a repo", "fork_repository"),
            ("make a new branch", "create_branch"),
            ("read a file from a repository", "get_file_contents"),
            ("commit several files at once", "push_files"),
            ("edit a file in a repo", "create_or_update_file"),
            ("find repositories about rust", "search_repositories"),
            ("report a new issue", "create_issue"),
            ("list open issues", "list_issues"),
            ("close an issue", "update_issue"),
            ("search code for a function name", "search_code"),
            ("find a user", "search_users"),
            ("show details of issue 42", "get_issue"),
            ("merge a pull request", "merge_pull_request"),
            (
                "which files changed in a pull request",
                "get_pull_request_files",
            ),
            ("check the CI status of a PR", "get_pull_request_status"),
            ("approve a pull request", "create_pull_request_review"),
            ("recent commits on a branch", "list_commits"),
            (
                "update a PR branch with the base branch",
                "update_pull_request_branch",
            ),
            (
                "review comments on a pull request",
                "get_pull_request_comments",
            ),
            ("list pull requests", "list_pull_requests"),
            ("search issues and pull requests", "search_issues"),
        ];
        let misses: Vec<String> = cases
            .iter()
            .filter_map(|(query, intended)| {
                let top: Vec<&str> = (search(&catalog, query, &SearchIndex::default())
                    .matches
                    .into_iter())
                .take(3)
                .map(|(_, f)| f)
                .collect();
                (!top.contains(intended))
                    .then(|| format!("{query:?}: wanted {intended}, got {top:?}"))
            })
            .collect();
        assert!(misses.is_empty(), "{}", misses.join("\n"));
    }

    #[test]
    fn exact_names_select_one_function_or_one_namespace() {
        let catalog = github();
        let one = search(&catalog, "github.create_issue", &SearchIndex::default());
        assert_eq!(one.matches, [("github", "create_issue")]);
        assert!(one.named);
        assert_eq!(
            search(&catalog, "github", &SearchIndex::default())
                .matches
                .len(),
            26
        );
    }

    #[test]
    fn nothing_matching_returns_nothing() {
        assert!(search(
            &github(),
            "weather forecast tomorrow",
            &SearchIndex::default()
        )
        .matches
        .is_empty());
    }

    #[test]
    fn every_match_is_found_ranked() {
        let schema = Arc::new(json!({"type": "object"}).as_object().unwrap().clone());
        let tools = (0..20)
            .map(|i| Tool::new(format!("echo_{i}"), "Echo", schema.clone()))
            .collect();
        let catalog = Catalog::new(vec![UpstreamTools::new("many", Ok(tools))]);
        let found = search(&catalog, "echo", &SearchIndex::default());
        assert_eq!(found.matches.len(), 20);
        assert!(!found.named);
    }
}
