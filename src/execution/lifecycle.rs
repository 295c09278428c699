//! An execution's run in its isolate, until whichever comes first: the program's end, its
//! timeout or the client's cancellation; and what abandoning it stops.
//!
//! An execution that runs out of time, is cancelled or loses its client is abandoned: its gate
//! is closed, so every further call is refused, and the upstreams that still have calls of it
//! in flight are told to stop them. Once the program has returned the gate is closed too, so a
//! timer it left behind cannot call a tool.

use std::convert::Infallible;
use std::future::Future;

use futures::future::{join_all, select, Either};
use futures::pin_mut;
use serde_json::{json, Value};

use super::objects::{Object, Objects};
use super::{IsolateRun, Platform, SandboxError};
use crate::config::account_of_object;
use crate::protocol::log_level::LogLevel;
use crate::sandbox::protocol::Outcome;

/// How long an execution runs before it watches its session's object for a cancellation that
/// reached another isolate (one that reaches its own isolate stops it at once).
pub const CANCELLATION_WATCH_AFTER_MS: u32 = 1_000;
use crate::session::{request_key, SessionCommand};
use crate::upstream::protocol::{UpstreamAnswer, UpstreamCommand};

/// What abandoning an execution stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abandonment {
    /// The execution's id, which its upstream calls carry.
    pub execution: String,
    /// The objects of the upstreams that had calls of it in flight.
    pub upstreams: Vec<String>,
    /// Why it was abandoned.
    pub reason: String,
    /// The session whose GET streams are told what stopped, when the request that started the
    /// execution has no one left to tell.
    pub report_to: Option<String>,
}

impl Abandonment {
    /// The log event a session's streams hear.
    pub fn event(&self) -> Value {
        json!({"event": "execution_abandoned", "execution": self.execution,
               "reason": self.reason,
               "stoppedCallsTo": self.upstreams.iter().map(|o| account_of_object(o).0).collect::<Vec<_>>()})
    }

    /// Tells each upstream that the execution's calls are no longer wanted, then its session
    /// (when it is to be told) what stopped. The future owns what it needs, so it can outlive
    /// the request.
    pub fn carry_out(self, objects: &impl Objects) -> impl Future<Output = ()> + 'static {
        let cancel = UpstreamCommand::Cancel {
            execution: self.execution.clone(),
            reason: self.reason.clone(),
        };
        let cancels: Vec<_> = (self.upstreams.iter())
            .map(|name| objects.ask::<UpstreamAnswer, _>(Object::Upstream(name), &cancel))
            .collect();
        let report = self.report_to.as_deref().map(|session| {
            let event = SessionCommand::Publish {
                level: LogLevel::Info,
                data: self.event(),
            };
            objects.ask::<usize, _>(Object::Session(session), &event)
        });
        async move {
            // Best effort: an unreachable object has no call to stop.
            join_all(cancels).await;
            if let Some(report) = report {
                // Best effort: the session may have ended with its client.
                let _ = report.await;
            }
        }
    }
}

/// Runs `run` on `platform` to its end, while `approvals` answers its calls' asks for approval.
/// A program that returns only after `timeoutMs` (it held the CPU, so the timer could not
/// fire) has overrun, and its outcome is discarded. Time spent waiting for people does not
/// count toward `timeoutMs`.
pub(super) async fn run_to_end<P: Platform>(
    platform: &P,
    run: &IsolateRun<'_>,
    approvals: impl Future<Output = Infallible>,
    stops_for_person: impl Future<Output = ()>,
) -> Result<Outcome, SandboxError> {
    let started = platform.now_ms();
    let program = platform.run(run);
    let deadline = deadline(platform, run);
    let cancelled = cancellation(platform, run);
    pin_mut!(program, deadline, cancelled, approvals, stops_for_person);
    // Made after the futures, so that it is dropped before them: the calls still in flight are
    // named before anything else lets go of them.
    let mut unfinished = Unfinished {
        platform,
        run,
        armed: true,
    };
    let stopped = select(cancelled, select(approvals, stops_for_person));
    let ended = select(select(program, deadline), stopped).await;
    unfinished.armed = false;
    let error = match ended {
        // A program that stopped waiting for the person may still return before that is seen.
        Either::Left((Either::Left((Ok(_), _)), _)) if run.gate.waits_for_person() => {
            return Err(SandboxError::AwaitingPerson)
        }
        Either::Left((Either::Left((Ok(outcome), _)), _)) => {
            run.gate.close("the program returned");
            let now = platform.now_ms();
            let ms = (now.saturating_sub(started)).saturating_sub(run.gate.approval_wait(now).0);
            if ms > u64::from(run.timeout_ms) {
                return Err(SandboxError::Overran {
                    ms,
                    limit: run.timeout_ms,
                });
            }
            return Ok(outcome);
        }
        Either::Left((Either::Left((Err(error), _)), _)) => {
            run.gate.close("the sandbox stopped");
            return Err(error);
        }
        Either::Left((Either::Right(_), _)) => SandboxError::Timeout(run.timeout_ms),
        Either::Right((Either::Left((reason, _)), _)) => SandboxError::Cancelled(reason),
        Either::Right((Either::Right((Either::Left((never, _)), _)), _)) => match never {},
        Either::Right((Either::Right((Either::Right(_), _)), _)) => SandboxError::AwaitingPerson,
    };
    // A cancelled request gets no answer, so only the session's streams can say what stopped;
    // a timed-out one is answered with the error.
    let report = matches!(error, SandboxError::Cancelled(_));
    platform
        .abandon(abandonment(run, &error.to_string(), report))
        .await;
    Err(error)
}

/// Resolves once `run` has used its `timeoutMs`, not counting the time its calls spent waiting
/// for approval: each time the timer fires, the waiting since is given back.
/// The client's reason, once it cancels `run`. The run is registered with its isolate's
/// [`WaitingRequests`](crate::session::WaitingRequests) at once, so a cancellation that
/// reaches this isolate stops it then. One that reached another isolate is met in the
/// session's object, which is watched only after
/// [`CANCELLATION_WATCH_AFTER_MS`], so that most executions, which end sooner, cost the object
/// no request and no stream; the object keeps a cancellation that came first for the watch
/// ([`crate::session::Room`]), so it is seen at most that late.
fn cancellation<'a, 'r, P: Platform>(
    platform: &'a P,
    run: &'a IsolateRun<'r>,
) -> impl Future<Output = String> + use<'a, 'r, P> {
    let here = (run.session)
        .map(|session| (platform.waiting_requests()).wait(session, request_key(run.context.id())));
    let there = async move {
        platform.sleep(CANCELLATION_WATCH_AFTER_MS).await;
        platform.cancellation(run).await
    };
    async move {
        match here {
            Some(here) => {
                pin_mut!(here, there);
                select(here, there).await.factor_first().0
            }
            None => there.await,
        }
    }
}

async fn deadline<P: Platform>(platform: &P, run: &IsolateRun<'_>) {
    let mut sleep_ms = run.timeout_ms;
    let mut given_back = 0;
    loop {
        platform.sleep(sleep_ms).await;
        let (waited, waiting) = run.gate.approval_wait(platform.now_ms());
        if !waiting && waited == given_back {
            return;
        }
        let owed = u32::try_from(waited - given_back).unwrap_or(u32::MAX);
        // While someone is still being asked, look again at least every second.
        sleep_ms = if waiting { owed.max(1_000) } else { owed };
        given_back = waited;
    }
}

/// Closes `run`'s gate for `reason` and says what that leaves to stop.
fn abandonment(run: &IsolateRun<'_>, reason: &str, report: bool) -> Abandonment {
    Abandonment {
        execution: run.id.to_owned(),
        upstreams: run.gate.close(reason),
        reason: reason.to_owned(),
        report_to: run.session.filter(|_| report).map(str::to_owned),
    }
}

/// A run under way. Dropped unfinished (the client closed the response stream, which is how a
/// 2026-07-28 client cancels), it is abandoned in the background.
struct Unfinished<'p, 'r, 'a, P: Platform> {
    platform: &'p P,
    run: &'r IsolateRun<'a>,
    armed: bool,
}

impl<P: Platform> Drop for Unfinished<'_, '_, '_, P> {
    fn drop(&mut self) {
        if self.armed {
            let abandonment = abandonment(self.run, "the client closed the connection", true);
            let work = self.platform.abandon(abandonment);
            self.platform.in_background(work);
        }
    }
}
