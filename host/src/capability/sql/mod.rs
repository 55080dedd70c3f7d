//! The SQL capability: what `stormdb:workload/sql` does on the host.
//!
//! A [`SqlSession`] belongs to one plugin instance. It takes a connection
//! from its pool at the first statement of an exported call and keeps it
//! until the call ends, so every statement of a step (and its transaction)
//! runs on one connection; [`SqlSession::end_call`] rolls back what the
//! plugin left open and gives the connection back.

mod convert;
mod copy;
mod error;
mod host;
pub mod policy;
mod session;

pub(crate) use error::from_pg;
pub use session::SqlSession;

use crate::bindings::Column;
use std::sync::Arc;
use tokio_postgres::types::Type;

/// The handle behind a `transaction` resource. The session keeps the state;
/// the handle only names which transaction it was, so a stale handle (after
/// commit, or from an earlier call) is refused.
pub struct TransactionHandle {
    generation: u64,
}

/// The handle behind a `statement` resource: the SQL, what the server said
/// about it when it was prepared, and a process-wide id that keys it in each
/// connection's statement cache.
pub struct StatementHandle {
    id: u64,
    sql: Arc<str>,
    columns: Vec<Column>,
    params: Vec<Type>,
    class: policy::Class,
}

impl StatementHandle {
    /// Its cache id and SQL, to run it without holding the table borrowed.
    pub(crate) fn target_parts(&self) -> (u64, Arc<str>) {
        (self.id, self.sql.clone())
    }

    /// What the statement does, classified when it was prepared.
    pub(crate) fn class(&self) -> &policy::Class {
        &self.class
    }
}

pub use policy::{Capabilities, Phase as CallPhase};

/// Caps that keep one plugin from exhausting the host.
#[derive(Debug, Clone)]
pub struct SqlLimits {
    /// Rows one result may hold.
    pub max_result_rows: u64,
    /// Bytes one result may take in the host: cell data plus the room each
    /// row and value takes.
    pub max_result_bytes: u64,
    /// Prepared statements cached per connection; the cache starts over
    /// when a plugin sends more distinct statements than this.
    pub statement_cache: usize,
    /// Prepared-statement handles one instance may hold.
    pub max_statement_handles: usize,
    /// Statements one exported call (one step) may run.
    pub max_statements_per_call: u64,
}

impl Default for SqlLimits {
    fn default() -> Self {
        SqlLimits {
            max_result_rows: 1_000_000,
            max_result_bytes: 256 << 20,
            statement_cache: 512,
            max_statement_handles: 256,
            max_statements_per_call: 100_000,
        }
    }
}
