//! One plugin instance and the exported calls the runner makes on it, each
//! with a CPU budget and a wall-clock timeout. An instance whose call
//! trapped or timed out is poisoned: the runner discards it and builds a
//! fresh one.

use super::epoch::CpuBudget;
use super::state::HostState;
use crate::bindings::exports::stormdb::workload::workload::Guest;
use crate::bindings::{
    Context, Figure, Info, Outcome, RunSummary, StepError, WorkloadError, WorkloadPlugin,
};
use crate::capability::sql::{CallPhase, SqlSession};
use std::time::Duration;
use wasmtime::{Store, UpdateDeadline};

/// Deadlines of one exported call.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    /// CPU time the guest may spend running wasm.
    pub cpu: Duration,
    /// Wall-clock time for the whole call, host calls included.
    pub wall: Duration,
}

/// Why an exported call did not return normally. Every case poisons the
/// instance.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The guest trapped: a panic, an out-of-bounds access, the memory
    /// limit, a stack overflow.
    #[error("trap: {0}")]
    Trap(String),
    /// The guest ran past its CPU budget.
    #[error("CPU deadline of {0:?} exceeded")]
    CpuLimit(Duration),
    /// The call ran past its wall-clock timeout.
    #[error("wall-clock timeout of {0:?} exceeded")]
    Timeout(Duration),
}

/// The error the deadline callback raises when the budget is spent.
#[derive(Debug)]
struct CpuDeadline(Duration);

impl std::fmt::Display for CpuDeadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CPU deadline of {:?} exceeded", self.0)
    }
}

impl std::error::Error for CpuDeadline {}

impl CallError {
    pub(super) fn from_trap(e: wasmtime::Error, store: &Store<HostState>) -> CallError {
        if let Some(CpuDeadline(limit)) = e.downcast_ref::<CpuDeadline>() {
            return CallError::CpuLimit(*limit);
        }
        // The root cause says what happened (a trap code, the memory limit);
        // the outer layers are backtrace context.
        let mut msg = match e.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => trap.to_string(),
            None => e.root_cause().to_string(),
        };
        if let Some(first) = msg.lines().next() {
            msg = first.to_string();
        }
        if let Some(line) = store.data().log.last_stderr() {
            msg.push_str(": ");
            msg.push_str(&line);
        }
        CallError::Trap(msg)
    }
}

/// Installs the epoch callback: yield to the runtime every tick (fairness
/// between instances on one thread) and trap once the call's CPU budget is
/// spent.
pub(super) fn install_deadline(store: &mut Store<HostState>) {
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |mut ctx| {
        let data = ctx.data_mut();
        let used = data.sql.guest_time(std::time::Instant::now());
        if used <= data.cpu.limit() {
            Ok(UpdateDeadline::Yield(1))
        } else {
            Err(wasmtime::Error::new(CpuDeadline(used)))
        }
    });
}

/// A live instance of a workload plugin.
pub struct PluginInstance {
    store: Store<HostState>,
    bindings: WorkloadPlugin,
    poisoned: bool,
}

/// What a successful call returned, and how long it waited for a
/// connection.
pub struct Called<T> {
    /// The export's own result.
    pub value: T,
    /// Time spent waiting for a pooled connection, if the call took one
    /// from the pool.
    pub pool_wait: Option<Duration>,
    /// Time spent opening a connection (transient mode).
    pub connect_time: Option<Duration>,
}

impl PluginInstance {
    pub(super) fn new(store: Store<HostState>, bindings: WorkloadPlugin) -> Self {
        PluginInstance {
            store,
            bindings,
            poisoned: false,
        }
    }

    /// True once a call trapped or timed out; the instance must not be used.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// The instance's SQL session.
    pub fn sql(&mut self) -> &mut SqlSession {
        &mut self.store.data_mut().sql
    }

    /// The statement timings of the last call (kept until the next call
    /// begins, so the buffer is reused rather than reallocated per step).
    pub fn statement_samples(&self) -> &[crate::metrics::StatementSample] {
        self.store.data().sql.samples()
    }

    /// The counters the last call incremented.
    pub fn take_counters(&mut self) -> Vec<(String, u64)> {
        self.store.data_mut().counters.take()
    }

    /// `summarize`: figures after the run.
    pub async fn summarize(
        &mut self,
        ctx: &Context,
        run: &RunSummary,
        limits: CallLimits,
    ) -> Result<Result<Vec<Figure>, WorkloadError>, CallError> {
        self.prepare(CallPhase::Inspect, limits);
        let guest = self.bindings.stormdb_workload_workload();
        let r = tokio::time::timeout(limits.wall, guest.call_summarize(&mut self.store, ctx, run))
            .await;
        self.finish(r, limits).await.map(|c| c.value)
    }

    /// Log lines this instance had dropped by the rate limit.
    pub fn dropped_log_lines(&self) -> u64 {
        self.store.data().log.dropped()
    }

    fn guest(&self) -> &Guest {
        self.bindings.stormdb_workload_workload()
    }

    fn prepare(&mut self, phase: CallPhase, limits: CallLimits) {
        self.prepare_at(phase, limits, std::time::Instant::now());
    }

    fn prepare_at(&mut self, phase: CallPhase, limits: CallLimits, now: std::time::Instant) {
        let data = self.store.data_mut();
        data.cpu = CpuBudget::new(limits.cpu);
        data.sql.begin_call(phase, now);
        data.counters.clear();
    }

    async fn finish<T>(
        &mut self,
        outcome: Result<wasmtime::Result<T>, tokio::time::error::Elapsed>,
        limits: CallLimits,
    ) -> Result<Called<T>, CallError> {
        match outcome {
            Ok(Ok(value)) => {
                let sql = &mut self.store.data_mut().sql;
                let connect_time = sql.take_connect_time();
                let pool_wait = if sql.has_open_tx() {
                    // Rare, and its future is large: boxed so it does not
                    // inflate every step's future.
                    Box::pin(sql.end_call()).await
                } else {
                    sql.finish_call()
                };
                Ok(Called {
                    value,
                    pool_wait,
                    connect_time,
                })
            }
            Ok(Err(e)) => {
                self.poisoned = true;
                self.store.data_mut().sql.abandon();
                Err(CallError::from_trap(e, &self.store))
            }
            Err(_) => {
                self.poisoned = true;
                self.store.data_mut().sql.abandon();
                Err(CallError::Timeout(limits.wall))
            }
        }
    }

    /// `describe`: what the plugin is. No SQL is allowed.
    pub async fn describe(&mut self, limits: CallLimits) -> Result<Info, CallError> {
        self.prepare(CallPhase::Describe, limits);
        let guest = self.bindings.stormdb_workload_workload();
        let r = tokio::time::timeout(limits.wall, guest.call_describe(&mut self.store)).await;
        self.finish(r, limits).await.map(|c| c.value)
    }

    /// `is-loaded`.
    pub async fn is_loaded(
        &mut self,
        ctx: &Context,
        limits: CallLimits,
    ) -> Result<Result<bool, WorkloadError>, CallError> {
        self.prepare(CallPhase::Inspect, limits);
        let guest = self.bindings.stormdb_workload_workload();
        let r = tokio::time::timeout(limits.wall, guest.call_is_loaded(&mut self.store, ctx)).await;
        self.finish(r, limits).await.map(|c| c.value)
    }

    /// One of the setup-like calls that take a context and return nothing.
    pub async fn lifecycle(
        &mut self,
        call: Lifecycle,
        ctx: &Context,
        limits: CallLimits,
    ) -> Result<Result<(), WorkloadError>, CallError> {
        let phase = match call {
            Lifecycle::SetupSchema | Lifecycle::FinishSetup | Lifecycle::Cleanup => {
                CallPhase::Schema
            }
            Lifecycle::Load => CallPhase::Load,
            Lifecycle::Init => CallPhase::Init,
        };
        self.prepare(phase, limits);
        let guest = self.guest().clone();
        let store = &mut self.store;
        let fut = async {
            match call {
                Lifecycle::SetupSchema => guest.call_setup_schema(&mut *store, ctx).await,
                Lifecycle::Load => guest.call_load(&mut *store, ctx).await,
                Lifecycle::FinishSetup => guest.call_finish_setup(&mut *store, ctx).await,
                Lifecycle::Init => guest.call_init(&mut *store, ctx).await,
                Lifecycle::Cleanup => guest.call_cleanup(&mut *store, ctx).await,
            }
        };
        let r = tokio::time::timeout(limits.wall, fut).await;
        self.finish(r, limits).await.map(|c| c.value)
    }

    /// `step`: one unit of work, with a CPU budget but no wall-clock
    /// timeout of its own: the runner watches steps' wall time without a
    /// timer per step, and calls [`PluginInstance::abandon`] on the ones it
    /// gives up on.
    /// `began` is the caller's reading of the clock just before: one
    /// reading fewer per step. A failed step's error comes boxed: the
    /// result passes through several async layers on every step, and
    /// unboxed its size is set by the rare error (a few hundred bytes
    /// copied at each layer).
    pub async fn step(
        &mut self,
        limits: CallLimits,
        began: std::time::Instant,
    ) -> Result<Called<Result<Outcome, Box<StepError>>>, CallError> {
        self.prepare_at(CallPhase::Step, limits, began);
        let guest = self.bindings.stormdb_workload_workload();
        let r = guest
            .call_step(&mut self.store)
            .await
            .map(|v| v.map_err(Box::new));
        self.finish(Ok(r), limits).await
    }

    /// Gives up on a call whose future was dropped mid-way: the instance is
    /// poisoned and the statement it was running is cancelled.
    pub fn abandon(&mut self) {
        self.poisoned = true;
        self.store.data_mut().sql.abandon();
    }
}

/// The exported calls that take a context and return nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// `setup-schema`
    SetupSchema,
    /// `load`
    Load,
    /// `finish-setup`
    FinishSetup,
    /// `init`
    Init,
    /// `cleanup`
    Cleanup,
}

impl Lifecycle {
    /// The export's WIT name.
    pub fn name(self) -> &'static str {
        match self {
            Lifecycle::SetupSchema => "setup-schema",
            Lifecycle::Load => "load",
            Lifecycle::FinishSetup => "finish-setup",
            Lifecycle::Init => "init",
            Lifecycle::Cleanup => "cleanup",
        }
    }
}
