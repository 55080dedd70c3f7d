//! Turning what one workload's run measured into its [`Report`].

use super::prepare::Prepared;
use crate::config::{RunConfig, StopAfter};
use crate::plugin::Origin;
use crate::report::{
    self, ConfigSection, DatabaseSection, Report, SetupSection, WorkloadSection,
    series::IntervalRow,
};
use crate::runner::pacing::Pacing;
use crate::runner::{RunResult, RunStatus};

/// What the run around the workload contributes to its report.
pub(super) struct Context<'a> {
    /// The run's settings.
    pub cfg: &'a RunConfig,
    /// RFC 3339 start time.
    pub started_at: &'a str,
    /// The database.
    pub database: &'a DatabaseSection,
    /// The server's statistics over the run.
    pub pg_stats: Option<crate::pg::stats::PgStats>,
}

/// The report of prepared workload `p` after `result`, with its time
/// series and extra warnings.
pub(super) fn report(
    p: &Prepared,
    result: &RunResult,
    time_series: Vec<IntervalRow>,
    mut warnings: Vec<String>,
    cx: Context<'_>,
) -> Report {
    let cfg = cx.cfg;
    let spec = &p.spec;
    let m = report::measured(&result.recorder, result.elapsed, result.dropped_log_lines);
    let mut all_warnings = p.loaded.warnings.clone();
    all_warnings.extend(m.warnings);
    if let Some(e) = &result.summarize_error {
        all_warnings.push(e.clone());
    }
    all_warnings.append(&mut warnings);
    let rate = match spec.pacing {
        Pacing::Open {
            rate,
            poisson,
            latency_limit,
        } => {
            let lag = result.recorder.lag.summary();
            Some(report::RateSection {
                target_tps: rate,
                arrivals: if poisson { "poisson" } else { "uniform" }.into(),
                latency_limit_ms: latency_limit.map(|d| d.as_secs_f64() * 1000.0),
                lag_ms: report::LagSummary {
                    mean: lag.mean,
                    p50: lag.p50,
                    p99: lag.p99,
                    max: lag.max,
                },
                late: result.recorder.late,
                skipped: result.recorder.skipped,
                unstarted: result.recorder.unstarted,
            })
        }
        Pacing::Closed { .. } => None,
    };
    let (status, error) = match &result.status {
        RunStatus::Completed => ("completed", None),
        RunStatus::Interrupted => ("interrupted", None),
        RunStatus::Failed(e) => ("failed", Some(e.clone())),
    };
    Report {
        schema_version: report::SCHEMA_VERSION,
        stormdb_version: env!("CARGO_PKG_VERSION").to_string(),
        status: status.to_string(),
        error,
        started_at: cx.started_at.to_string(),
        workload: WorkloadSection {
            name: p.info.name.clone(),
            version: p.info.version.clone(),
            sha256: p.loaded.artifact.sha256.clone(),
            origin: p.loaded.artifact.origin_label().into(),
            signers: match &p.loaded.artifact.origin {
                Origin::Signed { signers, .. } => signers.clone(),
                _ => Vec::new(),
            },
            dependencies: p
                .loaded
                .dependencies
                .iter()
                .map(|d| report::DependencyRow {
                    name: d.name.clone(),
                    version: match &d.origin {
                        Origin::Signed { version, .. }
                        | Origin::UnsignedManifest { version, .. } => version.clone(),
                        _ => String::new(),
                    },
                    sha256: d.sha256.clone(),
                    origin: d.origin_label().into(),
                })
                .collect(),
            mode: spec.mode.clone(),
            scale: spec.scale,
            params: spec.params.iter().cloned().collect(),
            counters: result.recorder.counters.clone(),
            figures: result
                .figures
                .iter()
                .map(|f| {
                    (
                        f.name.clone(),
                        report::FigureRow {
                            value: f.value,
                            unit: f.unit.clone(),
                            expected: f.expected.clone(),
                            ok: f.ok,
                        },
                    )
                })
                .collect(),
        },
        config: ConfigSection {
            workers: spec.workers,
            connections: spec.connections,
            threads: result.shards,
            duration_s: match cfg.stop {
                StopAfter::Duration(d) => Some(d.as_secs_f64()),
                StopAfter::Transactions(_) => None,
            },
            transactions: match cfg.stop {
                StopAfter::Transactions(n) => Some(n),
                StopAfter::Duration(_) => None,
            },
            warmup_s: cfg.warmup.as_secs_f64(),
            seed: spec.seed,
            connection_mode: cfg.connection_mode.name().into(),
            tenant: p.loaded.tenant.clone(),
            capabilities: p.loaded.caps.names(),
        },
        database: cx.database.clone(),
        setup: result.setup.as_ref().map(|s| SetupSection {
            performed: s.performed,
            elapsed_s: s.elapsed.as_secs_f64(),
            loaders: s.loaders,
            rows: s.rows,
        }),
        summary: m.summary,
        latency_ms: m.latency_ms,
        pool_wait_ms: m.pool_wait_ms,
        connections: m.connections,
        operations: m.operations,
        errors: m.errors,
        workers: m.workers,
        warnings: all_warnings,
        rate,
        statements: m.statements,
        statement_kinds: m.statement_kinds,
        latency_distribution: m.latency_distribution,
        time_series: report::TimeSeries {
            interval_s: cfg.interval.as_secs_f64(),
            rows: time_series,
        },
        process: report::ProcessSection {
            max_rss_kb: report::max_rss_kb(),
        },
        pg_stats: cx.pg_stats,
    }
}
