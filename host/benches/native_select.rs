//! The floor under StormDB's select-only numbers: the same shard layout
//! (one current-thread runtime per core) driving tokio-postgres directly,
//! without wasm. The gap between this and `stormdb run -w pgbench --mode
//! select-only` is what the sandbox and the host's bookkeeping cost.
//!
//! Run: `cargo bench -p stormdb --bench native_select -- CONNINFO CLIENTS
//! SECONDS [runtime|local]` against a database initialised with `pgbench
//! -i`. The last argument says where each connection's I/O task runs: on
//! the runtime's own queue (as StormDB's pools do) or on the shard's
//! `LocalSet` with the clients, to measure what the hop between the two
//! queues costs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// User and system CPU seconds of this process so far.
fn cpu_seconds() -> (f64, f64) {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr()) };
    // SAFETY: initialised by getrusage above.
    let u = unsafe { u.assume_init() };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (t(u.ru_utime), t(u.ru_stime))
}

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let (Some(conninfo), clients, secs) = (
        args.get(1).cloned(),
        args.get(2).and_then(|s| s.parse().ok()).unwrap_or(16u32),
        args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10u64),
    ) else {
        eprintln!("usage: native_select CONNINFO [CLIENTS] [SECONDS] [runtime|local]");
        return;
    };
    let local_io = args.get(4).is_some_and(|a| a == "local");
    let total = Arc::new(AtomicU64::new(0));
    let shards = 2u32;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let cpu0 = cpu_seconds();
    let started = Instant::now();
    std::thread::scope(|s| {
        for shard in 0..shards {
            let conninfo = conninfo.clone();
            let total = total.clone();
            s.spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                let local = tokio::task::LocalSet::new();
                local.block_on(&rt, async {
                    let mut tasks = Vec::new();
                    for c in (0..clients).filter(|c| c % shards == shard) {
                        let conninfo = conninfo.clone();
                        let total = total.clone();
                        tasks.push(tokio::task::spawn_local(async move {
                            let (client, conn) =
                                tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
                                    .await
                                    .unwrap();
                            if local_io {
                                tokio::task::spawn_local(conn);
                            } else {
                                tokio::spawn(conn);
                            }
                            let stmt = client
                                .prepare("SELECT abalance FROM pgbench_accounts WHERE aid = $1")
                                .await
                                .unwrap();
                            let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ u64::from(c);
                            let mut n = 0;
                            while Instant::now() < deadline {
                                x ^= x << 13;
                                x ^= x >> 7;
                                x ^= x << 17;
                                let aid = (x % 1_000_000) as i32 + 1;
                                client.query(&stmt, &[&aid]).await.unwrap();
                                n += 1;
                            }
                            total.fetch_add(n, Ordering::Relaxed);
                        }));
                    }
                    for t in tasks {
                        t.await.unwrap();
                    }
                });
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let n = total.load(Ordering::Relaxed);
    let cpu1 = cpu_seconds();
    let per_tx = |s: f64| s * 1e6 / n.max(1) as f64;
    println!(
        "native tokio-postgres ({} I/O): {clients} clients, {n} tx, {:.1} tps, \
         {:.2}+{:.2} µs user+system CPU/tx",
        if local_io { "local" } else { "runtime" },
        n as f64 / elapsed,
        per_tx(cpu1.0 - cpu0.0),
        per_tx(cpu1.1 - cpu0.1)
    );
}
