//! Bad input: each gets a one-line reason and a non-zero exit.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;

fn one_line_error(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.starts_with("stormdb: error:"))
        .unwrap_or_else(|| panic!("no error line in:\n{stderr}"))
}

#[test]
fn unknown_workload_lists_the_built_ins() {
    let err = run_fail(&["run", "-w", "nosuch", "--db", "host=/nonexistent"]);
    let line = one_line_error(&err);
    assert!(
        line.contains("unknown workload 'nosuch'") && line.contains("pgbench"),
        "{err}"
    );
}

#[test]
fn unknown_mode_and_parameter_list_the_valid_ones() {
    let db = fresh_db("err_mode");
    let err = run_fail(&["run", "-w", "pgbench", "--mode", "nope", "--db", &db]);
    let line = one_line_error(&err);
    assert!(
        line.contains("no mode 'nope'") && line.contains("select-only"),
        "{err}"
    );
    let err = run_fail(&["run", "-w", "simple", "-p", "bogus=1", "--db", &db]);
    let line = one_line_error(&err);
    assert!(
        line.contains("no parameter 'bogus'") && line.contains("read_pct"),
        "{err}"
    );
}

#[test]
fn bad_duration_is_named() {
    let err = run_fail(&["run", "-w", "pgbench", "-d", "10x"]);
    assert!(
        one_line_error(&err).contains("'10x' is not a duration"),
        "{err}"
    );
}

#[test]
fn unreachable_database_is_named() {
    let err = run_fail(&[
        "run",
        "-w",
        "pgbench",
        "--db",
        "postgres://nobody@127.0.0.1:1/none",
    ]);
    let line = one_line_error(&err);
    assert!(
        line.contains("cannot reach the database at nobody@127.0.0.1:1/none"),
        "{err}"
    );
}

#[test]
fn malformed_config_gives_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.yaml");
    std::fs::write(&cfg, "workload: pgbench\nworkers: many\n").unwrap();
    let err = run_fail(&["run", "-c", cfg.to_str().unwrap()]);
    let line = one_line_error(&err);
    assert!(
        line.contains("bad.yaml") && line.contains("line 2 column"),
        "{err}"
    );
}

#[test]
fn missing_tables_say_how_to_create_them() {
    let db = fresh_db("err_tables");
    let out = stormdb()
        .args(["run", "-w", "pgbench", "-d", "1s", "--db", &db])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(one_line_error(&err).contains("--setup"), "{err}");
}

#[test]
fn unsigned_plugin_files_need_the_flag() {
    let err = run_fail(&["run", "--plugin", guest("test-probe").to_str().unwrap()]);
    assert!(one_line_error(&err).contains("--allow-unsigned"), "{err}");
}

#[test]
fn a_run_failing_part_way_still_reports_what_it_measured() {
    use std::time::{Duration, Instant};
    let db = fresh_db("err_partial");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let child = stormdb()
        .args([
            "run",
            "-w",
            "pgbench",
            "--mode",
            "select-only",
            "--setup",
            "--workers",
            "1",
            "-d",
            "60s",
            "--step-timeout",
            "1s",
            "--db",
            &db,
            "--json-out",
        ])
        .arg(&json)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while scalar(
        "err_partial",
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT abalance%'",
    ) == "0"
    {
        assert!(started.elapsed() < Duration::from_secs(60), "never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    // Close the database to new connections, then block the worker's
    // table, from sessions opened before either: the step times out, its
    // connection is discarded, and the replacement instance cannot connect
    // to initialise. (Closing the database first leaves no race between
    // the step's timeout and the ALTER.)
    let conninfo = db.clone();
    let locker = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let connect = |conninfo: String| async move {
                let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                (client, tokio::spawn(conn))
            };
            let (admin, a) =
                connect(conninfo.replace("dbname=err_partial", "dbname=postgres")).await;
            let (locker, l) = connect(conninfo).await;
            admin
                .simple_query("ALTER DATABASE err_partial ALLOW_CONNECTIONS false")
                .await
                .unwrap();
            locker
                .simple_query(
                    "BEGIN; LOCK TABLE pgbench_accounts IN ACCESS EXCLUSIVE MODE; \
                     SELECT pg_sleep(4); COMMIT",
                )
                .await
                .unwrap();
            drop((admin, locker));
            let _ = (a.await, l.await);
        })
    });
    let out = child.wait_with_output().unwrap();
    query(
        "postgres",
        "ALTER DATABASE err_partial ALLOW_CONNECTIONS true",
    );
    locker.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(one_line_error(&stderr).contains("init failed"), "{stderr}");
    // The report is written, marked failed, with what ran before.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["status"], "failed", "{report}");
    assert!(
        report["error"].as_str().unwrap().contains("init failed"),
        "{}",
        report["error"]
    );
    assert!(u64_at(&report, "/summary/transactions") > 0, "{report}");
    assert!(f64_at(&report, "/summary/elapsed_s") > 0.4, "{report}");
}
