//! Each function's words, as a search weighs them, kept by the isolate between searches: an
//! upstream may list thousands of tools (its list is capped at 4 MiB, not in tools), and
//! splitting all of their text into words again for every `search` would cost every session on
//! the isolate's one thread that much per query. A function's words are kept with the tool
//! they were read from, and read again only when the upstream changed it.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use rmcp::model::Tool;
use serde_json::Value;

use super::words;
use crate::codemode::catalog::{Catalog, Function};

/// How many times a word counts, by where it appears in a function.
const NAME_WEIGHT: usize = 3;
const PARAMETER_WEIGHT: usize = 2;
const DESCRIPTION_WEIGHT: usize = 1;

/// How many functions of a namespace no longer listed are kept, beyond twice those listed: a
/// person's grant may show fewer tools than another's, and both search the same index.
const SPARE_FUNCTIONS: usize = 64;

/// A function's words with how often each counts, and how many counts they hold in all.
#[derive(Debug, PartialEq)]
pub struct Words {
    /// How often each word counts.
    pub counts: HashMap<String, usize>,
    /// The sum of the counts: the function's length, for BM25.
    pub length: usize,
}

/// The words of the functions searched lately, by namespace and MCP tool name.
#[derive(Default)]
pub struct SearchIndex(RefCell<HashMap<String, HashMap<String, Indexed>>>);

/// One function's words, and what they were read from.
struct Indexed {
    ident: String,
    tool: Tool,
    words: Rc<Words>,
}

impl SearchIndex {
    /// The words of every function in `catalog`, in its order, each read again only when its
    /// tool or identifier changed since the last search; functions of its namespaces that are
    /// no longer listed are let go past a bound.
    pub fn words<'a>(&self, catalog: &'a Catalog) -> Vec<(&'a str, &'a Function, Rc<Words>)> {
        let mut index = self.0.borrow_mut();
        let mut found = Vec::new();
        for namespace in catalog.namespaces() {
            let known = index.entry(namespace.name.clone()).or_default();
            for function in &namespace.functions {
                let words = match known.get(function.tool.name.as_ref()) {
                    Some(indexed)
                        if indexed.ident == function.ident && indexed.tool == function.tool =>
                    {
                        Rc::clone(&indexed.words)
                    }
                    _ => {
                        let words = Rc::new(document(&namespace.name, function));
                        let indexed = Indexed {
                            ident: function.ident.clone(),
                            tool: function.tool.clone(),
                            words: Rc::clone(&words),
                        };
                        known.insert(function.tool.name.to_string(), indexed);
                        words
                    }
                };
                found.push((namespace.name.as_str(), function, words));
            }
            let listed = namespace.functions.len();
            if known.len() > 2 * listed + SPARE_FUNCTIONS {
                let names: HashSet<&str> = (namespace.functions.iter())
                    .map(|f| f.tool.name.as_ref())
                    .collect();
                known.retain(|name, _| names.contains(name.as_str()));
            }
        }
        found
    }
}

/// A function's words: its names count most, then its title and parameter names, then the
/// descriptions and enum values.
fn document(namespace: &str, function: &Function) -> Words {
    let tool = &function.tool;
    let mut counts = HashMap::new();
    let mut add = |text: &str, weight: usize| {
        for word in words(text) {
            *counts.entry(word).or_insert(0) += weight;
        }
    };
    add(
        &format!("{namespace} {} {}", function.ident, tool.name),
        NAME_WEIGHT,
    );
    add(tool.title.as_deref().unwrap_or(""), PARAMETER_WEIGHT);
    add(&function.parameter_names().join(" "), PARAMETER_WEIGHT);
    add(
        tool.description.as_deref().unwrap_or(""),
        DESCRIPTION_WEIGHT,
    );
    if let Some(Value::Object(properties)) = tool.input_schema.get("properties") {
        for property in properties.values() {
            add(
                property
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                DESCRIPTION_WEIGHT,
            );
            let enum_values = property
                .get("enum")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            add(
                &enum_values
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
                DESCRIPTION_WEIGHT,
            );
        }
    }
    let length = counts.values().sum();
    Words { counts, length }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::json;

    use super::*;
    use crate::codemode::catalog::UpstreamTools;

    fn catalog(tools: &[(&str, &str)]) -> Catalog {
        let tools = tools
            .iter()
            .map(|(name, description)| {
                let tool = json!({"name": name, "description": description,
                                  "inputSchema": {"type": "object"}});
                serde_json::from_value(tool).unwrap()
            })
            .collect();
        Catalog::new(vec![UpstreamTools::new("docs", Ok(tools))])
    }

    fn counts(found: &[(&str, &Function, Rc<Words>)]) -> Vec<HashMap<String, usize>> {
        found.iter().map(|(_, _, w)| w.counts.clone()).collect()
    }

    #[test]
    fn a_functions_words_are_read_once_and_again_only_when_its_tool_changes() {
        let index = SearchIndex::default();
        let first = catalog(&[("read_page", "Reads a page."), ("list", "Lists pages.")]);
        let read = index.words(&first);
        let again = index.words(&first);
        assert!(Rc::ptr_eq(&read[0].2, &again[0].2), "kept, not read again");
        assert_eq!(
            read[0].2.counts["read"],
            2 * NAME_WEIGHT + DESCRIPTION_WEIGHT
        );
        assert_eq!(read[0].2.length, read[0].2.counts.values().sum::<usize>());

        let changed = catalog(&[("read_page", "Fetches a page."), ("list", "Lists pages.")]);
        let after = index.words(&changed);
        assert!(
            !Rc::ptr_eq(&read[0].2, &after[0].2),
            "a changed tool is read again"
        );
        assert!(Rc::ptr_eq(&read[1].2, &after[1].2), "the others are kept");
        assert_eq!(
            counts(&after),
            counts(&SearchIndex::default().words(&changed))
        );
    }

    #[test]
    fn functions_no_longer_listed_are_let_go_past_the_bound() {
        let index = SearchIndex::default();
        let names: Vec<String> = (0..200).map(|i| format!("tool_{i}")).collect();
        let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "")).collect();
        index.words(&catalog(&many));
        index.words(&catalog(&many[..100]));
        assert_eq!(
            index.0.borrow()["docs"].len(),
            200,
            "within twice those listed and spare"
        );
        index.words(&catalog(&many[..10]));
        assert_eq!(index.0.borrow()["docs"].len(), 10);
    }
}
