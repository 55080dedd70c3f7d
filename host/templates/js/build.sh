#!/usr/bin/env bash
# Build app.js as a component: build/{{name}}.wasm
# Needs Node.js 18 or newer with npm; componentize-js is installed into
# node_modules/ on the first build (or set COMPONENTIZE_JS to one you have).
set -euo pipefail
cd "$(dirname "$0")"
die() { echo "error: $*" >&2; exit 1; }
[ -f wit/workload.wit ] || die "wit/ is missing: it holds the StormDB WIT files this project was made with"
[ -f stormdb/stormdb.js ] || die "stormdb/ is missing: it holds the StormDB SDK for JavaScript"

componentize_js=${COMPONENTIZE_JS:-node_modules/.bin/componentize-js}
if [ -z "${COMPONENTIZE_JS:-}" ] && [ ! -x "$componentize_js" ]; then
    command -v npm >/dev/null 2>&1 || die "npm is not installed (Node.js 18 or newer)"
    echo "==> installing componentize-js from package.json into node_modules (once)" >&2
    npm install --no-audit --no-fund --silent || die "npm install failed"
    [ -x "$componentize_js" ] || die "npm install did not provide $componentize_js"
fi

mkdir -p build
# componentize-js resolves imports under the working directory only (hence
# building here, with the SDK in stormdb/); `-d http fetch-event` leaves out
# wasi:http, which StormDB does not provide.
"$componentize_js" app.js --wit wit -n workload-plugin -d http fetch-event -o "build/{{name}}.wasm"
echo "built $PWD/build/{{name}}.wasm"
