#!/usr/bin/env bash
# Runs every cargo-fuzz target for the given seconds (default 60), one after the other, and
# prints each target's executions, corpus size and whether it found a crash.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Stable toolchain with RUSTC_BOOTSTRAP=1 (cargo-fuzz passes nightly-only flags); installs
# cargo-fuzz if it is missing. New corpus entries land in fuzz/corpus/<target>/ (minimise with
# `cargo fuzz cmin <target>` before committing); a crash lands in fuzz/artifacts/<target>/:
# fix it, then keep the input in fuzz/regressions/<target>/ so the default test run replays it.
# The build goes to FUZZ_TARGET_DIR (default /work/targets/fuzz), away from the workspace's.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
export RUSTC_BOOTSTRAP=1
target_dir="${FUZZ_TARGET_DIR:-/work/targets/fuzz}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cd fuzz && cargo fuzz list)
fi

cargo fuzz build --target-dir "$target_dir"

failed=()
printf '%-12s %8s %14s %10s %8s  %s\n' target seconds executions exec/s corpus result
for target in "${targets[@]}"; do
    log="$(mktemp)"
    status=0
    # -rss_limit_mb: the RPC target keeps a runtime and a node in memory; anything above this is a leak.
    cargo fuzz run --target-dir "$target_dir" "$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1 || status=$?
    executions="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    rate="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    corpus="$(find "fuzz/corpus/$target" -type f | wc -l)"
    if [ "$status" -eq 0 ]; then
        result="no crash"
    else
        result="CRASH (exit $status), see fuzz/artifacts/$target/ and $log"
        failed+=("$target")
    fi
    printf '%-12s %8s %14s %10s %8s  %s\n' "$target" "$seconds" "$executions" "$rate" "$corpus" "$result"
    if [ "$status" -ne 0 ]; then
        grep -m 20 -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | sed 's/^/    /' || true
    else
        rm -f "$log"
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "crashes in: ${failed[*]}" >&2
    exit 1
fi
