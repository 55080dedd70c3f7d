//! How a run stops, connects and prepares its tables: the small choices
//! the runner branches on.

use super::ConfigError;
use std::time::Duration;

/// When the run stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopAfter {
    /// After measuring this long.
    Duration(Duration),
    /// After this many transactions in all.
    Transactions(u64),
}

/// How workers get their connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionMode {
    /// From the pool, kept between steps.
    #[default]
    Persistent,
    /// A new connection for every step (like `pgbench -C`).
    Transient,
    /// Even workers persistent, odd workers transient.
    Mixed,
}

impl ConnectionMode {
    /// Parses `persistent`, `transient` or `mixed`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        match text {
            "persistent" => Ok(ConnectionMode::Persistent),
            "transient" => Ok(ConnectionMode::Transient),
            "mixed" => Ok(ConnectionMode::Mixed),
            other => Err(ConfigError::Invalid(format!(
                "--connection-mode '{other}': use persistent, transient or mixed"
            ))),
        }
    }

    /// Whether `worker` connects per step.
    pub fn transient(self, worker: u32) -> bool {
        match self {
            ConnectionMode::Persistent => false,
            ConnectionMode::Transient => true,
            ConnectionMode::Mixed => worker % 2 == 1,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            ConnectionMode::Persistent => "persistent",
            ConnectionMode::Transient => "transient",
            ConnectionMode::Mixed => "mixed",
        }
    }
}

/// What to do about the workload's tables before the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupMode {
    /// Nothing: the tables must exist.
    None,
    /// Create and load them unless already loaded at this scale.
    IfNeeded,
    /// Drop, create and load them.
    Rebuild,
}
