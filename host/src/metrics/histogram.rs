//! Latency histograms: microsecond resolution, three significant digits,
//! one hour range; values above the range are clamped (and counted).

use hdrhistogram::Histogram;
use serde::Serialize;
use std::time::Duration;

const MAX_US: u64 = 3_600_000_000;

/// An HdrHistogram of latencies in microseconds.
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    h: Histogram<u64>,
    clamped: u64,
}

/// Percentiles of a histogram in milliseconds, as reports show them.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct LatencySummary {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Standard deviation.
    pub stddev: f64,
    /// Minimum.
    pub min: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Maximum.
    pub max: f64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl LatencyHistogram {
    /// An empty histogram with three significant digits.
    pub fn new() -> Self {
        Self::with_digits(3)
    }

    /// An empty histogram with two significant digits (1% resolution), an
    /// eighth of the memory: for per-worker latencies, of which there may
    /// be thousands.
    pub fn coarse() -> Self {
        Self::with_digits(2)
    }

    fn with_digits(digits: u8) -> Self {
        LatencyHistogram {
            // Bounds are constants that hdrhistogram accepts.
            #[allow(clippy::unwrap_used)]
            h: Histogram::new_with_bounds(1, MAX_US, digits).unwrap(),
            clamped: 0,
        }
    }

    /// The underlying HdrHistogram (µs), for interval logs.
    pub fn raw(&self) -> &Histogram<u64> {
        &self.h
    }

    /// Counts per bucket on a log scale (about four buckets per doubling),
    /// as `(upper bound in ms, count)`, empty buckets left out. Every
    /// sample is in exactly one bucket, and at most its bound.
    pub fn distribution(&self) -> Vec<(f64, u64)> {
        let mut out = Vec::new();
        if self.h.is_empty() {
            return out;
        }
        // Bounds end where a histogram cell ends: `count_between` counts
        // whole cells, and above 2048 µs a cell is wider than 1 µs, so a
        // bound inside a cell would count that cell in two buckets.
        let mut lo = 0u64;
        let mut hi = self.h.highest_equivalent(1);
        let max = self.h.max();
        while lo <= max {
            let n = self.h.count_between(lo, hi);
            if n > 0 {
                out.push((ms(hi), n));
            }
            lo = hi + 1;
            let next = ((hi as f64) * 1.189_207).ceil() as u64;
            hi = self.h.highest_equivalent(next.max(lo));
        }
        out
    }

    /// Records one latency.
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if us > MAX_US {
            self.clamped += 1;
        }
        self.h.saturating_record(us.clamp(1, MAX_US));
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.h.len()
    }

    /// Samples above the one-hour range, recorded as one hour.
    pub fn clamped(&self) -> u64 {
        self.clamped
    }

    /// Adds `other`'s samples.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.h.add(&other.h);
        self.clamped += other.clamped;
    }

    /// The value at `q` (0..=1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        ms(self.h.value_at_quantile(q))
    }

    /// Count, mean, spread and percentiles in milliseconds.
    pub fn summary(&self) -> LatencySummary {
        if self.h.is_empty() {
            return LatencySummary {
                count: 0,
                mean: 0.0,
                stddev: 0.0,
                min: 0.0,
                p50: 0.0,
                p90: 0.0,
                p95: 0.0,
                p99: 0.0,
                p999: 0.0,
                max: 0.0,
            };
        }
        LatencySummary {
            count: self.h.len(),
            mean: self.h.mean() / 1000.0,
            stddev: self.h.stdev() / 1000.0,
            min: ms(self.h.min()),
            p50: self.quantile_ms(0.50),
            p90: self.quantile_ms(0.90),
            p95: self.quantile_ms(0.95),
            p99: self.quantile_ms(0.99),
            p999: self.quantile_ms(0.999),
            max: ms(self.h.max()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_merged_distribution() {
        let mut fast = LatencyHistogram::new();
        let mut slow = LatencyHistogram::new();
        for _ in 0..99 {
            fast.record(Duration::from_micros(1000));
        }
        slow.record(Duration::from_micros(100_000));
        fast.merge(&slow);
        let s = fast.summary();
        assert_eq!(s.count, 100);
        assert!((s.p50 - 1.0).abs() < 0.01, "{s:?}");
        assert!((s.max - 100.0).abs() < 0.1, "{s:?}");
        // Averaging the two histograms' p99s (1 and 100) would say 50.5.
        assert!((s.p99 - 1.0).abs() < 0.01, "{s:?}");
    }

    #[test]
    fn distribution_puts_each_sample_in_one_bucket_under_its_bound() {
        let mut h = LatencyHistogram::new();
        // 2720 and 2721 µs share a cell; so do many neighbours further up.
        let mut values = vec![1, 2, 3, 2047, 2048, 2720, 2721, 3848, 4577, 5444, 7701];
        let mut v = 10u64;
        while v < 50_000_000 {
            values.push(v);
            v = v * 13 / 10 + 1;
        }
        for &us in &values {
            h.record(Duration::from_micros(us));
        }
        let d = h.distribution();
        let total: u64 = d.iter().map(|(_, n)| n).sum();
        assert_eq!(total, values.len() as u64, "{d:?}");
        // Bounds rise, and each sample is at most its bucket's bound: the
        // cumulative count up to a bound covers every sample below it.
        assert!(d.windows(2).all(|w| w[0].0 < w[1].0), "{d:?}");
        for &us in &values {
            let below: u64 = d
                .iter()
                .filter(|(le, _)| *le * 1000.0 >= us as f64)
                .map(|(_, n)| n)
                .sum();
            let above = values.iter().filter(|&&x| x >= us).count() as u64;
            assert!(below >= above, "{us} µs: {d:?}");
        }
    }

    #[test]
    fn out_of_range_values_are_clamped_and_counted() {
        let mut h = LatencyHistogram::new();
        h.record(Duration::from_secs(7200));
        h.record(Duration::ZERO);
        assert_eq!(h.count(), 2);
        assert_eq!(h.clamped(), 1);
    }
}
