//! The subcommands, wiring the layers together in the one direction data
//! flows: config → plugin resolution and verification → sandbox → database
//! → runner → report.

mod assemble;
mod metrics_http;
mod misc;
mod plugin_cmd;
mod prepare;
mod reports;
mod run;
mod sink;
mod stats;

pub use misc::{local_pg, workloads};
pub use plugin_cmd::plugin;
pub use reports::{compare_reports, html_report};
pub use run::run;

use crate::config::{PluginChoice, PluginSettings};
use crate::plugin::{self as artifacts, Artifact};
use crate::registry::lockfile::{LockPolicy, Lockfile};
use crate::registry::resolve::{Catalog, Resolver, parse_spec};
use crate::registry::verify::VerifyOptions;
use crate::sandbox::{CallLimits, PluginRuntime, Sandbox};
use anyhow::{Context as _, anyhow};
use std::time::Duration;

/// Exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Limits of the one-off calls (setup, init, summarize, cleanup).
fn setup_limits() -> CallLimits {
    CallLimits {
        cpu: Duration::from_secs(3600),
        wall: Duration::from_secs(24 * 3600),
    }
}

fn describe_limits() -> CallLimits {
    CallLimits {
        cpu: Duration::from_secs(10),
        wall: Duration::from_secs(30),
    }
}

fn cores() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1)
}

fn load(sandbox: &Sandbox, artifact: &Artifact) -> anyhow::Result<PluginRuntime> {
    Ok(sandbox.load(&artifact.name, &artifact.bytes, &artifact.sha256)?)
}

fn verify_options(settings: &PluginSettings) -> VerifyOptions {
    VerifyOptions {
        max_bytes: settings.max_bytes,
        allow_unsigned: settings.allow_unsigned,
    }
}

/// The plugin `choice` names and the plugins it depends on, each verified,
/// dependencies first and the chosen plugin last.
fn resolve_plugins(
    choice: &PluginChoice,
    settings: &PluginSettings,
) -> anyhow::Result<Vec<Artifact>> {
    enum Root {
        Name(String, semver::VersionReq),
        Manifest(std::path::PathBuf),
    }
    let root = match choice {
        PluginChoice::Builtin(name) => return Ok(vec![artifacts::builtin(name)?]),
        PluginChoice::File(path) if path.extension().is_some_and(|e| e == "wasm") => {
            return Ok(vec![artifacts::unsigned_file(
                path,
                settings.allow_unsigned,
                settings.max_bytes,
            )?]);
        }
        PluginChoice::File(path) => Root::Manifest(path.clone()),
        PluginChoice::Named(spec) => {
            let (name, req) = parse_spec(spec).map_err(|e| anyhow!(e))?;
            Root::Name(name, req)
        }
    };
    let trust = settings.trust_store()?;
    let lock = Lockfile::read(&settings.lockfile).map_err(|e| anyhow!(e))?;
    let catalog = Catalog::discover(
        &settings.files,
        &settings.paths,
        settings.cache_dir.as_deref(),
    );
    if settings.auto_load {
        if let Some((path, why)) = catalog.broken.first() {
            anyhow::bail!("plugin manifest {}: {why}", path.display());
        }
        for c in &catalog.candidates {
            crate::registry::verify::verify(&c.path, &trust, verify_options(settings))?;
        }
    }
    let resolver = Resolver {
        catalog: &catalog,
        trust: &trust,
        lock: &lock,
        policy: LockPolicy {
            locked: settings.locked,
            allow_downgrade: settings.allow_downgrade,
        },
        verify: verify_options(settings),
    };
    let verified = match root {
        Root::Name(name, req) => resolver.resolve(&name, &req),
        Root::Manifest(path) => resolver.resolve_path(&path),
    }
    .map_err(|e| anyhow!(e))?;
    Ok(verified.into_iter().map(Artifact::from_verified).collect())
}

/// Reads the config file given to a plugin command, if any; returns it
/// with the directory its relative paths are resolved against.
fn read_config(
    path: Option<&std::path::Path>,
) -> anyhow::Result<(Option<crate::config::FileConfig>, std::path::PathBuf)> {
    match path {
        Some(p) => {
            let file =
                crate::config::read_file(p).with_context(|| format!("reading {}", p.display()))?;
            let dir = p
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            Ok((Some(file), dir))
        }
        None => Ok((None, std::path::PathBuf::from("."))),
    }
}
