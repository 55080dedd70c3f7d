#!/usr/bin/env bash
# Build app.py as a component: build/{{name}}.wasm
# Needs Python 3.10 or newer; componentize-py is installed into .tools/ on
# the first build (or set COMPONENTIZE_PY to one you have).
set -euo pipefail
cd "$(dirname "$0")"
COMPONENTIZE_PY_VERSION=0.25.1
die() { echo "error: $*" >&2; exit 1; }
[ -f wit/workload.wit ] || die "wit/ is missing: it holds the StormDB WIT files this project was made with"
[ -f stormdb/__init__.py ] || die "stormdb/ is missing: it holds the StormDB SDK for Python"

componentize_py=${COMPONENTIZE_PY:-}
if [ -z "$componentize_py" ]; then
    if [ -x .tools/py/bin/componentize-py ]; then
        componentize_py=.tools/py/bin/componentize-py
    elif command -v componentize-py >/dev/null 2>&1 &&
        componentize-py --version 2>/dev/null | grep -qx "componentize-py $COMPONENTIZE_PY_VERSION"; then
        componentize_py=componentize-py
    else
        command -v python3 >/dev/null 2>&1 || die "python3 is not installed (Python 3.10 or newer)"
        echo "==> installing componentize-py $COMPONENTIZE_PY_VERSION into .tools/py (once)" >&2
        rm -rf .tools/py
        python3 -m venv .tools/py ||
            die "python3 -m venv failed (on Debian/Ubuntu: apt-get install -y python3-venv)"
        .tools/py/bin/pip install --quiet "componentize-py==$COMPONENTIZE_PY_VERSION" ||
            die "pip install componentize-py==$COMPONENTIZE_PY_VERSION failed"
        componentize_py=.tools/py/bin/componentize-py
    fi
fi

mkdir -p build
# -d/-w: the WIT and its world; -p .: where `app` and the SDK package
# `stormdb` are found (the bindings `wit_world` are generated from the WIT).
"$componentize_py" -d wit -w workload-plugin componentize -p . app -o "build/{{name}}.wasm"
echo "built $PWD/build/{{name}}.wasm"
