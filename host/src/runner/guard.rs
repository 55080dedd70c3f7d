//! Wall-clock limits for steps without a timer per step.
//!
//! A per-step `tokio::time::timeout` registers and removes a timer-wheel
//! entry for every transaction, and an abort future per step costs a
//! waiter registration: measurable at tens of thousands of steps per
//! second. Instead each worker publishes when its current step started,
//! and one sentinel task per shard looks every [`SCAN`] and kills steps
//! that ran past the limit (or all of them on abort) by waking them.
//! Everything here lives on one shard thread, so plain cells suffice.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// How often the sentinel looks.
const SCAN: Duration = Duration::from_millis(50);

/// Why a guarded step was killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Killed {
    /// It ran past the wall-clock limit.
    Timeout,
    /// The run was aborted.
    Abort,
}

/// One worker's published state.
#[derive(Default)]
pub struct Slot {
    started: Cell<Option<Instant>>,
    killed: Cell<Option<Killed>>,
    waker: RefCell<Option<Waker>>,
}

impl Slot {
    fn kill(&self, why: Killed) {
        self.killed.set(Some(why));
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }
}

/// The slots of one shard's workers.
#[derive(Default, Clone)]
pub struct Guards {
    slots: Rc<RefCell<Vec<Rc<Slot>>>>,
}

impl Guards {
    /// A slot for a new worker.
    pub fn slot(&self) -> Rc<Slot> {
        let s = Rc::new(Slot::default());
        self.slots.borrow_mut().push(s.clone());
        s
    }

    /// Watches the slots until `done` says the shard's workers finished:
    /// kills steps older than `limit`, and every step once `aborted` says so.
    pub async fn sentinel(
        self,
        limit: Duration,
        aborted: impl Fn() -> bool,
        done: impl Fn() -> bool,
    ) {
        let mut tick = tokio::time::interval(SCAN);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !done() {
            tick.tick().await;
            let abort = aborted();
            let now = Instant::now();
            for slot in self.slots.borrow().iter() {
                match slot.started.get() {
                    Some(_) if abort => slot.kill(Killed::Abort),
                    Some(t) if now.saturating_duration_since(t) > limit => {
                        slot.kill(Killed::Timeout)
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Runs `fut` as the step that started at `started`, unless the sentinel
/// kills it first.
pub fn guarded<F: Future>(slot: &Slot, started: Instant, fut: F) -> Guarded<'_, F> {
    slot.killed.set(None);
    slot.started.set(Some(started));
    Guarded { slot, fut }
}

pin_project_lite::pin_project! {
    /// The future returned by [`guarded`].
    pub struct Guarded<'a, F> {
        slot: &'a Slot,
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for Guarded<'_, F> {
    type Output = Result<F::Output, Killed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(why) = this.slot.killed.get() {
            this.slot.started.set(None);
            return Poll::Ready(Err(why));
        }
        match this.fut.poll(cx) {
            Poll::Ready(v) => {
                this.slot.started.set(None);
                Poll::Ready(Ok(v))
            }
            Poll::Pending => {
                let mut w = this.slot.waker.borrow_mut();
                if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *w = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn slow_steps_are_killed_and_fast_ones_pass() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            let guards = Guards::default();
            let slot = guards.slot();
            let finished = Rc::new(Cell::new(false));
            let f = finished.clone();
            tokio::task::spawn_local(guards.clone().sentinel(
                Duration::from_millis(100),
                || false,
                move || f.get(),
            ));
            let fast = guarded(&slot, Instant::now(), async { 7 }).await;
            assert_eq!(fast, Ok(7));
            let started = Instant::now();
            let slow = guarded(&slot, started, tokio::time::sleep(Duration::from_secs(30))).await;
            assert_eq!(slow, Err(Killed::Timeout));
            assert!(started.elapsed() < Duration::from_secs(2));
            finished.set(true);
        });
    }
}
