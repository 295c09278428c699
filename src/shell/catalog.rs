//! The tool lists this isolate was recently given by the upstreams' objects.

use std::cell::RefCell;
use std::rc::Rc;

use crate::upstream::recent::RecentLists;

thread_local! {
    /// What the [catalog](crate::execution::objects::catalog) reads before asking the
    /// upstreams' objects again; shared by every request this isolate serves.
    pub(super) static RECENT_LISTS: Rc<RefCell<RecentLists>> = Rc::default();
}

/// Makes the isolate's recent tool list of `object` stale, so the next catalog asks its object.
pub(super) fn forget_listing(object: &str) {
    RECENT_LISTS.with(|recent| recent.borrow_mut().forget(object));
}
