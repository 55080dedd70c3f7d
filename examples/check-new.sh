#!/usr/bin/env bash
# Check `stormdb plugin new` end to end: for each language make a project
# from its template, build it with the one command its README names, run it
# in every mode it declares against PostgreSQL with one seed, and check that
# the languages leave the same rows behind.
#
#   examples/check-new.sh [--stormdb BIN] [--db CONNINFO] [--langs "rust python js c"]
#
# The projects use the guest tools of examples/toolchain.sh (installed when
# missing, as build-all.sh does) instead of installing their own:
# COMPONENTIZE_PY, COMPONENTIZE_JS, STORMDB_GUEST_C, and the Rust examples'
# Cargo target dir; the versions the templates pin must be the ones given.
# Without --db (or $STORMDB_DB) it starts `stormdb local-pg`. Needs psql, and
# python3 or jq. The tables (check_LANG_items, in each tenant's schema) are
# left for inspection; the next run drops them first. Exits non-zero naming
# the language and mode of any failure or disagreement.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/toolchain.sh"

stormdb=${STORMDB:-}
db=${STORMDB_DB:-}
langs="rust python js c"
# Fixed: the fingerprints of different runs can then be compared too.
steps=2000
seed=7
while [ $# -gt 0 ]; do
    case $1 in
    --stormdb) stormdb=${2:?--stormdb needs a path}; shift 2 ;;
    --db) db=${2:?--db needs a connection string}; shift 2 ;;
    --langs) langs=${2:?--langs needs a list}; shift 2 ;;
    -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done
for lang in $langs; do
    case $lang in rust | python | js | c) ;; *) die "unknown language '$lang' in --langs (rust python js c)" ;; esac
done
[ -n "${langs// /}" ] || die "--langs is empty"

stormdb=$(find_stormdb "$stormdb")
need_cmd psql "install the PostgreSQL client (apt-get install -y postgresql-client)"
if command -v python3 >/dev/null 2>&1; then
    json_tool=python3
elif command -v jq >/dev/null 2>&1; then
    json_tool=jq
else
    die "neither python3 nor jq is installed: one of them reads the JSON reports"
fi

# The same tools build-all.sh uses, exported for the projects' build scripts
# and Makefile (which otherwise install their own copies).
# shellcheck disable=SC2086 # one word per language
install_tools $langs
export COMPONENTIZE_PY COMPONENTIZE_JS STORMDB_GUEST_C

open_workspace check-new "$stormdb"

failed=0
fail() { # LANG MODE MESSAGE...
    local lang=$1 mode=$2
    shift 2
    echo "FAIL  $lang${mode:+ $mode}: $*" >&2
    failed=1
}

# "status transactions errors tenant setup-performed error" of a report,
# tab-separated; "-" for a missing tenant or setup.
report_fields() { # FILE
    if [ "$json_tool" = python3 ]; then
        python3 - "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
setup = r.get("setup")
print("\t".join(str(x) for x in (
    r["status"], r["summary"]["transactions"], r["summary"]["errors"], r["config"].get("tenant") or "-",
    "-" if setup is None else str(setup["performed"]).lower(), (r.get("error") or "").replace("\t", " "))))
EOF
    else
        jq -r '[.status, .summary.transactions, .summary.errors, (.config.tenant // "-"),
            (if .setup == null then "-" else (.setup.performed | tostring) end),
            ((.error // "") | gsub("\t"; " "))] | map(tostring) | join("\t")' "$1"
    fi
}

# The rows a project's table holds: count, sum(hits) and an md5 over every
# row in id order (the table's name is in no row, so languages compare).
fingerprint() { # LANG
    psql "$db" -X -A -t -v ON_ERROR_STOP=1 -c "SELECT count(*), sum(hits),
        md5(string_agg(id::text || ':' || hits::text || ':' || note, ',' ORDER BY id))
        FROM stormdb_t_check_$1.check_$1_items"
}

# The modes `stormdb plugin info` lists for a component, one a line.
declared_modes() { # WASM
    "$stormdb" -q plugin info --allow-unsigned "$1" | sed -n 's/^ *mode \([^ :(]*\).*$/\1/p'
}

# The [dependencies] entries of a Cargo.toml, without comments.
dependency_lines() { # FILE
    awk '/^\[/ { deps = ($0 == "[dependencies]"); next } deps && NF && !/^#/' "$1"
}

# The project must pin the tool version it is being built with: otherwise
# this would check a build its users never get.
check_pins() { # LANG DIR
    local lang=$1 dir=$2 pinned have
    case $lang in
    python)
        pinned=$(sed -n 's/^COMPONENTIZE_PY_VERSION=//p' "$dir/build.sh")
        have=$(tool_version "$COMPONENTIZE_PY")
        [ "$pinned" = "$have" ] ||
            { fail "$lang" "" "the template pins componentize-py ${pinned:-(nothing)}, COMPONENTIZE_PY=$COMPONENTIZE_PY is ${have:-unknown}"; return 1; }
        ;;
    js)
        pinned=$(sed -n 's/^ *"@bytecodealliance\/componentize-js": "\(.*\)".*$/\1/p' "$dir/package.json")
        have=$(tool_version "$COMPONENTIZE_JS")
        [ "$pinned" = "$have" ] ||
            { fail "$lang" "" "the template pins componentize-js ${pinned:-(nothing)}, COMPONENTIZE_JS=$COMPONENTIZE_JS is ${have:-unknown}"; return 1; }
        ;;
    c)
        # STORMDB_GUEST_C stands in for the project's tools/stormdb-guest-c:
        # same source, same dependency pins as tools/guest-c.
        cmp -s "$dir/tools/stormdb-guest-c/src/main.rs" "$STORMDB_REPO/tools/guest-c/src/main.rs" ||
            { fail "$lang" "" "tools/stormdb-guest-c/src/main.rs differs from tools/guest-c/src/main.rs"; return 1; }
        if ! diff <(dependency_lines "$dir/tools/stormdb-guest-c/Cargo.toml") \
            <(dependency_lines "$STORMDB_REPO/tools/guest-c/Cargo.toml") >"$work/pins.diff"; then
            fail "$lang" "" "tools/stormdb-guest-c/Cargo.toml pins other dependencies than tools/guest-c/Cargo.toml:"
            cat "$work/pins.diff" >&2
            return 1
        fi
        ;;
    esac
}

declare -A fingerprints modes_of
for lang in $langs; do
    name=check-$lang
    dir=$work/$name
    log=$work/$name.log
    note "$lang: stormdb plugin new $name --lang $lang"
    if ! "$stormdb" -q plugin new "$name" --lang "$lang" --dir "$dir" >"$log" 2>&1; then
        fail "$lang" "" "stormdb plugin new failed: $(tail -n 5 "$log")"
        continue
    fi
    # The binary embeds host/templates at build time; instantiate.sh makes
    # the same project from this checkout, so a difference means a stale
    # --stormdb or a template change the embedding missed.
    if ! "$STORMDB_REPO/host/templates/instantiate.sh" "$lang" "$name" "$work/reference-$lang" >"$log" 2>&1; then
        fail "$lang" "" "host/templates/instantiate.sh failed: $(tail -n 5 "$log")"
        continue
    fi
    if ! diff -r "$work/reference-$lang" "$dir" >"$work/$lang-template.diff"; then
        fail "$lang" "" "stormdb plugin new made another project than host/templates/instantiate.sh:"
        head -n 20 "$work/$lang-template.diff" >&2
        continue
    fi
    check_pins "$lang" "$dir" || continue

    started=$SECONDS
    case $lang in
    c) build=(make) ;;
    *) build=(./build.sh) ;;
    esac
    note "$lang: ${build[*]}"
    # Rust: the examples' target dir, where build-all.sh has compiled the
    # same pinned dependencies already.
    if ! (cd "$dir" && CARGO_TARGET_DIR=$STORMDB_EXAMPLES_TARGET "${build[@]}") >"$log" 2>&1; then
        fail "$lang" "" "${build[*]} failed:"
        tail -n 20 "$log" >&2
        continue
    fi
    wasm=$dir/build/$name.wasm
    [ -f "$wasm" ] || { fail "$lang" "" "${build[*]} succeeded but made no build/$name.wasm"; continue; }
    echo "built $lang in $((SECONDS - started)) s ($(($(stat -c %s "$wasm") / 1024)) KiB)"

    if ! modes=$(declared_modes "$wasm" 2>"$log") || [ -z "$modes" ]; then
        fail "$lang" "" "stormdb plugin info lists no modes: $(tail -n 5 "$log")"
        continue
    fi
    modes_of[$lang]=$(paste -sd ' ' <<<"$modes")

    # A table left by an earlier run would be kept by --setup (it is loaded
    # at this scale) and its counts added to: start from none.
    if ! psql "$db" -X -q -v ON_ERROR_STOP=1 \
        -c "DROP TABLE IF EXISTS stormdb_t_check_$lang.check_${lang}_items" >"$log" 2>&1; then
        fail "$lang" "" "could not drop the table an earlier run left: $(cat "$log")"
        continue
    fi

    # The modes run one after another on the same table, as a user would:
    # the first --setup loads it, the later ones find it loaded.
    first=true
    for mode in ${modes_of[$lang]}; do
        report=$work/$lang-$mode.json
        started=$SECONDS
        if ! "$stormdb" -q run --plugin "$wasm" --allow-unsigned --setup -m "$mode" -t "$steps" \
            --seed "$seed" --db "$db" --json-out "$report" >"$log" 2>&1; then
            fail "$lang" "$mode" "stormdb run failed:"
            tail -n 20 "$log" >&2
            break
        fi
        if ! fields=$(report_fields "$report" 2>"$log"); then
            fail "$lang" "$mode" "unreadable report $report: $(tail -n 1 "$log")"
            break
        fi
        IFS=$'\t' read -r status txs errors tenant performed error <<<"$fields"
        if [ "$status" != completed ] || [ "$txs" != "$steps" ] || [ "$errors" != 0 ]; then
            fail "$lang" "$mode" "status $status (expected completed), $txs transactions (expected $steps)," \
                "$errors errors (expected 0)${error:+: $error}"
            break
        fi
        # The host names the tenant after the plugin, '-' made '_'
        # (host/src/pg/tenant.rs); the table is looked for in its schema.
        if [ "$tenant" != "check_$lang" ]; then
            fail "$lang" "$mode" "the report names tenant '$tenant', expected 'check_$lang'"
            break
        fi
        if [ "$performed" != "$first" ]; then
            fail "$lang" "$mode" "setup.performed is $performed, expected $first" \
                "(is_loaded must be false before the first load, true after)"
            break
        fi
        first=false
        if ! fp=$(fingerprint "$lang" 2>"$log"); then
            fail "$lang" "$mode" "the fingerprint query failed: $(cat "$log")"
            break
        fi
        fingerprints[$lang-$mode]=$fp
        printf '%-6s %-6s %s  (%s s)\n' "$lang" "$mode" "$fp" "$((SECONDS - started))"
    done
done

# Every language must declare the same modes, and after each mode hold the
# same rows.
reference=""
for lang in $langs; do
    [ -n "${modes_of[$lang]:-}" ] || continue
    if [ -z "$reference" ]; then
        reference=$lang
    elif [ "${modes_of[$lang]}" != "${modes_of[$reference]}" ]; then
        fail "$lang" "" "declares modes '${modes_of[$lang]}', $reference declares '${modes_of[$reference]}'"
    fi
done
if [ -n "$reference" ]; then
    for mode in ${modes_of[$reference]}; do
        agreed=""
        for lang in $langs; do
            fp=${fingerprints[$lang-$mode]:-}
            [ -n "$fp" ] || continue
            if [ -z "$agreed" ]; then
                agreed=$lang
            elif [ "$fp" != "${fingerprints[$agreed-$mode]}" ]; then
                fail "$lang" "$mode" "the table holds $fp (count|sum(hits)|md5), $agreed's holds ${fingerprints[$agreed-$mode]}"
            fi
        done
    done
fi

if [ "$failed" -ne 0 ]; then
    echo "check-new: a project failed or the languages disagree" >&2
    exit 1
fi
echo "check-new: $langs projects built and agree on modes ${modes_of[$reference]} (seed $seed, $steps steps each)"
