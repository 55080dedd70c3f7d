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

use crate::bindings::stormdb::workload::sql::{
    Host, HostTransaction, IsolationLevel, TransactionOptions,
};
use crate::bindings::{Column, RowSet, SqlError, Value};
use crate::pg::pool::{PgPool, PooledConn};
use convert::{Cell, Encoded, encode};
pub(crate) use error::from_pg;
use futures_util::TryStreamExt;
use std::time::{Duration, Instant};
use tokio_postgres::Statement;
use wasmtime::component::{Resource, ResourceTable};

/// The handle behind a `transaction` resource. The session keeps the state;
/// the handle only names which transaction it was, so a stale handle (after
/// commit, or from an earlier call) is refused.
pub struct TransactionHandle {
    generation: u64,
}

/// Which exported call is running; the SQL allowed depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPhase {
    /// `describe`: no SQL at all.
    Describe,
    /// Setup, init, step and cleanup.
    Work,
}

/// Caps that keep one plugin from exhausting the host.
#[derive(Debug, Clone)]
pub struct SqlLimits {
    /// Rows one result may hold.
    pub max_result_rows: u64,
    /// Bytes of cell data one result may hold.
    pub max_result_bytes: u64,
    /// Prepared statements cached per connection; the cache starts over
    /// when a plugin sends more distinct statements than this.
    pub statement_cache: usize,
}

impl Default for SqlLimits {
    fn default() -> Self {
        SqlLimits {
            max_result_rows: 1_000_000,
            max_result_bytes: 256 << 20,
            statement_cache: 512,
        }
    }
}

/// Per-instance SQL state; lives in the wasm store's data.
pub struct SqlSession {
    pool: PgPool,
    limits: SqlLimits,
    phase: CallPhase,
    conn: Option<PooledConn>,
    /// Generation of the open transaction, if one is open on `conn`.
    open_tx: Option<u64>,
    /// A statement failed inside the open transaction, so the server has
    /// aborted it and a COMMIT would silently roll back.
    tx_failed: bool,
    next_generation: u64,
    table: ResourceTable,
    /// Time spent waiting for a pooled connection in the current call.
    pool_wait: Duration,
    statements: u64,
    sticky: bool,
}

impl SqlSession {
    /// A session drawing connections from `pool`.
    pub fn new(pool: PgPool, limits: SqlLimits) -> Self {
        SqlSession {
            pool,
            limits,
            phase: CallPhase::Describe,
            conn: None,
            open_tx: None,
            tx_failed: false,
            next_generation: 1,
            table: ResourceTable::new(),
            pool_wait: Duration::ZERO,
            statements: 0,
            sticky: false,
        }
    }

    /// Prepare for an exported call in `phase`.
    pub fn begin_call(&mut self, phase: CallPhase) {
        self.phase = phase;
        self.pool_wait = Duration::ZERO;
        self.statements = 0;
    }

    /// Finish an exported call: roll back a transaction left open, give the
    /// connection back (or drop it if it is unusable), and return how long
    /// the call waited for a connection.
    pub async fn end_call(&mut self) -> Duration {
        self.tx_failed = false;
        if self.open_tx.take().is_some()
            && let Some(conn) = self.conn.as_ref()
            && conn.client().batch_execute("ROLLBACK").await.is_err()
        {
            // A connection that cannot roll back must not serve anyone else.
            if let Some(conn) = self.conn.take() {
                conn.discard();
            }
        }
        if !self.sticky || self.conn.as_ref().is_some_and(|c| c.client().is_closed()) {
            self.conn = None;
        }
        self.phase = CallPhase::Describe;
        std::mem::take(&mut self.pool_wait)
    }

    /// Forget the connection without touching it: for an instance that
    /// trapped or timed out mid-statement, whose connection state is unknown.
    pub fn abandon(&mut self) {
        self.open_tx = None;
        self.tx_failed = false;
        if let Some(conn) = self.conn.take() {
            conn.cancel_and_discard();
        }
    }

    /// Keep the connection from one call to the next instead of returning
    /// it to the pool: for instances that have a connection to themselves
    /// (no more workers than connections), which then skip the pool.
    pub fn set_sticky(&mut self, sticky: bool) {
        self.sticky = sticky;
    }

    /// Statements run in the current call.
    pub fn statements(&self) -> u64 {
        self.statements
    }

    async fn connection(&mut self) -> Result<&PooledConn, SqlError> {
        if self.phase == CallPhase::Describe {
            return Err(SqlError::Denied(
                "SQL is not available in describe".to_string(),
            ));
        }
        if self.conn.is_none() {
            let started = Instant::now();
            let conn = self.pool.get().await;
            self.pool_wait += started.elapsed();
            self.conn = Some(conn?);
        }
        self.statements += 1;
        self.conn
            .as_ref()
            .ok_or_else(|| SqlError::Connection("no connection".into()))
    }

    async fn prepare(&mut self, statement: &str) -> Result<(Statement, &PooledConn), SqlError> {
        if statement.trim().is_empty() {
            return Err(SqlError::Invalid("empty statement".into()));
        }
        let cap = self.limits.statement_cache;
        let conn = self.connection().await?;
        let stmt = conn.prepare_cached(statement, cap).await.map_err(from_pg)?;
        Ok((stmt, conn))
    }

    fn encode_params(stmt: &Statement, params: &[Value]) -> Result<Vec<Encoded>, SqlError> {
        let types = stmt.params();
        if types.len() != params.len() {
            return Err(SqlError::Invalid(format!(
                "the statement has {} parameter(s) but {} value(s) were given",
                types.len(),
                params.len()
            )));
        }
        params
            .iter()
            .zip(types)
            .enumerate()
            .map(|(i, (v, ty))| {
                encode(v, ty).map_err(|e| SqlError::Invalid(format!("parameter ${}: {e}", i + 1)))
            })
            .collect()
    }

    /// Remembers a failure inside an open transaction (see `tx_failed`).
    fn note<T>(&mut self, r: Result<T, SqlError>) -> Result<T, SqlError> {
        if r.is_err() && self.open_tx.is_some() {
            self.tx_failed = true;
        }
        r
    }

    async fn run_query(&mut self, statement: &str, params: &[Value]) -> Result<RowSet, SqlError> {
        let r = self.query_rows(statement, params).await;
        self.note(r)
    }

    async fn query_rows(&mut self, statement: &str, params: &[Value]) -> Result<RowSet, SqlError> {
        let limits = self.limits.clone();
        let (stmt, conn) = self.prepare(statement).await?;
        let encoded = Self::encode_params(&stmt, params)?;
        let stream = conn
            .client()
            .query_raw(&stmt, encoded.iter())
            .await
            .map_err(|e| stale_plan(conn, statement, e))?;
        let columns: Vec<Column> = stmt
            .columns()
            .iter()
            .map(|c| Column {
                name: c.name().to_string(),
                type_name: c.type_().name().to_string(),
                type_oid: c.type_().oid(),
            })
            .collect();
        let mut rows = Vec::new();
        let mut bytes: u64 = 0;
        let mut stream = std::pin::pin!(stream);
        while let Some(row) = stream.try_next().await.map_err(from_pg)? {
            if rows.len() as u64 >= limits.max_result_rows {
                return Err(SqlError::Limit(format!(
                    "the result has more than {} rows (the per-result row limit)",
                    limits.max_result_rows
                )));
            }
            let mut cells = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                let Cell(v, len) = row
                    .try_get::<_, Cell>(i)
                    .map_err(|e| SqlError::Invalid(format!("column {}: {e}", columns[i].name)))?;
                bytes += len as u64;
                cells.push(v);
            }
            if bytes > limits.max_result_bytes {
                return Err(SqlError::Limit(format!(
                    "the result has more than {} bytes (the per-result byte limit)",
                    limits.max_result_bytes
                )));
            }
            rows.push(cells);
        }
        Ok(RowSet { columns, rows })
    }

    async fn run_execute(&mut self, statement: &str, params: &[Value]) -> Result<u64, SqlError> {
        let r = self.execute_raw(statement, params).await;
        self.note(r)
    }

    async fn execute_raw(&mut self, statement: &str, params: &[Value]) -> Result<u64, SqlError> {
        let (stmt, conn) = self.prepare(statement).await?;
        let encoded = Self::encode_params(&stmt, params)?;
        conn.client()
            .execute_raw(&stmt, encoded.iter())
            .await
            .map_err(|e| stale_plan(conn, statement, e))
    }

    async fn run_copy_in(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<u64, SqlError> {
        let cap = self.limits.statement_cache;
        let r = match self.connection().await {
            Ok(conn) => copy::copy_in(conn, cap, table, columns, rows).await,
            Err(e) => Err(e),
        };
        self.note(r)
    }

    async fn run_begin(&mut self, options: TransactionOptions) -> Result<u64, SqlError> {
        if self.open_tx.is_some() {
            return Err(SqlError::Invalid(
                "a transaction is already open in this call".into(),
            ));
        }
        let mut sql = String::from("BEGIN");
        match options.isolation {
            IsolationLevel::Default => {}
            IsolationLevel::ReadCommitted => sql.push_str(" ISOLATION LEVEL READ COMMITTED"),
            IsolationLevel::RepeatableRead => sql.push_str(" ISOLATION LEVEL REPEATABLE READ"),
            IsolationLevel::Serializable => sql.push_str(" ISOLATION LEVEL SERIALIZABLE"),
        }
        if options.read_only {
            sql.push_str(" READ ONLY");
        }
        self.run_execute(&sql, &[]).await?;
        let generation = self.next_generation;
        self.next_generation += 1;
        self.open_tx = Some(generation);
        self.tx_failed = false;
        Ok(generation)
    }

    /// Checks that `handle` names the transaction open now.
    fn live_tx(
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

    async fn finish_tx(
        &mut self,
        handle: &Resource<TransactionHandle>,
        sql: &str,
    ) -> wasmtime::Result<Result<(), SqlError>> {
        if let Err(e) = self.live_tx(handle)? {
            return Ok(Err(e));
        }
        // Whatever the server answers, the transaction is over.
        self.open_tx = None;
        let failed = std::mem::take(&mut self.tx_failed);
        let result = self.run_execute(sql, &[]).await.map(|_| ());
        if failed && sql == "COMMIT" && result.is_ok() {
            return Ok(Err(SqlError::Invalid(
                "COMMIT after a failed statement: the server rolled the transaction back".into(),
            )));
        }
        Ok(result)
    }
}

/// Converts an execution error, dropping the cached statement when the
/// server says its plan went stale (the table changed under it).
fn stale_plan(conn: &PooledConn, statement: &str, e: tokio_postgres::Error) -> SqlError {
    if e.code() == Some(&tokio_postgres::error::SqlState::FEATURE_NOT_SUPPORTED) {
        conn.forget(statement);
    }
    from_pg(e)
}

impl crate::bindings::stormdb::workload::types::Host for SqlSession {}

impl Host for SqlSession {
    async fn query(
        &mut self,
        statement: String,
        params: Vec<Value>,
    ) -> wasmtime::Result<Result<RowSet, SqlError>> {
        Ok(self.run_query(&statement, &params).await)
    }

    async fn execute(
        &mut self,
        statement: String,
        params: Vec<Value>,
    ) -> wasmtime::Result<Result<u64, SqlError>> {
        Ok(self.run_execute(&statement, &params).await)
    }

    async fn copy_in(
        &mut self,
        table: String,
        columns: Vec<String>,
        rows: Vec<Vec<Value>>,
    ) -> wasmtime::Result<Result<u64, SqlError>> {
        Ok(self.run_copy_in(&table, &columns, &rows).await)
    }

    async fn begin(
        &mut self,
        options: TransactionOptions,
    ) -> wasmtime::Result<Result<Resource<TransactionHandle>, SqlError>> {
        match self.run_begin(options).await {
            Ok(generation) => Ok(Ok(self.table.push(TransactionHandle { generation })?)),
            Err(e) => Ok(Err(e)),
        }
    }
}

impl HostTransaction for SqlSession {
    async fn query(
        &mut self,
        handle: Resource<TransactionHandle>,
        statement: String,
        params: Vec<Value>,
    ) -> wasmtime::Result<Result<RowSet, SqlError>> {
        if let Err(e) = self.live_tx(&handle)? {
            return Ok(Err(e));
        }
        Ok(self.run_query(&statement, &params).await)
    }

    async fn execute(
        &mut self,
        handle: Resource<TransactionHandle>,
        statement: String,
        params: Vec<Value>,
    ) -> wasmtime::Result<Result<u64, SqlError>> {
        if let Err(e) = self.live_tx(&handle)? {
            return Ok(Err(e));
        }
        Ok(self.run_execute(&statement, &params).await)
    }

    async fn copy_in(
        &mut self,
        handle: Resource<TransactionHandle>,
        table: String,
        columns: Vec<String>,
        rows: Vec<Vec<Value>>,
    ) -> wasmtime::Result<Result<u64, SqlError>> {
        if let Err(e) = self.live_tx(&handle)? {
            return Ok(Err(e));
        }
        Ok(self.run_copy_in(&table, &columns, &rows).await)
    }

    async fn commit(
        &mut self,
        handle: Resource<TransactionHandle>,
    ) -> wasmtime::Result<Result<(), SqlError>> {
        self.finish_tx(&handle, "COMMIT").await
    }

    async fn rollback(
        &mut self,
        handle: Resource<TransactionHandle>,
    ) -> wasmtime::Result<Result<(), SqlError>> {
        self.finish_tx(&handle, "ROLLBACK").await
    }

    async fn drop(&mut self, handle: Resource<TransactionHandle>) -> wasmtime::Result<()> {
        let tx = self.table.delete(handle)?;
        if self.open_tx == Some(tx.generation) {
            self.open_tx = None;
            if let Err(e) = self.run_execute("ROLLBACK", &[]).await {
                tracing::debug!("rollback of a dropped transaction failed: {e:?}");
                if let Some(conn) = self.conn.take() {
                    conn.discard();
                }
            }
        }
        Ok(())
    }
}
