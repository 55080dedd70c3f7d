#!/usr/bin/env bash
# Measure what each guest language costs in StormDB, with the kv examples:
# component size, the host's compile time (first load), load time from the
# compile cache, the cost of one more instance (time and memory), and the
# cost of one step without SQL (`noop`) and with one prepared SELECT (`read`).
#
#   examples/measure.sh [--stormdb BIN] [--db CONNINFO] [--steps N] [--langs "rust python js c"]
#
# Prints a Markdown table. Build the components first (examples/build-all.sh).
# Without --db it starts `stormdb local-pg`. Timings are wall-clock on this
# machine and include the host; run it on an otherwise idle machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/toolchain.sh"

stormdb=${STORMDB:-}
db=${STORMDB_DB:-}
steps=100000
langs="rust python js c"
instances=33
while [ $# -gt 0 ]; do
    case $1 in
    --stormdb) stormdb=$2; shift 2 ;;
    --db) db=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --langs) langs=$2; shift 2 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done
stormdb=$(find_stormdb "$stormdb")
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install -y time)"

open_workspace measure "$stormdb"
unreachable="host=$work/no-such-dir port=1 user=x dbname=x"

now_ms() { date +%s%3N; }

# Median wall time (ms) of a command run 5 times.
median_ms() {
    local times=() t0
    for _ in 1 2 3 4 5; do
        t0=$(now_ms)
        "$@" >/dev/null 2>&1 || true
        times+=($(($(now_ms) - t0)))
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n 3p
}

# Run and keep /usr/bin/time's "elapsed user sys maxrss_kb" in $work/time.
timed_run() {
    /usr/bin/time -o "$work/time" -f '%e %U %S %M' "$stormdb" -q run "$@" >"$work/run.log" 2>&1 ||
        { cat "$work/run.log" >&2; die "stormdb run $* failed"; }
}

json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"; }

echo "| | size | compile (first load) | load from cache | one more instance | noop step | read step (1 prepared SELECT) |"
echo "|---|---|---|---|---|---|---|"
for lang in $langs; do
    wasm="$here/kv-$lang/build/kv-$lang.wasm"
    [ -f "$wasm" ] || die "$wasm is missing: run examples/build-all.sh first"
    export STORMDB_CACHE_DIR="$work/cache-$lang"
    run=(--plugin "$wasm" --allow-unsigned)
    size_kib=$(($(stat -c %s "$wasm") / 1024))

    # First load compiles (the host logs it at debug level); the database is
    # unreachable on purpose: the run stops right after loading.
    "$stormdb" -v run "${run[@]}" --db "$unreachable" -t 1 >"$work/compile.log" 2>&1 || true
    compile=$(sed 's/\x1b\[[0-9;]*m//g' "$work/compile.log" | sed -n 's/.*compiled .* in \([0-9.]*\)\(m\?s\).*/\1 \2/p' | head -n1)
    [ -n "$compile" ] || { cat "$work/compile.log" >&2; die "no compile time logged for $lang"; }
    # Later loads read the compiled artifact: the whole process, start to the
    # failed connection.
    load_ms=$(median_ms "$stormdb" -q run "${run[@]}" --db "$unreachable" -t 1)

    # Instances: 1 worker, then $instances workers doing one noop step each,
    # on one thread and one connection; the difference is what the extra
    # instances cost (instantiate + init, which prepares two statements).
    "$stormdb" -q run "${run[@]}" --db "$db" --setup -m noop -t 1 >/dev/null 2>&1 || true
    timed_run "${run[@]}" --db "$db" -m noop -t 1 --workers 1 --connections 1 --threads 1
    read -r e1 _ _ m1 <"$work/time"
    timed_run "${run[@]}" --db "$db" -m noop -t "$instances" --workers "$instances" --connections 1 --threads 1
    read -r en _ _ mn <"$work/time"
    inst=$(python3 -c "print(f'{($en-$e1)*1000/($instances-1):.1f} ms, {($mn-$m1)/1024/($instances-1):.1f} MiB')")

    step_cost() { # mode -> "p50 latency, CPU per step"
        timed_run "${run[@]}" --db "$db" -m "$1" -t "$steps" --workers 1 --threads 1 --json-out "$work/$1.json"
        read -r _ user sys _ <"$work/time"
        lat=$(json "$work/$1.json" "r['latency_ms']['p50']")
        python3 -c "print(f'p50 {$lat*1000:.0f} µs, CPU {($user+$sys)*1e6/$steps:.1f} µs')"
    }
    noop=$(step_cost noop)
    readc=$(step_cost read)
    echo "| $lang | $size_kib KiB | $compile | $load_ms ms | $inst | $noop | $readc |"
done
echo
echo "Steps per measurement: $steps (--workers 1 --threads 1); p50 is the host-measured step latency (1 µs resolution)."
echo "CPU is the stormdb process (host + guest),"
echo "not PostgreSQL's. 'one more instance' = (time, max RSS) of $instances workers minus 1 worker, per extra worker."
