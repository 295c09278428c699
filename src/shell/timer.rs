//! A timer future that wakes whoever polled it last.
//!
//! `worker::Delay` keeps the waker of its first poll. A future inside a response stream is
//! polled by one JavaScript pull after another, each with its own waker, and a pull that has
//! finished is woken in vain: a `Delay` first polled in an earlier pull never wakes its future
//! again. This one keeps the newest waker, so it fires wherever it is polled from.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::Function;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use worker::web_sys;

/// What the timer and its callback share.
#[derive(Default)]
struct Shared {
    fired: bool,
    waker: Option<Waker>,
}

/// Resolves `ms` milliseconds after its first poll.
pub(crate) struct Sleep {
    ms: u32,
    shared: Rc<RefCell<Shared>>,
    /// The `setTimeout` callback and its id, once set; cleared when dropped.
    timer: Option<(Closure<dyn FnMut()>, i32)>,
}

impl Sleep {
    /// A timer of `ms` milliseconds, not started until polled.
    pub(crate) fn new(ms: u32) -> Self {
        Self {
            ms,
            shared: Rc::default(),
            timer: None,
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut shared = self.shared.borrow_mut();
        if shared.fired {
            return Poll::Ready(());
        }
        shared.waker = Some(cx.waker().clone());
        drop(shared);
        if self.timer.is_none() {
            let shared = Rc::clone(&self.shared);
            let callback = Closure::<dyn FnMut()>::new(move || {
                let mut shared = shared.borrow_mut();
                shared.fired = true;
                if let Some(waker) = shared.waker.take() {
                    waker.wake();
                }
            });
            let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
            let function: &Function = callback.as_ref().unchecked_ref();
            let delay = i32::try_from(self.ms).unwrap_or(i32::MAX);
            match global.set_timeout_with_callback_and_timeout_and_arguments_0(function, delay) {
                Ok(id) => self.timer = Some((callback, id)),
                // Without a timer the future would never resolve; let it resolve now.
                Err(_) => return Poll::Ready(()),
            }
        }
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some((_, id)) = self.timer.take() {
            let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
            global.clear_timeout_with_handle(id);
        }
    }
}
