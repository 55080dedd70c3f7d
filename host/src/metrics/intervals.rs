//! Per-interval statistics for time series, progress and the pgbench and
//! HdrHistogram interval logs. Shards keep only the intervals still open
//! and hand completed ones to the main thread, which merges them across
//! shards, turns each into a row and drops its histograms: memory does not
//! grow with the length of the run.

use super::LatencyHistogram;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Everything measured in one interval.
#[derive(Debug, Clone)]
pub struct IntervalStats {
    /// Latency of successful steps.
    pub latency: LatencyHistogram,
    /// Schedule lag (rate mode).
    pub lag: LatencyHistogram,
    /// Successful steps.
    pub transactions: u64,
    /// Failed steps.
    pub errors: u64,
    /// Steps that needed more than one try.
    pub retried: u64,
    /// Extra tries in all.
    pub retries: u64,
    /// Steps skipped for being late (rate mode with a latency limit).
    pub skipped: u64,
    /// Steps that finished later than the latency limit.
    pub late: u64,
    /// Sum, sum of squares, min and max of latency in µs (pgbench's
    /// aggregate log wants them).
    pub sum_us: u128,
    /// Sum of squared latencies, µs².
    pub sumsq_us: u128,
    /// Smallest latency, µs.
    pub min_us: u64,
    /// Largest latency, µs.
    pub max_us: u64,
    /// The same for lag.
    pub lag_sum_us: u128,
    /// Sum of squared lags.
    pub lag_sumsq_us: u128,
    /// Smallest lag.
    pub lag_min_us: u64,
    /// Largest lag.
    pub lag_max_us: u64,
}

impl Default for IntervalStats {
    fn default() -> Self {
        IntervalStats {
            latency: LatencyHistogram::new(),
            lag: LatencyHistogram::new(),
            transactions: 0,
            errors: 0,
            retried: 0,
            retries: 0,
            skipped: 0,
            late: 0,
            sum_us: 0,
            sumsq_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            lag_sum_us: 0,
            lag_sumsq_us: 0,
            lag_min_us: u64::MAX,
            lag_max_us: 0,
        }
    }
}

fn us(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl IntervalStats {
    /// Adds another shard's numbers for the same interval.
    pub fn merge(&mut self, o: &IntervalStats) {
        self.latency.merge(&o.latency);
        self.lag.merge(&o.lag);
        self.transactions += o.transactions;
        self.errors += o.errors;
        self.retried += o.retried;
        self.retries += o.retries;
        self.skipped += o.skipped;
        self.late += o.late;
        self.sum_us += o.sum_us;
        self.sumsq_us += o.sumsq_us;
        self.min_us = self.min_us.min(o.min_us);
        self.max_us = self.max_us.max(o.max_us);
        self.lag_sum_us += o.lag_sum_us;
        self.lag_sumsq_us += o.lag_sumsq_us;
        self.lag_min_us = self.lag_min_us.min(o.lag_min_us);
        self.lag_max_us = self.lag_max_us.max(o.lag_max_us);
    }
}

/// What one step contributes to its interval.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Latency (from the scheduled start in rate mode).
    pub latency: Duration,
    /// Schedule lag, in rate mode.
    pub lag: Option<Duration>,
    /// It succeeded.
    pub ok: bool,
    /// Extra tries it needed.
    pub retries: u32,
    /// It finished later than the latency limit.
    pub late: bool,
}

/// The open intervals of one shard.
#[derive(Debug)]
pub struct Intervals {
    origin: Instant,
    width: Duration,
    open: BTreeMap<u64, IntervalStats>,
}

impl Intervals {
    /// Intervals of `width` counted from `origin` (the end of warmup).
    pub fn new(origin: Instant, width: Duration) -> Self {
        Intervals {
            origin,
            width: width.max(Duration::from_millis(1)),
            open: BTreeMap::new(),
        }
    }

    /// Restarts the intervals at `origin` (when the window opens).
    pub fn reset(&mut self, origin: Instant) {
        self.origin = origin;
        self.open.clear();
    }

    /// The interval `at` falls in.
    pub fn index(&self, at: Instant) -> u64 {
        // In u64 nanoseconds (584 years) rather than u128: once per step.
        let since = u64::try_from(at.saturating_duration_since(self.origin).as_nanos());
        let width = u64::try_from(self.width.as_nanos())
            .unwrap_or(u64::MAX)
            .max(1);
        since.map_or(u64::MAX / width, |n| n / width)
    }

    fn slot(&mut self, at: Instant) -> &mut IntervalStats {
        let i = self.index(at);
        self.open.entry(i).or_default()
    }

    /// Records a step that completed at `at`.
    pub fn record(&mut self, at: Instant, s: Sample) {
        let iv = self.slot(at);
        if s.ok {
            iv.transactions += 1;
            iv.latency.record(s.latency);
            let u = us(s.latency);
            iv.sum_us += u128::from(u);
            iv.sumsq_us += u128::from(u) * u128::from(u);
            iv.min_us = iv.min_us.min(u);
            iv.max_us = iv.max_us.max(u);
        } else {
            iv.errors += 1;
        }
        if s.retries > 0 {
            iv.retried += 1;
            iv.retries += u64::from(s.retries);
        }
        if s.late {
            iv.late += 1;
        }
        // pgbench's aggregate log sums lag over the transactions it counts,
        // the successful ones.
        if let Some(lag) = s.lag.filter(|_| s.ok) {
            iv.lag.record(lag);
            let u = us(lag);
            iv.lag_sum_us += u128::from(u);
            iv.lag_sumsq_us += u128::from(u) * u128::from(u);
            iv.lag_min_us = iv.lag_min_us.min(u);
            iv.lag_max_us = iv.lag_max_us.max(u);
        }
    }

    /// Records a step skipped at `at` for being too late to start.
    pub fn skipped(&mut self, at: Instant) {
        self.slot(at).skipped += 1;
    }

    /// Removes and returns the intervals that ended before `now`, and the
    /// index of the first interval still open (the shard's watermark).
    pub fn take_complete(&mut self, now: Instant) -> (Vec<(u64, IntervalStats)>, u64) {
        let current = self.index(now);
        let keep = self.open.split_off(&current);
        let done = std::mem::replace(&mut self.open, keep);
        (done.into_iter().collect(), current)
    }

    /// Removes and returns every interval.
    pub fn take_all(&mut self) -> Vec<(u64, IntervalStats)> {
        std::mem::take(&mut self.open).into_iter().collect()
    }
}

/// A shard's report to the main thread.
#[derive(Debug)]
pub enum ShardMsg {
    /// Completed intervals, and the first interval the shard still has open.
    Intervals {
        /// Which shard.
        shard: usize,
        /// Completed intervals.
        done: Vec<(u64, IntervalStats)>,
        /// Every interval before this one is complete for this shard.
        watermark: u64,
    },
    /// The shard's workers have finished; these are its last intervals.
    Finished {
        /// Which shard.
        shard: usize,
        /// Everything it still had.
        rest: Vec<(u64, IntervalStats)>,
    },
}

/// Merges shards' intervals and releases each one, in order, once every
/// shard is past it.
#[derive(Debug)]
pub struct Collector {
    watermarks: Vec<Option<u64>>,
    pending: BTreeMap<u64, IntervalStats>,
}

impl Collector {
    /// A collector for `shards` shards.
    pub fn new(shards: usize) -> Self {
        Collector {
            watermarks: vec![Some(0); shards],
            pending: BTreeMap::new(),
        }
    }

    fn put(&mut self, idx: u64, s: IntervalStats) {
        match self.pending.get_mut(&idx) {
            Some(mine) => mine.merge(&s),
            None => {
                self.pending.insert(idx, s);
            }
        }
    }

    /// Takes a shard's message; returns the intervals now complete.
    pub fn add(&mut self, msg: ShardMsg) -> Vec<(u64, IntervalStats)> {
        match msg {
            ShardMsg::Intervals {
                shard,
                done,
                watermark,
            } => {
                for (i, s) in done {
                    self.put(i, s);
                }
                if let Some(w) = self.watermarks.get_mut(shard) {
                    *w = Some(watermark);
                }
            }
            ShardMsg::Finished { shard, rest } => {
                for (i, s) in rest {
                    self.put(i, s);
                }
                if let Some(w) = self.watermarks.get_mut(shard) {
                    *w = None;
                }
            }
        }
        let low = self.watermarks.iter().flatten().min().copied();
        match low {
            Some(low) => {
                let keep = self.pending.split_off(&low);
                std::mem::replace(&mut self.pending, keep)
                    .into_iter()
                    .collect()
            }
            None => std::mem::take(&mut self.pending).into_iter().collect(),
        }
    }

    /// Everything still pending (at the end of the run).
    pub fn finish(&mut self) -> Vec<(u64, IntervalStats)> {
        std::mem::take(&mut self.pending).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(ms: u64) -> Sample {
        Sample {
            latency: Duration::from_millis(ms),
            lag: None,
            ok: true,
            retries: 0,
            late: false,
        }
    }

    #[test]
    fn samples_land_in_their_interval_and_complete_ones_leave() {
        let t0 = Instant::now();
        let mut iv = Intervals::new(t0, Duration::from_secs(1));
        iv.record(t0 + Duration::from_millis(100), ok(5));
        iv.record(t0 + Duration::from_millis(900), ok(7));
        iv.record(t0 + Duration::from_millis(1500), ok(9));
        let (done, watermark) = iv.take_complete(t0 + Duration::from_millis(1600));
        assert_eq!(watermark, 1);
        assert_eq!(done.len(), 1);
        let (idx, s) = &done[0];
        assert_eq!(*idx, 0);
        assert_eq!(s.transactions, 2);
        assert_eq!(s.min_us, 5000);
        assert_eq!(s.max_us, 7000);
        assert_eq!(s.sum_us, 12_000);
        let rest = iv.take_all();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].1.transactions, 1);
    }

    #[test]
    fn intervals_are_released_when_every_shard_is_past_them() {
        let t0 = Instant::now();
        let mut c = Collector::new(2);
        let mut a = Intervals::new(t0, Duration::from_secs(1));
        a.record(t0 + Duration::from_millis(10), ok(1));
        let (done, w) = a.take_complete(t0 + Duration::from_millis(1100));
        let out = c.add(ShardMsg::Intervals {
            shard: 0,
            done,
            watermark: w,
        });
        assert!(out.is_empty(), "shard 1 has not reported interval 0 yet");
        let mut b = Intervals::new(t0, Duration::from_secs(1));
        b.record(t0 + Duration::from_millis(20), ok(2));
        b.record(t0 + Duration::from_millis(1050), ok(3));
        let (done, w) = b.take_complete(t0 + Duration::from_millis(1100));
        let out = c.add(ShardMsg::Intervals {
            shard: 1,
            done,
            watermark: w,
        });
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.transactions, 2);
        let out = c.add(ShardMsg::Finished {
            shard: 1,
            rest: b.take_all(),
        });
        assert!(out.is_empty(), "shard 0 is still at interval 1");
        let out = c.add(ShardMsg::Finished {
            shard: 0,
            rest: a.take_all(),
        });
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].0, out[0].1.transactions), (1, 1));
    }

    #[test]
    fn merging_keeps_extremes_and_sums() {
        let t0 = Instant::now();
        let mut a = Intervals::new(t0, Duration::from_secs(1));
        let mut b = Intervals::new(t0, Duration::from_secs(1));
        a.record(t0, ok(2));
        b.record(t0, ok(20));
        let mut x = a.take_all().remove(0).1;
        x.merge(&b.take_all().remove(0).1);
        assert_eq!((x.transactions, x.min_us, x.max_us), (2, 2000, 20_000));
        assert_eq!(x.latency.count(), 2);
    }
}
