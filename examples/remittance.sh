#!/usr/bin/env bash
# Cross-border remittance on a local network, end to end: a regulator opens a Hong Kong dollar
# to Philippine peso corridor between two wallet organisations, a settlement bank, an FX quote
# provider and a compliance desk; a customer's remittance is requested, quoted, accepted and
# settled in one block (HKD debited, PHP credited, fees to the named parties); a sanctioned
# sender and an over-limit transfer are rejected with their reasons, moving nothing.
#
# Start a network first (`cargo run --release -- up`), then: examples/remittance.sh
source "$(dirname "$0")/lib.sh"

hkd=$(fresh_symbol HKD)
php=$(fresh_symbol PHP)
corridor=$(fresh_symbol RMT)
sending=$(new_account sending-wallet)
receiving=$(new_account receiving-wallet)
settlement=$(new_account settlement-bank)
fx=$(new_account fx-provider)
compliance=$(new_account compliance)
alice=$(new_account alice)       # the sending wallet's customer in Hong Kong
bob=$(new_account bob)           # the recipient in Manila
mallory=$(new_account mallory)   # a customer the compliance desk lists
echo "corridor $corridor: $hkd to $php"

# The two currencies (the development account issues both), the customers' HKD and the
# settlement bank's PHP liquidity.
for symbol in "$hkd" "$php"; do
    tx asset define "$symbol" --decimals 2
    tx asset attest "$symbol" --reserves 1000000000 --reference "$(sha256 "$symbol reserve report")"
done
tx asset mint "$hkd" --to "$alice" --amount 1000000
tx asset mint "$hkd" --to "$mallory" --amount 1000000
tx asset mint "$php" --to "$settlement" --amount 100000000

# The corridor (the development account is the devnet's regulator): a fee of 5.00 HKD plus 0.5%,
# 70% to the sending wallet and 30% to the settlement bank; at most 5000.00 HKD per transfer and
# 8000.00 HKD per sender per day.
tx remittance corridor-define "$corridor" --source "$hkd" --destination "$php" \
    --sending-wallet "$sending" --receiving-wallet "$receiving" --settlement "$settlement" \
    --fx-provider "$fx" --compliance "$compliance" --fee-flat 500 --fee-bps 50 \
    --fee-share "$sending:7000" --fee-share "$settlement:3000" \
    --per-transfer-max 500000 --daily-max 800000
f remittance corridor "$corridor"

# Alice sends 1000.00 HKD to Bob: her wallet requests, the FX provider quotes 7.25 PHP per HKD
# for ten minutes, Alice accepts, and it settles in the block that includes the acceptance.
tx remittance request "$corridor" --reference 1 --sender "$alice" --recipient "$bob" --amount 100000 \
    --key "$WORK/sending-wallet.json"
id=$(f remittance id --wallet "$sending" 1)
tx remittance quote "$id" --rate 725000000 --valid-secs 600 --key "$WORK/fx-provider.json"
expect '"status": "quoted"' remittance show "$id" --json
tx remittance accept "$id" --key "$WORK/alice.json"
f remittance show "$id"
expect '"status": "settled"' remittance show "$id" --json
expect '"balance": "725000"' asset balance "$php" "$bob" --json        # 1000.00 HKD at 7.25
expect '"balance": "899000"' asset balance "$hkd" "$alice" --json      # amount and 10.00 HKD fee
expect '"balance": "700"' asset balance "$hkd" "$sending" --json       # 70% of the fee

# The compliance desk lists Mallory: her remittance is rejected at acceptance, with the reason.
tx remittance sanction "$corridor" "$mallory" --key "$WORK/compliance.json"
expect '"sanctioned": true' remittance sanctioned "$corridor" "$mallory" --json
tx remittance request "$corridor" --reference 2 --sender "$mallory" --recipient "$bob" --amount 100000 \
    --key "$WORK/sending-wallet.json"
id=$(f remittance id --wallet "$sending" 2)
tx remittance quote "$id" --rate 725000000 --key "$WORK/fx-provider.json"
tx remittance accept "$id" --key "$WORK/mallory.json"
expect '"reason": "sender_sanctioned"' remittance show "$id" --json
expect '"balance": "1000000"' asset balance "$hkd" "$mallory" --json   # nothing moved

# Over the per-transfer limit: rejected too, and Alice keeps her HKD.
tx remittance request "$corridor" --reference 3 --sender "$alice" --recipient "$bob" --amount 600000 \
    --key "$WORK/sending-wallet.json"
id=$(f remittance id --wallet "$sending" 3)
tx remittance quote "$id" --rate 725000000 --key "$WORK/fx-provider.json"
tx remittance accept "$id" --key "$WORK/alice.json"
expect '"reason": "over_transfer_limit"' remittance show "$id" --json
expect '"balance": "899000"' asset balance "$hkd" "$alice" --json
echo "remittance walkthrough: done"
