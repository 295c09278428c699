//! Branches a request seldom takes, kept out of the code every request runs.
//!
//! V8 compiles a wasm function whole, the first time it is called, and drops that baseline code
//! whenever workerd starts an isolate (workerd signals memory pressure to each new isolate, and
//! V8 answers by flushing every module's baseline code); each execution starts one. So each
//! execution compiles again every function it calls that V8 has not optimized
//! (docs/benchmarks.md, "Where the time goes").
//!
//! An `async fn` awaited in one place is inlined into its caller's state machine, and its code
//! is then compiled with the caller's even when the branch that awaits it is not taken.

use std::future::Future;

use futures::future::LocalBoxFuture;
use futures::FutureExt;

/// `future` behind a pointer its caller cannot inline: its code is compiled only when the
/// branch that awaits it runs. For branches most requests skip (other routes and methods,
/// approvals, failures), never for the path every execution takes. `#[inline(never)]` would not
/// do: wasm-opt inlines every function that has one caller, whatever its size, but not a call
/// through a vtable.
pub fn cold<'a, T>(future: impl Future<Output = T> + 'a) -> LocalBoxFuture<'a, T> {
    future.boxed_local()
}
