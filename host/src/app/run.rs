//! `stormdb run`: config → plugins (resolve, verify) → sandbox → database →
//! runner → report. One workload, or a mix of several run at once in this
//! process (the config file's `workloads:`), each as its own tenant.

use super::assemble;
use super::prepare::{self, Prepared, Selection, Shared};
use super::sink::IntervalSink;
use super::{EXIT_INTERRUPTED, cores};
use crate::cli::RunArgs;
use crate::config::{Database, PluginSettings, RunConfig, SetupMode, TrustFlags};
use crate::pg::launcher::{LaunchOptions, LocalServer};
use crate::report::{self, DatabaseSection, MixReport, Report};
use crate::runner::{self, RunResult, RunStatus, StopSignal};
use crate::sandbox::{ArtifactCache, InstanceLimits, Sandbox};
use anyhow::{anyhow, bail};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// The server's version, which also proves it is reachable.
fn server_version(db: &tokio_postgres::Config) -> anyhow::Result<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let (client, conn) =
            tokio::time::timeout(Duration::from_secs(30), db.connect(tokio_postgres::NoTls))
                .await
                .map_err(|_| anyhow!("timed out after 30 s"))?
                .map_err(|e| anyhow!(crate::pg::sql_error_text(&crate::pg::connect_error(&e))))?;
        let task = tokio::spawn(conn);
        let row = client.query_one("SHOW server_version", &[]).await?;
        let version: String = row.get(0);
        drop(client);
        let _ = task.await;
        Ok(version)
    })
}

fn env_map() -> BTreeMap<String, String> {
    std::env::vars().collect()
}

/// The workloads of the run: the mix's entries, or the one the flags name.
fn selections(cfg: &RunConfig, tenant: Option<String>) -> anyhow::Result<Vec<Selection>> {
    if cfg.mix.is_empty() {
        return Ok(vec![prepare::single(cfg, tenant)]);
    }
    if tenant.is_some() {
        bail!("--tenant names one tenant; in a mix each entry of `workloads:` names its own");
    }
    let single_outputs = [
        (cfg.csv_out.is_some(), "--csv-out"),
        (cfg.html_out.is_some(), "--html-out"),
        (cfg.aggregate_log.is_some(), "--aggregate-log"),
        (cfg.hdr_log.is_some(), "--hdr-log"),
        (cfg.metrics_addr.is_some(), "--metrics-addr"),
    ];
    if let Some((_, flag)) = single_outputs.iter().find(|(on, _)| *on) {
        bail!(
            "{flag} writes one workload's numbers; a mix (`workloads:` in the config) writes \
             each workload's report, time series included, into the JSON report (--json-out)"
        );
    }
    Ok(cfg.mix.clone())
}

/// `stormdb run`. Returns the process exit code.
pub fn run(args: &RunArgs) -> anyhow::Result<i32> {
    let (file, config_dir) = super::read_config(args.config.as_deref())?;
    let settings = PluginSettings::resolve(
        file.as_ref(),
        &config_dir,
        &TrustFlags {
            trust: args.trust.clone(),
            locked: args.locked,
            allow_downgrade: args.allow_downgrade,
            tenant: args.tenant.clone(),
            allow_unsigned: args.allow_unsigned,
        },
    );
    let grants = file
        .as_ref()
        .and_then(|f| f.grants.clone())
        .unwrap_or_default();
    let mut cfg = RunConfig::resolve(args, file, &env_map(), cores())?;
    let selections = selections(&cfg, args.tenant.clone())?;
    let sandbox = Sandbox::new(
        InstanceLimits {
            memory_bytes: cfg.memory_bytes,
            strict_wasi: cfg.strict_wasi,
            ..InstanceLimits::default()
        },
        ArtifactCache::open(None),
    )?;

    // Plugins are resolved, verified and compiled before any database is
    // started or reached: a bad plugin costs nothing else.
    let loaded = selections
        .iter()
        .map(|sel| prepare::load_plugins(&settings, &grants, &sandbox, sel))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let stop = StopSignal::new();
    stop.listen_for_signals()?;
    // The throwaway server lives on this (the main) thread: its parent-death
    // signal is tied to the thread that started it.
    let mut local_server = None;
    let (db, target, embedded) = match &cfg.database {
        Database::Server(c, _) => ((**c).clone(), crate::pg::describe_target(c), false),
        Database::Embedded => {
            let connections: u32 = selections.iter().map(|s| s.connections).sum();
            let max_connections = 100 + connections.max(cfg.loaders) * 2;
            let server = LocalServer::start(&LaunchOptions { max_connections })?;
            let c = server.config();
            let target = crate::pg::describe_target(&c);
            local_server = Some(server);
            (c, target, true)
        }
    };
    if embedded && cfg.setup == SetupMode::None {
        // A fresh server has no tables: loading them is the only way to run.
        cfg.setup = SetupMode::IfNeeded;
    }
    let version =
        server_version(&db).map_err(|e| anyhow!("cannot reach the database at {target}: {e:#}"))?;
    let database = DatabaseSection {
        target,
        embedded,
        server_version: Some(version),
    };
    let seed = cfg.seed.unwrap_or_else(runner::seed::random_seed);
    let shared = Shared {
        cfg: &cfg,
        db: &db,
        tenants: Default::default(),
    };
    // Each workload of a mix gets its own seed, derived from the run's, so
    // two entries running the same plugin do not repeat each other.
    let prepared = selections
        .iter()
        .zip(loaded)
        .enumerate()
        .map(|(i, (sel, loaded))| {
            prepare::prepare(&shared, sel, loaded, seed.wrapping_add(i as u64))
        })
        .collect::<anyhow::Result<Vec<Prepared>>>()?;
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    for p in &prepared {
        prepare::set_up_dependencies(p, &stop)?;
    }

    let outcome = if prepared.len() == 1 {
        run_one(&prepared[0], &cfg, &db, &stop, &started_at, &database)?
    } else {
        run_mix(&prepared, &cfg, &db, &stop, &started_at, &database)
    };
    // Tenants' run roles are dropped while the server is still up.
    drop(shared);
    drop(local_server);
    finish(&cfg, outcome)
}

/// Reports of a finished run, ready to write.
enum Outcome {
    One(Box<Report>, RunStatus),
    Mix(Box<MixReport>, Vec<RunStatus>),
}

fn run_one(
    p: &Prepared,
    cfg: &RunConfig,
    db: &tokio_postgres::Config,
    stop: &StopSignal,
    started_at: &str,
    database: &DatabaseSection,
) -> anyhow::Result<Outcome> {
    let mut sink = IntervalSink::new(cfg)?;
    let metrics_server = match &cfg.metrics_addr {
        Some(addr) => {
            let server = super::metrics_http::MetricsServer::start(
                addr,
                crate::report::prometheus::PromState {
                    workload: p.info.name.clone(),
                    mode: p.spec.mode.clone(),
                    ..Default::default()
                },
            )?;
            tracing::info!("Prometheus metrics at http://{}/metrics", server.addr());
            sink.feed_prometheus(server.state.clone());
            Some(server)
        }
        None => None,
    };
    // Statistics are read on the operator's connection, which can see the
    // whole database (a tenant's role cannot), over the measured window:
    // from the end of warmup until the workers stop.
    let watch = std::cell::RefCell::new(None::<super::stats::StatsWatch>);
    let pg_stats = std::cell::RefCell::new(None);
    let result = runner::execute(
        &p.spec,
        stop,
        runner::PhaseHooks {
            before_workers: &mut || *watch.borrow_mut() = super::stats::StatsWatch::connect(db),
            window_open: &mut || {
                if let Some(w) = watch.borrow_mut().as_mut() {
                    w.open();
                }
            },
            after_workers: &mut || {
                *pg_stats.borrow_mut() = watch.borrow_mut().take().and_then(|w| w.finish());
            },
            on_interval: &mut |i, at, st| sink.interval(i, at, st),
        },
    );
    let mut warnings = Vec::new();
    let time_series = sink.finish(result.elapsed).unwrap_or_else(|e| {
        warnings.push(format!("{e:#}"));
        Vec::new()
    });
    let pg_stats = pg_stats.into_inner();
    drop(metrics_server);
    let report = assemble::report(
        p,
        &result,
        time_series,
        warnings,
        assemble::Context {
            cfg,
            started_at,
            database,
            pg_stats,
        },
    );
    Ok(Outcome::One(Box::new(report), result.status))
}

/// Where the workloads of a mix wait for each other after their setup, so
/// none is measured while another still loads; a workload that ends before
/// reaching it (a failed setup) stops being waited for.
struct StartLine {
    waiting_for: std::sync::Mutex<usize>,
    all_here: std::sync::Condvar,
}

impl StartLine {
    fn new(workloads: usize) -> StartLine {
        StartLine {
            waiting_for: std::sync::Mutex::new(workloads),
            all_here: std::sync::Condvar::new(),
        }
    }

    /// One workload no longer needs waiting for.
    fn leave(&self) {
        let mut n = self
            .waiting_for
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.all_here.notify_all();
        }
    }

    /// Arrives and waits for the others.
    fn arrive(&self) {
        self.leave();
        let mut n = self
            .waiting_for
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *n > 0 {
            n = self
                .all_here
                .wait(n)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

/// One workload's place at the start line: leaving it unused (the run
/// ended early, or its thread panicked) stops the others waiting for it.
struct Ticket<'a> {
    line: &'a StartLine,
    used: bool,
}

impl Ticket<'_> {
    fn arrive(&mut self) {
        if !self.used {
            self.used = true;
            self.line.arrive();
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if !self.used {
            self.line.leave();
        }
    }
}

/// Runs every workload of a mix at once, each on its own shards in this
/// process. All set up first, then all are measured together; the
/// database's statistics cover the measured part, as in a single run.
fn run_mix(
    prepared: &[Prepared],
    cfg: &RunConfig,
    db: &tokio_postgres::Config,
    stop: &StopSignal,
    started_at: &str,
    database: &DatabaseSection,
) -> Outcome {
    let line = StartLine::new(prepared.len());
    // Connected by the first workload past setup, opened with the first
    // measurement window, finished when the last workload's workers stop
    // (or after all, if some never start).
    let watch = std::sync::Mutex::new(None::<Option<super::stats::StatsWatch>>);
    let running = std::sync::atomic::AtomicUsize::new(prepared.len());
    let finished = std::sync::Mutex::new(None::<Option<crate::pg::stats::PgStats>>);
    let finish_watch = || {
        let w = watch
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .flatten();
        *finished
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(w.and_then(|w| w.finish()));
    };
    let results: Vec<(RunResult, Vec<report::series::IntervalRow>)> = std::thread::scope(|s| {
        let handles: Vec<_> = prepared
            .iter()
            .map(|p| {
                let (line, watch, running, finish_watch) = (&line, &watch, &running, &finish_watch);
                s.spawn(move || {
                    let mut sink = IntervalSink::rows_only(cfg);
                    let mut ticket = Ticket { line, used: false };
                    let result = runner::execute(
                        &p.spec,
                        stop,
                        runner::PhaseHooks {
                            before_workers: &mut || {
                                watch
                                    .lock()
                                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                                    .get_or_insert_with(|| super::stats::StatsWatch::connect(db));
                                ticket.arrive();
                            },
                            window_open: &mut || {
                                let mut w = watch
                                    .lock()
                                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                                if let Some(Some(w)) = w.as_mut() {
                                    w.open();
                                }
                            },
                            after_workers: &mut || {
                                if running.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1 {
                                    finish_watch();
                                }
                            },
                            on_interval: &mut |i, at, st| sink.interval(i, at, st),
                        },
                    );
                    drop(ticket);
                    let rows = sink.finish(result.elapsed).unwrap_or_default();
                    (result, rows)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    (
                        RunResult::failed("a workload's thread panicked".into()),
                        Vec::new(),
                    )
                })
            })
            .collect()
    });
    // A workload that failed before starting its workers never counted
    // down: the watch is finished here then.
    if finished
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .is_none()
    {
        finish_watch();
    }
    let pg_stats = finished
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .flatten();
    let mut runs = Vec::new();
    let mut statuses = Vec::new();
    for (p, (result, rows)) in prepared.iter().zip(results) {
        runs.push(assemble::report(
            p,
            &result,
            rows,
            Vec::new(),
            assemble::Context {
                cfg,
                started_at,
                database,
                pg_stats: None,
            },
        ));
        statuses.push(result.status);
    }
    let mix = MixReport::new(started_at, database.clone(), runs, pg_stats);
    Outcome::Mix(Box::new(mix), statuses)
}

/// Writes the report files and the console summary; the exit code.
fn finish(cfg: &RunConfig, outcome: Outcome) -> anyhow::Result<i32> {
    // Each report file is written even when another cannot be; the
    // console summary comes last, so a closed stdout (`| head`) costs no
    // file.
    let mut write_errors = Vec::new();
    let (console, statuses) = match &outcome {
        Outcome::One(report, status) => {
            if let Some(path) = &cfg.json_out
                && let Err(e) = report.write_json(path)
            {
                write_errors.push(format!(
                    "writing the JSON report to {}: {e}",
                    path.display()
                ));
            }
            if let Some(path) = &cfg.html_out
                && let Err(e) = report.write_html(path)
            {
                write_errors.push(format!(
                    "writing the HTML report to {}: {e}",
                    path.display()
                ));
            }
            (report::render_console(report), vec![status.clone()])
        }
        Outcome::Mix(mix, statuses) => {
            if let Some(path) = &cfg.json_out
                && let Err(e) = mix.write_json(path)
            {
                write_errors.push(format!(
                    "writing the JSON report to {}: {e}",
                    path.display()
                ));
            }
            (mix.render_console(), statuses.clone())
        }
    };
    {
        use std::io::Write as _;
        let _ = std::io::stdout().write_all(console.as_bytes());
    }
    if !write_errors.is_empty() {
        bail!("{}", write_errors.join("; "));
    }
    // The worst outcome decides: a failure, then an interruption.
    let mut code = 0;
    for status in statuses {
        match status {
            RunStatus::Failed(e) => {
                eprintln!("stormdb: error: {e}");
                code = 1;
            }
            RunStatus::Interrupted if code == 0 => code = EXIT_INTERRUPTED,
            _ => {}
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn the_start_line_waits_for_all_and_not_for_those_that_left() {
        let line = StartLine::new(3);
        let past = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for i in 0..3 {
                let (line, past) = (&line, &past);
                s.spawn(move || {
                    let mut ticket = Ticket { line, used: false };
                    if i == 2 {
                        // Ends before the line, like a failed setup.
                        std::thread::sleep(Duration::from_millis(100));
                        assert_eq!(past.load(Ordering::SeqCst), 0, "started before all were in");
                        return;
                    }
                    ticket.arrive();
                    past.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(past.load(Ordering::SeqCst), 2);
    }
}
