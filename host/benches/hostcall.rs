//! Microbenchmarks of the wasm boundary, without a database:
//! - instantiate: creating an instance of a workload from its `InstancePre`;
//! - noop step: the host calling `step`, which returns at once;
//! - host call: a `step` making one `sql.query` the host refuses before it
//!   needs a connection (an empty statement), i.e. export call + one import
//!   call + result lifting.
//!
//! Run: `cargo bench -p stormdb --bench hostcall` (uses the bench profile).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};
use stormdb::bindings::Context;
use stormdb::capability::sql::{SqlLimits, SqlSession};
use stormdb::pg::pool::PgPool;
use stormdb::sandbox::{ArtifactCache, CallLimits, InstanceLimits, Lifecycle, Sandbox};

const LIMITS: CallLimits = CallLimits {
    cpu: Duration::from_secs(10),
    wall: Duration::from_secs(60),
};

fn ctx(mode: &str) -> Context {
    Context {
        mode: mode.into(),
        scale: 1,
        worker_id: 0,
        workers: 1,
        seed: 1,
        params: vec![
            ("every".into(), "10".into()),
            ("sleep_ms".into(), "1".into()),
            ("rows".into(), "1".into()),
        ],
    }
}

fn main() {
    let path = Path::new(env!("STORMDB_GUEST_DIR")).join("test-probe.wasm");
    let bytes = std::fs::read(&path).expect("test-probe.wasm");
    let digest = stormdb::plugin::sha256_hex(&bytes);
    let sandbox = Sandbox::new(InstanceLimits::default(), ArtifactCache::disabled()).unwrap();
    let started = Instant::now();
    let runtime = sandbox.load("test-probe", &bytes, &digest).unwrap();
    println!(
        "compile test-probe ({} KiB): {:?}",
        bytes.len() / 1024,
        started.elapsed()
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        tokio::task::spawn_local(runtime.clock().clone().run_ticker());
        // Never connected: nothing below reaches the database.
        let pool = PgPool::new(tokio_postgres::Config::new(), 1, Duration::from_secs(1)).unwrap();
        let session = || SqlSession::new(pool.clone(), SqlLimits::default());

        let n = 2_000;
        let started = Instant::now();
        for _ in 0..n {
            let inst = runtime.instantiate(session(), Some(0)).await.unwrap();
            drop(inst);
        }
        println!(
            "instantiate + drop: {:.1} µs each",
            started.elapsed().as_secs_f64() * 1e6 / n as f64
        );

        for mode in ["noop", "hostcall"] {
            let mut inst = runtime.instantiate(session(), Some(0)).await.unwrap();
            inst.lifecycle(Lifecycle::Init, &ctx(mode), LIMITS)
                .await
                .unwrap()
                .unwrap();
            for _ in 0..10_000 {
                inst.step(LIMITS, std::time::Instant::now())
                    .await
                    .unwrap()
                    .value
                    .unwrap();
            }
            let n = 200_000;
            let started = Instant::now();
            for _ in 0..n {
                inst.step(LIMITS, std::time::Instant::now())
                    .await
                    .unwrap()
                    .value
                    .unwrap();
            }
            println!(
                "{mode} step: {:.0} ns each",
                started.elapsed().as_secs_f64() * 1e9 / n as f64
            );
        }
    });
}
