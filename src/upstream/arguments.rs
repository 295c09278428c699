//! Checking a tool call's arguments against the tool's `inputSchema` before the call leaves the
//! runner, so a wrong call fails at once with the JSON path and what was expected, and the
//! upstream never sees it.
//!
//! A schema the validator cannot compile (a remote `$ref`, say) is not judged here, nor are
//! arguments whose check would take more work than [`work`] allows: the call goes through and
//! the upstream decides.

mod work;

use serde_json::{Map, Value};

/// Problems listed in one error at most; the rest are counted.
const MAX_REPORTED_PROBLEMS: usize = 5;

/// How many nested `anyOf`/`oneOf` levels have their forms spelled out.
const BRANCH_DETAIL_DEPTH: usize = 2;

/// One tool's input schema, compiled once and used for every call to the tool.
pub struct ArgumentChecker {
    /// The schema, for counting a check's work before making it.
    schema: Value,
    /// `None` when the schema could not be compiled, or its `$ref`s may resolve where the
    /// count does not follow them: such calls are not judged.
    validator: Option<jsonschema::Validator>,
}

impl ArgumentChecker {
    /// Compiles `schema`. Its patterns are matched by the `regex` crate, in time linear in the
    /// text: the default engine backtracks, and a pattern with a backreference could take 50 ms
    /// on each string it is given. A pattern only a backtracking engine can match
    /// (backreferences, look-around) leaves the schema uncompiled, and its calls not judged.
    pub fn new(schema: &Map<String, Value>) -> Self {
        let schema = Value::Object(schema.clone());
        let validator = match work::has_nested_resources(&schema) {
            true => None,
            false => (jsonschema::options())
                .with_pattern_options(jsonschema::PatternOptions::regex())
                .build(&schema)
                .ok(),
        };
        Self { schema, validator }
    }

    /// `Ok` when `arguments` (a call's arguments object) satisfy the schema (or it could not be
    /// compiled, or the check would take too much work), else one line per problem, joined,
    /// naming where each is: `at /filter/category: "toys" is not one of [...]`.
    pub fn check(&self, arguments: &Value) -> Result<(), String> {
        match &self.validator {
            Some(validator) if work::fits(&self.schema, arguments) => {
                problems(validator, arguments)
            }
            _ => Ok(()),
        }
    }
}

fn problems(validator: &jsonschema::Validator, instance: &Value) -> Result<(), String> {
    let problems: Vec<String> = validator
        .iter_errors(instance)
        .map(|error| {
            let path = error.instance_path().to_string();
            let place = if path.is_empty() {
                "the top level".to_owned()
            } else {
                path
            };
            format!("at {place}: {}", describe(&error, BRANCH_DETAIL_DEPTH))
        })
        .collect();
    match problems.len() {
        0 => Ok(()),
        n if n > MAX_REPORTED_PROBLEMS => Err(format!(
            "{}; and {} more",
            problems[..MAX_REPORTED_PROBLEMS].join("; "),
            n - MAX_REPORTED_PROBLEMS
        )),
        _ => Err(problems.join("; ")),
    }
}

/// What was wrong. For `anyOf`/`oneOf`, which say only that nothing matched, each allowed
/// form's own complaint is listed, so the message says what was expected.
fn describe(error: &jsonschema::ValidationError<'_>, depth: usize) -> String {
    use jsonschema::error::ValidationErrorKind;
    let branches = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context }
            if depth > 0 && !context.is_empty() =>
        {
            context
        }
        _ => return error.to_string(),
    };
    let forms: Vec<String> = branches
        .iter()
        .enumerate()
        .map(|(i, errors)| {
            let reasons: Vec<String> = errors.iter().map(|e| describe(e, depth - 1)).collect();
            format!("({}) {}", i + 1, reasons.join(", "))
        })
        .collect();
    format!(
        "{} matches none of the allowed forms: {}",
        error.instance(),
        forms.join(" ")
    )
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use serde_json::json;

    use super::*;

    fn check(schema: &Map<String, Value>, arguments: &Map<String, Value>) -> Result<(), String> {
        ArgumentChecker::new(schema).check(&Value::Object(arguments.clone()))
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn filter_schema() -> Map<String, Value> {
        object(json!({
            "$defs": {"Category": {"enum": ["tools", "garden", "kitchen"]}},
            "type": "object",
            "properties": {
                "filter": {"type": "object", "properties": {"category": {"$ref": "#/$defs/Category"}}},
                "limit": {"type": "integer", "minimum": 1, "maximum": 100}
            },
            "required": ["filter"]
        }))
    }

    #[test]
    fn valid_arguments_pass() {
        let args = object(json!({"filter": {"category": "garden"}, "limit": 5}));
        assert_eq!(check(&filter_schema(), &args), Ok(()));
    }

    #[test]
    fn each_problem_names_its_path_and_what_was_expected() {
        let args = object(json!({"filter": {"category": "toys"}, "limit": 500}));
        let message = check(&filter_schema(), &args).unwrap_err();
        assert!(
            message.contains("at /filter/category: \"toys\" is not one of"),
            "{message}"
        );
        assert!(
            message.contains("at /limit: 500 is greater than the maximum of 100"),
            "{message}"
        );
    }

    #[test]
    fn a_value_matching_no_allowed_form_says_what_each_form_expected() {
        let schema = object(json!({"type": "object", "properties": {"category": {
            "anyOf": [{"enum": ["tools", "garden"]}, {"type": "null"}]}}}));
        let message = check(&schema, &object(json!({"category": "toys"}))).unwrap_err();
        assert_eq!(
            message,
            "at /category: \"toys\" matches none of the allowed forms: (1) \"toys\" is not one of \
             \"tools\" or \"garden\" (2) \"toys\" is not of type \"null\""
        );
    }

    #[test]
    fn a_missing_required_argument_is_reported_at_the_top_level() {
        let message = check(&filter_schema(), &Map::new()).unwrap_err();
        assert_eq!(
            message,
            "at the top level: \"filter\" is a required property"
        );
    }

    #[test]
    fn many_problems_are_capped() {
        let properties: Map<String, Value> = (0..8)
            .map(|i| (format!("p{i}"), json!({"type": "string"})))
            .collect();
        let schema = object(json!({"type": "object", "properties": properties}));
        let args: Map<String, Value> = (0..8).map(|i| (format!("p{i}"), json!(i))).collect();
        assert!(check(&schema, &args).unwrap_err().ends_with("; and 3 more"));
    }

    /// A schema whose `$ref`s fan out: each of `levels` definitions is an `anyOf` of two refs
    /// to the next, the last a string; `x` is checked against the first.
    fn fanning_out(levels: usize) -> Map<String, Value> {
        let mut definitions: Map<String, Value> = (0..levels)
            .map(|i| {
                let next = json!({"$ref": format!("#/$defs/d{}", i + 1)});
                (format!("d{i}"), json!({"anyOf": [next, next]}))
            })
            .collect();
        definitions.insert(format!("d{levels}"), json!({"type": "string"}));
        object(json!({"$defs": definitions, "properties": {"x": {"$ref": "#/$defs/d0"}}}))
    }

    #[test]
    fn a_schema_whose_refs_fan_out_is_left_to_the_upstream() {
        let arguments = object(json!({"x": 1}));
        assert!(check(&fanning_out(3), &arguments).is_err());
        // 2^18 pairs: checked, it takes seconds and keeps every branch's errors.
        assert_eq!(check(&fanning_out(17), &arguments), Ok(()));
    }

    #[test]
    fn arguments_nested_through_two_recursive_branches_are_left_to_the_upstream() {
        let branch = json!({"type": "object", "properties": {"child": {"$ref": "#/$defs/node"}}});
        let schema = object(json!({
            "$defs": {"node": {"anyOf": [branch, branch, {"type": "integer"}]}},
            "properties": {"child": {"$ref": "#/$defs/node"}}
        }));
        let nested = |levels: usize| {
            let mut value = json!("leaf");
            for _ in 0..levels {
                value = json!({"child": value});
            }
            value.as_object().unwrap().clone()
        };
        assert!(check(&schema, &nested(3)).is_err());
        assert_eq!(check(&schema, &nested(16)), Ok(()));
    }

    #[test]
    fn a_long_array_of_objects_is_still_checked() {
        let item = json!({"type": "object", "properties": {
            "a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "boolean"}}});
        let schema = object(json!({"properties": {"rows": {"type": "array", "items": item}}}));
        let mut rows: Vec<Value> = vec![json!({"a": 1, "b": "x", "c": true}); 1_000];
        rows.push(json!({"a": "one"}));
        let message = check(&schema, &object(json!({"rows": rows}))).unwrap_err();
        assert!(message.starts_with("at /rows/1000/a: "), "{message}");
    }

    #[test]
    fn refs_escaped_in_their_pointer_are_followed() {
        let schema = object(json!({
            "$defs": {"a/b": {"type": "integer"}, "c d": {"type": "string"}},
            "properties": {"n": {"$ref": "#/$defs/a~1b"}, "s": {"$ref": "#/$defs/c%20d"}}
        }));
        let message = check(&schema, &object(json!({"n": "1", "s": 2}))).unwrap_err();
        assert!(
            message.contains("at /n: ") && message.contains("at /s: "),
            "{message}"
        );
    }

    #[test]
    fn refs_past_the_depth_bound_or_in_a_cycle_are_not_judged() {
        let mut definitions: Map<String, Value> = (0..5_000)
            .map(|i| {
                (
                    format!("d{i}"),
                    json!({"$ref": format!("#/$defs/d{}", i + 1)}),
                )
            })
            .collect();
        definitions.insert("d5000".into(), json!({"type": "string"}));
        let chain =
            object(json!({"$defs": definitions, "properties": {"x": {"$ref": "#/$defs/d0"}}}));
        assert_eq!(check(&chain, &object(json!({"x": 1}))), Ok(()));
        let cycle = object(json!({"anyOf": [{"$ref": "#"}], "type": "object"}));
        assert_eq!(check(&cycle, &object(json!({"x": 1}))), Ok(()));
    }

    #[test]
    fn a_schema_with_a_resource_of_its_own_inside_is_not_judged() {
        let schema = object(json!({
            "$id": "https://example.com/root",
            "properties": {"x": {"$id": "https://example.com/x", "type": "string"}}
        }));
        assert_eq!(check(&schema, &object(json!({"x": 1}))), Ok(()));
        let plain = object(json!({"$id": "https://example.com/root",
                                  "properties": {"id": {"type": "string"}}}));
        assert!(check(&plain, &object(json!({"id": 1}))).is_err());
    }

    #[test]
    fn patterns_are_matched_in_linear_time_or_left_to_the_upstream() {
        let text = format!("{}!", "a".repeat(40));
        let nested = object(json!({"properties": {"s": {"pattern": "^(a+)+$"}}}));
        let message = check(&nested, &object(json!({"s": text}))).unwrap_err();
        assert!(message.contains("does not match \"^(a+)+$\""), "{message}");
        let backreference = object(json!({"properties": {"s": {"pattern": "^(a*)*\\1$"}}}));
        assert_eq!(check(&backreference, &object(json!({"s": text}))), Ok(()));
    }

    #[test]
    fn a_schema_that_cannot_be_compiled_is_not_judged() {
        let schema = object(json!({"$ref": "https://example.com/remote.json"}));
        assert_eq!(check(&schema, &Map::new()), Ok(()));
    }
}
