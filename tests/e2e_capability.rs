//! The SQL capability and the runner's handling of failing plugins, through
//! the test-probe plugin.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;

/// Plugin files run as a tenant named after the plugin, in its own schema.
const PROBE_SCHEMA: &str = "stormdb_t_test_probe";

fn probe(db: &str, mode: &str, extra: &[&str]) -> serde_json::Value {
    let path = guest("test-probe");
    let mut args = vec![
        "run",
        "--plugin",
        path.to_str().unwrap(),
        "--allow-unsigned",
        "--mode",
        mode,
        "--db",
        db,
    ];
    args.extend_from_slice(extra);
    run_json(&args).1
}

#[test]
fn every_value_kind_round_trips_through_the_server() {
    let db = fresh_db("cap_types");
    let report = probe(&db, "types", &["-t", "20", "--workers", "2"]);
    assert_eq!(u64_at(&report, "/summary/errors"), 0, "{report}");
    assert_eq!(u64_at(&report, "/operations/types/count"), 20);
    assert_eq!(report["config"]["tenant"], "test_probe");
    assert_eq!(
        scalar(
            "cap_types",
            &format!("SELECT count(*) FROM pg_namespace WHERE nspname = '{PROBE_SCHEMA}'")
        ),
        "1"
    );
}

#[test]
fn transactions_commit_roll_back_and_refuse_reuse() {
    let db = fresh_db("cap_tx");
    let report = probe(&db, "tx", &["-t", "50", "--workers", "2", "--setup"]);
    assert_eq!(u64_at(&report, "/summary/errors"), 0, "{report}");
    assert_eq!(
        scalar(
            "cap_tx",
            "SELECT count(*) FROM stormdb_t_test_probe.probe_kv WHERE v = 'kept'"
        ),
        "50"
    );
    assert_eq!(
        scalar(
            "cap_tx",
            "SELECT count(*) FROM stormdb_t_test_probe.probe_kv WHERE v = 'dropped'"
        ),
        "0"
    );
}

#[test]
fn prepared_statements_run_by_handle_and_inside_transactions() {
    let db = fresh_db("cap_prepared");
    let report = probe(&db, "prepared", &["-t", "40", "--workers", "2", "--setup"]);
    assert_eq!(u64_at(&report, "/summary/errors"), 0, "{report}");
    assert_eq!(
        scalar(
            "cap_prepared",
            "SELECT count(*) FROM stormdb_t_test_probe.probe_kv WHERE v = 'prepared'"
        ),
        "40"
    );
    assert_eq!(
        scalar(
            "cap_prepared",
            "SELECT count(*) FROM stormdb_t_test_probe.probe_kv WHERE v = 'rolled back'"
        ),
        "0"
    );
}

#[test]
fn copy_in_loads_in_parallel_across_loaders() {
    let db = fresh_db("cap_copy");
    let report = probe(
        &db,
        "ping",
        &[
            "-t",
            "10",
            "--setup",
            "--loaders",
            "3",
            "--scale",
            "2",
            "--param",
            "rows=1500",
        ],
    );
    assert_eq!(report["setup"]["performed"], true);
    assert_eq!(u64_at(&report, "/setup/loaders"), 3);
    assert_eq!(
        scalar(
            "cap_copy",
            "SELECT count(*) FROM stormdb_t_test_probe.probe_load"
        ),
        "3000"
    );
    assert_eq!(
        scalar(
            "cap_copy",
            "SELECT count(DISTINCT id) FROM stormdb_t_test_probe.probe_load"
        ),
        "3000"
    );
    assert_eq!(
        scalar(
            "cap_copy",
            "SELECT count(DISTINCT loader) FROM stormdb_t_test_probe.probe_load"
        ),
        "3"
    );
    assert_eq!(
        query(
            "cap_copy",
            "SELECT tags[2], emb[1], doc->>'id' FROM stormdb_t_test_probe.probe_load WHERE id = 1234"
        )[0],
        vec![
            Some("1234".into()),
            Some("1234".into()),
            Some("1234".into())
        ]
    );
}

#[test]
fn failed_steps_are_counted_by_sqlstate_and_the_run_goes_on() {
    let db = fresh_db("cap_fail");
    let report = probe(&db, "fail", &["-t", "100", "--param", "every=5"]);
    assert_eq!(u64_at(&report, "/summary/transactions"), 80, "{report}");
    assert_eq!(u64_at(&report, "/summary/errors"), 20);
    // Counters of failed steps are dropped: one per successful step.
    assert_eq!(u64_at(&report, "/workload/counters/steps"), 80);
    assert_eq!(
        report["workload"]["figures"]["counted-vs-done"]["ok"], true,
        "{report}"
    );
    assert_eq!(u64_at(&report, "/operations/fail/errors"), 20);
    let e = &report["errors"][0];
    assert_eq!(e["kind"], "database");
    assert_eq!(e["sqlstate"], "22012");
    assert_eq!(e["count"], 20);
    assert!(e["sample"].as_str().unwrap().contains("division by zero"));
}

#[test]
fn a_trapping_instance_is_replaced_and_counted() {
    let db = fresh_db("cap_panic");
    let (out, report) = run_json(&[
        "run",
        "--plugin",
        guest("test-probe").to_str().unwrap(),
        "--allow-unsigned",
        "--mode",
        "panic",
        "--param",
        "every=10",
        "-t",
        "100",
        "--db",
        &db,
    ]);
    // The fresh instance starts counting again, so every tenth step of each
    // instance panics: 100 steps = 90 good ones and 10 traps.
    assert_eq!(u64_at(&report, "/summary/transactions"), 90, "{report}");
    assert_eq!(u64_at(&report, "/summary/errors"), 10);
    assert_eq!(u64_at(&report, "/summary/replaced_instances"), 10);
    let e = &report["errors"][0];
    assert_eq!(e["kind"], "trap");
    assert!(
        e["sample"].as_str().unwrap().contains("panics on purpose"),
        "{e}"
    );
    // The unsigned plugin is flagged loudly, on stderr and in the report.
    assert!(String::from_utf8_lossy(&out.stderr).contains("UNSIGNED"));
    assert_eq!(report["workload"]["origin"], "unsigned-file");
    assert!(report["warnings"][0].as_str().unwrap().contains("UNSIGNED"));
}
