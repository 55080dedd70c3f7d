//! The measured phase: every shard starts its workers' instances, the main
//! thread opens the measurement window for all of them at once, prints
//! progress and merges completed intervals while the shards run, then
//! collects each shard's recorder.

use super::RunSpec;
use super::guard;
use super::pacing::{Pacing, Schedule};
use super::seed::SeedPhase;
use super::shards::{self, POOL_WAIT_TIMEOUT, ids_for, share};
use super::stop::StopSignal;
use super::worker::{self, ShardCounters, Window, WorkerEnv};
use crate::config::StopAfter;
use crate::metrics::Recorder;
use crate::metrics::intervals::{Collector, IntervalStats, Intervals, ShardMsg};
use crate::pg::pool::PgPool;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use std::cell::RefCell;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::watch;

/// What the measured phase produced.
pub(super) struct PhaseOutput {
    /// Everything measured, merged across shards.
    pub recorder: Recorder,
    /// From the opening of the window to the last measured completion.
    pub elapsed: Duration,
    /// Plugin log lines dropped by the rate limit.
    pub dropped_log_lines: u64,
    /// Why the run failed part-way, if it did; what was measured until
    /// then is still above.
    pub failure: Option<String>,
}

struct ShardOutput {
    recorder: Recorder,
    last_done: Option<Instant>,
    dropped_log_lines: u64,
    /// A worker that ended in error (its instance could not be replaced).
    error: Option<String>,
}

/// The start signal the main thread gives the shards.
#[derive(Debug, Clone, Copy)]
enum Go {
    Wait,
    Start(Window),
    Cancel,
}

/// Runs the workers of `spec` until it says to stop.
pub(super) fn run_workers(
    spec: &RunSpec,
    stop: &StopSignal,
    window_open: &mut dyn FnMut(),
    on_interval: &mut dyn FnMut(u64, SystemTime, &IntervalStats),
) -> Result<PhaseOutput, String> {
    let shards = spec.shards();
    let counters: Vec<ShardCounters> = (0..shards).map(|_| ShardCounters::default()).collect();
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let (iv_tx, iv_rx) = mpsc::channel::<ShardMsg>();
    let (go_tx, go_rx) = watch::channel(Go::Wait);
    let schedule = OnceLock::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..shards)
            .map(|shard| {
                let ready_tx = ready_tx.clone();
                let go_rx = go_rx.clone();
                let iv_tx = iv_tx.clone();
                let counters = &counters[shard as usize];
                let schedule = &schedule;
                std::thread::Builder::new()
                    .name(format!("stormdb-shard-{shard}"))
                    .spawn_scoped(scope, move || {
                        let links = ShardLinks {
                            ready: ready_tx,
                            go: go_rx,
                            intervals: iv_tx,
                            schedule,
                        };
                        run_shard(spec, stop, shard, shards, counters, links)
                    })
                    .map_err(|e| format!("starting a runtime thread: {e}"))
            })
            .collect::<Result<_, _>>()?;
        drop(ready_tx);
        drop(iv_tx);

        // Every shard initialises its instances first, so the window opens
        // for all workers at once and no instance start-up is measured.
        let mut ready = 0;
        let mut failure = None;
        while ready < shards {
            match ready_rx.recv() {
                Ok(Ok(())) => ready += 1,
                Ok(Err(e)) => {
                    failure = Some(e);
                    break;
                }
                Err(_) => {
                    failure = Some("a runtime thread ended during start-up".into());
                    break;
                }
            }
        }
        let window = if failure.is_none() && !stop.stop_requested() {
            if spec.warmup.is_zero() {
                // Before the clock starts, so what the hook takes is not
                // part of the measured time.
                window_open();
            }
            let start = Instant::now();
            let measure_from = start + spec.warmup;
            let deadline = match spec.stop_after {
                StopAfter::Duration(d) => Some(measure_from + d),
                StopAfter::Transactions(_) => None,
            };
            let w = Window {
                measure_from,
                deadline,
            };
            if let Pacing::Open { rate, poisson, .. } = spec.pacing {
                let seed = super::seed::derive(spec.seed, SeedPhase::Schedule, 0);
                let _ = schedule.set(Mutex::new(Schedule::new(rate, poisson, start, seed)));
            }
            let _ = go_tx.send(Go::Start(w));
            Some(w)
        } else {
            let _ = go_tx.send(Go::Cancel);
            None
        };

        let mut collector = Collector::new(shards as usize);
        // Wall-clock start of the measured window, for logs that name
        // intervals by their Unix time.
        let wall_origin = window.map(|w| {
            let now = Instant::now();
            let sys = SystemTime::now();
            if w.measure_from >= now {
                sys + (w.measure_from - now)
            } else {
                sys - (now - w.measure_from)
            }
        });
        let width = spec.interval;
        // Intervals in which nothing completed (a stall, a held lock) are
        // still rows: a time series with holes would hide exactly the
        // moments a reader is looking for.
        let next_index = std::cell::Cell::new(0u64);
        let empty = IntervalStats::default();
        let mut emit = |i: u64, st: &IntervalStats| {
            if let Some(origin) = wall_origin {
                let at_index = |k: u64| origin + width * u32::try_from(k).unwrap_or(u32::MAX);
                while next_index.get() < i {
                    on_interval(next_index.get(), at_index(next_index.get()), &empty);
                    next_index.set(next_index.get() + 1);
                }
                on_interval(i, at_index(i), st);
                next_index.set(next_index.get().max(i + 1));
            }
        };
        if let Some(w) = window {
            let mut open = (!spec.warmup.is_zero()).then_some(window_open);
            progress_loop(
                spec,
                &handles,
                &counters,
                w,
                &iv_rx,
                &mut collector,
                &mut emit,
                &mut open,
            );
        }

        let mut merged = Recorder::new();
        let mut last: Option<Instant> = None;
        let mut dropped = 0;
        for h in handles {
            match h.join() {
                Ok(Ok(out)) => {
                    merged.merge(&out.recorder);
                    last = last.max(out.last_done);
                    dropped += out.dropped_log_lines;
                    if let Some(e) = out.error {
                        failure.get_or_insert(e);
                    }
                }
                Ok(Err(e)) => {
                    failure.get_or_insert(e);
                }
                Err(_) => {
                    failure.get_or_insert("a runtime thread panicked".into());
                }
            }
        }
        let joined_at = Instant::now();
        // The shards are done: their last intervals are all in the channel.
        while let Ok(msg) = iv_rx.try_recv() {
            for (i, st) in collector.add(msg) {
                emit(i, &st);
            }
        }
        for (i, st) in collector.finish() {
            emit(i, &st);
        }
        let Some(w) = window else {
            // Nothing was measured: the shards failed to start, or the run
            // was stopped before it began.
            return match failure {
                Some(e) => Err(e),
                None => Ok(PhaseOutput {
                    recorder: merged,
                    elapsed: Duration::ZERO,
                    dropped_log_lines: dropped,
                    failure: None,
                }),
            };
        };
        let end = window_end(w, last, stop.stopped_at(), joined_at);
        let elapsed = end.map_or(Duration::ZERO, |e| {
            e.saturating_duration_since(w.measure_from)
        });
        // Intervals after the last completion (idle workers, a schedule
        // gap) are still part of the window: rows without holes to its end.
        if !elapsed.is_zero() {
            let last_index =
                u64::try_from(elapsed.as_nanos().saturating_sub(1) / width.as_nanos().max(1))
                    .unwrap_or(u64::MAX);
            if last_index >= next_index.get() {
                emit(last_index, &empty);
            }
        }
        Ok(PhaseOutput {
            recorder: merged,
            elapsed,
            dropped_log_lines: dropped,
            failure,
        })
    })
}

/// Where the measured window ends: at the last completion, but a duration
/// run lasts at least until its deadline (or until it was stopped, or its
/// workers ended, if earlier), so time the workers spent idle at the end
/// (thinking, or waiting for a scheduled start) divides the throughput too.
fn window_end(
    w: Window,
    last_done: Option<Instant>,
    stopped_at: Option<Instant>,
    workers_ended: Instant,
) -> Option<Instant> {
    let floor = w.deadline.map(|d| {
        let cut = stopped_at.map_or(workers_ended, |s| s.min(workers_ended));
        d.min(cut).max(w.measure_from)
    });
    match (last_done, floor) {
        (Some(l), Some(f)) => Some(l.max(f)),
        (l, f) => l.or(f),
    }
}

/// Prints `progress: ...` lines, pgbench-style, until every shard is done;
/// calls `window_open` (once) when warmup ends.
#[allow(clippy::too_many_arguments)]
fn progress_loop<T>(
    spec: &RunSpec,
    handles: &[std::thread::ScopedJoinHandle<'_, T>],
    counters: &[ShardCounters],
    window: Window,
    intervals: &mpsc::Receiver<ShardMsg>,
    collector: &mut Collector,
    emit: &mut dyn FnMut(u64, &IntervalStats),
    window_open: &mut Option<&mut dyn FnMut()>,
) {
    let mut next = spec.progress.map(|p| window.measure_from + p);
    let (mut prev_done, mut prev_lat) = (0u64, 0u64);
    let mut prev_at = window.measure_from;
    while !handles.iter().all(|h| h.is_finished()) {
        if window_open.is_some()
            && Instant::now() >= window.measure_from
            && let Some(open) = window_open.take()
        {
            open();
        }
        // Wake at the end of warmup, not up to a tick after it.
        let mut wait = Duration::from_millis(20);
        if window_open.is_some() {
            wait = wait.min(
                window
                    .measure_from
                    .saturating_duration_since(Instant::now()),
            );
        }
        // Completed intervals leave the shards as they close, so they are
        // merged and written out while the run goes on.
        if let Ok(msg) = intervals.recv_timeout(wait) {
            for (i, st) in collector.add(msg) {
                emit(i, &st);
            }
        }
        let Some(due) = next else { continue };
        let now = Instant::now();
        if now < due {
            continue;
        }
        let done: u64 = counters
            .iter()
            .map(|c| c.done.load(Ordering::Relaxed))
            .sum();
        let failed: u64 = counters
            .iter()
            .map(|c| c.failed.load(Ordering::Relaxed))
            .sum();
        let lat: u64 = counters
            .iter()
            .map(|c| c.latency_us.load(Ordering::Relaxed))
            .sum();
        let secs = now.duration_since(prev_at).as_secs_f64();
        let n = done - prev_done;
        let mean_ms = if n > 0 {
            (lat - prev_lat) as f64 / n as f64 / 1000.0
        } else {
            0.0
        };
        eprintln!(
            "progress: {:.1} s, {:.1} tps, lat {mean_ms:.3} ms, {failed} failed",
            now.saturating_duration_since(window.measure_from)
                .as_secs_f64(),
            if secs > 0.0 { n as f64 / secs } else { 0.0 },
        );
        (prev_done, prev_lat, prev_at) = (done, lat, now);
        next = spec.progress.map(|p| due + p);
    }
}

/// A shard's channels to the main thread, and what it shares with the
/// other shards.
struct ShardLinks<'a> {
    /// Its instances are up (or could not start).
    ready: mpsc::Sender<Result<(), String>>,
    /// When to start measuring, or to give up.
    go: watch::Receiver<Go>,
    /// Completed intervals.
    intervals: mpsc::Sender<ShardMsg>,
    /// The run's arrivals (rate mode), set before the start signal.
    schedule: &'a OnceLock<Mutex<Schedule>>,
}

fn run_shard(
    spec: &RunSpec,
    stop: &StopSignal,
    shard: u32,
    shards: u32,
    counters: &ShardCounters,
    links: ShardLinks<'_>,
) -> Result<ShardOutput, String> {
    let ShardLinks {
        ready,
        mut go,
        intervals: intervals_out,
        schedule,
    } = links;
    let fail = |e: String| {
        let _ = ready.send(Err(e.clone()));
        e
    };
    let rt = shards::runtime().map_err(|e| fail(format!("starting a runtime: {e}")))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        if shard == 0 {
            tokio::task::spawn_local(spec.runtime.clock().clone().run_ticker());
        }
        let pool = PgPool::new(
            spec.db.clone(),
            share(spec.connections, shards, shard) as usize,
            POOL_WAIT_TIMEOUT,
        )
        .map_err(fail)?;
        // Connect now so connecting is not measured, unless every worker
        // here connects per step on purpose (transient mode).
        let any_pooled = ids_for(spec.workers, shards, shard)
            .iter()
            .any(|w| !spec.connection_mode.transient(*w));
        if any_pooled {
            pool.warm_up().await.map_err(|e| {
                fail(format!(
                    "connecting to the database: {}",
                    crate::pg::sql_error_text(&e)
                ))
            })?;
        }
        let recorder = RefCell::new(Recorder::new());
        let intervals =
            std::rc::Rc::new(RefCell::new(Intervals::new(Instant::now(), spec.interval)));
        // With a connection per worker, each keeps its own and skips the pool.
        let my_workers = share(spec.workers, shards, shard);
        let sticky = my_workers <= share(spec.connections, shards, shard);
        let env = WorkerEnv {
            runtime: &spec.runtime,
            pool: &pool,
            sql_limits: &spec.sql_limits,
            limits: spec.step_limits,
            init_limits: spec.setup_limits,
            stop,
            recorder: &recorder,
            counters,
            sticky,
            caps: &spec.caps,
            mode: spec.connection_mode,
            pacing: spec.pacing,
            schedule,
            max_tries: spec.max_tries.max(1),
            intervals: &intervals,
        };
        let mut workers = Vec::new();
        for id in ids_for(spec.workers, shards, shard) {
            let ctx = spec.context(id, spec.workers, SeedPhase::Run);
            recorder
                .borrow_mut()
                .register_worker(id, spec.connection_mode.transient(id));
            let inst = worker::start_instance(&env, &ctx).await.map_err(fail)?;
            workers.push((ctx, inst));
        }
        let _ = ready.send(Ok(()));
        let window = match *go
            .wait_for(|g| !matches!(g, Go::Wait))
            .await
            .map_err(|e| e.to_string())?
        {
            Go::Start(w) => w,
            _ => {
                return Ok(ShardOutput {
                    recorder: Recorder::new(),
                    last_done: None,
                    dropped_log_lines: 0,
                    error: None,
                });
            }
        };
        intervals.borrow_mut().reset(window.measure_from);
        let guards = guard::Guards::default();
        let finished = std::rc::Rc::new(std::cell::Cell::new(false));
        {
            let finished = finished.clone();
            let stop = stop.clone();
            tokio::task::spawn_local(guards.clone().sentinel(
                spec.step_limits.wall,
                move || stop.abort_requested(),
                move || finished.get(),
            ));
        }
        {
            // Hands completed intervals to the main thread as they close.
            let finished = finished.clone();
            let intervals = intervals.clone();
            let out = intervals_out.clone();
            let width = spec.interval;
            tokio::task::spawn_local(async move {
                let mut tick =
                    tokio::time::interval_at((window.measure_from + width).into(), width);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                while !finished.get() {
                    tick.tick().await;
                    let (done, watermark) = intervals.borrow_mut().take_complete(Instant::now());
                    let _ = out.send(ShardMsg::Intervals {
                        shard: shard as usize,
                        done,
                        watermark,
                    });
                }
            });
        }
        let runs = workers.into_iter().map(|(ctx, inst)| {
            let env = &env;
            let slot = guards.slot();
            async move {
                let quota = spec.quota(ctx.worker_id);
                worker::run(env, &ctx, inst, &slot, window, quota).await
            }
        });
        // FuturesUnordered polls only the workers that were woken; join_all
        // polls all of them on every wake below 30 futures, and each poll
        // of a waiting step resumes its wasm fiber.
        let mut running: FuturesUnordered<_> = runs.collect();
        let mut last_done = None;
        let mut dropped = 0;
        let mut first_error = None;
        while let Some(end) = running.next().await {
            match end {
                Ok(end) => {
                    last_done = last_done.max(end.last_done);
                    dropped += end.dropped_log_lines;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        finished.set(true);
        drop(running);
        let rest = intervals.borrow_mut().take_all();
        let _ = intervals_out.send(ShardMsg::Finished {
            shard: shard as usize,
            rest,
        });
        // A worker's error fails the run, but what every worker measured
        // until then is kept for the report.
        Ok(ShardOutput {
            recorder: recorder.take(),
            last_done,
            dropped_log_lines: dropped,
            error: first_error,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_ends_at_the_deadline_unless_cut_short() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_millis(n);
        let duration = Window {
            measure_from: s(1000),
            deadline: Some(s(11_000)),
        };
        // Idle at the end (think time): the deadline, not the last step.
        assert_eq!(
            window_end(duration, Some(s(9100)), None, s(11_400)),
            Some(s(11_000))
        );
        // A step running past the deadline ends the window.
        assert_eq!(
            window_end(duration, Some(s(11_200)), None, s(11_200)),
            Some(s(11_200))
        );
        // Stopped (Ctrl-C) at 5 s: the window ends there.
        assert_eq!(
            window_end(duration, Some(s(4900)), Some(s(5000)), s(5010)),
            Some(s(5000))
        );
        // The workers all ended early (failed): no later than that.
        assert_eq!(
            window_end(duration, Some(s(2000)), None, s(3000)),
            Some(s(3000))
        );
        // Stopped during warmup with nothing measured: an empty window.
        assert_eq!(
            window_end(duration, None, Some(s(500)), s(600)),
            Some(s(1000))
        );
        // A transaction count ends at the last step.
        let count = Window {
            deadline: None,
            ..duration
        };
        assert_eq!(
            window_end(count, Some(s(7000)), None, s(7100)),
            Some(s(7000))
        );
        assert_eq!(window_end(count, None, None, s(7100)), None);
    }
}
