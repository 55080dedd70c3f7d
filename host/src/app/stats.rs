//! PostgreSQL statistics around a run: a snapshot before, lock waits
//! sampled once a second on a thread of their own, a snapshot after.

use crate::pg::stats::{self, LockWaits, PgStats, Snapshot};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A run being watched.
pub struct StatsWatch {
    db: tokio_postgres::Config,
    before: Snapshot,
    stop: Arc<AtomicBool>,
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
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
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
                    while !flag.load(Ordering::Relaxed) {
                        if let Some(n) = stats::waiting_locks(&client).await {
                            waits.waiting_max = waits.waiting_max.max(n);
                            waits.samples += 1;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
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
        self.stop.store(true, Ordering::Relaxed);
        let locks = self.sampler.and_then(|h| h.join().ok()).unwrap_or_default();
        let rt = runtime()?;
        let after =
            rt.block_on(async { Some(stats::snapshot(&connect(&self.db).await?).await) })?;
        Some(stats::delta(&self.before, &after, locks))
    }
}
