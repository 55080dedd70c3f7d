//! Prometheus text exposition of a running benchmark: totals so far and
//! the most recent interval's throughput and latency quantiles.

use crate::metrics::intervals::IntervalStats;
use std::fmt::Write as _;

/// What the endpoint serves, updated as intervals complete.
#[derive(Debug, Clone, Default)]
pub struct PromState {
    /// Workload name.
    pub workload: String,
    /// Mode.
    pub mode: String,
    /// Successful steps so far.
    pub transactions: u64,
    /// Failed steps so far.
    pub errors: u64,
    /// Steps retried so far.
    pub retried: u64,
    /// Steps skipped (rate mode) so far.
    pub skipped: u64,
    /// Intervals completed.
    pub intervals: u64,
    /// Throughput of the last interval.
    pub last_tps: f64,
    /// Latency quantiles of the last interval, seconds: (quantile, value).
    pub last_latency: Vec<(f64, f64)>,
    /// Lag p99 of the last interval, seconds (rate mode).
    pub last_lag_p99: Option<f64>,
}

impl PromState {
    /// Adds a completed interval.
    pub fn add(&mut self, s: &IntervalStats, width_s: f64, rate_mode: bool) {
        self.transactions += s.transactions;
        self.errors += s.errors;
        self.retried += s.retried;
        self.skipped += s.skipped;
        self.intervals += 1;
        self.last_tps = s.transactions as f64 / width_s;
        self.last_latency = [0.5, 0.9, 0.99, 0.999, 1.0]
            .iter()
            .map(|q| (*q, s.latency.quantile_ms(*q) / 1000.0))
            .collect();
        self.last_lag_p99 = rate_mode.then(|| s.lag.quantile_ms(0.99) / 1000.0);
    }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition text.
pub fn render(s: &PromState) -> String {
    let mut o = String::new();
    let labels = format!(
        "workload=\"{}\",mode=\"{}\"",
        label(&s.workload),
        label(&s.mode)
    );
    let _ = writeln!(o, "# HELP stormdb_info The running workload.");
    let _ = writeln!(o, "# TYPE stormdb_info gauge");
    let _ = writeln!(o, "stormdb_info{{{labels}}} 1");
    for (name, help, v) in [
        (
            "stormdb_transactions_total",
            "Successful steps in the measured window.",
            s.transactions,
        ),
        (
            "stormdb_errors_total",
            "Failed steps in the measured window.",
            s.errors,
        ),
        (
            "stormdb_retried_total",
            "Steps that needed more than one try.",
            s.retried,
        ),
        (
            "stormdb_skipped_total",
            "Steps skipped for lateness (rate mode).",
            s.skipped,
        ),
        (
            "stormdb_intervals_total",
            "Completed intervals.",
            s.intervals,
        ),
    ] {
        let _ = writeln!(o, "# HELP {name} {help}");
        let _ = writeln!(o, "# TYPE {name} counter");
        let _ = writeln!(o, "{name}{{{labels}}} {v}");
    }
    let _ = writeln!(
        o,
        "# HELP stormdb_tps Throughput of the last completed interval."
    );
    let _ = writeln!(o, "# TYPE stormdb_tps gauge");
    let _ = writeln!(o, "stormdb_tps{{{labels}}} {}", s.last_tps);
    let _ = writeln!(
        o,
        "# HELP stormdb_latency_seconds Step latency in the last completed interval."
    );
    let _ = writeln!(o, "# TYPE stormdb_latency_seconds gauge");
    for (q, v) in &s.last_latency {
        let _ = writeln!(
            o,
            "stormdb_latency_seconds{{{labels},quantile=\"{q}\"}} {v}"
        );
    }
    if let Some(lag) = s.last_lag_p99 {
        let _ = writeln!(
            o,
            "# HELP stormdb_lag_seconds Schedule lag p99 in the last interval."
        );
        let _ = writeln!(o, "# TYPE stormdb_lag_seconds gauge");
        let _ = writeln!(o, "stormdb_lag_seconds{{{labels},quantile=\"0.99\"}} {lag}");
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_counters_and_quantiles() {
        let mut st = PromState {
            workload: "pg\"bench".into(),
            mode: "x".into(),
            ..Default::default()
        };
        st.add(&IntervalStats::default(), 1.0, true);
        let text = render(&st);
        assert!(text.contains("stormdb_transactions_total{workload=\"pg\\\"bench\",mode=\"x\"} 0"));
        assert!(text.contains("quantile=\"0.99\""));
        assert!(text.contains("# TYPE stormdb_tps gauge"));
        assert!(text.contains("stormdb_lag_seconds"));
    }
}
