//! The runner's Durable Objects, as executions and the runner reach them: a command's JSON
//! sent to one [`Object`], its answer's JSON (or a stream) back. The Worker only carries the
//! text ([`Objects`]); what is asked, and what an answer means, is decided here and by the
//! callers.

use std::cell::RefCell;
use std::future::Future;

use futures::future::{join_all, pending};
use futures::StreamExt;
use rmcp::model::RequestId;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::codemode::catalog::{Catalog, Unavailable, UpstreamTools};
use crate::config::Accounts;
use crate::protocol::http::EventStream;
use crate::session::{request_key, SessionCommand};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};
use crate::upstream::recent::{Listing, RecentLists};

/// The name of the one ledger object.
const LEDGER_NAME: &str = "ledger";
/// The name of the one registry object.
const REGISTRY_NAME: &str = "registry";

/// One of the runner's Durable Objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object<'a> {
    /// A session's object, named by the session id.
    Session(&'a str),
    /// An upstream's object, named by the upstream's configured name.
    Upstream(&'a str),
    /// The one ledger (audit log and metrics).
    Ledger,
    /// The one registry of upstreams added at runtime.
    Registry,
    /// The record of a stateless run waiting for its person, named by its unguessable id.
    Stash(&'a str),
    /// A call waiting on its approval page, named by
    /// [`object_name`](super::page_approval::object_name).
    PageApproval(&'a str),
}

impl Object<'_> {
    /// The Worker's binding (in wrangler.toml) of the object's namespace.
    pub fn binding(&self) -> &'static str {
        match self {
            Object::Session(_) => "SESSION_OBJECTS",
            Object::Upstream(_) => "UPSTREAM_OBJECTS",
            Object::Ledger => "LEDGER",
            Object::Registry => "REGISTRY",
            Object::Stash(_) => "STASH_OBJECTS",
            Object::PageApproval(_) => "APPROVAL_OBJECTS",
        }
    }

    /// The object's name in its namespace.
    pub fn name(&self) -> &str {
        match self {
            Object::Session(name)
            | Object::Upstream(name)
            | Object::Stash(name)
            | Object::PageApproval(name) => name,
            Object::Ledger => LEDGER_NAME,
            Object::Registry => REGISTRY_NAME,
        }
    }
}

/// Sending commands to the runner's objects. Errors are one line, for the operator.
pub trait Objects {
    /// Sends `command`'s JSON to `object`, for its answer's JSON. The future owns what it
    /// needs, so it can finish after the request.
    fn send_json(
        &self,
        object: Object<'_>,
        command: String,
    ) -> impl Future<Output = Result<String, String>> + 'static + use<Self>;

    /// Sends `command`'s JSON to `object`, whose answer is a stream; one that breaks ends.
    fn open_json(
        &self,
        object: Object<'_>,
        command: String,
    ) -> impl Future<Output = Result<EventStream, String>>;

    /// Sends `command` to `object`, for its answer.
    fn ask<A: DeserializeOwned + 'static, C: Serialize>(
        &self,
        object: Object<'_>,
        command: &C,
    ) -> impl Future<Output = Result<A, String>> + 'static + use<Self, A, C> {
        let sent = serde_json::to_string(command).map(|json| self.send_json(object, json));
        async move {
            let answer = sent.map_err(|e| e.to_string())?.await?;
            serde_json::from_str(&answer).map_err(|e| format!("its answer is unreadable: {e}"))
        }
    }

    /// Sends `command` to `object`, whose answer is a stream.
    fn open(
        &self,
        object: Object<'_>,
        command: &impl Serialize,
    ) -> impl Future<Output = Result<EventStream, String>> {
        let json = serde_json::to_string(command).map_err(|e| e.to_string());
        async move { self.open_json(object, json?).await }
    }
}

/// Resolves with the client's reason if it cancels `request` of `session`; never otherwise
/// (a stateless request is cancelled by closing its stream, which drops it). The cancellation
/// may reach another isolate, so it is met in the session's object.
pub async fn cancellation(
    objects: &impl Objects,
    session: Option<&str>,
    request: &RequestId,
) -> String {
    if let Some(session) = session {
        if let Ok(watched) = watch(objects, session, request_key(request)).await {
            if let Some(reason) = delivered(watched).await {
                return reason;
            }
        }
    }
    // Nothing to watch with, or the watch ended: this request will not be cancelled.
    pending().await
}

/// Watches `key` in `session`'s object; once this resolves, whatever is delivered for the key
/// is kept for the stream.
pub async fn watch(
    objects: &impl Objects,
    session: &str,
    key: String,
) -> Result<EventStream, String> {
    let watch = SessionCommand::Watch { key };
    objects.open(Object::Session(session), &watch).await
}

/// What was delivered on a watch's stream; `None` when it ended without anything.
pub async fn delivered(mut watched: EventStream) -> Option<String> {
    let text = watched.next().await?;
    Some(String::from_utf8_lossy(&text).into_owned())
}

/// The tools of each of `upstreams`, from the objects `accounts` names, with the result types
/// the person's own calls taught them: those in `recent` (this isolate's memory, by object
/// and person) when listed lately by the `clock`, the others asked of their objects, all at
/// once.
pub async fn catalog(
    objects: &impl Objects,
    recent: &RefCell<RecentLists>,
    clock: impl Fn() -> u64,
    upstreams: &[String],
    accounts: &Accounts,
) -> Catalog {
    let clock = &clock;
    let lists = upstreams.iter().map(|name| async move {
        let (object, person) = (accounts.object(name), accounts.person());
        let remembered = recent.borrow().get(object, person, clock());
        let listing = match remembered {
            Some(listing) => Ok(listing),
            None => {
                let list = UpstreamCommand::ListTools {
                    person: person.map(str::to_owned),
                };
                let listing = listed(objects.ask(Object::Upstream(object), &list).await);
                if let Ok(listing) = &listing {
                    recent
                        .borrow_mut()
                        .put(object, person, listing.clone(), clock());
                }
                listing
            }
        };
        match listing {
            Ok(Listing { tools, observed }) => {
                UpstreamTools::new(name.clone(), Ok(tools)).with_observed(observed)
            }
            Err(reason) => UpstreamTools::new(name.clone(), Err(reason)),
        }
    });
    Catalog::new(join_all(lists).await)
}

/// An upstream object's answer to [`UpstreamCommand::ListTools`] as its listing, or why there
/// is none.
fn listed(answer: Result<UpstreamAnswer, String>) -> Result<Listing, Unavailable> {
    match answer {
        Ok(UpstreamAnswer::Tools { tools, observed }) => Ok(Listing { tools, observed }),
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
            reported: Some(e),
            ..Unavailable::new("its object failed")
        }),
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use std::cell::Cell;
    use std::collections::{BTreeMap, HashMap};

    use futures::executor::block_on;
    use futures::future::ready;
    use futures::{stream, FutureExt};
    use serde_json::{json, Value};

    use super::*;
    use crate::config::RunnerConfig;
    use crate::execution::Abandonment;
    use crate::protocol::person::Person;
    use crate::upstream::observed::ObservedType;
    use crate::upstream::recent::RECENT_LISTS_MS;

    /// Objects that answer from a script and keep every command they are sent.
    #[derive(Default)]
    struct FakeObjects {
        /// Each object's answer (JSON), by name; the others fail.
        answers: HashMap<&'static str, Value>,
        /// The frames of the stream each object opens, by name.
        streams: HashMap<&'static str, Vec<&'static str>>,
        /// Every command sent: the object's name and the command.
        sent: RefCell<Vec<(String, Value)>>,
    }

    impl FakeObjects {
        fn keep(&self, object: Object<'_>, command: &str) {
            let command = serde_json::from_str(command).unwrap();
            self.sent
                .borrow_mut()
                .push((object.name().to_owned(), command));
        }

        fn sent(&self) -> Vec<(String, Value)> {
            self.sent.borrow().clone()
        }
    }

    impl Objects for FakeObjects {
        fn send_json(
            &self,
            object: Object<'_>,
            command: String,
        ) -> impl Future<Output = Result<String, String>> + 'static + use<> {
            self.keep(object, &command);
            let answer = self.answers.get(object.name()).map(Value::to_string);
            ready(answer.ok_or_else(|| format!("{} is gone", object.name())))
        }

        async fn open_json(
            &self,
            object: Object<'_>,
            command: String,
        ) -> Result<EventStream, String> {
            self.keep(object, &command);
            let frames = self.streams.get(object.name()).ok_or("no stream")?;
            let frames: Vec<Vec<u8>> = frames.iter().map(|f| f.as_bytes().to_vec()).collect();
            Ok(stream::iter(frames).boxed_local())
        }
    }

    fn tool(name: &str) -> rmcp::model::Tool {
        serde_json::from_value(json!({"name": name, "inputSchema": {"type": "object"}})).unwrap()
    }

    fn answer(answer: UpstreamAnswer) -> Value {
        serde_json::to_value(answer).unwrap()
    }

    fn upstreams(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn a_listed_upstream_is_remembered_a_while_and_a_failed_one_asked_again() {
        let objects = FakeObjects {
            answers: HashMap::from([
                (
                    "memory",
                    answer(UpstreamAnswer::Tools {
                        tools: vec![tool("read")],
                        observed: BTreeMap::from([(
                            "read".to_owned(),
                            ObservedType {
                                schema: json!({"type": "string"}),
                                results: 1,
                                last_at_ms: 1,
                            },
                        )]),
                    }),
                ),
                (
                    "slow",
                    answer(UpstreamAnswer::Pending {
                        waited_ms: 250,
                        last_error: None,
                    }),
                ),
            ]),
            ..FakeObjects::default()
        };
        let recent = RefCell::default();
        let now = Cell::new(1_000);
        let names = upstreams(&["memory", "slow", "gone"]);
        let accounts = Accounts::default();
        let read = || block_on(catalog(&objects, &recent, || now.get(), &names, &accounts));
        let first = read();
        let [memory, slow, gone] = first.namespaces() else {
            panic!("three namespaces");
        };
        assert_eq!(memory.functions.len(), 1);
        let slow = slow.unavailable.as_ref().unwrap().to_string();
        assert!(slow.contains("still connecting after 250 ms"), "{slow}");
        let gone = gone.unavailable.as_ref().unwrap().to_string();
        assert!(gone.contains("gone is gone"), "{gone}");
        assert_eq!(objects.sent().len(), 3);
        let remembered = read();
        assert_eq!(objects.sent().len(), 5, "only the unavailable ones again");
        let observed = remembered.namespaces()[0].functions[0].observed.as_ref();
        assert_eq!(
            observed.map(|o| o.results),
            Some(1),
            "what was observed is remembered too"
        );
        now.set(1_000 + RECENT_LISTS_MS);
        read();
        assert_eq!(objects.sent().len(), 8, "the remembered list has aged out");
        assert_eq!(
            objects.sent()[0],
            ("memory".into(), json!({"op": "listTools"}))
        );
    }

    #[test]
    fn a_persons_listing_is_asked_for_them_and_not_served_to_another() {
        let listing = answer(UpstreamAnswer::Tools {
            tools: vec![tool("read")],
            observed: BTreeMap::new(),
        });
        let objects = FakeObjects {
            answers: HashMap::from([("memory", listing)]),
            ..FakeObjects::default()
        };
        let config =
            RunnerConfig::from_json(r#"[{"name": "memory", "url": "https://m.example/mcp"}]"#);
        let config = config.unwrap();
        let recent = RefCell::default();
        let names = upstreams(&["memory"]);
        for person in ["alice", "bob", "alice"] {
            let accounts = config.accounts(Some(&Person::access_key(person)));
            block_on(catalog(&objects, &recent, || 1_000, &names, &accounts));
        }
        let asked = json!({"op": "listTools", "person": "key:alice"});
        assert_eq!(objects.sent()[0], ("memory".into(), asked));
        assert_eq!(objects.sent()[1].1["person"], "key:bob");
        assert_eq!(
            objects.sent().len(),
            2,
            "alice's second listing was remembered"
        );
    }

    #[test]
    fn a_cancellation_is_the_first_thing_the_sessions_watch_carries() {
        let objects = FakeObjects {
            streams: HashMap::from([("session-1", vec!["user stopped", "later"])]),
            ..FakeObjects::default()
        };
        let request = RequestId::Number(7);
        let reason = block_on(cancellation(&objects, Some("session-1"), &request));
        assert_eq!(reason, "user stopped");
        let watch = json!({"op": "watch", "key": "7"});
        assert_eq!(objects.sent(), [("session-1".to_owned(), watch)]);
    }

    #[test]
    fn without_a_session_or_a_watch_a_request_is_never_cancelled() {
        let objects = FakeObjects::default();
        let request = RequestId::Number(7);
        let stateless = cancellation(&objects, None, &request).now_or_never();
        assert_eq!(stateless, None);
        assert!(objects.sent().is_empty());
        let unwatched = cancellation(&objects, Some("ended"), &request).now_or_never();
        assert_eq!(unwatched, None);
    }

    #[test]
    fn abandoning_stops_each_upstreams_calls_then_tells_the_session() {
        let objects = FakeObjects::default();
        let abandonment = Abandonment {
            execution: "exec-1".into(),
            upstreams: upstreams(&["memory", "github"]),
            reason: "the client cancelled".into(),
            report_to: Some("session-1".into()),
        };
        let event = abandonment.event();
        block_on(abandonment.carry_out(&objects));
        let cancel = json!({"op": "cancel", "execution": "exec-1",
                            "reason": "the client cancelled"});
        let publish = json!({"op": "publish", "level": "info", "data": event});
        assert_eq!(
            objects.sent(),
            [
                ("memory".to_owned(), cancel.clone()),
                ("github".to_owned(), cancel),
                ("session-1".to_owned(), publish),
            ]
        );
    }

    #[test]
    fn an_answer_that_is_not_the_expected_json_is_an_error() {
        let objects = FakeObjects {
            answers: HashMap::from([("ledger", json!("busy"))]),
            ..FakeObjects::default()
        };
        let asked = block_on(objects.ask::<bool, _>(Object::Ledger, &json!({"op": "metrics"})));
        assert!(asked.unwrap_err().contains("its answer is unreadable"));
    }
}
