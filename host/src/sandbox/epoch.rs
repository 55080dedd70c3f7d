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
use std::time::{Duration, Instant};
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

/// CPU budget of one exported call: time the guest spent running wasm,
/// measured at each epoch tick as the time since the later of the last
/// tick and the last return from a host call (so time waiting for the
/// database is not charged).
#[derive(Debug, Clone)]
pub struct CpuBudget {
    limit: Duration,
    used: Duration,
    mark: Instant,
}

impl Default for CpuBudget {
    fn default() -> Self {
        CpuBudget {
            limit: Duration::MAX,
            used: Duration::ZERO,
            mark: Instant::now(),
        }
    }
}

impl CpuBudget {
    /// A budget of `limit` for a call starting at `now`.
    pub fn start(limit: Duration, now: Instant) -> Self {
        CpuBudget {
            limit,
            used: Duration::ZERO,
            mark: now,
        }
    }

    /// Called at each deadline hit, `now`, with the instant the guest last
    /// came back from a host call; true while the call is within budget.
    pub fn on_tick(&mut self, now: Instant, last_host_return: Option<Instant>) -> bool {
        let since = match last_host_return {
            Some(r) if r > self.mark => r,
            _ => self.mark,
        };
        self.used += now.saturating_duration_since(since);
        self.mark = now;
        self.used <= self.limit
    }

    /// Time charged so far.
    pub fn used(&self) -> Duration {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_call_time_is_not_charged() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut b = CpuBudget::start(Duration::from_millis(30), t0);
        assert!(b.on_tick(ms(10), None)); // ran 10 ms
        // Waited in a host call from 12 to 50 ms, then ran to 55 ms.
        assert!(b.on_tick(ms(55), Some(ms(50))));
        assert_eq!(b.used(), Duration::from_millis(15));
        assert!(b.on_tick(ms(65), Some(ms(50))));
        assert!(!b.on_tick(ms(75), None)); // 35 ms > 30 ms
    }
}
