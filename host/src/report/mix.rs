//! The report of a mix: several workloads run at once in one process, each
//! with its own full report, and the database's statistics over all of
//! them.

use super::{DatabaseSection, Report, SCHEMA_VERSION};
use serde::Serialize;
use std::path::Path;

/// A mix's report.
#[derive(Debug, Clone, Serialize)]
pub struct MixReport {
    /// Layout version (the same as a single report's).
    pub schema_version: u32,
    /// StormDB version that wrote it.
    pub stormdb_version: String,
    /// Always `mix`: tells a mix from a single report.
    pub kind: String,
    /// `failed` if any workload failed, else `interrupted` if any was,
    /// else `completed`.
    pub status: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// The database.
    pub database: DatabaseSection,
    /// One report per workload, in the config's order (their `pg_stats`
    /// are null: the server's statistics cover the whole mix).
    pub runs: Vec<Report>,
    /// PostgreSQL's statistics over the mix, as deltas.
    pub pg_stats: Option<crate::pg::stats::PgStats>,
}

impl MixReport {
    /// Gathers the workloads' reports.
    pub fn new(
        started_at: &str,
        database: DatabaseSection,
        runs: Vec<Report>,
        pg_stats: Option<crate::pg::stats::PgStats>,
    ) -> MixReport {
        let status = if runs.iter().any(|r| r.status == "failed") {
            "failed"
        } else if runs.iter().any(|r| r.status == "interrupted") {
            "interrupted"
        } else {
            "completed"
        };
        MixReport {
            schema_version: SCHEMA_VERSION,
            stormdb_version: env!("CARGO_PKG_VERSION").to_string(),
            kind: "mix".into(),
            status: status.into(),
            started_at: started_at.to_string(),
            database,
            runs,
            pg_stats,
        }
    }

    /// Writes the JSON report to `path` (atomically).
    pub fn write_json(&self, path: &Path) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json + "\n")?;
        std::fs::rename(&tmp, path)
    }

    /// Each workload's console summary under a heading naming it.
    pub fn render_console(&self) -> String {
        let mut out = format!(
            "mix of {} workloads, status {}\n",
            self.runs.len(),
            self.status
        );
        for (i, r) in self.runs.iter().enumerate() {
            let tenant = r
                .config
                .tenant
                .as_deref()
                .map(|t| format!(" as tenant {t}"))
                .unwrap_or_default();
            out.push_str(&format!(
                "\n== workload {}: {} {}{tenant} ==\n",
                i + 1,
                r.workload.name,
                r.workload.mode
            ));
            out.push_str(&super::render_console(r));
        }
        out
    }
}
