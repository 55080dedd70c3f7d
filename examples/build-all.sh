#!/usr/bin/env bash
# Install the guest toolchains when missing and build every example
# component (the kv workload in Rust, Python, JavaScript and C, and the
# shop workload in Rust).
#
#   examples/build-all.sh              # tools if missing, then all examples
#   examples/build-all.sh --tools      # only install the tools
#   examples/build-all.sh rust c       # only these languages (rust python js c)
#
# Tools go to target/guest-tools (see examples/toolchain.sh). The Rust
# examples share one Cargo target dir, $STORMDB_EXAMPLES_TARGET (default
# $CARGO_TARGET_DIR, else target/examples); tools/guest-c builds into
# $CARGO_TARGET_DIR or target/. The first run spends a few minutes
# installing componentize-py and componentize-js and building tools/guest-c
# (about a minute); later runs reuse everything and rebuild in under a
# minute.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/toolchain.sh"

tools_only=false
langs=()
for arg in "$@"; do
    case $arg in
    --tools) tools_only=true ;;
    rust | python | js | c) langs+=("$arg") ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (languages: rust python js c; or --tools)" ;;
    esac
done
[ ${#langs[@]} -gt 0 ] || langs=(rust python js c)

mkdir -p "$STORMDB_GUEST_TOOLS"
install_tools "${langs[@]}"
$tools_only && { note "tools ready in $STORMDB_GUEST_TOOLS"; exit 0; }

built=()
for lang in "${langs[@]}"; do
    note "building the $lang example(s)"
    case $lang in
    rust)
        CARGO_TARGET_DIR=$STORMDB_EXAMPLES_TARGET "$here/kv-rust/build.sh"
        CARGO_TARGET_DIR=$STORMDB_EXAMPLES_TARGET "$here/shop-rust/build.sh"
        built+=("$here/kv-rust/build/kv-rust.wasm" "$here/shop-rust/build/shop-rust.wasm")
        ;;
    python)
        "$here/kv-python/build.sh"
        built+=("$here/kv-python/build/kv-python.wasm")
        ;;
    js)
        "$here/kv-js/build.sh"
        built+=("$here/kv-js/build/kv-js.wasm")
        ;;
    c)
        make -C "$here/kv-c" --no-print-directory
        built+=("$here/kv-c/build/kv-c.wasm")
        ;;
    esac
done

echo
echo "Built components:"
for f in "${built[@]}"; do
    [ -f "$f" ] || die "$f was not produced"
    printf '  %8s KiB  %s\n' "$(($(stat -c %s "$f") / 1024))" "${f#"$STORMDB_REPO"/}"
done
echo "Run one:  stormdb run --plugin ${built[0]#"$STORMDB_REPO"/} --allow-unsigned --setup -t 1000"
