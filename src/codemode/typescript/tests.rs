//! JSON Schema rendered as TypeScript: types, named types, JSDoc, and the caps.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use serde_json::json;

use super::*;

fn ts(schema: &Value) -> String {
    type_of(schema, &mut TypeScope::default())
}

#[test]
fn object_marks_optional_properties_and_documents_them() {
    let schema = json!({
        "type": "object",
        "properties": {
            "a": {"type": "number", "description": "First number"},
            "b": {"type": "string"}
        },
        "required": ["a"]
    });
    assert_eq!(
        ts(&schema),
        "{\n  /** \"First number\" */\n  a: number;\n  b?: string;\n}"
    );
}

#[test]
fn bounds_formats_defaults_examples_and_deprecation_become_jsdoc_tags() {
    let schema = json!({"type": "object", "properties": {"email": {
        "type": "string", "description": "Where to write", "format": "email",
        "pattern": "^.+@.+$", "maxLength": 80, "default": "a@b.c",
        "examples": ["x@y.z"], "deprecated": true, "not": {"const": ""}
    }}});
    assert_eq!(
        ts(&schema),
        "{\n  /**\n   * \"Where to write\"\n   * @format email\n   * @pattern ^.+@.+$\n   * @maxLength 80\n   \
         * @default a@b.c\n   * @example \"x@y.z\"\n   * @deprecated\n   * Also constrained by `not` \
         (not expressed in this type).\n   */\n  email?: string;\n}"
    );
}

#[test]
fn enums_consts_unions_and_arrays() {
    assert_eq!(ts(&json!({"enum": ["a", "b", 3]})), r#""a" | "b" | 3"#);
    assert_eq!(ts(&json!({"const": "x"})), r#""x""#);
    assert_eq!(
        ts(&json!({"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "null"}]}})),
        "(string | null)[]"
    );
    assert_eq!(ts(&json!({"type": ["string", "null"]})), "string | null");
    assert_eq!(
        ts(&json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]})),
        "[string, number]"
    );
    assert_eq!(
        ts(
            &json!({"allOf": [{"type": "object", "properties": {"a": {"type": "number"}}}, {"type": "object", "properties": {"b": {"type": "string"}}}]})
        ),
        "{\n  a?: number;\n} & {\n  b?: string;\n}"
    );
}

#[test]
fn defs_become_named_types_and_recursion_is_safe() {
    let schema = json!({
        "$defs": {"Node": {"type": "object", "properties": {
            "value": {"type": "integer"}, "next": {"$ref": "#/$defs/Node"}}, "required": ["value"]}},
        "type": "object",
        "properties": {"head": {"$ref": "#/$defs/Node"}},
        "required": ["head"]
    });
    let mut scope = TypeScope::default();
    assert_eq!(type_of(&schema, &mut scope), "{\n  head: Node;\n}");
    assert_eq!(
        scope.declarations(""),
        "type Node = {\n  value: number;\n  next?: Node;\n};\n"
    );
}

#[test]
fn equal_definitions_share_a_name_and_different_ones_are_numbered() {
    let with = |def: Value| json!({"$defs": {"Item": def}, "$ref": "#/$defs/Item"});
    let mut scope = TypeScope::default();
    assert_eq!(
        type_of(&with(json!({"type": "string"})), &mut scope),
        "Item"
    );
    assert_eq!(
        type_of(&with(json!({"type": "string"})), &mut scope),
        "Item"
    );
    assert_eq!(
        type_of(&with(json!({"type": "number"})), &mut scope),
        "Item2"
    );
    assert_eq!(
        scope.declarations(""),
        "type Item = string;\ntype Item2 = number;\n"
    );
}

#[test]
fn other_local_refs_are_inlined_with_a_cycle_guard() {
    let schema = json!({"type": "object", "properties": {
        "a": {"type": "string"}, "b": {"$ref": "#/properties/a"}, "c": {"$ref": "#/properties/c"}}});
    assert_eq!(
        ts(&schema),
        "{\n  a?: string;\n  b?: string;\n  c?: unknown;\n}"
    );
}

#[test]
fn additional_properties_become_an_index_signature() {
    let schema = json!({"type": "object", "additionalProperties": {"type": "number"}});
    assert_eq!(ts(&schema), "{\n  [key: string]: number;\n}");
    assert_eq!(ts(&json!({"type": "object"})), "Record<string, unknown>");
}

#[test]
fn odd_keys_are_quoted_and_unknown_shapes_are_unknown() {
    let schema =
        json!({"type": "object", "properties": {"x-y": {"type": "boolean"}}, "required": ["x-y"]});
    assert_eq!(ts(&schema), "{\n  \"x-y\": boolean;\n}");
    assert_eq!(ts(&json!({"$ref": "http://elsewhere/schema"})), "unknown");
    assert_eq!(ts(&json!({"$ref": "#/$defs/Missing"})), "unknown");
    assert_eq!(ts(&json!(42)), "unknown");
}

#[test]
fn a_long_chain_of_definitions_is_cut_off_instead_of_overflowing() {
    let defs: Map<String, Value> = (0..2_000)
        .map(|i| {
            (
                format!("D{i}"),
                json!({"type": "array", "items": {"$ref": format!("#/$defs/D{}", i + 1)}}),
            )
        })
        .collect();
    let schema = json!({"$defs": defs, "$ref": "#/$defs/D0"});
    let mut scope = TypeScope::default();
    assert_eq!(type_of(&schema, &mut scope), "D0");
    assert!(scope.declarations("").contains("unknown"));
}

#[test]
fn a_property_cut_for_depth_says_so() {
    let mut schema = json!({"type": "string"});
    for _ in 0..20 {
        schema = json!({"type": "object", "properties": {"child": schema}, "required": ["child"]});
    }
    let rendered = ts(&schema);
    assert!(rendered.contains(
        "/** [cut by the runner: nested deeper than 12 levels; the upstream checks what is \
         not shown] */"
    ));
    assert_eq!(rendered.matches("child:").count(), 12);
}

#[test]
fn very_deep_nesting_is_cut_off_instead_of_overflowing() {
    let mut schema = json!({"type": "string"});
    for _ in 0..500 {
        schema = json!({"type": "array", "items": schema});
    }
    assert!(ts(&schema).contains("unknown"));
}

#[test]
fn a_huge_enum_renders_as_its_values_type_and_fast() {
    let values: Vec<Value> = (0..50_000).map(|i| json!(format!("v{i}"))).collect();
    assert_eq!(ts(&json!({"enum": values})), "string");
    let mixed: Vec<Value> = (0..600)
        .map(|i| if i % 2 == 0 { json!(i) } else { json!(null) })
        .collect();
    assert_eq!(ts(&json!({"enum": mixed})), "number | null");
    let listed: Vec<Value> = (0..MAX_ENUM_LITERALS).map(|i| json!(i)).collect();
    assert_eq!(
        ts(&json!({"enum": listed})).matches(" | ").count(),
        MAX_ENUM_LITERALS - 1
    );
}

#[test]
fn a_very_wide_schema_stops_rendering_at_its_budget() {
    let properties: Map<String, Value> = (0..10_000)
        .map(|i| (format!("p{i}"), json!({"type": "string"})))
        .collect();
    let rendered = ts(&json!({"type": "object", "properties": properties}));
    assert!(rendered.contains("p1998?: string;"));
    assert!(rendered.contains(
        "/** [cut by the runner: the schema is larger than 2000 schemas; the upstream checks \
         what is not shown] */\n  p1999?: unknown;"
    ));
    assert!(rendered.contains("p9999?: unknown;"));
}
