#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use super::*;
use crate::config::tool_filter::tests::tool;

/// Whether `grant` lets a program call `upstream`'s tool `name` (with or without approval).
fn allows(grant: &Grant, upstream: &str, name: &str) -> bool {
    grant.verdict(upstream, &tool(name, None)) != Verdict::Block
}

fn upstreams() -> Vec<String> {
    ["github", "docs", "crm"].map(String::from).to_vec()
}

fn policy(text: &str) -> AccessPolicy {
    AccessPolicy::from_json(Some(text), &upstreams()).expect("a valid policy")
}

fn alice() -> Person {
    Person::signed_in(
        "sub-1",
        Some("alice@example.com".into()),
        vec!["eng".into()],
    )
}

#[test]
fn without_a_policy_everyone_may_use_everything() {
    let grant = AccessPolicy::from_json(None, &upstreams())
        .unwrap()
        .grant_for(None);
    assert!(allows(&grant, "crm", "delete_everything"));
    assert!(!grant.is_empty());
}

#[test]
fn a_person_gets_their_own_entry_and_their_groups_but_not_the_default() {
    let policy = policy(
        r#"{"default": {"docs": {}},
            "people": {"alice@example.com": {"github": {"allow": ["search_*"]}}},
            "groups": {"eng": {"crm": {"deny": ["delete_*"]}}}}"#,
    );
    let grant = policy.grant_for(Some(&alice()));
    assert!(allows(&grant, "github", "search_issues"));
    assert!(!allows(&grant, "github", "create_issue"));
    assert!(allows(&grant, "crm", "read_contact"));
    assert!(!allows(&grant, "crm", "delete_contact"));
    assert!(
        !grant.reaches("docs"),
        "an explicit entry replaces the default"
    );
}

#[test]
fn someone_with_no_entry_gets_the_default_and_without_one_nothing() {
    let with_default = policy(r#"{"default": {"docs": {}}}"#);
    let stranger = Person::access_key("stranger");
    assert!(with_default.grant_for(Some(&stranger)).reaches("docs"));
    assert!(!with_default.grant_for(Some(&stranger)).reaches("github"));

    let without = policy(r#"{"people": {"key:ci": {"docs": {}}}}"#);
    assert!(without.grant_for(Some(&stranger)).is_empty());
    assert!(without.grant_for(None).is_empty());
    assert!(without
        .grant_for(Some(&Person::access_key("ci")))
        .reaches("docs"));
}

#[test]
fn the_operator_reads_a_grant_as_upstreams_and_their_filters() {
    let policy = policy(
        r#"{"people": {"alice@example.com": {"github": {"allow": ["search_*"]}}},
            "groups": {"eng": {"github": {}, "docs": {}}}}"#,
    );
    let summary = policy.grant_for(Some(&alice())).summary();
    assert_eq!(
        summary,
        serde_json::json!({"github": [{"allow": ["search_*"]}, {}], "docs": [{}]})
    );
    assert_eq!(
        AccessPolicy::default().grant_for(None).summary(),
        "everything"
    );
}

#[test]
fn a_star_entry_covers_every_upstream() {
    let policy = policy(r#"{"people": {"key:admin": {"*": {}}}}"#);
    let grant = policy.grant_for(Some(&Person::access_key("admin")));
    assert!(upstreams().iter().all(|u| grant.reaches(u)));
}

#[test]
fn an_email_entry_does_not_match_an_access_key_of_that_name() {
    let policy = policy(r#"{"people": {"alice@example.com": {"*": {}}}}"#);
    assert!(policy
        .grant_for(Some(&Person::access_key("alice@example.com")))
        .is_empty());
}

#[test]
fn a_policy_naming_an_unknown_upstream_says_where() {
    let err = AccessPolicy::from_json(Some(r#"{"groups": {"eng": {"gitub": {}}}}"#), &upstreams())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ACCESS.groups[\"eng\"].gitub: no upstream is named `gitub` (configured: github, docs, crm)"
    );
}

#[test]
fn a_policy_with_a_misspelt_section_or_a_bare_name_is_refused() {
    let misspelt = AccessPolicy::from_json(Some(r#"{"peple": {}}"#), &upstreams()).unwrap_err();
    assert!(
        misspelt.to_string().contains("unknown field `peple`"),
        "{misspelt}"
    );
    let bare =
        AccessPolicy::from_json(Some(r#"{"people": {"alice": {}}}"#), &upstreams()).unwrap_err();
    assert!(
        bare.to_string()
            .starts_with("ACCESS.people[\"alice\"]: name a person"),
        "{bare}"
    );
    let empty = AccessPolicy::from_json(
        Some(r#"{"default": {"docs": {"allow": [""]}}}"#),
        &upstreams(),
    )
    .unwrap_err();
    assert_eq!(
        empty.to_string(),
        "ACCESS.default.docs.allow: a pattern is empty"
    );
}
