#!/usr/bin/env bash
# Make a plugin project from these templates by hand, exactly as
# `stormdb plugin new NAME --lang LANG` is to make it (the reference for that
# subcommand, and a way to test the templates). Not embedded in stormdb.
#
#   host/templates/instantiate.sh LANG NAME DEST     # LANG: rust python js c
#
# DEST must not exist. Steps:
#   1. every file under host/templates/LANG/ is written to DEST/ at the same
#      relative path, a trailing ".tmpl" removed, with {{name}} replaced by
#      NAME and {{name_snake}} by NAME with '-' turned into '_';
#   2. wit/*.wit -> DEST/wit/;
#   3. the language's SDK -> DEST (see below), the executable bit kept on
#      build.sh.
set -euo pipefail
die() { echo "error: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: $0 rust|python|js|c NAME DEST"
lang=$1 name=$2 dest=$3
repo=$(cd "$(dirname "$0")/../.." && pwd)
templates=$repo/host/templates
[ -d "$templates/$lang" ] || die "unknown language '$lang' (rust python js c)"
# Lowercase letters, digits and single '-' between them, starting with a
# letter: a valid Cargo and npm package name, and with '_' a SQL and C
# identifier; at most 50 characters, so "<name_snake>_items" stays within
# PostgreSQL's 63.
[[ $name =~ ^[a-z][a-z0-9]*(-[a-z0-9]+)*$ ]] && [ ${#name} -le 50 ] ||
    die "plugin name '$name': use lowercase letters, digits and '-', starting with a letter (at most 50 characters)"
case $name in test | core | std | alloc | proc-macro | self | super | crate)
    [ "$lang" != rust ] || die "'$name' cannot be a Rust package name" ;;
esac
[ ! -e "$dest" ] || die "$dest already exists"
name_snake=${name//-/_}

# 1. The template files.
mkdir -p "$dest"
(cd "$templates/$lang" && find . -type f | sort) | while read -r file; do
    out=$dest/${file%.tmpl}
    mkdir -p "$(dirname "$out")"
    sed -e "s/{{name}}/$name/g" -e "s/{{name_snake}}/$name_snake/g" "$templates/$lang/$file" >"$out"
    [ ! -x "$templates/$lang/$file" ] || chmod +x "$out"
done

# 2. The WIT.
mkdir -p "$dest/wit"
cp "$repo"/wit/*.wit "$dest/wit/"

# 3. The SDK.
case $lang in
rust)
    # sdk/rust/src/*.rs, its Cargo.toml from rust-sdk-Cargo.toml (no
    # workspace inheritance), and the WIT path of lib.rs pointed at DEST/wit.
    mkdir -p "$dest/stormdb-sdk/src"
    cp "$repo"/sdk/rust/src/*.rs "$dest/stormdb-sdk/src/"
    cp "$templates/rust-sdk-Cargo.toml" "$dest/stormdb-sdk/Cargo.toml"
    [ "$(grep -c 'path: "../../wit",' "$dest/stormdb-sdk/src/lib.rs")" = 1 ] ||
        die 'sdk/rust/src/lib.rs no longer has exactly one `path: "../../wit",`'
    sed -i 's|path: "../../wit",|path: "../wit",|' "$dest/stormdb-sdk/src/lib.rs"
    ;;
python)
    mkdir -p "$dest/stormdb"
    cp "$repo"/sdk/python/stormdb/*.py "$dest/stormdb/"
    ;;
js)
    mkdir -p "$dest/stormdb"
    cp "$repo"/sdk/js/*.js "$dest/stormdb/"
    ;;
c)
    mkdir -p "$dest/stormdb" "$dest/tools/stormdb-guest-c/src"
    cp "$repo"/sdk/c/*.c "$repo"/sdk/c/*.h "$dest/stormdb/"
    cp "$repo/tools/guest-c/src/main.rs" "$dest/tools/stormdb-guest-c/src/main.rs"
    ;;
esac
echo "created $dest ($lang)"
