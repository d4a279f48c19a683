#!/usr/bin/env bash
# Real processes, real network faults: runs formica-faults (crates/faults) with a profile.
#   scripts/faults/run.sh            the short profile (CI): 4 validators, about 10,000 transfers,
#                                    loss, a kill, a partition, a pause, a full disk, a skewed clock
#   scripts/faults/run.sh --soak [SEED] [--minutes N]
#                                    7 validators for 60 (or N) minutes, a fault every 30 s (release build)
# Needs root: network namespaces, nft rules and a tmpfs mount. Installs nftables and faketime.
# The report is written to $CARGO_TARGET_DIR/faults/<profile>-report.json, the node logs beside it.
# With --skip-if-unavailable (what scripts/check.sh passes) a machine that cannot make namespaces
# prints why and passes; without it, it fails.
set -euo pipefail
cd "$(dirname "$0")/../.."

profile=short
seed=1
skip=()
minutes=60
while [ $# -gt 0 ]; do
    case "$1" in
        --soak) profile=soak; if [ $# -gt 1 ] && [[ "$2" =~ ^[0-9]+$ ]]; then seed="$2"; shift; fi ;;
        --skip-if-unavailable) skip=(--skip-if-unavailable) ;;
        --minutes) minutes="$2"; shift ;;
        *) echo "usage: $0 [--soak [SEED]] [--minutes N] [--skip-if-unavailable]" >&2; exit 2 ;;
    esac
    shift
done

if [ "$(id -u)" != 0 ]; then
    if [ ${#skip[@]} -gt 0 ]; then echo "faults: SKIPPED, not root (namespaces, nft and mount need it)"; exit 0; fi
    echo "faults: must run as root (namespaces, nft and mount need it)" >&2; exit 1
fi
need_apt=()
command -v nft >/dev/null 2>&1 || need_apt+=(nftables)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || need_apt+=(faketime)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

target="${CARGO_TARGET_DIR:-$PWD/target}"
build=(--locked)
folder=debug
if [ "$profile" = soak ]; then build+=(--release); folder=release; fi
cargo build "${build[@]}" -p formica -p formica-faults
out="$target/faults"
mkdir -p "$out"
exec "$target/$folder/formica-faults" --profile "$profile" --seed "$seed" --minutes "$minutes" --formica "$target/$folder/formica" \
    --dir "$out/$profile" --report "$out/$profile-report.json" "${skip[@]}"
