//! What property tests across the crate share: JSON values to try.

use proptest::prelude::*;
use serde_json::Value;

/// Any JSON value, for property tests: strings match `text`, object keys match `keys`, and
/// values nest `depth` levels, `size` nodes in all, `width` items per array or object.
pub(crate) fn json_values(
    text: &'static str,
    keys: &'static str,
    (depth, size, width): (u32, u32, usize),
) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        text.prop_map(Value::from),
    ];
    leaf.prop_recursive(
        depth,
        size,
        u32::try_from(width).unwrap_or(u32::MAX),
        move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..width).prop_map(Value::from),
                prop::collection::btree_map(keys, inner, 0..width)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        },
    )
}
