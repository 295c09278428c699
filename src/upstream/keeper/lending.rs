//! The keeper's part in lending the session ([`Lease`]): the object's keeper lends it, and a
//! keeper in the Worker, the lessee, makes tool calls in it with every check the object's
//! keeper makes, since it is the same keeper.

use std::rc::Rc;

use futures::future::LocalBoxFuture;
use futures::FutureExt;

use super::{Checkers, ToolStore, UpstreamKeeper};
use crate::upstream::client::UpstreamError;
use crate::upstream::oauth::account::Vault;
use crate::upstream::protocol::UpstreamAnswer;
use crate::upstream::session::{Http, Lease, Lessor};
use crate::upstream::target::Target;

impl<H: Http + 'static, S: ToolStore + 'static> UpstreamKeeper<H, S> {
    /// A keeper in the Worker whose session `lessor`, the upstream's object, lends, checking
    /// calls with the `checkers` it shares with the object's other lessees. It makes the tool
    /// calls of an upstream whose object lends its session, and refuses those of any other with
    /// [`UpstreamError::NoLease`], for the object to make.
    pub fn lessee(
        http: H,
        store: S,
        (lessor, checkers): (Rc<dyn Lessor>, Checkers),
        new_secret: Box<dyn Fn() -> String>,
    ) -> Rc<Self> {
        let account = (Box::new(NoAccount) as Box<dyn Vault>, new_secret);
        Self::build(http, store, account, Some(lessor), checkers)
    }

    /// The object's answer to a lessee that found the session `gone` ended, if it did: a
    /// lease of the session, or why there is none.
    pub(super) async fn lend(
        self: &Rc<Self>,
        target: &Rc<Target>,
        gone: Option<&str>,
    ) -> UpstreamAnswer {
        let lent = match target.lendable() {
            Ok(()) => self.connection.lease(target, gone).await,
            Err(why) => Err(UpstreamError::NoLease { why }),
        };
        match lent {
            Ok(lease) => UpstreamAnswer::Leased { lease },
            Err(error) => UpstreamAnswer::Failed { error },
        }
    }

    /// A lessee's refusal of a call to `target` when its object lends no session for it.
    pub(super) fn unlent(&self, target: &Target) -> Option<UpstreamAnswer> {
        if !self.connection.is_leasing() {
            return None;
        }
        let why = target.lendable().err()?;
        Some(UpstreamAnswer::Failed {
            error: UpstreamError::NoLease { why },
        })
    }
}

/// The lease in the object's answer to [`UpstreamCommand::Lease`](crate::upstream::protocol::UpstreamCommand::Lease),
/// or why there is none.
pub fn lease_of(answer: UpstreamAnswer) -> Result<Lease, UpstreamError> {
    match answer {
        UpstreamAnswer::Leased { lease } => Ok(lease),
        UpstreamAnswer::Failed { error } => Err(error),
        _ => Err(UpstreamError::Malformed {
            detail: "the upstream's object answered a lease out of turn".into(),
        }),
    }
}

/// A lessee's vault: the object holds the accounts, and lends no session of an upstream that
/// signs in with OAuth.
struct NoAccount;

impl Vault for NoAccount {
    fn load(&self) -> LocalBoxFuture<'_, Result<Option<String>, String>> {
        futures::future::ready(Ok(None)).boxed_local()
    }

    fn save(&self, _json: String) -> LocalBoxFuture<'_, Result<(), String>> {
        let refused = "a keeper in the Worker holds no account".to_owned();
        futures::future::ready(Err(refused)).boxed_local()
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use futures::executor::block_on;
    use futures::future::join;
    use serde_json::{json, Value};

    use super::super::testing::{ask, call, keeper, listing, target, tool, Keeper, MemoryStore};
    use super::super::testing::{sent, SECRET};
    use super::*;
    use crate::upstream::health::Health;
    use crate::upstream::oauth::testing::counter;
    use crate::upstream::protocol::{LentValue, UpstreamCommand};
    use crate::upstream::session::fake::{result, FakeHttp, Reply};
    use crate::upstream::session::Method;

    /// The object's keeper, lending its session for `target`.
    struct Object(Keeper, Rc<Target>);

    impl Lessor for Object {
        fn lease(&self, gone: Option<String>) -> LocalBoxFuture<'_, Result<Lease, UpstreamError>> {
            let command = UpstreamCommand::Lease { gone };
            async move { lease_of(self.0.answer(&self.1, command).await) }.boxed_local()
        }

        fn tools_changed(&self) {
            let refresh = self.0.answer(&self.1, UpstreamCommand::Refresh);
            drop(refresh);
        }
    }

    /// A lessee of the session an object's keeper holds with the upstream `http` answers as.
    fn lessee_of_object(http: &Rc<FakeHttp>) -> Keeper {
        let object = keeper(http, &MemoryStore::default());
        let lessor = Rc::new(Object(object, target(json!({}))));
        UpstreamKeeper::lessee(
            Rc::clone(http),
            MemoryStore::default(),
            (lessor, Checkers::default()),
            counter(),
        )
    }

    fn lease(keeper: &Keeper, extra: Value) -> UpstreamAnswer {
        ask(
            keeper,
            &target(extra),
            UpstreamCommand::Lease { gone: None },
        )
    }

    fn no_lease(answer: UpstreamAnswer) -> String {
        match answer {
            UpstreamAnswer::Failed {
                error: UpstreamError::NoLease { why },
            } => why,
            other => panic!("expected no lease, got {other:?}"),
        }
    }

    #[test]
    fn an_object_lends_its_session_but_not_its_tokens_its_queue_or_its_stream() {
        let http = FakeHttp::answering([]);
        let object = keeper(&http, &MemoryStore::default());
        let oauth = json!({"headers": {}, "auth": {"type": "oauth"}});
        let signed_in = no_lease(lease(&object, oauth));
        assert!(signed_in.contains("OAuth"), "{signed_in}");
        let queued = no_lease(lease(&object, json!({"maxConcurrentCalls": 2})));
        assert!(queued.contains("maxConcurrentCalls"), "{queued}");
        let legacy = no_lease(lease(&object, json!({"transport": "sse"})));
        assert!(legacy.contains("2024-11-05"), "{legacy}");
        assert_eq!(
            http.sessions_opened.get(),
            0,
            "nothing was opened to refuse"
        );
        let lent = lease_of(lease(&object, json!({}))).unwrap();
        assert_eq!(lent.session.as_deref(), Some("session-1"));
        assert_eq!(lent.first_id, 1 << 32);
    }

    #[test]
    fn a_lessee_checks_calls_as_the_object_does_and_leaves_unlent_upstreams_to_it() {
        let echoed = json!({"content": [{"type": "text", "text": format!("key {SECRET}")}]});
        let http = FakeHttp::answering([listing(&[tool("echo", "Echo.")]), result(echoed)]);
        let lessee = lessee_of_object(&http);
        let plain = target(json!({}));
        let wrong = ask(&lessee, &plain, call("echo", json!({"text": 1}), None));
        assert!(
            matches!(wrong, UpstreamAnswer::InvalidArguments { .. }),
            "{wrong:?}"
        );
        let answer = ask(&lessee, &plain, call("echo", json!({"text": "hi"}), None));
        let UpstreamAnswer::ToolResult { result } = answer else {
            panic!("expected a result, got {answer:?}");
        };
        let text = serde_json::to_string(&result).unwrap();
        assert!(
            !text.contains(SECRET),
            "the upstream's words are redacted: {text}"
        );
        assert_eq!(
            (sent(&http, "tools/call"), http.sessions_opened.get()),
            (1, 1)
        );
        let queued = target(json!({"maxConcurrentCalls": 2}));
        let refused = ask(&lessee, &queued, call("echo", json!({"text": "hi"}), None));
        assert!(no_lease(refused).contains("maxConcurrentCalls"));
        assert_eq!(sent(&http, "tools/call"), 1, "a refused call is not sent");
    }

    #[test]
    fn a_value_a_lessee_reports_teaches_the_object_as_its_own_calls_do_for_its_person_alone() {
        let http = FakeHttp::answering([listing(&[tool("search", "Find.")])]);
        let object = keeper(&http, &MemoryStore::default());
        let plain = target(json!({}));
        let observe = |tool: &str| UpstreamCommand::Report {
            health: Health::default(),
            observed: vec![LentValue {
                tool: tool.into(),
                person: Some("key:alice".into()),
                value: json!({"items": [{"title": "t"}]}),
            }],
        };
        let taught = |answer| matches!(answer, UpstreamAnswer::Observed { taught: true });
        assert!(taught(ask(&object, &plain, observe("search"))));
        assert!(
            !taught(ask(&object, &plain, observe("search"))),
            "nothing new"
        );
        assert!(!taught(ask(&object, &plain, observe("unlisted"))));
        let listed = ask(
            &object,
            &plain,
            UpstreamCommand::ListTools {
                person: Some("key:alice".into()),
            },
        );
        let UpstreamAnswer::Tools { observed, .. } = listed else {
            panic!("expected tools, got {listed:?}");
        };
        assert!(observed.contains_key("search"), "{observed:?}");
        let for_bob = UpstreamCommand::ListTools {
            person: Some("key:bob".into()),
        };
        let UpstreamAnswer::Tools { observed, .. } = ask(&object, &plain, for_bob) else {
            panic!("expected tools");
        };
        assert!(observed.is_empty(), "alice's value teaches bob nothing");
    }

    #[test]
    fn stopping_an_execution_stops_its_calls_in_flight_at_the_lessee() {
        let http = FakeHttp::answering([listing(&[tool("echo", "Echo.")]), Reply::Never]);
        let lessee = lessee_of_object(&http);
        let plain = target(json!({}));
        let calling = lessee.answer(&plain, call("echo", json!({"text": "hi"}), Some("exec-1")));
        let stopping = async { lessee.stop("exec-1", "the client cancelled") };
        let (answer, stopped) = block_on(join(calling, stopping));
        assert_eq!(stopped, 1);
        assert!(
            matches!(
                answer,
                UpstreamAnswer::Failed {
                    error: UpstreamError::Cancelled { .. }
                }
            ),
            "{answer:?}"
        );
        assert_eq!(http.aborted.get(), 1);
    }

    #[test]
    fn a_forgotten_upstream_ends_the_session_it_lent_and_only_one_it_lent() {
        let http = FakeHttp::answering([listing(&[tool("echo", "Echo.")])]);
        let object = keeper(&http, &MemoryStore::default());
        let configured = |object: &Keeper, command| {
            let configure =
                || futures::future::ready(Ok(super::super::testing::configured(json!({}))));
            block_on(object.answer_configured(configure, command))
        };
        lease_of(configured(&object, UpstreamCommand::Lease { gone: None })).unwrap();
        configured(&object, UpstreamCommand::Forget);
        http.run_spawned();
        let deletes = || {
            (http.received.borrow().iter())
                .filter(|r| r.http_method == Method::Delete)
                .map(|r| r.header("Mcp-Session-Id").map(str::to_owned))
                .collect::<Vec<_>>()
        };
        assert_eq!(deletes(), [Some("session-1".to_owned())]);
        let unlent = keeper(&http, &MemoryStore::default());
        configured(&unlent, UpstreamCommand::ListTools { person: None });
        configured(&unlent, UpstreamCommand::Forget);
        http.run_spawned();
        assert_eq!(deletes().len(), 1, "a session never lent is only dropped");
    }
}
