//! When steps start: as fast as possible (closed loop, optionally with a
//! think time), or on a schedule at a target rate (open loop), where
//! latency is measured from the *scheduled* start so a stalled server
//! cannot hide behind a stalled client (no coordinated omission).

use std::time::{Duration, Instant};

/// How a run paces its steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pacing {
    /// Next step when the last one finished, after `think`.
    Closed {
        /// Pause between steps, not counted in latency.
        think: Duration,
    },
    /// Steps scheduled at `rate` per second in all.
    Open {
        /// Transactions per second, all workers together.
        rate: f64,
        /// Exponential gaps (a Poisson process) or equal ones.
        poisson: bool,
        /// Steps that cannot start within this of their schedule are
        /// skipped; steps finishing later than this are counted late.
        latency_limit: Option<Duration>,
    },
}

/// The arrivals of one shard in open-loop mode, shared by its workers: a
/// worker that is free takes the next arrival, as pgbench's clients take
/// their thread's. With a schedule per worker instead, a step would wait
/// for its own worker while others sat idle (one queue per worker rather
/// than one shared queue), and lag would not compare with pgbench's.
pub struct Schedule {
    next: Instant,
    mean_gap: f64,
    poisson: bool,
    state: u64,
}

impl Schedule {
    /// `rate` arrivals per second from `start`, its random gaps seeded
    /// with `seed`.
    pub fn new(rate: f64, poisson: bool, start: Instant, seed: u64) -> Self {
        let mut s = Schedule {
            next: start,
            mean_gap: 1.0 / rate.max(1e-9),
            poisson,
            state: seed | 1,
        };
        // Shards start at different points of their first gap, not in a
        // burst at the same instant. A Poisson process has no memory: its
        // first arrival is as far off as any other (a uniform phase would
        // add half an arrival at the start).
        let first = if poisson {
            -s.unit().ln() * s.mean_gap
        } else {
            s.unit() * s.mean_gap
        };
        s.next = start + Duration::from_secs_f64(first);
        s
    }

    /// A uniform number in (0, 1) from xorshift64*.
    fn unit(&mut self) -> f64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let x = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// The scheduled start of the next step; advances the schedule.
    pub fn take(&mut self) -> Instant {
        let at = self.next;
        let gap = if self.poisson {
            -self.unit().ln() * self.mean_gap
        } else {
            self.mean_gap
        };
        self.next = at + Duration::from_secs_f64(gap.min(3600.0));
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_keep_their_rate() {
        let t0 = Instant::now();
        for poisson in [false, true] {
            let mut s = Schedule::new(100.0, poisson, t0, 42);
            let mut last = t0;
            for _ in 0..10_000 {
                last = s.take();
            }
            let secs = last.duration_since(t0).as_secs_f64();
            assert!((95.0..105.0).contains(&secs), "poisson={poisson}: {secs}");
        }
    }

    #[test]
    fn uniform_gaps_are_equal() {
        let t0 = Instant::now();
        let mut s = Schedule::new(100.0, false, t0, 1);
        let a = s.take();
        let b = s.take();
        let c = s.take();
        assert_eq!(b - a, c - b);
        assert_eq!((c - b).as_millis(), 10);
    }
}
