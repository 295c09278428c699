//! Approval on the runner's page, where the person's client cannot be asked: the call is
//! refused with a link the person opens (behind their sign-in), and the program's rerun finds
//! the same call approved, once.

use super::approval::{summary, ON_PAGE};
use super::Asking;
use crate::execution::objects::Object;
use crate::execution::page_approval::{
    object_name, PageAnswer, PageCommand, PageRequest, APPROVALS_PATH, PAGE_APPROVAL_TTL_MS,
};
use crate::execution::Platform;
use crate::protocol::approval::Approval;
use crate::sandbox::asks::{ApprovalAsk, Refusal};
use crate::sandbox::replay::arguments_sha256;

impl Asking<'_> {
    /// The page approval of `ask`'s call of `name`, which could not be asked in the client
    /// because `why`; or the refusal that links to the page.
    pub(super) async fn on_page<P: Platform>(
        &self,
        platform: &P,
        ask: &ApprovalAsk,
        name: &str,
        why: &str,
    ) -> Result<Approval, Refusal> {
        let required = |how: String| {
            Err(Refusal::Required(format!(
                "{name} needs a person's approval, and {why}; {how}"
            )))
        };
        let Some(person) = self.person else {
            return required(
                "this runner signs no one in, so there is no approval page; use a client that \
                 supports elicitation, or ask the operator to allow the tool"
                    .to_owned(),
            );
        };
        let arguments = serde_json::to_string(&ask.arguments).unwrap_or_default();
        let object = object_name(&person.id, name, &arguments_sha256(&arguments));
        let open = PageCommand::Open {
            request: Box::new(PageRequest {
                person: person.id.clone(),
                session: self.session.map(str::to_owned),
                upstream: ask.upstream.clone(),
                function: name.to_owned(),
                tool: ask.tool.clone(),
                summary: summary(&ask.arguments, ON_PAGE),
            }),
            now_ms: platform.now_ms(),
        };
        match platform
            .ask::<PageAnswer, _>(Object::PageApproval(&object), &open)
            .await
        {
            Ok(PageAnswer::Approved { approval }) => Ok(approval),
            Ok(PageAnswer::Declined) => Err(Refusal::Declined(format!(
                "the person declined this call on the approval page; {name} was not called"
            ))),
            Ok(_) => required(format!(
                "it was not called. Ask the person to open {}{APPROVALS_PATH}{object} within \
                 {} minutes, sign in and approve it, then run the same program again",
                platform.origin(),
                PAGE_APPROVAL_TTL_MS / 60_000
            )),
            Err(e) => required(format!("its approval page could not be opened ({e})")),
        }
    }
}
