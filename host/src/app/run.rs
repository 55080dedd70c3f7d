//! `stormdb run`: config → plugins (resolve, verify) → sandbox → database →
//! runner → report.

use super::sink::IntervalSink;
use super::{EXIT_INTERRUPTED, cores, describe_limits, load, setup_limits};
use crate::bindings::Info;
use crate::capability::sql::Capabilities;
use crate::cli::RunArgs;
use crate::config::{Database, PluginSettings, RunConfig, SetupMode, StopAfter, TrustFlags};
use crate::pg::launcher::{LaunchOptions, LocalServer};
use crate::pg::tenant::{self, TenantTimeouts};
use crate::plugin::Origin;
use crate::report::{self, ConfigSection, DatabaseSection, Report, SetupSection, WorkloadSection};
use crate::runner::pacing::Pacing;
use crate::runner::{self, RunSpec, RunStatus, StopSignal};
use crate::sandbox::{ArtifactCache, CallLimits, InstanceLimits, Sandbox};
use anyhow::{Context as _, anyhow, bail};
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

/// What a run will do, checked against the plugin's `describe`.
struct Choice {
    mode: String,
    scale: u32,
    params: Vec<(String, String)>,
}

/// Mode, scale and full parameter list, checked against `describe`.
fn choose(info: &Info, cfg: &RunConfig) -> anyhow::Result<Choice> {
    let modes: Vec<&str> = info.modes.iter().map(|m| m.name.as_str()).collect();
    let mode = match &cfg.mode {
        Some(m) if modes.contains(&m.as_str()) => m.clone(),
        Some(m) => bail!(
            "workload '{}' has no mode '{m}'; its modes: {}",
            info.name,
            modes.join(", ")
        ),
        None => modes
            .first()
            .map(|m| m.to_string())
            .ok_or_else(|| anyhow!("workload '{}' declares no modes", info.name))?,
    };
    let scale = cfg.scale.unwrap_or(info.default_scale.max(1));
    let mut params: Vec<(String, String)> = info
        .parameters
        .iter()
        .map(|p| (p.name.clone(), p.default_value.clone()))
        .collect();
    for (k, v) in &cfg.params {
        match params.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v.clone(),
            None => {
                let known: Vec<&str> = info.parameters.iter().map(|p| p.name.as_str()).collect();
                bail!(
                    "workload '{}' has no parameter '{k}'; its parameters: {}",
                    info.name,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                );
            }
        }
    }
    Ok(Choice {
        mode,
        scale,
        params,
    })
}

fn env_map() -> BTreeMap<String, String> {
    std::env::vars().collect()
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
    let mut artifacts = super::resolve_plugins(&cfg.plugin, &settings)?;
    let artifact = artifacts
        .pop()
        .ok_or_else(|| anyhow!("no plugin was resolved"))?;
    let dependencies = artifacts;
    let mut warnings = Vec::new();
    for a in dependencies.iter().chain(std::iter::once(&artifact)) {
        let unsigned = match &a.origin {
            Origin::UnsignedFile(path) => Some(path.clone()),
            Origin::UnsignedManifest { manifest, .. } => Some(manifest.clone()),
            _ => None,
        };
        if let Some(path) = unsigned {
            let w = format!(
                "UNSIGNED plugin {} (sha256 {}) runs without signature verification (--allow-unsigned)",
                path.display(),
                a.sha256
            );
            eprintln!("stormdb: WARNING: {w}");
            warnings.push(w);
        }
    }
    let limits = InstanceLimits {
        memory_bytes: cfg.memory_bytes,
        strict_wasi: cfg.strict_wasi,
        ..InstanceLimits::default()
    };
    let sandbox = Sandbox::new(limits, ArtifactCache::open(None))?;
    let runtime = load(&sandbox, &artifact)?;
    let dep_runtimes = dependencies
        .iter()
        .map(|a| load(&sandbox, a))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let stop = StopSignal::new();
    stop.listen_for_signals()?;
    // The throwaway server lives on this (the main) thread: its parent-death
    // signal is tied to the thread that started it.
    let mut local_server = None;
    let (db, target, embedded) = match &cfg.database {
        Database::Server(c, _) => ((**c).clone(), crate::pg::describe_target(c), false),
        Database::Embedded => {
            let max_connections = 100 + cfg.connections.max(cfg.loaders) * 2;
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
        server_version(&db).with_context(|| format!("cannot reach the database at {target}"))?;

    // Third-party plugins always run as a tenant (by default one per
    // plugin); built-ins run on the operator's connection unless --tenant.
    let tenant_name = args.tenant.clone().or_else(|| {
        (!matches!(artifact.origin, Origin::Builtin))
            .then(|| tenant::name_for_plugin(&artifact.name))
    });
    let grant = grants.grant_for(&artifact.name, tenant_name.as_deref())?;
    let requested = match &artifact.capabilities {
        Some(names) => Capabilities::from_names(names)
            .map_err(|e| anyhow!("plugin '{}': {e}", artifact.name))?,
        None => grant.clone(),
    };
    let missing = grant.missing(&requested);
    if !missing.is_empty() {
        bail!(
            "plugin '{}' requests {}, which {} not granted (granted: {})",
            artifact.name,
            missing.join(", "),
            if missing.len() == 1 { "is" } else { "are" },
            grant.names().join(", ")
        );
    }
    let caps = requested.intersect(&grant);
    let (run_db, setup_db) = match &tenant_name {
        Some(t) => {
            let limit = cfg.connections.max(cfg.loaders) + 4;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let tenant = rt.block_on(tenant::provision(&db, t, limit))?;
            let run = TenantTimeouts {
                statement: cfg.step_timeout,
                lock: cfg.step_timeout,
                idle_in_transaction: cfg.step_timeout.max(Duration::from_secs(60)),
            };
            let setup = TenantTimeouts {
                statement: Duration::from_secs(6 * 3600),
                lock: Duration::from_secs(600),
                idle_in_transaction: Duration::from_secs(600),
            };
            (tenant.config(run), tenant.config(setup))
        }
        None => (db.clone(), db.clone()),
    };
    let info = runner::describe(&runtime, &db, describe_limits()).map_err(|e| anyhow!(e))?;
    let Choice {
        mode,
        scale,
        params,
    } = choose(&info, &cfg)?;
    let seed = cfg.seed.unwrap_or_else(runner::seed::random_seed);

    let spec = RunSpec {
        runtime: runtime.clone(),
        db: run_db,
        setup_db,
        caps: caps.clone(),
        mode: mode.clone(),
        scale,
        params: params.clone(),
        seed,
        workers: cfg.workers,
        connections: cfg.connections,
        threads: cfg.threads,
        loaders: cfg.loaders,
        stop_after: cfg.stop,
        warmup: cfg.warmup,
        setup: cfg.setup,
        cleanup: cfg.cleanup,
        step_limits: CallLimits {
            cpu: cfg.step_cpu_limit,
            wall: cfg.step_timeout,
        },
        setup_limits: CallLimits {
            cpu: cfg.setup_cpu_limit,
            ..setup_limits()
        },
        sql_limits: cfg.sql_limits.clone(),
        progress: cfg.progress,
        connection_mode: cfg.connection_mode,
        pacing: cfg.pacing,
        max_tries: cfg.max_tries,
        interval: cfg.interval,
    };
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    if spec.setup != SetupMode::None {
        // Dependencies are set up first, in dependency order, each in its
        // default mode at the run's scale.
        for dep in &dep_runtimes {
            let dep_info =
                runner::describe(dep, &spec.db, describe_limits()).map_err(|e| anyhow!(e))?;
            let dep_spec = RunSpec {
                runtime: dep.clone(),
                mode: dep_info
                    .modes
                    .first()
                    .map(|m| m.name.clone())
                    .unwrap_or_default(),
                params: dep_info
                    .parameters
                    .iter()
                    .map(|p| (p.name.clone(), p.default_value.clone()))
                    .collect(),
                ..spec.clone()
            };
            runner::setup_only(&dep_spec, &stop)
                .map_err(|e| anyhow!("setting up dependency: {e}"))?;
        }
    }
    let mut sink = IntervalSink::new(&cfg)?;
    let metrics_server = match &cfg.metrics_addr {
        Some(addr) => {
            let server = super::metrics_http::MetricsServer::start(
                addr,
                crate::report::prometheus::PromState {
                    workload: info.name.clone(),
                    mode: mode.clone(),
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
    // whole database (a tenant's role cannot), from after setup to the end.
    let mut watch = None;
    let result = runner::execute(
        &spec,
        &stop,
        &mut || watch = super::stats::StatsWatch::start(&db),
        &mut |i, at, st| sink.interval(i, at, st),
    );
    let mut sink_warning = None;
    let time_series = sink.finish(result.elapsed).unwrap_or_else(|e| {
        sink_warning = Some(format!("{e:#}"));
        Vec::new()
    });
    let pg_stats = watch.and_then(|w| w.finish());
    drop(metrics_server);
    drop(local_server);

    let m = report::measured(&result.recorder, result.elapsed, result.dropped_log_lines);
    warnings.extend(m.warnings);
    if let Some(e) = &result.summarize_error {
        warnings.push(e.clone());
    }
    warnings.extend(sink_warning);
    let rate = match cfg.pacing {
        Pacing::Open {
            rate,
            poisson,
            latency_limit,
        } => {
            let lag = result.recorder.lag.summary();
            Some(report::RateSection {
                target_tps: rate,
                arrivals: if poisson { "poisson" } else { "uniform" }.into(),
                latency_limit_ms: latency_limit.map(|d| d.as_secs_f64() * 1000.0),
                lag_ms: report::LagSummary {
                    mean: lag.mean,
                    p50: lag.p50,
                    p99: lag.p99,
                    max: lag.max,
                },
                late: result.recorder.late,
                skipped: result.recorder.skipped,
            })
        }
        Pacing::Closed { .. } => None,
    };
    let (status, error) = match &result.status {
        RunStatus::Completed => ("completed", None),
        RunStatus::Interrupted => ("interrupted", None),
        RunStatus::Failed(e) => ("failed", Some(e.clone())),
    };
    let report = Report {
        schema_version: report::SCHEMA_VERSION,
        stormdb_version: env!("CARGO_PKG_VERSION").to_string(),
        status: status.to_string(),
        error: error.clone(),
        started_at,
        workload: WorkloadSection {
            name: info.name.clone(),
            version: info.version.clone(),
            sha256: artifact.sha256.clone(),
            origin: artifact.origin_label().into(),
            signers: match &artifact.origin {
                Origin::Signed { signers, .. } => signers.clone(),
                _ => Vec::new(),
            },
            dependencies: dependencies
                .iter()
                .map(|d| report::DependencyRow {
                    name: d.name.clone(),
                    version: match &d.origin {
                        Origin::Signed { version, .. }
                        | Origin::UnsignedManifest { version, .. } => version.clone(),
                        _ => String::new(),
                    },
                    sha256: d.sha256.clone(),
                    origin: d.origin_label().into(),
                })
                .collect(),
            mode,
            scale,
            params: params.into_iter().collect(),
            counters: result.recorder.counters.clone(),
            figures: result
                .figures
                .iter()
                .map(|f| {
                    (
                        f.name.clone(),
                        report::FigureRow {
                            value: f.value,
                            unit: f.unit.clone(),
                            expected: f.expected.clone(),
                            ok: f.ok,
                        },
                    )
                })
                .collect(),
        },
        config: ConfigSection {
            workers: cfg.workers,
            connections: cfg.connections,
            threads: result.shards,
            duration_s: match cfg.stop {
                StopAfter::Duration(d) => Some(d.as_secs_f64()),
                StopAfter::Transactions(_) => None,
            },
            transactions: match cfg.stop {
                StopAfter::Transactions(n) => Some(n),
                StopAfter::Duration(_) => None,
            },
            warmup_s: cfg.warmup.as_secs_f64(),
            seed,
            connection_mode: cfg.connection_mode.name().into(),
            tenant: tenant_name.clone(),
            capabilities: caps.names(),
        },
        database: DatabaseSection {
            target,
            embedded,
            server_version: Some(version),
        },
        setup: result.setup.as_ref().map(|s| SetupSection {
            performed: s.performed,
            elapsed_s: s.elapsed.as_secs_f64(),
            loaders: s.loaders,
        }),
        summary: m.summary,
        latency_ms: m.latency_ms,
        pool_wait_ms: m.pool_wait_ms,
        connections: m.connections,
        operations: m.operations,
        errors: m.errors,
        workers: m.workers,
        warnings,
        rate,
        statements: m.statements,
        statement_kinds: m.statement_kinds,
        latency_distribution: m.latency_distribution,
        time_series: report::TimeSeries {
            interval_s: cfg.interval.as_secs_f64(),
            rows: time_series,
        },
        process: report::ProcessSection {
            max_rss_kb: report::max_rss_kb(),
        },
        pg_stats,
    };
    // Each report file is written even when another cannot be; the
    // console summary comes last, so a closed stdout (`| head`) costs no
    // file.
    let mut write_errors = Vec::new();
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
    {
        use std::io::Write as _;
        let _ = std::io::stdout().write_all(report::render_console(&report).as_bytes());
    }
    if !write_errors.is_empty() {
        bail!("{}", write_errors.join("; "));
    }
    match result.status {
        RunStatus::Completed => Ok(0),
        RunStatus::Interrupted => Ok(EXIT_INTERRUPTED),
        RunStatus::Failed(e) => {
            eprintln!("stormdb: error: {e}");
            Ok(1)
        }
    }
}
