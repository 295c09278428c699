//! The tool lists this isolate was recently given by the upstreams' objects, which the
//! [catalog](crate::execution::objects::catalog) reads before asking them again.

use std::cell::RefCell;
use std::rc::Rc;

use crate::upstream::recent::RecentLists;

thread_local! {
    /// Shared by every request this isolate serves.
    static RECENT_LISTS: Rc<RefCell<RecentLists>> = Rc::default();
}

/// This isolate's recent tool lists.
pub(super) fn recent_lists() -> Rc<RefCell<RecentLists>> {
    RECENT_LISTS.with(Rc::clone)
}
