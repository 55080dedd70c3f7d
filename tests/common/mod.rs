//! Shared support for the end-to-end tests: one throwaway PostgreSQL per
//! test binary (started by StormDB's own `local-pg`), a fresh database per
//! test, and helpers that run the real binary and read its JSON report.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

pub const BIN: &str = env!("CARGO_BIN_EXE_stormdb");

/// Test plugins built by host/build.rs.
pub fn guest(name: &str) -> PathBuf {
    Path::new(env!("STORMDB_GUEST_DIR")).join(format!("{name}.wasm"))
}

struct Server {
    conninfo: String,
    // Held so the server's stdin stays open; it stops when this process
    // exits and the pipe closes.
    _child: Mutex<Child>,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let mut child = Command::new(BIN)
            .args(["-q", "local-pg", "--max-connections", "300"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting stormdb local-pg");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reading conninfo");
        assert!(line.contains("host="), "local-pg printed {line:?}");
        Server {
            conninfo: line.trim().to_string(),
            _child: Mutex::new(child),
        }
    })
}

/// Runs `sql` on database `db` of the shared server, returning rows as
/// text (via psql-free tokio-postgres).
pub fn query(db: &str, sql: &str) -> Vec<Vec<Option<String>>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let conninfo = format!("{} dbname={db}", base_conninfo());
        let (client, conn) = tokio_postgres::connect(&conninfo, tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(conn);
        let msgs = client.simple_query(sql).await.unwrap();
        drop(client);
        let _ = task.await;
        msgs.into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect()
    })
}

/// The first column of the first row of `sql`.
pub fn scalar(db: &str, sql: &str) -> String {
    query(db, sql)[0][0].clone().unwrap_or_default()
}

fn base_conninfo() -> String {
    server()
        .conninfo
        .split_whitespace()
        .filter(|kv| !kv.starts_with("dbname="))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A new, empty database named `name`; returns its connection string.
pub fn fresh_db(name: &str) -> String {
    query("postgres", &format!("DROP DATABASE IF EXISTS {name}"));
    query("postgres", &format!("CREATE DATABASE {name}"));
    format!("{} dbname={name}", base_conninfo())
}

/// A `stormdb` command with no PG* variables from the environment.
pub fn stormdb() -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("PG") {
            c.env_remove(k);
        }
    }
    c.env("STORMDB_CACHE_DIR", cache_dir());
    c
}

fn cache_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
        .path()
        .to_path_buf()
}

/// Runs stormdb with `args`, expecting success, and returns its JSON report.
pub fn run_json(args: &[&str]) -> (Output, Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let out = stormdb()
        .args(args)
        .arg("--json-out")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stormdb {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (out, report)
}

/// Runs stormdb expecting failure; returns its stderr.
pub fn run_fail(args: &[&str]) -> String {
    let out = stormdb().args(args).output().unwrap();
    assert!(
        !out.status.success(),
        "stormdb {args:?} should have failed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn u64_at(v: &Value, path: &str) -> u64 {
    v.pointer(path)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{path} missing or not an integer in {v}"))
}

pub fn f64_at(v: &Value, path: &str) -> f64 {
    v.pointer(path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{path} missing or not a number in {v}"))
}
