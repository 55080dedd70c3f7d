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
    /// A workload component file (.wasm) instead of a built-in.
    #[arg(long, value_name = "FILE")]
    pub plugin: Option<PathBuf>,
    /// Run an unsigned plugin file (local development only; the report says so).
    #[arg(long)]
    pub allow_unsigned: bool,
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
    /// Database URL or connection string; without it, PG* variables, then
    /// the config file, then a throwaway local server.
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
    /// Workload parameter NAME=VALUE (repeatable).
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
    /// Runtime threads (default: CPU cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<u32>,
    /// Print a progress line this often, e.g. 5s (default: off).
    #[arg(long, value_name = "DURATION")]
    pub progress: Option<String>,
    /// Wall-clock limit for one step, host calls included (default 60s).
    #[arg(long, value_name = "DURATION")]
    pub step_timeout: Option<String>,
    /// CPU time one step may spend in the plugin (default 10s).
    #[arg(long, value_name = "DURATION")]
    pub step_cpu_limit: Option<String>,
    /// Linear memory per plugin instance, in MiB (default 256).
    #[arg(long, value_name = "MIB")]
    pub memory_limit: Option<u32>,
    /// Refuse plugins that import wasi:filesystem or wasi:sockets (by
    /// default they are linked inert: no directories, no network).
    #[arg(long)]
    pub strict_wasi: bool,
}

/// Flags of `stormdb local-pg`.
#[derive(Debug, Args)]
pub struct LocalPgArgs {
    /// max_connections of the server.
    #[arg(long, default_value_t = 200)]
    pub max_connections: u32,
}
