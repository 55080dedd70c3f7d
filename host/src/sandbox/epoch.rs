//! The clock behind per-call CPU deadlines.
//!
//! wasmtime's epoch interruption checks a counter at loop heads and function
//! entries. A tokio task on one of the run's own threads advances it every
//! [`TICK`]: measured here, advancing it from an OS thread every 10 ms
//! caused multi-second stalls and unfair progress between instances, while
//! a tokio-driven tick did not. The tokio ticker cannot run while every
//! runtime thread is stuck in a guest that never yields, so a watchdog
//! thread advances the epoch only when the ticker has gone quiet; in a
//! healthy run it never does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use wasmtime::Engine;

/// Epoch period.
pub const TICK: Duration = Duration::from_millis(10);
/// How long the ticker may be silent before the watchdog steps in.
const WATCHDOG_PERIOD: Duration = Duration::from_millis(50);

/// Advances the engine's epoch and mirrors its value, which the deadline
/// callback reads to tell a guest that ran through a tick from one that
/// waited in a host call.
#[derive(Clone)]
pub struct EpochClock {
    engine: Engine,
    ticks: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl EpochClock {
    /// A clock for `engine`, with its watchdog thread running.
    pub fn new(engine: Engine) -> Self {
        let clock = EpochClock {
            engine,
            ticks: Arc::new(AtomicU64::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let watchdog = clock.clone();
        std::thread::Builder::new()
            .name("stormdb-epoch-watchdog".into())
            .spawn(move || watchdog.watch())
            .ok();
        clock
    }

    /// The mirrored epoch.
    pub fn now(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    fn tick(&self) {
        self.engine.increment_epoch();
        self.ticks.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs the ticker on the current tokio runtime until the clock is
    /// dropped by every holder.
    pub async fn run_ticker(self) {
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !self.stop.load(Ordering::Relaxed) {
            interval.tick().await;
            self.tick();
        }
    }

    fn watch(&self) {
        let mut seen = self.now();
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(WATCHDOG_PERIOD);
            let now = self.now();
            if now == seen {
                self.tick();
            }
            seen = self.now();
        }
    }

    /// Stops the ticker and the watchdog.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// CPU budget of one exported call: how much time the guest may run
/// between its SQL calls (the session keeps that time; see
/// `SqlSession::guest_time`), checked at each epoch tick.
#[derive(Debug, Clone)]
pub struct CpuBudget {
    limit: Duration,
}

impl Default for CpuBudget {
    fn default() -> Self {
        CpuBudget {
            limit: Duration::MAX,
        }
    }
}

impl CpuBudget {
    /// A budget of `limit`.
    pub fn new(limit: Duration) -> Self {
        CpuBudget { limit }
    }

    /// The most the guest may run in this call.
    pub fn limit(&self) -> Duration {
        self.limit
    }
}
