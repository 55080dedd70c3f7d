# Guest toolchains for the examples: where they live and how to install them.
# Sourced by build-all.sh and by each example's build script; not run alone.
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

COMPONENTIZE_PY_VERSION=0.25.1
COMPONENTIZE_JS_VERSION=0.23.0

STORMDB_REPO=${STORMDB_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
STORMDB_GUEST_TOOLS=${STORMDB_GUEST_TOOLS:-$STORMDB_REPO/target/guest-tools}
STORMDB_WIT=${STORMDB_WIT:-$STORMDB_REPO/wit}

COMPONENTIZE_PY=${COMPONENTIZE_PY:-$STORMDB_GUEST_TOOLS/py/bin/componentize-py}
COMPONENTIZE_JS=${COMPONENTIZE_JS:-$STORMDB_GUEST_TOOLS/js/node_modules/.bin/componentize-js}
STORMDB_GUEST_C=${STORMDB_GUEST_C:-}

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

install_python_tools() {
    if [ -x "$COMPONENTIZE_PY" ]; then return; fi
    need_cmd python3 "install Python 3.10 or newer"
    note "installing componentize-py $COMPONENTIZE_PY_VERSION into $STORMDB_GUEST_TOOLS/py"
    python3 -m venv "$STORMDB_GUEST_TOOLS/py" ||
        die "python3 -m venv failed (on Debian: apt-get install -y python3-venv)"
    "$STORMDB_GUEST_TOOLS/py/bin/pip" install --quiet "componentize-py==$COMPONENTIZE_PY_VERSION" ||
        die "pip install componentize-py==$COMPONENTIZE_PY_VERSION failed"
}

install_js_tools() {
    if [ -x "$COMPONENTIZE_JS" ]; then return; fi
    need_cmd npm "install Node.js 18 or newer with npm"
    note "installing @bytecodealliance/componentize-js $COMPONENTIZE_JS_VERSION into $STORMDB_GUEST_TOOLS/js"
    mkdir -p "$STORMDB_GUEST_TOOLS/js"
    (cd "$STORMDB_GUEST_TOOLS/js" &&
        { [ -f package.json ] || echo '{"private": true}' >package.json; } &&
        npm install --no-audit --no-fund --silent "@bytecodealliance/componentize-js@$COMPONENTIZE_JS_VERSION") ||
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
# silently; the Makefile runs it through `cargo run`, which then only checks
# it is up to date.
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
    cargo build --quiet --release --manifest-path "$STORMDB_REPO/Cargo.toml" -p stormdb-guest-c ||
        die "cargo build -p stormdb-guest-c failed"
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
