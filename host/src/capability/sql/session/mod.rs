//! One instance's SQL state: the connection an exported call holds, its
//! limits and grants, and the call's beginning and end. Running statements,
//! prepared handles, transactions and the policy check live in the
//! submodules, each an `impl SqlSession` over this state.

mod authorize;
mod exec;
mod prepared;
mod transaction;

pub(super) use exec::Target;

use super::policy::{Capabilities, Class};
use super::{CallPhase, SqlLimits};
use crate::bindings::SqlError;
use crate::metrics::StatementSample;
use crate::pg::pool::{PgPool, PooledConn};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::Statement;
use wasmtime::component::ResourceTable;

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
    /// Time the guest has run in the current call, between SQL calls: its
    /// CPU budget is charged this, not time spent waiting on the server.
    guest: GuestClock,
    /// A clock reading taken as the statement just run finished, which
    /// `leave_host` reuses instead of reading the clock again.
    finished_at: Option<Instant>,
    /// Open a new connection for every call instead of using the pool.
    transient: bool,
    /// Time spent connecting in the current call (transient mode).
    connect_time: Option<Duration>,
    /// Where rows written by `execute` and `copy-in` are added up, when
    /// someone watches (setup's loading progress).
    rows_written: Option<Arc<std::sync::atomic::AtomicU64>>,
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
            guest: GuestClock::default(),
            finished_at: None,
            transient: false,
            connect_time: None,
            rows_written: None,
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

    /// Adds the rows each `execute` and `copy-in` reports written to
    /// `counter`, which loaders share so setup can show its progress.
    pub fn count_rows_into(&mut self, counter: Arc<std::sync::atomic::AtomicU64>) {
        self.rows_written = Some(counter);
    }

    fn add_rows_written(&self, r: &Result<u64, SqlError>) {
        if let (Some(counter), Ok(n)) = (&self.rows_written, r) {
            counter.fetch_add(*n, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Limit the plugin to `caps` (the manifest's requests as granted).
    pub fn set_capabilities(&mut self, caps: Capabilities) {
        self.caps = caps;
    }

    /// The statement timings of the current (or last) call.
    pub fn samples(&self) -> &[StatementSample] {
        &self.samples
    }

    /// Keep the connection from one call to the next instead of returning
    /// it to the pool: for instances that have a connection to themselves
    /// (no more workers than connections), which then skip the pool.
    pub fn set_sticky(&mut self, sticky: bool) {
        self.sticky = sticky;
    }

    /// Time the guest has run in the current exported call, up to `now`.
    pub fn guest_time(&self, now: Instant) -> Duration {
        self.guest.used(now)
    }

    /// An SQL call starts: the guest stops running until it returns.
    pub(in crate::capability::sql) fn enter_host(&mut self) {
        self.guest.enter(Instant::now());
    }

    /// An SQL call returns to the guest, which runs again from here.
    pub(in crate::capability::sql) fn leave_host(&mut self) {
        let at = self.finished_at.take().unwrap_or_else(Instant::now);
        self.guest.leave(at);
    }

    /// Prepare for an exported call in `phase`, entered at `now`.
    pub fn begin_call(&mut self, phase: CallPhase, now: Instant) {
        self.guest = GuestClock::start(now);
        self.finished_at = None;
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

    /// Remembers a failure inside an open transaction (see `tx_failed`).
    fn note<T>(&mut self, r: Result<T, SqlError>) -> Result<T, SqlError> {
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
}

/// The guest's running time within one exported call: the call's time
/// minus the time spent inside SQL calls. Each call closes the running
/// stretch as it enters and opens a new one as it returns, so a guest
/// cannot shed its CPU time by calling the host often.
#[derive(Debug, Clone, Copy, Default)]
struct GuestClock {
    /// Closed stretches.
    ran: Duration,
    /// Start of the open stretch, while the guest runs.
    from: Option<Instant>,
}

impl GuestClock {
    fn start(now: Instant) -> Self {
        GuestClock {
            ran: Duration::ZERO,
            from: Some(now),
        }
    }

    fn enter(&mut self, now: Instant) {
        if let Some(f) = self.from.take() {
            self.ran += now.saturating_duration_since(f);
        }
    }

    fn leave(&mut self, at: Instant) {
        self.from = Some(at);
    }

    fn used(&self, now: Instant) -> Duration {
        self.ran
            + self
                .from
                .map_or(Duration::ZERO, |f| now.saturating_duration_since(f))
    }
}

#[cfg(test)]
mod guest_clock_tests {
    use super::*;

    #[test]
    fn host_call_time_is_not_charged_but_guest_time_between_calls_is() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut g = GuestClock::start(t0);
        assert_eq!(g.used(ms(10)), Duration::from_millis(10));
        // Waits in a host call from 12 to 50 ms, then runs to 55 ms.
        g.enter(ms(12));
        assert_eq!(g.used(ms(40)), Duration::from_millis(12));
        g.leave(ms(50));
        assert_eq!(g.used(ms(55)), Duration::from_millis(17));
        // Many instant calls do not reset what was charged: 9 ms of work
        // before each of ten calls is 90 ms.
        let mut g = GuestClock::start(t0);
        for k in 0..10 {
            g.enter(ms(10 * k + 9));
            g.leave(ms(10 * k + 10));
        }
        assert_eq!(g.used(ms(100)), Duration::from_millis(90));
    }
}
