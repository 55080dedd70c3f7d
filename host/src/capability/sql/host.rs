//! The generated host traits of `stormdb:workload/sql`, implemented on
//! [`SqlSession`]. Plugin-caused failures are `Ok(Err(sql-error))`; only a
//! handle that is not in the table (a host bug or a forged handle) traps.
//!
//! Every plugin statement boxes its future right here, at the entry point:
//! wasmtime's bindings box the returned future and each async layer between
//! moves its child into place, so an unboxed future of a KiB or more was
//! copied three times per call. Boxing deeper (around the round trip in
//! `fetch`) was measured to copy more per transaction (the outer futures
//! still travel and the inner one is moved into its box); boxing `begin`
//! and `commit` changed nothing measurable, so they are left unboxed.
//!
//! Each call that can wait on the server runs inside `in_host`, which stops
//! the guest's CPU clock for its duration; quick table lookups (a
//! statement's columns, dropping its handle) are charged to the guest.

use super::session::{SqlSession, Target};
use super::{StatementHandle, TransactionHandle};
use crate::bindings::stormdb::workload::sql::{
    Host, HostStatement, HostTransaction, TransactionOptions,
};
use crate::bindings::{Column, RowSet, SqlError, Value};
use wasmtime::component::Resource;

type Answer<T> = wasmtime::Result<Result<T, SqlError>>;

impl SqlSession {
    /// A prepared statement's id and text, once its parameter count and
    /// what it does are allowed now: the checks shared by `query` and
    /// `execute` on a handle.
    fn checked_handle(
        &mut self,
        handle: &Resource<StatementHandle>,
        params: &[Value],
    ) -> Answer<(u64, std::sync::Arc<str>)> {
        let h = self.table.get(handle)?;
        let (id, sql) = h.target_parts();
        let class = h.class().clone();
        if let Err(e) = SqlSession::check_arity(h, params) {
            return Ok(Err(e));
        }
        Ok(self.authorize_handle(&class).map(|()| (id, sql)))
    }
}

impl SqlSession {
    /// Runs one SQL call with the guest's CPU clock stopped: the time in
    /// between is the host's, however short the call.
    async fn in_host<T>(&mut self, call: impl AsyncFnOnce(&mut Self) -> T) -> T {
        self.enter_host();
        let r = call(self).await;
        self.leave_host();
        r
    }
}

impl crate::bindings::stormdb::workload::types::Host for SqlSession {}

impl Host for SqlSession {
    async fn query(&mut self, statement: String, params: Vec<Value>) -> Answer<RowSet> {
        self.in_host(async |s| Ok(Box::pin(SqlSession::query(s, &statement, &params)).await))
            .await
    }

    async fn execute(&mut self, statement: String, params: Vec<Value>) -> Answer<u64> {
        self.in_host(async |s| Ok(Box::pin(s.execute_text(&statement, &params)).await))
            .await
    }

    async fn copy_in(
        &mut self,
        table: String,
        columns: Vec<String>,
        rows: Vec<Vec<Value>>,
    ) -> Answer<u64> {
        self.in_host(async |s| Ok(SqlSession::copy_in(s, &table, &columns, &rows).await))
            .await
    }

    async fn begin(&mut self, options: TransactionOptions) -> Answer<Resource<TransactionHandle>> {
        self.in_host(async |s| match SqlSession::begin(s, options).await {
            Ok(tx) => Ok(Ok(s.table.push(tx)?)),
            Err(e) => Ok(Err(e)),
        })
        .await
    }

    async fn prepare(&mut self, statement: String) -> Answer<Resource<StatementHandle>> {
        self.in_host(async |s| match SqlSession::prepare(s, &statement).await {
            Ok(h) => Ok(Ok(s.table.push(h)?)),
            Err(e) => Ok(Err(e)),
        })
        .await
    }
}

impl HostTransaction for SqlSession {
    async fn query(
        &mut self,
        handle: Resource<TransactionHandle>,
        statement: String,
        params: Vec<Value>,
    ) -> Answer<RowSet> {
        self.in_host(async |s| {
            if let Err(e) = s.live_tx(&handle)? {
                return Ok(Err(e));
            }
            Ok(Box::pin(SqlSession::query(s, &statement, &params)).await)
        })
        .await
    }

    async fn execute(
        &mut self,
        handle: Resource<TransactionHandle>,
        statement: String,
        params: Vec<Value>,
    ) -> Answer<u64> {
        self.in_host(async |s| {
            if let Err(e) = s.live_tx(&handle)? {
                return Ok(Err(e));
            }
            Ok(Box::pin(s.execute_text(&statement, &params)).await)
        })
        .await
    }

    async fn copy_in(
        &mut self,
        handle: Resource<TransactionHandle>,
        table: String,
        columns: Vec<String>,
        rows: Vec<Vec<Value>>,
    ) -> Answer<u64> {
        self.in_host(async |s| {
            if let Err(e) = s.live_tx(&handle)? {
                return Ok(Err(e));
            }
            Ok(SqlSession::copy_in(s, &table, &columns, &rows).await)
        })
        .await
    }

    async fn commit(&mut self, handle: Resource<TransactionHandle>) -> Answer<()> {
        self.in_host(async |s| s.finish_tx(&handle, true).await)
            .await
    }

    async fn rollback(&mut self, handle: Resource<TransactionHandle>) -> Answer<()> {
        self.in_host(async |s| s.finish_tx(&handle, false).await)
            .await
    }

    async fn drop(&mut self, handle: Resource<TransactionHandle>) -> wasmtime::Result<()> {
        self.in_host(async |s| {
            let tx = s.table.delete(handle)?;
            s.drop_tx(tx.generation).await;
            Ok(())
        })
        .await
    }
}

impl HostStatement for SqlSession {
    async fn columns(
        &mut self,
        handle: Resource<StatementHandle>,
    ) -> wasmtime::Result<Vec<Column>> {
        // Quick lookups are charged to the guest like its own work.
        Ok(self.table.get(&handle)?.columns.clone())
    }

    async fn param_count(&mut self, handle: Resource<StatementHandle>) -> wasmtime::Result<u32> {
        Ok(u32::try_from(self.table.get(&handle)?.params.len()).unwrap_or(u32::MAX))
    }

    async fn query(
        &mut self,
        handle: Resource<StatementHandle>,
        params: Vec<Value>,
    ) -> Answer<Vec<Vec<Value>>> {
        self.in_host(async |s| {
            let (id, sql) = match s.checked_handle(&handle, &params)? {
                Ok(t) => t,
                Err(e) => return Ok(Err(e)),
            };
            Ok(Box::pin(s.query_prepared(&Target::handle(id, &sql), &params)).await)
        })
        .await
    }

    async fn execute(
        &mut self,
        handle: Resource<StatementHandle>,
        params: Vec<Value>,
    ) -> Answer<u64> {
        self.in_host(async |s| {
            let (id, sql) = match s.checked_handle(&handle, &params)? {
                Ok(t) => t,
                Err(e) => return Ok(Err(e)),
            };
            Ok(Box::pin(SqlSession::execute(s, &Target::handle(id, &sql), &params)).await)
        })
        .await
    }

    async fn drop(&mut self, handle: Resource<StatementHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        self.released_handle();
        Ok(())
    }
}
