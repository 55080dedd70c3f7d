//! Running statements: resolving them on the call's connection (through
//! the per-connection statement cache), encoding parameters, reading rows
//! within the result limits, and timing each for per-statement statistics.

use super::SqlSession;
use crate::bindings::{Column, RowSet, SqlError, Value};
use crate::capability::sql::convert::{Cell, Encoded, encode};
use crate::capability::sql::{CallPhase, SqlLimits, copy, from_pg};
use crate::metrics::StatementSample;
use crate::pg::pool::{PooledConn, StmtKey};
use futures_util::TryStreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::Statement;
use tokio_postgres::types::Type;

/// What a statement to run is: SQL text, or a prepared handle's key.
pub(in crate::capability::sql) struct Target<'a> {
    pub(super) key: StmtKey,
    pub(super) sql: &'a str,
    /// How the statement is reported in per-statement statistics.
    pub(super) sample: Option<(u64, Arc<str>)>,
}

impl<'a> Target<'a> {
    fn text(sql: &'a str, sample: Option<(u64, Arc<str>)>) -> Self {
        Target {
            key: StmtKey::Text(sql.into()),
            sql,
            sample,
        }
    }

    pub(in crate::capability::sql) fn handle(id: u64, sql: &'a Arc<str>) -> Self {
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

/// The key a text statement's samples are reported under.
pub(super) fn text_key(text: &str) -> u64 {
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
    // What a row costs the host besides its cell data: a NULL or a bool
    // carries no bytes but still takes a value's room, so counting data
    // alone would let a wide result of NULLs take gigabytes.
    let row_cost =
        (std::mem::size_of::<Vec<Value>>() + ncols * std::mem::size_of::<Value>()) as u64;
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
        bytes += row_cost;
        for i in 0..ncols {
            let Cell(v, len) = row.try_get::<_, Cell>(i).map_err(|e| {
                SqlError::Invalid(format!("column {}: {e}", stmt.columns()[i].name()))
            })?;
            bytes += len as u64;
            cells.push(v);
        }
        if bytes > limits.max_result_bytes {
            return Err(SqlError::Limit(format!(
                "the result takes more than {} bytes (the per-result byte limit)",
                limits.max_result_bytes
            )));
        }
        rows.push(cells);
    }
    Ok(rows)
}

pub(super) fn columns_of(stmt: &Statement) -> Vec<Column> {
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
    /// Time since `started`, keeping the clock reading for `note`.
    fn finished(&mut self, started: Instant) -> Duration {
        let now = Instant::now();
        self.finished_at = Some(now);
        now.saturating_duration_since(started)
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

    pub(super) async fn statement(
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

    /// `query` with SQL text: rows and their column metadata.
    pub(in crate::capability::sql) async fn query(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> Result<RowSet, SqlError> {
        let sample = match self.authorize_text(sql) {
            Ok(s) => s,
            Err(e) => return self.note(Err(e)),
        };
        let r = self.fetch(&Target::text(sql, Some(sample)), params).await;
        let r = r.map(|(columns, rows)| RowSet { columns, rows });
        self.note(r)
    }

    /// A prepared statement's rows.
    pub(in crate::capability::sql) async fn query_prepared(
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
        let elapsed = self.finished(started);
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
    pub(in crate::capability::sql) async fn execute(
        &mut self,
        target: &Target<'_>,
        params: &[Value],
    ) -> Result<u64, SqlError> {
        let r = self.execute_inner(target, params).await;
        self.add_rows_written(&r);
        self.note(r)
    }

    /// `execute` with SQL text from the plugin.
    pub(in crate::capability::sql) async fn execute_text(
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
    pub(super) async fn execute_host(&mut self, sql: &'static str) -> Result<u64, SqlError> {
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
        let elapsed = self.finished(started);
        self.sample(target, elapsed, result.is_ok());
        result
    }

    /// `copy-in`.
    pub(in crate::capability::sql) async fn copy_in(
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
        self.add_rows_written(&r);
        self.note(r)
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
