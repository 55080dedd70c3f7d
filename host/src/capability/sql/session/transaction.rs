//! Transactions opened through the `begin` call: the host sends BEGIN,
//! COMMIT and ROLLBACK itself, and a generation number makes a stale
//! `transaction` handle refuse instead of acting on a later transaction.

use super::SqlSession;
use crate::bindings::SqlError;
use crate::bindings::stormdb::workload::sql::{IsolationLevel, TransactionOptions};
use crate::capability::sql::TransactionHandle;
use wasmtime::component::Resource;

impl SqlSession {
    /// `begin`.
    pub(in crate::capability::sql) async fn begin(
        &mut self,
        options: TransactionOptions,
    ) -> Result<TransactionHandle, SqlError> {
        if self.open_tx.is_some() {
            return Err(SqlError::Invalid(
                "a transaction is already open in this call".into(),
            ));
        }
        let sql = match (options.isolation, options.read_only) {
            (IsolationLevel::Default, false) => "BEGIN",
            (IsolationLevel::Default, true) => "BEGIN READ ONLY",
            (IsolationLevel::ReadCommitted, false) => "BEGIN ISOLATION LEVEL READ COMMITTED",
            (IsolationLevel::ReadCommitted, true) => {
                "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY"
            }
            (IsolationLevel::RepeatableRead, false) => "BEGIN ISOLATION LEVEL REPEATABLE READ",
            (IsolationLevel::RepeatableRead, true) => {
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
            }
            (IsolationLevel::Serializable, false) => "BEGIN ISOLATION LEVEL SERIALIZABLE",
            (IsolationLevel::Serializable, true) => "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY",
        };
        self.execute_host(sql).await?;
        let generation = self.next_generation;
        self.next_generation += 1;
        self.open_tx = Some(generation);
        self.tx_failed = false;
        Ok(TransactionHandle { generation })
    }

    /// Checks that `handle` names the transaction open now.
    pub(in crate::capability::sql) fn live_tx(
        &self,
        handle: &Resource<TransactionHandle>,
    ) -> wasmtime::Result<Result<(), SqlError>> {
        let tx = self.table.get(handle)?;
        Ok(if self.open_tx == Some(tx.generation) {
            Ok(())
        } else {
            Err(SqlError::Invalid(
                "the transaction is already committed or rolled back".into(),
            ))
        })
    }

    /// `commit` or `rollback` of the transaction `handle` names.
    pub(in crate::capability::sql) async fn finish_tx(
        &mut self,
        handle: &Resource<TransactionHandle>,
        commit: bool,
    ) -> wasmtime::Result<Result<(), SqlError>> {
        if let Err(e) = self.live_tx(handle)? {
            return Ok(Err(e));
        }
        // Whatever the server answers, the transaction is over.
        self.open_tx = None;
        let failed = std::mem::take(&mut self.tx_failed);
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        let result = self.execute_host(sql).await.map(|_| ());
        if failed && commit && result.is_ok() {
            return Ok(Err(SqlError::Invalid(
                "COMMIT after a failed statement: the server rolled the transaction back".into(),
            )));
        }
        Ok(result)
    }

    /// The transaction resource was dropped: roll it back if still open.
    pub(in crate::capability::sql) async fn drop_tx(&mut self, generation: u64) {
        if self.open_tx == Some(generation) {
            self.open_tx = None;
            self.tx_failed = false;
            if let Err(e) = self.execute_host("ROLLBACK").await {
                tracing::debug!("rollback of a dropped transaction failed: {e:?}");
                if let Some(conn) = self.conn.take() {
                    conn.discard();
                }
            }
        }
    }
}
