#!/usr/bin/env bash
# Build this workload as a component: build/{{name}}.wasm
# Needs Rust (https://rustup.rs) with the wasm32-wasip2 target.
set -euo pipefail
cd "$(dirname "$0")"
die() { echo "error: $*" >&2; exit 1; }
command -v cargo >/dev/null 2>&1 || die "cargo is not installed (https://rustup.rs)"
[ -f wit/workload.wit ] || die "wit/ is missing: it holds the StormDB WIT files this project was made with"
[ -f stormdb-sdk/Cargo.toml ] || die "stormdb-sdk/ is missing: it holds the StormDB SDK for Rust"
if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-wasip2; then
    echo "==> adding the wasm32-wasip2 target" >&2
    rustup target add wasm32-wasip2 || die "rustup target add wasm32-wasip2 failed"
fi
target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release --target wasm32-wasip2 --target-dir "$target_dir" ||
    die "cargo build failed (without rustup, install the Rust standard library for wasm32-wasip2)"
mkdir -p build
cp "$target_dir/wasm32-wasip2/release/{{name_snake}}.wasm" "build/{{name}}.wasm"
echo "built $PWD/build/{{name}}.wasm"
