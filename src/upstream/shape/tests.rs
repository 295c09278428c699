//! Learning result shapes: what one value gives, how shapes merge, the bounds, and (on the
//! host, as properties over generated values) that a shape always accepts the values it was
//! learned from and never keeps a value.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use serde_json::json;

use super::*;

fn accepts(shape: &Shape, value: &Value) -> bool {
    jsonschema::validator_for(&shape.schema())
        .expect("a shape's schema compiles")
        .is_valid(value)
}

#[test]
fn a_value_gives_its_kinds_and_fields_and_never_its_values() {
    let value =
        json!({"total": 3, "items": [{"title": "secret title", "score": 0.5}], "next": null});
    let shape = Shape::of(&value);
    assert_eq!(
        shape.schema(),
        json!({"type": "object", "properties": {
            "total": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "properties": {
                "title": {"type": "string"}, "score": {"type": "number"}}, "required": ["title", "score"]}},
            "next": {"type": "null"},
        }, "required": ["total", "items", "next"]})
    );
    assert!(!serde_json::to_string(&shape).unwrap().contains("secret"));
}

#[test]
fn fields_some_results_lack_are_optional_and_different_kinds_a_union() {
    let first = Shape::of(&json!({"id": 1, "name": "a", "tags": []}));
    let second = Shape::of(&json!({"id": 2, "tags": ["x"], "owner": null}));
    let third = Shape::of(&json!({"id": "three", "tags": [], "owner": {"login": "o"}}));
    let merged = first.merge(second).merge(third);
    let schema = merged.schema();
    assert_eq!(schema["required"], json!(["id", "tags"]));
    assert_eq!(
        schema["properties"]["id"],
        json!({"anyOf": [{"type": "integer"}, {"type": "string"}]})
    );
    assert_eq!(
        schema["properties"]["tags"],
        json!({"type": "array", "items": {"type": "string"}})
    );
    assert_eq!(
        schema["properties"]["owner"]["anyOf"][1]["required"],
        json!(["login"])
    );
    assert_eq!(
        Shape::of(&json!(1.5)).merge(Shape::of(&json!(2))),
        Shape::Number { integer: false }
    );
}

#[test]
fn keys_that_look_like_data_make_a_map() {
    let by_email = json!({"alice@example.com": {"age": 3}, "bob@example.com": {"age": 4}});
    let by_id = json!({"item-20261130": 1});
    let by_number = json!({"1234": true});
    assert_eq!(
        Shape::of(&by_email).schema(),
        json!({"type": "object", "additionalProperties": {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}})
    );
    assert!(matches!(Shape::of(&by_id), Shape::Map { .. }));
    assert!(matches!(Shape::of(&by_number), Shape::Map { .. }));
    let named = json!({"@id": 1, "content-type": "x", "v2.name": "y", "$ref": "z"});
    assert!(matches!(Shape::of(&named), Shape::Object { .. }));
}

#[test]
fn too_many_fields_too_many_kinds_and_too_deep_are_bounded() {
    let wide: Map<String, Value> = (0..=MAX_FIELDS)
        .map(|n| (format!("f{n}"), json!(n)))
        .collect();
    assert!(matches!(Shape::of(&Value::Object(wide)), Shape::Map { .. }));
    let varied = [
        json!(1),
        json!("a"),
        json!(true),
        json!([1]),
        json!({"a": 1}),
    ];
    let merged = varied.iter().map(Shape::of).reduce(Shape::merge).unwrap();
    assert_eq!(merged, Shape::Unknown);
    let mut deep = json!(1);
    for _ in 0..20 {
        deep = json!({"inner": deep});
    }
    let shape = Shape::of(&deep);
    assert!(
        serde_json::to_string(&shape.schema())
            .unwrap()
            .matches("\"inner\":{")
            .count()
            <= MAX_DEPTH
    );
    assert!(accepts(&shape, &deep));
}

#[test]
fn a_shape_with_too_many_nodes_is_cut_until_it_fits() {
    let wide_deep: Map<String, Value> = (0..MAX_FIELDS)
        .map(|n| (format!("f{n}"), json!({"a": {"b": {"c": [1, {"d": "x"}]}}})))
        .collect();
    let value = Value::Object(wide_deep);
    let shape = Shape::of(&value);
    assert!(shape.nodes() <= MAX_NODES, "{}", shape.nodes());
    assert!(accepts(&shape, &value));
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::testing::json_values;

    /// Any JSON value, a few levels deep, with keys both name-like and data-like.
    fn value() -> impl Strategy<Value = Value> {
        json_values(
            "[a-z@. 0-9]{0,12}",
            "[a-z]{1,6}|[0-9]{4,6}|[a-z]{2}@x\\.io",
            (6, 96, 8),
        )
    }

    proptest! {
        #[test]
        fn a_shape_accepts_every_value_it_was_learned_from(values in prop::collection::vec(value(), 1..6)) {
            let shape = values.iter().map(Shape::of).reduce(Shape::merge).unwrap();
            for value in &values {
                prop_assert!(accepts(&shape, value), "{shape:?} refuses {value}");
            }
            prop_assert!(shape.nodes() <= MAX_NODES);
        }

        #[test]
        fn merging_a_shape_with_itself_changes_nothing(value in value()) {
            let shape = Shape::of(&value);
            prop_assert_eq!(shape.clone().merge(shape.clone()), shape);
        }

        #[test]
        fn a_shape_keeps_no_string_value(text in "[A-Z]{12}", value in value()) {
            let mut wrapped = json!({"data": value, "secret": text.clone(), "list": [text.clone()]});
            wrapped["more"] = json!({"note": text.clone()});
            let shape = Shape::of(&wrapped);
            prop_assert!(!serde_json::to_string(&shape).unwrap().contains(&text));
        }
    }
}
