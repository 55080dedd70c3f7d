//! One validated run configuration from the YAML file, the flags and the
//! environment. Flags win over the file; PG* variables count only when
//! neither names a database.

use crate::cli::RunArgs;
use crate::pg::{self, DbSource};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {path}: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The file is not valid YAML or has unknown or mistyped fields.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// serde_yaml's message, with line and column.
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("{0}")]
    Invalid(String),
}

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
}

/// Which plugin to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginChoice {
    /// A built-in workload by name.
    Builtin(String),
    /// A manifest (`*.yaml`) or an unsigned component (`*.wasm`) file.
    File(PathBuf),
    /// `NAME[@RANGE]` of an installed or configured packaged plugin.
    Named(String),
}

impl PluginChoice {
    /// What `--plugin X` means: a path when it looks like one, else a name.
    pub fn from_plugin_arg(arg: &Path) -> PluginChoice {
        let text = arg.to_string_lossy();
        let looks_like_path = text.contains('/')
            || text.ends_with(".wasm")
            || text.ends_with(".yaml")
            || text.ends_with(".yml")
            || arg.is_file();
        if looks_like_path {
            PluginChoice::File(arg.to_path_buf())
        } else {
            PluginChoice::Named(text.into_owned())
        }
    }
}

/// Where packaged plugins come from and who is trusted to sign them.
#[derive(Debug, Clone)]
pub struct PluginSettings {
    /// Directories searched for manifests.
    pub paths: Vec<PathBuf>,
    /// Manifest files.
    pub files: Vec<PathBuf>,
    /// Verify all discovered plugins at start.
    pub auto_load: bool,
    /// The local plugin cache.
    pub cache_dir: Option<PathBuf>,
    /// Largest component accepted, bytes.
    pub max_bytes: u64,
    /// Default registry.
    pub registry: Option<String>,
    /// Lockfile path.
    pub lockfile: PathBuf,
    /// Trust section of the config file.
    pub trust: crate::registry::trust::TrustSection,
    /// Directory that relative key files in `trust` are resolved against.
    pub trust_base: PathBuf,
    /// `--trust KEY.pub` files.
    pub trust_files: Vec<PathBuf>,
    /// `--locked`.
    pub locked: bool,
    /// `--allow-downgrade`.
    pub allow_downgrade: bool,
    /// `--tenant`: selects the tenant's trust set.
    pub tenant: Option<String>,
    /// `--allow-unsigned`.
    pub allow_unsigned: bool,
}

/// Flags shared by every command that resolves plugins.
#[derive(Debug, Clone, Default)]
pub struct TrustFlags {
    /// `--trust` files.
    pub trust: Vec<PathBuf>,
    /// `--locked`.
    pub locked: bool,
    /// `--allow-downgrade`.
    pub allow_downgrade: bool,
    /// `--tenant`.
    pub tenant: Option<String>,
    /// `--allow-unsigned`.
    pub allow_unsigned: bool,
}

impl PluginSettings {
    /// Settings from the config file (paths relative to `config_dir`) and
    /// flags.
    pub fn resolve(
        file: Option<&FileConfig>,
        config_dir: &Path,
        flags: &TrustFlags,
    ) -> PluginSettings {
        let section = file.and_then(|f| f.plugins.clone()).unwrap_or_default();
        let rel = |p: &PathBuf| {
            if p.is_absolute() {
                p.clone()
            } else {
                config_dir.join(p)
            }
        };
        PluginSettings {
            paths: section.paths.iter().map(rel).collect(),
            files: section.files.iter().map(rel).collect(),
            auto_load: section.auto_load,
            cache_dir: section
                .cache_dir
                .as_ref()
                .map(rel)
                .or_else(crate::registry::default_cache_dir),
            max_bytes: section
                .max_artifact_mb
                .map_or(crate::plugin::DEFAULT_MAX_ARTIFACT_BYTES, |mb| {
                    mb.saturating_mul(1 << 20)
                }),
            registry: section.registry.clone(),
            lockfile: section
                .lockfile
                .as_ref()
                .map(rel)
                .unwrap_or_else(|| PathBuf::from("stormdb.lock")),
            trust: file.and_then(|f| f.trust.clone()).unwrap_or_default(),
            trust_base: config_dir.to_path_buf(),
            trust_files: flags.trust.clone(),
            locked: flags.locked,
            allow_downgrade: flags.allow_downgrade,
            tenant: flags.tenant.clone(),
            allow_unsigned: flags.allow_unsigned,
        }
    }

    /// The trust store these settings describe.
    pub fn trust_store(&self) -> Result<crate::registry::trust::TrustStore, ConfigError> {
        let mut store = crate::registry::trust::TrustStore::from_section(
            &self.trust,
            self.tenant.as_deref(),
            &self.trust_base,
        )
        .map_err(|e| ConfigError::Invalid(format!("trust store: {e}")))?;
        store
            .add_files(&self.trust_files)
            .map_err(|e| ConfigError::Invalid(format!("--trust: {e}")))?;
        Ok(store)
    }
}

/// When the run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopAfter {
    /// After measuring this long.
    Duration(Duration),
    /// After this many transactions in all.
    Transactions(u64),
}

/// How workers get their connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionMode {
    /// From the pool, kept between steps.
    #[default]
    Persistent,
    /// A new connection for every step (like `pgbench -C`).
    Transient,
    /// Even workers persistent, odd workers transient.
    Mixed,
}

impl ConnectionMode {
    /// Parses `persistent`, `transient` or `mixed`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        match text {
            "persistent" => Ok(ConnectionMode::Persistent),
            "transient" => Ok(ConnectionMode::Transient),
            "mixed" => Ok(ConnectionMode::Mixed),
            other => Err(ConfigError::Invalid(format!(
                "--connection-mode '{other}': use persistent, transient or mixed"
            ))),
        }
    }

    /// Whether `worker` connects per step.
    pub fn transient(self, worker: u32) -> bool {
        match self {
            ConnectionMode::Persistent => false,
            ConnectionMode::Transient => true,
            ConnectionMode::Mixed => worker % 2 == 1,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionMode::Persistent => "persistent",
            ConnectionMode::Transient => "transient",
            ConnectionMode::Mixed => "mixed",
        }
    }
}

/// What to do about the workload's tables before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupMode {
    /// Nothing: the tables must exist.
    None,
    /// Create and load them unless already loaded at this scale.
    IfNeeded,
    /// Drop, create and load them.
    Rebuild,
}

/// Where the database is.
#[derive(Debug, Clone)]
pub enum Database {
    /// A server the user named.
    Server(Box<tokio_postgres::Config>, DbSource),
    /// A throwaway local server StormDB starts.
    Embedded,
}

/// A complete, validated run configuration.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The plugin.
    pub plugin: PluginChoice,
    /// Unsigned files allowed.
    pub allow_unsigned: bool,
    /// Mode, or the workload's default.
    pub mode: Option<String>,
    /// When to stop.
    pub stop: StopAfter,
    /// Unmeasured lead-in.
    pub warmup: Duration,
    /// Concurrent instances.
    pub workers: u32,
    /// Connections they share.
    pub connections: u32,
    /// Scale, or the workload's default.
    pub scale: Option<u32>,
    /// Database.
    pub database: Database,
    /// Setup before the run.
    pub setup: SetupMode,
    /// Drop tables after.
    pub cleanup: bool,
    /// Loader instances.
    pub loaders: u32,
    /// Seed, if given.
    pub seed: Option<u64>,
    /// Parameters as given (validated against the workload later).
    pub params: Vec<(String, String)>,
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
    /// Closed or open loop.
    pub pacing: crate::runner::pacing::Pacing,
    /// Tries per step.
    pub max_tries: u32,
    /// Time-series interval.
    pub interval: Duration,
    /// Runtime threads.
    pub threads: u32,
    /// Progress line interval.
    pub progress: Option<Duration>,
    /// Step wall-clock limit.
    pub step_timeout: Duration,
    /// Step CPU limit.
    pub step_cpu_limit: Duration,
    /// Setup, load, init and cleanup CPU limit.
    pub setup_cpu_limit: Duration,
    /// Linear memory per instance, bytes.
    pub memory_bytes: usize,
    /// Refuse inert WASI imports.
    pub strict_wasi: bool,
    /// SQL limits per instance.
    pub sql_limits: crate::capability::sql::SqlLimits,
    /// How workers connect.
    pub connection_mode: ConnectionMode,
}

/// Parses `10s`, `1m30s`, `250ms`, or a plain number of seconds.
pub fn parse_duration(what: &str, text: &str) -> Result<Duration, ConfigError> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
    } else if let Ok(d) = humantime::parse_duration(t) {
        return Ok(d);
    }
    Err(ConfigError::Invalid(format!(
        "{what}: '{text}' is not a duration (examples: 30s, 5m, 1m30s, 250ms)"
    )))
}

/// Largest script file read.
const MAX_SCRIPT_BYTES: u64 = 1 << 20;

/// The `scripts` parameter of the `script` workload: a JSON array of
/// `{name, weight, text}` from `--script FILE[@WEIGHT]` flags. The text is
/// data for the plugin; the host never interprets it.
fn scripts_param(specs: &[String]) -> Result<String, ConfigError> {
    let mut scripts = Vec::new();
    for spec in specs {
        let (file, weight) = match spec.rsplit_once('@') {
            Some((f, w)) if !w.contains('/') => {
                let w: u32 = w.parse().map_err(|_| {
                    ConfigError::Invalid(format!(
                        "--script {spec}: weight '{w}' is not a whole number"
                    ))
                })?;
                (f, w)
            }
            _ => (spec.as_str(), 1),
        };
        let path = Path::new(file);
        let bytes = crate::plugin::read_limited(path, MAX_SCRIPT_BYTES)
            .map_err(|e| ConfigError::Invalid(format!("--script {file}: {e}")))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ConfigError::Invalid(format!("--script {file}: not UTF-8 text")))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_string());
        if scripts
            .iter()
            .any(|s: &serde_json::Value| s["name"] == name.as_str())
        {
            return Err(ConfigError::Invalid(format!(
                "--script {file}: two scripts named '{name}'; script names become operation names"
            )));
        }
        scripts.push(serde_json::json!({ "name": name, "weight": weight, "text": text }));
    }
    Ok(serde_json::Value::Array(scripts).to_string())
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

fn yaml_scalar(name: &str, v: &serde_yaml::Value) -> Result<String, ConfigError> {
    match v {
        serde_yaml::Value::String(s) => Ok(s.clone()),
        serde_yaml::Value::Number(n) => Ok(n.to_string()),
        serde_yaml::Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ConfigError::Invalid(format!(
            "config file: parameter '{name}' must be a string, number or boolean"
        ))),
    }
}

fn database(
    args: &RunArgs,
    file: &FileConfig,
    env: &BTreeMap<String, String>,
) -> Result<Database, ConfigError> {
    if let Some(url) = &args.db {
        let c = pg::parse_conninfo(url).map_err(|e| ConfigError::Invalid(format!("--db: {e}")))?;
        let target = pg::describe_target(&c);
        return Ok(Database::Server(Box::new(c), DbSource::Flag(target)));
    }
    if let Some(section) = &file.database {
        let c = match &section.url {
            Some(url) => pg::parse_conninfo(url)
                .map_err(|e| ConfigError::Invalid(format!("config file database.url: {e}")))?,
            None => {
                let mut c = tokio_postgres::Config::new();
                c.host(section.host.as_deref().unwrap_or("localhost"));
                c.port(section.port.unwrap_or(5432));
                c.user(section.user.as_deref().unwrap_or("postgres"));
                if let Some(p) = &section.password {
                    c.password(p.as_str());
                }
                c.dbname(section.dbname.as_deref().unwrap_or("postgres"));
                c.application_name("stormdb");
                c
            }
        };
        let target = pg::describe_target(&c);
        return Ok(Database::Server(Box::new(c), DbSource::ConfigFile(target)));
    }
    if pg::env_configured(env) {
        let c = pg::config_from_env(env).map_err(ConfigError::Invalid)?;
        return Ok(Database::Server(Box::new(c), DbSource::Environment));
    }
    Ok(Database::Embedded)
}

fn positive(what: &str, v: u32) -> Result<u32, ConfigError> {
    if v == 0 {
        Err(ConfigError::Invalid(format!("{what} must be at least 1")))
    } else {
        Ok(v)
    }
}

impl RunConfig {
    /// Combines flags, the config file (if any) and the environment.
    pub fn resolve(
        args: &RunArgs,
        file: Option<FileConfig>,
        env: &BTreeMap<String, String>,
        cores: u32,
    ) -> Result<RunConfig, ConfigError> {
        let file = file.unwrap_or_default();
        let scripted = !args.scripts.is_empty();
        let plugin = match (&args.workload, &args.plugin, &file.workload, &file.plugin) {
            (None, None, _, _) if scripted => PluginChoice::Builtin("script".into()),
            (Some(w), _, _, _) => PluginChoice::Builtin(w.clone()),
            (None, Some(p), _, _) => PluginChoice::from_plugin_arg(p),
            (None, None, Some(w), None) => PluginChoice::Builtin(w.clone()),
            (None, None, None, Some(p)) => PluginChoice::from_plugin_arg(p),
            (None, None, Some(_), Some(_)) => {
                return Err(ConfigError::Invalid(
                    "config file: give either workload or plugin, not both".into(),
                ));
            }
            (None, None, None, None) => {
                return Err(ConfigError::Invalid(
                    "no workload given: use -w NAME (see `stormdb workloads`) or --plugin FILE"
                        .into(),
                ));
            }
        };
        let stop = match (
            &args.duration,
            args.transactions,
            &file.duration,
            file.transactions,
        ) {
            (Some(d), _, _, _) => StopAfter::Duration(parse_duration("--duration", d)?),
            (None, Some(n), _, _) => StopAfter::Transactions(n),
            (None, None, Some(d), _) => StopAfter::Duration(parse_duration("duration", d)?),
            (None, None, None, Some(n)) => StopAfter::Transactions(n),
            (None, None, None, None) => StopAfter::Duration(Duration::from_secs(10)),
        };
        match stop {
            StopAfter::Duration(d) if d.is_zero() => {
                return Err(ConfigError::Invalid(
                    "the duration must be above zero".into(),
                ));
            }
            StopAfter::Transactions(0) => {
                return Err(ConfigError::Invalid(
                    "--transactions must be at least 1".into(),
                ));
            }
            _ => {}
        }
        let warmup = match args.warmup.as_ref().or(file.warmup.as_ref()) {
            Some(w) => parse_duration("--warmup", w)?,
            None => Duration::ZERO,
        };
        let workers = positive("--workers", args.workers.or(file.workers).unwrap_or(1))?;
        let connections = positive(
            "--connections",
            args.connections.or(file.connections).unwrap_or(workers),
        )?;
        let scale = match args.scale.or(file.scale) {
            Some(s) => Some(positive("--scale", s)?),
            None => None,
        };
        let setup = if args.rebuild {
            SetupMode::Rebuild
        } else if args.setup {
            SetupMode::IfNeeded
        } else {
            match file.setup.as_deref() {
                None | Some("none") => SetupMode::None,
                Some("setup") => SetupMode::IfNeeded,
                Some("rebuild") => SetupMode::Rebuild,
                Some(other) => {
                    return Err(ConfigError::Invalid(format!(
                        "config file: setup must be none, setup or rebuild, not '{other}'"
                    )));
                }
            }
        };
        let threads = positive(
            "--threads",
            args.threads.or(file.threads).unwrap_or(cores.max(1)),
        )?;
        let loaders = positive(
            "--loaders",
            args.loaders.or(file.loaders).unwrap_or(threads),
        )?;
        let mut params = Vec::new();
        if let Some(p) = &file.params {
            for (k, v) in p {
                params.push((k.clone(), yaml_scalar(k, v)?));
            }
        }
        if scripted {
            params.retain(|(name, _)| name != "scripts");
            params.push(("scripts".into(), scripts_param(&args.scripts)?));
        }
        for p in &args.params {
            let (k, v) = p.split_once('=').ok_or_else(|| {
                ConfigError::Invalid(format!("--param '{p}': expected NAME=VALUE"))
            })?;
            params.retain(|(name, _)| name != k.trim());
            params.push((k.trim().to_string(), v.to_string()));
        }
        let progress = match args.progress.as_ref().or(file.progress.as_ref()) {
            Some(p) => {
                let d = parse_duration("--progress", p)?;
                (!d.is_zero()).then_some(d)
            }
            None => None,
        };
        let step_timeout = match args.step_timeout.as_ref().or(file.step_timeout.as_ref()) {
            Some(t) => parse_duration("--step-timeout", t)?,
            None => Duration::from_secs(60),
        };
        let step_cpu_limit = match args
            .step_cpu_limit
            .as_ref()
            .or(file.step_cpu_limit.as_ref())
        {
            Some(t) => parse_duration("--step-cpu-limit", t)?,
            None => Duration::from_secs(10),
        };
        let setup_cpu_limit = match args
            .setup_cpu_limit
            .as_ref()
            .or(file.setup_cpu_limit.as_ref())
        {
            Some(t) => parse_duration("--setup-cpu-limit", t)?,
            None => Duration::from_secs(3600),
        };
        let latency_limit = match args.latency_limit.as_ref().or(file.latency_limit.as_ref()) {
            Some(t) => Some(parse_duration("--latency-limit", t)?),
            None => None,
        };
        let pacing = match args.rate.or(file.rate) {
            Some(rate) => {
                if !(rate.is_finite() && rate > 0.0) {
                    return Err(ConfigError::Invalid(format!(
                        "--rate {rate}: must be a positive number of transactions per second"
                    )));
                }
                let poisson = match args.arrivals.as_deref().or(file.arrivals.as_deref()) {
                    None | Some("poisson") => true,
                    Some("uniform") => false,
                    Some(other) => {
                        return Err(ConfigError::Invalid(format!(
                            "--arrivals '{other}': use poisson or uniform"
                        )));
                    }
                };
                crate::runner::pacing::Pacing::Open {
                    rate,
                    poisson,
                    latency_limit,
                }
            }
            None => {
                if latency_limit.is_some() {
                    return Err(ConfigError::Invalid(
                        "--latency-limit needs --rate (it is about lateness against a schedule)"
                            .into(),
                    ));
                }
                let think = match args.think_time.as_ref().or(file.think_time.as_ref()) {
                    Some(t) => parse_duration("--think-time", t)?,
                    None => Duration::ZERO,
                };
                crate::runner::pacing::Pacing::Closed { think }
            }
        };
        let interval = match args.interval.as_ref().or(file.interval.as_ref()) {
            Some(t) => {
                let d = parse_duration("--interval", t)?;
                if d < Duration::from_millis(100) {
                    return Err(ConfigError::Invalid(
                        "--interval must be at least 100ms".into(),
                    ));
                }
                d
            }
            None => Duration::from_secs(1),
        };
        let memory_mib = positive(
            "--memory-limit",
            args.memory_limit.or(file.memory_limit).unwrap_or(256),
        )?;
        Ok(RunConfig {
            plugin,
            allow_unsigned: args.allow_unsigned,
            mode: args.mode.clone().or(file.mode.clone()),
            stop,
            warmup,
            workers,
            connections,
            scale,
            database: database(args, &file, env)?,
            setup,
            cleanup: args.cleanup || file.cleanup.unwrap_or(false),
            loaders,
            seed: args.seed.or(file.seed),
            params,
            json_out: args.json_out.clone().or(file.json_out.clone()),
            csv_out: args.csv_out.clone().or(file.csv_out.clone()),
            html_out: args.html_out.clone().or(file.html_out.clone()),
            aggregate_log: args.aggregate_log.clone().or(file.aggregate_log.clone()),
            hdr_log: args.hdr_log.clone().or(file.hdr_log.clone()),
            metrics_addr: args.metrics_addr.clone().or(file.metrics_addr.clone()),
            pacing,
            max_tries: args.max_tries.or(file.max_tries).unwrap_or(1).max(1),
            interval,
            threads,
            progress,
            step_timeout,
            step_cpu_limit,
            setup_cpu_limit,
            memory_bytes: usize::try_from(memory_mib).unwrap_or(usize::MAX) << 20,
            strict_wasi: args.strict_wasi || file.strict_wasi.unwrap_or(false),
            connection_mode: match args
                .connection_mode
                .as_ref()
                .or(file.connection_mode.as_ref())
            {
                Some(m) => ConnectionMode::parse(m)?,
                None => ConnectionMode::Persistent,
            },
            sql_limits: {
                let mut l = crate::capability::sql::SqlLimits::default();
                if let Some(n) = args
                    .max_statements_per_step
                    .or(file.max_statements_per_step)
                {
                    l.max_statements_per_call = n.max(1);
                }
                if let Some(n) = args.max_result_rows.or(file.max_result_rows) {
                    l.max_result_rows = n;
                }
                l
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> RunArgs {
        RunArgs {
            workload: Some("pgbench".into()),
            ..Default::default()
        }
    }

    fn no_env() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn durations_accept_units_and_plain_seconds() {
        assert_eq!(parse_duration("d", "10s").unwrap(), Duration::from_secs(10));
        assert_eq!(
            parse_duration("d", "1m30s").unwrap(),
            Duration::from_secs(90)
        );
        assert_eq!(
            parse_duration("d", "2.5").unwrap(),
            Duration::from_millis(2500)
        );
        let err = parse_duration("--duration", "10x").unwrap_err().to_string();
        assert!(err.contains("--duration") && err.contains("10x"), "{err}");
        assert!(parse_duration("d", "-1").is_err());
    }

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

    #[test]
    fn flags_override_the_file_and_defaults_fill_in() {
        let file = parse_file(
            Path::new("c.yaml"),
            "workload: simple\nworkers: 8\nduration: 1m\nparams:\n  read_pct: 50\n",
        )
        .unwrap();
        let mut a = args();
        a.workers = Some(4);
        a.params = vec!["read_pct=90".into()];
        let c = RunConfig::resolve(&a, Some(file), &no_env(), 2).unwrap();
        assert_eq!(c.plugin, PluginChoice::Builtin("pgbench".into()));
        assert_eq!(c.workers, 4);
        assert_eq!(c.connections, 4);
        assert_eq!(c.stop, StopAfter::Duration(Duration::from_secs(60)));
        assert_eq!(c.params, vec![("read_pct".to_string(), "90".to_string())]);
        assert_eq!(c.threads, 2);
        assert!(matches!(c.database, Database::Embedded));
    }

    #[test]
    fn database_precedence_is_flag_then_file_then_environment() {
        let env: BTreeMap<_, _> = [("PGHOST".to_string(), "envhost".to_string())].into();
        let c = RunConfig::resolve(&args(), None, &env, 2).unwrap();
        assert!(matches!(
            c.database,
            Database::Server(_, DbSource::Environment)
        ));
        let file = parse_file(Path::new("c"), "database:\n  host: filehost\n").unwrap();
        let c = RunConfig::resolve(&args(), Some(file), &env, 2).unwrap();
        assert!(matches!(
            c.database,
            Database::Server(_, DbSource::ConfigFile(_))
        ));
        let mut a = args();
        a.db = Some("postgres://u@flaghost/d".into());
        let c = RunConfig::resolve(&a, None, &env, 2).unwrap();
        assert!(matches!(c.database, Database::Server(_, DbSource::Flag(_))));
    }

    #[test]
    fn shipped_example_configs_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let file = read_file(&path).unwrap();
                RunConfig::resolve(&RunArgs::default(), Some(file), &no_env(), 2)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seen += 1;
            }
        }
        assert!(seen >= 2);
    }

    #[test]
    fn bad_values_are_refused_with_their_names() {
        let mut a = args();
        a.workers = Some(0);
        let err = RunConfig::resolve(&a, None, &no_env(), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--workers"), "{err}");
        let mut a = args();
        a.params = vec!["nonsense".into()];
        let err = RunConfig::resolve(&a, None, &no_env(), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("NAME=VALUE"), "{err}");
        let err = RunConfig::resolve(&RunArgs::default(), None, &no_env(), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no workload"), "{err}");
    }
}
