#!/usr/bin/env bash
# Builds the contract workspace (SDK and examples) for wasm32-unknown-unknown, in release mode,
# into the same target directory as the node's workspace: the VM's tests read
# $CARGO_TARGET_DIR/wasm32-unknown-unknown/release/formica_<example>.wasm.
set -euo pipefail
cd "$(dirname "$0")/.."
repository="$PWD"
target="${CARGO_TARGET_DIR:-$repository/target}"
case "$target" in /*) ;; *) target="$repository/$target" ;; esac
(cd contracts && cargo build --locked --release --target wasm32-unknown-unknown --target-dir "$target" "$@")
for wasm in "$target"/wasm32-unknown-unknown/release/formica_*.wasm; do
    echo "$(basename "$wasm"): $(wc -c <"$wasm") bytes"
done
