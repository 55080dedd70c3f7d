//! One worker: an instance calling `step` in a closed loop or on a
//! schedule, measured from the host, retried on serialization failures and
//! deadlocks when asked, replaced when it traps.

use super::guard::{Killed, Slot, guarded};
use super::pacing::{Pacing, Schedule};
use super::stop::StopSignal;
use crate::bindings::{Context, SqlError, WorkloadError};
use crate::capability::sql::{SqlLimits, SqlSession};
use crate::metrics::intervals::{Intervals, Sample};
use crate::metrics::{ErrorKind, Recorder};
use crate::pg::pool::PgPool;
use crate::sandbox::{CallError, CallLimits, Lifecycle, PluginInstance, PluginRuntime};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Kind, SQLSTATE and message of a workload error, for the error tally.
pub fn classify(e: &WorkloadError) -> (ErrorKind, Option<String>, String) {
    match e {
        WorkloadError::Sql(SqlError::Database(d)) => (
            ErrorKind::from_sqlstate(&d.sqlstate),
            Some(d.sqlstate.clone()),
            d.message.clone(),
        ),
        WorkloadError::Sql(SqlError::Denied(m)) => (ErrorKind::Denied, None, m.clone()),
        WorkloadError::Sql(SqlError::Timeout(m)) => (ErrorKind::Timeout, None, m.clone()),
        WorkloadError::Sql(SqlError::Connection(m)) => (ErrorKind::Connection, None, m.clone()),
        WorkloadError::Sql(SqlError::Limit(m)) => (ErrorKind::Limit, None, m.clone()),
        WorkloadError::Sql(SqlError::Invalid(m)) => (ErrorKind::Workload, None, m.clone()),
        WorkloadError::Failed(m) => (ErrorKind::Workload, None, m.clone()),
    }
}

/// A workload error in one line.
pub fn describe_error(e: &WorkloadError) -> String {
    match e {
        WorkloadError::Sql(SqlError::Database(d)) => {
            let mut s = format!("{} (SQLSTATE {})", d.message, d.sqlstate);
            if let Some(h) = &d.hint {
                s.push_str(&format!("; hint: {h}"));
            }
            s
        }
        other => classify(other).2,
    }
}

fn call_error_kind(e: &CallError) -> ErrorKind {
    match e {
        CallError::Trap(_) => ErrorKind::Trap,
        CallError::CpuLimit(_) | CallError::Timeout(_) => ErrorKind::Timeout,
    }
}

/// Progress counters of one shard, read by the progress line.
#[derive(Default)]
#[repr(align(128))]
pub struct ShardCounters {
    /// Measured successful steps.
    pub done: AtomicU64,
    /// Measured failed steps.
    pub failed: AtomicU64,
    /// Sum of measured latencies, microseconds.
    pub latency_us: AtomicU64,
}

/// The measurement window every worker of a run shares.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Steps starting before this are warmup and are not recorded.
    pub measure_from: Instant,
    /// No step starts at or after this (duration runs).
    pub deadline: Option<Instant>,
}

/// Everything a worker needs that it does not own.
#[allow(missing_docs)]
pub struct WorkerEnv<'a> {
    pub runtime: &'a PluginRuntime,
    pub pool: &'a PgPool,
    pub sql_limits: &'a SqlLimits,
    pub limits: CallLimits,
    pub init_limits: CallLimits,
    pub stop: &'a StopSignal,
    pub recorder: &'a RefCell<Recorder>,
    pub counters: &'a ShardCounters,
    pub sticky: bool,
    pub caps: &'a crate::capability::sql::Capabilities,
    pub mode: crate::config::ConnectionMode,
    pub pacing: Pacing,
    /// The run's arrivals in rate mode, set when the window opens.
    pub schedule: &'a OnceLock<Mutex<Schedule>>,
    pub max_tries: u32,
    pub intervals: &'a RefCell<Intervals>,
}

/// A fresh instance with `init` done.
pub async fn start_instance(env: &WorkerEnv<'_>, ctx: &Context) -> Result<PluginInstance, String> {
    let id = ctx.worker_id;
    let mut session = SqlSession::new(env.pool.clone(), env.sql_limits.clone());
    session.set_sticky(env.sticky);
    session.set_transient(env.mode.transient(id));
    session.set_capabilities(env.caps.clone());
    let mut inst = env
        .runtime
        .instantiate(session, Some(id))
        .await
        .map_err(|e| format!("worker {id}: instantiating the plugin: {e}"))?;
    match inst.lifecycle(Lifecycle::Init, ctx, env.init_limits).await {
        Ok(Ok(())) => Ok(inst),
        Ok(Err(e)) => Err(format!("worker {id}: init failed: {}", describe_error(&e))),
        Err(e) => Err(format!("worker {id}: init failed: {e}")),
    }
}

type StepResult = Result<
    crate::sandbox::Called<Result<crate::bindings::Outcome, Box<crate::bindings::StepError>>>,
    CallError,
>;

/// True for the failures `--max-tries` retries: serialization failures and
/// deadlocks.
fn retryable(r: &StepResult) -> bool {
    match r {
        Ok(called) => match &called.value {
            Err(e) => matches!(
                classify(&e.error).0,
                ErrorKind::Serialization | ErrorKind::Deadlock
            ),
            Ok(_) => false,
        },
        Err(_) => false,
    }
}

/// What a measured step adds to the totals and its interval.
struct Measured {
    latency: Duration,
    lag: Option<Duration>,
    retries: u32,
    late: bool,
    end: Instant,
}

/// Records one measured step; returns the call error when the instance
/// must be replaced.
fn record(env: &WorkerEnv<'_>, id: u32, m: &Measured, result: &StepResult) -> Option<CallError> {
    let mut rec = env.recorder.borrow_mut();
    if m.retries > 0 {
        rec.retried += 1;
        rec.retries += u64::from(m.retries);
    }
    let ok = matches!(result, Ok(c) if c.value.is_ok());
    // Lag is over successful transactions, as in pgbench's report and
    // aggregate log.
    if let Some(lag) = m.lag.filter(|_| ok) {
        rec.lag.record(lag);
    }
    if m.late {
        rec.late += 1;
    }
    env.intervals.borrow_mut().record(
        m.end,
        Sample {
            latency: m.latency,
            lag: m.lag,
            ok,
            retries: m.retries,
            late: m.late,
        },
    );
    match result {
        Ok(called) => {
            if let Some(wait) = called.pool_wait {
                rec.pool_wait(wait);
            }
            if let Some(c) = called.connect_time {
                rec.connect_time(c);
            }
            match &called.value {
                Ok(outcome) => {
                    rec.success(id, &outcome.operation, m.latency, outcome.rolled_back);
                    env.counters.done.fetch_add(1, Ordering::Relaxed);
                    env.counters
                        .latency_us
                        .fetch_add(m.latency.as_micros() as u64, Ordering::Relaxed);
                }
                Err(step_error) => {
                    let (kind, state, msg) = classify(&step_error.error);
                    rec.failure(
                        id,
                        Some(&step_error.operation),
                        kind,
                        state.as_deref(),
                        &msg,
                    );
                    env.counters.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            None
        }
        Err(call_error) => {
            rec.failure(
                id,
                None,
                call_error_kind(call_error),
                None,
                &call_error.to_string(),
            );
            rec.replaced(id);
            env.counters.failed.fetch_add(1, Ordering::Relaxed);
            Some(call_error.clone())
        }
    }
}

/// How a worker's run ended.
pub struct WorkerEnd {
    /// When its last measured step completed.
    pub last_done: Option<Instant>,
    /// Log lines its instances had dropped.
    pub dropped_log_lines: u64,
}

/// How a pause ended.
#[derive(PartialEq)]
enum Pause {
    /// The time had already come: no wait.
    Due,
    /// Slept until the time came.
    Waited,
    /// The run was stopped.
    Stopped,
}

/// Sleeps until `until`, or returns early if the run is stopped.
async fn pause_until(stop: &StopSignal, until: Instant) -> Pause {
    let go_on = |p| {
        if stop.stop_requested() {
            Pause::Stopped
        } else {
            p
        }
    };
    if Instant::now() >= until {
        return go_on(Pause::Due);
    }
    tokio::select! {
        _ = tokio::time::sleep_until(until.into()) => go_on(Pause::Waited),
        _ = stop.stopped() => Pause::Stopped,
    }
}

/// The closed loop's think time after a step; false if the run was
/// stopped meanwhile.
async fn think(env: &WorkerEnv<'_>) -> bool {
    match env.pacing {
        Pacing::Closed { think } if !think.is_zero() => {
            pause_until(env.stop, Instant::now() + think).await != Pause::Stopped
        }
        _ => true,
    }
}

/// The run's schedule (rate mode), locked for a moment.
fn schedule<'a>(env: &'a WorkerEnv<'_>) -> Option<std::sync::MutexGuard<'a, Schedule>> {
    env.schedule
        .get()
        .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Runs steps until the window closes, the quota is met or a stop is
/// requested.
pub async fn run(
    env: &WorkerEnv<'_>,
    ctx: &Context,
    mut inst: PluginInstance,
    slot: &Slot,
    window: Window,
    quota: Option<u64>,
) -> Result<WorkerEnd, String> {
    let id = ctx.worker_id;
    let mut measured: u64 = 0;
    let mut last_done: Option<Instant> = None;
    let mut dropped = 0;
    let mut skipped_in_a_row: u32 = 0;
    let latency_limit = match env.pacing {
        Pacing::Open { latency_limit, .. } => latency_limit,
        Pacing::Closed { .. } => None,
    };
    loop {
        if env.stop.stop_requested() || quota.is_some_and(|q| measured >= q) {
            break;
        }
        // When this step is due: the run's next arrival, or now (closed
        // loop), in which case one clock reading serves as both.
        let scheduled = schedule(env).map(|mut s| s.take());
        let mut pause = Pause::Due;
        if let Some(due) = scheduled {
            if window.deadline.is_some_and(|d| due >= d) {
                break;
            }
            pause = pause_until(env.stop, due).await;
            if pause == Pause::Stopped {
                break;
            }
        }
        let start = Instant::now();
        if let Some(d) = window.deadline
            && start >= d
        {
            // `-d` is over: arrivals still waiting are not run, so the run
            // ends on time as pgbench's does.
            if let (Some(due), Some(mut s)) = (scheduled, schedule(env)) {
                if pause == Pause::Waited {
                    // A free worker was waiting for this one (the timer
                    // woke it past the end): the schedule was kept. What
                    // is left before the end is under a timer tick.
                    s.skip_to(d);
                } else {
                    // Already due when a worker got to it: behind. It and
                    // every arrival left before the end are counted, so
                    // the backlog shows.
                    let n = u64::from(due >= window.measure_from)
                        + s.count_between(window.measure_from, d);
                    drop(s);
                    env.recorder.borrow_mut().unstarted += n;
                }
            }
            break;
        }
        let due = scheduled.unwrap_or(start);
        let is_measured = due >= window.measure_from;
        let lag = scheduled.map(|due| start.saturating_duration_since(due));
        if let (Some(limit), Some(l)) = (latency_limit, lag)
            && l > limit
        {
            // Too late to start at all: skipped, as pgbench -L does.
            if is_measured {
                measured += 1;
                env.recorder.borrow_mut().skipped += 1;
                env.intervals.borrow_mut().skipped(start);
            }
            // Skipping never waits: let the shard's other workers (their
            // steps' completions) run now and then, or a rate far beyond
            // the server's would keep this loop from ever yielding.
            skipped_in_a_row += 1;
            if skipped_in_a_row.is_multiple_of(256) {
                tokio::task::yield_now().await;
            }
            continue;
        }
        skipped_in_a_row = 0;
        let mut tries: u32 = 0;
        let result = loop {
            tries += 1;
            // A retry starts its own CPU budget now; the first try's is
            // the step's start.
            let began = if tries == 1 { start } else { Instant::now() };
            let r = match guarded(slot, start, inst.step(env.limits, began)).await {
                Ok(r) => r,
                Err(Killed::Abort) => {
                    inst.abandon();
                    return Ok(WorkerEnd {
                        last_done,
                        dropped_log_lines: dropped + inst.dropped_log_lines(),
                    });
                }
                Err(Killed::Timeout) => {
                    inst.abandon();
                    Err(CallError::Timeout(env.limits.wall))
                }
            };
            let samples = inst.statement_samples();
            if is_measured && !samples.is_empty() {
                let mut rec = env.recorder.borrow_mut();
                for sample in samples {
                    rec.statements.record(sample);
                }
            }
            // No retry once `-d` is over (pgbench stops there too).
            if tries < env.max_tries
                && retryable(&r)
                && !env.stop.stop_requested()
                && window.deadline.is_none_or(|d| Instant::now() < d)
            {
                // The failed try's counters belong to no transaction, but
                // its wait for a connection (and connecting) happened.
                let _ = inst.take_counters();
                if let (true, Ok(called)) = (is_measured, &r) {
                    let mut rec = env.recorder.borrow_mut();
                    if let Some(wait) = called.pool_wait {
                        rec.pool_wait(wait);
                    }
                    if let Some(c) = called.connect_time {
                        rec.connect_time(c);
                    }
                }
                continue;
            }
            break r;
        };
        let end = Instant::now();
        if !is_measured {
            let _ = inst.take_counters();
            if result.is_err() {
                dropped += inst.dropped_log_lines();
                inst = start_instance(env, ctx).await?;
            }
            // Warmup paces like the measured run, or the server would be
            // warmed under a different load than the one measured.
            if !think(env).await {
                break;
            }
            continue;
        }
        measured += 1;
        last_done = Some(end);
        // In rate mode latency runs from the scheduled start.
        let from = if scheduled.is_some() { due } else { start };
        let latency = end.saturating_duration_since(from);
        // Counters count only for steps that succeed and are measured.
        let counted = inst.take_counters();
        if matches!(&result, Ok(c) if c.value.is_ok()) && !counted.is_empty() {
            let mut rec = env.recorder.borrow_mut();
            for (name, delta) in &counted {
                rec.count(name, *delta);
            }
        }
        // Like pgbench -L, only transactions that succeed count as late.
        let ok = matches!(&result, Ok(c) if c.value.is_ok());
        let m = Measured {
            latency,
            lag,
            retries: tries - 1,
            late: ok && latency_limit.is_some_and(|l| latency > l),
            end,
        };
        if let Some(call_error) = record(env, id, &m, &result) {
            tracing::warn!("worker {id}: {call_error}; replacing its instance");
            dropped += inst.dropped_log_lines();
            inst = start_instance(env, ctx).await?;
        }
        if !think(env).await {
            break;
        }
    }
    Ok(WorkerEnd {
        last_done,
        dropped_log_lines: dropped + inst.dropped_log_lines(),
    })
}
