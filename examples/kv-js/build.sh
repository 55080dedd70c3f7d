#!/usr/bin/env bash
# Build this directory's app.js as a component: build/<directory name>.wasm
# (componentize-js: examples/build-all.sh --tools installs it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../toolchain.sh"
need_tool "$COMPONENTIZE_JS" componentize-js COMPONENTIZE_JS
out="$here/build/$(basename "$here").wasm"
mkdir -p "$here/build"
# componentize-js lets the module import files under the working directory
# only, and app.js imports the SDK from sdk/js: build from the repository.
cd "$STORMDB_REPO"
# `-d http fetch-event`: without them the component imports wasi:http,
# which StormDB does not provide.
"$COMPONENTIZE_JS" "$here/app.js" --wit "$STORMDB_WIT" -n workload-plugin \
    -d http fetch-event -o "$out"
echo "built $out"
