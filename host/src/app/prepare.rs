//! Getting one workload ready to run: resolve and verify its plugins, load
//! them into the sandbox, provision its tenant, settle its capabilities,
//! check mode, scale and parameters against its `describe`, and build the
//! runner's spec. A run prepares one workload, a mix several, the same way.

use super::{describe_limits, load, resolve_plugins, setup_limits};
use crate::bindings::Info;
use crate::capability::sql::Capabilities;
use crate::config::{GrantsSection, MixEntry, PluginSettings, RunConfig};
use crate::pg::tenant::{self, TenantTimeouts};
use crate::plugin::{Artifact, Origin};
use crate::runner::{self, RunSpec, StopSignal};
use crate::sandbox::{CallLimits, PluginRuntime, Sandbox};
use anyhow::{anyhow, bail};
use std::time::Duration;

/// One workload as chosen: one entry of a mix, or the single workload the
/// flags and file name (built by [`single`]).
pub(super) type Selection = MixEntry;

/// The single workload of a run configured by flags and file.
pub(super) fn single(cfg: &RunConfig, tenant: Option<String>) -> Selection {
    MixEntry {
        plugin: cfg.plugin.clone(),
        tenant,
        mode: cfg.mode.clone(),
        scale: cfg.scale,
        workers: cfg.workers,
        connections: cfg.connections,
        params: cfg.params.clone(),
    }
}

/// A workload ready to run.
pub(super) struct Prepared {
    /// Its plugins, verified and loaded, and what they may do.
    pub loaded: Loaded,
    /// What the plugin describes.
    pub info: Info,
    /// The runner's spec.
    pub spec: RunSpec,
}

/// A workload's parameters by name, in the order it declares them.
type Params = Vec<(String, String)>;

/// Mode, scale and full parameter list, checked against `describe`.
fn choose(info: &Info, sel: &Selection) -> anyhow::Result<(String, u32, Params)> {
    let modes: Vec<&str> = info.modes.iter().map(|m| m.name.as_str()).collect();
    let mode = match &sel.mode {
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
    let scale = sel.scale.unwrap_or(info.default_scale.max(1));
    let mut params: Vec<(String, String)> = info
        .parameters
        .iter()
        .map(|p| (p.name.clone(), p.default_value.clone()))
        .collect();
    for (k, v) in &sel.params {
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
    Ok((mode, scale, params))
}

/// Everything shared by the workloads of one run.
pub(super) struct Shared<'a> {
    /// The run's settings.
    pub cfg: &'a RunConfig,
    /// The operator's connection.
    pub db: &'a tokio_postgres::Config,
    /// Tenants provisioned so far in this run, with their connection
    /// limits.
    pub tenants: std::cell::RefCell<std::collections::BTreeMap<String, (tenant::Tenant, u32)>>,
}

/// A workload's plugins resolved, verified, compiled and checked against
/// the operator's grants: everything that needs no database, so a bad
/// plugin is refused before a server is started or reached.
pub(super) struct Loaded {
    /// The plugin that runs.
    pub artifact: Artifact,
    /// Plugins it depends on, set up before it.
    pub dependencies: Vec<Artifact>,
    /// The plugin's runtime.
    runtime: PluginRuntime,
    /// Its dependencies' runtimes, in the same order.
    pub dep_runtimes: Vec<PluginRuntime>,
    /// The tenant it runs as, if any.
    pub tenant: Option<String>,
    /// What it may do.
    pub caps: Capabilities,
    /// Warnings for the report (unsigned plugins).
    pub warnings: Vec<String>,
}

/// Resolves, verifies and loads `sel`'s plugins and settles what they may
/// do.
pub(super) fn load_plugins(
    settings: &PluginSettings,
    grants: &GrantsSection,
    sandbox: &Sandbox,
    sel: &Selection,
) -> anyhow::Result<Loaded> {
    // A mix entry's tenant selects its trust set, as --tenant does for a
    // single run.
    let settings = PluginSettings {
        tenant: sel.tenant.clone().or_else(|| settings.tenant.clone()),
        ..settings.clone()
    };
    let mut artifacts = resolve_plugins(&sel.plugin, &settings)?;
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
    let runtime = load(sandbox, &artifact)?;
    let dep_runtimes = dependencies
        .iter()
        .map(|a| load(sandbox, a))
        .collect::<anyhow::Result<Vec<_>>>()?;

    // Third-party plugins always run as a tenant (by default one per
    // plugin); built-ins run on the operator's connection unless a tenant
    // is named.
    let tenant_name = sel.tenant.clone().or_else(|| {
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
    Ok(Loaded {
        artifact,
        dependencies,
        runtime,
        dep_runtimes,
        tenant: tenant_name,
        caps,
        warnings,
    })
}

/// Prepares `sel`, loaded as `loaded`, with `seed`: provisions its tenant,
/// checks mode, scale and parameters against `describe`.
pub(super) fn prepare(
    sh: &Shared<'_>,
    sel: &Selection,
    loaded: Loaded,
    seed: u64,
) -> anyhow::Result<Prepared> {
    let cfg = sh.cfg;
    let (run_db, setup_db) = match &loaded.tenant {
        Some(t) => {
            let limit = sel.connections.max(cfg.loaders) + 4;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            // Workloads of a mix sharing a tenant share its role: provision
            // it once (a second provision would rotate the password the
            // first was given) and raise its connection limit to cover all.
            let mut known = sh.tenants.borrow_mut();
            let tenant = match known.get_mut(t) {
                Some((tenant, total)) => {
                    *total += limit;
                    rt.block_on(tenant::set_connection_limit(sh.db, tenant, *total))?;
                    tenant.clone()
                }
                None => {
                    let tenant = rt.block_on(tenant::provision(sh.db, t, limit))?;
                    known.insert(t.clone(), (tenant.clone(), limit));
                    tenant
                }
            };
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
        None => (sh.db.clone(), sh.db.clone()),
    };
    let info =
        runner::describe(&loaded.runtime, sh.db, describe_limits()).map_err(|e| anyhow!(e))?;
    let (mode, scale, params) = choose(&info, sel)?;
    let spec = RunSpec {
        runtime: loaded.runtime.clone(),
        db: run_db,
        setup_db,
        caps: loaded.caps.clone(),
        mode,
        scale,
        params,
        seed,
        workers: sel.workers,
        connections: sel.connections,
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
    Ok(Prepared { loaded, info, spec })
}

/// Sets up the plugins `p` depends on, in dependency order, each in its
/// default mode at the run's scale (when the run sets up at all).
pub(super) fn set_up_dependencies(p: &Prepared, stop: &StopSignal) -> anyhow::Result<()> {
    if p.spec.setup == crate::config::SetupMode::None {
        return Ok(());
    }
    for dep in &p.loaded.dep_runtimes {
        let dep_info =
            runner::describe(dep, &p.spec.db, describe_limits()).map_err(|e| anyhow!(e))?;
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
            ..p.spec.clone()
        };
        runner::setup_only(&dep_spec, stop).map_err(|e| anyhow!("setting up dependency: {e}"))?;
    }
    Ok(())
}
