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
# with examples/build-all.sh. Needs psql and python3. Exits non-zero on any
# failure or disagreement.
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

stormdb=$(find_stormdb "$stormdb")
need_cmd psql "install the PostgreSQL client (apt-get install -y postgresql-client)"
need_cmd python3 "install Python 3 (it reads the JSON reports)"

for lang in $langs; do
    case $lang in rust | python | js | c) ;; *) die "unknown language '$lang' in --langs (rust python js c)" ;; esac
    wasm="$here/kv-$lang/build/kv-$lang.wasm"
    [ -f "$wasm" ] || die "$wasm is missing: run examples/build-all.sh first"
done

open_workspace run-all "$stormdb"

# The kv table of the tenant the run used: each plugin runs as a tenant
# whose role and schema are stormdb_t_<tenant> (host/src/pg/tenant.rs), or
# as the operator when the report names none.
fingerprint() { # TENANT
    local table=kv
    [ "$1" = - ] || table="stormdb_t_$1.kv"
    psql "$db" -X -A -t -v ON_ERROR_STOP=1 -c \
        "SELECT count(*), sum(n), md5(string_agg(k::text || ':' || v || ':' || n::text, ',' ORDER BY k)) FROM $table"
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
        if ! summary=$(python3 - "$report" "$steps" 2>"$work/report.err" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
ok = r["status"] == "completed" and s["transactions"] == int(sys.argv[2]) and s["errors"] == 0
print(("ok" if ok else "bad"), r["config"].get("tenant") or "-", r["status"], s["transactions"], s["errors"],
      r.get("error") or "")
EOF
        ); then
            echo "FAIL  $lang $mode: unreadable report $report: $(tail -n1 "$work/report.err")" >&2
            failed=1
            continue
        fi
        read -r verdict tenant status txs errors rest <<<"$summary"
        if [ "$verdict" != ok ]; then
            echo "FAIL  $lang $mode: status $status, $txs transactions (expected $steps), $errors errors $rest" >&2
            failed=1
            continue
        fi
        if ! fp=$(fingerprint "$tenant" 2>"$work/psql.err"); then
            echo "FAIL  $lang $mode: the fingerprint query failed: $(cat "$work/psql.err")" >&2
            failed=1
            continue
        fi
        results[$lang-$mode]=$fp
        printf '%-6s %-6s %s\n' "$lang" "$mode" "$fp"
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
