#!/usr/bin/env bash
# Installs what building Formica needs on a fresh Debian machine with rustup; with `--tests`,
# also what the test suite needs (cargo-nextest, a headless browser). Idempotent: does nothing
# that is already done.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
# The browser verifier (formica-verify for wasm32) compiles blst's C code, which needs clang.
command -v clang >/dev/null 2>&1 || need_apt+=(clang)
tests=false
[ "${1:-}" = "--tests" ] && tests=true
# The verification page's test opens it in a real headless browser.
if $tests; then command -v chromium >/dev/null 2>&1 || need_apt+=(chromium fonts-dejavu-core); fi
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

command -v cargo >/dev/null 2>&1 || { echo "setup: cargo is missing; install Rust with rustup first" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
# Contracts build for wasm32 (scripts/build-contracts.sh); the VM's tests run the example contracts;
# the node embeds the browser verifier, built for wasm32 by crates/rpc/build.rs.
rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown
if $tests; then command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest; fi
