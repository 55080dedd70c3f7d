//! Command-line interface: subcommands and flags.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// PostgreSQL load testing and benchmarking with WebAssembly workload plugins.
#[derive(Debug, Parser)]
#[command(name = "stormdb", version, about, long_about = None)]
pub struct Cli {
    /// More log output (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only warnings and errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a workload and report what happened.
    Run(Box<RunArgs>),
    /// List the built-in workloads and their modes.
    Workloads,
    /// Start a throwaway local PostgreSQL, print its connection string, and
    /// keep it until stdin closes or StormDB is interrupted.
    LocalPg(LocalPgArgs),
    /// Compare two JSON reports: is B different from A, or is it noise?
    Compare(CompareArgs),
    /// Turn a JSON report into a self-contained HTML report.
    Html(HtmlArgs),
    /// Package, sign, verify, publish and install workload plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

/// Trust and lockfile flags shared by the commands that load plugins.
#[derive(Debug, Args, Default, Clone)]
pub struct TrustArgs {
    /// YAML config file (for its `trust:` and `plugins:` sections).
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also trust the key in this public key file (repeatable).
    #[arg(long, value_name = "KEY.pub")]
    pub trust: Vec<PathBuf>,
    /// Use this tenant's trust set from the config.
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    /// Refuse any plugin or version not exactly as in the lockfile.
    #[arg(long)]
    pub locked: bool,
    /// Accept a version lower than the locked one.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Accept plugins without signatures (local development only).
    #[arg(long)]
    pub allow_unsigned: bool,
}

/// `stormdb plugin ...`
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Make a signing key: the secret key in KEY (mode 0600), the public
    /// key in KEY.pub.
    Keygen {
        /// Where to write the secret key.
        #[arg(long, value_name = "KEY")]
        out: PathBuf,
        /// A comment stored with the public key (e.g. an e-mail address).
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Write a manifest for a component after checking it implements
    /// stormdb:workload.
    Pack(Box<PackArgs>),
    /// Add a signature to a manifest.
    Sign {
        /// The manifest.
        manifest: PathBuf,
        /// The secret key file.
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
    },
    /// Verify a manifest, its component, signatures and dependencies;
    /// exits 0 only when everything holds.
    Verify {
        /// The manifest (or NAME[@RANGE] of an installed plugin).
        plugin: String,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// List built-in and packaged plugins with digests and signers.
    List {
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Show a plugin's manifest, verification and what it describes.
    Info {
        /// Built-in name, manifest path or NAME[@RANGE].
        plugin: String,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Install NAME[@RANGE] and its dependencies from a registry into the
    /// local plugin cache, pinning them in the lockfile.
    Install {
        /// NAME or NAME@RANGE.
        spec: String,
        /// Registry directory or http(s) URL (default: the config's).
        #[arg(long, value_name = "URL|DIR")]
        registry: Option<String>,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Copy a verified plugin into a directory registry and index it.
    Publish {
        /// The manifest.
        manifest: PathBuf,
        /// The registry directory.
        #[arg(long, value_name = "DIR")]
        registry: PathBuf,
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Create a plugin project (template, SDK and WIT) that builds with one
    /// command and runs with `stormdb run --plugin`.
    New {
        /// Plugin name: lowercase letters, digits and '-'.
        name: String,
        /// rust, python, js or c.
        #[arg(long, default_value = "rust", value_name = "LANG")]
        lang: String,
        /// Where to create it (default: ./NAME).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Verify, instantiate and call `describe`: is the plugin healthy?
    Health {
        /// Built-in name, manifest path or NAME[@RANGE].
        plugin: String,
        #[command(flatten)]
        trust: TrustArgs,
    },
}

/// Flags of `stormdb plugin pack`.
#[derive(Debug, Args)]
pub struct PackArgs {
    /// The component (.wasm).
    pub component: PathBuf,
    /// Plugin name.
    #[arg(long)]
    pub name: String,
    /// Semantic version.
    #[arg(long)]
    pub version: String,
    /// Where to write the manifest (default: COMPONENT's stem + .manifest.yaml).
    #[arg(long, value_name = "MANIFEST")]
    pub out: Option<PathBuf>,
    /// Description.
    #[arg(long, default_value = "")]
    pub description: String,
    /// Author.
    #[arg(long, default_value = "")]
    pub author: String,
    /// SPDX license.
    #[arg(long, default_value = "")]
    pub license: String,
    /// Tag (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Requested capability: read, write, ddl, copy, temp-tables,
    /// extension:NAME (repeatable; default read, write).
    #[arg(long = "capability")]
    pub capabilities: Vec<String>,
    /// Dependency NAME@RANGE on another plugin (repeatable).
    #[arg(long = "depends")]
    pub depends: Vec<String>,
    /// Required StormDB version range.
    #[arg(long)]
    pub host: Option<String>,
}

/// Flags of `stormdb run`. Each overrides the same setting in the config
/// file; see `config/` for examples.
#[derive(Debug, Args, Default)]
pub struct RunArgs {
    /// YAML config file.
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Built-in workload to run (see `stormdb workloads`).
    #[arg(short = 'w', long, value_name = "NAME", conflicts_with = "plugin")]
    pub workload: Option<String>,
    /// A packaged plugin: a manifest file, NAME[@RANGE] of an installed or
    /// configured one, or an unsigned .wasm (with --allow-unsigned).
    #[arg(long, value_name = "PLUGIN")]
    pub plugin: Option<PathBuf>,
    /// Run an unsigned plugin (local development only; the report says so).
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Also trust the key in this public key file (repeatable).
    #[arg(long, value_name = "KEY.pub")]
    pub trust: Vec<PathBuf>,
    /// Use this tenant's trust set from the config.
    #[arg(long, value_name = "NAME")]
    pub tenant: Option<String>,
    /// Refuse any plugin or version not exactly as in the lockfile.
    #[arg(long)]
    pub locked: bool,
    /// Accept a version lower than the locked one.
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Workload mode (default: the workload's first mode).
    #[arg(short = 'm', long)]
    pub mode: Option<String>,
    /// How long to measure, e.g. 30s, 5m (default 10s).
    #[arg(
        short = 'd',
        long,
        value_name = "DURATION",
        conflicts_with = "transactions"
    )]
    pub duration: Option<String>,
    /// Stop after this many transactions in all, instead of after a duration.
    #[arg(short = 't', long, value_name = "N")]
    pub transactions: Option<u64>,
    /// Run this long before measuring; warmup steps are left out of every
    /// number (default 0s).
    #[arg(long, value_name = "DURATION")]
    pub warmup: Option<String>,
    /// Concurrent workload instances (default 1).
    #[arg(long, value_name = "N")]
    pub workers: Option<u32>,
    /// Database connections shared by the workers (default: one per worker).
    #[arg(long, value_name = "N")]
    pub connections: Option<u32>,
    /// Scale factor (default: the workload's own).
    #[arg(short = 's', long, value_name = "N")]
    pub scale: Option<u32>,
    /// Database URL or connection string; without it, the config file's
    /// `database:`, then PG* variables, then a throwaway local server.
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// Create and load the workload's tables unless they are already loaded
    /// at this scale (implied for the throwaway local server).
    #[arg(long)]
    pub setup: bool,
    /// Drop, create and load the workload's tables.
    #[arg(long, conflicts_with = "setup")]
    pub rebuild: bool,
    /// Drop the workload's tables after the run.
    #[arg(long)]
    pub cleanup: bool,
    /// Parallel loader instances for setup (default: runtime threads).
    #[arg(long, value_name = "N")]
    pub loaders: Option<u32>,
    /// Seed for every random choice; the same seed and settings repeat a run
    /// (default: random, printed in the report).
    #[arg(long)]
    pub seed: Option<u64>,
    /// A pgbench-style script FILE, optionally @WEIGHT, for the `script`
    /// workload (repeatable; implies -w script).
    #[arg(long = "script", value_name = "FILE[@WEIGHT]")]
    pub scripts: Vec<String>,
    /// Workload parameter NAME=VALUE (repeatable).
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Open loop: schedule this many transactions per second in all, taken
    /// by whichever worker is free; latency is measured from each scheduled
    /// start and the lag reported. Arrivals not started when -d ends are
    /// not run (counted as unstarted when the run was behind).
    #[arg(short = 'R', long, value_name = "TPS")]
    pub rate: Option<f64>,
    /// Arrivals in rate mode: poisson (default) or uniform.
    #[arg(long, value_name = "KIND")]
    pub arrivals: Option<String>,
    /// In rate mode, skip steps that cannot start within this of their
    /// schedule and count those finishing later than this as late.
    #[arg(short = 'L', long, value_name = "DURATION")]
    pub latency_limit: Option<String>,
    /// Closed loop: pause this long between a worker's steps (not counted
    /// in latency).
    #[arg(long, value_name = "DURATION")]
    pub think_time: Option<String>,
    /// Try a step this many times when it fails with a serialization
    /// failure or deadlock (40001, 40P01); default 1 (no retries).
    #[arg(long, value_name = "N")]
    pub max_tries: Option<u32>,
    /// Width of the time-series intervals (and of --aggregate-log lines),
    /// default 1s.
    #[arg(long, alias = "aggregate-interval", value_name = "DURATION")]
    pub interval: Option<String>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
    /// Write a self-contained HTML report (charts, no network) here.
    #[arg(long, value_name = "FILE")]
    pub html_out: Option<PathBuf>,
    /// Write the time series as CSV here.
    #[arg(long, value_name = "FILE")]
    pub csv_out: Option<PathBuf>,
    /// Write pgbench's aggregate log format here, one line per interval.
    #[arg(long, value_name = "FILE")]
    pub aggregate_log: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics during the run
    /// (e.g. 127.0.0.1:9187).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Write an HdrHistogram interval log of latencies here.
    #[arg(long, value_name = "FILE")]
    pub hdr_log: Option<PathBuf>,
    /// persistent (pooled connections), transient (a new connection per
    /// step, like pgbench -C) or mixed (odd-numbered workers transient).
    #[arg(long, value_name = "MODE")]
    pub connection_mode: Option<String>,
    /// Runtime threads (default: CPU cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<u32>,
    /// Print a progress line this often, e.g. 5s (default: off; setup's
    /// loading progress is shown regardless: a bar on a terminal, else a
    /// line every 5s).
    #[arg(long, value_name = "DURATION")]
    pub progress: Option<String>,
    /// Wall-clock limit for one step, host calls included (default 60s).
    #[arg(long, value_name = "DURATION")]
    pub step_timeout: Option<String>,
    /// CPU time one step may spend in the plugin (default 10s).
    #[arg(long, value_name = "DURATION")]
    pub step_cpu_limit: Option<String>,
    /// CPU time one setup, load, init, summarize or cleanup call may spend
    /// in the plugin (default 1h).
    #[arg(long, value_name = "DURATION")]
    pub setup_cpu_limit: Option<String>,
    /// Linear memory per plugin instance, in MiB (default 256).
    #[arg(long, value_name = "MIB")]
    pub memory_limit: Option<u32>,
    /// Statements one step may run (default 100000).
    #[arg(long, value_name = "N")]
    pub max_statements_per_step: Option<u64>,
    /// Rows one query result may hold (default 1000000).
    #[arg(long, value_name = "N")]
    pub max_result_rows: Option<u64>,
    /// Refuse plugins that import wasi:filesystem or wasi:sockets (by
    /// default they are linked inert: no directories, no network).
    #[arg(long)]
    pub strict_wasi: bool,
}

/// Flags of `stormdb compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline run's JSON report.
    pub a: PathBuf,
    /// The run to judge against it.
    pub b: PathBuf,
    /// Significance level of the tests.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Also write the comparison as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
    /// Exit with status 1 when B is significantly worse than A on a
    /// tested metric (for CI).
    #[arg(long)]
    pub fail_on_regression: bool,
}

/// Flags of `stormdb html`.
#[derive(Debug, Args)]
pub struct HtmlArgs {
    /// The JSON report.
    pub report: PathBuf,
    /// Where to write the HTML.
    #[arg(short, long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Flags of `stormdb local-pg`.
#[derive(Debug, Args)]
pub struct LocalPgArgs {
    /// max_connections of the server.
    #[arg(long, default_value_t = 200)]
    pub max_connections: u32,
}
