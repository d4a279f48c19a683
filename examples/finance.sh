#!/usr/bin/env bash
# Supply-chain finance on a local network, end to end: a core enterprise acknowledges a payable
# of 100,000 to its tier-1 supplier as a receivable; the supplier keeps part of it and passes the
# rest down to two tier-2 suppliers in one split; one tier-2 supplier passes its part on whole to
# the other, which sells one part to a bank at a discount (the price arrives at once); splitting
# more than is held is refused; at maturity the core enterprise settles every part, and each
# holder is paid its part's amount.
#
# Start a network first (`cargo run --release -- up`), then: examples/finance.sh
source "$(dirname "$0")/lib.sh"

symbol=$(fresh_symbol CNHF)
core=$(new_account core)
tier1=$(new_account tier1)
tier2a=$(new_account tier2a)
tier2b=$(new_account tier2b)
bank=$(new_account bank)
echo "core enterprise $core, tier 1 $tier1, tier 2 $tier2a and $tier2b, bank $bank"

# The currency (the development account issues it): the core enterprise and the bank hold some.
tx asset define "$symbol" --decimals 2
tx asset attest "$symbol" --reserves 10000000 --reference "$(sha256 "reserve report")"
tx asset mint "$symbol" --to "$core" --amount 500000
tx asset mint "$symbol" --to "$bank" --amount 500000

# The payable matures in 45 seconds (a real one would in months).
reference="PO-$(date +%s)"
maturity_ms=$(( $(date +%s) * 1000 + 45000 ))
tx finance acknowledge "$reference" --supplier "$tier1" --currency "$symbol" --amount 100000 \
    --maturity-ms "$maturity_ms" --key "$WORK/core.json"
receivable=$(f finance id "$reference" --debtor "$core")
echo "receivable $receivable"

# Tier 1 keeps 40,000 (part 1) and passes 35,000 and 25,000 (parts 2 and 3) down the chain.
tx finance split "$receivable" --part 0 --to "$tier1=40000" --to "$tier2a=35000" --to "$tier2b=25000" \
    --key "$WORK/tier1.json"
# Nobody splits more than they hold (failure code 94, SplitUnbalanced).
expect '"failure_code": 94' finance split "$receivable" --part 3 --to "$tier2b=20000" --to "$tier2a=5001" \
    --key "$WORK/tier2b.json" --wait --json
tx finance transfer "$receivable" --part 3 --to "$tier2a" --key "$WORK/tier2b.json"

# Tier 2a sells part 2 to the bank: 35,000 at maturity for 33,600 now.
tx finance offer "$receivable" --part 2 --bank "$bank" --price 33600 --key "$WORK/tier2a.json"
tx finance finance "$receivable" --part 2 --key "$WORK/bank.json"
expect '"balance": "33600"' asset balance "$symbol" "$tier2a" --json
# Financed once: the bank cannot finance it again (failure code 92, PartState).
expect '"failure_code": 92' finance finance "$receivable" --part 2 --key "$WORK/bank.json" --wait --json
f finance trace "$receivable" 3

# Wait until the chain's time passes the maturity (blocks carry their proposer's clock).
chain_time_ms() {
    local height
    height=$(f status --json | grep -o '"height": [0-9]*' | head -1 | grep -o '[0-9]*$')
    f block "$height" --json | grep -o '"timestamp_ms": [0-9]*' | grep -o '[0-9]*$'
}
for _ in $(seq 1 120); do
    (( $(chain_time_ms) > maturity_ms )) && break
    sleep 1
done
(( $(chain_time_ms) > maturity_ms )) || { echo "the chain's time did not pass the maturity" >&2; exit 1; }

# At maturity the core enterprise settles every part that is held. Part 0 was split: only its
# parts are paid (failure code 92, PartState).
expect '"failure_code": 92' finance settle "$receivable" --part 0 --key "$WORK/core.json" --wait --json
for part in 1 2 3; do
    tx finance settle "$receivable" --part "$part" --key "$WORK/core.json"
done
f finance show "$receivable"
expect '"settled": "100000"' finance show "$receivable" --json
expect '"balance": "40000"' asset balance "$symbol" "$tier1" --json
expect '"balance": "58600"' asset balance "$symbol" "$tier2a" --json   # the price, and part 3
expect '"balance": "501400"' asset balance "$symbol" "$bank" --json    # the discount earned
expect '"balance": "400000"' asset balance "$symbol" "$core" --json
echo "finance walkthrough: done"
