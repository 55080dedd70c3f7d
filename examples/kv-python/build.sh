#!/usr/bin/env bash
# Build this directory's app.py as a component: build/<directory name>.wasm
# (componentize-py: examples/build-all.sh --tools installs it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../toolchain.sh"
need_tool "$COMPONENTIZE_PY" componentize-py COMPONENTIZE_PY
out="$here/build/$(basename "$here").wasm"
mkdir -p "$here/build"
cd "$here"
# -p: where Python modules come from (the SDK package `stormdb`, then this
# directory for `app`); the generated bindings `wit_world` come from the WIT.
"$COMPONENTIZE_PY" -d "$STORMDB_WIT" -w workload-plugin componentize \
    -p "$STORMDB_REPO/sdk/python" -p . app -o "$out"
echo "built $out"
