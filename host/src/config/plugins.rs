//! Which plugin to run, where packaged plugins are found, and whom to
//! trust to have signed them: the settings shared by every command that
//! resolves plugins, not only `run`.

use super::{ConfigError, FileConfig};
use std::path::{Path, PathBuf};

/// Which plugin to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginChoice {
    /// A built-in workload by name.
    Builtin(String),
    /// A manifest (`*.yaml`) or an unsigned component (`*.wasm`) file.
    File(PathBuf),
    /// `NAME[@RANGE]` of an installed or configured packaged plugin.
    Named(String),
}

impl PluginChoice {
    /// What `--plugin X` means: a path when it looks like one, else a name.
    pub fn from_plugin_arg(arg: &Path) -> PluginChoice {
        let text = arg.to_string_lossy();
        let looks_like_path = text.contains('/')
            || text.ends_with(".wasm")
            || text.ends_with(".yaml")
            || text.ends_with(".yml")
            || arg.is_file();
        if looks_like_path {
            PluginChoice::File(arg.to_path_buf())
        } else {
            PluginChoice::Named(text.into_owned())
        }
    }
}

/// Where packaged plugins come from and who is trusted to sign them.
#[derive(Debug, Clone)]
pub struct PluginSettings {
    /// Directories searched for manifests.
    pub paths: Vec<PathBuf>,
    /// Manifest files.
    pub files: Vec<PathBuf>,
    /// Verify all discovered plugins at start.
    pub auto_load: bool,
    /// The local plugin cache.
    pub cache_dir: Option<PathBuf>,
    /// Largest component accepted, bytes.
    pub max_bytes: u64,
    /// Default registry.
    pub registry: Option<String>,
    /// Lockfile path.
    pub lockfile: PathBuf,
    /// Trust section of the config file.
    pub trust: crate::registry::trust::TrustSection,
    /// Directory that relative key files in `trust` are resolved against.
    pub trust_base: PathBuf,
    /// `--trust KEY.pub` files.
    pub trust_files: Vec<PathBuf>,
    /// `--locked`.
    pub locked: bool,
    /// `--allow-downgrade`.
    pub allow_downgrade: bool,
    /// `--tenant`: selects the tenant's trust set.
    pub tenant: Option<String>,
    /// `--allow-unsigned`.
    pub allow_unsigned: bool,
}

/// Flags shared by every command that resolves plugins.
#[derive(Debug, Clone, Default)]
pub struct TrustFlags {
    /// `--trust` files.
    pub trust: Vec<PathBuf>,
    /// `--locked`.
    pub locked: bool,
    /// `--allow-downgrade`.
    pub allow_downgrade: bool,
    /// `--tenant`.
    pub tenant: Option<String>,
    /// `--allow-unsigned`.
    pub allow_unsigned: bool,
}

impl PluginSettings {
    /// Settings from the config file (paths relative to `config_dir`) and
    /// flags.
    pub fn resolve(
        file: Option<&FileConfig>,
        config_dir: &Path,
        flags: &TrustFlags,
    ) -> PluginSettings {
        let section = file.and_then(|f| f.plugins.clone()).unwrap_or_default();
        let rel = |p: &PathBuf| {
            if p.is_absolute() {
                p.clone()
            } else {
                config_dir.join(p)
            }
        };
        PluginSettings {
            paths: section.paths.iter().map(rel).collect(),
            files: section.files.iter().map(rel).collect(),
            auto_load: section.auto_load,
            cache_dir: section
                .cache_dir
                .as_ref()
                .map(rel)
                .or_else(crate::registry::default_cache_dir),
            max_bytes: section
                .max_artifact_mb
                .map_or(crate::plugin::DEFAULT_MAX_ARTIFACT_BYTES, |mb| {
                    mb.saturating_mul(1 << 20)
                }),
            registry: section.registry.clone(),
            lockfile: section
                .lockfile
                .as_ref()
                .map(rel)
                .unwrap_or_else(|| PathBuf::from("stormdb.lock")),
            trust: file.and_then(|f| f.trust.clone()).unwrap_or_default(),
            trust_base: config_dir.to_path_buf(),
            trust_files: flags.trust.clone(),
            locked: flags.locked,
            allow_downgrade: flags.allow_downgrade,
            tenant: flags.tenant.clone(),
            allow_unsigned: flags.allow_unsigned,
        }
    }

    /// The trust store these settings describe.
    pub fn trust_store(&self) -> Result<crate::registry::trust::TrustStore, ConfigError> {
        let mut store = crate::registry::trust::TrustStore::from_section(
            &self.trust,
            self.tenant.as_deref(),
            &self.trust_base,
        )
        .map_err(|e| ConfigError::Invalid(format!("trust store: {e}")))?;
        store
            .add_files(&self.trust_files)
            .map_err(|e| ConfigError::Invalid(format!("--trust: {e}")))?;
        Ok(store)
    }
}
