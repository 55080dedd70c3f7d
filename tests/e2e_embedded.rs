//! The embedded default: with no database given, StormDB starts a
//! throwaway PostgreSQL and removes it afterwards, also when interrupted.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn cluster_dir(line: &str) -> Option<PathBuf> {
    let (_, rest) = line.split_once("started a throwaway PostgreSQL")?;
    let dir = rest.split(" in ").nth(1)?.trim();
    Some(PathBuf::from(dir))
}

/// Processes whose command line mentions `dir`.
fn processes_using(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter_map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            cmd.contains(&needle).then_some(cmd)
        })
        .collect()
}

fn assert_gone(dir: &Path) {
    // The server's children may take a moment to go after the postmaster.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_using(dir).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        processes_using(dir).is_empty(),
        "left running: {:?}",
        processes_using(dir)
    );
    assert!(!dir.exists(), "{} was left behind", dir.display());
}

#[test]
fn a_run_without_a_database_uses_a_throwaway_server_and_removes_it() {
    let (out, report) = run_json(&[
        "run",
        "-w",
        "simple",
        "--mode",
        "read",
        "-d",
        "1s",
        "--workers",
        "2",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let dir = stderr
        .lines()
        .find_map(cluster_dir)
        .expect("no start-up line");
    assert_eq!(report["database"]["embedded"], true);
    assert!(
        report["database"]["server_version"]
            .as_str()
            .unwrap()
            .starts_with(char::is_numeric)
    );
    assert_eq!(report["setup"]["performed"], true);
    assert!(u64_at(&report, "/summary/transactions") > 0);
    assert_gone(&dir);
}

#[test]
fn an_interrupted_run_writes_its_report_and_removes_the_server() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("r.json");
    let mut child = stormdb()
        .args([
            "run",
            "-w",
            "pgbench",
            "--mode",
            "select-only",
            "-d",
            "120s",
            "--progress",
            "1s",
            "--workers",
            "2",
        ])
        .arg("--json-out")
        .arg(&json)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut dir = None;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("no progress line");
        if let Some(d) = cluster_dir(&line) {
            dir = Some(d);
        }
        if line.starts_with("progress:") {
            break;
        }
    }
    let dir = dir.expect("no start-up line");
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["status"], "interrupted");
    assert!(u64_at(&report, "/summary/transactions") > 0);
    let elapsed = f64_at(&report, "/summary/elapsed_s");
    assert!(elapsed > 0.5 && elapsed < 60.0, "{elapsed}");
    assert_gone(&dir);
}
