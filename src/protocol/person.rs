//! Who is using the runner. A [`Person`] is set by the runner, from the access key a request
//! presented or the OAuth grant its token belongs to, and never from anything the caller
//! writes: sessions are bound to it, the operator's policy is looked up by it, and the audit
//! log and metrics name it.

use serde::{Deserialize, Serialize};

/// A signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Person {
    /// Stable and unique: `key:<name>` for an access key, `oidc:<subject>` for someone the
    /// organisation's identity provider signed in. Sessions and the policy use this.
    pub id: String,
    /// What the operator reads in the audit log: the key's name, or the email (else subject).
    pub name: String,
    /// The verified email address the identity provider gave, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The groups the identity provider put them in (its configured claim).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
}

/// What the OAuth layer in front of the Worker tells it about a request it let through (the
/// request's `ctx.props`): the person its grant belongs to, or nothing when the request
/// presented a bearer token the OAuth layer did not issue, which the runner then checks as an
/// access key itself. The runner completes every authorization with these props, and files
/// them as the grant's metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    /// The person the token's grant was issued to.
    #[serde(default)]
    pub person: Option<Person>,
}

/// The prefix of an access key holder's [`Person::id`].
pub const ACCESS_KEY_PREFIX: &str = "key:";
/// The prefix of an identity-provider person's [`Person::id`].
pub const OIDC_PREFIX: &str = "oidc:";

impl Person {
    /// The holder of the access key the operator named `name`.
    pub fn access_key(name: &str) -> Self {
        Self {
            id: format!("{ACCESS_KEY_PREFIX}{name}"),
            name: name.to_owned(),
            email: None,
            groups: Vec::new(),
        }
    }

    /// Someone the identity provider signed in as `subject`, with their verified `email` and
    /// `groups`.
    pub fn signed_in(subject: &str, email: Option<String>, groups: Vec<String>) -> Self {
        Self {
            id: format!("{OIDC_PREFIX}{subject}"),
            name: email.clone().unwrap_or_else(|| subject.to_owned()),
            email,
            groups,
        }
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn an_access_key_holder_and_a_signed_in_person_never_share_an_id() {
        let key = Person::access_key("alice@example.com");
        let signed_in = Person::signed_in(
            "alice@example.com",
            Some("alice@example.com".into()),
            vec![],
        );
        assert_ne!(key.id, signed_in.id);
        assert_eq!(key.name, signed_in.name);
    }

    #[test]
    fn a_person_without_email_is_named_by_subject() {
        let person = Person::signed_in("248289761001", None, vec!["eng".into()]);
        assert_eq!(person.name, "248289761001");
        assert_eq!(person.id, "oidc:248289761001");
    }
}
