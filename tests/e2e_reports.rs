//! Reports after the run: `stormdb compare` tells a real difference from
//! noise, and the HTML report renders its charts in a real browser.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sleep_run(db: &str, sleep_ms: &str, dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let workers = if extra.contains(&"--workers") {
        &[][..]
    } else {
        &["--workers", "2"][..]
    };
    let probe = guest("test-probe");
    let json = dir.join(name);
    let out = stormdb()
        .args([
            "run",
            "--plugin",
            probe.to_str().unwrap(),
            "--allow-unsigned",
        ])
        .args(["--mode", "sleep", "-p", &format!("sleep_ms={sleep_ms}")])
        .args(workers)
        .args(["-d", "3s", "--interval", "250ms", "--db", db])
        .args(extra)
        .arg("--json-out")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json
}

fn compare(a: &Path, b: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = stormdb()
        .arg("compare")
        .arg(a)
        .arg(b)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn compare_tells_a_real_difference_from_none() {
    let db = fresh_db("rep_compare");
    let dir = tempfile::tempdir().unwrap();
    let fast = sleep_run(&db, "20", dir.path(), "fast.json", &[]);
    let slow = sleep_run(&db, "40", dir.path(), "slow.json", &[]);

    let verdict = dir.path().join("cmp.json");
    let (code, out, err) = compare(
        &fast,
        &slow,
        &[
            "--fail-on-regression",
            "--json-out",
            verdict.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "a slower B is a regression:\n{out}{err}");
    assert!(out.contains("verdict: B is worse than A"), "{out}");
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&verdict).unwrap()).unwrap();
    assert_eq!(c["regression"], true);
    let tps = &c["metrics"][0];
    assert_eq!(tps["metric"], "tps");
    assert_eq!(tps["verdict"], "worse");
    assert!(tps["test"]["p"].as_f64().unwrap() < 0.001, "{tps}");
    // Half the throughput (per-interval means), give or take the round
    // trips: each step's overhead would have to pass 40 ms to leave this.
    let change = tps["change_pct"].as_f64().unwrap();
    assert!((-55.0..-25.0).contains(&change), "{change}");
    let lat = &c["metrics"][1];
    assert_eq!(lat["verdict"], "worse", "{lat}");

    let (code, out, _) = compare(&slow, &fast, &["--fail-on-regression"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("verdict: B is better than A"), "{out}");

    // A run against itself: no difference, p = 1.
    let (code, out, _) = compare(&fast, &fast, &["--fail-on-regression"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("verdict: no significant difference"), "{out}");
}

#[test]
fn compare_names_what_is_not_like_for_like_and_refuses_non_reports() {
    let db = fresh_db("rep_unlike");
    let dir = tempfile::tempdir().unwrap();
    let a = sleep_run(&db, "2", dir.path(), "a.json", &[]);
    let b = sleep_run(&db, "2", dir.path(), "b.json", &["--workers", "3"]);
    let (code, out, _) = compare(&a, &b, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not like for like: workers 2 vs 3"), "{out}");

    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, "{\"status\": \"completed\"}").unwrap();
    let (code, _, err) = compare(&a, &junk, &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("junk.json is not a StormDB JSON report"),
        "{err}"
    );
    assert!(err.contains("missing field"), "{err}");
    let (code, _, err) = compare(&a, &dir.path().join("absent.json"), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("absent.json"), "{err}");
}

fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var("CHROMIUM").unwrap_or("/usr/bin/chromium".into()));
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("STORMDB_SKIP_BROWSER_TEST").is_some(),
        "the HTML report test needs Chromium at {} (apt-get install chromium), \
         or set STORMDB_SKIP_BROWSER_TEST=1 to skip it",
        path.display()
    );
    None
}

#[test]
fn the_html_report_draws_its_charts_in_a_browser() {
    let db = fresh_db("rep_html");
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    // Rate mode with a latency limit, so the lag and skip charts have data.
    let json = sleep_run(
        &db,
        "3",
        dir.path(),
        "r.json",
        &[
            "-R",
            "200",
            "-L",
            "50ms",
            "--html-out",
            html.to_str().unwrap(),
        ],
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(!page.contains("__STORMDB_REPORT_JSON__"));
    assert!(page.contains("\"schema_version\""));
    // No network: no external scripts, styles or images.
    for needle in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!page.contains(needle), "the page loads {needle}");
    }

    // The same page from the JSON file.
    let again = dir.path().join("again.html");
    let out = stormdb()
        .args(["html"])
        .arg(&json)
        .arg("-o")
        .arg(&again)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::read_to_string(&again)
            .unwrap()
            .contains("\"schema_version\"")
    );

    let Some(chromium) = chromium() else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser/check-report.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&html)
        .env("CHROMIUM", &chromium)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
