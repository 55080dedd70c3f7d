//! PostgreSQL statistics around a run: a snapshot before, lock waits
//! sampled every 250 ms on a thread of their own (a lock held for under a
//! second still shows), a snapshot after.

use crate::pg::stats::{self, LockWaits, PgStats, Snapshot};
use std::time::Duration;
use tokio::sync::watch;

/// How often ungranted locks are counted during a run.
const LOCK_SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// A run being watched.
pub struct StatsWatch {
    db: tokio_postgres::Config,
    before: Snapshot,
    /// Set when the run is over; wakes the sampler out of its sleep, so
    /// finishing does not wait for the rest of a sampling second.
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
    /// Takes the first snapshot and starts sampling; `None` if the
    /// database cannot be reached for statistics (the run goes on).
    pub fn start(db: &tokio_postgres::Config) -> Option<StatsWatch> {
        let rt = runtime()?;
        let before = rt.block_on(async { Some(stats::snapshot(&connect(db).await?).await) })?;
        let (stop, mut stopped) = watch::channel(false);
        let sampler_db = db.clone();
        let sampler = std::thread::Builder::new()
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
        Some(StatsWatch {
            db: db.clone(),
            before,
            stop,
            sampler,
        })
    }

    /// Takes the second snapshot and returns the deltas.
    pub fn finish(self) -> Option<PgStats> {
        let _ = self.stop.send(true);
        let locks = self.sampler.and_then(|h| h.join().ok()).unwrap_or_default();
        let rt = runtime()?;
        let after =
            rt.block_on(async { Some(stats::snapshot(&connect(&self.db).await?).await) })?;
        Some(stats::delta(&self.before, &after, locks))
    }
}
