//! The tools of the upstreams an execution or a search may use, for the catalog: from this
//! isolate's memory when listed recently, else asked of each upstream's object, all at once.

use std::cell::RefCell;

use futures::future::join_all;
use worker::Env;

use super::js::now_ms;
use super::objects::{ask, UPSTREAM_OBJECTS};
use crate::codemode::catalog::{Catalog, Unavailable, UpstreamTools};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};
use crate::upstream::recent::RecentLists;

thread_local! {
    /// The tool lists this isolate was recently given, shared by its requests.
    static RECENT_LISTS: RefCell<RecentLists> = RefCell::new(RecentLists::default());
}

/// The tools of each upstream: recently listed ones from this isolate's memory, the others
/// asked of their objects, all at once.
pub(crate) async fn catalog(env: &Env, upstreams: &[String]) -> Catalog {
    let lists = upstreams.iter().map(|name| async move {
        if let Some(tools) = RECENT_LISTS.with(|recent| recent.borrow().get(name, now_ms())) {
            return UpstreamTools {
                upstream: name.clone(),
                tools: Ok(tools),
            };
        }
        let answer: worker::Result<UpstreamAnswer> =
            ask(env, UPSTREAM_OBJECTS, name, &UpstreamCommand::ListTools).await;
        let tools = match answer {
            Ok(UpstreamAnswer::Tools { tools }) => {
                RECENT_LISTS.with(|recent| recent.borrow_mut().put(name, tools.clone(), now_ms()));
                Ok(tools)
            }
            Ok(UpstreamAnswer::Failed { error }) => Err(Unavailable::of(&error)),
            Ok(UpstreamAnswer::Pending {
                waited_ms,
                last_error,
            }) => Err(match last_error {
                Some(error) => Unavailable::of(&error).retrying(),
                None => Unavailable::new(format!(
                    "still connecting after {waited_ms} ms; try again shortly"
                )),
            }),
            Ok(_) => Err(Unavailable::new("its object answered out of turn")),
            Err(e) => Err(Unavailable {
                reported: Some(e.to_string()),
                ..Unavailable::new("its object failed")
            }),
        };
        UpstreamTools {
            upstream: name.clone(),
            tools,
        }
    });
    Catalog::new(join_all(lists).await)
}
