//! Setup and cleanup: `setup-schema` once, `load` on parallel loader
//! instances spread over the shards, `finish-setup` once.

use super::RunSpec;
use super::seed::SeedPhase;
use super::shards::{self, POOL_WAIT_TIMEOUT, ids_for, share};
use super::stop::StopSignal;
use super::worker::describe_error;
use crate::bindings::WorkloadError;
use crate::capability::sql::SqlSession;
use crate::config::SetupMode;
use crate::pg::pool::PgPool;
use crate::sandbox::{CallError, Lifecycle, PluginInstance};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What setup did.
#[derive(Debug, Clone)]
pub struct SetupReport {
    /// True when tables were created and loaded; false when they were
    /// already loaded at this scale.
    pub performed: bool,
    /// Wall-clock time of the whole setup.
    pub elapsed: Duration,
    /// Loader instances used.
    pub loaders: u32,
    /// Rows the loaders wrote (`copy-in` rows and `execute` row counts).
    pub rows: u64,
}

fn call_failed(
    plugin: &str,
    call: &str,
    r: Result<Result<(), WorkloadError>, CallError>,
) -> Result<(), String> {
    match r {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(format!(
            "plugin '{plugin}': {call} failed: {}",
            describe_error(&e)
        )),
        Err(e) => Err(format!("plugin '{plugin}': {call} failed: {e}")),
    }
}

async fn single_instance(spec: &RunSpec) -> Result<PluginInstance, String> {
    let pool = PgPool::new(spec.setup_db.clone(), 1, POOL_WAIT_TIMEOUT)?;
    let mut session = SqlSession::new(pool, spec.sql_limits.clone());
    session.set_capabilities(spec.caps.clone());
    spec.runtime
        .instantiate(session, None)
        .await
        .map_err(|e| format!("plugin '{}': instantiating: {e}", spec.runtime.name()))
}

/// Creates and loads the workload's tables (unless already loaded and not
/// rebuilding).
pub fn run(spec: &RunSpec, stop: &StopSignal) -> Result<SetupReport, String> {
    let started = Instant::now();
    let name = spec.runtime.name();
    let ctx = spec.context(0, 1, SeedPhase::Load);
    let rt = shards::runtime().map_err(|e| format!("starting a runtime: {e}"))?;
    let needed = rt.block_on(async {
        let mut inst = single_instance(spec).await?;
        if spec.setup == SetupMode::Rebuild {
            let r = inst
                .lifecycle(Lifecycle::Cleanup, &ctx, spec.setup_limits)
                .await;
            call_failed(name, "cleanup", r)?;
        } else {
            match inst.is_loaded(&ctx, spec.setup_limits).await {
                Ok(Ok(true)) => return Ok(false),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    return Err(format!(
                        "plugin '{name}': is-loaded failed: {}",
                        describe_error(&e)
                    ));
                }
                Err(e) => return Err(format!("plugin '{name}': is-loaded failed: {e}")),
            }
        }
        tracing::info!("setting up {name} at scale {}", spec.scale);
        let r = inst
            .lifecycle(Lifecycle::SetupSchema, &ctx, spec.setup_limits)
            .await;
        call_failed(name, "setup-schema", r)?;
        Ok::<_, String>(true)
    })?;
    if !needed {
        tracing::info!(
            "{name} is already loaded at scale {}; skipping setup",
            spec.scale
        );
        return Ok(SetupReport {
            performed: false,
            elapsed: started.elapsed(),
            loaders: 0,
            rows: 0,
        });
    }
    let rows = load_in_parallel(spec, stop)?;
    rt.block_on(async {
        let mut inst = single_instance(spec).await?;
        let r = inst
            .lifecycle(Lifecycle::FinishSetup, &ctx, spec.setup_limits)
            .await;
        call_failed(name, "finish-setup", r)
    })?;
    let elapsed = started.elapsed();
    tracing::info!(
        "setup of {name} took {:.1} s ({rows} rows loaded)",
        elapsed.as_secs_f64()
    );
    Ok(SetupReport {
        performed: true,
        elapsed,
        loaders: spec.loaders,
        rows,
    })
}

/// How often loading progress is logged unless `--progress` says
/// otherwise: a load of a few seconds prints nothing.
const LOAD_PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Shows how far loading has got until `done` is dropped: a progress bar
/// on a terminal, else a log line every `every`.
fn watch_loading(
    name: &str,
    loaders: u32,
    rows: &AtomicU64,
    finished: &AtomicU32,
    every: Duration,
    done: &std::sync::mpsc::Receiver<()>,
) {
    use std::io::IsTerminal as _;
    let bar =
        (std::io::stderr().is_terminal() && tracing::enabled!(tracing::Level::INFO)).then(|| {
            let style = indicatif::ProgressStyle::with_template(
                "loading {prefix} [{bar:20}] {pos}/{len} loaders, {msg}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            let bar = indicatif::ProgressBar::new(u64::from(loaders)).with_style(style);
            bar.set_prefix(name.to_string());
            bar
        });
    let tick = if bar.is_some() {
        Duration::from_millis(250)
    } else {
        every
    };
    let started = Instant::now();
    let (mut last_rows, mut last_at) = (0u64, started);
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = done.recv_timeout(tick) {
        let (now, n) = (Instant::now(), rows.load(Ordering::Relaxed));
        let loaded = finished.load(Ordering::Relaxed);
        match &bar {
            Some(bar) => {
                let rate = n as f64 / (now - started).as_secs_f64().max(1e-3);
                bar.set_position(u64::from(loaded));
                bar.set_message(format!("{n} rows, {rate:.0}/s"));
            }
            None => {
                let rate = (n - last_rows.min(n)) as f64 / (now - last_at).as_secs_f64().max(1e-3);
                tracing::info!(
                    "loading {name}: {n} rows in {:.0} s ({rate:.0} rows/s), {loaded}/{loaders} loaders done",
                    (now - started).as_secs_f64()
                );
            }
        }
        (last_rows, last_at) = (n, now);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}

/// Runs `load` on every loader instance; the rows they wrote.
fn load_in_parallel(spec: &RunSpec, stop: &StopSignal) -> Result<u64, String> {
    let loaders = spec.loaders;
    let shards = spec.threads.min(loaders).max(1);
    let name = spec.runtime.name();
    let rows = Arc::new(AtomicU64::new(0));
    let finished = AtomicU32::new(0);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let result = std::thread::scope(|scope| {
        let (rows_seen, finished) = (&*rows, &finished);
        scope.spawn(move || {
            let every = spec.progress.unwrap_or(LOAD_PROGRESS_EVERY);
            watch_loading(name, loaders, rows_seen, finished, every, &done_rx);
        });
        let done_tx = done_tx;
        let rows = &rows;
        let handles: Vec<_> = (0..shards)
            .map(|shard| {
                std::thread::Builder::new()
                    .name(format!("stormdb-loader-{shard}"))
                    .spawn_scoped(scope, move || -> Result<(), String> {
                        let rt = shards::runtime().map_err(|e| format!("starting a runtime: {e}"))?;
                        let local = tokio::task::LocalSet::new();
                        local.block_on(&rt, async {
                            if shard == 0 {
                                tokio::task::spawn_local(spec.runtime.clock().clone().run_ticker());
                            }
                            let size = share(loaders, shards, shard) as usize;
                            let pool = PgPool::new(spec.setup_db.clone(), size, POOL_WAIT_TIMEOUT)?;
                            let loads = ids_for(loaders, shards, shard).into_iter().map(|id| {
                                let pool = pool.clone();
                                let rows = rows.clone();
                                async move {
                                    let ctx = spec.context(id, loaders, SeedPhase::Load);
                                    let mut session = SqlSession::new(pool, spec.sql_limits.clone());
                                    session.set_capabilities(spec.caps.clone());
                                    session.count_rows_into(rows);
                                    let mut inst = spec
                                        .runtime
                                        .instantiate(session, None)
                                        .await
                                        .map_err(|e| format!("plugin '{name}': loader {id}: {e}"))?;
                                    let r = inst.lifecycle(Lifecycle::Load, &ctx, spec.setup_limits).await;
                                    finished.fetch_add(1, Ordering::Relaxed);
                                    call_failed(name, &format!("load (loader {id})"), r)
                                }
                            });
                            let all = futures_util::future::join_all(loads);
                            tokio::select! {
                                results = all => results.into_iter().collect::<Result<Vec<_>, _>>().map(|_| ()),
                                _ = stop.stopped() => Err("setup interrupted".to_string()),
                            }
                        })
                    })
                    .map_err(|e| format!("starting a loader thread: {e}"))
            })
            .collect::<Result<_, _>>()?;
        let mut first_error = None;
        for h in handles {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    first_error.get_or_insert("a loader thread panicked".to_string());
                }
            }
        }
        drop(done_tx);
        first_error.map_or(Ok(()), Err)
    });
    result.map(|()| rows.load(Ordering::Relaxed))
}

/// Calls `summarize` on a fresh instance with what the run measured.
pub fn summarize(
    spec: &RunSpec,
    recorder: &crate::metrics::Recorder,
    elapsed: Duration,
) -> Result<Vec<crate::bindings::Figure>, String> {
    use crate::bindings::{OperationSummary, RunSummary};
    let run = RunSummary {
        elapsed_s: elapsed.as_secs_f64(),
        operations: recorder
            .ops()
            .map(|(name, s)| OperationSummary {
                name: name.to_string(),
                count: s.count,
                errors: s.errors,
                rolled_back: s.rolled_back,
            })
            .collect(),
        counters: recorder
            .counters
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect(),
    };
    // The context of worker 0 of the run, so summarize knows the worker count.
    let ctx = spec.context(0, spec.workers, SeedPhase::Run);
    let name = spec.runtime.name();
    let rt = shards::runtime().map_err(|e| format!("starting a runtime: {e}"))?;
    rt.block_on(async {
        let mut inst = single_instance(spec).await?;
        match inst.summarize(&ctx, &run, spec.setup_limits).await {
            Ok(Ok(figures)) => Ok(figures),
            Ok(Err(e)) => Err(format!(
                "plugin '{name}': summarize failed: {}",
                describe_error(&e)
            )),
            Err(e) => Err(format!("plugin '{name}': summarize failed: {e}")),
        }
    })
}

/// Drops the workload's tables (`--cleanup`).
pub fn cleanup(spec: &RunSpec) -> Result<(), String> {
    let ctx = spec.context(0, 1, SeedPhase::Load);
    let rt = shards::runtime().map_err(|e| format!("starting a runtime: {e}"))?;
    rt.block_on(async {
        let mut inst = single_instance(spec).await?;
        let r = inst
            .lifecycle(Lifecycle::Cleanup, &ctx, spec.setup_limits)
            .await;
        call_failed(spec.runtime.name(), "cleanup", r)
    })
}
