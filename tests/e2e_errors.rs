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
