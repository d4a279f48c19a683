#!/usr/bin/env bash
# The one gate: formatting, lints, docs and the whole test suite. CI runs exactly this.
# Slow tests (named *_slow) are excluded here; run them with `scripts/check.sh --slow`.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh --tests

echo "== fmt"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
echo "== contracts (fmt, clippy for wasm32, build)"
(cd contracts && cargo fmt --all -- --check)
(cd contracts && cargo clippy --locked --target wasm32-unknown-unknown -- -D warnings)
(cd contracts && cargo test --locked -p formica-contract --no-default-features)
./scripts/build-contracts.sh
echo "== build the formica binary (the process tests start it)"
cargo build --locked -p formica
echo "== tests"
profile=default
[ "${1:-}" = "--slow" ] && profile=slow
cargo nextest run --workspace --locked --profile "$profile" --no-tests=fail
echo "== real processes under real network faults (the short profile; needs root, else skipped)"
./scripts/faults/run.sh --skip-if-unavailable
