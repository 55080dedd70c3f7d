//! The adversarial suite: hostile plugins, each run through the real binary
//! against real PostgreSQL, each contained (the run completes, the host
//! keeps going) and counted in the report. Run with `--nocapture` to see
//! the table of attack, expected and observed.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use serde_json::Value;

/// Prints one line of the attack table (visible with `--nocapture`).
fn row(attack: &str, expected: &str, observed: String) {
    eprintln!("ATTACK {attack:<16} | expected: {expected:<48} | observed: {observed}");
}

/// `stormdb run --plugin GUEST --allow-unsigned`, more arguments to add.
fn run_unsigned(plugin: &str) -> std::process::Command {
    let mut cmd = stormdb();
    cmd.args(["run", "--plugin"])
        .arg(guest(plugin))
        .arg("--allow-unsigned");
    cmd
}

/// Runs guest `plugin` unsigned in `mode`; the run must complete (exit 0).
/// Its JSON report.
fn attack(db: &str, plugin: &str, mode: &str, extra: &[&str]) -> Value {
    let path = guest(plugin);
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

/// The one error kind and its count, and a sample.
fn error(report: &Value) -> (String, u64, String) {
    let e = &report["errors"][0];
    (
        e["kind"].as_str().unwrap_or("none").to_string(),
        e["count"].as_u64().unwrap_or(0),
        e["sample"]
            .as_str()
            .unwrap_or("")
            .chars()
            .take(90)
            .collect(),
    )
}

/// `replaced`: whether the failing instance must be replaced (`None`: either,
/// where two limits race and SECURITY.md says whichever fires first wins).
fn expect_kind(
    db: &str,
    mode: &str,
    extra: &[&str],
    kind: &str,
    sample: &str,
    replaced: Option<bool>,
) {
    let report = attack(db, "hostile", mode, extra);
    let (k, n, s) = error(&report);
    let observed = format!("{k} x{n}: {s}");
    row(mode, &format!("{kind}: {sample}"), observed.clone());
    // Every failure is of the expected kind (a timeout can be the host's
    // or the server's statement_timeout) and every step failed.
    for e in report["errors"].as_array().unwrap() {
        assert_eq!(e["kind"], kind, "{mode}: {report}");
    }
    assert_eq!(
        u64_at(&report, "/summary/transactions"),
        0,
        "{mode}: {report}"
    );
    assert!(n >= 1, "{mode}: {report}");
    assert!(s.contains(sample), "{mode}: expected {sample:?} in {s:?}");
    let r = u64_at(&report, "/summary/replaced_instances");
    if let Some(replaced) = replaced {
        assert_eq!(r > 0, replaced, "{mode}: replaced {r}");
    }
}

#[test]
fn hostile_plugins_are_contained_and_counted() {
    let db = fresh_db("sandbox");
    let t3 = ["-t", "3"];
    // CPU and memory: traps and deadlines, the instance replaced each time.
    expect_kind(
        &db,
        "spin-step",
        &["-t", "3", "--step-cpu-limit", "500ms"],
        "timeout",
        "CPU deadline",
        Some(true),
    );
    // Calling the host between stretches of work does not hide them: the
    // CPU budget stops only while a call runs.
    expect_kind(
        &db,
        "spin-calls",
        &[
            "-t",
            "2",
            "--step-cpu-limit",
            "500ms",
            "--step-timeout",
            "30s",
        ],
        "timeout",
        "CPU deadline",
        Some(true),
    );
    expect_kind(
        &db,
        "memory",
        &["-t", "2", "--memory-limit", "32"],
        "trap",
        "memory",
        Some(true),
    );
    expect_kind(&db, "recursion", &t3, "trap", "stack", Some(true));
    expect_kind(
        &db,
        "panic",
        &t3,
        "trap",
        "hostile plugin panics",
        Some(true),
    );
    // Blocked in a host call: the wall-clock limit or the tenant's
    // statement_timeout (both 1 s) ends it, whichever fires first; only the
    // host's limit replaces the instance, so either count is right.
    expect_kind(
        &db,
        "slow",
        &["-t", "2", "--step-timeout", "1s"],
        "timeout",
        "",
        None,
    );
    // Statements each well inside statement_timeout: only the host's
    // wall-clock limit on the step ends it, and the instance is replaced.
    expect_kind(
        &db,
        "slow-steps",
        &["-t", "2", "--step-timeout", "1s"],
        "timeout",
        "wall-clock timeout",
        Some(true),
    );
    // Statements the policy refuses before they reach the server.
    expect_kind(
        &db,
        "ddl",
        &t3,
        "denied",
        "DDL is only allowed",
        Some(false),
    );
    expect_kind(&db, "set-role", &t3, "denied", "SET ROLE", Some(false));
    expect_kind(&db, "set-config", &t3, "denied", "set_config", Some(false));
    expect_kind(&db, "read-file", &t3, "denied", "pg_read_file", Some(false));
    expect_kind(&db, "copy-program", &t3, "denied", "COPY", Some(false));
    expect_kind(
        &db,
        "two-statements",
        &t3,
        "denied",
        "one statement per call",
        Some(false),
    );
    // Host limits.
    expect_kind(
        &db,
        "huge-result",
        &["-t", "1"],
        "limit",
        "per-result row limit",
        Some(false),
    );
    expect_kind(
        &db,
        "many-statements",
        &["-t", "2", "--max-statements-per-step", "100"],
        "limit",
        "per-step statement limit",
        Some(false),
    );
    assert!(
        !std::path::Path::new("/tmp/stormdb-pwned").exists(),
        "COPY TO PROGRAM ran"
    );
}

#[test]
fn an_endless_setup_is_stopped_and_the_run_fails_cleanly() {
    let db = fresh_db("sandbox_setup");
    let out = run_unsigned("hostile")
        .args(["--mode", "spin-setup"])
        .args([
            "--rebuild",
            "--setup-cpu-limit",
            "1s",
            "-t",
            "1",
            "--db",
            &db,
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    row(
        "spin-setup",
        "run fails: setup-schema CPU deadline",
        err.lines().last().unwrap_or("").into(),
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("setup-schema failed: CPU deadline"), "{err}");
}

#[test]
fn a_log_flood_is_rate_limited() {
    let db = fresh_db("sandbox_logs");
    let out = run_unsigned("hostile")
        .args(["--mode", "log-flood"])
        .args(["-t", "3", "--db", &db])
        .output()
        .unwrap();
    assert!(out.status.success());
    let lines = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("flood line"))
        .count();
    row(
        "log-flood",
        "30,000 lines cut to the burst",
        format!("{lines} lines reached stderr"),
    );
    assert!(lines < 200, "{lines} flood lines reached stderr");
}

/// Tenant `victim` loads the probe's table (1,000 rows) in database `db`.
fn load_victim(db: &str) {
    let setup = ["--tenant", "victim", "--setup", "-t", "1"];
    attack(db, "test-probe", "ping", &setup);
}

#[test]
fn tenants_cannot_reach_each_other() {
    let db = fresh_db("sandbox_tenants");
    // The victim tenant loads its table.
    load_victim(&db);
    let before = scalar(
        "sandbox_tenants",
        "SELECT count(*) FROM stormdb_t_victim.probe_load",
    );
    assert_eq!(before, "1000");
    // The victim keeps working while the attacker runs.
    let victim = run_unsigned("test-probe")
        .args(["--tenant", "victim"])
        .args(["--mode", "tx", "-d", "4s", "--db", &db])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for mode in ["cross-read", "cross-write"] {
        let report = attack(
            &db,
            "hostile",
            mode,
            &["-t", "3", "-p", "target=stormdb_t_victim.probe_load"],
        );
        let e = &report["errors"][0];
        row(
            mode,
            "database 42501: permission denied for schema",
            format!(
                "{} {} x{}: {}",
                e["kind"], e["sqlstate"], e["count"], e["sample"]
            ),
        );
        assert_eq!(e["sqlstate"], "42501", "{report}");
        assert_eq!(u64_at(&report, "/summary/transactions"), 0);
    }
    let status = victim.wait_with_output().unwrap().status;
    assert!(status.success());
    assert_eq!(
        scalar(
            "sandbox_tenants",
            "SELECT count(*) FROM stormdb_t_victim.probe_load"
        ),
        "1000"
    );
    // The attacker's role owns nothing but its own schema.
    let owned = scalar(
        "sandbox_tenants",
        "SELECT count(*) FROM pg_namespace WHERE nspowner = 'stormdb_t_hostile'::regrole AND nspname <> 'stormdb_t_hostile'",
    );
    assert_eq!(owned, "0");
    let superuser = scalar(
        "sandbox_tenants",
        "SELECT rolsuper::text FROM pg_roles WHERE rolname = 'stormdb_t_hostile'",
    );
    assert_eq!(superuser, "false");
}

/// Two processes of one tenant at once, on one server. Each logs in as a
/// run role of its own, so the second changes neither the first's password
/// nor its connection limit: the first opens a new connection per step
/// throughout (6 transient workers, more than the second's limit) and
/// loses none. Tables belong to the tenant's role, which cannot log in,
/// and no run role is left afterwards. A run role a killed process left a
/// day ago is swept; one made a moment ago is not.
#[test]
fn concurrent_runs_of_one_tenant_keep_their_own_login() {
    let name = "sandbox_same_tenant";
    let db = fresh_db(name);
    let setup = ["--tenant", "shared", "--setup", "-t", "1"];
    attack(&db, "test-probe", "ping", &setup);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (login, created) in [("stale", now - 2 * 86_400), ("recent", now)] {
        query(
            name,
            &format!(
                "CREATE ROLE stormdb_t_shared_r{login} LOGIN; \
                 COMMENT ON ROLE stormdb_t_shared_r{login} IS 'stormdb run role, created {created}'; \
                 GRANT stormdb_t_shared TO stormdb_t_shared_r{login}"
            ),
        );
    }
    // This test's own run roles: the hand-made ones excluded.
    let runs = "SELECT string_agg(rolname || ':' || rolconnlimit, ',' ORDER BY rolname) \
         FROM pg_roles WHERE rolname LIKE 'stormdb\\_t\\_shared\\_r%' \
         AND rolname NOT IN ('stormdb_t_shared_rstale', 'stormdb_t_shared_rrecent')";
    let dir = tempfile::tempdir().unwrap();
    let first_json = dir.path().join("first.json");
    let first = run_unsigned("test-probe")
        .args(["--tenant", "shared", "--mode", "tx", "-d", "6s"])
        .args(["--workers", "6", "--connection-mode", "transient"])
        .args(["--db", &db, "--json-out"])
        .arg(&first_json)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The first process's run role, limit max(6 connections, loaders) + 4.
    let mut first_role = String::new();
    for _ in 0..100 {
        first_role = scalar(name, runs);
        if !first_role.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        first_role.starts_with("stormdb_t_shared_r") && !first_role.contains(','),
        "{first_role}"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    // The second: one connection, one loader, so a shared limit would be 5
    // against the first's 6 transient workers.
    let second = attack(
        &db,
        "test-probe",
        "tx",
        &[
            "--tenant",
            "shared",
            "-d",
            "1s",
            "--workers",
            "1",
            "--loaders",
            "1",
        ],
    );
    assert!(u64_at(&second, "/summary/transactions") > 0, "{second}");
    assert_eq!(u64_at(&second, "/summary/errors"), 0, "{second}");
    // The second dropped its own role and left the first's as it was.
    assert_eq!(scalar(name, runs), first_role);
    assert!(first.wait_with_output().unwrap().status.success());
    let first: Value =
        serde_json::from_str(&std::fs::read_to_string(&first_json).unwrap()).unwrap();
    assert!(u64_at(&first, "/summary/transactions") > 0, "{first}");
    assert_eq!(u64_at(&first, "/summary/errors"), 0, "{first}");
    // Only the role made a moment ago is left (by the test, not a run).
    let left = "SELECT string_agg(rolname, ',') FROM pg_roles WHERE rolname LIKE 'stormdb\\_t\\_shared\\_r%'";
    assert_eq!(scalar(name, left), "stormdb_t_shared_rrecent");
    query(name, "DROP ROLE stormdb_t_shared_rrecent");
    assert_eq!(
        scalar(
            name,
            "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'stormdb_t_shared'"
        ),
        "stormdb_t_shared"
    );
    assert_eq!(
        scalar(
            name,
            "SELECT rolcanlogin::text FROM pg_roles WHERE rolname = 'stormdb_t_shared'"
        ),
        "false"
    );
}

/// A function the plugin made in setup switches the session back to the
/// process's run role, sets that role's password and has the tenant grant
/// it a privilege (so that a plain DROP ROLE would fail), hoping to keep a
/// way in after the run. The run role is retired all the same.
#[test]
fn a_run_role_does_not_outlive_its_run() {
    let name = "sandbox_keep_login";
    let db = fresh_db(name);
    let report = attack(
        &db,
        "hostile",
        "keep-login",
        &["--tenant", "escape", "--rebuild", "-t", "1"],
    );
    // The attack itself went through inside PostgreSQL.
    assert_eq!(u64_at(&report, "/summary/transactions"), 1, "{report}");
    assert_eq!(u64_at(&report, "/summary/errors"), 0, "{report}");
    let left = scalar(
        name,
        "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'stormdb\\_t\\_escape\\_r%'",
    );
    row(
        "keep-login",
        "no run role left after the run",
        format!("{left} left"),
    );
    assert_eq!(left, "0");
}

/// Both tenants in one process: a mix (`workloads:` in the config) runs
/// the victim's transactions beside two attackers on the same runtime,
/// sandbox and host; the attackers are denied by PostgreSQL, the victim
/// loses nothing and sees no errors.
#[test]
fn a_mix_keeps_tenants_apart_in_one_process() {
    let db = fresh_db("sandbox_mix");
    let probe = guest("test-probe");
    let hostile = guest("hostile");
    load_victim(&db);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mix.yaml");
    std::fs::write(
        &config,
        format!(
            "duration: 3s\nworkloads:\n\
             - plugin: {probe}\n  tenant: victim\n  mode: tx\n  workers: 2\n\
             - plugin: {hostile}\n  mode: cross-read\n  params:\n    target: stormdb_t_victim.probe_load\n\
             - plugin: {hostile}\n  mode: cross-write\n  params:\n    target: stormdb_t_victim.probe_load\n",
            probe = probe.display(),
            hostile = hostile.display()
        ),
    )
    .unwrap();
    let (_, mix) = run_json(&[
        "run",
        "--config",
        config.to_str().unwrap(),
        "--allow-unsigned",
        "--db",
        &db,
    ]);
    assert_eq!(mix["kind"], "mix", "{mix}");
    let runs = mix["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    let victim = &runs[0];
    assert_eq!(victim["status"], "completed", "{victim}");
    assert!(u64_at(victim, "/summary/transactions") > 0, "{victim}");
    assert_eq!(u64_at(victim, "/summary/errors"), 0, "{victim}");
    for (attacker, mode) in runs[1..].iter().zip(["cross-read", "cross-write"]) {
        let e = &attacker["errors"][0];
        row(
            &format!("mix {mode}"),
            "database 42501 beside a working victim",
            format!(
                "{} {} x{}: victim {} tx, 0 errors",
                e["kind"],
                e["sqlstate"],
                e["count"],
                u64_at(victim, "/summary/transactions")
            ),
        );
        assert_eq!(e["sqlstate"], "42501", "{attacker}");
        assert_eq!(u64_at(attacker, "/summary/transactions"), 0, "{attacker}");
    }
    assert_eq!(
        scalar(
            "sandbox_mix",
            "SELECT count(*) FROM stormdb_t_victim.probe_load"
        ),
        "1000"
    );
    // The single-report tools say what to do with a mix instead of
    // misreading it.
    let saved = dir.path().join("mix.json");
    std::fs::write(&saved, mix.to_string()).unwrap();
    let saved = saved.to_str().unwrap();
    let err = run_fail(&["compare", saved, saved]);
    assert!(err.contains("report of a mix"), "{err}");
    let page = dir.path().join("mix.html");
    let err = run_fail(&["html", saved, "-o", page.to_str().unwrap()]);
    assert!(err.contains("report of a mix"), "{err}");
}

#[test]
fn wasi_files_and_sockets_are_inert_or_refused() {
    let db = fresh_db("sandbox_wasi");
    for mode in ["fs", "net"] {
        let report = attack(&db, "hostile-wasi", mode, &["-t", "2"]);
        let (k, n, s) = error(&report);
        row(
            mode,
            "inert: the open fails inside the plugin",
            format!("{k} x{n}: {s}"),
        );
        assert!(s.contains("refused by the sandbox"), "{mode}: {report}");
        assert_eq!(u64_at(&report, "/summary/transactions"), 0);
    }
    let out = run_unsigned("hostile-wasi")
        .args(["--strict-wasi", "--db", &db])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    row(
        "strict-wasi",
        "refused at load, naming the import",
        err.lines().last().unwrap_or("").into(),
    );
    assert!(!out.status.success());
    assert!(err.contains("imports wasi:"), "{err}");
}
