//! Which Durable Object holds an upstream's session for one person: the upstream's own, or,
//! for an OAuth upstream whose accounts are per person, that person's, so one person's tokens
//! and tool list never serve another's call.

use std::collections::BTreeMap;

use super::{Per, RunnerConfig};
use crate::protocol::person::Person;

/// What separates the upstream from the person in an account object's name. Upstream names
/// never hold it.
const SEPARATOR: char = '/';

/// One person's view of the upstreams' objects: which object holds each upstream's session
/// for them, where it differs from the upstream's own, and whose calls' learned result types
/// they are shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    /// Upstream name → the object holding this person's account of it.
    objects: BTreeMap<String, String>,
    /// The person's id; none where the runner signs nobody in.
    person: Option<String>,
}

impl RunnerConfig {
    /// The objects that hold `person`'s upstream sessions.
    pub fn accounts(&self, person: Option<&Person>) -> Accounts {
        let Some(person) = person else {
            return Accounts::default();
        };
        let personal = self
            .upstreams
            .iter()
            .filter(|u| u.oauth().is_some_and(|oauth| oauth.per == Per::Person));
        Accounts {
            objects: personal
                .map(|u| {
                    (
                        u.name.clone(),
                        format!("{}{SEPARATOR}{}", u.name, person.id),
                    )
                })
                .collect(),
            person: Some(person.id.clone()),
        }
    }
}

impl Accounts {
    /// Each upstream whose accounts are per person, with the object holding this person's.
    pub fn personal(&self) -> impl Iterator<Item = (&str, &str)> {
        self.objects
            .iter()
            .map(|(upstream, object)| (upstream.as_str(), object.as_str()))
    }

    /// The name of the object holding `upstream`'s session.
    pub fn object<'a>(&'a self, upstream: &'a str) -> &'a str {
        self.objects.get(upstream).map_or(upstream, String::as_str)
    }

    /// The person's id, which the upstreams' objects learn result types for.
    pub fn person(&self) -> Option<&str> {
        self.person.as_deref()
    }
}

/// The upstream an object's name is about, and the person whose account it holds, if any.
pub fn account_of_object(object: &str) -> (&str, Option<&str>) {
    match object.split_once(SEPARATOR) {
        Some((upstream, person)) => (upstream, Some(person)),
        None => (object, None),
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn a_per_person_oauth_upstream_has_an_object_per_person_and_others_one() {
        let config = RunnerConfig::from_json(
            r#"[{"name": "github", "url": "https://gh.example/mcp", "auth": {"type": "oauth"}},
                {"name": "team", "url": "https://t.example/mcp",
                 "auth": {"type": "oauth", "per": "shared"}},
                {"name": "docs", "url": "https://docs.example/mcp"}]"#,
        )
        .unwrap();
        let alice = Person::access_key("alice");
        let accounts = config.accounts(Some(&alice));
        assert_eq!(accounts.object("github"), "github/key:alice");
        assert_eq!(accounts.object("team"), "team");
        assert_eq!(accounts.object("docs"), "docs");
        assert_eq!(
            account_of_object("github/key:alice"),
            ("github", Some("key:alice"))
        );
        assert_eq!(account_of_object("docs"), ("docs", None));
        let bob = config.accounts(Some(&Person::access_key("bob")));
        assert_ne!(bob.object("github"), accounts.object("github"));
        assert_eq!(config.accounts(None).object("github"), "github");
        let personal: Vec<_> = accounts.personal().collect();
        assert_eq!(personal, [("github", "github/key:alice")]);
        assert_eq!(accounts.person(), Some("key:alice"));
        assert_eq!(config.accounts(None).person(), None);
    }
}
