//! `stormdb compare`: are two runs different, or is it noise?
//!
//! Each run's time series gives one sample per interval (throughput, mean
//! and p99 latency). Welch's t-test compares the samples without assuming
//! equal variances. Interval samples of one run are serially correlated (a
//! slow second tends to follow a slow second), which makes a plain t-test
//! overconfident, so each side's variance of the mean is inflated by the
//! AR(1) factor (1 + r) / (1 - r), r being the lag-1 autocorrelation, and
//! the degrees of freedom use the matching effective sample size.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

mod input;

pub use input::{ReadError, RunInput, read};
use input::{RowIn, RowLatencyIn};

/// Fewer usable intervals than this and no test is attempted.
pub const MIN_INTERVALS: usize = 5;

/// Mean, variance and serial correlation of one side's samples.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SampleStats {
    /// Samples.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation.
    pub stddev: f64,
    /// Lag-1 autocorrelation, clamped to [0, 0.9] for the correction.
    pub lag1_r: f64,
}

fn sample_stats(xs: &[f64]) -> SampleStats {
    let n = xs.len();
    let mean = if n == 0 {
        0.0
    } else {
        xs.iter().sum::<f64>() / n as f64
    };
    let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
    let var = if n > 1 { ss / (n - 1) as f64 } else { 0.0 };
    let r = if n > 2 && ss > 0.0 {
        let cov: f64 = xs.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum();
        (cov / ss).clamp(0.0, 0.9)
    } else {
        0.0
    };
    SampleStats {
        n,
        mean,
        stddev: var.sqrt(),
        lag1_r: r,
    }
}

/// Welch's t-test with the serial-correlation correction; `None` when a
/// side has too few samples.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TTest {
    /// t statistic (B minus A).
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value.
    pub p: f64,
}

fn welch(a: &SampleStats, b: &SampleStats) -> Option<TTest> {
    if a.n < MIN_INTERVALS || b.n < MIN_INTERVALS {
        return None;
    }
    // Effective sample size and variance of the mean under AR(1).
    let side = |s: &SampleStats| {
        let inflate = (1.0 + s.lag1_r) / (1.0 - s.lag1_r);
        let n_eff = (s.n as f64 / inflate).max(2.0);
        (s.stddev * s.stddev / n_eff, n_eff)
    };
    let (va, na) = side(a);
    let (vb, nb) = side(b);
    let se2 = va + vb;
    let diff = b.mean - a.mean;
    if se2 <= 0.0 {
        // Both sides constant: identical or certainly different.
        let p = if diff == 0.0 { 1.0 } else { 0.0 };
        return Some(TTest {
            t: if diff == 0.0 {
                0.0
            } else {
                f64::INFINITY.copysign(diff)
            },
            df: na + nb - 2.0,
            p,
        });
    }
    let t = diff / se2.sqrt();
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let p = StudentsT::new(0.0, 1.0, df)
        .map(|d| 2.0 * (1.0 - d.cdf(t.abs())))
        .unwrap_or(f64::NAN);
    Some(TTest {
        t,
        df,
        p: p.clamp(0.0, 1.0),
    })
}

/// Which direction is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// More is better (throughput).
    Higher,
    /// Less is better (latency).
    Lower,
}

/// One compared metric.
#[derive(Debug, Clone, Serialize)]
pub struct MetricRow {
    /// What it is.
    pub metric: String,
    /// A's value (the mean of its interval samples, or the whole-run figure).
    pub a: f64,
    /// B's value.
    pub b: f64,
    /// (B − A) / A, percent.
    pub change_pct: f64,
    /// Which way is better.
    pub better: Better,
    /// The test, for metrics sampled per interval.
    pub test: Option<TTest>,
    /// A's samples.
    pub a_samples: Option<SampleStats>,
    /// B's samples.
    pub b_samples: Option<SampleStats>,
    /// `better`, `worse`, `no significant difference`, `not tested`.
    pub verdict: String,
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Significance level used.
    pub alpha: f64,
    /// Per metric.
    pub metrics: Vec<MetricRow>,
    /// Differences in setup that make the runs not like for like, and
    /// other caveats.
    pub warnings: Vec<String>,
    /// One sentence.
    pub verdict: String,
    /// True when B is significantly worse than A on a tested metric.
    pub regression: bool,
}

fn pct(a: f64, b: f64) -> f64 {
    if a == 0.0 {
        if b == 0.0 { 0.0 } else { f64::INFINITY }
    } else {
        (b - a) / a * 100.0
    }
}

/// Rows fit for sampling: whole intervals only (a last interval cut short
/// by the end of the run is noisier than the rest).
fn usable(r: &RunInput) -> impl Iterator<Item = &RowIn> {
    let width = r.time_series.interval_s;
    r.time_series
        .rows
        .iter()
        .filter(move |row| row.duration_s >= width * 0.999)
}

fn tested(metric: &str, better: Better, a: &[f64], b: &[f64], alpha: f64) -> MetricRow {
    let sa = sample_stats(a);
    let sb = sample_stats(b);
    let test = welch(&sa, &sb);
    let verdict = match test {
        None => "not tested (too few intervals)".to_string(),
        Some(t) if t.p < alpha => {
            let b_higher = sb.mean > sa.mean;
            if b_higher == (better == Better::Higher) {
                "better".into()
            } else {
                "worse".into()
            }
        }
        Some(_) => "no significant difference".into(),
    };
    MetricRow {
        metric: metric.into(),
        a: sa.mean,
        b: sb.mean,
        change_pct: pct(sa.mean, sb.mean),
        better,
        test,
        a_samples: Some(sa),
        b_samples: Some(sb),
        verdict,
    }
}

fn described(metric: &str, better: Better, a: f64, b: f64) -> MetricRow {
    MetricRow {
        metric: metric.into(),
        a,
        b,
        change_pct: pct(a, b),
        better,
        test: None,
        a_samples: None,
        b_samples: None,
        verdict: "whole run, not tested".into(),
    }
}

/// Compares run `a` (the baseline) with run `b`.
pub fn compare(a: &RunInput, b: &RunInput, alpha: f64) -> Comparison {
    let mut warnings = Vec::new();
    let mut differs = |what: &str, x: String, y: String| {
        if x != y {
            warnings.push(format!("not like for like: {what} {x} vs {y}"));
        }
    };
    differs(
        "workload",
        format!("{}/{}", a.workload.name, a.workload.mode),
        format!("{}/{}", b.workload.name, b.workload.mode),
    );
    differs(
        "scale",
        a.workload.scale.to_string(),
        b.workload.scale.to_string(),
    );
    differs(
        "workers",
        a.config.workers.to_string(),
        b.config.workers.to_string(),
    );
    differs(
        "connections",
        a.config.connections.to_string(),
        b.config.connections.to_string(),
    );
    differs(
        "connection mode",
        a.config.connection_mode.clone(),
        b.config.connection_mode.clone(),
    );
    differs(
        "target rate",
        a.rate
            .as_ref()
            .map_or("none".into(), |r| r.target_tps.to_string()),
        b.rate
            .as_ref()
            .map_or("none".into(), |r| r.target_tps.to_string()),
    );
    if a.time_series.interval_s != b.time_series.interval_s {
        warnings.push(format!(
            "interval widths differ ({} s vs {} s): per-interval samples are not on the same footing",
            a.time_series.interval_s, b.time_series.interval_s
        ));
    }
    for (label, r) in [("A", a), ("B", b)] {
        if r.status != "completed" {
            warnings.push(format!(
                "run {label} did not complete (status {})",
                r.status
            ));
        }
        if r.summary.errors > 0 {
            warnings.push(format!(
                "run {label} had {} failed steps out of {}",
                r.summary.errors,
                r.summary.errors + r.summary.transactions
            ));
        }
        let n = usable(r).count();
        if n < MIN_INTERVALS {
            warnings.push(format!(
                "run {label} has {n} whole intervals; at least {MIN_INTERVALS} are needed for a test (run longer or use a shorter --interval)"
            ));
        }
    }
    if let (Some(x), Some(y)) = (&a.database.server_version, &b.database.server_version)
        && x != y
    {
        warnings.push(format!("server versions differ: {x} vs {y}"));
    }

    let tps = |r: &RunInput| usable(r).map(|row| row.tps).collect::<Vec<_>>();
    // Latency samples come only from intervals that completed something.
    let lat = |r: &RunInput, f: fn(&RowLatencyIn) -> f64| {
        usable(r)
            .filter(|row| row.transactions > 0)
            .map(|row| f(&row.latency_ms))
            .collect::<Vec<_>>()
    };
    // Both ran to a schedule and kept it: throughput is what was asked
    // for. A run that fell behind (arrivals skipped or never started) is
    // compared on throughput like any other.
    let on_schedule = |r: &RunInput| r.rate.as_ref().is_some_and(|r| !r.fell_behind());
    let kept_schedule = on_schedule(a) && on_schedule(b);
    let mut metrics = vec![
        tested("tps", Better::Higher, &tps(a), &tps(b), alpha),
        tested(
            "latency mean ms",
            Better::Lower,
            &lat(a, |l| l.mean),
            &lat(b, |l| l.mean),
            alpha,
        ),
        tested(
            "latency p99 ms (per interval)",
            Better::Lower,
            &lat(a, |l| l.p99),
            &lat(b, |l| l.p99),
            alpha,
        ),
    ];
    if kept_schedule {
        metrics[0].verdict = "set by the schedule, not tested".into();
        metrics[0].test = None;
    }
    let (x, y) = (&a.latency_ms, &b.latency_ms);
    for (name, va, vb) in [
        ("latency p50 ms", x.p50, y.p50),
        ("latency p95 ms", x.p95, y.p95),
        ("latency p99 ms", x.p99, y.p99),
        ("latency p99.9 ms", x.p999, y.p999),
        ("latency max ms", x.max, y.max),
    ] {
        metrics.push(described(name, Better::Lower, va, vb));
    }
    metrics.push(described(
        "tps (whole run)",
        Better::Higher,
        a.summary.tps,
        b.summary.tps,
    ));
    metrics.push(described(
        "elapsed s",
        Better::Lower,
        a.summary.elapsed_s,
        b.summary.elapsed_s,
    ));

    let better: Vec<&MetricRow> = metrics.iter().filter(|m| m.verdict == "better").collect();
    let worse: Vec<&MetricRow> = metrics.iter().filter(|m| m.verdict == "worse").collect();
    let list = |rows: &[&MetricRow]| {
        rows.iter()
            .map(|m| {
                format!(
                    "{} {:+.1}% (p={})",
                    m.metric,
                    m.change_pct,
                    m.test.map_or("-".into(), |t| format_p(t.p))
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let any_tested = metrics.iter().any(|m| m.test.is_some());
    let verdict = match (better.is_empty(), worse.is_empty()) {
        _ if !any_tested => "no verdict: too few intervals to test".to_string(),
        (true, true) => format!(
            "no significant difference between A and B at the {:.0}% level",
            (1.0 - alpha) * 100.0
        ),
        (false, true) => format!("B is better than A: {}", list(&better)),
        (true, false) => format!("B is worse than A: {}", list(&worse)),
        (false, false) => format!(
            "mixed: B is better on {} but worse on {}",
            list(&better),
            list(&worse)
        ),
    };
    let regression = !worse.is_empty();
    Comparison {
        alpha,
        metrics,
        warnings,
        verdict,
        regression,
    }
}

fn format_p(p: f64) -> String {
    if p < 0.001 {
        "<0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// The comparison as a table and a verdict in words.
pub fn render(c: &Comparison, a_name: &str, b_name: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "A: {a_name}");
    let _ = writeln!(w, "B: {b_name}");
    let _ = writeln!(
        w,
        "{:<30} {:>12} {:>12} {:>9} {:>8}  verdict",
        "metric", "A", "B", "change", "p"
    );
    for m in &c.metrics {
        let _ = writeln!(
            w,
            "{:<30} {:>12.3} {:>12.3} {:>8.1}% {:>8}  {}",
            m.metric,
            m.a,
            m.b,
            m.change_pct,
            m.test.map_or("-".into(), |t| format_p(t.p)),
            m.verdict
        );
    }
    for warning in &c.warnings {
        let _ = writeln!(w, "WARNING: {warning}");
    }
    let _ = writeln!(w, "verdict: {}", c.verdict);
    let _ = writeln!(
        w,
        "(Welch's t-test on per-interval samples, corrected for serial correlation; alpha {})",
        c.alpha
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_matches_a_textbook_value() {
        // R's t.test(b, a): t = 2, df = 8, p = 0.08052.
        let a = sample_stats(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        let b = sample_stats(&[3.0, 4.0, 5.0, 6.0, 7.0]);
        // These samples are trending, so take the correction out to check
        // the plain test against the reference.
        let a = SampleStats { lag1_r: 0.0, ..a };
        let b = SampleStats { lag1_r: 0.0, ..b };
        let t = welch(&a, &b).unwrap();
        assert!((t.t - 2.0).abs() < 1e-9, "{t:?}");
        assert!((t.df - 8.0).abs() < 1e-9, "{t:?}");
        assert!((t.p - 0.08052).abs() < 1e-4, "{t:?}");
    }

    #[test]
    fn serial_correlation_widens_the_test() {
        let smooth: Vec<f64> = (0..40)
            .map(|i| 100.0 + (i as f64 / 6.0).sin() * 5.0)
            .collect();
        let shifted: Vec<f64> = smooth.iter().map(|x| x + 2.0).collect();
        let a = sample_stats(&smooth);
        let b = sample_stats(&shifted);
        assert!(a.lag1_r > 0.5, "{a:?}");
        let corrected = welch(&a, &b).unwrap();
        let plain = welch(
            &SampleStats { lag1_r: 0.0, ..a },
            &SampleStats { lag1_r: 0.0, ..b },
        )
        .unwrap();
        assert!(corrected.p > plain.p, "{corrected:?} vs {plain:?}");
    }

    #[test]
    fn the_sample_report_reads_and_compares_with_itself() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report/sample-report.json");
        let r = read(&path).unwrap();
        let c = compare(&r, &r, 0.05);
        assert!(
            c.verdict.starts_with("no significant difference"),
            "{}",
            c.verdict
        );
        assert!(!c.regression);
    }

    #[test]
    fn too_few_samples_are_not_tested() {
        let a = sample_stats(&[1.0, 2.0]);
        assert!(welch(&a, &a).is_none());
    }

    #[test]
    fn identical_constant_samples_do_not_differ() {
        let a = sample_stats(&[5.0; 10]);
        let t = welch(&a, &a).unwrap();
        assert_eq!(t.p, 1.0);
    }
}
