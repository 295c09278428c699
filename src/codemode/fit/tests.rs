//! Cutting values to a budget: what each kind of cut keeps, reading a large text, and (on the
//! host, as properties over generated values and budgets) that the cut is always JSON, always
//! within budget, and marked whenever something was cut.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use serde_json::json;

use super::*;

fn fitted(value: Value, budget: usize) -> Fitted {
    fit(value, Cuts::default(), budget)
}

#[test]
fn a_value_within_its_budget_is_untouched() {
    let value = json!({"items": [1, 2, 3], "name": "short"});
    let fitted = fitted(value.clone(), 1_000);
    assert_eq!(fitted.value, value);
    assert!(!fitted.cuts.any());
}

#[test]
fn a_long_array_keeps_its_first_items_and_says_how_many_it_left_out() {
    let items: Vec<Value> = (0..5_000)
        .map(|n| json!({"id": n, "title": format!("issue {n}")}))
        .collect();
    let fitted = fitted(json!({"total": 5_000, "items": items}), 2_000);
    assert!(tokens_of(&fitted.value) <= 2_000);
    let kept = fitted.value["items"].as_array().unwrap();
    assert_eq!(kept[0], json!({"id": 0, "title": "issue 0"}));
    let mark = kept.last().unwrap().as_str().unwrap();
    assert_eq!(
        mark,
        format!(
            "… and {} more items (5000 in all)",
            5_000 - (kept.len() - 1)
        )
    );
    assert_eq!(fitted.value["total"], 5_000, "what fits is kept whole");
    assert_eq!(fitted.cuts.arrays, 1);
    let note = fitted.cuts.note("The result", fitted.tokens, 2_000);
    assert!(note.contains("an array keeps its first items"), "{note}");
    assert!(note.contains("return less"), "{note}");
}

#[test]
fn a_long_string_keeps_its_start_and_its_length() {
    let fitted = fitted(json!({"body": "x".repeat(100_000)}), 500);
    let body = fitted.value["body"].as_str().unwrap();
    assert!(body.starts_with("xxxx"));
    assert!(
        body.ends_with("… [100000 characters in all]"),
        "{}",
        &body[body.len() - 40..]
    );
    assert_eq!(fitted.cuts.strings, 1);
}

#[test]
fn a_deep_value_keeps_its_top() {
    let mut deep = json!({"leaf": "x".repeat(3_000)});
    for n in 0..30 {
        deep = json!({"level": n, "inner": deep, "padding": "y".repeat(200)});
    }
    let fitted = fitted(deep, 300);
    assert!(tokens_of(&fitted.value) <= 300, "{}", fitted.value);
    assert_eq!(fitted.value["level"], 29);
    assert!(fitted.cuts.deep >= 1);
    assert!(fitted.value.to_string().contains("nested too deep"));
}

#[test]
fn a_wide_object_keeps_its_first_keys() {
    let wide: Map<String, Value> = (0..3_000).map(|n| (format!("key{n}"), json!(n))).collect();
    let fitted = fitted(Value::Object(wide), 400);
    let object = fitted.value.as_object().unwrap();
    assert!(object.contains_key("key0"));
    assert!(object["…"].as_str().unwrap().ends_with("(3000 in all)"));
    assert_eq!(fitted.cuts.objects, 1);
}

#[test]
fn a_large_text_is_read_within_bounds_and_its_cuts_keep_the_true_counts() {
    let items: Vec<Value> = (0..20_000)
        .map(|n| json!({"n": n, "text": "t".repeat(50)}))
        .collect();
    let text = json!({"items": items, "note": "z".repeat(50_000)}).to_string();
    let (value, cuts) = read(&text).unwrap();
    let read_items = value["items"].as_array().unwrap();
    assert_eq!(read_items.len(), READ_ITEMS + 1);
    assert_eq!(
        read_items[READ_ITEMS],
        json!("… and 19000 more items (20000 in all)")
    );
    assert_eq!((cuts.arrays, cuts.strings), (1, 1));
    let fitted = fit(value, cuts, 1_000);
    let kept = fitted.value["items"].as_array().unwrap();
    let mark = kept.last().unwrap().as_str().unwrap();
    assert!(mark.ends_with("(20000 in all)"), "{mark}");
    assert!(fitted.value["note"]
        .as_str()
        .unwrap()
        .ends_with("[50000 characters in all]"));
    assert_eq!(
        (fitted.cuts.arrays, fitted.cuts.strings),
        (1, 1),
        "each cut counted once"
    );
}

#[test]
fn text_that_is_not_json_is_an_error() {
    assert!(read("{\"a\": 1").is_err());
    assert!(read("[1, 2] 3").is_err());
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::testing::json_values;

    /// Any JSON value, with long arrays, wide objects and long strings.
    fn value() -> impl Strategy<Value = Value> {
        json_values("[a-z …]{0,300}", "[a-z]{1,8}", (8, 400, 60))
    }

    proptest! {
        #[test]
        fn the_cut_is_json_within_budget_and_marked_whenever_something_was_cut(
            value in value(),
            budget in 40usize..3_000,
        ) {
            let (read, cuts) = read(&value.to_string()).unwrap();
            let fitted = fit(read, cuts, budget);
            let text = fitted.value.to_string();
            prop_assert!(serde_json::from_str::<Value>(&text).is_ok());
            prop_assert!(estimate(&text) <= budget, "{} > {budget}", estimate(&text));
            if fitted.value != value {
                prop_assert!(fitted.cuts.any());
                prop_assert!(text.contains(CUT_MARK));
            }
            if tokens_of(&value) <= budget {
                prop_assert_eq!(fitted.value, value);
            }
        }
    }
}

#[test]
fn values_that_mimic_the_cuts_marks_cannot_break_the_cut() {
    // A program returning lies in the marks' own words: counts smaller than the real ones,
    // counts that do not parse, and a string claiming to be a cut one.
    let mut lying: Vec<Value> = (0..3_000).map(|n| json!({"n": n})).collect();
    lying.push(json!("… and 1 more items (2 in all)"));
    let mut object: Map<String, Value> = (0..3_000).map(|n| (format!("k{n}"), json!(n))).collect();
    object.insert("…".into(), json!("… and 1 more keys (1 in all)"));
    let value = json!({
        "items": lying,
        "object": object,
        "huge": "… and 5 more items (99999999999999999999999 in all)",
        "text": format!("{}… [3 characters in all]", "x".repeat(50_000)),
    });
    for budget in [40, 500, 5_000] {
        let (read, cuts) = read(&value.to_string()).unwrap();
        let fitted = fit(read, cuts, budget);
        assert!(tokens_of(&fitted.value) <= budget, "{budget}");
        assert!(fitted.cuts.any());
    }
}
