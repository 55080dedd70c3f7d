//! PostgreSQL's own statistics, snapshotted before and after the run on the
//! operator's connection and reported as deltas: database activity,
//! checkpoints (pg_stat_bgwriter on 15-16, pg_stat_checkpointer on 17+),
//! WAL, I/O (16+), lock waits sampled during the run, autovacuum, and the
//! top statements from pg_stat_statements when it is installed.

use serde::Serialize;
use std::collections::HashMap;
use tokio_postgres::Client;

/// Database counters and the ratio derived from them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DatabaseDelta {
    /// Commits.
    pub xact_commit: i64,
    /// Rollbacks.
    pub xact_rollback: i64,
    /// Buffer hits.
    pub blks_hit: i64,
    /// Blocks read.
    pub blks_read: i64,
    /// hits / (hits + reads) over the run.
    pub cache_hit_ratio: Option<f64>,
    /// Deadlocks.
    pub deadlocks: i64,
    /// Temporary files.
    pub temp_files: i64,
    /// Temporary bytes.
    pub temp_bytes: i64,
    /// Rows inserted.
    pub tup_inserted: i64,
    /// Rows updated.
    pub tup_updated: i64,
    /// Rows deleted.
    pub tup_deleted: i64,
    /// Rows fetched.
    pub tup_fetched: i64,
}

/// Checkpoints during the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckpointDelta {
    /// The view the numbers come from.
    pub source: String,
    /// Timed checkpoints.
    pub timed: i64,
    /// Requested checkpoints.
    pub requested: i64,
    /// Buffers written by checkpoints.
    pub buffers_written: i64,
    /// Time writing, ms.
    pub write_time_ms: f64,
    /// Time syncing, ms.
    pub sync_time_ms: f64,
}

/// WAL generated during the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WalDelta {
    /// WAL records.
    pub records: i64,
    /// WAL bytes.
    pub bytes: i64,
    /// Full-page images.
    pub fpi: i64,
    /// Times WAL buffers were full.
    pub buffers_full: i64,
}

/// One row of pg_stat_io's deltas.
#[derive(Debug, Clone, Serialize)]
pub struct IoDelta {
    /// Backend type.
    pub backend_type: String,
    /// Object (relation, temp relation).
    pub object: String,
    /// Context (normal, vacuum, bulkread, bulkwrite).
    pub context: String,
    /// Reads.
    pub reads: i64,
    /// Writes.
    pub writes: i64,
    /// Extends.
    pub extends: i64,
    /// Hits.
    pub hits: i64,
}

/// Lock waits seen while sampling during the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LockWaits {
    /// Most ungranted locks seen at once.
    pub waiting_max: i64,
    /// Samples taken.
    pub samples: u64,
}

/// Autovacuum activity.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AutovacuumDelta {
    /// Autovacuum runs over all tables.
    pub autovacuum_runs: i64,
    /// Autoanalyze runs.
    pub autoanalyze_runs: i64,
}

/// A statement from pg_stat_statements.
#[derive(Debug, Clone, Serialize)]
pub struct TopStatement {
    /// Its normalised text.
    pub query: String,
    /// Calls during the run.
    pub calls: i64,
    /// Execution time during the run, ms.
    pub total_ms: f64,
    /// Mean execution time, ms.
    pub mean_ms: f64,
    /// Rows during the run.
    pub rows: i64,
}

/// The statistics section of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PgStats {
    /// `server_version_num`.
    pub server_version_num: i32,
    /// pg_stat_database of the run's database.
    pub database: DatabaseDelta,
    /// Checkpoints.
    pub checkpoints: CheckpointDelta,
    /// pg_stat_wal (14+).
    pub wal: Option<WalDelta>,
    /// pg_stat_io (16+), rows with activity.
    pub io: Option<Vec<IoDelta>>,
    /// Lock waits sampled during the run.
    pub locks: LockWaits,
    /// Autovacuum.
    pub autovacuum: AutovacuumDelta,
    /// Top statements by execution time, when pg_stat_statements is there.
    pub pg_stat_statements: Option<Vec<TopStatement>>,
    /// What could not be read, and why.
    pub notes: Vec<String>,
}

/// Raw counters at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    version: i32,
    values: HashMap<String, f64>,
    io: Option<HashMap<(String, String, String), [i64; 4]>>,
    statements: Option<HashMap<i64, (String, i64, f64, i64)>>,
    notes: Vec<String>,
}

impl Snapshot {
    /// False when not even the server's version could be read: the
    /// connection is unusable.
    pub fn reached_server(&self) -> bool {
        self.version != 0
    }
}

async fn numbers(
    client: &Client,
    sql: &str,
    prefix: &str,
    out: &mut HashMap<String, f64>,
) -> Result<(), String> {
    let row = client
        .query_one(sql, &[])
        .await
        .map_err(|e| e.to_string())?;
    for (i, col) in row.columns().iter().enumerate() {
        let v: Option<f64> = row.try_get(i).map_err(|e| e.to_string())?;
        out.insert(format!("{prefix}.{}", col.name()), v.unwrap_or(0.0));
    }
    Ok(())
}

/// Reads every counter the report compares.
pub async fn snapshot(client: &Client) -> Snapshot {
    let mut s = Snapshot::default();
    s.version = match client.query_one("SHOW server_version_num", &[]).await {
        Ok(row) => row.get::<_, String>(0).parse().unwrap_or(0),
        Err(e) => {
            s.notes.push(format!("server_version_num: {e}"));
            return s;
        }
    };
    let db = "SELECT xact_commit::float8, xact_rollback::float8, blks_hit::float8, blks_read::float8, \
              deadlocks::float8, temp_files::float8, temp_bytes::float8, tup_inserted::float8, \
              tup_updated::float8, tup_deleted::float8, tup_fetched::float8 \
              FROM pg_stat_database WHERE datname = current_database()";
    if let Err(e) = numbers(client, db, "db", &mut s.values).await {
        s.notes.push(format!("pg_stat_database: {e}"));
    }
    let checkpoints = if s.version >= 170000 {
        "SELECT num_timed::float8 AS timed, num_requested::float8 AS requested, \
         buffers_written::float8 AS buffers, write_time AS write_ms, sync_time AS sync_ms \
         FROM pg_stat_checkpointer"
    } else {
        "SELECT checkpoints_timed::float8 AS timed, checkpoints_req::float8 AS requested, \
         buffers_checkpoint::float8 AS buffers, checkpoint_write_time AS write_ms, \
         checkpoint_sync_time AS sync_ms FROM pg_stat_bgwriter"
    };
    if let Err(e) = numbers(client, checkpoints, "ckpt", &mut s.values).await {
        s.notes.push(format!("checkpoints: {e}"));
    }
    if s.version >= 140000
        && let Err(e) = numbers(
            client,
            "SELECT wal_records::float8 AS records, wal_bytes::float8 AS bytes, wal_fpi::float8 AS fpi, \
             wal_buffers_full::float8 AS buffers_full FROM pg_stat_wal",
            "wal",
            &mut s.values,
        )
        .await
    {
        s.notes.push(format!("pg_stat_wal: {e}"));
    }
    if let Err(e) = numbers(
        client,
        "SELECT coalesce(sum(autovacuum_count), 0)::float8 AS vacuums, \
         coalesce(sum(autoanalyze_count), 0)::float8 AS analyzes FROM pg_stat_all_tables",
        "av",
        &mut s.values,
    )
    .await
    {
        s.notes.push(format!("autovacuum: {e}"));
    }
    if s.version >= 160000 {
        match client
            .query(
                "SELECT backend_type, object, context, coalesce(reads, 0), coalesce(writes, 0), \
                 coalesce(extends, 0), coalesce(hits, 0) FROM pg_stat_io",
                &[],
            )
            .await
        {
            Ok(rows) => {
                let mut m = HashMap::new();
                for r in rows {
                    m.insert(
                        (r.get(0), r.get(1), r.get(2)),
                        [r.get(3), r.get(4), r.get(5), r.get(6)],
                    );
                }
                s.io = Some(m);
            }
            Err(e) => s.notes.push(format!("pg_stat_io: {e}")),
        }
    }
    let installed = client
        .query_opt(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'",
            &[],
        )
        .await
        .ok()
        .flatten()
        .is_some();
    if installed {
        match client
            .query(
                "SELECT queryid, query, calls, total_exec_time, rows FROM pg_stat_statements \
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
                 AND queryid IS NOT NULL",
                &[],
            )
            .await
        {
            Ok(rows) => {
                let mut m = HashMap::new();
                for r in rows {
                    m.insert(r.get::<_, i64>(0), (r.get(1), r.get(2), r.get(3), r.get(4)));
                }
                s.statements = Some(m);
            }
            Err(e) => s.notes.push(format!("pg_stat_statements: {e}")),
        }
    } else {
        s.notes.push(
            "pg_stat_statements is not installed in this database, so there are no server-side \
             per-statement figures (add it to shared_preload_libraries and CREATE EXTENSION \
             pg_stat_statements)"
                .into(),
        );
    }
    s
}

fn d(before: &Snapshot, after: &Snapshot, key: &str) -> f64 {
    after.values.get(key).copied().unwrap_or(0.0) - before.values.get(key).copied().unwrap_or(0.0)
}

/// The counters' changes from `before` to `after`.
pub fn delta(before: &Snapshot, after: &Snapshot, locks: LockWaits) -> PgStats {
    let i = |k: &str| d(before, after, k) as i64;
    let hit = d(before, after, "db.blks_hit");
    let read = d(before, after, "db.blks_read");
    let mut notes = before.notes.clone();
    for n in &after.notes {
        if !notes.contains(n) {
            notes.push(n.clone());
        }
    }
    PgStats {
        server_version_num: after.version,
        database: DatabaseDelta {
            xact_commit: i("db.xact_commit"),
            xact_rollback: i("db.xact_rollback"),
            blks_hit: hit as i64,
            blks_read: read as i64,
            cache_hit_ratio: (hit + read > 0.0).then(|| hit / (hit + read)),
            deadlocks: i("db.deadlocks"),
            temp_files: i("db.temp_files"),
            temp_bytes: i("db.temp_bytes"),
            tup_inserted: i("db.tup_inserted"),
            tup_updated: i("db.tup_updated"),
            tup_deleted: i("db.tup_deleted"),
            tup_fetched: i("db.tup_fetched"),
        },
        checkpoints: CheckpointDelta {
            source: if after.version >= 170000 {
                "pg_stat_checkpointer"
            } else {
                "pg_stat_bgwriter"
            }
            .into(),
            timed: i("ckpt.timed"),
            requested: i("ckpt.requested"),
            buffers_written: i("ckpt.buffers"),
            write_time_ms: d(before, after, "ckpt.write_ms"),
            sync_time_ms: d(before, after, "ckpt.sync_ms"),
        },
        wal: (after.version >= 140000).then(|| WalDelta {
            records: i("wal.records"),
            bytes: i("wal.bytes"),
            fpi: i("wal.fpi"),
            buffers_full: i("wal.buffers_full"),
        }),
        io: after.io.as_ref().map(|a| {
            let mut rows: Vec<IoDelta> = a
                .iter()
                .filter_map(|(k, v)| {
                    let b = before
                        .io
                        .as_ref()
                        .and_then(|m| m.get(k))
                        .copied()
                        .unwrap_or([0; 4]);
                    let dv = [v[0] - b[0], v[1] - b[1], v[2] - b[2], v[3] - b[3]];
                    (dv.iter().any(|x| *x != 0)).then(|| IoDelta {
                        backend_type: k.0.clone(),
                        object: k.1.clone(),
                        context: k.2.clone(),
                        reads: dv[0],
                        writes: dv[1],
                        extends: dv[2],
                        hits: dv[3],
                    })
                })
                .collect();
            rows.sort_by_key(|r| std::cmp::Reverse(r.reads + r.writes + r.hits));
            rows
        }),
        locks,
        autovacuum: AutovacuumDelta {
            autovacuum_runs: i("av.vacuums"),
            autoanalyze_runs: i("av.analyzes"),
        },
        pg_stat_statements: after.statements.as_ref().map(|a| {
            let mut top: Vec<TopStatement> = a
                .iter()
                .filter_map(|(id, (query, calls, total, rows))| {
                    let (bc, bt, br) = before
                        .statements
                        .as_ref()
                        .and_then(|m| m.get(id))
                        .map_or((0, 0.0, 0), |(_, c, t, r)| (*c, *t, *r));
                    let calls = calls - bc;
                    (calls > 0).then(|| TopStatement {
                        query: crate::metrics::normalize(query),
                        calls,
                        total_ms: total - bt,
                        mean_ms: (total - bt) / calls as f64,
                        rows: rows - br,
                    })
                })
                .collect();
            top.sort_by(|x, y| y.total_ms.total_cmp(&x.total_ms));
            top.truncate(10);
            top
        }),
        notes,
    }
}

/// Counts ungranted locks now.
pub async fn waiting_locks(client: &Client) -> Option<i64> {
    client
        .query_one("SELECT count(*) FROM pg_locks WHERE NOT granted", &[])
        .await
        .ok()
        .map(|r| r.get(0))
}

/// Waits (at most a second) until no other client backend of this database
/// with this connection's application name is left: the run's connections
/// are closed by now, and a backend publishes its last counters as it
/// exits, so the closing snapshot then counts all of its work.
pub async fn wait_for_run_backends(client: &Client) {
    const SQL: &str = "SELECT count(*) FROM pg_stat_activity \
                       WHERE datname = current_database() \
                       AND application_name = current_setting('application_name') \
                       AND backend_type = 'client backend' AND pid <> pg_backend_pid()";
    for _ in 0..40 {
        match client.query_one(SQL, &[]).await {
            Ok(row) if row.get::<_, i64>(0) > 0 => {
                tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            }
            _ => return,
        }
    }
}
