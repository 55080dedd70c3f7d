//! PostgreSQL statistics over a run's measurement window: a snapshot as it
//! opens, lock waits sampled every 250 ms on a thread of their own (a lock
//! held for under a second still shows), a snapshot once the workers stop.

use crate::pg::stats::{self, LockWaits, PgStats, Snapshot};
use std::time::Duration;
use tokio::sync::watch;

/// How often ungranted locks are counted during a run.
const LOCK_SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// A run being watched.
pub struct StatsWatch {
    db: tokio_postgres::Config,
    rt: tokio::runtime::Runtime,
    /// Connected ahead of the window, so opening it costs only the
    /// snapshot's queries and its edge falls within a few milliseconds.
    client: tokio_postgres::Client,
    before: Option<Snapshot>,
    /// Set when the run is over; wakes the sampler out of its sleep, so
    /// finishing does not wait for the rest of a sampling period.
    stop: watch::Sender<bool>,
    sampler: Option<std::thread::JoinHandle<LockWaits>>,
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()
}

async fn connect(db: &tokio_postgres::Config) -> Option<tokio_postgres::Client> {
    let (client, conn) = db.connect(tokio_postgres::NoTls).await.ok()?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Some(client)
}

impl StatsWatch {
    /// Connects for statistics ahead of the measurement window; `None` if
    /// the database cannot be reached for them (the run goes on).
    pub fn connect(db: &tokio_postgres::Config) -> Option<StatsWatch> {
        let rt = runtime()?;
        let client = rt.block_on(connect(db))?;
        let (stop, _) = watch::channel(false);
        Some(StatsWatch {
            db: db.clone(),
            rt,
            client,
            before: None,
            stop,
            sampler: None,
        })
    }

    /// The window opens: takes the first snapshot and starts sampling lock
    /// waits. Later calls do nothing.
    pub fn open(&mut self) {
        if self.before.is_some() {
            return;
        }
        let mut before = self.rt.block_on(stats::snapshot(&self.client));
        if !before.reached_server() {
            // The early connection was lost while waiting (a server-side
            // idle timeout, say): one more try on a new one.
            if let Some(client) = self.rt.block_on(connect(&self.db)) {
                before = self.rt.block_on(stats::snapshot(&client));
                self.client = client;
            }
        }
        self.before = Some(before);
        let mut stopped = self.stop.subscribe();
        let sampler_db = self.db.clone();
        self.sampler = std::thread::Builder::new()
            .name("stormdb-pg-stats".into())
            .spawn(move || {
                let mut waits = LockWaits::default();
                let Some(rt) = runtime() else { return waits };
                rt.block_on(async {
                    let Some(client) = connect(&sampler_db).await else {
                        return;
                    };
                    loop {
                        if let Some(n) = stats::waiting_locks(&client).await {
                            waits.waiting_max = waits.waiting_max.max(n);
                            waits.samples += 1;
                        }
                        tokio::select! {
                            _ = tokio::time::sleep(LOCK_SAMPLE_EVERY) => {}
                            // Stopped, or the watch was dropped unfinished.
                            _ = stopped.changed() => break,
                        }
                    }
                });
                waits
            })
            .ok();
    }

    /// Takes the second snapshot and returns the deltas; `None` if the
    /// window never opened.
    pub fn finish(self) -> Option<PgStats> {
        let _ = self.stop.send(true);
        let locks = self.sampler.and_then(|h| h.join().ok()).unwrap_or_default();
        let before = self.before?;
        // A fresh connection: the early one has sat idle through the run.
        let after = self.rt.block_on(async {
            let client = connect(&self.db).await?;
            stats::wait_for_run_backends(&client).await;
            Some(stats::snapshot(&client).await)
        })?;
        Some(stats::delta(&before, &after, locks))
    }
}
