//! Caps on what an upstream's tool list may carry, applied where the upstream's object receives
//! the list, before it is stored, checked against or shown: an upstream cannot make `search` slow
//! for every session (a 50,000-value enum), fill the model's context (a 2 MB description) or lose
//! its other tools (a schema nested 120 levels).
//!
//! What passes a cap is cut and marked in words the model reads in the declaration:
//! - a description or title past its length keeps its start and says how long it was;
//! - an enum past [`MAX_ENUM_VALUES`] values (or [`MAX_ENUM_CHARS`] characters) becomes its
//!   values' type, with a note naming the first few; the runner then lets any value of that type
//!   through and the upstream judges it;
//! - a schema object nested past [`MAX_SCHEMA_DEPTH`] levels becomes a schema that accepts
//!   anything and says why;
//! - a tool still larger than [`MAX_TOOL_BYTES`] (a schema of countless properties) keeps its
//!   name and description, its schemas become one that accepts any object, and a note before
//!   its description says why.
//!
//! Cutting only ever widens what the runner accepts, so no call the upstream would take is
//! refused because of a cap. The one cap that drops tools is the whole list's,
//! [`MAX_LIST_BYTES`]: a [`ToolBudget`] keeps the tools that fit, counts the others, and reads no
//! further page.

use std::collections::BTreeSet;
use std::sync::Arc;

use rmcp::model::{JsonObject, Tool};
use serde_json::{Map, Value};

use crate::json_size::json_bytes;

/// Characters of a tool's description kept. Claude Code cuts at 2,048; the longest description
/// among the test upstreams and GitHub's server is under 500.
pub const MAX_TOOL_DESCRIPTION_CHARS: usize = 1_800;

/// Characters kept of a title, and of a description inside a schema.
pub const MAX_SCHEMA_TEXT_CHARS: usize = 1_000;

/// Values an enum may list before it is cut.
pub const MAX_ENUM_VALUES: usize = 200;

/// Characters (as JSON) an enum may take before it is cut.
pub const MAX_ENUM_CHARS: usize = 20_000;

/// Values a cut enum's note names.
const ENUM_VALUES_NAMED: usize = 20;

/// Characters of each value a cut enum's note names.
const ENUM_VALUE_CHARS: usize = 40;

/// Levels of objects and arrays a schema may nest (its root is level 1). Hand-written and
/// generated schemas stay under 10; 32 leaves room for deep but honest ones.
pub const MAX_SCHEMA_DEPTH: usize = 32;

/// Bytes (as JSON) one tool may take once its texts, enums and depth are capped. The largest
/// tool of the captured real servers (GitHub's, server-everything) takes under 2 KiB.
pub const MAX_TOOL_BYTES: usize = 64 * 1024;

/// Bytes (as JSON) of one upstream's whole list, its capped tools summed. The list is sent to
/// and read by the Worker for every session whose scope holds the upstream, in the isolate
/// those sessions share, so an upstream listing without end would take the memory of every
/// session. 20,000 small tools take about 2 MiB.
pub const MAX_LIST_BYTES: usize = 4 * 1024 * 1024;

/// An upstream's tool list gathered page by page, each tool capped, within [`MAX_LIST_BYTES`].
#[derive(Debug, Default)]
pub struct ToolBudget {
    tools: Vec<Tool>,
    bytes: usize,
    left_out: usize,
    full: bool,
}

impl ToolBudget {
    /// Adds a page's `tools`, each capped. Once one does not fit the list's bytes, it and every
    /// later one are counted as left out, not kept.
    pub fn add(&mut self, tools: Vec<Tool>) {
        for tool in tools {
            let fitted = (!self.full).then(|| fit_tool(cap_tool(tool))).flatten();
            match fitted {
                Some((tool, bytes)) if self.bytes + bytes <= MAX_LIST_BYTES => {
                    self.bytes += bytes;
                    self.tools.push(tool);
                }
                Some(_) => {
                    self.full = true;
                    self.left_out += 1;
                }
                None => self.left_out += 1,
            }
        }
    }

    /// Whether the list's bytes are spent, so no later page is worth reading.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// The tools kept, and how many the upstream listed that were left out.
    pub fn finish(self) -> (Vec<Tool>, usize) {
        (self.tools, self.left_out)
    }
}

/// `tool`, already capped, with its bytes as JSON: past [`MAX_TOOL_BYTES`] its schemas become
/// one that accepts any object, and its description starts by saying why (first, so a
/// declaration that quotes only the start of a long description still shows it). `None` when
/// it is still too large, for a name, annotations or metadata of that size.
fn fit_tool(mut tool: Tool) -> Option<(Tool, usize)> {
    let bytes = json_bytes(&tool);
    if bytes <= MAX_TOOL_BYTES {
        return Some((tool, bytes));
    }
    let note = format!(
        "[cut by the runner: the upstream's definition of this tool takes {bytes} bytes, over \
         the runner's {MAX_TOOL_BYTES}; its parameters are not listed, any arguments are passed \
         on, and the upstream checks them]"
    );
    tool.description = Some(match tool.description.as_deref() {
        Some(text) if !text.trim().is_empty() => format!("{note}\n{text}").into(),
        _ => note.into(),
    });
    let mut any_object = Map::new();
    any_object.insert("type".into(), Value::String("object".into()));
    tool.input_schema = Arc::new(any_object);
    tool.output_schema = None;
    let bytes = json_bytes(&tool);
    (bytes <= MAX_TOOL_BYTES).then_some((tool, bytes))
}

/// One tool with its description, titles and schemas capped.
fn cap_tool(mut tool: Tool) -> Tool {
    if let Some(description) = tool.description.take() {
        tool.description = Some(cut_text(&description, MAX_TOOL_DESCRIPTION_CHARS).into());
    }
    tool.title = tool
        .title
        .map(|title| cut_text(&title, MAX_SCHEMA_TEXT_CHARS));
    if let Some(annotations) = tool.annotations.as_mut() {
        annotations.title = annotations
            .title
            .take()
            .map(|title| cut_text(&title, MAX_SCHEMA_TEXT_CHARS));
    }
    tool.input_schema = Arc::new(cap_schema(Arc::unwrap_or_clone(tool.input_schema)));
    tool.output_schema = tool
        .output_schema
        .map(|schema| Arc::new(cap_schema(Arc::unwrap_or_clone(schema))));
    tool
}

/// A root schema with every cap applied.
fn cap_schema(schema: JsonObject) -> JsonObject {
    cap_object(schema, 1)
}

/// `object`, found at nesting `level`, capped.
fn cap_object(mut object: Map<String, Value>, level: usize) -> Map<String, Value> {
    if level > MAX_SCHEMA_DEPTH {
        return depth_marker();
    }
    let mut notes = Vec::new();
    if let Some(Value::Array(values)) = object.get("enum") {
        let chars: usize = values.iter().map(json_bytes).sum();
        if values.len() > MAX_ENUM_VALUES || chars > MAX_ENUM_CHARS {
            notes.push(enum_note(values, chars));
            if !object.contains_key("type") {
                object.insert("type".into(), type_of_values(values));
            }
            object.remove("enum");
        }
    }
    for key in ["description", "title"] {
        if let Some(Value::String(text)) = object.get_mut(key) {
            if text.chars().count() > MAX_SCHEMA_TEXT_CHARS {
                *text = cut_text(text, MAX_SCHEMA_TEXT_CHARS);
            }
        }
    }
    let mut capped: Map<String, Value> = object
        .into_iter()
        .map(|(key, value)| (key, cap_value(value, level + 1)))
        .collect();
    if !notes.is_empty() {
        let description = match capped.get("description") {
            Some(Value::String(text)) if !text.trim().is_empty() => {
                format!("{text}\n{}", notes.join("\n"))
            }
            _ => notes.join("\n"),
        };
        capped.insert("description".into(), Value::String(description));
    }
    capped
}

/// A value inside a schema, found at nesting `level`, capped.
fn cap_value(value: Value, level: usize) -> Value {
    match value {
        Value::Object(object) => Value::Object(cap_object(object, level)),
        // An array holds schemas (`anyOf`, `prefixItems`) or plain values (`required`, `enum`);
        // only the objects in it are schemas that can be cut, so it is kept and its items capped.
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| cap_value(item, level + 1))
                .collect(),
        ),
        other => other,
    }
}

/// The schema that replaces one nested too deep: it accepts anything, and says why.
fn depth_marker() -> Map<String, Value> {
    let mut marker = Map::new();
    marker.insert(
        "description".into(),
        Value::String(format!(
            "[cut by the runner: the upstream's schema nests deeper than {MAX_SCHEMA_DEPTH} \
             levels here; what it says below this point is not shown, and the upstream checks \
             it]"
        )),
    );
    marker
}

/// The note that replaces an enum too large to list.
fn enum_note(values: &[Value], chars: usize) -> String {
    let named: Vec<String> = values
        .iter()
        .take(ENUM_VALUES_NAMED)
        .map(|value| cut_text(&value.to_string(), ENUM_VALUE_CHARS))
        .collect();
    format!(
        "[cut by the runner: the upstream lists {} allowed values ({chars} characters), too many \
         to show; the first {} are {}, …; any value of this type is passed on, and the upstream \
         checks it]",
        values.len(),
        named.len(),
        named.join(", ")
    )
}

/// The JSON Schema `type` that admits every one of `values`.
fn type_of_values(values: &[Value]) -> Value {
    let kinds: BTreeSet<&str> = values
        .iter()
        .map(|value| match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        })
        .collect();
    match kinds.len() {
        1 => Value::String(kinds.into_iter().next().unwrap_or("string").into()),
        _ => Value::Array(kinds.into_iter().map(|k| Value::String(k.into())).collect()),
    }
}

/// `text` cut to `max` characters, marked with how long it was; unchanged when it fits.
fn cut_text(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => format!(
            "{}… [cut by the runner: {} characters, the first {max} shown]",
            &text[..cut],
            text.chars().count()
        ),
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::json;

    use super::*;

    fn schema(value: Value) -> JsonObject {
        value.as_object().cloned().expect("an object")
    }

    fn tool(description: &str, input: Value) -> Tool {
        Tool::new(
            "t".to_owned(),
            description.to_owned(),
            Arc::new(schema(input)),
        )
    }

    #[test]
    fn honest_tools_are_left_as_they_are() {
        let input = json!({"type": "object", "properties": {
            "kind": {"type": "string", "enum": ["a", "b"], "description": "Which"},
            "nested": {"type": "object", "properties": {"x": {"type": "array", "items": {"type": "number"}}}}
        }, "required": ["kind"]});
        let original = tool("Does a thing.", input);
        assert_eq!(cap_tool(original.clone()), original);
    }

    #[test]
    fn a_long_description_keeps_its_start_and_says_how_long_it_was() {
        let capped = cap_tool(tool(&"é".repeat(2_000_000), json!({"type": "object"})));
        let description = capped.description.unwrap();
        assert!(description.starts_with(&"é".repeat(MAX_TOOL_DESCRIPTION_CHARS)));
        assert!(description
            .ends_with("… [cut by the runner: 2000000 characters, the first 1800 shown]"));
        let parameter = json!({"type": "object", "properties": {"p": {"type": "string", "description": "d".repeat(5_000)}}});
        let capped = cap_schema(schema(parameter));
        let text = capped["properties"]["p"]["description"].as_str().unwrap();
        assert!(text.contains("[cut by the runner: 5000 characters, the first 1000 shown]"));
    }

    #[test]
    fn a_huge_enum_becomes_its_type_with_a_note_and_any_value_of_it_passes() {
        let values: Vec<Value> = (0..50_000).map(|i| json!(format!("v{i}"))).collect();
        let input = json!({"type": "object", "properties": {"code": {"enum": values, "description": "A code"}}});
        let capped = cap_schema(schema(input));
        let code = &capped["properties"]["code"];
        assert_eq!(code.get("enum"), None);
        assert_eq!(code["type"], "string");
        let note = code["description"].as_str().unwrap();
        assert!(
            note.starts_with("A code\n[cut by the runner: the upstream lists 50000 allowed values")
        );
        assert!(note.contains(r#"the first 20 are "v0", "v1","#));
        assert!(!note.contains("\"v20\""));
        let checker = crate::upstream::arguments::ArgumentChecker::new(&capped);
        assert_eq!(checker.check(&json!({"code": "v49999"})), Ok(()));
        assert!(checker.check(&json!({"code": 7})).is_err());
    }

    #[test]
    fn an_enum_of_mixed_values_admits_each_of_their_types() {
        let values: Vec<Value> = (0..300)
            .map(|i| if i % 2 == 0 { json!(i) } else { Value::Null })
            .collect();
        let capped = cap_schema(schema(json!({"enum": values})));
        assert_eq!(capped["type"], json!(["null", "number"]));
    }

    #[test]
    fn a_schema_nested_past_the_limit_is_cut_there_and_the_rest_kept() {
        let mut deep = json!({"type": "string"});
        for _ in 0..120 {
            deep = json!({"type": "object", "properties": {"child": deep}});
        }
        let input = json!({"type": "object", "properties": {"deep": deep, "flat": {"type": "integer"}}, "required": ["flat"]});
        let capped = Value::Object(cap_schema(schema(input)));
        assert_eq!(capped["properties"]["flat"], json!({"type": "integer"}));
        assert_eq!(capped["required"], json!(["flat"]));
        assert_eq!(
            nesting(&capped),
            MAX_SCHEMA_DEPTH + 1,
            "the marker is the deepest object"
        );
        assert!(capped.to_string().contains(
            "[cut by the runner: the upstream's schema nests deeper than 32 levels here"
        ));
        let checker = crate::upstream::arguments::ArgumentChecker::new(capped.as_object().unwrap());
        let mut argument = json!(5);
        for _ in 0..40 {
            argument = json!({ "child": argument });
        }
        let arguments = json!({"flat": 1, "deep": argument});
        assert_eq!(
            checker.check(&arguments),
            Ok(()),
            "below the cut, anything goes"
        );
        assert!(checker.check(&json!({"flat": "x"})).is_err());
    }

    /// Levels of objects and arrays in `value`.
    fn nesting(value: &Value) -> usize {
        match value {
            Value::Object(object) => 1 + object.values().map(nesting).max().unwrap_or(0),
            Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
            _ => 0,
        }
    }

    /// A tool named `name` whose one-level schema has `properties` parameters, each described
    /// in 900 characters: about a kilobyte a parameter, none of it cut by the other caps.
    fn wide(name: &str, properties: usize) -> Tool {
        let properties: Map<String, Value> = (0..properties)
            .map(|i| {
                (
                    format!("p{i}"),
                    json!({"type": "string", "description": "d".repeat(900)}),
                )
            })
            .collect();
        let input = json!({"type": "object", "properties": properties});
        Tool::new(name.to_owned(), "Wide.".to_owned(), Arc::new(schema(input)))
    }

    #[test]
    fn a_tool_past_its_bytes_keeps_its_name_and_description_and_takes_any_arguments() {
        let mut budget = ToolBudget::default();
        let mut too_wide = wide("too_wide", 100);
        too_wide.output_schema = Some(Arc::new(schema(json!({"type": "object"}))));
        budget.add(vec![wide("fits", 3), too_wide]);
        let (tools, left_out) = budget.finish();
        assert_eq!(left_out, 0);
        assert_eq!(tools[0], wide("fits", 3));
        let cut = &tools[1];
        assert_eq!(cut.name, "too_wide");
        assert_eq!(cut.output_schema, None);
        assert_eq!(*cut.input_schema, schema(json!({"type": "object"})));
        let description = cut.description.as_deref().unwrap();
        assert!(
            description
                .starts_with("[cut by the runner: the upstream's definition of this tool takes 9"),
            "{description}"
        );
        assert!(description.ends_with("and the upstream checks them]\nWide."));
        assert!(json_bytes(cut) < 1_000);
        let checker = crate::upstream::arguments::ArgumentChecker::new(&cut.input_schema);
        assert_eq!(checker.check(&json!({"p0": 1, "anything": [true]})), Ok(()));
    }

    #[test]
    fn a_tool_too_large_even_cut_is_left_out_and_the_others_kept() {
        let mut budget = ToolBudget::default();
        let named = Tool::new(
            "n".repeat(MAX_TOOL_BYTES),
            "Named at length.",
            Arc::default(),
        );
        budget.add(vec![wide("before", 1), named, wide("after", 1)]);
        assert!(
            !budget.is_full(),
            "one tool too large says nothing of the list"
        );
        let (tools, left_out) = budget.finish();
        let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
        assert_eq!((names, left_out), (vec!["before", "after"], 1));
    }

    #[test]
    fn a_list_past_its_bytes_keeps_the_tools_that_fit_and_counts_the_rest() {
        let mut budget = ToolBudget::default();
        // Each about 56 KiB, under a tool's cap: about 74 fit the list's 4 MiB.
        let page = |from: usize| {
            (from..from + 50)
                .map(|i| wide(&format!("t{i}"), 60))
                .collect()
        };
        budget.add(page(0));
        assert!(!budget.is_full());
        budget.add(page(50));
        assert!(budget.is_full());
        budget.add(page(100));
        let (tools, left_out) = budget.finish();
        assert_eq!(tools.len() + left_out, 150);
        let kept_bytes: usize = tools.iter().map(json_bytes).sum();
        let next_bytes = json_bytes(&wide(&format!("t{}", tools.len()), 60));
        assert!(kept_bytes <= MAX_LIST_BYTES && kept_bytes + next_bytes > MAX_LIST_BYTES);
        let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
        assert_eq!(
            names[..3],
            ["t0", "t1", "t2"],
            "the first listed are kept, in order"
        );
    }

    #[test]
    fn twenty_thousand_small_tools_fit_the_list() {
        let mut budget = ToolBudget::default();
        let tools = (0..20_000).map(|i| {
            let input = schema(json!({"type": "object", "properties": {}}));
            Tool::new(
                format!("x{i:05}"),
                format!("Crowded tool number {i}."),
                Arc::new(input),
            )
        });
        budget.add(tools.collect());
        let (tools, left_out) = budget.finish();
        assert_eq!((tools.len(), left_out), (20_000, 0));
    }
}
