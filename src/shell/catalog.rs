//! The tool lists this isolate was recently given by the upstreams' objects.

use std::cell::RefCell;
use std::rc::Rc;

use crate::upstream::recent::RecentLists;

thread_local! {
    /// What the [catalog](crate::execution::objects::catalog) reads before asking the
    /// upstreams' objects again; shared by every request this isolate serves.
    pub(super) static RECENT_LISTS: Rc<RefCell<RecentLists>> = Rc::default();
}
