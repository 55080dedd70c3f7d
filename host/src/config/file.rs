//! The YAML config file's schema, field for field like the flags, and
//! reading it. Unknown fields are refused so a typo is not silently ignored.

use super::ConfigError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `database:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSection {
    /// A URL or libpq connection string.
    pub url: Option<String>,
    /// Host name or socket directory.
    pub host: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// User.
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Database name.
    pub dbname: Option<String>,
}

/// The `plugins:` section: where packaged plugins are found and how big
/// they may be.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginsSection {
    /// Directories searched for `*.manifest.yaml` (and one level below).
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    /// Manifest files.
    #[serde(default)]
    pub files: Vec<PathBuf>,
    /// Verify every discovered plugin at start, not only the one run.
    #[serde(default)]
    pub auto_load: bool,
    /// Where `install` keeps plugins.
    pub cache_dir: Option<PathBuf>,
    /// Largest component accepted, MiB (default 50).
    pub max_artifact_mb: Option<u64>,
    /// Default registry for `install` (directory or URL).
    pub registry: Option<String>,
    /// Lockfile path (default `stormdb.lock`).
    pub lockfile: Option<PathBuf>,
}

/// The `grants:` section: what the operator lets plugins do. A plugin gets
/// what its manifest requests intersected with its grant; requesting
/// something not granted refuses it at load.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantsSection {
    /// For every plugin without a more specific grant (default: read,
    /// write, ddl, copy, temp-tables).
    pub default: Option<Vec<String>>,
    /// By plugin name.
    #[serde(default)]
    pub plugins: std::collections::BTreeMap<String, Vec<String>>,
    /// By tenant.
    #[serde(default)]
    pub tenants: std::collections::BTreeMap<String, Vec<String>>,
}

impl GrantsSection {
    /// The grant for `plugin` running as `tenant`: the plugin's own, else
    /// the tenant's, else the default.
    pub fn grant_for(
        &self,
        plugin: &str,
        tenant: Option<&str>,
    ) -> Result<crate::capability::sql::Capabilities, ConfigError> {
        let names = self
            .plugins
            .get(plugin)
            .or_else(|| tenant.and_then(|t| self.tenants.get(t)))
            .or(self.default.as_ref());
        match names {
            Some(n) => crate::capability::sql::Capabilities::from_names(n)
                .map_err(|e| ConfigError::Invalid(format!("grants: {e}"))),
            None => Ok(crate::capability::sql::Capabilities::all()),
        }
    }
}

/// The YAML file, field for field like the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Where the database is.
    pub database: Option<DatabaseSection>,
    /// Built-in workload.
    pub workload: Option<String>,
    /// Component file.
    pub plugin: Option<PathBuf>,
    /// Mode.
    pub mode: Option<String>,
    /// Duration, e.g. `30s`.
    pub duration: Option<String>,
    /// Total transactions.
    pub transactions: Option<u64>,
    /// Warmup duration.
    pub warmup: Option<String>,
    /// Workers.
    pub workers: Option<u32>,
    /// Connections.
    pub connections: Option<u32>,
    /// Scale.
    pub scale: Option<u32>,
    /// `none` (default), `setup` or `rebuild`.
    pub setup: Option<String>,
    /// Drop tables after the run.
    pub cleanup: Option<bool>,
    /// Loader instances.
    pub loaders: Option<u32>,
    /// Seed.
    pub seed: Option<u64>,
    /// Workload parameters.
    pub params: Option<BTreeMap<String, serde_yaml::Value>>,
    /// JSON report path.
    pub json_out: Option<PathBuf>,
    /// CSV time series path.
    pub csv_out: Option<PathBuf>,
    /// Self-contained HTML report path.
    pub html_out: Option<PathBuf>,
    /// pgbench aggregate log path.
    pub aggregate_log: Option<PathBuf>,
    /// HdrHistogram interval log path.
    pub hdr_log: Option<PathBuf>,
    /// Prometheus endpoint address.
    pub metrics_addr: Option<String>,
    /// Target rate, transactions per second.
    pub rate: Option<f64>,
    /// poisson or uniform.
    pub arrivals: Option<String>,
    /// Latency limit in rate mode.
    pub latency_limit: Option<String>,
    /// Think time between steps.
    pub think_time: Option<String>,
    /// Tries per step for serialization failures and deadlocks.
    pub max_tries: Option<u32>,
    /// Time-series interval.
    pub interval: Option<String>,
    /// Runtime threads.
    pub threads: Option<u32>,
    /// Progress interval.
    pub progress: Option<String>,
    /// Step wall-clock limit.
    pub step_timeout: Option<String>,
    /// Step CPU limit.
    pub step_cpu_limit: Option<String>,
    /// MiB of linear memory per instance.
    pub memory_limit: Option<u32>,
    /// Setup call CPU limit.
    pub setup_cpu_limit: Option<String>,
    /// persistent, transient or mixed.
    pub connection_mode: Option<String>,
    /// Refuse inert WASI imports.
    pub strict_wasi: Option<bool>,
    /// Statements per step.
    pub max_statements_per_step: Option<u64>,
    /// Rows per result.
    pub max_result_rows: Option<u64>,
    /// Plugin discovery and limits.
    pub plugins: Option<PluginsSection>,
    /// Trusted signing keys.
    pub trust: Option<crate::registry::trust::TrustSection>,
    /// Capability grants.
    pub grants: Option<GrantsSection>,
    /// A mix: several workloads run at once, each its own tenant.
    pub workloads: Option<Vec<super::MixEntryFile>>,
}

/// Reads and parses a config file.
pub fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        cause: source,
    })?;
    parse_file(path, &text)
}

/// Parses config text; errors name the line and column.
pub fn parse_file(path: &Path, text: &str) -> Result<FileConfig, ConfigError> {
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    serde_yaml::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_yaml_names_line_and_column() {
        let err = parse_file(Path::new("c.yaml"), "workload: pgbench\nworkers: [1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("c.yaml") && err.contains("line"), "{err}");
        let err = parse_file(Path::new("c.yaml"), "workload: x\nworkerz: 3\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown field `workerz`") && err.contains("line 2"),
            "{err}"
        );
    }
}
