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

/// The arrivals of a run in open-loop mode, shared by all its workers: a
/// worker that is free takes the next arrival, as pgbench's clients take
/// their thread's. With a schedule per worker instead, a step would wait
/// for its own busy worker while others sat idle (one queue per worker
/// rather than one shared queue), and lag would not compare with
/// pgbench's.
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
        // The first arrival is at a random point of the first gap, not at
        // the start. A Poisson process has no memory: its first arrival is
        // as far off as any other (a uniform phase would add half an
        // arrival at the start).
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

    /// A gap to the next arrival, seconds.
    fn gap(&mut self) -> f64 {
        if self.poisson {
            -self.unit().ln() * self.mean_gap
        } else {
            self.mean_gap
        }
    }

    /// The scheduled start of the next step; advances the schedule.
    pub fn take(&mut self) -> Instant {
        let at = self.next;
        let gap = self.gap();
        self.next = at + Duration::from_secs_f64(gap.min(3600.0));
        at
    }

    /// Drops every arrival before `to` uncounted, in constant work.
    pub fn skip_to(&mut self, to: Instant) {
        // An empty range: nothing is counted, and the schedule moves on.
        let _ = self.count_between(to, to);
    }

    /// How many arrivals still to come fall in `[from, to)`; the schedule
    /// moves past `to`. Bounded work however many there are (a mistyped
    /// `-R` can leave billions): uniform gaps are counted in closed form,
    /// a long Poisson stretch draws its count from the normal
    /// approximation (its mean is in the millions by then).
    pub fn count_between(&mut self, from: Instant, to: Instant) -> u64 {
        if self.next >= to {
            return 0;
        }
        let secs = |a: Instant, b: Instant| b.saturating_duration_since(a).as_secs_f64();
        if !self.poisson {
            // Arrivals at next + k * gap for k >= 0.
            let first = (secs(self.next, from) / self.mean_gap).ceil();
            let end = (secs(self.next, to) / self.mean_gap).ceil();
            self.next += Duration::from_secs_f64(end * self.mean_gap);
            return (end - first).max(0.0) as u64;
        }
        // `next` is an arrival; after it, by the lack of memory, a Poisson
        // process of the same rate.
        let counted_next = u64::from(self.next >= from);
        let start = self.next.max(from);
        let mean = secs(start, to) / self.mean_gap;
        let rest = if mean < 100_000.0 {
            let mut n = 0;
            let mut t = self.gap();
            let span = secs(start, to);
            while t < span {
                n += 1;
                t += self.gap();
            }
            n
        } else {
            // Box-Muller from two uniforms of the schedule's own stream.
            let z =
                (-2.0 * self.unit().ln()).sqrt() * (2.0 * std::f64::consts::PI * self.unit()).cos();
            (mean + z * mean.sqrt()).round().max(0.0) as u64
        };
        self.next = to + Duration::from_secs_f64(self.gap().min(3600.0));
        counted_next + rest
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
    fn arrivals_left_are_counted_without_taking_them() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // Uniform at 1,000/s: the first arrival somewhere in the first
        // millisecond, then one every millisecond.
        let mut s = Schedule::new(1000.0, false, t0, 7);
        let first = s.take();
        assert!(first < at(1));
        let mut walked = Schedule::new(1000.0, false, t0, 7);
        walked.take();
        let expected = std::iter::repeat_with(|| walked.take())
            .take_while(|t| *t < at(5000))
            .filter(|t| *t >= at(2000))
            .count() as u64;
        assert_eq!(s.count_between(at(2000), at(5000)), expected);
        assert!((2999..=3001).contains(&expected), "{expected}");
        assert!(s.take() >= at(5000));
        // Poisson: the count is near the mean, both when walked and when
        // drawn, and a billion arrivals cost no more than a few.
        for (rate, secs) in [(1000.0, 10), (1e9, 10)] {
            let mut s = Schedule::new(rate, true, t0, 11);
            let n = s.count_between(t0, t0 + Duration::from_secs(secs)) as f64;
            let mean = rate * secs as f64;
            assert!((n - mean).abs() < 5.0 * mean.sqrt(), "{n} vs {mean}");
            assert!(s.take() >= t0 + Duration::from_secs(secs));
        }
        // Skipping counts nothing and leaves nothing before `to`.
        let mut s = Schedule::new(1e9, true, t0, 5);
        s.skip_to(at(10_000));
        assert!(s.take() >= at(10_000));
        // Nothing left before `to`.
        let mut s = Schedule::new(10.0, true, at(1000), 3);
        assert_eq!(s.count_between(t0, at(500)), 0);
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
