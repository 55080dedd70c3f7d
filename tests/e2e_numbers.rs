//! The numbers are right: latency percentiles of a known distribution,
//! throughput as transactions over real elapsed time, no coordinated
//! omission in rate mode, memory that does not grow with the run, and the
//! interval outputs (time series, CSV, pgbench aggregate log, HdrHistogram
//! log, Prometheus) agreeing with the report.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// These tests measure time; one at a time, so that a CPU-bound test does
/// not delay another's wakeups and show up in its latencies.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn probe() -> String {
    guest("test-probe").to_str().unwrap().to_string()
}

/// The probe in `sleep` mode against `db`, with more arguments; its
/// output and JSON report.
fn sleep_probe(db: &str, args: &[&str]) -> (std::process::Output, Value) {
    let probe = probe();
    let mut all = vec![
        "run",
        "--plugin",
        &probe,
        "--allow-unsigned",
        "--mode",
        "sleep",
        "--db",
        db,
    ];
    all.extend_from_slice(args);
    run_json(&all)
}

fn within(actual: f64, expected: f64, pct: f64) -> bool {
    (actual - expected).abs() <= expected * pct / 100.0
}

fn rows(report: &Value) -> &Vec<Value> {
    report
        .pointer("/time_series/rows")
        .and_then(Value::as_array)
        .expect("time_series.rows")
}

#[test]
fn percentiles_of_a_known_latency_distribution_are_exact() {
    let _serial = serial();
    let db = fresh_db("num_dist");
    // Nine steps of 200 ms, then one of 800 ms, per worker: p50 is 200 ms,
    // p95 and p99 are 800 ms, the mean 260 ms. pg_sleep itself wakes up to
    // ~2 ms late on this kind of machine (psql's \timing shows the same),
    // so sleeps are long enough for that to stay inside the tolerance.
    let (_, report) = sleep_probe(
        &db,
        &[
            "-p",
            "sleep_ms=200",
            "-p",
            "slow_ms=800",
            "-p",
            "every=10",
            "--workers",
            "16",
            "-d",
            "6s",
            "--interval",
            "500ms",
        ],
    );
    let l = |p: &str| f64_at(&report, &format!("/latency_ms/{p}"));
    // pg_sleep wakes a little late and the round trip adds a little: the
    // tolerance is 2 % of the true value.
    assert!(within(l("p50"), 200.0, 2.0), "p50 {}", l("p50"));
    assert!(within(l("p95"), 800.0, 2.0), "p95 {}", l("p95"));
    assert!(within(l("p99"), 800.0, 2.0), "p99 {}", l("p99"));
    assert!(l("min") >= 200.0, "min {} below the sleep", l("min"));
    let n = u64_at(&report, "/summary/transactions");
    // The share of slow steps is 10 % give or take one cycle per worker.
    let slow: u64 = report["latency_distribution"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["le_ms"].as_f64().unwrap() > 500.0)
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    let share = slow as f64 / n as f64;
    assert!((0.08..0.12).contains(&share), "slow share {share} of {n}");
    let expected_mean = 200.0 * (1.0 - share) + 800.0 * share;
    assert!(
        within(l("mean"), expected_mean, 2.0),
        "mean {} expected {expected_mean}",
        l("mean")
    );

    // Throughput is transactions over the real elapsed time.
    let elapsed = f64_at(&report, "/summary/elapsed_s");
    let tps = f64_at(&report, "/summary/tps");
    assert!(
        (tps - n as f64 / elapsed).abs() < 1e-6 * tps,
        "{tps} vs {n}/{elapsed}"
    );
    // The window ends at the last completion: between the duration and the
    // duration plus one slow step (and scheduling slack).
    assert!((6.0..7.0).contains(&elapsed), "elapsed {elapsed}");

    // The time series accounts for every transaction, in contiguous rows,
    // and its last row is cut to the end of the window.
    let rows = rows(&report);
    let total: u64 = rows
        .iter()
        .map(|r| r["transactions"].as_u64().unwrap())
        .sum();
    assert_eq!(total, n);
    for (i, r) in rows.iter().enumerate() {
        let t = r["t_s"].as_f64().unwrap();
        assert!((t - 0.5 * i as f64).abs() < 1e-9, "row {i} starts at {t}");
    }
    let last = rows.last().unwrap();
    let end = last["t_s"].as_f64().unwrap() + last["duration_s"].as_f64().unwrap();
    assert!(
        (end - elapsed).abs() < 1e-6,
        "series ends at {end}, run at {elapsed}"
    );
    // Per-statement timing covers the one statement.
    let st = &report["statements"][0];
    assert!(st["text"].as_str().unwrap().contains("pg_sleep"), "{st}");
    assert_eq!(st["count"].as_u64().unwrap(), n);
    assert!(within(f64_at(st, "/latency_ms/p50"), 200.0, 2.0), "{st}");
}

#[test]
fn rate_mode_charges_a_stall_to_every_step_scheduled_during_it() {
    let _serial = serial();
    let db = fresh_db("num_stall");
    query("num_stall", "CREATE TABLE locked (x int)");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("read.sql");
    std::fs::write(&script, "SELECT count(*) FROM locked;\n").unwrap();
    let json = dir.path().join("report.json");
    let child = stormdb()
        .args(["run", "--script"])
        .arg(&script)
        .args([
            "-R",
            "40",
            // Equal gaps: a Poisson draw of how many arrivals fall into the
            // stall would make the percentiles below a matter of luck.
            "--arrivals",
            "uniform",
            "--workers",
            "2",
            "-d",
            "6s",
            "--interval",
            "500ms",
        ])
        .args(["--db", &db, "--json-out"])
        .arg(&json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the workload is running, then hold an exclusive lock on
    // its table for one second from another session.
    let started = Instant::now();
    loop {
        let n = scalar(
            "num_stall",
            "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT count(*) FROM locked' AND pid <> pg_backend_pid()",
        );
        if n != "0" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never reached the table"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let reached = started.elapsed();
    std::thread::sleep(Duration::from_millis(1500));
    let lock_at = started.elapsed();
    query(
        "num_stall",
        "BEGIN; LOCK TABLE locked IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(1); COMMIT",
    );
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    // About 40 of the ~240 scheduled steps fall inside the stall. Measured
    // from their scheduled starts they wait up to a second; a closed-loop
    // measurement would have seen only the two steps that were running.
    let seen = format!(
        "table reached {reached:?} and locked {lock_at:?} after the start, for 1 s; \
         latency {} rate {} summary {}",
        report["latency_ms"], report["rate"], report["summary"]
    );
    let p90 = f64_at(&report, "/latency_ms/p90");
    let p99 = f64_at(&report, "/latency_ms/p99");
    assert!(
        p90 >= 100.0,
        "p90 {p90}: the stall was not charged to the schedule; {seen}"
    );
    assert!(p99 >= 700.0, "p99 {p99}; {seen}");
    let lag_max = f64_at(&report, "/rate/lag_ms/max");
    assert!(lag_max >= 500.0, "lag max {lag_max}; {seen}");
    // The schedule catches up afterwards: the target rate is met.
    let tps = f64_at(&report, "/summary/tps");
    assert!(within(tps, 40.0, 15.0), "tps {tps}; {seen}");
    // The server statistics saw the workers wait on the lock, sampling
    // four times a second over the six-second run.
    let waiting = report["pg_stats"]["locks"]["waiting_max"].as_i64().unwrap();
    assert!(
        waiting >= 1,
        "locks {}; {seen}",
        report["pg_stats"]["locks"]
    );
    let samples = report["pg_stats"]["locks"]["samples"].as_u64().unwrap();
    assert!(
        samples >= 16,
        "locks {}; {seen}",
        report["pg_stats"]["locks"]
    );
    // And the stall is visible in the time series.
    let worst = rows(&report)
        .iter()
        .map(|r| r["latency_ms"]["max"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(worst >= 700.0, "worst interval max {worst}");
    let console = String::from_utf8_lossy(&out.stdout);
    assert!(console.contains("schedule lag ms"), "{console}");
}

#[test]
fn rate_mode_ends_with_the_duration_and_counts_its_backlog() {
    let _serial = serial();
    let db = fresh_db("num_backlog");
    // 2,000 arrivals a second, equally spaced, for 2 s, shared by two
    // workers (on two threads where there are two cores) that manage 20
    // steps a second each: almost every arrival is still waiting when `-d`
    // ends.
    let (out, report) = sleep_probe(
        &db,
        &[
            "-p",
            "sleep_ms=50",
            "-R",
            "2000",
            "--arrivals",
            "uniform",
            "--workers",
            "2",
            "-d",
            "2s",
        ],
    );
    let done = u64_at(&report, "/summary/transactions") + u64_at(&report, "/summary/errors");
    let unstarted = u64_at(&report, "/rate/unstarted");
    // Every arrival due in the 2 s is either run or counted as unstarted.
    assert!(
        (3998..=4001).contains(&(done + unstarted)),
        "{done} run + {unstarted} unstarted: {}",
        report["rate"]
    );
    assert!(unstarted > 3800, "{done} run, {unstarted} unstarted");
    // The run ends with `-d` (plus the steps in flight), not when the
    // backlog would have drained (~100 s).
    let elapsed = f64_at(&report, "/summary/elapsed_s");
    assert!((2.0..2.5).contains(&elapsed), "elapsed {elapsed}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("behind schedule: {unstarted} steps")),
        "{stdout}"
    );

    // A run that keeps up has no backlog, and runs every arrival.
    let (out, report) = sleep_probe(
        &db,
        &[
            "-p",
            "sleep_ms=1",
            "-R",
            "100",
            "--arrivals",
            "uniform",
            "--workers",
            "4",
            "-d",
            "2s",
        ],
    );
    assert_eq!(u64_at(&report, "/rate/unstarted"), 0, "{}", report["rate"]);
    let done = u64_at(&report, "/summary/transactions");
    assert!((199..=201).contains(&done), "{done} of 200 arrivals ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("behind schedule"), "{stdout}");
}

#[test]
fn memory_does_not_grow_with_the_length_of_the_run() {
    let _serial = serial();
    let db = fresh_db("num_rss");
    let rss = |d: &str| {
        let (_, r) = run_json(&[
            "run",
            "--plugin",
            &probe(),
            "--allow-unsigned",
            "--mode",
            "noop",
            "--workers",
            "2",
            "-d",
            d,
            "--interval",
            "100ms",
            "--db",
            &db,
        ]);
        (
            u64_at(&r, "/process/max_rss_kb"),
            u64_at(&r, "/summary/transactions"),
        )
    };
    let (short, short_n) = rss("2s");
    let (long, long_n) = rss("8s");
    assert!(long_n > 2 * short_n, "{long_n} vs {short_n} steps");
    // Four times the steps (millions of them) and intervals: a leak of even
    // a few bytes per step would show as megabytes.
    assert!(
        long <= short + short / 10 + 8 * 1024,
        "peak RSS {short} KiB after {short_n} steps, {long} KiB after {long_n}"
    );
}

fn scrape(addr: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

#[test]
fn interval_outputs_agree_with_the_report() {
    let _serial = serial();
    let db = fresh_db("num_outputs");
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n);
    let mut child = stormdb()
        .args([
            "run",
            "--plugin",
            &probe(),
            "--allow-unsigned",
            "--mode",
            "sleep",
        ])
        .args(["-p", "sleep_ms=2", "--workers", "2", "-d", "5s"])
        // Whole seconds: pgbench's aggregate log stamps lines with them.
        .args(["--interval", "1s", "--max-tries", "3"])
        .args(["--metrics-addr", "127.0.0.1:0", "--db", &db])
        .arg("--json-out")
        .arg(path("r.json"))
        .arg("--csv-out")
        .arg(path("r.csv"))
        .arg("--aggregate-log")
        .arg(path("agg.log"))
        .arg("--hdr-log")
        .arg(path("lat.hlog"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The endpoint's address is logged when it starts.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if let Some(rest) = line.split("http://").nth(1) {
                let _ = tx.send(rest.trim_end_matches("/metrics").to_string());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let addr = rx.recv_timeout(Duration::from_secs(120)).unwrap();
    // Scrape until a completed interval shows (the address is logged
    // before the instances start; the run lasts 5 s after they have).
    let counter = |live: &str| {
        live.lines()
            .find(|l| l.starts_with("stormdb_transactions_total"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    let asked = Instant::now();
    let live = loop {
        let live = scrape(&addr);
        if counter(&live).is_some_and(|n| n > 0) || asked.elapsed() > Duration::from_secs(4) {
            break live;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = child.wait_with_output().unwrap();
    let stderr = reader.join().unwrap();
    assert!(out.status.success(), "{stderr}");
    assert!(live.contains("200 OK"), "{live}");
    let counted = counter(&live).unwrap_or_else(|| panic!("no transaction counter in {live}"));
    assert!(
        counted > 0,
        "the endpoint saw no completed interval: {live}"
    );
    assert!(live.contains("stormdb_latency_seconds{"), "{live}");

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(path("r.json")).unwrap()).unwrap();
    let n = u64_at(&report, "/summary/transactions");
    assert!(counted <= n);
    let rows = rows(&report);
    assert!(rows.len() >= 5, "{} rows", rows.len());

    // pgbench's aggregate log: one line per interval, seven fields plus
    // retried and retries (--max-tries), times in µs.
    let agg = std::fs::read_to_string(path("agg.log")).unwrap();
    let lines: Vec<Vec<u64>> = agg
        .lines()
        .map(|l| l.split(' ').map(|f| f.parse().unwrap()).collect())
        .collect();
    assert_eq!(lines.len(), rows.len(), "{agg}");
    assert!(lines.iter().all(|f| f.len() == 9), "{agg}");
    assert_eq!(lines.iter().map(|f| f[1]).sum::<u64>(), n);
    for (f, r) in lines.iter().zip(rows) {
        assert_eq!(f[1], r["transactions"].as_u64().unwrap());
        if f[1] > 0 {
            // Mean from the sums matches the row's mean.
            let mean_ms = f[2] as f64 / f[1] as f64 / 1000.0;
            let row_mean = r["latency_ms"]["mean"].as_f64().unwrap();
            assert!(
                (mean_ms - row_mean).abs() < 0.05 * row_mean + 0.01,
                "{mean_ms} vs {row_mean}"
            );
            assert!(f[4] >= 2000, "min latency {} µs below the 2 ms sleep", f[4]);
        }
    }
    let starts: Vec<u64> = lines.iter().map(|f| f[0]).collect();
    assert!(starts.windows(2).all(|w| w[1] == w[0] + 1), "{starts:?}");

    // CSV: a header and one line per row.
    let csv = std::fs::read_to_string(path("r.csv")).unwrap();
    let mut csv_lines = csv.lines();
    assert!(
        csv_lines
            .next()
            .unwrap()
            .starts_with("t_s,duration_s,transactions,")
    );
    let csv_total: u64 = csv_lines
        .map(|l| l.split(',').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(csv_total, n);

    // HdrHistogram log: headers, then one histogram per interval.
    let hlog = std::fs::read_to_string(path("lat.hlog")).unwrap();
    assert!(hlog.contains("#[StartTime: "), "{hlog}");
    let data: Vec<&str> = hlog
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with('"'))
        .collect();
    assert_eq!(data.len(), rows.len());
    for l in data {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f.len(), 4, "{l}");
        assert!(
            f[3].starts_with("HISTF"),
            "not a compressed V2 histogram: {l}"
        );
    }
}
