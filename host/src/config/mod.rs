//! One validated run configuration from the YAML file, the flags and the
//! environment. Flags win over the file; PG* variables count only when
//! neither names a database.

mod database;
mod duration;
mod file;
mod mix;
mod modes;
mod plugins;
mod run;
mod scripts;

pub use database::Database;
pub use duration::parse_duration;
pub use file::{DatabaseSection, FileConfig, GrantsSection, PluginsSection, parse_file, read_file};
pub use mix::{MixEntry, MixEntryFile};
pub use modes::{ConnectionMode, SetupMode, StopAfter};
pub use plugins::{PluginChoice, PluginSettings, TrustFlags};
pub use run::RunConfig;

use std::path::PathBuf;

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {path}: {cause}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The file is not valid YAML or has unknown or mistyped fields.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// serde_yaml's message, with line and column.
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("{0}")]
    Invalid(String),
}

/// Flags naming the pgbench workload and nothing else, for tests.
#[cfg(test)]
pub(crate) fn test_args() -> crate::cli::RunArgs {
    crate::cli::RunArgs {
        workload: Some("pgbench".into()),
        ..Default::default()
    }
}
