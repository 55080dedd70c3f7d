//! One instance's SQL state and the statements it runs.

use super::convert::{Cell, Encoded, encode};
use super::policy::{self, Capabilities, Class, TxControl};
use super::{CallPhase, SqlLimits, StatementHandle, TransactionHandle, copy, from_pg};
use crate::bindings::stormdb::workload::sql::{IsolationLevel, TransactionOptions};
use crate::bindings::{Column, RowSet, SqlError, Value};
use crate::metrics::StatementSample;
use crate::pg::pool::{PgPool, PooledConn, StmtKey};
use futures_util::TryStreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_postgres::Statement;
use tokio_postgres::types::Type;
use wasmtime::component::{Resource, ResourceTable};

/// Process-wide ids for prepared-statement handles.
static NEXT_STATEMENT_ID: AtomicU64 = AtomicU64::new(1);

/// Per-instance SQL state; lives in the wasm store's data.
pub struct SqlSession {
    pool: PgPool,
    pub(super) limits: SqlLimits,
    phase: CallPhase,
    conn: Option<PooledConn>,
    /// Generation of the open transaction, if one is open on `conn`.
    pub(super) open_tx: Option<u64>,
    /// A statement failed inside the open transaction, so the server has
    /// aborted it and a COMMIT would silently roll back.
    tx_failed: bool,
    next_generation: u64,
    pub(super) table: ResourceTable,
    /// Time spent waiting for a pooled connection in the current call, if
    /// the call took one from the pool.
    pool_wait: Option<Duration>,
    statements: u64,
    handles: usize,
    sticky: bool,
    /// Prepared-statement handles resolved on the current connection: a
    /// short list scanned before the connection's shared cache, valid
    /// while `conn` stays the same connection.
    local_statements: Vec<(u64, Statement)>,
    /// What this plugin was granted.
    caps: Capabilities,
    /// Policy classification of SQL texts seen, so each is parsed once,
    /// with the key and text they are reported under.
    classes: HashMap<Box<str>, (Class, u64, Arc<str>)>,
    /// Per-statement timings of the current call (steps only).
    samples: Vec<StatementSample>,
    /// Texts of the host's own statements.
    host_texts: Vec<(&'static str, Arc<str>)>,
    /// A transaction opened with BEGIN as SQL text is open.
    text_tx: bool,
    /// When the last SQL call returned to the guest: CPU accounting charges
    /// the guest only from here, not for time spent waiting on the server.
    last_return: Option<Instant>,
    /// Open a new connection for every call instead of using the pool.
    transient: bool,
    /// Time spent connecting in the current call (transient mode).
    connect_time: Option<Duration>,
}

/// Distinct SQL texts whose classification a session remembers.
const CLASS_CACHE: usize = 512;

/// What a statement to run is: SQL text, or a prepared handle's key.
pub(super) struct Target<'a> {
    key: StmtKey,
    sql: &'a str,
    /// How the statement is reported in per-statement statistics.
    sample: Option<(u64, Arc<str>)>,
}

impl<'a> Target<'a> {
    fn text(sql: &'a str, sample: Option<(u64, Arc<str>)>) -> Self {
        Target {
            key: StmtKey::Text(sql.into()),
            sql,
            sample,
        }
    }

    pub(super) fn handle(id: u64, sql: &'a Arc<str>) -> Self {
        Target {
            key: StmtKey::Handle(id),
            sql,
            sample: Some((id, sql.clone())),
        }
    }
}

/// Statement samples one call keeps; a step running more statements than
/// this is still limited and counted, but not timed statement by statement.
const MAX_SAMPLES_PER_CALL: usize = 4096;

fn text_key(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    // Handle ids count up from 1; text keys live in the upper half.
    h.finish() | (1 << 63)
}

/// Converts an execution error, dropping the cached statement when the
/// server says its plan went stale (the table changed under it).
fn stale_plan(conn: &PooledConn, key: &StmtKey, e: tokio_postgres::Error) -> SqlError {
    if e.code() == Some(&tokio_postgres::error::SqlState::FEATURE_NOT_SUPPORTED) {
        conn.forget(key);
    }
    from_pg(e)
}

/// Runs `stmt` and reads its rows within the result limits.
async fn read_rows(
    conn: &PooledConn,
    stmt: &Statement,
    target: &Target<'_>,
    params: &[Value],
    limits: &SqlLimits,
) -> Result<Vec<Vec<Value>>, SqlError> {
    let encoded = encode_params(stmt.params(), params)?;
    let stream = conn
        .client()
        .query_raw(stmt, encoded.iter())
        .await
        .map_err(|e| stale_plan(conn, &target.key, e))?;
    let ncols = stmt.columns().len();
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
        let mut cells = Vec::with_capacity(ncols);
        for i in 0..ncols {
            let Cell(v, len) = row.try_get::<_, Cell>(i).map_err(|e| {
                SqlError::Invalid(format!("column {}: {e}", stmt.columns()[i].name()))
            })?;
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
    Ok(rows)
}

fn columns_of(stmt: &Statement) -> Vec<Column> {
    stmt.columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_string(),
            type_name: c.type_().name().to_string(),
            type_oid: c.type_().oid(),
        })
        .collect()
}

fn encode_params(types: &[Type], params: &[Value]) -> Result<Vec<Encoded>, SqlError> {
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
            pool_wait: None,
            statements: 0,
            handles: 0,
            sticky: false,
            local_statements: Vec::new(),
            caps: Capabilities::all(),
            classes: HashMap::new(),
            samples: Vec::new(),
            host_texts: Vec::new(),
            text_tx: false,
            last_return: None,
            transient: false,
            connect_time: None,
        }
    }

    /// Open a new connection for every call (and close it after), like
    /// `pgbench -C`, so connecting is part of each step.
    pub fn set_transient(&mut self, transient: bool) {
        self.transient = transient;
    }

    /// Time the current call spent opening its connection (transient mode).
    pub fn take_connect_time(&mut self) -> Option<Duration> {
        self.connect_time.take()
    }

    /// Limit the plugin to `caps` (the manifest's requests as granted).
    pub fn set_capabilities(&mut self, caps: Capabilities) {
        self.caps = caps;
    }

    /// Classifies SQL text sent by the plugin (cached) and checks it may run
    /// now; tracks transactions opened and closed as text. Returns how the
    /// statement is reported.
    fn authorize_text(&mut self, sql: &str) -> Result<(u64, Arc<str>), SqlError> {
        let (class, key, text) = match self.classes.get(sql) {
            Some((c, k, t)) => (c.clone(), *k, t.clone()),
            None => {
                let c = policy::classify(sql);
                if self.classes.len() >= CLASS_CACHE {
                    self.classes.clear();
                }
                let text: Arc<str> = sql.into();
                let key = text_key(sql);
                self.classes
                    .insert(sql.into(), (c.clone(), key, text.clone()));
                (c, key, text)
            }
        };
        policy::check(&class, self.phase, &self.caps).map_err(SqlError::Denied)?;
        match class {
            Class::Tx(TxControl::Begin) => self.text_tx = true,
            Class::Tx(TxControl::End) => self.text_tx = false,
            _ => {}
        }
        Ok((key, text))
    }

    /// The statement timings of the current call, taken.
    pub fn take_samples(&mut self) -> Vec<StatementSample> {
        std::mem::take(&mut self.samples)
    }

    fn sample(&mut self, target: &Target<'_>, elapsed: Duration, ok: bool) {
        if self.phase != CallPhase::Step || self.samples.len() >= MAX_SAMPLES_PER_CALL {
            return;
        }
        if let Some((key, text)) = &target.sample {
            self.samples.push(StatementSample {
                key: *key,
                text: text.clone(),
                elapsed,
                ok,
            });
        }
    }

    /// Checks a prepared statement may run now.
    pub(super) fn authorize_handle(&mut self, class: &Class) -> Result<(), SqlError> {
        policy::check(class, self.phase, &self.caps).map_err(SqlError::Denied)?;
        match class {
            Class::Tx(TxControl::Begin) => self.text_tx = true,
            Class::Tx(TxControl::End) => self.text_tx = false,
            _ => {}
        }
        Ok(())
    }

    /// Keep the connection from one call to the next instead of returning
    /// it to the pool: for instances that have a connection to themselves
    /// (no more workers than connections), which then skip the pool.
    pub fn set_sticky(&mut self, sticky: bool) {
        self.sticky = sticky;
    }

    /// When the last SQL call of the current exported call returned.
    pub fn last_host_return(&self) -> Option<Instant> {
        self.last_return
    }

    /// Prepare for an exported call in `phase`.
    pub fn begin_call(&mut self, phase: CallPhase) {
        self.last_return = None;
        self.connect_time = None;
        self.samples.clear();
        self.phase = phase;
        self.pool_wait = None;
        self.statements = 0;
    }

    /// Finish an exported call: roll back a transaction left open, give the
    /// connection back (or drop it if it is unusable), and return how long
    /// the call waited for a pooled connection, if it took one.
    pub async fn end_call(&mut self) -> Option<Duration> {
        if self.open_tx.is_some() || self.text_tx {
            self.rollback_leftover().await;
        }
        self.finish_call()
    }

    /// The synchronous part of [`SqlSession::end_call`], all a call needs
    /// when it left no transaction open (see [`SqlSession::has_open_tx`]).
    pub fn finish_call(&mut self) -> Option<Duration> {
        self.tx_failed = false;
        if self.transient
            || !self.sticky
            || self.conn.as_ref().is_some_and(|c| c.client().is_closed())
        {
            self.release_conn();
        }
        self.phase = CallPhase::Describe;
        self.pool_wait.take()
    }

    /// True while the plugin has a transaction open.
    pub fn has_open_tx(&self) -> bool {
        self.open_tx.is_some() || self.text_tx
    }

    async fn rollback_leftover(&mut self) {
        self.open_tx = None;
        self.text_tx = false;
        if let Some(conn) = self.conn.as_ref()
            && conn.client().batch_execute("ROLLBACK").await.is_err()
        {
            // A connection that cannot roll back must not serve anyone else.
            if let Some(conn) = self.conn.take() {
                conn.discard();
            }
            self.local_statements.clear();
        }
    }

    fn release_conn(&mut self) {
        self.conn = None;
        self.local_statements.clear();
    }

    /// Forget the connection: for an instance that trapped or was abandoned
    /// mid-statement, whose connection state is unknown. The statement it
    /// may still be running is cancelled.
    pub fn abandon(&mut self) {
        self.open_tx = None;
        self.text_tx = false;
        self.tx_failed = false;
        self.local_statements.clear();
        if let Some(conn) = self.conn.take() {
            conn.cancel_and_discard();
        }
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
            // The pool's wait future and the connect future are several KiB;
            // boxed, they do not inflate every SQL call's future.
            if self.transient {
                let conn = Box::pin(self.pool.connect_fresh()).await;
                *self.connect_time.get_or_insert(Duration::ZERO) += started.elapsed();
                self.conn = Some(conn?);
            } else {
                let conn = Box::pin(self.pool.get()).await;
                *self.pool_wait.get_or_insert(Duration::ZERO) += started.elapsed();
                self.conn = Some(conn?);
            }
        }
        self.statements += 1;
        if self.statements > self.limits.max_statements_per_call {
            return Err(SqlError::Limit(format!(
                "more than {} statements in one call (the per-step statement limit)",
                self.limits.max_statements_per_call
            )));
        }
        self.conn
            .as_ref()
            .ok_or_else(|| SqlError::Connection("no connection".into()))
    }

    async fn statement(
        &mut self,
        target: &Target<'_>,
    ) -> Result<(Statement, &PooledConn), SqlError> {
        if target.sql.trim().is_empty() {
            return Err(SqlError::Invalid("empty statement".into()));
        }
        let cap = self.limits.statement_cache;
        if self.conn.is_none() {
            self.local_statements.clear();
        }
        self.connection().await?;
        let local = match target.key {
            StmtKey::Handle(id) => self
                .local_statements
                .iter()
                .find(|(h, _)| *h == id)
                .map(|(_, s)| s.clone()),
            StmtKey::Text(_) => None,
        };
        let stmt = match local {
            Some(s) => s,
            None => {
                let conn = self
                    .conn
                    .as_ref()
                    .ok_or_else(|| SqlError::Connection("no connection".into()))?;
                let s = conn
                    .statement(target.key.clone(), target.sql, cap)
                    .await
                    .map_err(from_pg)?;
                if let StmtKey::Handle(id) = target.key
                    && self.local_statements.len() < 32
                {
                    self.local_statements.push((id, s.clone()));
                }
                s
            }
        };
        let conn = self
            .conn
            .as_ref()
            .ok_or_else(|| SqlError::Connection("no connection".into()))?;
        Ok((stmt, conn))
    }

    /// Remembers a failure inside an open transaction (see `tx_failed`).
    fn note<T>(&mut self, r: Result<T, SqlError>) -> Result<T, SqlError> {
        // Every SQL call's result passes here just before it returns to
        // the guest: the end of time not charged to its CPU budget.
        self.last_return = Some(Instant::now());
        if let Err(e) = &r {
            if self.open_tx.is_some() {
                self.tx_failed = true;
            }
            // A stale plan (0A000): re-resolve handles on the next use.
            if matches!(e, SqlError::Database(d) if d.sqlstate == "0A000") {
                self.local_statements.clear();
            }
        }
        r
    }

    /// `query` with SQL text: rows and their column metadata.
    pub(super) async fn query(&mut self, sql: &str, params: &[Value]) -> Result<RowSet, SqlError> {
        let sample = match self.authorize_text(sql) {
            Ok(s) => s,
            Err(e) => return self.note(Err(e)),
        };
        let r = self.fetch(&Target::text(sql, Some(sample)), params).await;
        let r = r.map(|(columns, rows)| RowSet { columns, rows });
        self.note(r)
    }

    /// A prepared statement's rows.
    pub(super) async fn query_prepared(
        &mut self,
        target: &Target<'_>,
        params: &[Value],
    ) -> Result<Vec<Vec<Value>>, SqlError> {
        let r = self.fetch(target, params).await.map(|(_, rows)| rows);
        self.note(r)
    }

    async fn fetch(
        &mut self,
        target: &Target<'_>,
        params: &[Value],
    ) -> Result<(Vec<Column>, Vec<Vec<Value>>), SqlError> {
        let limits = self.limits.clone();
        let want_columns = matches!(target.key, StmtKey::Text(_));
        let (stmt, conn) = self.statement(target).await?;
        // Timed from sending to the last row; preparing and waiting for a
        // connection are not part of a statement's latency.
        let started = Instant::now();
        let result = read_rows(conn, &stmt, target, params, &limits).await;
        let elapsed = started.elapsed();
        self.sample(target, elapsed, result.is_ok());
        let rows = result?;
        let columns = if want_columns {
            columns_of(&stmt)
        } else {
            Vec::new()
        };
        Ok((columns, rows))
    }

    /// `execute` with SQL text or a prepared statement.
    pub(super) async fn execute(
        &mut self,
        target: &Target<'_>,
        params: &[Value],
    ) -> Result<u64, SqlError> {
        let r = self.execute_inner(target, params).await;
        self.note(r)
    }

    /// `execute` with SQL text from the plugin.
    pub(super) async fn execute_text(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<u64, SqlError> {
        let sample = match self.authorize_text(sql) {
            Ok(s) => s,
            Err(e) => return self.note(Err(e)),
        };
        self.execute(&Target::text(sql, Some(sample)), params).await
    }

    /// SQL the host itself sends (BEGIN, COMMIT, ROLLBACK): not the
    /// plugin's, so not subject to its policy.
    async fn execute_host(&mut self, sql: &'static str) -> Result<u64, SqlError> {
        let sample = (text_key(sql), self.host_text(sql));
        self.execute(&Target::text(sql, Some(sample)), &[]).await
    }

    /// The shared text of a statement the host sends (BEGIN, COMMIT...),
    /// so reporting it allocates nothing per call.
    fn host_text(&mut self, sql: &'static str) -> Arc<str> {
        if let Some((_, t)) = self.host_texts.iter().find(|(s, _)| std::ptr::eq(*s, sql)) {
            return t.clone();
        }
        let t: Arc<str> = sql.into();
        if self.host_texts.len() < 16 {
            self.host_texts.push((sql, t.clone()));
        }
        t
    }

    async fn execute_inner(
        &mut self,
        target: &Target<'_>,
        params: &[Value],
    ) -> Result<u64, SqlError> {
        let (stmt, conn) = self.statement(target).await?;
        let encoded = encode_params(stmt.params(), params)?;
        let started = Instant::now();
        let result = conn
            .client()
            .execute_raw(&stmt, encoded.iter())
            .await
            .map_err(|e| stale_plan(conn, &target.key, e));
        let elapsed = started.elapsed();
        self.sample(target, elapsed, result.is_ok());
        result
    }

    /// `copy-in`.
    pub(super) async fn copy_in(
        &mut self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<u64, SqlError> {
        let cap = self.limits.statement_cache;
        if !self.caps.copy {
            return self.note(Err(SqlError::Denied(
                "the plugin was not granted the 'copy' capability".into(),
            )));
        }
        if matches!(self.phase, CallPhase::Describe | CallPhase::Inspect) {
            return self.note(Err(SqlError::Denied(
                "copy-in is not allowed in describe, is-loaded or summarize".into(),
            )));
        }
        let r = match self.connection().await {
            Ok(conn) => copy::copy_in(conn, cap, table, columns, rows).await,
            Err(e) => Err(e),
        };
        self.note(r)
    }

    /// `prepare`: checks the statement on a connection now and returns its
    /// handle.
    pub(super) async fn prepare(&mut self, sql: &str) -> Result<StatementHandle, SqlError> {
        if self.handles >= self.limits.max_statement_handles {
            return Err(SqlError::Limit(format!(
                "more than {} prepared statements held at once",
                self.limits.max_statement_handles
            )));
        }
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
    pub(super) fn released_handle(&mut self) {
        self.handles = self.handles.saturating_sub(1);
    }

    /// `begin`.
    pub(super) async fn begin(
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
    pub(super) fn live_tx(
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
    pub(super) async fn finish_tx(
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
    pub(super) async fn drop_tx(&mut self, generation: u64) {
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

    /// Parameter types of a prepared handle, to check arity before running.
    pub(super) fn check_arity(handle: &StatementHandle, params: &[Value]) -> Result<(), SqlError> {
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

#[cfg(test)]
mod tests {
    /// The future of every SQL call is moved into a box by wasmtime's
    /// bindings: a few KiB here showed up as 10% of the client's CPU in
    /// memcpy. Large, rare paths (pool waits, preparing) are boxed.
    #[test]
    fn sql_call_futures_stay_small() {
        let pool = crate::pg::pool::PgPool::new(
            tokio_postgres::Config::new(),
            1,
            std::time::Duration::from_secs(1),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut s = super::SqlSession::new(pool, Default::default());
        let sql: std::sync::Arc<str> = "SELECT 1".into();
        let t = super::Target::handle(1, &sql);
        let size = std::mem::size_of_val(&s.fetch(&t, &[]));
        assert!(size <= 1536, "fetch future is {size} bytes");
        let size = std::mem::size_of_val(&s.execute(&t, &[]));
        assert!(size <= 1536, "execute future is {size} bytes");
    }
}
