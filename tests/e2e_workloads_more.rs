//! TPC-C, pgbench custom scripts, bulk loading and connection modes,
//! through the real binary against real PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use serde_json::Value;

fn figures_ok(report: &Value) {
    let figures = report["workload"]["figures"].as_object().unwrap();
    for (name, f) in figures {
        assert_ne!(f["ok"], false, "figure {name} out of range: {f}");
    }
}

#[test]
fn tpcc_runs_the_five_transactions_and_stays_consistent() {
    let db = fresh_db("tpcc");
    let (_, report) = run_json(&[
        "run",
        "-w",
        "tpcc",
        "--scale",
        "2",
        "--rebuild",
        "-d",
        "15s",
        "--warmup",
        "2s",
        "--workers",
        "10",
        "--seed",
        "7",
        "-p",
        "check=true",
        "--db",
        &db,
    ]);
    assert_eq!(report["status"], "completed");
    for op in [
        "new-order",
        "payment",
        "order-status",
        "delivery",
        "stock-level",
    ] {
        assert!(
            u64_at(&report, &format!("/operations/{op}/count")) > 0,
            "{op}: {report}"
        );
    }
    // Errors other than the 1% intended rollbacks would mean a broken workload.
    assert_eq!(u64_at(&report, "/summary/errors"), 0, "{report}");
    assert!(u64_at(&report, "/operations/new-order/rolled_back") > 0);
    let tpmc = f64_at(&report, "/workload/figures/tpmc/value");
    let nopm = f64_at(&report, "/workload/figures/nopm/value");
    assert!(
        tpmc > 0.0 && nopm > 0.0 && nopm <= tpmc,
        "tpmc {tpmc} nopm {nopm}"
    );
    // The spec's consistency conditions 1-4, checked against the database.
    for n in 1..=4 {
        let key = report["workload"]["figures"]
            .as_object()
            .unwrap()
            .keys()
            .find(|k| k.starts_with(&format!("consistency {n}")))
            .unwrap_or_else(|| panic!("no consistency {n} figure: {report}"))
            .clone();
        assert_eq!(
            report["workload"]["figures"][&key]["ok"], true,
            "{key}: {report}"
        );
    }
    // Sanity figures (rollback %, lines per order, remote %, by-name %)
    // within their ranges, allowing for the sample size.
    figures_ok(&report);
    assert_eq!(scalar("tpcc", "SELECT count(*) FROM warehouse"), "2");
    assert_eq!(scalar("tpcc", "SELECT count(*) FROM item"), "100000");
}

#[test]
fn a_custom_script_produces_the_expected_distribution() {
    let db = fresh_db("script");
    query("script", "CREATE TABLE hits (k int, g int)");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hits.sql");
    std::fs::write(
        &script,
        "\\set k random(1, 10)\n\\set g random_gaussian(1, 9, 2.5)\nINSERT INTO hits (k, g)\n  VALUES (:k, :g);\n",
    )
    .unwrap();
    let other = dir.path().join("noop.sql");
    std::fs::write(&other, "SELECT :client_id, :scale;\n").unwrap();
    let arg = format!("{}@3", script.display());
    let (_, report) = run_json(&[
        "run",
        "--script",
        &arg,
        "--script",
        other.to_str().unwrap(),
        "-t",
        "4000",
        "--workers",
        "2",
        "--seed",
        "11",
        "--db",
        &db,
    ]);
    assert_eq!(u64_at(&report, "/summary/errors"), 0, "{report}");
    let hits = u64_at(&report, "/operations/hits.sql/count");
    let noop = u64_at(&report, "/operations/noop.sql/count");
    assert_eq!(hits + noop, 4000);
    // Weights 3:1.
    let share = hits as f64 / 4000.0;
    assert!((0.70..0.80).contains(&share), "hits share {share}");
    // Uniform keys: each about a tenth.
    for row in query(
        "script",
        "SELECT k, count(*) FROM hits GROUP BY k ORDER BY k",
    ) {
        let n: f64 = row[1].as_ref().unwrap().parse().unwrap();
        let p = n / hits as f64;
        assert!((0.07..0.13).contains(&p), "key {:?}: {p}", row[0]);
    }
    assert_eq!(scalar("script", "SELECT count(DISTINCT k) FROM hits"), "10");
    // Gaussian: the middle is most frequent, the ends least.
    let mid: u64 = scalar("script", "SELECT count(*) FROM hits WHERE g = 5")
        .parse()
        .unwrap();
    let edge: u64 = scalar("script", "SELECT count(*) FROM hits WHERE g = 1")
        .parse()
        .unwrap();
    assert!(mid > 3 * edge.max(1), "mid {mid} edge {edge}");
}

#[test]
fn bulk_insert_rows_match_the_table() {
    let db = fresh_db("bulk");
    let (_, report) = run_json(&[
        "run",
        "-w",
        "bulk-insert",
        "--mode",
        "all",
        "--setup",
        "-d",
        "6s",
        "--warmup",
        "1s",
        "--workers",
        "2",
        "-p",
        "batch_sizes=1,100,1000",
        "--db",
        &db,
    ]);
    assert_eq!(u64_at(&report, "/summary/errors"), 0, "{report}");
    figures_ok(&report);
    let ops = report["operations"].as_object().unwrap();
    assert!(ops.keys().any(|k| k.starts_with("copy-")), "{report}");
    assert!(
        ops.keys().any(|k| k.starts_with("multi-insert-")),
        "{report}"
    );
    assert!(ops.keys().any(|k| k.starts_with("insert-")), "{report}");
}

#[test]
fn connection_modes_complete_and_report_connect_times() {
    let db = fresh_db("connmodes");
    run_json(&[
        "run", "-w", "simple", "--mode", "read", "--setup", "-t", "10", "--db", &db,
    ]);
    for mode in ["persistent", "transient", "mixed"] {
        let (_, report) = run_json(&[
            "run",
            "-w",
            "simple",
            "--mode",
            "read",
            "--connection-mode",
            mode,
            "-d",
            "2s",
            "--workers",
            "4",
            "--db",
            &db,
        ]);
        assert_eq!(report["config"]["connection_mode"], mode);
        assert_eq!(u64_at(&report, "/summary/errors"), 0, "{report}");
        let by_mode = report["connections"]["by_mode"].as_object().unwrap();
        match mode {
            "persistent" => {
                assert_eq!(u64_at(&report, "/connections/connect_ms/count"), 0);
                assert!(u64_at(&report, "/connections/by_mode/persistent/transactions") > 0);
            }
            "transient" => {
                // Every step connected.
                assert_eq!(
                    u64_at(&report, "/connections/connect_ms/count"),
                    u64_at(&report, "/summary/transactions")
                );
                assert!(f64_at(&report, "/connections/connect_ms/p50") > 0.0);
                assert!(by_mode.get("persistent").is_none());
            }
            _ => {
                assert_eq!(u64_at(&report, "/connections/by_mode/transient/workers"), 2);
                assert_eq!(
                    u64_at(&report, "/connections/by_mode/persistent/workers"),
                    2
                );
                // Connecting per step costs throughput.
                assert!(
                    f64_at(&report, "/connections/by_mode/persistent/tps")
                        > f64_at(&report, "/connections/by_mode/transient/tps")
                );
            }
        }
    }
}

#[test]
fn serialization_failures_are_retried_and_every_try_is_counted() {
    let db = fresh_db("retry");
    // Two tries in three fail with 40001, whichever worker makes them; the
    // sequence counts every try the server saw.
    query(
        "retry",
        "CREATE SEQUENCE tries; \
         CREATE FUNCTION flaky() RETURNS bigint LANGUAGE plpgsql AS $$ \
         DECLARE n bigint := nextval('tries'); \
         BEGIN \
           IF n % 3 <> 0 THEN \
             RAISE EXCEPTION 'try % fails', n USING ERRCODE = '40001'; \
           END IF; \
           RETURN n; \
         END $$",
    );
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("flaky.sql");
    std::fs::write(&script, "SELECT flaky();\n").unwrap();
    // More workers than connections: every try takes one from the pool.
    let (_, report) = run_json(&[
        "run",
        "--script",
        script.to_str().unwrap(),
        "-t",
        "30",
        "--workers",
        "2",
        "--connections",
        "1",
        "--max-tries",
        "10",
        "--db",
        &db,
    ]);
    let ok = u64_at(&report, "/summary/transactions");
    let failed = u64_at(&report, "/summary/errors");
    let retried = u64_at(&report, "/summary/retried");
    let retries = u64_at(&report, "/summary/retries");
    assert_eq!(ok + failed, 30, "{}", report["summary"]);
    assert!(ok > 0 && retried > 0, "{}", report["summary"]);
    // Every try the server saw is a step or one of its retries...
    let tries: u64 = scalar("retry", "SELECT last_value FROM tries")
        .parse()
        .unwrap();
    assert_eq!(ok + failed + retries, tries, "{}", report["summary"]);
    // ... and each waited for its pooled connection, retries included.
    assert_eq!(u64_at(&report, "/pool_wait_ms/count"), tries);
    // Each retried step had at least one extra try.
    assert!(retries >= retried);
}
