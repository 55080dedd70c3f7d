//! Reading a JSON report for comparison: only the fields compared, each
//! checked, and a clear error naming the file when it is not a report.

use serde::Deserialize;
use std::path::Path;

/// Reports larger than this are refused rather than read into memory.
const MAX_REPORT_BYTES: u64 = 256 * 1024 * 1024;

/// The parts of a JSON report a comparison reads.
#[derive(Debug, Clone, Deserialize)]
pub struct RunInput {
    pub(super) status: String,
    pub(super) workload: WorkloadIn,
    pub(super) config: ConfigIn,
    pub(super) summary: SummaryIn,
    pub(super) latency_ms: LatencyIn,
    pub(super) time_series: SeriesIn,
    #[serde(default)]
    pub(super) rate: Option<RateIn>,
    pub(super) database: DatabaseIn,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct WorkloadIn {
    pub(super) name: String,
    pub(super) mode: String,
    pub(super) scale: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct ConfigIn {
    pub(super) workers: u32,
    pub(super) connections: u32,
    pub(super) connection_mode: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct SummaryIn {
    pub(super) transactions: u64,
    pub(super) errors: u64,
    pub(super) tps: f64,
    pub(super) elapsed_s: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct LatencyIn {
    pub(super) p50: f64,
    pub(super) p95: f64,
    pub(super) p99: f64,
    pub(super) p999: f64,
    pub(super) max: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct SeriesIn {
    pub(super) interval_s: f64,
    pub(super) rows: Vec<RowIn>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct RowIn {
    pub(super) duration_s: f64,
    pub(super) transactions: u64,
    pub(super) tps: f64,
    pub(super) latency_ms: RowLatencyIn,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct RowLatencyIn {
    pub(super) mean: f64,
    pub(super) p99: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct RateIn {
    pub(super) target_tps: f64,
    /// Arrivals not run for lateness (`-L`) or for the end of `-d`.
    #[serde(default)]
    pub(super) skipped: u64,
    #[serde(default)]
    pub(super) unstarted: u64,
}

impl RateIn {
    /// The run did not keep its schedule: some arrivals never ran.
    pub(super) fn fell_behind(&self) -> bool {
        self.skipped + self.unstarted > 0
    }
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct DatabaseIn {
    #[serde(default)]
    pub(super) server_version: Option<String>,
}

/// Why a report could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        cause: std::io::Error,
    },
    /// The file is implausibly large for a report.
    #[error("{path} is {size} bytes, more than the {MAX_REPORT_BYTES} a report may have")]
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
    },
    /// Not a StormDB JSON report.
    #[error("{path} is not a StormDB JSON report: {cause}")]
    Parse {
        /// The file.
        path: String,
        /// What serde found wrong, with line and column.
        cause: serde_json::Error,
    },
    /// Numbers that cannot come from a real run.
    #[error("{path}: {what}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        what: String,
    },
}

/// Reads and checks one report.
pub fn read(path: &Path) -> Result<RunInput, ReadError> {
    use std::io::Read as _;
    let name = path.display().to_string();
    let io = |source| ReadError::Io {
        path: name.clone(),
        cause: source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    if size > MAX_REPORT_BYTES {
        return Err(ReadError::TooLarge { path: name, size });
    }
    let mut text = String::new();
    file.take(MAX_REPORT_BYTES)
        .read_to_string(&mut text)
        .map_err(io)?;
    let parse = |source| ReadError::Parse {
        path: name.clone(),
        cause: source,
    };
    let invalid = |what: String| ReadError::Invalid {
        path: name.clone(),
        what,
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(parse)?;
    if value.get("kind").and_then(|k| k.as_str()) == Some("mix") {
        return Err(invalid(
            "is the report of a mix; compare one of its runs (e.g. `jq '.runs[0]'`)".into(),
        ));
    }
    let input: RunInput = serde_json::from_value(value).map_err(parse)?;
    if !(input.time_series.interval_s.is_finite() && input.time_series.interval_s > 0.0) {
        return Err(invalid(format!(
            "time_series.interval_s is {}, not a positive number of seconds",
            input.time_series.interval_s
        )));
    }
    for (i, r) in input.time_series.rows.iter().enumerate() {
        let ok = [r.duration_s, r.tps, r.latency_ms.mean, r.latency_ms.p99]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0);
        if !ok {
            return Err(invalid(format!(
                "time_series.rows[{i}] holds a negative or non-finite number"
            )));
        }
    }
    Ok(input)
}
