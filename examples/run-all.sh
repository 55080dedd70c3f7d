#!/usr/bin/env bash
# Run the kv example in every language against PostgreSQL with the same seed
# and check that they agree: after the same run, the table must hold exactly
# the same rows (sum(n) and an md5 over every row).
#
#   examples/run-all.sh [--stormdb BIN] [--db CONNINFO] [-t N] [--seed S]
#                       [--langs "rust python js c"] [--modes "write mixed txn read"]
#
# Without --db (or $STORMDB_DB) it starts a throwaway server with
# `stormdb local-pg` and stops it at the end. Build the components first
# with examples/build-all.sh. Needs psql. Exits non-zero on any failure or
# disagreement.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/toolchain.sh"

stormdb=${STORMDB:-}
db=${STORMDB_DB:-}
steps=2000
seed=42
langs="rust python js c"
modes="write mixed txn read"
while [ $# -gt 0 ]; do
    case $1 in
    --stormdb) stormdb=$2; shift 2 ;;
    --db) db=$2; shift 2 ;;
    -t) steps=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --langs) langs=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done

if [ -z "$stormdb" ]; then
    for candidate in "$(command -v stormdb || true)" "$STORMDB_REPO/target/release/stormdb" \
        "$STORMDB_REPO/target/debug/stormdb"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then stormdb=$candidate; break; fi
    done
fi
[ -n "$stormdb" ] && [ -x "$stormdb" ] ||
    die "no stormdb binary: pass --stormdb PATH, set STORMDB, or build it (cargo build --release -p stormdb)"
need_cmd psql "install the PostgreSQL client (apt-get install -y postgresql-client)"

for lang in $langs; do
    wasm="$here/kv-$lang/build/kv-$lang.wasm"
    [ -f "$wasm" ] || die "$wasm is missing: run examples/build-all.sh first"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/stormdb-run-all.XXXXXX")
pg_pid=""
cleanup() {
    if [ -n "$pg_pid" ]; then
        # local-pg stops its server when its stdin closes; interrupt it if not.
        exec 9>&- || true
        for _ in $(seq 1 50); do kill -0 "$pg_pid" 2>/dev/null || break; sleep 0.2; done
        kill -INT "$pg_pid" 2>/dev/null || true
        wait "$pg_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$db" ]; then
    note "starting a throwaway PostgreSQL (stormdb local-pg)"
    mkfifo "$work/keep"
    # local-pg stops when its stdin closes: hold the fifo open until exit.
    "$stormdb" -q local-pg <"$work/keep" >"$work/conninfo" 2>"$work/local-pg.log" &
    pg_pid=$!
    exec 9>"$work/keep"
    for _ in $(seq 1 120); do
        [ -s "$work/conninfo" ] && break
        kill -0 "$pg_pid" 2>/dev/null || { cat "$work/local-pg.log" >&2; die "stormdb local-pg exited"; }
        sleep 0.5
    done
    [ -s "$work/conninfo" ] || die "stormdb local-pg printed no connection string within 60 s"
    db=$(head -n1 "$work/conninfo")
fi

fingerprint() {
    psql "$db" -X -A -t -v ON_ERROR_STOP=1 -c \
        "SELECT count(*), sum(n), md5(string_agg(k::text || ':' || v || ':' || n::text, ',' ORDER BY k)) FROM kv"
}

failed=0
declare -A results
for mode in $modes; do
    for lang in $langs; do
        wasm="$here/kv-$lang/build/kv-$lang.wasm"
        report="$work/$lang-$mode.json"
        log="$work/$lang-$mode.log"
        if ! "$stormdb" -q run --plugin "$wasm" --allow-unsigned --db "$db" --rebuild \
            -m "$mode" -t "$steps" --workers 1 --seed "$seed" --json-out "$report" >"$log" 2>&1; then
            echo "FAIL  $lang $mode: stormdb run failed:" >&2
            tail -n 20 "$log" >&2
            failed=1
            continue
        fi
        summary=$(python3 - "$report" "$steps" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
ok = r["status"] == "completed" and s["transactions"] == int(sys.argv[2]) and s["errors"] == 0
print(("ok" if ok else "bad"), r["status"], s["transactions"], s["errors"], r.get("error") or "")
EOF
        )
        read -r verdict status txs errors rest <<<"$summary"
        if [ "$verdict" != ok ]; then
            echo "FAIL  $lang $mode: status $status, $txs transactions, $errors errors $rest" >&2
            failed=1
            continue
        fi
        results[$lang-$mode]=$(fingerprint)
        printf '%-6s %-6s %s\n' "$lang" "$mode" "${results[$lang-$mode]}"
    done
done

for mode in $modes; do
    first=""
    for lang in $langs; do
        r=${results[$lang-$mode]:-}
        [ -n "$r" ] || continue
        if [ -z "$first" ]; then
            first=$r
        elif [ "$r" != "$first" ]; then
            echo "DIFFER  mode $mode: $lang has $r, expected $first" >&2
            failed=1
        fi
    done
done

if [ "$failed" -ne 0 ]; then
    echo "run-all: the languages disagree or a run failed" >&2
    exit 1
fi
echo "run-all: $langs agree on modes $modes (seed $seed, $steps steps each)"
