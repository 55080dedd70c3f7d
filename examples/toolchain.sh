# Guest toolchains for the examples: where they live and how to install them.
# Sourced by the scripts here and by each example's build script; not run
# alone.
#
# Everything goes under $STORMDB_GUEST_TOOLS (default: target/guest-tools in
# the repository, which git ignores), installed from the package registries:
#   py/                 venv with componentize-py            (PyPI)
#   js/                 @bytecodealliance/componentize-js    (npm)
# C needs Debian's clang, lld, wasi-libc and libclang-rt-14-dev-wasm32, and
# stormdb-guest-c, the workspace crate tools/guest-c (bindings and
# componentizing, in place of wit-bindgen-cli and wasm-tools, with the WASI
# reactor adapter of the host's wasmtime built in): cargo builds it into
# $CARGO_TARGET_DIR or target/ (about a minute, once), or STORMDB_GUEST_C
# names a prebuilt binary.
#
# The Rust examples (and check-new.sh's Rust project) build into one Cargo
# target dir, $STORMDB_EXAMPLES_TARGET (default: $CARGO_TARGET_DIR, else
# target/examples): they pin the same wit-bindgen and profile, so the
# dependencies are compiled once instead of once per example.
#
# Also here, for run-all.sh, check-new.sh and measure.sh: finding the stormdb
# binary and starting a throwaway server with `stormdb local-pg`.

COMPONENTIZE_PY_VERSION=0.25.1
COMPONENTIZE_JS_VERSION=0.23.0

# The build scripts and make run the tools from other directories, where a
# relative path given by the caller would name nothing: make paths absolute.
# A bare command name (found on PATH) stays as it is.
absolute_path() { # PATH [dir]
    case $1 in
    /* | "") printf '%s\n' "$1" ;;
    */*) printf '%s\n' "$PWD/$1" ;;
    *) if [ "${2:-}" = dir ]; then printf '%s\n' "$PWD/$1"; else printf '%s\n' "$1"; fi ;;
    esac
}

STORMDB_REPO=${STORMDB_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
STORMDB_GUEST_TOOLS=$(absolute_path "${STORMDB_GUEST_TOOLS:-$STORMDB_REPO/target/guest-tools}" dir)
STORMDB_WIT=$(absolute_path "${STORMDB_WIT:-$STORMDB_REPO/wit}" dir)
STORMDB_EXAMPLES_TARGET=$(absolute_path "${STORMDB_EXAMPLES_TARGET:-${CARGO_TARGET_DIR:-$STORMDB_REPO/target/examples}}" dir)

COMPONENTIZE_PY=$(absolute_path "${COMPONENTIZE_PY:-$STORMDB_GUEST_TOOLS/py/bin/componentize-py}")
COMPONENTIZE_JS=$(absolute_path "${COMPONENTIZE_JS:-$STORMDB_GUEST_TOOLS/js/node_modules/.bin/componentize-js}")
STORMDB_GUEST_C=$(absolute_path "${STORMDB_GUEST_C:-}")

die() {
    echo "error: $*" >&2
    exit 1
}

note() {
    echo "==> $*" >&2
}

# The wasmtime version the host is built with, for the matching adapter.
wasmtime_version() {
    awk '/^name = "wasmtime"$/ { getline; gsub(/version = |"/, ""); print; exit }' \
        "$STORMDB_REPO/Cargo.lock" 2>/dev/null
}

need_cmd() {
    command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"
}

# Fail with a clear message unless `path` exists; `what` names the tool.
need_tool() {
    [ -x "$1" ] || [ -f "$1" ] || die "$2 not found at $1; run examples/build-all.sh --tools (or set ${3:-its variable})"
}

# The version a componentize tool reports ("componentize-py 0.25.1",
# "0.23.0"), or nothing.
tool_version() {
    "$1" --version 2>/dev/null | awk 'NR == 1 { print $NF }' || true
}

# Whether tool $1 (variable $2, wanted version $3, default location $4) is
# usable as it is. A stale copy in $STORMDB_GUEST_TOOLS is replaced; one the
# caller named is used with a warning (check-new.sh insists on the pin).
tool_ready() {
    local have
    [ -x "$1" ] || return 1
    have=$(tool_version "$1")
    [ "$have" = "$3" ] && return 0
    if [ "$1" != "$4" ]; then
        note "warning: $2=$1 is version ${have:-unknown}; the examples pin $3"
        return 0
    fi
    note "$1 is version ${have:-unknown}; replacing it with $3"
    return 1
}

install_python_tools() {
    tool_ready "$COMPONENTIZE_PY" COMPONENTIZE_PY "$COMPONENTIZE_PY_VERSION" \
        "$STORMDB_GUEST_TOOLS/py/bin/componentize-py" && return
    need_cmd python3 "install Python 3.10 or newer"
    note "installing componentize-py $COMPONENTIZE_PY_VERSION into $STORMDB_GUEST_TOOLS/py"
    python3 -m venv "$STORMDB_GUEST_TOOLS/py" ||
        die "python3 -m venv failed (on Debian: apt-get install -y python3-venv)"
    "$STORMDB_GUEST_TOOLS/py/bin/pip" install --quiet "componentize-py==$COMPONENTIZE_PY_VERSION" ||
        die "pip install componentize-py==$COMPONENTIZE_PY_VERSION failed"
}

install_js_tools() {
    tool_ready "$COMPONENTIZE_JS" COMPONENTIZE_JS "$COMPONENTIZE_JS_VERSION" \
        "$STORMDB_GUEST_TOOLS/js/node_modules/.bin/componentize-js" && return
    need_cmd npm "install Node.js 18 or newer with npm"
    note "installing @bytecodealliance/componentize-js $COMPONENTIZE_JS_VERSION into $STORMDB_GUEST_TOOLS/js"
    mkdir -p "$STORMDB_GUEST_TOOLS/js"
    (cd "$STORMDB_GUEST_TOOLS/js" &&
        { [ -f package.json ] || echo '{"private": true}' >package.json; } &&
        npm install --no-audit --no-fund --silent --save-exact \
            "@bytecodealliance/componentize-js@$COMPONENTIZE_JS_VERSION") ||
        die "npm install @bytecodealliance/componentize-js@$COMPONENTIZE_JS_VERSION failed"
}

install_c_system_packages() {
    local missing=()
    command -v clang >/dev/null 2>&1 || missing+=(clang)
    command -v wasm-ld >/dev/null 2>&1 || missing+=(lld)
    [ -d /usr/include/wasm32-wasi ] || missing+=(wasi-libc)
    ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1 ||
        missing+=(libclang-rt-14-dev-wasm32)
    [ ${#missing[@]} -eq 0 ] && return
    command -v apt-get >/dev/null 2>&1 ||
        die "missing ${missing[*]}: install clang, lld and a wasm32-wasi libc (wasi-libc) for your system"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    note "installing ${missing[*]} with apt-get"
    $sudo apt-get update -qq || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null ||
        die "apt-get install ${missing[*]} failed"
}

# The adapter version tools/guest-c pins (wasi-preview1-component-adapter-provider).
guest_c_adapter_version() {
    sed -n 's/^wasi-preview1-component-adapter-provider = "=\(.*\)"$/\1/p' \
        "$STORMDB_REPO/tools/guest-c/Cargo.toml" 2>/dev/null
}

# Build stormdb-guest-c now, so the first `make` in kv-c does not wait on it
# silently, and export STORMDB_GUEST_C naming the binary: kv-c's Makefile and
# a `stormdb plugin new --lang c` project then use it as it is (without it,
# kv-c would go through `cargo run` and the project would build its own copy).
build_guest_c() {
    if [ -n "$STORMDB_GUEST_C" ]; then
        command -v "$STORMDB_GUEST_C" >/dev/null 2>&1 || die "STORMDB_GUEST_C=$STORMDB_GUEST_C is not an executable"
        export STORMDB_GUEST_C
        return
    fi
    need_cmd cargo "install Rust (rustup) first: it builds stormdb-guest-c (tools/guest-c)"
    local host adapter
    host=$(wasmtime_version)
    adapter=$(guest_c_adapter_version)
    if [ -n "$host" ] && [ -n "$adapter" ] && [ "$host" != "$adapter" ]; then
        note "warning: tools/guest-c pins the WASI adapter of wasmtime $adapter but the host uses wasmtime $host;" \
            "update wasi-preview1-component-adapter-provider in tools/guest-c/Cargo.toml"
    fi
    note "building stormdb-guest-c (tools/guest-c; about a minute the first time)"
    cargo build --quiet --locked --release --manifest-path "$STORMDB_REPO/Cargo.toml" -p stormdb-guest-c ||
        die "cargo build -p stormdb-guest-c failed"
    # Where that build put it: cargo takes a relative CARGO_TARGET_DIR from
    # the working directory, as absolute_path does.
    STORMDB_GUEST_C=$(absolute_path "${CARGO_TARGET_DIR:-$STORMDB_REPO/target}" dir)/release/stormdb-guest-c
    [ -x "$STORMDB_GUEST_C" ] || die "cargo build -p stormdb-guest-c produced no $STORMDB_GUEST_C"
    export STORMDB_GUEST_C
}

install_c_tools() {
    install_c_system_packages
    build_guest_c
}

install_rust_tools() {
    need_cmd cargo "install Rust (rustup) first"
    if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-wasip2; then
        note "adding the wasm32-wasip2 target"
        rustup target add wasm32-wasip2 || die "rustup target add wasm32-wasip2 failed"
    fi
}

# The stormdb binary for run-all.sh, check-new.sh and measure.sh: the one
# given (--stormdb or $STORMDB), else stormdb on PATH, else a build in
# target/. Prints its absolute path.
find_stormdb() { # [GIVEN]
    local candidate
    if [ -n "${1:-}" ]; then
        candidate=$(absolute_path "$1")
        command -v "$candidate" >/dev/null 2>&1 || die "stormdb binary $1 is not an executable"
        command -v "$candidate"
        return
    fi
    for candidate in "$(command -v stormdb || true)" "$STORMDB_REPO/target/release/stormdb" \
        "$STORMDB_REPO/target/debug/stormdb"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; return; fi
    done
    die "no stormdb binary: pass --stormdb PATH, set STORMDB, or build it (cargo build --release -p stormdb)"
}

# A throwaway PostgreSQL: `start_local_pg STORMDB WORKDIR` starts
# `stormdb local-pg` and sets LOCAL_PG_CONNINFO; the caller's EXIT trap
# calls stop_local_pg. local-pg keeps its server until its stdin closes, so
# its stdin is a fifo this shell holds open on fd 9.
LOCAL_PG_PID=""
LOCAL_PG_CONNINFO=""
start_local_pg() {
    local stormdb=$1 work=$2
    note "starting a throwaway PostgreSQL (stormdb local-pg)"
    mkfifo "$work/local-pg.stdin"
    "$stormdb" -q local-pg <"$work/local-pg.stdin" >"$work/local-pg.out" 2>"$work/local-pg.log" &
    LOCAL_PG_PID=$!
    exec 9>"$work/local-pg.stdin"
    for _ in $(seq 1 120); do
        [ -s "$work/local-pg.out" ] && break
        kill -0 "$LOCAL_PG_PID" 2>/dev/null || { cat "$work/local-pg.log" >&2; die "stormdb local-pg exited"; }
        sleep 0.5
    done
    [ -s "$work/local-pg.out" ] || { cat "$work/local-pg.log" >&2; die "stormdb local-pg printed no connection string within 60 s"; }
    LOCAL_PG_CONNINFO=$(head -n1 "$work/local-pg.out")
}

stop_local_pg() {
    [ -n "$LOCAL_PG_PID" ] || return 0
    exec 9>&- || true
    # It stops when its stdin closes; interrupt it if it has not within 10 s.
    for _ in $(seq 1 50); do kill -0 "$LOCAL_PG_PID" 2>/dev/null || break; sleep 0.2; done
    kill -INT "$LOCAL_PG_PID" 2>/dev/null || true
    wait "$LOCAL_PG_PID" 2>/dev/null || true
    LOCAL_PG_PID=""
}

# `open_workspace NAME STORMDB`: a temp dir in $work, removed at exit with
# the throwaway server; when $db is empty (no --db given) starts that server
# and sets db to its connection string.
open_workspace() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/stormdb-$1.XXXXXX")
    trap 'stop_local_pg; rm -rf "$work"' EXIT
    if [ -z "${db:-}" ]; then
        start_local_pg "$2" "$work"
        db=$LOCAL_PG_CONNINFO
    fi
}

# `install_tools LANG...`: the guest tools of each language.
install_tools() {
    local lang
    for lang in "$@"; do
        case $lang in
        rust) install_rust_tools ;;
        python) install_python_tools ;;
        js) install_js_tools ;;
        c) install_c_tools ;;
        *) die "unknown language '$lang' (rust python js c)" ;;
        esac
    done
}
