//! One worker: an instance calling `step` in a closed loop, measured from
//! the host, replaced when it traps.

use super::guard::{Killed, Slot, guarded};
use super::stop::StopSignal;
use crate::bindings::{Context, SqlError, WorkloadError};
use crate::capability::sql::{SqlLimits, SqlSession};
use crate::metrics::{ErrorKind, Recorder};
use crate::pg::pool::PgPool;
use crate::sandbox::{CallError, CallLimits, Lifecycle, PluginInstance, PluginRuntime};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

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

/// Records one measured step; returns the call error when the instance
/// must be replaced.
fn record(
    env: &WorkerEnv<'_>,
    id: u32,
    latency: std::time::Duration,
    result: Result<
        crate::sandbox::Called<Result<crate::bindings::Outcome, crate::bindings::StepError>>,
        CallError,
    >,
) -> Option<CallError> {
    let mut rec = env.recorder.borrow_mut();
    match result {
        Ok(called) => {
            if let Some(wait) = called.pool_wait {
                rec.pool_wait(wait);
            }
            if let Some(c) = called.connect_time {
                rec.connect_time(c);
            }
            match called.value {
                Ok(outcome) => {
                    rec.success(id, &outcome.operation, latency, outcome.rolled_back);
                    env.counters.done.fetch_add(1, Ordering::Relaxed);
                    env.counters
                        .latency_us
                        .fetch_add(latency.as_micros() as u64, Ordering::Relaxed);
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
                call_error_kind(&call_error),
                None,
                &call_error.to_string(),
            );
            rec.replaced(id);
            env.counters.failed.fetch_add(1, Ordering::Relaxed);
            Some(call_error)
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
    loop {
        if env.stop.stop_requested() || quota.is_some_and(|q| measured >= q) {
            break;
        }
        let start = Instant::now();
        if window.deadline.is_some_and(|d| start >= d) {
            break;
        }
        let result = match guarded(slot, start, inst.step(env.limits)).await {
            Ok(r) => r,
            Err(Killed::Abort) => {
                inst.abandon();
                break;
            }
            Err(Killed::Timeout) => {
                inst.abandon();
                Err(CallError::Timeout(env.limits.wall))
            }
        };
        let end = Instant::now();
        if start < window.measure_from {
            if result.is_err() {
                dropped += inst.dropped_log_lines();
                inst = start_instance(env, ctx).await?;
            }
            continue;
        }
        measured += 1;
        last_done = Some(end);
        let latency = end - start;
        // Counters count only for steps that succeed and are measured.
        let counted = inst.take_counters();
        if matches!(&result, Ok(c) if c.value.is_ok()) && !counted.is_empty() {
            let mut rec = env.recorder.borrow_mut();
            for (name, delta) in &counted {
                rec.count(name, *delta);
            }
        }
        let failed_call = record(env, id, latency, result);
        if let Some(call_error) = failed_call {
            tracing::warn!("worker {id}: {call_error}; replacing its instance");
            dropped += inst.dropped_log_lines();
            inst = start_instance(env, ctx).await?;
        }
    }
    Ok(WorkerEnd {
        last_done,
        dropped_log_lines: dropped + inst.dropped_log_lines(),
    })
}
