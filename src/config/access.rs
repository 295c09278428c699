//! The operator's policy: who may use which upstreams and which of their tools, from the
//! `ACCESS` variable (JSON). Without it, everyone the runner lets in may use everything, as
//! before people had names.
//!
//! ```json
//! {
//!   "default": { "docs": {} },
//!   "people": { "key:ci-bot": { "github": { "allow": ["search_*"] } },
//!               "alice@example.com": { "*": {} } },
//!   "groups": { "engineering": { "github": {}, "docs": {} } }
//! }
//! ```
//!
//! A grant maps an upstream (or `*`, every upstream) to the tool patterns allowed there, with
//! the same `allow`/`deny`/`approve` lists as an upstream's `tools`; `{}` allows every tool
//! without asking. People are
//! named by their id (`key:<name>` for an access key, `oidc:<subject>`) or by the verified
//! email the identity provider gave. A person gets the union of their own entry and those of
//! their groups; someone with neither gets `default`, and without `default` nothing.
//!
//! What a call of a tool needs is the strictest of three answers: the upstream's `tools`, the
//! top-level `approve` list (the operator's default, binding everyone on every upstream), and
//! the person's grant, where the most generous of their entries for that upstream counts (as
//! a grant is the union of them). A policy with only `approve` grants everyone everything.
//!
//! The grant is enforced by the Worker (the tools a session is shown, and the only ones the
//! bridge forwards) and again by the upstream's object; a URL's `?upstreams=` can only narrow
//! it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use rmcp::model::Tool;

use super::{ToolFilter, UpstreamConfig, Verdict};
use crate::protocol::person::{Person, ACCESS_KEY_PREFIX, OIDC_PREFIX};

/// The Worker variable holding the policy.
pub const ACCESS_VAR: &str = "ACCESS";

/// The key of a grant entry that covers every upstream.
const EVERY_UPSTREAM: &str = "*";

/// Who may use what; see the [module](self) for the format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// `None` when the operator set no policy: everyone may use everything.
    rules: Option<Rules>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rules {
    #[serde(default)]
    default: Option<GrantRule>,
    #[serde(default)]
    people: BTreeMap<String, GrantRule>,
    #[serde(default)]
    groups: BTreeMap<String, GrantRule>,
    /// Tools whose calls need a person's approval, whoever makes them, on every upstream.
    #[serde(default)]
    approve: Vec<String>,
}

impl Rules {
    /// Whether the rules say who may use what (else everyone may use everything).
    fn grants(&self) -> bool {
        self.default.is_some() || !self.people.is_empty() || !self.groups.is_empty()
    }
}

/// Upstream (or `*`) → the tools allowed there.
type GrantRule = BTreeMap<String, ToolFilter>;

/// What one person may use: upstreams, each with the tools allowed there, and which calls
/// need their approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// `None` for everything; else each entry is an upstream (or `*`) and a tool filter.
    entries: Option<Vec<(String, ToolFilter)>>,
    /// The operator's default: tools whose calls need approval on every upstream.
    approve_everywhere: ToolFilter,
    /// Each upstream's own `tools`, which bind everyone.
    upstreams: BTreeMap<String, ToolFilter>,
}

/// Why `ACCESS` cannot be used; shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The variable is not the JSON object described in the documentation.
    #[error("ACCESS is not valid: {0}")]
    Malformed(String),
    /// An entry the runner cannot use.
    #[error("ACCESS.{field}: {problem}")]
    InvalidField {
        /// Where, e.g. `people["alice"].gitub`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl AccessPolicy {
    /// Parses `ACCESS` (absent: no policy) and checks it against the configured `upstreams`.
    pub fn from_json(text: Option<&str>, upstreams: &[String]) -> Result<Self, AccessError> {
        let Some(text) = text.filter(|text| !text.trim().is_empty()) else {
            return Ok(Self::default());
        };
        let rules: Rules =
            serde_json::from_str(text).map_err(|e| AccessError::Malformed(e.to_string()))?;
        validate_rule("default", rules.default.iter().flatten(), upstreams)?;
        let approve = ToolFilter {
            approve: rules.approve.clone(),
            ..ToolFilter::default()
        };
        approve
            .validate()
            .map_err(|(_, problem)| AccessError::InvalidField {
                field: "approve".into(),
                problem,
            })?;
        for (who, rule) in &rules.people {
            let field = format!("people[{who:?}]");
            if !(who.starts_with(ACCESS_KEY_PREFIX)
                || who.starts_with(OIDC_PREFIX)
                || who.contains('@'))
            {
                return Err(AccessError::InvalidField {
                    field,
                    problem: "name a person as `key:<name>`, `oidc:<subject>` or an email".into(),
                });
            }
            validate_rule(&field, rule, upstreams)?;
        }
        for (group, rule) in &rules.groups {
            validate_rule(&format!("groups[{group:?}]"), rule, upstreams)?;
        }
        Ok(Self { rules: Some(rules) })
    }

    /// Whether any entry names the upstream `name` (so it cannot go while the policy stays).
    pub fn names(&self, name: &str) -> bool {
        let Some(rules) = &self.rules else {
            return false;
        };
        let mut all = (rules.default.iter())
            .chain(rules.people.values())
            .chain(rules.groups.values());
        all.any(|rule| rule.contains_key(name))
    }

    /// What `person` may use; `None` is a caller of a runner that asks for no sign-in.
    pub fn grant_for(&self, person: Option<&Person>) -> Grant {
        let Some(rules) = &self.rules else {
            return Grant::everything();
        };
        let approve_everywhere = ToolFilter {
            approve: rules.approve.clone(),
            ..ToolFilter::default()
        };
        if !rules.grants() {
            return Grant {
                approve_everywhere,
                ..Grant::everything()
            };
        }
        let mut matched: Vec<&GrantRule> = Vec::new();
        if let Some(person) = person {
            matched.extend(rules.people.get(&person.id));
            matched.extend(person.email.as_ref().and_then(|e| rules.people.get(e)));
            matched.extend(person.groups.iter().filter_map(|g| rules.groups.get(g)));
        }
        if matched.is_empty() {
            matched.extend(&rules.default);
        }
        Grant {
            entries: Some(
                matched
                    .into_iter()
                    .flat_map(|rule| rule.iter().map(|(u, f)| (u.clone(), f.clone())))
                    .collect(),
            ),
            approve_everywhere,
            upstreams: BTreeMap::new(),
        }
    }
}

fn validate_rule<'a>(
    field: &str,
    rule: impl IntoIterator<Item = (&'a String, &'a ToolFilter)>,
    upstreams: &[String],
) -> Result<(), AccessError> {
    for (upstream, filter) in rule {
        if upstream != EVERY_UPSTREAM && !upstreams.contains(upstream) {
            return Err(AccessError::InvalidField {
                field: format!("{field}.{upstream}"),
                problem: format!(
                    "no upstream is named `{upstream}` (configured: {})",
                    upstreams.join(", ")
                ),
            });
        }
        filter
            .validate()
            .map_err(|(at, problem)| AccessError::InvalidField {
                field: format!("{field}.{upstream}.{at}"),
                problem,
            })?;
    }
    Ok(())
}

impl Grant {
    /// Every upstream and every tool the operator exposes.
    pub fn everything() -> Self {
        Self {
            entries: None,
            approve_everywhere: ToolFilter::default(),
            upstreams: BTreeMap::new(),
        }
    }

    /// The grant under the `tools` of each of `upstreams` as well, which bind everyone.
    pub fn under<'a>(mut self, upstreams: impl IntoIterator<Item = &'a UpstreamConfig>) -> Self {
        let filters = upstreams
            .into_iter()
            .map(|u| (u.name.clone(), u.tools.clone()));
        self.upstreams.extend(filters);
        self
    }

    /// The grant as the operator reads it: `"everything"`, or each upstream (or `*`) with the
    /// tool filters that allow its tools.
    pub fn summary(&self) -> serde_json::Value {
        let Some(entries) = &self.entries else {
            return serde_json::Value::from("everything");
        };
        let mut upstreams = serde_json::Map::new();
        for (upstream, filter) in entries {
            let filters = upstreams
                .entry(upstream.clone())
                .or_insert_with(|| serde_json::Value::Array(Vec::new()));
            if let (serde_json::Value::Array(filters), Ok(filter)) =
                (filters, serde_json::to_value(filter))
            {
                filters.push(filter);
            }
        }
        serde_json::Value::Object(upstreams)
    }

    /// Whether it allows nothing at all.
    pub fn is_empty(&self) -> bool {
        self.entries.as_ref().is_some_and(Vec::is_empty)
    }

    /// Whether it allows some tools of `upstream`.
    pub fn reaches(&self, upstream: &str) -> bool {
        match &self.entries {
            None => true,
            Some(entries) => entries.iter().any(|(u, _)| covers(u, upstream)),
        }
    }

    /// What a call of `upstream`'s `tool` needs: the strictest of the upstream's own `tools`,
    /// the operator's default, and the most generous of the person's entries for it.
    pub fn verdict(&self, upstream: &str, tool: &Tool) -> Verdict {
        let granted = match &self.entries {
            None => Verdict::Allow,
            Some(entries) => (entries.iter())
                .filter(|(u, _)| covers(u, upstream))
                .map(|(_, filter)| filter.verdict(tool))
                .min()
                .unwrap_or(Verdict::Block),
        };
        let configured = self.upstreams.get(upstream);
        let configured = configured.map_or(Verdict::Allow, |filter| filter.verdict(tool));
        granted
            .max(configured)
            .max(self.approve_everywhere.verdict(tool))
    }
}

/// Whether a grant entry for `entry` (an upstream or `*`) covers `upstream`.
fn covers(entry: &str, upstream: &str) -> bool {
    entry == upstream || entry == EVERY_UPSTREAM
}

#[cfg(test)]
mod tests;
