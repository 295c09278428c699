//! The operator's access keys, from the `RUNNER_TOKEN` secret: comma-separated `NAME=KEY`
//! entries, one per person or script, so the audit log names who ran what and one key can be
//! revoked without the others. Two entries may share a name (a key being rotated). An entry
//! without a name (`KEY` alone) still works and is named by its fingerprint.

use subtle::ConstantTimeEq;

use crate::protocol::person::Person;
use crate::protocol::token::TokenFingerprint;

/// The keys a request may present as `Authorization: Bearer <key>`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AccessKeys(Vec<AccessKey>);

#[derive(Clone, PartialEq, Eq)]
struct AccessKey {
    name: String,
    key: String,
}

impl std::fmt::Debug for AccessKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|k| k.name.as_str()).collect();
        f.debug_tuple("AccessKeys").field(&names).finish()
    }
}

impl AccessKeys {
    /// The keys of a `RUNNER_TOKEN` value; empty entries are ignored.
    pub fn parse(text: Option<&str>) -> Self {
        let keys = text
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| match entry.split_once('=') {
                Some((name, key)) if is_key_name(name) && !key.trim_matches('=').is_empty() => {
                    AccessKey {
                        name: name.to_owned(),
                        key: key.to_owned(),
                    }
                }
                _ => AccessKey {
                    name: format!("key-{}", TokenFingerprint::of(entry).as_str()),
                    key: entry.to_owned(),
                },
            })
            .collect();
        Self(keys)
    }

    /// Whether no key is configured (the runner then asks for none).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The person holding `presented`, if it is one of the keys. Every key is compared, in
    /// constant time, so the time taken does not say which key came closest.
    pub fn identify(&self, presented: &str) -> Option<Person> {
        let presented = presented.as_bytes();
        let mut holder = None;
        for key in &self.0 {
            if bool::from(presented.ct_eq(key.key.as_bytes())) {
                holder = Some(&key.name);
            }
        }
        holder.map(|name| Person::access_key(name))
    }
}

/// Whether `name` can name a key: letters, digits and `._@-`, starting with a letter or digit.
fn is_key_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn a_named_key_identifies_its_holder_by_name() {
        let keys = AccessKeys::parse(Some("alice=k-alice-1, ci-bot=k-ci"));
        assert_eq!(keys.identify("k-ci"), Some(Person::access_key("ci-bot")));
        assert_eq!(keys.identify("k-alice-1").unwrap().id, "key:alice");
        assert_eq!(keys.identify("k-alice"), None);
        assert_eq!(keys.identify("alice=k-alice-1"), None);
    }

    #[test]
    fn two_keys_may_share_a_name_while_one_is_rotated() {
        let keys = AccessKeys::parse(Some("alice=old,alice=new"));
        assert_eq!(keys.identify("old"), keys.identify("new"));
    }

    #[test]
    fn an_unnamed_key_still_works_and_is_named_by_its_fingerprint() {
        let keys = AccessKeys::parse(Some("t0ken"));
        let person = keys.identify("t0ken").unwrap();
        assert_eq!(
            person.name,
            format!("key-{}", TokenFingerprint::of("t0ken").as_str())
        );
        assert!(!person.name.contains("t0ken"));
    }

    #[test]
    fn base64_padding_is_part_of_the_key_not_a_name() {
        let keys = AccessKeys::parse(Some("c2VjcmV0=="));
        assert!(keys.identify("c2VjcmV0==").is_some());
        assert_eq!(keys.identify("="), None);
    }

    #[test]
    fn no_entries_means_no_keys() {
        assert!(AccessKeys::parse(Some(" , ")).is_empty());
        assert!(AccessKeys::parse(None).is_empty());
    }

    #[test]
    fn debug_output_names_keys_but_never_shows_them() {
        let keys = AccessKeys::parse(Some("alice=s3cret"));
        let shown = format!("{keys:?}");
        assert!(shown.contains("alice") && !shown.contains("s3cret"));
    }
}
