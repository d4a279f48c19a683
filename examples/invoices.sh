#!/usr/bin/env bash
# Digital invoices on a local network, end to end: a supplier invoices a buyer in a Hong Kong
# dollar token, the buyer accepts, a bank finances the invoice (the advance reaches the supplier
# at once), a second registration of the same document is refused, and at the due date the buyer
# pays the bank.
#
# Start a network first (`cargo run --release -- up`), then: examples/invoices.sh
source "$(dirname "$0")/lib.sh"

symbol=$(fresh_symbol HKDI)
supplier=$(new_account supplier)
buyer=$(new_account buyer)
bank=$(new_account bank)
echo "supplier $supplier, buyer $buyer, bank $bank"

# The token the invoice is paid in (the development account issues it).
tx asset define "$symbol" --decimals 2
tx asset attest "$symbol" --reserves 10000000 --reference "$(sha256 "reserve report")"
tx asset mint "$symbol" --to "$buyer" --amount 200000
tx asset mint "$symbol" --to "$bank" --amount 200000

number="INV-$(date +%s)"
document=$(sha256 "invoice $number: 1000 units of milk powder")
due_ms=$(( $(date +%s) * 1000 + 30 * 86400 * 1000 ))
tx invoice issue "$number" --buyer "$buyer" --currency "$symbol" --amount 100000 --tax 10000 \
    --seller-tax-id "$(sha256 "supplier tax id")" --buyer-tax-id "$(sha256 "buyer tax id")" \
    --due-ms "$due_ms" --document "$document" --key "$WORK/supplier.json"
tx invoice accept "$number" --seller "$supplier" --key "$WORK/buyer.json"
tx invoice offer "$number" --financier "$bank" --advance 95000 --key "$WORK/supplier.json"
tx invoice finance "$number" --seller "$supplier" --key "$WORK/bank.json"

# The same document under another number is refused: it cannot be financed twice.
# (failure code 70, InvoiceExists)
expect '"failure_code": 70' invoice issue "$number-B" --buyer "$buyer" --currency "$symbol" --amount 100000 \
    --seller-tax-id "$(sha256 "supplier tax id")" --buyer-tax-id "$(sha256 "buyer tax id")" \
    --due-ms "$due_ms" --document "$document" --key "$WORK/supplier.json" --wait --json

tx invoice pay "$number" --seller "$supplier" --key "$WORK/buyer.json"
f invoice show --document "$document"
expect '"status": "paid"' invoice show --document "$document" --json
expect '"balance": "215000"' asset balance "$symbol" "$bank" --json   # the advance back, and the margin
echo "invoices walkthrough: done"
