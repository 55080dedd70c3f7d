#!/usr/bin/env bash
# Build this crate as a component: build/<package name>.wasm
set -euo pipefail
cd "$(dirname "$0")"
command -v cargo >/dev/null || { echo "error: cargo is not installed (https://rustup.rs)" >&2; exit 1; }
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
target_dir=${CARGO_TARGET_DIR:-target}
cargo build --release --target wasm32-wasip2 --target-dir "$target_dir"
name=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
mkdir -p build
cp "$target_dir/wasm32-wasip2/release/${name//-/_}.wasm" "build/$name.wasm"
echo "built $PWD/build/$name.wasm"
