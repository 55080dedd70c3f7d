# Guest toolchains for the examples: where they live and how to install them.
# Sourced by build-all.sh and by each example's build script; not run alone.
#
# Everything goes under $STORMDB_GUEST_TOOLS (default: target/guest-tools in
# the repository, which git ignores), installed from the package registries:
#   py/                 venv with componentize-py            (PyPI)
#   js/                 @bytecodealliance/componentize-js    (npm)
#   cargo/bin/          wit-bindgen-cli, wasm-tools          (crates.io)
#   adapter/            the WASI preview1 reactor adapter, taken from the
#                       crate wasi-preview1-component-adapter-provider at the
#                       wasmtime version in Cargo.lock          (crates.io)
# C also needs Debian's clang, lld, wasi-libc and libclang-rt-14-dev-wasm32.

COMPONENTIZE_PY_VERSION=0.25.1
COMPONENTIZE_JS_VERSION=0.23.0
WIT_BINDGEN_VERSION=0.61.1
WASM_TOOLS_VERSION=1.263.0

STORMDB_REPO=${STORMDB_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
STORMDB_GUEST_TOOLS=${STORMDB_GUEST_TOOLS:-$STORMDB_REPO/target/guest-tools}
STORMDB_WIT=${STORMDB_WIT:-$STORMDB_REPO/wit}

COMPONENTIZE_PY=${COMPONENTIZE_PY:-$STORMDB_GUEST_TOOLS/py/bin/componentize-py}
COMPONENTIZE_JS=${COMPONENTIZE_JS:-$STORMDB_GUEST_TOOLS/js/node_modules/.bin/componentize-js}
WIT_BINDGEN=${WIT_BINDGEN:-$STORMDB_GUEST_TOOLS/cargo/bin/wit-bindgen}
WASM_TOOLS=${WASM_TOOLS:-$STORMDB_GUEST_TOOLS/cargo/bin/wasm-tools}
WASI_ADAPTER=${WASI_ADAPTER:-$STORMDB_GUEST_TOOLS/adapter/wasi_snapshot_preview1.reactor.wasm}

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

# cargo install into $STORMDB_GUEST_TOOLS/cargo (takes minutes; done once).
cargo_install() {
    local crate=$1 version=$2 bin=$3
    if [ -x "$STORMDB_GUEST_TOOLS/cargo/bin/$bin" ] &&
        "$STORMDB_GUEST_TOOLS/cargo/bin/$bin" --version 2>/dev/null | grep -q "$version"; then
        return
    fi
    need_cmd cargo "install Rust (rustup) first"
    note "cargo install $crate@$version (several minutes, once)"
    cargo install --quiet --locked "$crate@$version" --root "$STORMDB_GUEST_TOOLS/cargo" \
        --target-dir "$STORMDB_GUEST_TOOLS/cargo-build" || die "cargo install $crate@$version failed"
}

install_adapter() {
    if [ -f "$WASI_ADAPTER" ]; then return; fi
    need_cmd cargo "install Rust (rustup) first"
    local version dir="$STORMDB_GUEST_TOOLS/adapter"
    version=$(wasmtime_version)
    [ -n "$version" ] || die "cannot read the wasmtime version from $STORMDB_REPO/Cargo.lock"
    note "extracting the WASI reactor adapter from wasi-preview1-component-adapter-provider $version"
    mkdir -p "$dir/src"
    cat >"$dir/Cargo.toml" <<EOF
[package]
name = "write-adapter"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
wasi-preview1-component-adapter-provider = "=$version"

[workspace]
EOF
    cat >"$dir/src/main.rs" <<'EOF'
// Writes the WASI preview1 reactor adapter shipped in the crate to argv[1].
fn main() {
    let out = std::env::args().nth(1).expect("usage: write-adapter OUT");
    let adapter = wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER;
    std::fs::write(&out, adapter).expect("write the adapter");
}
EOF
    (cd "$dir" && cargo run --quiet --release --target-dir "$dir/target" -- "$WASI_ADAPTER.tmp") ||
        die "could not fetch wasi-preview1-component-adapter-provider $version from crates.io"
    mv "$WASI_ADAPTER.tmp" "$WASI_ADAPTER"
}

install_c_tools() {
    install_c_system_packages
    cargo_install wit-bindgen-cli "$WIT_BINDGEN_VERSION" wit-bindgen
    cargo_install wasm-tools "$WASM_TOOLS_VERSION" wasm-tools
    install_adapter
}

install_rust_tools() {
    need_cmd cargo "install Rust (rustup) first"
    if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx wasm32-wasip2; then
        note "adding the wasm32-wasip2 target"
        rustup target add wasm32-wasip2 || die "rustup target add wasm32-wasip2 failed"
    fi
}
