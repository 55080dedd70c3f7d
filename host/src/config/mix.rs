//! A mix: several workloads run at once in one process, each listed under
//! `workloads:` in the config file with its own plugin, tenant, mode, scale,
//! workers and parameters. The run's other settings (duration, warmup,
//! rate, limits, database) are shared by every entry.

use super::{ConfigError, PluginChoice};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One entry of `workloads:` as written in the file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixEntryFile {
    /// Built-in workload.
    pub workload: Option<String>,
    /// Component or manifest file, or an installed plugin's name.
    pub plugin: Option<PathBuf>,
    /// Tenant this entry runs as.
    pub tenant: Option<String>,
    /// Mode, or the workload's first.
    pub mode: Option<String>,
    /// Scale, or the workload's default.
    pub scale: Option<u32>,
    /// Instances (default: the run's `workers`, else 1).
    pub workers: Option<u32>,
    /// Connections (default: this entry's workers).
    pub connections: Option<u32>,
    /// Workload parameters.
    pub params: Option<BTreeMap<String, serde_yaml::Value>>,
}

/// One validated entry of a mix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixEntry {
    /// The plugin.
    pub plugin: PluginChoice,
    /// Tenant to run as.
    pub tenant: Option<String>,
    /// Mode, or the workload's first.
    pub mode: Option<String>,
    /// Scale, or the workload's default.
    pub scale: Option<u32>,
    /// Instances.
    pub workers: u32,
    /// Connections they share.
    pub connections: u32,
    /// Parameters as given.
    pub params: Vec<(String, String)>,
}

/// Checks every entry; `default_workers` is the run's `workers` setting.
/// Errors name the entry by its position (from 1) so the file can be fixed.
pub fn resolve(
    entries: &[MixEntryFile],
    default_workers: u32,
) -> Result<Vec<MixEntry>, ConfigError> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let at = format!("config file: workloads[{}]", i + 1);
            let plugin = match (&e.workload, &e.plugin) {
                (Some(w), None) => PluginChoice::Builtin(w.clone()),
                (None, Some(p)) => PluginChoice::from_plugin_arg(p),
                (Some(_), Some(_)) => {
                    return Err(ConfigError::Invalid(format!(
                        "{at}: give either workload or plugin, not both"
                    )));
                }
                (None, None) => {
                    return Err(ConfigError::Invalid(format!(
                        "{at}: name a workload or a plugin"
                    )));
                }
            };
            let nonzero = |what: &str, v: u32| {
                if v == 0 {
                    Err(ConfigError::Invalid(format!(
                        "{at}: {what} must be at least 1"
                    )))
                } else {
                    Ok(v)
                }
            };
            let workers = nonzero("workers", e.workers.unwrap_or(default_workers))?;
            let connections = nonzero("connections", e.connections.unwrap_or(workers))?;
            let scale = e.scale.map(|s| nonzero("scale", s)).transpose()?;
            if let Some(t) = &e.tenant
                && t.trim().is_empty()
            {
                return Err(ConfigError::Invalid(format!("{at}: tenant is empty")));
            }
            let mut params = Vec::new();
            for (k, v) in e.params.iter().flatten() {
                params.push((k.clone(), super::run::yaml_scalar(k, v)?));
            }
            Ok(MixEntry {
                plugin,
                tenant: e.tenant.clone(),
                mode: e.mode.clone(),
                scale,
                workers,
                connections,
                params,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(yaml: &str) -> MixEntryFile {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn entries_take_their_own_settings_and_the_run_defaults() {
        let got = resolve(
            &[
                entry("workload: pgbench\nmode: select-only\ntenant: a\n"),
                entry("plugin: ./p.wasm\nworkers: 3\nparams:\n  every: 5\n"),
            ],
            2,
        )
        .unwrap();
        assert_eq!(got[0].plugin, PluginChoice::Builtin("pgbench".into()));
        assert_eq!((got[0].workers, got[0].connections), (2, 2));
        assert_eq!(got[0].tenant.as_deref(), Some("a"));
        assert_eq!(got[1].plugin, PluginChoice::File("./p.wasm".into()));
        assert_eq!((got[1].workers, got[1].connections), (3, 3));
        assert_eq!(got[1].params, vec![("every".to_string(), "5".to_string())]);
    }

    #[test]
    fn bad_entries_are_named_by_position() {
        let err = resolve(&[entry("workload: a\n"), entry("mode: x\n")], 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("workloads[2]") && err.contains("workload or a plugin"),
            "{err}"
        );
        let err = resolve(&[entry("workload: a\nworkers: 0\n")], 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("workloads[1]: workers"), "{err}");
        let err = serde_yaml::from_str::<MixEntryFile>("workload: a\nworkerz: 2\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("workerz"), "{err}");
    }
}
