//! The run: setup, workers on their shards, cleanup.
//!
//! The main thread orchestrates and never runs a step: it waits until every
//! shard has its instances initialised, opens the measurement window for
//! all of them at once, prints progress, and collects each shard's
//! recorder when it finishes.

mod guard;
mod measured;
pub mod pacing;
pub mod seed;
mod setup;
mod shards;
pub mod stop;
mod worker;

pub use setup::SetupReport;
pub use stop::StopSignal;

use crate::bindings::{Context, Info};
use crate::capability::sql::{SqlLimits, SqlSession};
use crate::config::{SetupMode, StopAfter};
use crate::metrics::Recorder;
use crate::metrics::intervals::IntervalStats;
use crate::pg::pool::PgPool;
use crate::sandbox::{CallLimits, PluginRuntime};
use pacing::Pacing;
use seed::SeedPhase;
use shards::POOL_WAIT_TIMEOUT;
use std::time::{Duration, SystemTime};

/// Everything the runner needs, validated.
#[derive(Clone)]
pub struct RunSpec {
    /// The plugin, ready to instantiate.
    pub runtime: PluginRuntime,
    /// Where workers connect (the tenant's role, with the run's timeouts).
    pub db: tokio_postgres::Config,
    /// Where setup, load and cleanup connect (longer timeouts).
    pub setup_db: tokio_postgres::Config,
    /// What the plugin may do.
    pub caps: crate::capability::sql::Capabilities,
    /// Mode chosen (validated against `describe`).
    pub mode: String,
    /// Scale chosen.
    pub scale: u32,
    /// All declared parameters with values.
    pub params: Vec<(String, String)>,
    /// Run seed.
    pub seed: u64,
    /// Worker instances.
    pub workers: u32,
    /// Connections shared by the workers.
    pub connections: u32,
    /// Runtime threads.
    pub threads: u32,
    /// Loader instances for setup.
    pub loaders: u32,
    /// When to stop.
    pub stop_after: StopAfter,
    /// Unmeasured lead-in.
    pub warmup: Duration,
    /// Setup before the run.
    pub setup: SetupMode,
    /// Drop tables after the run.
    pub cleanup: bool,
    /// Limits of each step.
    pub step_limits: CallLimits,
    /// Limits of setup, init and cleanup calls.
    pub setup_limits: CallLimits,
    /// SQL result limits.
    pub sql_limits: SqlLimits,
    /// Progress line interval.
    pub progress: Option<Duration>,
    /// How workers connect.
    pub connection_mode: crate::config::ConnectionMode,
    /// Closed or open loop.
    pub pacing: Pacing,
    /// Tries per step for serialization failures and deadlocks (1 = none).
    pub max_tries: u32,
    /// Width of the time-series intervals.
    pub interval: Duration,
}

impl RunSpec {
    /// The context of instance `id` of `count` in `phase`.
    pub fn context(&self, id: u32, count: u32, phase: SeedPhase) -> Context {
        Context {
            mode: self.mode.clone(),
            scale: self.scale,
            worker_id: id,
            workers: count,
            seed: seed::derive(self.seed, phase, id),
            params: self.params.clone(),
        }
    }

    fn shards(&self) -> u32 {
        self.threads.min(self.workers).min(self.connections).max(1)
    }

    fn quota(&self, worker: u32) -> Option<u64> {
        match self.stop_after {
            StopAfter::Transactions(n) => {
                let w = u64::from(self.workers);
                Some(n / w + u64::from(u64::from(worker) < n % w))
            }
            StopAfter::Duration(_) => None,
        }
    }
}

/// How the run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// It ran to its duration or transaction count.
    Completed,
    /// Ctrl-C or SIGTERM stopped it early; the numbers cover what ran.
    Interrupted,
    /// It could not go on; the text says why.
    Failed(String),
}

/// What a run produced.
pub struct RunResult {
    /// How it ended.
    pub status: RunStatus,
    /// Everything measured.
    pub recorder: Recorder,
    /// From the end of warmup to the last measured step's completion.
    pub elapsed: Duration,
    /// What setup did, if it was asked for.
    pub setup: Option<SetupReport>,
    /// Whether `--cleanup` dropped the tables.
    pub cleaned_up: bool,
    /// Shards (runtime threads) used.
    pub shards: u32,
    /// Plugin log lines dropped by the rate limit.
    pub dropped_log_lines: u64,
    /// What the plugin's `summarize` reported.
    pub figures: Vec<crate::bindings::Figure>,
    /// Why `summarize` failed, if it did (the run's numbers still stand).
    pub summarize_error: Option<String>,
}

impl RunResult {
    /// A result with nothing measured yet.
    fn empty(status: RunStatus, shards: u32) -> RunResult {
        RunResult {
            status,
            recorder: Recorder::new(),
            elapsed: Duration::ZERO,
            setup: None,
            cleaned_up: false,
            shards,
            dropped_log_lines: 0,
            figures: Vec::new(),
            summarize_error: None,
        }
    }

    /// A run that failed before measuring anything.
    pub fn failed(why: String) -> RunResult {
        RunResult::empty(RunStatus::Failed(why), 0)
    }
}

/// Asks a fresh instance what the plugin is.
pub fn describe(
    runtime: &PluginRuntime,
    db: &tokio_postgres::Config,
    limits: CallLimits,
) -> Result<Info, String> {
    let rt = shards::runtime().map_err(|e| format!("starting a runtime: {e}"))?;
    rt.block_on(async {
        let pool = PgPool::new(db.clone(), 1, POOL_WAIT_TIMEOUT)?;
        let session = SqlSession::new(pool, SqlLimits::default());
        let mut inst = runtime
            .instantiate(session, None)
            .await
            .map_err(|e| format!("plugin '{}': instantiating: {e}", runtime.name()))?;
        inst.describe(limits)
            .await
            .map_err(|e| format!("plugin '{}': describe failed: {e}", runtime.name()))
    })
}

/// Runs only the setup of `spec` (for a dependency of the workload).
pub fn setup_only(spec: &RunSpec, stop: &StopSignal) -> Result<SetupReport, String> {
    setup::run(spec, stop)
}

/// What the caller does at the edges of the measured phase.
pub struct PhaseHooks<'a> {
    /// Setup is done and the workers' instances are about to start.
    pub before_workers: &'a mut dyn FnMut(),
    /// The measurement window opens: warmup is over (or there is none).
    /// Not called when the run ends before that.
    pub window_open: &'a mut dyn FnMut(),
    /// The workers have stopped, successfully or not; `summarize` and
    /// cleanup have not run yet. Called whenever the workers were started.
    pub after_workers: &'a mut dyn FnMut(),
    /// A completed interval of the time series.
    pub on_interval: &'a mut dyn FnMut(u64, SystemTime, &IntervalStats),
}

/// Runs setup (if asked), the measured run and cleanup (if asked).
pub fn execute(spec: &RunSpec, stop: &StopSignal, hooks: PhaseHooks<'_>) -> RunResult {
    let PhaseHooks {
        before_workers,
        window_open,
        after_workers,
        on_interval,
    } = hooks;
    let mut result = RunResult::empty(RunStatus::Completed, spec.shards());
    if spec.setup != SetupMode::None {
        match setup::run(spec, stop) {
            Ok(report) => result.setup = Some(report),
            Err(e) => {
                result.status = if stop.stop_requested() {
                    RunStatus::Interrupted
                } else {
                    RunStatus::Failed(e)
                };
                return result;
            }
        }
    }
    if stop.stop_requested() {
        result.status = RunStatus::Interrupted;
        return result;
    }
    before_workers();
    let outcome = measured::run_workers(spec, stop, window_open, on_interval);
    after_workers();
    match outcome {
        Ok(out) => {
            result.recorder = out.recorder;
            result.elapsed = out.elapsed;
            result.dropped_log_lines = out.dropped_log_lines;
            if let Some(e) = out.failure {
                // A partial run: its numbers are reported, marked failed.
                result.status = RunStatus::Failed(e);
                return result;
            }
            if stop.stop_requested() {
                result.status = RunStatus::Interrupted;
            }
        }
        Err(e) => {
            result.status = RunStatus::Failed(e);
            return result;
        }
    }
    if !stop.abort_requested() {
        match setup::summarize(spec, &result.recorder, result.elapsed) {
            Ok(figures) => result.figures = figures,
            Err(e) => result.summarize_error = Some(e),
        }
    }
    if spec.cleanup && !stop.abort_requested() {
        match setup::cleanup(spec) {
            Ok(()) => result.cleaned_up = true,
            Err(e) => result.status = RunStatus::Failed(e),
        }
    }
    result
}
