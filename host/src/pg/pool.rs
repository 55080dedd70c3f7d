//! Connection pools. The runner builds one pool per runtime thread (shard),
//! so a connection's I/O task and the workers using it share one thread and
//! no query crosses threads.
//!
//! Pooling is deadpool's; the connection type is ours so that each
//! connection carries its own prepared-statement cache, keyed by SQL text
//! or by the id of a plugin's prepared-statement handle (a u64 lookup on
//! the hot path instead of hashing the SQL text).

use crate::bindings::SqlError;
use deadpool::managed::{self, Metrics, Object, Pool, RecycleError, RecycleResult};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio_postgres::{NoTls, Statement};

/// Longest SQL text kept in a connection's statement cache (and in a
/// session's classification cache); longer ones are prepared on each use,
/// so a plugin sending huge distinct texts cannot fill memory with them.
pub const MAX_CACHED_TEXT: usize = 16 << 10;

/// What a cached statement is known by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StmtKey {
    /// SQL text sent with `query`/`execute`.
    Text(Box<str>),
    /// A `statement` handle's process-wide id.
    Handle(u64),
}

/// One connection and its prepared statements.
pub struct PgConn {
    client: tokio_postgres::Client,
    statements: Mutex<HashMap<StmtKey, Statement>>,
}

struct Manager {
    config: tokio_postgres::Config,
}

impl managed::Manager for Manager {
    type Type = PgConn;
    type Error = tokio_postgres::Error;

    async fn create(&self) -> Result<PgConn, tokio_postgres::Error> {
        let (client, connection) = self.config.connect(NoTls).await?;
        // The I/O task runs on the shard that opened the connection; it
        // ends when the client is dropped.
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection ended: {e}");
            }
        });
        Ok(PgConn {
            client,
            statements: Mutex::new(HashMap::new()),
        })
    }

    async fn recycle(
        &self,
        conn: &mut PgConn,
        _: &Metrics,
    ) -> RecycleResult<tokio_postgres::Error> {
        if conn.client.is_closed() {
            return Err(RecycleError::message("connection closed"));
        }
        Ok(())
    }
}

/// A pool of connections for one shard.
#[derive(Clone)]
pub struct PgPool {
    pool: Pool<Manager>,
}

/// A connection: on loan from a [`PgPool`] (returned to it when dropped),
/// or opened for one call only (closed when dropped: `transient` mode).
pub struct PooledConn {
    inner: Conn,
}

// The pooled variant is the common one and is not moved after checkout;
// boxing it would cost an allocation per step.
#[allow(clippy::large_enum_variant)]
enum Conn {
    Pooled(Object<Manager>),
    Fresh(Box<PgConn>),
}

impl PgPool {
    /// A pool of at most `size` connections to `config`; waiting longer than
    /// `wait_timeout` for one is an error.
    pub fn new(
        config: tokio_postgres::Config,
        size: usize,
        wait_timeout: Duration,
    ) -> Result<PgPool, String> {
        let pool = Pool::builder(Manager { config })
            .max_size(size.max(1))
            .runtime(deadpool::Runtime::Tokio1)
            .wait_timeout(Some(wait_timeout))
            .create_timeout(Some(wait_timeout))
            .build()
            .map_err(|e| format!("building the connection pool: {e}"))?;
        Ok(PgPool { pool })
    }

    /// A connection, waiting for one to be free if all are in use.
    pub async fn get(&self) -> Result<PooledConn, SqlError> {
        use deadpool::managed::PoolError;
        match self.pool.get().await {
            Ok(obj) => Ok(PooledConn {
                inner: Conn::Pooled(obj),
            }),
            Err(PoolError::Timeout(_)) => Err(SqlError::Timeout(
                "no connection became free within the pool wait timeout".into(),
            )),
            Err(PoolError::Backend(e)) => Err(super::connect_error(&e)),
            Err(e) => Err(SqlError::Connection(e.to_string())),
        }
    }

    /// A new connection outside the pool, for one call (`transient` mode:
    /// the cost of connecting is part of what is measured).
    pub async fn connect_fresh(&self) -> Result<PooledConn, SqlError> {
        use deadpool::managed::Manager as _;
        match self.pool.manager().create().await {
            Ok(conn) => Ok(PooledConn {
                inner: Conn::Fresh(Box::new(conn)),
            }),
            Err(e) => Err(super::connect_error(&e)),
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
    fn conn(&self) -> &PgConn {
        match &self.inner {
            Conn::Pooled(obj) => obj,
            Conn::Fresh(c) => c,
        }
    }

    /// The driver's client.
    pub fn client(&self) -> &tokio_postgres::Client {
        &self.conn().client
    }

    /// The statement known as `key` (with text `sql`), prepared on this
    /// connection once. The cache starts over past `cap` entries, so a
    /// plugin sending endless distinct statements cannot grow it without
    /// bound.
    pub async fn statement(
        &self,
        key: StmtKey,
        sql: &str,
        cap: usize,
    ) -> Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.cached(&key) {
            return Ok(s);
        }
        // Boxed: the miss path's future is large and rare, and would
        // otherwise be part of (and copied with) every call's future.
        let stmt = Box::pin(self.conn().client.prepare(sql)).await?;
        let cacheable = match &key {
            StmtKey::Text(t) => t.len() <= MAX_CACHED_TEXT,
            StmtKey::Handle(_) => true,
        };
        if cacheable && let Ok(mut map) = self.conn().statements.lock() {
            if map.len() >= cap {
                map.clear();
            }
            map.insert(key, stmt.clone());
        }
        Ok(stmt)
    }

    fn cached(&self, key: &StmtKey) -> Option<Statement> {
        self.conn().statements.lock().ok()?.get(key).cloned()
    }

    /// Drops `key` from the cache, after the server said its cached plan no
    /// longer fits the table ("cached plan must not change result type"),
    /// so the next use prepares it afresh.
    pub fn forget(&self, key: &StmtKey) {
        if let Ok(mut map) = self.conn().statements.lock() {
            map.remove(key);
        }
    }

    /// Closes the connection instead of returning it to the pool.
    pub fn discard(self) {
        if let Conn::Pooled(obj) = self.inner {
            drop(Object::take(obj));
        }
    }

    /// Asks the server to cancel whatever the connection is running, then
    /// closes it: for a call abandoned mid-statement.
    pub fn cancel_and_discard(self) {
        let token = self.conn().client.cancel_token();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = token.cancel_query(NoTls).await;
            });
        }
        self.discard();
    }
}
