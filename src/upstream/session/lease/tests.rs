//! A session lent by one connection (the object's) to another (a keeper in the Worker), both
//! against one scripted upstream.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use std::cell::RefCell;
use std::rc::Rc;

use futures::executor::block_on;
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use serde_json::{json, Value};

use super::super::fake::{result, target, FakeHttp, Reply};
use super::super::{never, Connection};
use super::*;

/// The object's connection as a lessor, recording what each lease named as gone.
struct Object {
    connection: Rc<Connection<Rc<FakeHttp>>>,
    named_gone: RefCell<Vec<Option<String>>>,
}

impl Lessor for Object {
    fn lease(&self, gone: Option<String>) -> LocalBoxFuture<'_, Result<Lease, UpstreamError>> {
        self.named_gone.borrow_mut().push(gone.clone());
        async move { self.connection.lease(&target(), gone.as_deref()).await }.boxed_local()
    }

    fn tools_changed(&self) {}
}

/// The fake upstream with `replies`, the object's connection to it, and a lessee's.
fn lent(
    replies: impl IntoIterator<Item = Reply>,
) -> (Rc<FakeHttp>, Rc<Object>, Rc<Connection<Rc<FakeHttp>>>) {
    let http = FakeHttp::answering(replies);
    let object = Rc::new(Object {
        connection: Connection::new(Rc::new(Rc::clone(&http)), Rc::new(|| {})),
        named_gone: RefCell::default(),
    });
    let lessee = Connection::leasing(
        Rc::new(Rc::clone(&http)),
        Rc::new(|| {}),
        Rc::clone(&object) as Rc<dyn Lessor>,
    );
    (http, object, lessee)
}

/// When the book's tests hold and take leases.
const NOW: u64 = 1_000;

fn call(connection: &Rc<Connection<Rc<FakeHttp>>>) -> Result<Value, UpstreamError> {
    block_on(connection.request(&target(), ("tools/call", json!({})), &[], None, never()))
}

#[test]
fn a_lessee_calls_in_the_objects_session_with_ids_no_one_else_sends() {
    let (http, object, lessee) = lent([result(json!(1)), result(json!(2)), result(json!(3))]);
    assert_eq!(call(&object.connection).unwrap(), json!(1));
    assert_eq!(call(&lessee).unwrap(), json!(2));
    let other = Connection::leasing(
        Rc::new(Rc::clone(&http)),
        Rc::new(|| {}),
        Rc::clone(&object) as Rc<dyn Lessor>,
    );
    assert_eq!(call(&other).unwrap(), json!(3));
    assert_eq!(http.sessions_opened.get(), 1, "the lessees opened none");
    let received = http.received.borrow();
    let calls: Vec<_> = received
        .iter()
        .filter(|r| r.method() == "tools/call")
        .collect();
    let ids: Vec<u64> = calls
        .iter()
        .filter_map(|r| r.message["id"].as_u64())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(
        ids[0] < 1 << 32,
        "the object's own ids stay below the blocks"
    );
    assert!(
        (1 << 32..2 << 32).contains(&ids[1]) && (2 << 32..3 << 32).contains(&ids[2]),
        "each lessee has a block of its own: {ids:?}"
    );
    for call in &calls {
        assert_eq!(call.header("Mcp-Session-Id"), Some("session-1"));
        assert_eq!(call.header("MCP-Protocol-Version"), Some("2025-06-18"));
        assert_eq!(call.header("Authorization"), Some("Bearer t0ken-value"));
    }
    assert!(lessee.is_leasing() && !object.connection.is_leasing());
}

#[test]
fn a_lessee_that_finds_the_session_ended_has_the_object_renew_it_and_never_resends_a_call() {
    let gone = || Reply::With(404, vec![], "session not found".into());
    let (http, object, lessee) = lent([gone(), result(json!("renewed"))]);
    assert!(matches!(call(&lessee), Err(UpstreamError::SessionExpired)));
    assert_eq!(call(&lessee).unwrap(), json!("renewed"));
    assert_eq!(http.sessions_opened.get(), 2);
    assert_eq!(
        *object.named_gone.borrow(),
        [None, Some("session-1".to_owned())]
    );
    let received = http.received.borrow();
    let sessions: Vec<_> = received
        .iter()
        .filter(|r| r.method() == "tools/call")
        .map(|r| r.header("Mcp-Session-Id"))
        .collect();
    assert_eq!(sessions, [Some("session-1"), Some("session-2")]);
}

#[test]
fn a_session_already_renewed_is_not_renewed_again_for_a_late_lessee() {
    let (http, object, _) = lent([]);
    let first = block_on(object.connection.lease(&target(), None)).unwrap();
    let renewed = block_on(object.connection.lease(&target(), Some("session-1"))).unwrap();
    let late = block_on(object.connection.lease(&target(), Some("session-1"))).unwrap();
    assert_eq!(first.session.as_deref(), Some("session-1"));
    assert_eq!(renewed.session.as_deref(), Some("session-2"));
    assert_eq!(late.session.as_deref(), Some("session-2"));
    assert_eq!(http.sessions_opened.get(), 2);
}

#[test]
fn each_execution_takes_a_part_of_the_isolates_lease_that_no_other_shares() {
    let mut book = LeaseBook::default();
    assert_eq!(book.take("docs", NOW), None);
    let lease = Lease {
        session: Some("session-1".into()),
        version: "2025-06-18".into(),
        stateless: false,
        first_id: 3 << 32,
        ids: 1 << 32,
        valid_ms: LEASE_VALID_MS,
    };
    book.hold("docs", lease.clone(), NOW);
    let parts: Vec<u64> = (0..3)
        .filter_map(|_| book.take("docs", NOW))
        .map(|l| l.first_id)
        .collect();
    assert_eq!(
        parts,
        [3 << 32, (3 << 32) + (1 << 20), (3 << 32) + (2 << 20)]
    );
    let mut last = 0;
    while let Some(part) = book.take("docs", NOW) {
        last = part.first_id;
    }
    assert!(
        last + (1 << 20) <= 4 << 32,
        "the parts stay within the lease's block"
    );
    book.hold("docs", lease.clone(), NOW);
    book.ended("docs", "session-0");
    assert!(
        book.take("docs", NOW).is_some(),
        "a lease of another session stays"
    );
    book.ended("docs", "session-1");
    assert_eq!(book.take("docs", NOW), None);
}

#[test]
fn a_refusal_to_lend_is_kept_for_a_while_and_a_new_lease_ends_it() {
    let mut book = LeaseBook::default();
    book.refuse("github", 1_000);
    assert!(book.refuses("github", 1_000 + REFUSAL_KEPT_MS - 1));
    assert!(!book.refuses("github", 1_000 + REFUSAL_KEPT_MS));
    assert!(!book.refuses("docs", 1_000));
    book.hold(
        "github",
        block_on(lent([]).1.connection.lease(&target(), None)).unwrap(),
        NOW,
    );
    assert!(!book.refuses("github", 1_000));
}

/// A lessor of blocks of three ids, the `n`th from `100 * n`.
struct Small(RefCell<u64>);

impl Lessor for Small {
    fn lease(&self, _gone: Option<String>) -> LocalBoxFuture<'_, Result<Lease, UpstreamError>> {
        *self.0.borrow_mut() += 1;
        let first_id = 100 * *self.0.borrow();
        let lease = Lease {
            session: Some("session-1".into()),
            version: "2025-06-18".into(),
            stateless: false,
            first_id,
            ids: 3,
            valid_ms: LEASE_VALID_MS,
        };
        futures::future::ready(Ok(lease)).boxed_local()
    }

    fn tools_changed(&self) {}
}

#[test]
fn a_lessee_that_used_its_ids_up_borrows_new_ones_and_never_strays_into_anothers() {
    let http = FakeHttp::answering((0..5).map(|i| result(json!(i))));
    let lessor = Rc::new(Small(RefCell::new(0)));
    let lessee = Connection::leasing(
        Rc::new(Rc::clone(&http)),
        Rc::new(|| {}),
        Rc::clone(&lessor) as Rc<dyn Lessor>,
    );
    for _ in 0..5 {
        call(&lessee).unwrap();
    }
    let ids: Vec<u64> = (http.received.borrow().iter())
        .filter_map(|r| r.message["id"].as_u64())
        .collect();
    assert_eq!(ids, [101, 102, 201, 202, 301]);
    assert_eq!(*lessor.0.borrow(), 3);
}

#[test]
fn an_isolate_shares_a_lease_out_only_while_it_is_good_and_each_part_for_what_is_left() {
    let mut book = LeaseBook::default();
    let lease = block_on(lent([]).1.connection.lease(&target(), None)).unwrap();
    assert_eq!(lease.valid_ms, LEASE_VALID_MS);
    book.hold("docs", lease, NOW);
    let part = book.take("docs", NOW + 400).unwrap();
    assert_eq!(part.valid_ms, LEASE_VALID_MS - 400);
    assert_eq!(book.take("docs", NOW + LEASE_VALID_MS), None);
    assert_eq!(
        book.take("docs", NOW),
        None,
        "a lease over is forgotten, not kept for a clock that goes back"
    );
}

#[test]
fn a_lessee_asks_its_object_again_once_its_lease_is_over_and_gets_nothing_once_it_refuses() {
    let replies = (0..3).map(|i| result(json!(i)));
    let (http, object, lessee) = lent(replies);
    call(&lessee).unwrap();
    http.elapsed_ms.set(LEASE_VALID_MS - 1);
    call(&lessee).unwrap();
    assert_eq!(
        object.named_gone.borrow().len(),
        1,
        "the lease is still good"
    );
    http.elapsed_ms.set(LEASE_VALID_MS);
    call(&lessee).unwrap();
    assert_eq!(
        object.named_gone.borrow().len(),
        2,
        "a lease over is asked for again"
    );
    let ids: Vec<u64> = (http.received.borrow().iter())
        .filter(|r| r.message["method"] == "tools/call")
        .filter_map(|r| r.message["id"].as_u64())
        .collect();
    assert_eq!(ids, [(1 << 32) + 1, (1 << 32) + 2, (2 << 32) + 1]);

    let refusing = Connection::leasing(
        Rc::new(Rc::clone(&http)),
        Rc::new(|| {}),
        Rc::new(Refusing) as Rc<dyn Lessor>,
    );
    let sent = http.received.borrow().len();
    assert!(matches!(
        call(&refusing),
        Err(UpstreamError::NoLease { .. })
    ));
    assert_eq!(
        http.received.borrow().len(),
        sent,
        "nothing reaches the upstream"
    );
}

/// An object that lends nothing: its upstream was removed, say.
struct Refusing;

impl Lessor for Refusing {
    fn lease(&self, _gone: Option<String>) -> LocalBoxFuture<'_, Result<Lease, UpstreamError>> {
        let why = "the upstream is no longer configured".into();
        futures::future::ready(Err(UpstreamError::NoLease { why })).boxed_local()
    }

    fn tools_changed(&self) {}
}
