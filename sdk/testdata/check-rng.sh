#!/usr/bin/env bash
# Check that the Rust, Python, JavaScript and C SDKs draw exactly the same
# random numbers: each prints the vectors of README.md, compared with
# rng-vectors.txt. Needs cargo, python3, node and a C compiler (cc).
#
#   sdk/testdata/check-rng.sh            # CARGO_TARGET_DIR picks cargo's target dir
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
expected="$here/rng-vectors.txt"
work=$(mktemp -d)
touch "$work/rust.txt" "$work/python.txt" "$work/js.txt" "$work/c.txt"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() { # name file
    if cmp -s "$2" "$expected"; then
        echo "ok    $1: $(wc -l <"$2") lines identical to rng-vectors.txt"
        passed=$((passed + 1))
    else
        echo "FAIL  $1 differs from rng-vectors.txt:" >&2
        diff "$expected" "$2" | cut -c1-200 | head -n 10 >&2 || true
        failed=$((failed + 1))
    fi
}

# Rust: the known-answer test compares with the file itself and also writes
# what it generated, so all four are compared the same way here.
(cd "$repo" && STORMDB_RNG_VECTORS_OUT="$work/rust.txt" \
    cargo test --quiet -p stormdb-sdk --lib -- rng::known_answers >"$work/rust.log" 2>&1) ||
    { cat "$work/rust.log" >&2; echo "FAIL  rust: cargo test failed" >&2; }
check rust "$work/rust.txt"

python3 "$repo/sdk/python/tests/rng_vectors.py" >"$work/python.txt" || echo "FAIL  python generator" >&2
check python "$work/python.txt"
node "$repo/sdk/js/test/rng-vectors.mjs" >"$work/js.txt" || echo "FAIL  javascript generator" >&2
check javascript "$work/js.txt"
{ ${CC:-cc} -std=c11 -O2 -Wall -Wextra -I "$repo/sdk/c" "$repo/sdk/c/test/rng_vectors.c" -o "$work/rng_c" &&
    "$work/rng_c" >"$work/c.txt"; } || echo "FAIL  c generator" >&2
check c "$work/c.txt"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || { echo "check-rng: the SDKs disagree" >&2; exit 1; }
