//! The plugin supply chain through the real binary: keygen, pack, sign,
//! verify, publish, install (directory and HTTP registries), run, and one
//! refusal per way an artifact can be wrong.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

struct Fixture {
    dir: tempfile::TempDir,
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: Output, want: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected a refusal mentioning {want:?}, got success"
    );
    let line = err
        .lines()
        .find(|l| l.starts_with("stormdb: error:"))
        .unwrap_or_else(|| panic!("no error line in:\n{err}"));
    assert!(line.contains(want), "expected {want:?} in: {line}");
}

impl Fixture {
    /// Keys `a` (trusted) and `b`, and the test-probe component packed as
    /// `probe` 1.0.0 in `pkg/` and signed by `a`.
    fn new() -> Fixture {
        let f = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        ok(f.cmd(&[
            "plugin",
            "keygen",
            "--out",
            f.p("a").to_str().unwrap(),
            "--comment",
            "alice",
        ]));
        ok(f.cmd(&["plugin", "keygen", "--out", f.p("b").to_str().unwrap()]));
        f.package("pkg", "probe", "1.0.0", &[]);
        ok(f.cmd(&[
            "plugin",
            "sign",
            f.s("pkg/probe.manifest.yaml"),
            "--key",
            f.s("a"),
        ]));
        f
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn s(&self, rel: &str) -> &'static str {
        Box::leak(self.p(rel).to_string_lossy().into_owned().into_boxed_str())
    }

    fn cmd(&self, args: &[&str]) -> Output {
        stormdb()
            .args(args)
            .env("STORMDB_PLUGIN_DIR", self.p("cache"))
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    /// Copies the test probe into `dir` and packs it as `name` `version`.
    fn package(&self, dir: &str, name: &str, version: &str, extra: &[&str]) {
        std::fs::create_dir_all(self.p(dir)).unwrap();
        let wasm = self.p(&format!("{dir}/{name}.wasm"));
        std::fs::copy(guest("test-probe"), &wasm).unwrap();
        let mut args = vec![
            "plugin",
            "pack",
            self.s(&format!("{dir}/{name}.wasm")),
            "--name",
            name,
            "--version",
            version,
        ];
        args.extend_from_slice(extra);
        ok(self.cmd(&args));
    }

    fn manifest(&self) -> &'static str {
        self.s("pkg/probe.manifest.yaml")
    }

    fn verify(&self, extra: &[&str]) -> Output {
        let mut args = vec!["plugin", "verify", self.manifest()];
        args.extend_from_slice(extra);
        self.cmd(&args)
    }

    fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.p(rel)).unwrap();
        assert!(text.contains(from), "{from} not in {text}");
        std::fs::write(self.p(rel), text.replacen(from, to, 1)).unwrap();
    }

    fn config(&self, yaml: &str) -> &'static str {
        std::fs::write(self.p("stormdb.yaml"), yaml).unwrap();
        self.s("stormdb.yaml")
    }

    fn public_line(&self, key: &str) -> String {
        std::fs::read_to_string(self.p(&format!("{key}.pub")))
            .unwrap()
            .trim()
            .to_string()
    }

    fn key_id(&self, key: &str) -> String {
        self.public_line(key)
            .split_whitespace()
            .nth(1)
            .unwrap()
            .to_string()
    }
}

#[test]
fn keygen_writes_a_private_secret_key() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    let mode = std::fs::metadata(f.p("a")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(f.public_line("a").starts_with("stormdb-public-key-v1 "));
    // Never overwrite a key.
    refused(f.cmd(&["plugin", "keygen", "--out", f.s("a")]), "key file");
}

#[test]
fn a_signed_plugin_verifies_and_runs() {
    let f = Fixture::new();
    let out = ok(f.verify(&["--trust", f.s("a.pub")]));
    assert!(
        out.contains(&format!("signed by {}", f.key_id("a"))),
        "{out}"
    );
    let db = fresh_db("sc_run");
    let (_, report) = run_json(&[
        "run",
        "--plugin",
        f.manifest(),
        "--trust",
        f.s("a.pub"),
        "--mode",
        "ping",
        "-t",
        "20",
        "--db",
        &db,
    ]);
    assert_eq!(report["workload"]["origin"], "signed");
    assert_eq!(report["workload"]["signers"][0], f.key_id("a"));
    assert_eq!(u64_at(&report, "/summary/transactions"), 20);
    assert!(
        report["warnings"].as_array().unwrap().is_empty(),
        "{report}"
    );
}

#[test]
fn a_flipped_byte_in_the_component_is_a_digest_mismatch() {
    let f = Fixture::new();
    let path = f.p("pkg/probe.wasm");
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    refused(
        f.verify(&["--trust", f.s("a.pub")]),
        "SHA-256 digest mismatch",
    );
    // And the run refuses it before instantiating anything.
    refused(
        f.cmd(&[
            "run",
            "--plugin",
            f.manifest(),
            "--trust",
            f.s("a.pub"),
            "--db",
            "host=/nonexistent",
        ]),
        "digest mismatch",
    );
}

#[test]
fn an_escalated_capability_breaks_the_signature() {
    let f = Fixture::new();
    f.edit("pkg/probe.manifest.yaml", "- write", "- write\n- ddl");
    refused(f.verify(&["--trust", f.s("a.pub")]), "bad signature");
}

#[test]
fn a_signature_by_an_untrusted_key_is_an_unknown_signer() {
    let f = Fixture::new();
    refused(f.verify(&["--trust", f.s("b.pub")]), "unknown signer");
    refused(f.verify(&[]), "unknown signer");
}

#[test]
fn revoked_and_expired_keys_are_refused() {
    let f = Fixture::new();
    let cfg = f.config(&format!(
        "trust:\n  keys:\n    - public_key: \"{}\"\n  revoked: [{}]\n",
        f.public_line("a"),
        f.key_id("a")
    ));
    refused(f.verify(&["-c", cfg]), "revoked");
    let cfg = f.config(&format!(
        "trust:\n  keys:\n    - public_key: \"{}\"\n      expires: 2001-01-01\n",
        f.public_line("a")
    ));
    refused(f.verify(&["-c", cfg]), "expired");
    let cfg = f.config(&format!(
        "trust:\n  keys:\n    - public_key: \"{}\"\n      expires: 2999-01-01\n",
        f.public_line("a")
    ));
    ok(f.verify(&["-c", cfg]));
}

#[test]
fn thresholds_and_tenant_trust_sets_count_distinct_trusted_signers() {
    let f = Fixture::new();
    let keys = format!(
        "    - public_key: \"{}\"\n    - public_key: \"{}\"\n",
        f.public_line("a"),
        f.public_line("b")
    );
    let cfg = f.config(&format!(
        "trust:\n  threshold: 2\n  keys:\n{keys}  tenants:\n    team-b:\n      threshold: 1\n      keys:\n        - public_key: \"{}\"\n",
        f.public_line("b")
    ));
    refused(f.verify(&["-c", cfg]), "too few signatures: 1 valid");
    // Team b trusts only key b, which has not signed yet.
    refused(
        f.verify(&["-c", cfg, "--tenant", "team-b"]),
        "unknown signer",
    );
    ok(f.cmd(&["plugin", "sign", f.manifest(), "--key", f.s("b")]));
    ok(f.verify(&["-c", cfg]));
    ok(f.verify(&["-c", cfg, "--tenant", "team-b"]));
}

#[test]
fn unsigned_manifests_need_the_flag_and_are_flagged() {
    let f = Fixture::new();
    f.package("raw", "rawprobe", "0.1.0", &[]);
    let manifest = f.s("raw/rawprobe.manifest.yaml");
    refused(f.cmd(&["plugin", "verify", manifest]), "unsigned");
    ok(f.cmd(&["plugin", "verify", manifest, "--allow-unsigned"]));
}

#[test]
fn oversized_artifacts_are_refused_before_reading() {
    let f = Fixture::new();
    let cfg = f.config(&format!(
        "plugins:\n  max_artifact_mb: 0\ntrust:\n  keys:\n    - public_key: \"{}\"\n",
        f.public_line("a")
    ));
    refused(f.verify(&["-c", cfg]), "artifact limit");
}

#[test]
fn a_wrong_world_version_is_named() {
    let f = Fixture::new();
    f.edit(
        "pkg/probe.manifest.yaml",
        "stormdb:workload@0.1.0",
        "stormdb:workload@9.0.0",
    );
    ok(f.cmd(&["plugin", "sign", f.manifest(), "--key", f.s("a")]));
    refused(
        f.verify(&["--trust", f.s("a.pub")]),
        "built for stormdb:workload@9.0.0",
    );
}

#[test]
fn cycles_missing_and_incompatible_dependencies_name_the_chain() {
    let f = Fixture::new();
    f.package("deps", "alpha", "1.0.0", &["--depends", "beta@^1"]);
    f.package("deps", "beta", "1.0.0", &["--depends", "alpha@^1"]);
    f.package("deps", "gamma", "1.0.0", &["--depends", "delta@^1"]);
    f.package("deps", "epsilon", "1.0.0", &["--depends", "beta@^2"]);
    for m in ["alpha", "beta", "gamma", "epsilon"] {
        ok(f.cmd(&[
            "plugin",
            "sign",
            f.s(&format!("deps/{m}.manifest.yaml")),
            "--key",
            f.s("a"),
        ]));
    }
    let cfg = f.config(&format!(
        "plugins:\n  paths: [deps]\ntrust:\n  keys:\n    - public_key: \"{}\"\n",
        f.public_line("a")
    ));
    refused(
        f.cmd(&["plugin", "verify", "alpha", "-c", cfg]),
        "dependency cycle: alpha@1.0.0 -> beta@1.0.0 -> alpha@^1",
    );
    refused(
        f.cmd(&["plugin", "verify", "gamma", "-c", cfg]),
        "missing dependency",
    );
    refused(
        f.cmd(&["plugin", "verify", "epsilon", "-c", cfg]),
        "incompatible dependency",
    );
}

#[test]
fn dependencies_are_set_up_before_the_plugin() {
    let f = Fixture::new();
    let caps = [
        "--capability",
        "read",
        "--capability",
        "write",
        "--capability",
        "ddl",
        "--capability",
        "copy",
    ];
    f.package("deps", "base", "1.2.0", &caps);
    let mut top = caps.to_vec();
    top.extend_from_slice(&["--depends", "base@^1"]);
    f.package("deps", "top", "1.0.0", &top);
    for m in ["base", "top"] {
        ok(f.cmd(&[
            "plugin",
            "sign",
            f.s(&format!("deps/{m}.manifest.yaml")),
            "--key",
            f.s("a"),
        ]));
    }
    let cfg = f.config(&format!(
        "plugins:\n  paths: [deps]\ntrust:\n  keys:\n    - public_key: \"{}\"\n",
        f.public_line("a")
    ));
    let db = fresh_db("sc_deps");
    let out = f.cmd(&[
        "run",
        "--plugin",
        "top",
        "-c",
        cfg,
        "--mode",
        "ping",
        "-t",
        "5",
        "--setup",
        "--db",
        &db,
        "--json-out",
        f.s("r.json"),
    ]);
    ok(out);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.p("r.json")).unwrap()).unwrap();
    assert_eq!(report["workload"]["dependencies"][0]["name"], "base");
    assert_eq!(report["workload"]["dependencies"][0]["version"], "1.2.0");
    assert_eq!(report["workload"]["name"], "test-probe");
    // Dependencies share the plugin's tenant: base's tables are in top's schema.
    assert_eq!(report["config"]["tenant"], "top");
    assert_eq!(
        scalar("sc_deps", "SELECT count(*) FROM stormdb_t_top.probe_load"),
        "1000"
    );
}

#[test]
fn ungranted_capabilities_are_refused_at_load() {
    let f = Fixture::new();
    f.package(
        "x",
        "vec",
        "1.0.0",
        &["--capability", "read", "--capability", "extension:vector"],
    );
    ok(f.cmd(&[
        "plugin",
        "sign",
        f.s("x/vec.manifest.yaml"),
        "--key",
        f.s("a"),
    ]));
    let cfg = f.config(&format!(
        "grants:\n  default: [read, write]\ntrust:\n  keys:\n    - public_key: \"{}\"\n",
        f.public_line("a")
    ));
    let db = fresh_db("sc_grants");
    refused(
        f.cmd(&[
            "run",
            "--plugin",
            f.s("x/vec.manifest.yaml"),
            "-c",
            cfg,
            "--db",
            &db,
        ]),
        "plugin 'vec' requests extension:vector, which is not granted (granted: read, write)",
    );
}

/// Serves `root` over HTTP on 127.0.0.1 until the process ends.
fn serve(root: PathBuf) -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let port = server.server_addr().to_ip().unwrap().port();
    std::thread::spawn(move || {
        for req in server.incoming_requests() {
            let rel = req.url().trim_start_matches('/').to_string();
            let path = root.join(&rel);
            let resp = match std::fs::read(&path) {
                Ok(bytes) if !rel.contains("..") => tiny_http::Response::from_data(bytes).boxed(),
                _ => tiny_http::Response::from_string("not found")
                    .with_status_code(404)
                    .boxed(),
            };
            let _ = req.respond(resp);
        }
    });
    format!("http://127.0.0.1:{port}/")
}

fn registry_config(f: &Fixture) -> &'static str {
    f.config(&format!(
        "plugins:\n  lockfile: stormdb.lock\n  cache_dir: cache\ntrust:\n  keys:\n    - public_key: \"{}\"\n",
        f.public_line("a")
    ))
}

/// Publishes `manifest` to the fixture's directory registry.
fn publish(f: &Fixture, manifest: &str, cfg: &str) {
    ok(f.cmd(&[
        "plugin",
        "publish",
        manifest,
        "--registry",
        f.s("registry"),
        "-c",
        cfg,
    ]));
}

#[test]
fn install_from_an_http_registry_then_run_by_name() {
    let f = Fixture::new();
    let cfg = registry_config(&f);
    publish(&f, f.manifest(), cfg);
    let url = serve(f.p("registry"));
    let out = ok(f.cmd(&[
        "plugin",
        "install",
        "probe@^1",
        "--registry",
        &url,
        "-c",
        cfg,
    ]));
    assert!(out.contains("installed probe 1.0.0"), "{out}");
    let lock = std::fs::read_to_string(f.p("stormdb.lock")).unwrap();
    assert!(lock.contains("probe") && lock.contains("1.0.0"), "{lock}");
    let listed = ok(f.cmd(&["plugin", "list", "-c", cfg]));
    assert!(listed.contains("pgbench  builtin  sha256 "), "{listed}");
    assert!(
        listed.contains("probe 1.0.0") && listed.contains(&f.key_id("a")),
        "{listed}"
    );
    ok(f.cmd(&["plugin", "health", "probe", "-c", cfg]));
    let db = fresh_db("sc_http");
    ok(f.cmd(&[
        "run",
        "--plugin",
        "probe",
        "-c",
        cfg,
        "--locked",
        "--mode",
        "ping",
        "-t",
        "10",
        "--db",
        &db,
        "--json-out",
        f.s("r.json"),
    ]));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.p("r.json")).unwrap()).unwrap();
    assert_eq!(report["workload"]["origin"], "signed");
    assert_eq!(u64_at(&report, "/summary/transactions"), 10);
}

#[test]
fn rollbacks_and_drift_are_refused() {
    let f = Fixture::new();
    let cfg = registry_config(&f);
    f.package("v11", "probe", "1.1.0", &[]);
    ok(f.cmd(&[
        "plugin",
        "sign",
        f.s("v11/probe.manifest.yaml"),
        "--key",
        f.s("a"),
    ]));
    for m in ["pkg/probe.manifest.yaml", "v11/probe.manifest.yaml"] {
        publish(&f, f.s(m), cfg);
    }
    let reg = f.s("registry");
    ok(f.cmd(&["plugin", "install", "probe", "--registry", reg, "-c", cfg]));
    refused(
        f.cmd(&[
            "plugin",
            "install",
            "probe@=1.0.0",
            "--registry",
            reg,
            "-c",
            cfg,
        ]),
        "lower than the locked 1.1.0 (a rollback)",
    );
    ok(f.cmd(&[
        "plugin",
        "install",
        "probe@=1.0.0",
        "--registry",
        reg,
        "-c",
        cfg,
        "--allow-downgrade",
    ]));
    // --locked refuses a resolution that differs from the lock.
    refused(
        f.cmd(&[
            "plugin",
            "install",
            "probe@^1",
            "--registry",
            reg,
            "-c",
            cfg,
            "--locked",
        ]),
        "the lockfile pins 1.0.0",
    );
    // A registry serving different bytes under a locked version is refused
    // before anything is downloaded. Entries are sorted, so the first
    // digest in the index is 1.0.0's.
    let index = std::fs::read_to_string(f.p("registry/index.yaml")).unwrap();
    let first = index
        .lines()
        .find(|l| l.trim_start().starts_with("sha256:"))
        .unwrap()
        .to_string();
    let tampered = index.replacen(&first, &format!("  sha256: {}", "0".repeat(64)), 1);
    std::fs::write(f.p("registry/index.yaml"), tampered).unwrap();
    refused(
        f.cmd(&[
            "plugin",
            "install",
            "probe@=1.0.0",
            "--registry",
            reg,
            "-c",
            cfg,
        ]),
        "differs from the locked",
    );
}

#[test]
fn downloads_over_the_limit_are_refused() {
    let f = Fixture::new();
    let cfg = registry_config(&f);
    publish(&f, f.manifest(), cfg);
    let small = f.config(&format!(
        "plugins:\n  lockfile: stormdb.lock\n  cache_dir: cache\n  max_artifact_mb: 0\ntrust:\n  keys:\n    - public_key: \"{}\"\n",
        f.public_line("a")
    ));
    let url = serve(f.p("registry"));
    refused(
        f.cmd(&[
            "plugin",
            "install",
            "probe",
            "--registry",
            &url,
            "-c",
            small,
        ]),
        "artifact limit",
    );
    assert!(!Path::new(&f.p("cache/probe")).exists());
}
