//! Prepared-statement handles: checked against the policy and prepared on
//! a connection when created, then run by id from each connection's cache.

use super::SqlSession;
use super::exec::{Target, columns_of};
use crate::bindings::{SqlError, Value};
use crate::capability::sql::policy;
use crate::capability::sql::{CallPhase, StatementHandle};
use crate::pg::pool::StmtKey;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Process-wide ids for prepared-statement handles.
static NEXT_STATEMENT_ID: AtomicU64 = AtomicU64::new(1);

impl SqlSession {
    /// `prepare`: checks the statement on a connection now and returns its
    /// handle.
    pub(in crate::capability::sql) async fn prepare(
        &mut self,
        sql: &str,
    ) -> Result<StatementHandle, SqlError> {
        if self.handles >= self.limits.max_statement_handles {
            return Err(SqlError::Limit(format!(
                "more than {} prepared statements held at once",
                self.limits.max_statement_handles
            )));
        }
        policy::check_length(sql).map_err(SqlError::Limit)?;
        let class = policy::classify(sql);
        // Checked as if in setup-schema, where everything but forbidden
        // statements and missing capabilities passes; each use is then
        // checked against its own call's phase.
        if self.phase == CallPhase::Describe {
            return Err(SqlError::Denied("SQL is not available in describe".into()));
        }
        policy::check(&class, CallPhase::Schema, &self.caps).map_err(SqlError::Denied)?;
        let id = NEXT_STATEMENT_ID.fetch_add(1, Ordering::Relaxed);
        let sql: Arc<str> = sql.into();
        let target = Target {
            key: StmtKey::Handle(id),
            sql: &sql,
            sample: None,
        };
        let r = self.statement(&target).await.map(|(stmt, _)| stmt);
        let stmt = self.note(r)?;
        self.handles += 1;
        Ok(StatementHandle {
            id,
            columns: columns_of(&stmt),
            params: stmt.params().to_vec(),
            sql: sql.clone(),
            class,
        })
    }

    /// A statement handle was dropped.
    pub(in crate::capability::sql) fn released_handle(&mut self) {
        self.handles = self.handles.saturating_sub(1);
    }

    /// Parameter types of a prepared handle, to check arity before running.
    pub(in crate::capability::sql) fn check_arity(
        handle: &StatementHandle,
        params: &[Value],
    ) -> Result<(), SqlError> {
        if handle.params.len() != params.len() {
            return Err(SqlError::Invalid(format!(
                "the statement has {} parameter(s) but {} value(s) were given",
                handle.params.len(),
                params.len()
            )));
        }
        Ok(())
    }
}
