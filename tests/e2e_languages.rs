//! The guest SDKs for Python, JavaScript and C, as an outside author uses
//! them: the examples of `examples/` built with their one-command builds and
//! run in every mode against real PostgreSQL, `stormdb plugin new` projects
//! in each language built and run the same way, and the SDKs' random
//! numbers checked against the Rust SDK's. Languages must leave identical
//! rows behind for the same seed.
//!
//! Needs python3 with venv, Node.js with npm, and (installed by
//! `examples/toolchain.sh` with apt-get when missing) clang, lld and
//! wasi-libc; the guest tools come from PyPI and npm the first time.
//! `STORMDB_SKIP_LANGUAGE_TESTS=1` skips this file on a machine without
//! them.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The scripts install and share one set of guest tools: one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn skipped() -> bool {
    let skip = std::env::var_os("STORMDB_SKIP_LANGUAGE_TESTS").is_some();
    if skip {
        eprintln!("STORMDB_SKIP_LANGUAGE_TESTS is set: the guest-language tests did not run");
    }
    skip
}

/// Runs a script of the repository, which must succeed; its stdout.
fn script(path: &str, args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(repo().join(path))
        .args(args)
        // Cargo builds of the Rust examples and tools/guest-c go to their
        // own target dir, away from the one this test runs from.
        .env("CARGO_TARGET_DIR", repo().join("target/examples"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{path} {args:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{stdout}");
    stdout
}

#[test]
fn the_sdks_draw_the_same_random_numbers() {
    if skipped() {
        return;
    }
    let expected = std::fs::read_to_string(repo().join("sdk/testdata/rng-vectors.txt")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c_bin = dir.path().join("rng_c");
    let cc = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-std=c11", "-O2", "-Wall", "-Wextra", "-I"])
        .arg(repo().join("sdk/c"))
        .arg(repo().join("sdk/c/test/rng_vectors.c"))
        .arg("-o")
        .arg(&c_bin)
        .output()
        .unwrap();
    assert!(
        cc.status.success(),
        "{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let generators: [(&str, Command); 3] = [
        ("python", {
            let mut c = Command::new("python3");
            c.arg(repo().join("sdk/python/tests/rng_vectors.py"));
            c
        }),
        ("javascript", {
            let mut c = Command::new("node");
            c.arg(repo().join("sdk/js/test/rng-vectors.mjs"));
            c
        }),
        ("c", Command::new(&c_bin)),
    ];
    for (lang, mut cmd) in generators {
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{lang}: {out:?}");
        let got = String::from_utf8_lossy(&out.stdout);
        assert!(
            got == expected,
            "{lang} draws other numbers than sdk/testdata/rng-vectors.txt (the Rust SDK's)"
        );
        eprintln!("{lang}: {} lines identical", expected.lines().count());
    }
}

#[test]
fn the_examples_agree_in_four_languages() {
    if skipped() {
        return;
    }
    let _serial = serial();
    let db = fresh_db("lang_examples");
    script("examples/build-all.sh", &[]);
    let out = script("examples/run-all.sh", &["--stormdb", BIN, "--db", &db]);
    assert!(
        out.contains("run-all: rust python js c agree on modes"),
        "{out}"
    );
}

#[test]
fn plugin_new_projects_build_and_agree_in_four_languages() {
    if skipped() {
        return;
    }
    let _serial = serial();
    let db = fresh_db("lang_new");
    let out = script("examples/check-new.sh", &["--stormdb", BIN, "--db", &db]);
    assert!(
        out.contains("check-new: rust python js c projects built and agree"),
        "{out}"
    );
}
