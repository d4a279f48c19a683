# Shared helpers of the walkthroughs in this folder (sourced, not run).
#
# FORMICA is the command that runs the CLI (default: the release build through cargo);
# FORMICA_ARGS is appended to every call (for example `--dir DIR --rpc URL` for another network).
set -euo pipefail

FORMICA=${FORMICA:-"cargo run --release --quiet --"}
FORMICA_ARGS=${FORMICA_ARGS:-}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Runs the CLI.
f() {
    # shellcheck disable=SC2086 # both variables hold several words on purpose
    $FORMICA "$@" $FORMICA_ARGS
}

# Submits a transaction, waits for it to be final, and stops the walkthrough unless it succeeded.
tx() {
    local out
    out=$(f "$@" --wait --json)
    if ! grep -q '"status": "success"' <<<"$out"; then
        echo "step failed: formica $*" >&2
        echo "$out" >&2
        exit 1
    fi
    echo "  ok: formica $*"
}

# Creates a key file `$WORK/NAME.json` and its funded account; prints the account id.
new_account() {
    local out id public_key
    out=$(f keys new --out "$WORK/$1.json")
    id=$(awk '/^account id/ {print $3}' <<<"$out")
    public_key=$(awk '/^public key/ {print $3}' <<<"$out")
    tx tx create-account --public-key "$public_key" --initial-balance 100000 >&2
    echo "$id"
}

# The development account (the devnet's issuer and regulator).
dev_account() {
    f asset balance FMC | awk '{print $4}'
}

# A SHA-256 as `0x` hex.
sha256() {
    printf '%s' "$1" | sha256sum | awk '{print "0x" $1}'
}

# A symbol not used before on this network: PREFIX (at most 4 letters) and 8 digits of the clock.
fresh_symbol() {
    echo "$1$(( $(date +%s%N) / 1000 % 100000000 ))"
}

# Runs the CLI and stops the walkthrough unless its output contains TEXT: expect TEXT ARGS...
expect() {
    local text=$1 out
    shift
    out=$(f "$@")
    if ! grep -qF -- "$text" <<<"$out"; then
        echo "expected $text from: formica $*" >&2
        echo "$out" >&2
        exit 1
    fi
    echo "  ok: formica $* gives $text"
}
