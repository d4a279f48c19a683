#!/usr/bin/env bash
# Asset tokens on a local network, end to end: an issuer defines a Hong Kong dollar token,
# attests its reserves, mints to a wallet within them, the wallet pays a merchant, a regulator
# freezes the merchant's holding, and the merchant redeems what it holds through the issuer.
#
# Start a network first (`cargo run --release -- up`), then: examples/assets.sh
source "$(dirname "$0")/lib.sh"

symbol=$(fresh_symbol HKD)
issuer=$(dev_account)
echo "issuer (the devnet's development account): $issuer"
wallet=$(new_account wallet)
merchant=$(new_account merchant)
echo "wallet $wallet, merchant $merchant"

tx asset define "$symbol" --decimals 2 --cap 100000000
tx asset attest "$symbol" --reserves 5000000 --reference "$(sha256 "reserve report 2026-12-01")"
tx asset mint "$symbol" --to "$wallet" --amount 1000000
tx asset transfer "$symbol" --to "$merchant" --amount 25000 --key "$WORK/wallet.json"
tx asset freeze "$symbol" --account "$merchant"
# A frozen holding cannot send (failure code 63, HoldingFrozen).
expect '"failure_code": 63' asset transfer "$symbol" --to "$wallet" --amount 1 --key "$WORK/merchant.json" --wait --json
tx asset unfreeze "$symbol" --account "$merchant"
tx asset transfer "$symbol" --to "$issuer" --amount 25000 --key "$WORK/merchant.json"
tx asset burn "$symbol" --amount 25000
f asset info "$symbol"
expect '"supply": "975000"' asset info "$symbol" --json
echo "assets walkthrough: done"
