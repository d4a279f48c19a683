#!/usr/bin/env bash
# Starts a local network of validators (`formica up`) after installing what building Formica needs
# on a fresh Debian machine (scripts/setup.sh). Arguments go to `formica up` (see `formica up --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec cargo run --release --locked -- up "$@"
