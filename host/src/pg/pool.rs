//! Connection pools. The runner builds one pool per runtime thread (shard),
//! so a connection's I/O task and the workers using it share one thread and
//! no query crosses threads.

use crate::bindings::SqlError;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use std::time::Duration;
use tokio_postgres::{NoTls, Statement};

/// A pool of connections for one shard.
#[derive(Clone)]
pub struct PgPool {
    pool: Pool,
}

/// A connection on loan from a [`PgPool`]; returned to it when dropped.
pub struct PooledConn {
    obj: Object,
}

impl PgPool {
    /// A pool of at most `size` connections to `config`; waiting longer than
    /// `wait_timeout` for one is an error.
    pub fn new(
        config: tokio_postgres::Config,
        size: usize,
        wait_timeout: Duration,
    ) -> Result<PgPool, String> {
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(wait_timeout))
            .create_timeout(Some(wait_timeout))
            .build()
            .map_err(|e| format!("building the connection pool: {e}"))?;
        Ok(PgPool { pool })
    }

    /// A connection, waiting for one to be free if all are in use.
    pub async fn get(&self) -> Result<PooledConn, SqlError> {
        use deadpool_postgres::PoolError;
        match self.pool.get().await {
            Ok(obj) => Ok(PooledConn { obj }),
            Err(PoolError::Timeout(_)) => Err(SqlError::Timeout(
                "no connection became free within the pool wait timeout".into(),
            )),
            Err(PoolError::Backend(e)) => Err(super::connect_error(&e)),
            Err(e) => Err(SqlError::Connection(e.to_string())),
        }
    }

    /// Opens every connection now, so connecting is not part of the
    /// measured run.
    pub async fn warm_up(&self) -> Result<(), SqlError> {
        let size = self.pool.status().max_size;
        let mut held = Vec::with_capacity(size);
        for _ in 0..size {
            held.push(self.get().await?);
        }
        Ok(())
    }
}

impl PooledConn {
    /// The driver's client.
    pub fn client(&self) -> &tokio_postgres::Client {
        &self.obj
    }

    /// `statement`, prepared once per connection and cached; the cache
    /// starts over past `cap` entries so a plugin sending endless distinct
    /// statements cannot grow it without bound.
    pub async fn prepare_cached(
        &self,
        statement: &str,
        cap: usize,
    ) -> Result<Statement, tokio_postgres::Error> {
        let cache = &self.obj.statement_cache;
        if cache.size() >= cap {
            cache.clear();
        }
        self.obj.prepare_cached(statement).await
    }

    /// Drops `statement` from the cache, after the server said its cached
    /// plan no longer fits the table ("cached plan must not change result
    /// type"), so the next use prepares it afresh.
    pub fn forget(&self, statement: &str) {
        self.obj.statement_cache.remove(statement, &[]);
    }

    /// Closes the connection instead of returning it to the pool.
    pub fn discard(self) {
        drop(Object::take(self.obj));
    }

    /// Asks the server to cancel whatever the connection is running, then
    /// closes it: for a call abandoned mid-statement.
    pub fn cancel_and_discard(self) {
        let token = self.obj.cancel_token();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = token.cancel_query(NoTls).await;
            });
        }
        self.discard();
    }
}
