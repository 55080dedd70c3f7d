//! Time series: one row per interval for the JSON and CSV reports, and the
//! interval logs written while the run goes on: pgbench's aggregate log
//! format and an HdrHistogram interval log.

use crate::metrics::intervals::IntervalStats;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Percentiles of one interval, milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IntervalLatency {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// Lag in one interval (rate mode), milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IntervalLag {
    /// Mean.
    pub mean: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// One interval of the time series.
#[derive(Debug, Clone, Serialize)]
pub struct IntervalRow {
    /// Seconds from the end of warmup to the start of the interval.
    pub t_s: f64,
    /// Length of the interval, seconds: the interval width, except for a
    /// last interval cut short by the end of the run.
    pub duration_s: f64,
    /// Successful steps.
    pub transactions: u64,
    /// Failed steps.
    pub errors: u64,
    /// Successful steps per second of the interval's own length.
    pub tps: f64,
    /// Latency of successful steps.
    pub latency_ms: IntervalLatency,
    /// Schedule lag, in rate mode.
    pub lag_ms: Option<IntervalLag>,
    /// Steps that needed more than one try.
    pub retried: u64,
    /// Steps skipped for being late.
    pub skipped: u64,
    /// Steps finishing past the latency limit.
    pub late: u64,
}

/// The row for interval `index` of width `width`.
pub fn row(index: u64, width: Duration, s: &IntervalStats, rate_mode: bool) -> IntervalRow {
    let l = s.latency.summary();
    let g = s.lag.summary();
    IntervalRow {
        t_s: width.as_secs_f64() * index as f64,
        duration_s: width.as_secs_f64(),
        transactions: s.transactions,
        errors: s.errors,
        tps: s.transactions as f64 / width.as_secs_f64(),
        latency_ms: IntervalLatency {
            mean: l.mean,
            p50: l.p50,
            p90: l.p90,
            p99: l.p99,
            max: l.max,
        },
        lag_ms: rate_mode.then_some(IntervalLag {
            mean: g.mean,
            p99: g.p99,
            max: g.max,
        }),
        retried: s.retried,
        skipped: s.skipped,
        late: s.late,
    }
}

/// Cuts the last row to the end of the measured window (`elapsed` after
/// its start), so its rate is per second it actually lasted.
pub fn trim_last(rows: &mut [IntervalRow], elapsed: Duration) {
    let end = elapsed.as_secs_f64();
    if let Some(last) = rows.last_mut() {
        let d = end - last.t_s;
        if d > 0.0 && d < last.duration_s {
            last.duration_s = d;
            last.tps = last.transactions as f64 / d;
        }
    }
}

/// Writes the time series as CSV.
pub fn write_csv(path: &Path, rows: &[IntervalRow]) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        f,
        "t_s,duration_s,transactions,errors,tps,lat_mean_ms,lat_p50_ms,lat_p90_ms,lat_p99_ms,lat_max_ms,lag_mean_ms,lag_p99_ms,lag_max_ms,retried,skipped,late"
    )?;
    for r in rows {
        let (lm, lp, lx) = r
            .lag_ms
            .map_or((String::new(), String::new(), String::new()), |g| {
                (
                    format!("{:.3}", g.mean),
                    format!("{:.3}", g.p99),
                    format!("{:.3}", g.max),
                )
            });
        writeln!(
            f,
            "{:.3},{:.3},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{lm},{lp},{lx},{},{},{}",
            r.t_s,
            r.duration_s,
            r.transactions,
            r.errors,
            r.tps,
            r.latency_ms.mean,
            r.latency_ms.p50,
            r.latency_ms.p90,
            r.latency_ms.p99,
            r.latency_ms.max,
            r.retried,
            r.skipped,
            r.late
        )?;
    }
    f.flush()
}

/// What pgbench's aggregate log shows besides the basics.
#[derive(Debug, Clone, Copy)]
pub struct AggregateFields {
    /// Add lag columns (rate mode).
    pub lag: bool,
    /// Add the skipped column (latency limit).
    pub skipped: bool,
    /// Add retried and retries columns (`--max-tries` above 1).
    pub retries: bool,
}

/// One line of pgbench's aggregate log (`--aggregate-interval`):
/// `interval_start num_transactions sum_latency sum_latency_2 min_latency
/// max_latency failures [sum_lag sum_lag_2 min_lag max_lag [skipped]]
/// [retried retries]`, times in microseconds, start in Unix seconds.
pub fn aggregate_line(start: SystemTime, s: &IntervalStats, fields: AggregateFields) -> String {
    let epoch = start.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (min, max) = if s.transactions == 0 {
        (0, 0)
    } else {
        (s.min_us, s.max_us)
    };
    let mut line = format!(
        "{epoch} {} {} {} {min} {max} {}",
        s.transactions, s.sum_us, s.sumsq_us, s.errors
    );
    if fields.lag {
        let (lmin, lmax) = if s.lag_sum_us == 0 && s.lag_max_us == 0 {
            (0, 0)
        } else {
            (s.lag_min_us.min(s.lag_max_us), s.lag_max_us)
        };
        line.push_str(&format!(
            " {} {} {lmin} {lmax}",
            s.lag_sum_us, s.lag_sumsq_us
        ));
        if fields.skipped {
            line.push_str(&format!(" {}", s.skipped));
        }
    }
    if fields.retries {
        line.push_str(&format!(" {} {}", s.retried, s.retries));
    }
    line
}

/// An HdrHistogram interval log of latencies (µs values, maxima in ms),
/// readable by HdrHistogram's log tools.
pub struct HdrLog {
    out: std::io::BufWriter<std::fs::File>,
    base: SystemTime,
}

impl HdrLog {
    /// Creates the log with its headers; `base` is the run's time zero.
    pub fn create(path: &Path, base: SystemTime) -> std::io::Result<HdrLog> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        let secs = base
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        writeln!(
            out,
            "#[Histogram log written by StormDB; values in microseconds]"
        )?;
        writeln!(out, "#[StartTime: {secs:.3} (seconds since epoch)]")?;
        writeln!(out, "#[BaseTime: {secs:.3} (seconds since epoch)]")?;
        writeln!(out, "#[MaxValueDivisor: 1000.0]")?;
        writeln!(
            out,
            "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
        )?;
        Ok(HdrLog { out, base })
    }

    /// Appends one interval's latency histogram.
    pub fn write(
        &mut self,
        start: SystemTime,
        width: Duration,
        s: &IntervalStats,
    ) -> std::io::Result<()> {
        use base64::Engine as _;
        use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(s.latency.raw(), &mut bytes)
            .map_err(|e| std::io::Error::other(format!("{e:?}")))?;
        let offset = start
            .duration_since(self.base)
            .unwrap_or_default()
            .as_secs_f64();
        let max_ms = s.latency.raw().max() as f64 / 1000.0;
        writeln!(
            self.out,
            "{offset:.3},{:.3},{max_ms:.3},{}",
            width.as_secs_f64(),
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }

    /// Flushes the file.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::intervals::{Intervals, Sample};
    use std::time::Instant;

    fn stats() -> IntervalStats {
        let t0 = Instant::now();
        let mut iv = Intervals::new(t0, Duration::from_secs(1));
        for (ms, lag) in [(2, 1), (4, 3)] {
            iv.record(
                t0,
                Sample {
                    latency: Duration::from_millis(ms),
                    lag: Some(Duration::from_millis(lag)),
                    ok: true,
                    retries: 1,
                    late: false,
                },
            );
        }
        iv.take_all().remove(0).1
    }

    #[test]
    fn aggregate_lines_follow_pgbench() {
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let all = AggregateFields {
            lag: true,
            skipped: true,
            retries: true,
        };
        assert_eq!(
            aggregate_line(start, &stats(), all),
            "1700000000 2 6000 20000000 2000 4000 0 4000 10000000 1000 3000 0 2 2"
        );
        let plain = AggregateFields {
            lag: false,
            skipped: false,
            retries: false,
        };
        assert_eq!(
            aggregate_line(start, &stats(), plain),
            "1700000000 2 6000 20000000 2000 4000 0"
        );
    }

    #[test]
    fn hdr_logs_decode_back_to_the_histogram() {
        use base64::Engine as _;
        use hdrhistogram::serialization::Deserializer;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.hlog");
        let base = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut log = HdrLog::create(&path, base).unwrap();
        log.write(
            base + Duration::from_secs(1),
            Duration::from_secs(1),
            &stats(),
        )
        .unwrap();
        log.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let line = text.lines().last().unwrap();
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields[0], "1.000");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(fields[3])
            .unwrap();
        let h: hdrhistogram::Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .unwrap();
        assert_eq!(h.len(), 2);
    }
}
