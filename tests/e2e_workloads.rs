//! The built-in workloads, run by the real binary against a real
//! PostgreSQL, checked through the JSON report and the database itself.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;

fn assert_clean_run(report: &serde_json::Value, ops: &[&str]) {
    assert_eq!(report["status"], "completed", "{report}");
    assert!(u64_at(report, "/summary/transactions") > 0, "{report}");
    assert_eq!(u64_at(report, "/summary/errors"), 0, "{report}");
    assert!(f64_at(report, "/summary/tps") > 0.0);
    for op in ops {
        assert!(
            u64_at(report, &format!("/operations/{op}/count")) > 0,
            "operation {op} missing: {report}"
        );
    }
    for key in ["mean", "p50", "p95", "p99", "p999", "max"] {
        assert!(
            f64_at(report, &format!("/latency_ms/{key}")) > 0.0,
            "{key}: {report}"
        );
    }
}

#[test]
fn pgbench_modes_run_on_pgbench_tables() {
    let db = fresh_db("wl_pgbench");
    for (i, mode) in ["select-only", "simple-update", "tpcb-like"]
        .iter()
        .enumerate()
    {
        let mut args = vec![
            "run",
            "-w",
            "pgbench",
            "--mode",
            mode,
            "-d",
            "2s",
            "--workers",
            "3",
            "--db",
            &db,
        ];
        if i == 0 {
            args.push("--setup");
        } else if i == 2 {
            // Like pgbench, the loaded tables decide the scale.
            args.extend(["--scale", "3"]);
        }
        let (_, report) = run_json(&args);
        assert_clean_run(&report, &[mode]);
        assert_eq!(f64_at(&report, "/workload/figures/scale/value"), 1.0);
        assert_eq!(report["workload"]["mode"], *mode);
        assert_eq!(u64_at(&report, "/config/workers"), 3);
    }
    assert_eq!(
        scalar("wl_pgbench", "SELECT count(*) FROM pgbench_accounts"),
        "100000"
    );
    assert_eq!(
        scalar("wl_pgbench", "SELECT count(*) FROM pgbench_branches"),
        "1"
    );
    assert_eq!(
        scalar("wl_pgbench", "SELECT count(*) FROM pgbench_tellers"),
        "10"
    );
}

#[test]
fn simple_modes_run_with_ids_scaled() {
    let db = fresh_db("wl_simple");
    let (out, report) = run_json(&[
        "run",
        "-w",
        "simple",
        "--mode",
        "read",
        "-d",
        "2s",
        "--scale",
        "2",
        "--workers",
        "2",
        "--setup",
        "--db",
        &db,
    ]);
    assert_clean_run(&report, &["read"]);
    assert_eq!(report["setup"]["performed"], true);
    // The loaders' rows are counted as they are written.
    assert_eq!(report["setup"]["rows"], 20000, "{}", report["setup"]);
    let console = String::from_utf8_lossy(&out.stdout);
    assert!(console.contains("setup: 20000 rows loaded"), "{console}");
    assert_eq!(
        scalar("wl_simple", "SELECT count(*) FROM stormdb_simple"),
        "20000"
    );
    for (mode, ops) in [("write", &["write"][..]), ("mixed", &["read", "write"][..])] {
        let (_, report) = run_json(&[
            "run",
            "-w",
            "simple",
            "--mode",
            mode,
            "-d",
            "2s",
            "--scale",
            "2",
            "--workers",
            "2",
            "--setup",
            "--db",
            &db,
            "--param",
            "read_pct=50",
        ]);
        assert_clean_run(&report, ops);
        // Already loaded at this scale: setup is skipped.
        assert_eq!(report["setup"]["performed"], false);
        assert_eq!(report["setup"]["rows"], 0);
        assert_eq!(report["workload"]["params"]["read_pct"], "50");
    }
    let updated: u64 = scalar("wl_simple", "SELECT sum(counter) FROM stormdb_simple")
        .parse()
        .unwrap();
    assert!(updated > 0);
}

#[test]
fn tpcb_like_history_and_balances_match_committed_transactions() {
    let db = fresh_db("wl_tpcb");
    let (_, report) = run_json(&[
        "run",
        "-w",
        "pgbench",
        "--mode",
        "tpcb-like",
        "-t",
        "3000",
        "--workers",
        "4",
        "--connections",
        "2",
        "--rebuild",
        "--db",
        &db,
    ]);
    assert_eq!(report["status"], "completed");
    let committed = u64_at(&report, "/summary/transactions");
    assert_eq!(committed, 3000, "{report}");
    assert_eq!(u64_at(&report, "/summary/errors"), 0);
    // Four workers shared two connections: the wait was measured.
    assert_eq!(u64_at(&report, "/pool_wait_ms/count"), 3000);
    let history: u64 = scalar("wl_tpcb", "SELECT count(*) FROM pgbench_history")
        .parse()
        .unwrap();
    assert_eq!(history, committed);
    let delta = scalar(
        "wl_tpcb",
        "SELECT coalesce(sum(delta), 0) FROM pgbench_history",
    );
    for table in ["pgbench_accounts", "pgbench_tellers", "pgbench_branches"] {
        let col = &table["pgbench_".len()..table.len() - 1];
        let sum = scalar(
            "wl_tpcb",
            &format!("SELECT coalesce(sum({}balance), 0) FROM {table}", &col[..1]),
        );
        assert_eq!(
            sum, delta,
            "{table} balances must add up to the history's deltas"
        );
    }
}

#[test]
fn the_same_seed_repeats_the_same_work() {
    let db = fresh_db("wl_seed");
    let mut sums = Vec::new();
    for _ in 0..2 {
        run_json(&[
            "run",
            "-w",
            "pgbench",
            "--mode",
            "tpcb-like",
            "-t",
            "400",
            "--workers",
            "2",
            "--rebuild",
            "--seed",
            "42",
            "--db",
            &db,
        ]);
        sums.push(query(
            "wl_seed",
            "SELECT sum(aid::bigint * delta), sum(tid * delta), count(*) FROM pgbench_history",
        ));
    }
    assert_eq!(sums[0], sums[1]);
    run_json(&[
        "run",
        "-w",
        "pgbench",
        "--mode",
        "tpcb-like",
        "-t",
        "400",
        "--workers",
        "2",
        "--rebuild",
        "--seed",
        "43",
        "--db",
        &db,
    ]);
    let other = query(
        "wl_seed",
        "SELECT sum(aid::bigint * delta), sum(tid * delta), count(*) FROM pgbench_history",
    );
    assert_ne!(sums[0], other);
}

/// The test probe's `sleep` mode (one `pg_sleep` per step) on `db`.
fn sleep_probe(db: &str, sleep: &str, extra: &[&str]) -> serde_json::Value {
    let probe = guest("test-probe");
    let mut args = vec![
        "run",
        "--plugin",
        probe.to_str().unwrap(),
        "--allow-unsigned",
        "--mode",
        "sleep",
        "--param",
        sleep,
        "--db",
        db,
    ];
    args.extend_from_slice(extra);
    run_json(&args).1
}

#[test]
fn warmup_steps_are_not_counted() {
    let db = fresh_db("wl_warmup");
    query("wl_warmup", "CREATE EXTENSION pg_stat_statements");
    let report = sleep_probe(&db, "sleep_ms=40", &["--warmup", "2s", "-d", "2s"]);
    // One worker sleeping 40 ms per step does at most 50 steps in 2 s;
    // counting the warmup would double that.
    let n = u64_at(&report, "/summary/transactions");
    assert!(
        (25..=51).contains(&n),
        "{n} steps in a 2 s window: {report}"
    );
    let elapsed = f64_at(&report, "/summary/elapsed_s");
    assert!((1.99..2.3).contains(&elapsed), "elapsed {elapsed}");
    let p50 = f64_at(&report, "/latency_ms/p50");
    assert!((40.0..60.0).contains(&p50), "p50 {p50}");
    // So do the server's statistics. pg_stat_statements counts a call as
    // it ends, so the window holds the measured steps' calls, give or take
    // the one step running as the window opened (the opening snapshot takes
    // a few milliseconds, well inside one 40 ms step).
    let calls: u64 = report["pg_stats"]["pg_stat_statements"]
        .as_array()
        .unwrap_or_else(|| panic!("no pg_stat_statements: {}", report["pg_stats"]))
        .iter()
        .filter(|s| s["query"].as_str().unwrap().contains("pg_sleep"))
        .map(|s| s["calls"].as_u64().unwrap())
        .sum();
    assert!(
        (n - 1..=n + 1).contains(&calls),
        "{calls} calls for {n} steps: {}",
        report["pg_stats"]
    );
    // Each step commits once; the closing snapshot waits for the run's
    // backends to exit (publishing their last counters), so none is lost.
    // (PostgreSQL publishes a busy backend's counters only every second or
    // few, so the opening edge of this one is blurred.)
    let commits = u64_at(&report, "/pg_stats/database/xact_commit");
    assert!(commits >= n, "{commits} commits for {n} steps");
    // Workload counters exclude the warmup too, and summarize sees them.
    assert_eq!(u64_at(&report, "/workload/counters/steps"), n);
    let per_s = f64_at(&report, "/workload/figures/counted-steps-per-s/value");
    let tps = f64_at(&report, "/summary/tps");
    assert!((per_s - tps).abs() < 0.01 * tps, "{per_s} vs {tps}");
}

#[test]
fn think_time_paces_warmup_and_idle_time_counts_in_the_window() {
    let db = fresh_db("wl_think");
    query("wl_think", "CREATE EXTENSION pg_stat_statements");
    query("wl_think", "SELECT pg_stat_statements_reset()");
    let report = sleep_probe(
        &db,
        "sleep_ms=5",
        &["--think-time", "450ms", "--warmup", "1s", "-d", "2s"],
    );
    // Steps start about every 455 ms: 5 in the 2 s window, the last one
    // ending ~1.8 s in. The window still lasts 2 s: the idle time after it
    // is part of the run, or the rate would be overstated by ~10%.
    let n = u64_at(&report, "/summary/transactions");
    assert!((4..=5).contains(&n), "{n} steps: {report}");
    let elapsed = f64_at(&report, "/summary/elapsed_s");
    assert!((1.99..2.3).contains(&elapsed), "elapsed {elapsed}");
    let tps = f64_at(&report, "/summary/tps");
    assert!((n as f64 / tps - elapsed).abs() < 0.01, "tps {tps}");
    // One row per started second of the window.
    let rows = report["time_series"]["rows"].as_array().unwrap();
    assert_eq!(
        rows.len(),
        elapsed.ceil() as usize,
        "{}",
        report["time_series"]
    );
    // Warmup paced the same way: about 3 steps in its second, not hundreds.
    let calls: i64 = scalar(
        "wl_think",
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%pg_sleep%'",
    )
    .parse()
    .unwrap();
    assert!(
        calls <= n as i64 + 4,
        "{calls} calls on the server for {n} measured steps"
    );
}

#[test]
fn config_file_supplies_the_run() {
    let db = fresh_db("wl_config");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("run.yaml");
    std::fs::write(
        &cfg,
        format!(
            "database:\n  url: \"{db}\"\nworkload: simple\nmode: read\nduration: 1s\nworkers: 2\nsetup: setup\nparams:\n  read_pct: 100\n"
        ),
    )
    .unwrap();
    let (_, report) = run_json(&["run", "-c", cfg.to_str().unwrap()]);
    assert_eq!(report["workload"]["name"], "simple");
    assert_eq!(report["workload"]["params"]["read_pct"], "100");
    assert_eq!(u64_at(&report, "/config/workers"), 2);
    assert!(u64_at(&report, "/summary/transactions") > 0);
}
