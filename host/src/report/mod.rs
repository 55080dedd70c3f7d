//! Reports: one [`Report`] built from what the run measured, written as a
//! console summary and as versioned JSON (schema in docs/report-schema.md).

pub mod compare;
mod console;
pub mod html;
mod mix;
pub mod prometheus;
pub mod series;

pub use console::render as render_console;
pub use mix::MixReport;

use crate::metrics::{LatencySummary, Recorder};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// Version of the JSON layout; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Layout version.
    pub schema_version: u32,
    /// StormDB version that wrote it.
    pub stormdb_version: String,
    /// `completed`, `interrupted` or `failed`.
    pub status: String,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// The workload.
    pub workload: WorkloadSection,
    /// The run's settings.
    pub config: ConfigSection,
    /// The database.
    pub database: DatabaseSection,
    /// Setup, when asked for.
    pub setup: Option<SetupSection>,
    /// Totals.
    pub summary: Summary,
    /// Latency of successful steps.
    pub latency_ms: LatencySummary,
    /// Time steps waited for a pooled connection.
    pub pool_wait_ms: LatencySummary,
    /// Connecting: how long it took (transient workers) and the
    /// throughput of each connection mode.
    pub connections: ConnectionsSection,
    /// Per operation name.
    pub operations: BTreeMap<String, Operation>,
    /// Errors by kind and SQLSTATE.
    pub errors: Vec<ErrorRow>,
    /// Per worker.
    pub workers: Vec<WorkerRow>,
    /// Things the reader must know (unsigned plugins, clamped samples, ...).
    pub warnings: Vec<String>,
    /// Open-loop figures, in rate mode.
    pub rate: Option<RateSection>,
    /// Per SQL statement, like `pgbench -r`.
    pub statements: Vec<StatementRow>,
    /// Per statement kind (select, insert, update, delete, other).
    pub statement_kinds: BTreeMap<String, KindRow>,
    /// Counts of successful steps by latency bucket (upper bound in ms).
    pub latency_distribution: Vec<Bucket>,
    /// One row per interval.
    pub time_series: TimeSeries,
    /// The StormDB process itself.
    pub process: ProcessSection,
    /// PostgreSQL's statistics over the run, as deltas (null when they
    /// could not be read).
    pub pg_stats: Option<crate::pg::stats::PgStats>,
}

/// Rate mode: the schedule and how well it was kept.
#[derive(Debug, Clone, Serialize)]
pub struct RateSection {
    /// Target transactions per second.
    pub target_tps: f64,
    /// `poisson` or `uniform`.
    pub arrivals: String,
    /// The latency limit, if any.
    pub latency_limit_ms: Option<f64>,
    /// Time from each scheduled start to the actual start.
    pub lag_ms: LagSummary,
    /// Steps that finished later than the limit.
    pub late: u64,
    /// Steps skipped because they could not start within the limit.
    pub skipped: u64,
    /// Arrivals due before the end of `-d` that had not started when it
    /// ended (not run, in no other number): the backlog of a server that
    /// could not keep up.
    pub unstarted: u64,
}

/// Lag percentiles, milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LagSummary {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

/// One SQL statement.
#[derive(Debug, Clone, Serialize)]
pub struct StatementRow {
    /// Normalised SQL.
    pub text: String,
    /// select, insert, update, delete or other.
    pub kind: String,
    /// Successful executions.
    pub count: u64,
    /// Failed executions.
    pub errors: u64,
    /// From sending it to its last row.
    pub latency_ms: LatencySummary,
}

/// One statement kind.
#[derive(Debug, Clone, Serialize)]
pub struct KindRow {
    /// Successful executions.
    pub count: u64,
    /// Failed executions.
    pub errors: u64,
    /// Latency, all statements of the kind merged.
    pub latency_ms: LatencySummary,
}

/// One bucket of the latency distribution.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Bucket {
    /// Upper bound, ms.
    pub le_ms: f64,
    /// Steps in the bucket.
    pub count: u64,
}

/// The time series.
#[derive(Debug, Clone, Serialize)]
pub struct TimeSeries {
    /// Interval width, seconds.
    pub interval_s: f64,
    /// The intervals.
    pub rows: Vec<series::IntervalRow>,
}

/// The StormDB process.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessSection {
    /// Peak resident memory, KiB.
    pub max_rss_kb: u64,
}

/// Peak resident memory of this process, KiB.
pub fn max_rss_kb() -> u64 {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) } == 0;
    if !ok {
        return 0;
    }
    // SAFETY: initialised by the successful call above.
    let u = unsafe { u.assume_init() };
    u64::try_from(u.ru_maxrss).unwrap_or(0)
}

/// Which workload ran.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadSection {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// SHA-256 of the component.
    pub sha256: String,
    /// `builtin`, `signed`, `unsigned-manifest` or `unsigned-file`.
    pub origin: String,
    /// Ids of the trusted keys whose signatures verified.
    pub signers: Vec<String>,
    /// Plugins it depends on, set up before it.
    pub dependencies: Vec<DependencyRow>,
    /// Mode.
    pub mode: String,
    /// Scale.
    pub scale: u32,
    /// Parameters, defaults filled in.
    pub params: BTreeMap<String, String>,
    /// Counters the workload kept (`metrics.count`), over the measured window.
    pub counters: BTreeMap<String, u64>,
    /// Figures the workload computed after the run (`summarize`).
    pub figures: BTreeMap<String, FigureRow>,
}

/// Connection costs and throughput per connection mode.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionsSection {
    /// Time to open a connection, for steps that opened one.
    pub connect_ms: LatencySummary,
    /// `persistent` and/or `transient`: workers, transactions and tps.
    pub by_mode: BTreeMap<String, ModeRow>,
}

/// Throughput of the workers in one connection mode.
#[derive(Debug, Clone, Serialize)]
pub struct ModeRow {
    /// Workers in this mode.
    pub workers: u64,
    /// Their successful steps.
    pub transactions: u64,
    /// Per second of elapsed time.
    pub tps: f64,
}

/// A plugin the workload depends on.
#[derive(Debug, Clone, Serialize)]
pub struct DependencyRow {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Component digest.
    pub sha256: String,
    /// Where it came from.
    pub origin: String,
}

/// One workload figure.
#[derive(Debug, Clone, Serialize)]
pub struct FigureRow {
    /// The value.
    pub value: f64,
    /// Its unit.
    pub unit: String,
    /// The acceptable range, in words.
    pub expected: Option<String>,
    /// Whether the value is acceptable.
    pub ok: Option<bool>,
}

/// The run's settings.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigSection {
    /// Worker instances.
    pub workers: u32,
    /// Connections.
    pub connections: u32,
    /// Runtime threads used.
    pub threads: u32,
    /// Measured duration asked for, seconds.
    pub duration_s: Option<f64>,
    /// Transactions asked for.
    pub transactions: Option<u64>,
    /// Warmup, seconds.
    pub warmup_s: f64,
    /// Seed; the same seed and settings repeat the run.
    pub seed: u64,
    /// Connection handling.
    pub connection_mode: String,
    /// Tenant the plugin ran as (its own role and schema), or null for the
    /// operator's connection.
    pub tenant: Option<String>,
    /// What the plugin was allowed to do.
    pub capabilities: Vec<String>,
}

/// The database.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseSection {
    /// `user@host:port/dbname`.
    pub target: String,
    /// True for the throwaway local server.
    pub embedded: bool,
    /// `server_version` as the server reports it.
    pub server_version: Option<String>,
}

/// What setup did.
#[derive(Debug, Clone, Serialize)]
pub struct SetupSection {
    /// False when the tables were already loaded.
    pub performed: bool,
    /// Seconds.
    pub elapsed_s: f64,
    /// Loader instances.
    pub loaders: u32,
    /// Rows the loaders wrote: `copy-in` rows plus the row counts of their
    /// `execute` calls.
    pub rows: u64,
}

/// Totals of the measured window.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Successful steps (including intended rollbacks).
    pub transactions: u64,
    /// Failed steps.
    pub errors: u64,
    /// Steps that rolled back on purpose.
    pub rolled_back: u64,
    /// Successful steps per second of real elapsed time.
    pub tps: f64,
    /// From the end of warmup to the last measured step's completion.
    pub elapsed_s: f64,
    /// Instances replaced after a trap or timeout.
    pub replaced_instances: u64,
    /// Plugin log lines dropped by the rate limit.
    pub dropped_log_lines: u64,
    /// Steps that needed more than one try (`--max-tries`).
    pub retried: u64,
    /// Extra tries in all.
    pub retries: u64,
}

/// One operation.
#[derive(Debug, Clone, Serialize)]
pub struct Operation {
    /// Successful steps.
    pub count: u64,
    /// Failed steps.
    pub errors: u64,
    /// Intended rollbacks.
    pub rolled_back: u64,
    /// Successful steps per second.
    pub tps: f64,
    /// Latency.
    pub latency_ms: LatencySummary,
}

/// Errors of one kind and SQLSTATE.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorRow {
    /// serialization, deadlock, constraint, connection, timeout, denied,
    /// limit, trap, database or workload.
    pub kind: crate::metrics::ErrorKind,
    /// SQLSTATE, when the server reported one.
    pub sqlstate: Option<String>,
    /// How many.
    pub count: u64,
    /// The first message.
    pub sample: String,
}

/// One worker.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerRow {
    /// Latency of its successful steps (two significant digits).
    pub latency_ms: LatencySummary,
    /// Worker id.
    pub id: u32,
    /// Successful steps.
    pub transactions: u64,
    /// Failed steps.
    pub errors: u64,
    /// Instance replacements.
    pub replacements: u64,
}

/// Builds the measured part of a report from a merged recorder.
pub fn measured(recorder: &Recorder, elapsed: Duration, dropped_log_lines: u64) -> MeasuredParts {
    let secs = elapsed.as_secs_f64();
    let rate = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    let transactions = recorder.transactions();
    let operations = recorder
        .ops()
        .map(|(name, s)| {
            (
                name.to_string(),
                Operation {
                    count: s.count,
                    errors: s.errors,
                    rolled_back: s.rolled_back,
                    tps: rate(s.count),
                    latency_ms: s.latency.summary(),
                },
            )
        })
        .collect();
    let errors = recorder
        .errors
        .iter()
        .map(|(kind, state, e)| ErrorRow {
            kind,
            sqlstate: (!state.is_empty()).then(|| state.to_string()),
            count: e.count,
            sample: e.sample.clone(),
        })
        .collect();
    let mut by_mode: BTreeMap<String, ModeRow> = BTreeMap::new();
    for w in recorder.workers.values() {
        let key = if w.transient {
            "transient"
        } else {
            "persistent"
        };
        let row = by_mode.entry(key.into()).or_insert(ModeRow {
            workers: 0,
            transactions: 0,
            tps: 0.0,
        });
        row.workers += 1;
        row.transactions += w.transactions;
    }
    for row in by_mode.values_mut() {
        row.tps = rate(row.transactions);
    }
    let mut workers: Vec<WorkerRow> = recorder
        .workers
        .iter()
        .map(|(id, w)| WorkerRow {
            latency_ms: w.latency.summary(),
            id: *id,
            transactions: w.transactions,
            errors: w.errors,
            replacements: w.replacements,
        })
        .collect();
    workers.sort_by_key(|w| w.id);
    let overall = recorder.overall();
    let mut warnings = Vec::new();
    if overall.clamped() > 0 {
        warnings.push(format!(
            "{} latencies exceeded one hour and were recorded as one hour",
            overall.clamped()
        ));
    }
    MeasuredParts {
        summary: Summary {
            transactions,
            errors: recorder.failed(),
            rolled_back: recorder.rolled_back(),
            tps: rate(transactions),
            elapsed_s: secs,
            replaced_instances: recorder.replacements(),
            dropped_log_lines,
            retried: recorder.retried,
            retries: recorder.retries,
        },
        statements: recorder
            .statements
            .iter()
            .map(|st| StatementRow {
                text: st.text.clone(),
                kind: st.kind.to_string(),
                count: st.count,
                errors: st.errors,
                latency_ms: st.latency.summary(),
            })
            .collect(),
        statement_kinds: {
            let mut kinds: BTreeMap<String, (u64, u64, crate::metrics::LatencyHistogram)> =
                BTreeMap::new();
            for st in recorder.statements.iter() {
                let e = kinds
                    .entry(st.kind.to_string())
                    .or_insert_with(|| (0, 0, crate::metrics::LatencyHistogram::new()));
                e.0 += st.count;
                e.1 += st.errors;
                e.2.merge(&st.latency);
            }
            kinds
                .into_iter()
                .map(|(k, (count, errors, h))| {
                    (
                        k,
                        KindRow {
                            count,
                            errors,
                            latency_ms: h.summary(),
                        },
                    )
                })
                .collect()
        },
        latency_distribution: overall
            .distribution()
            .into_iter()
            .map(|(le_ms, count)| Bucket { le_ms, count })
            .collect(),
        latency_ms: overall.summary(),
        pool_wait_ms: recorder.pool_wait.summary(),
        connections: ConnectionsSection {
            connect_ms: recorder.connect.summary(),
            by_mode,
        },
        operations,
        errors,
        workers,
        warnings,
    }
}

/// The measured sections of a report.
pub struct MeasuredParts {
    /// Totals.
    pub summary: Summary,
    /// Overall latency.
    pub latency_ms: LatencySummary,
    /// Pool wait.
    pub pool_wait_ms: LatencySummary,
    /// Connecting.
    pub connections: ConnectionsSection,
    /// Per operation.
    pub operations: BTreeMap<String, Operation>,
    /// Errors.
    pub errors: Vec<ErrorRow>,
    /// Per worker.
    pub workers: Vec<WorkerRow>,
    /// Measurement warnings.
    pub warnings: Vec<String>,
    /// Per statement.
    pub statements: Vec<StatementRow>,
    /// Per statement kind.
    pub statement_kinds: BTreeMap<String, KindRow>,
    /// Latency buckets.
    pub latency_distribution: Vec<Bucket>,
}

impl Report {
    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> std::io::Result<String> {
        serde_json::to_string_pretty(self).map_err(std::io::Error::other)
    }

    /// Writes the self-contained HTML report to `path`.
    pub fn write_html(&self, path: &Path) -> std::io::Result<()> {
        html::write(path, &self.to_json()?)
    }

    /// Writes the JSON report to `path` (atomically: a temporary file
    /// renamed into place).
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let json = self.to_json()?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json + "\n")?;
        std::fs::rename(&tmp, path)
    }
}
