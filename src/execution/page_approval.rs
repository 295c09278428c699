//! Approving a call on the runner's approval page, for a person whose client cannot be asked
//! (it declared no elicitation, or its request has no stream to ask on).
//!
//! The call is refused with `ApprovalRequired` and a link; the link's page asks the person to
//! sign in, shows them the call, and takes their decision; the program's rerun then finds the
//! call approved, once. Each call waiting on a page is one Durable Object, named by
//! [`object_name`] from the person, the function and the SHA-256 of the arguments, so the rerun
//! of the same call finds it and no other call does. What the object keeps, and how each
//! command changes it, is [`PageApproval::apply`]: decided here, in plain Rust, and stored by
//! the shell.

use crate::digest::sha256_hex;
use serde::{Deserialize, Serialize};

use crate::protocol::approval::{Approval, ApprovalWay};

/// Where approval pages are: `/approvals/{object}`.
pub const APPROVALS_PATH: &str = "/approvals/";

/// How long a call waits on its page, and how long a decision waits for the rerun.
pub const PAGE_APPROVAL_TTL_MS: u64 = 10 * 60_000;

/// The prefix of the identity provider's `state` for a sign-in on an approval page:
/// `approval.{object}.{secret}`.
pub const PROVIDER_STATE_PREFIX: &str = "approval.";

/// The name of the object that keeps `person`'s call of `function` with the arguments whose
/// SHA-256 is `arguments_sha256`: a hash, so the link names no person and no call.
pub fn object_name(person: &str, function: &str, arguments_sha256: &str) -> String {
    sha256_hex(format!("{person}\n{function}\n{arguments_sha256}"))
}

/// Whether `name` could be an [`object_name`]: anything else in a link is refused before an
/// object is made for it.
pub fn is_object_name(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The call a page asks about, as the person reviews it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageRequest {
    /// Whose call it is: only they may decide.
    pub person: String,
    /// The session the call was made in, which "every call in this session" approves for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The upstream (the program's namespace).
    pub upstream: String,
    /// `namespace.function`, as the program called it.
    pub function: String,
    /// The upstream tool's MCP name.
    pub tool: String,
    /// The arguments as a person reads them, cut to size; kept only until the page expires.
    pub summary: String,
}

/// What the person decided on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PageDecision {
    /// This call, once.
    Once,
    /// Every call of the tool for the rest of the session.
    ForSession,
    /// Not this call.
    Decline,
}

impl PageDecision {
    /// The decision a form's `decision` field names.
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "once" => Some(Self::Once),
            "session" => Some(Self::ForSession),
            "decline" => Some(Self::Decline),
            _ => None,
        }
    }
}

/// Where a page's call stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum PageStatus {
    /// Waiting for the person.
    Pending,
    /// Approved, waiting for the rerun to make it.
    Approved {
        /// The approval the call will carry.
        approval: Approval,
    },
    /// Declined.
    Declined,
}

/// A signed-in person's right to decide, handed to their browser as a form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    /// The secret the decision's form carries.
    pub secret: String,
    /// Who signed in.
    pub person: String,
}

/// A sign-in at the identity provider, waiting for it to send the person back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSignIn {
    /// The `state` it was sent with.
    pub state: String,
    /// The PKCE verifier.
    pub verifier: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
}

/// What one page's object keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageApproval {
    /// The call.
    pub request: PageRequest,
    /// Where it stands.
    pub status: PageStatus,
    /// When the object forgets it all.
    pub expires_at_ms: u64,
    /// The signed-in person's ticket, once someone signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Ticket>,
    /// A sign-in at the identity provider under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderSignIn>,
}

/// What a page's object is asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum PageCommand {
    /// The gate's: the call is being made. Answers `Approved` (handed over once), `Declined`,
    /// or `Pending` (its page is open, for [`PAGE_APPROVAL_TTL_MS`] from now).
    Open {
        /// The call.
        request: Box<PageRequest>,
        /// The time now.
        now_ms: u64,
    },
    /// The page's: is there a call waiting? Answers `Pending` or `Unknown`.
    Look {
        /// The time now.
        now_ms: u64,
    },
    /// A sign-in at the identity provider begins. Answers `Pending` or `Unknown`.
    BeginProvider {
        /// What to check when the person comes back.
        sign_in: ProviderSignIn,
        /// The time now.
        now_ms: u64,
    },
    /// The identity provider sent the person back with `state`. Answers `Provider` (once)
    /// or `Unknown`.
    FinishProvider {
        /// The `state` it sent back.
        state: String,
        /// The time now.
        now_ms: u64,
    },
    /// `person` signed in; `secret` will let them decide. Answers `Review`, `NotYours` or
    /// `Unknown`.
    SignedIn {
        /// Who signed in.
        person: String,
        /// Their ticket's secret.
        secret: String,
        /// The time now.
        now_ms: u64,
    },
    /// The decision, with the ticket's `secret`. Answers `Decided` or `Unknown`.
    Decide {
        /// The ticket's secret.
        secret: String,
        /// What the person chose.
        decision: PageDecision,
        /// The time now.
        now_ms: u64,
    },
}

/// A page's object's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "camelCase")]
pub enum PageAnswer {
    /// The call waits for the person.
    Pending,
    /// The call is approved; this is its approval, handed over once.
    Approved {
        /// The approval.
        approval: Approval,
    },
    /// The person declined the call.
    Declined,
    /// No call waits here (never, no longer, or already decided), or the secret is wrong.
    Unknown,
    /// The sign-in at the identity provider to finish.
    Provider {
        /// What it began with.
        sign_in: ProviderSignIn,
    },
    /// The call, for the person who signed in to review.
    Review {
        /// The call.
        request: PageRequest,
    },
    /// The person who signed in is not the one whose call it is.
    NotYours,
    /// The decision is kept; for the session's, the tool to approve there.
    Decided {
        /// The call.
        request: PageRequest,
        /// What was decided.
        decision: PageDecision,
    },
}

/// What a command does to the stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Leave it.
    Keep,
    /// Store this (and expire it at its `expires_at_ms`).
    Put(Box<PageApproval>),
    /// Forget it.
    Delete,
}

impl PageApproval {
    /// What `command` does to the object holding `stored`, and its answer. An expired record
    /// counts as none.
    pub fn apply(stored: Option<Self>, command: PageCommand) -> (Change, PageAnswer) {
        let now_ms = command.now_ms();
        let live = stored.filter(|record| now_ms < record.expires_at_ms);
        match (live, command) {
            (Some(record), command) => record.answer(command),
            (None, PageCommand::Open { request, now_ms }) => {
                let record = PageApproval {
                    request: *request,
                    status: PageStatus::Pending,
                    expires_at_ms: now_ms + PAGE_APPROVAL_TTL_MS,
                    ticket: None,
                    provider: None,
                };
                (Change::Put(Box::new(record)), PageAnswer::Pending)
            }
            (None, _) => (Change::Keep, PageAnswer::Unknown),
        }
    }

    /// What `command` does to this call: the rerun's `Open` takes its outcome; a page's
    /// commands act only while it is pending.
    fn answer(mut self, command: PageCommand) -> (Change, PageAnswer) {
        match command {
            PageCommand::Open { .. } => match self.status {
                PageStatus::Approved { approval } => {
                    (Change::Delete, PageAnswer::Approved { approval })
                }
                PageStatus::Declined => (Change::Keep, PageAnswer::Declined),
                PageStatus::Pending => (Change::Keep, PageAnswer::Pending),
            },
            _ if self.status != PageStatus::Pending => (Change::Keep, PageAnswer::Unknown),
            PageCommand::Look { .. } => (Change::Keep, PageAnswer::Pending),
            PageCommand::BeginProvider { sign_in, .. } => {
                self.provider = Some(sign_in);
                (Change::Put(Box::new(self)), PageAnswer::Pending)
            }
            PageCommand::FinishProvider { state, .. } => match self.provider.take() {
                Some(sign_in) if sign_in.state == state => (
                    Change::Put(Box::new(self)),
                    PageAnswer::Provider { sign_in },
                ),
                _ => (Change::Keep, PageAnswer::Unknown),
            },
            PageCommand::SignedIn { person, secret, .. } => {
                if person != self.request.person {
                    return (Change::Keep, PageAnswer::NotYours);
                }
                let request = self.request.clone();
                self.ticket = Some(Ticket { secret, person });
                (Change::Put(Box::new(self)), PageAnswer::Review { request })
            }
            PageCommand::Decide {
                secret,
                decision,
                now_ms,
            } => {
                // A wrong secret spends the ticket: there is no second guess.
                let Some(ticket) = self.ticket.take() else {
                    return (Change::Keep, PageAnswer::Unknown);
                };
                if ticket.secret != secret {
                    return (Change::Put(Box::new(self)), PageAnswer::Unknown);
                }
                let request = self.request.clone();
                let decided = PageAnswer::Decided { request, decision };
                match decision {
                    // The session's record approves the tool from now on; nothing waits here.
                    PageDecision::ForSession => return (Change::Delete, decided),
                    PageDecision::Once => {
                        let approval = Approval {
                            way: ApprovalWay::Page,
                            by: Some(ticket.person),
                            at_ms: now_ms,
                        };
                        self.status = PageStatus::Approved { approval };
                    }
                    PageDecision::Decline => self.status = PageStatus::Declined,
                }
                self.provider = None;
                self.expires_at_ms = now_ms + PAGE_APPROVAL_TTL_MS;
                (Change::Put(Box::new(self)), decided)
            }
        }
    }
}

impl PageCommand {
    /// The time the command was sent.
    fn now_ms(&self) -> u64 {
        match self {
            Self::Open { now_ms, .. }
            | Self::Look { now_ms }
            | Self::BeginProvider { now_ms, .. }
            | Self::FinishProvider { now_ms, .. }
            | Self::SignedIn { now_ms, .. }
            | Self::Decide { now_ms, .. } => *now_ms,
        }
    }
}

/// Page objects in memory, for tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::collections::HashMap;

    use super::{Change, PageAnswer, PageApproval, PageCommand};

    /// Applies `command` to the object `name` among `pages`, as its Durable Object does.
    pub(crate) fn apply_in(
        pages: &mut HashMap<String, PageApproval>,
        name: &str,
        command: PageCommand,
    ) -> PageAnswer {
        let (change, answer) = PageApproval::apply(pages.get(name).cloned(), command);
        match change {
            Change::Keep => {}
            Change::Put(record) => {
                pages.insert(name.to_owned(), *record);
            }
            Change::Delete => {
                pages.remove(name);
            }
        }
        answer
    }
}

#[cfg(test)]
mod tests;
