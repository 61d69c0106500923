//! The decrypt queue: `ChatSeal.decrypt` calls wait here and are taken newest first by
//! [`WORKERS`] workers, each running in slices that yield to the event loop, so rendering
//! a long history never blocks the page. The crypto is synchronous, so the workers only
//! overlap while they wait (for a sender's card from the directory): a request the
//! directory is slow to answer holds up one worker, not the whole history. An aborted job
//! leaves the queue at once — before any crypto or request — and its promise rejects with
//! `AbortError`.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;

use super::js::abort_error;

/// Time a slice may run before the queue yields to the event loop (ms).
const SLICE_MS: f64 = 8.0;

/// How many jobs may be under way at once (at most one of them computing).
pub const WORKERS: usize = 4;

/// One queued decrypt.
pub struct Job {
    /// The message: a JS string, copied into WebAssembly memory only when the job runs,
    /// so that queueing a long history costs the caller's task little.
    pub text: JsValue,
    /// `options.from`.
    pub from: Option<String>,
    /// `options.context`.
    pub context: Option<String>,
    /// `decryptBytes` rather than `decrypt`.
    pub bytes: bool,
    /// `options.signal`.
    pub signal: Option<web_sys::AbortSignal>,
    resolve: Function,
    reject: Function,
    /// The abort listener and its signal, removed when the job settles.
    listener: Option<(web_sys::EventTarget, Closure<dyn FnMut()>)>,
}

impl Job {
    fn settle(mut self, outcome: Result<JsValue, JsValue>) {
        if let Some((signal, closure)) = self.listener.take() {
            let _ = signal
                .remove_event_listener_with_callback("abort", closure.as_ref().unchecked_ref());
        }
        let _ = match outcome {
            Ok(value) => self.resolve.call1(&JsValue::UNDEFINED, &value),
            Err(error) => self.reject.call1(&JsValue::UNDEFINED, &error),
        };
    }
}

/// What runs a job: the engine's decrypt, supplied by `ChatSeal`.
pub type Runner = Rc<
    dyn Fn(&Job) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue, JsValue>>>>,
>;

/// The queue of one `ChatSeal`.
pub struct Queue {
    jobs: RefCell<BTreeMap<u64, Job>>,
    next: Cell<u64>,
    /// Workers running (at most [`WORKERS`]).
    workers: Cell<usize>,
    /// When the current slice began (ms): set by the worker whose timer started the task.
    slice_start: Cell<f64>,
    cancelled: Rc<dyn Fn()>,
}

impl Queue {
    /// An empty queue; `cancelled` counts each job aborted while waiting.
    pub fn new(cancelled: Rc<dyn Fn()>) -> Rc<Queue> {
        Rc::new(Queue {
            jobs: RefCell::new(BTreeMap::new()),
            next: Cell::new(0),
            workers: Cell::new(0),
            slice_start: Cell::new(0.0),
            cancelled,
        })
    }

    /// Queues a job and returns its promise; `signal` (an AbortSignal or undefined)
    /// removes it from the queue when aborted.
    pub fn push(
        self: &Rc<Self>,
        text: JsValue,
        from: Option<String>,
        context: Option<String>,
        bytes: bool,
        signal: Option<web_sys::AbortSignal>,
        runner: Runner,
    ) -> Promise {
        let seq = self.next.get();
        self.next.set(seq + 1);
        let queue = Rc::clone(self);
        let promise = Promise::new(&mut |resolve, reject| {
            let mut job = Job {
                text: text.clone(),
                from: from.clone(),
                context: context.clone(),
                bytes,
                signal: signal.clone(),
                resolve,
                reject,
                listener: None,
            };
            if let Some(target) = signal.clone().map(web_sys::EventTarget::from) {
                let weak = Rc::downgrade(&queue);
                let closure = Closure::<dyn FnMut()>::new(move || {
                    if let Some(queue) = weak.upgrade() {
                        queue.abort(seq);
                    }
                });
                let _ = target
                    .add_event_listener_with_callback("abort", closure.as_ref().unchecked_ref());
                job.listener = Some((target, closure));
            }
            queue.jobs.borrow_mut().insert(seq, job);
        });
        self.drive(runner);
        promise
    }

    /// A waiting job was aborted: out of the queue, rejected, counted.
    fn abort(&self, seq: u64) {
        let job = self.jobs.borrow_mut().remove(&seq);
        if let Some(job) = job {
            (self.cancelled)();
            job.settle(Err(abort_error()));
        }
    }

    /// Starts a worker unless [`WORKERS`] run already (one that finds nothing left to do
    /// stops).
    fn drive(self: &Rc<Self>, runner: Runner) {
        let workers = self.workers.get();
        if workers >= WORKERS {
            return;
        }
        self.workers.set(workers + 1);
        let queue = Rc::clone(self);
        spawn_local(async move {
            // Let the caller queue (and abort) a whole batch before work starts.
            gloo_timers::future::TimeoutFuture::new(0).await;
            queue.slice_start.set(js_sys::Date::now());
            loop {
                // The slice is the task's, not this worker's: a worker that another one's
                // work woke in the same task (its sender card arrived) waits for a task
                // of its own once the slice is spent.
                if js_sys::Date::now() - queue.slice_start.get() > SLICE_MS {
                    gloo_timers::future::TimeoutFuture::new(0).await;
                    queue.slice_start.set(js_sys::Date::now());
                }
                // Newest first: the message on screen now matters more than history.
                let job = queue.jobs.borrow_mut().pop_last().map(|(_, job)| job);
                let Some(job) = job else { break };
                let outcome = runner(&job).await;
                job.settle(outcome);
            }
            queue.workers.set(queue.workers.get() - 1);
        });
    }
}
