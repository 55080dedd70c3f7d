//! Resolving a run's settings: flags over the file over defaults, every
//! value checked before anything starts.

use super::scripts::scripts_param;
use super::{
    ConfigError, ConnectionMode, Database, FileConfig, PluginChoice, SetupMode, StopAfter,
    database, parse_duration,
};
use crate::cli::RunArgs;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A complete, validated run configuration.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The plugin.
    pub plugin: PluginChoice,
    /// Unsigned files allowed.
    pub allow_unsigned: bool,
    /// Mode, or the workload's default.
    pub mode: Option<String>,
    /// When to stop.
    pub stop: StopAfter,
    /// Unmeasured lead-in.
    pub warmup: Duration,
    /// Concurrent instances.
    pub workers: u32,
    /// Connections they share.
    pub connections: u32,
    /// Scale, or the workload's default.
    pub scale: Option<u32>,
    /// Database.
    pub database: Database,
    /// Setup before the run.
    pub setup: SetupMode,
    /// Drop tables after.
    pub cleanup: bool,
    /// Loader instances.
    pub loaders: u32,
    /// Seed, if given.
    pub seed: Option<u64>,
    /// Parameters as given (validated against the workload later).
    pub params: Vec<(String, String)>,
    /// JSON report path.
    pub json_out: Option<PathBuf>,
    /// CSV time series path.
    pub csv_out: Option<PathBuf>,
    /// Self-contained HTML report path.
    pub html_out: Option<PathBuf>,
    /// pgbench aggregate log path.
    pub aggregate_log: Option<PathBuf>,
    /// HdrHistogram interval log path.
    pub hdr_log: Option<PathBuf>,
    /// Prometheus endpoint address.
    pub metrics_addr: Option<String>,
    /// Closed or open loop.
    pub pacing: crate::runner::pacing::Pacing,
    /// Tries per step.
    pub max_tries: u32,
    /// Time-series interval.
    pub interval: Duration,
    /// Runtime threads.
    pub threads: u32,
    /// Progress line interval.
    pub progress: Option<Duration>,
    /// Step wall-clock limit.
    pub step_timeout: Duration,
    /// Step CPU limit.
    pub step_cpu_limit: Duration,
    /// Setup, load, init and cleanup CPU limit.
    pub setup_cpu_limit: Duration,
    /// Linear memory per instance, bytes.
    pub memory_bytes: usize,
    /// Refuse inert WASI imports.
    pub strict_wasi: bool,
    /// SQL limits per instance.
    pub sql_limits: crate::capability::sql::SqlLimits,
    /// How workers connect.
    pub connection_mode: ConnectionMode,
    /// The workloads of a mix (`workloads:` in the file); empty for a run
    /// of the one workload named by `plugin`.
    pub mix: Vec<super::MixEntry>,
}

pub(super) fn yaml_scalar(name: &str, v: &serde_yaml::Value) -> Result<String, ConfigError> {
    match v {
        serde_yaml::Value::String(s) => Ok(s.clone()),
        serde_yaml::Value::Number(n) => Ok(n.to_string()),
        serde_yaml::Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ConfigError::Invalid(format!(
            "config file: parameter '{name}' must be a string, number or boolean"
        ))),
    }
}

fn positive(what: &str, v: u32) -> Result<u32, ConfigError> {
    if v == 0 {
        Err(ConfigError::Invalid(format!("{what} must be at least 1")))
    } else {
        Ok(v)
    }
}

impl RunConfig {
    /// Combines flags, the config file (if any) and the environment.
    pub fn resolve(
        args: &RunArgs,
        file: Option<FileConfig>,
        env: &BTreeMap<String, String>,
        cores: u32,
    ) -> Result<RunConfig, ConfigError> {
        let file = file.unwrap_or_default();
        let scripted = !args.scripts.is_empty();
        let mix = match file.workloads.as_deref() {
            None => Vec::new(),
            Some([]) => {
                return Err(ConfigError::Invalid(
                    "config file: workloads is empty; list at least one entry".into(),
                ));
            }
            Some(entries) => {
                let per_entry = [
                    (
                        args.workload.is_some() || file.workload.is_some(),
                        "workload",
                    ),
                    (args.plugin.is_some() || file.plugin.is_some(), "plugin"),
                    (args.mode.is_some() || file.mode.is_some(), "mode"),
                    (args.scale.is_some() || file.scale.is_some(), "scale"),
                    (!args.params.is_empty() || file.params.is_some(), "params"),
                    (scripted, "scripts"),
                    (
                        args.connections.is_some() || file.connections.is_some(),
                        "connections",
                    ),
                ];
                if let Some((_, what)) = per_entry.iter().find(|(given, _)| *given) {
                    return Err(ConfigError::Invalid(format!(
                        "{what} is set per entry of `workloads:` in a mix, not for the whole run"
                    )));
                }
                let workers = positive("--workers", args.workers.or(file.workers).unwrap_or(1))?;
                super::mix::resolve(entries, workers)?
            }
        };
        let plugin = match (&args.workload, &args.plugin, &file.workload, &file.plugin) {
            (None, None, None, None) if !mix.is_empty() => mix[0].plugin.clone(),
            (None, None, _, _) if scripted => PluginChoice::Builtin("script".into()),
            (Some(w), _, _, _) => PluginChoice::Builtin(w.clone()),
            (None, Some(p), _, _) => PluginChoice::from_plugin_arg(p),
            (None, None, Some(w), None) => PluginChoice::Builtin(w.clone()),
            (None, None, None, Some(p)) => PluginChoice::from_plugin_arg(p),
            (None, None, Some(_), Some(_)) => {
                return Err(ConfigError::Invalid(
                    "config file: give either workload or plugin, not both".into(),
                ));
            }
            (None, None, None, None) => {
                return Err(ConfigError::Invalid(
                    "no workload given: use -w NAME (see `stormdb workloads`) or --plugin FILE"
                        .into(),
                ));
            }
        };
        let stop = match (
            &args.duration,
            args.transactions,
            &file.duration,
            file.transactions,
        ) {
            (Some(d), _, _, _) => StopAfter::Duration(parse_duration("--duration", d)?),
            (None, Some(n), _, _) => StopAfter::Transactions(n),
            (None, None, Some(d), _) => StopAfter::Duration(parse_duration("duration", d)?),
            (None, None, None, Some(n)) => StopAfter::Transactions(n),
            (None, None, None, None) => StopAfter::Duration(Duration::from_secs(10)),
        };
        match stop {
            StopAfter::Duration(d) if d.is_zero() => {
                return Err(ConfigError::Invalid(
                    "the duration must be above zero".into(),
                ));
            }
            StopAfter::Transactions(0) => {
                return Err(ConfigError::Invalid(
                    "--transactions must be at least 1".into(),
                ));
            }
            _ => {}
        }
        let warmup = match args.warmup.as_ref().or(file.warmup.as_ref()) {
            Some(w) => parse_duration("--warmup", w)?,
            None => Duration::ZERO,
        };
        let workers = positive("--workers", args.workers.or(file.workers).unwrap_or(1))?;
        let connections = positive(
            "--connections",
            args.connections.or(file.connections).unwrap_or(workers),
        )?;
        let scale = match args.scale.or(file.scale) {
            Some(s) => Some(positive("--scale", s)?),
            None => None,
        };
        let setup = if args.rebuild {
            SetupMode::Rebuild
        } else if args.setup {
            SetupMode::IfNeeded
        } else {
            match file.setup.as_deref() {
                None | Some("none") => SetupMode::None,
                Some("setup") => SetupMode::IfNeeded,
                Some("rebuild") => SetupMode::Rebuild,
                Some(other) => {
                    return Err(ConfigError::Invalid(format!(
                        "config file: setup must be none, setup or rebuild, not '{other}'"
                    )));
                }
            }
        };
        let threads = positive(
            "--threads",
            args.threads.or(file.threads).unwrap_or(cores.max(1)),
        )?;
        let loaders = positive(
            "--loaders",
            args.loaders.or(file.loaders).unwrap_or(threads),
        )?;
        let mut params = Vec::new();
        if let Some(p) = &file.params {
            for (k, v) in p {
                params.push((k.clone(), yaml_scalar(k, v)?));
            }
        }
        if scripted {
            params.retain(|(name, _)| name != "scripts");
            params.push(("scripts".into(), scripts_param(&args.scripts)?));
        }
        for p in &args.params {
            let (k, v) = p.split_once('=').ok_or_else(|| {
                ConfigError::Invalid(format!("--param '{p}': expected NAME=VALUE"))
            })?;
            params.retain(|(name, _)| name != k.trim());
            params.push((k.trim().to_string(), v.to_string()));
        }
        let progress = match args.progress.as_ref().or(file.progress.as_ref()) {
            Some(p) => {
                let d = parse_duration("--progress", p)?;
                (!d.is_zero()).then_some(d)
            }
            None => None,
        };
        let step_timeout = match args.step_timeout.as_ref().or(file.step_timeout.as_ref()) {
            Some(t) => parse_duration("--step-timeout", t)?,
            None => Duration::from_secs(60),
        };
        let step_cpu_limit = match args
            .step_cpu_limit
            .as_ref()
            .or(file.step_cpu_limit.as_ref())
        {
            Some(t) => parse_duration("--step-cpu-limit", t)?,
            None => Duration::from_secs(10),
        };
        let setup_cpu_limit = match args
            .setup_cpu_limit
            .as_ref()
            .or(file.setup_cpu_limit.as_ref())
        {
            Some(t) => parse_duration("--setup-cpu-limit", t)?,
            None => Duration::from_secs(3600),
        };
        let latency_limit = match args.latency_limit.as_ref().or(file.latency_limit.as_ref()) {
            Some(t) => Some(parse_duration("--latency-limit", t)?),
            None => None,
        };
        let pacing = match args.rate.or(file.rate) {
            Some(rate) => {
                if !(rate.is_finite() && rate > 0.0) {
                    return Err(ConfigError::Invalid(format!(
                        "--rate {rate}: must be a positive number of transactions per second"
                    )));
                }
                if args.think_time.is_some() || file.think_time.is_some() {
                    return Err(ConfigError::Invalid(
                        "--think-time is for the closed loop; with --rate the schedule sets when steps start"
                            .into(),
                    ));
                }
                let poisson = match args.arrivals.as_deref().or(file.arrivals.as_deref()) {
                    None | Some("poisson") => true,
                    Some("uniform") => false,
                    Some(other) => {
                        return Err(ConfigError::Invalid(format!(
                            "--arrivals '{other}': use poisson or uniform"
                        )));
                    }
                };
                crate::runner::pacing::Pacing::Open {
                    rate,
                    poisson,
                    latency_limit,
                }
            }
            None => {
                if latency_limit.is_some() {
                    return Err(ConfigError::Invalid(
                        "--latency-limit needs --rate (it is about lateness against a schedule)"
                            .into(),
                    ));
                }
                let think = match args.think_time.as_ref().or(file.think_time.as_ref()) {
                    Some(t) => parse_duration("--think-time", t)?,
                    None => Duration::ZERO,
                };
                crate::runner::pacing::Pacing::Closed { think }
            }
        };
        let interval = match args.interval.as_ref().or(file.interval.as_ref()) {
            Some(t) => {
                let d = parse_duration("--interval", t)?;
                if d < Duration::from_millis(100) {
                    return Err(ConfigError::Invalid(
                        "--interval must be at least 100ms".into(),
                    ));
                }
                d
            }
            None => Duration::from_secs(1),
        };
        let aggregate_log = args.aggregate_log.clone().or(file.aggregate_log.clone());
        if aggregate_log.is_some() && interval.subsec_nanos() != 0 {
            // pgbench's format starts each line with a whole Unix second:
            // sub-second intervals would give lines the same timestamp.
            return Err(ConfigError::Invalid(format!(
                "--aggregate-log needs --interval in whole seconds (pgbench's format), not {}",
                humantime::format_duration(interval)
            )));
        }
        let memory_mib = positive(
            "--memory-limit",
            args.memory_limit.or(file.memory_limit).unwrap_or(256),
        )?;
        Ok(RunConfig {
            plugin,
            allow_unsigned: args.allow_unsigned,
            mode: args.mode.clone().or(file.mode.clone()),
            stop,
            warmup,
            workers,
            connections,
            scale,
            database: database::resolve(args, &file, env)?,
            setup,
            cleanup: args.cleanup || file.cleanup.unwrap_or(false),
            loaders,
            seed: args.seed.or(file.seed),
            params,
            json_out: args.json_out.clone().or(file.json_out.clone()),
            csv_out: args.csv_out.clone().or(file.csv_out.clone()),
            html_out: args.html_out.clone().or(file.html_out.clone()),
            aggregate_log,
            hdr_log: args.hdr_log.clone().or(file.hdr_log.clone()),
            metrics_addr: args.metrics_addr.clone().or(file.metrics_addr.clone()),
            pacing,
            max_tries: args.max_tries.or(file.max_tries).unwrap_or(1).max(1),
            interval,
            threads,
            progress,
            step_timeout,
            step_cpu_limit,
            setup_cpu_limit,
            memory_bytes: usize::try_from(memory_mib).unwrap_or(usize::MAX) << 20,
            strict_wasi: args.strict_wasi || file.strict_wasi.unwrap_or(false),
            connection_mode: match args
                .connection_mode
                .as_ref()
                .or(file.connection_mode.as_ref())
            {
                Some(m) => ConnectionMode::parse(m)?,
                None => ConnectionMode::Persistent,
            },
            mix,
            sql_limits: {
                let mut l = crate::capability::sql::SqlLimits::default();
                if let Some(n) = args
                    .max_statements_per_step
                    .or(file.max_statements_per_step)
                {
                    l.max_statements_per_call = n.max(1);
                }
                if let Some(n) = args.max_result_rows.or(file.max_result_rows) {
                    l.max_result_rows = n;
                }
                l
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_file, read_file};
    use std::path::Path;

    use crate::config::test_args as args;

    fn no_env() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn flags_override_the_file_and_defaults_fill_in() {
        let file = parse_file(
            Path::new("c.yaml"),
            "workload: simple\nworkers: 8\nduration: 1m\nparams:\n  read_pct: 50\n",
        )
        .unwrap();
        let mut a = args();
        a.workers = Some(4);
        a.params = vec!["read_pct=90".into()];
        let c = RunConfig::resolve(&a, Some(file), &no_env(), 2).unwrap();
        assert_eq!(c.plugin, PluginChoice::Builtin("pgbench".into()));
        assert_eq!(c.workers, 4);
        assert_eq!(c.connections, 4);
        assert_eq!(c.stop, StopAfter::Duration(Duration::from_secs(60)));
        assert_eq!(c.params, vec![("read_pct".to_string(), "90".to_string())]);
        assert_eq!(c.threads, 2);
        assert!(matches!(c.database, Database::Embedded));
    }

    #[test]
    fn shipped_example_configs_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let file = read_file(&path).unwrap();
                RunConfig::resolve(&RunArgs::default(), Some(file), &no_env(), 2)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seen += 1;
            }
        }
        assert!(seen >= 2);
    }

    #[test]
    fn a_mix_takes_its_workloads_from_the_file_and_refuses_run_wide_ones() {
        let text = "duration: 5s\nworkers: 3\nworkloads:\n  - workload: pgbench\n    mode: select-only\n  - workload: simple\n    workers: 1\n";
        let file = parse_file(Path::new("m.yaml"), text).unwrap();
        let c = RunConfig::resolve(&RunArgs::default(), Some(file), &no_env(), 2).unwrap();
        assert_eq!(c.mix.len(), 2);
        assert_eq!(c.mix[0].workers, 3);
        assert_eq!(c.mix[1].workers, 1);
        assert_eq!(c.plugin, PluginChoice::Builtin("pgbench".into()));
        let file = parse_file(Path::new("m.yaml"), text).unwrap();
        let err = RunConfig::resolve(&args(), Some(file), &no_env(), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("workload is set per entry"), "{err}");
        let file = parse_file(Path::new("m.yaml"), "workloads: []\n").unwrap();
        let err = RunConfig::resolve(&RunArgs::default(), Some(file), &no_env(), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("workloads is empty"), "{err}");
    }

    #[test]
    fn bad_values_are_refused_with_their_names() {
        let mut a = args();
        a.workers = Some(0);
        let err = RunConfig::resolve(&a, None, &no_env(), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--workers"), "{err}");
        let mut a = args();
        a.params = vec!["nonsense".into()];
        let err = RunConfig::resolve(&a, None, &no_env(), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("NAME=VALUE"), "{err}");
        let err = RunConfig::resolve(&RunArgs::default(), None, &no_env(), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no workload"), "{err}");
        let mut a = args();
        a.aggregate_log = Some("agg.log".into());
        a.interval = Some("500ms".into());
        let err = RunConfig::resolve(&a, None, &no_env(), 2)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--aggregate-log needs --interval in whole seconds"),
            "{err}"
        );
        a.interval = Some("2s".into());
        assert!(RunConfig::resolve(&a, None, &no_env(), 2).is_ok());
        // Think time and a schedule cannot both pace the steps.
        let mut a = args();
        a.rate = Some(100.0);
        a.think_time = Some("10ms".into());
        let err = RunConfig::resolve(&a, None, &no_env(), 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--think-time is for the closed loop"), "{err}");
    }
}
