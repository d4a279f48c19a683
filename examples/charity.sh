#!/usr/bin/env bash
# Charity tracking on a local network, end to end: an issuer's dollar token for donations; a
# charity's flood-relief campaign whose disbursements need both of its two approvers; two donors
# give (each gets a receipt); a shelter is registered as beneficiary; a disbursement with its
# delivery note as evidence pays nothing while only one approver has approved (an outsider's and
# a repeated approval are refused); the second approval pays it; and each donation is traced,
# first in, first out, to the disbursement that used it.
#
# Start a network first (`cargo run --release -- up`), then: examples/charity.sh
source "$(dirname "$0")/lib.sh"

symbol=$(fresh_symbol USDC)
charity=$(new_account charity)
approver1=$(new_account approver1)
approver2=$(new_account approver2)
donor1=$(new_account donor1)
donor2=$(new_account donor2)
shelter=$(new_account shelter)
echo "charity $charity, approvers $approver1 and $approver2, donors $donor1 and $donor2, shelter $shelter"

# The donations' token (the development account issues it); both donors hold some.
tx asset define "$symbol" --decimals 2
tx asset attest "$symbol" --reserves 10000000 --reference "$(sha256 "reserve report")"
tx asset mint "$symbol" --to "$donor1" --amount 100000
tx asset mint "$symbol" --to "$donor2" --amount 100000

campaign="FLOOD-$(date +%s)"
tx charity create "$campaign" --purpose "Flood relief: food and shelter" \
    --purpose-document "$(sha256 "flood relief appeal and beneficiary rules")" --asset "$symbol" --target 100000 \
    --approver "$approver1" --approver "$approver2" --threshold 2 --key "$WORK/charity.json"
tx charity beneficiary "$campaign" "$shelter" --name "Riverside Shelter" \
    --reference "$(sha256 "shelter registration file")" --key "$WORK/charity.json"

# Donations go into the campaign's escrow; the receipt event names donor, campaign and number.
tx charity donate "$campaign" --charity "$charity" --amount 30000 --key "$WORK/donor1.json"
tx charity donate "$campaign" --charity "$charity" --amount 20000 --key "$WORK/donor2.json"
expect '"donated": "50000"' charity show "$campaign" --charity "$charity" --json

# A disbursement of 40,000 against the shelter's delivery note.
tx charity propose "$campaign" --beneficiary "$shelter" --amount 40000 \
    --evidence "$(sha256 "delivery note 0001: 400 food parcels")" --key "$WORK/charity.json"
tx charity approve "$campaign" 0 --charity "$charity" --key "$WORK/approver1.json"
# Under-approved (1 of 2): nothing is paid.
expect '"status": "pending"' charity show "$campaign" --charity "$charity" --proposal 0 --json
expect '"balance": "0"' asset balance "$symbol" "$shelter" --json
# Someone the campaign does not name cannot approve (16, NotPermitted), nor can anyone approve
# twice (119, DisbursementApproved).
expect '"failure_code": 16' charity approve "$campaign" 0 --charity "$charity" --key "$WORK/donor1.json" \
    --wait --json
expect '"failure_code": 119' charity approve "$campaign" 0 --charity "$charity" --key "$WORK/approver1.json" \
    --wait --json
# Nothing is paid beyond what the escrow holds (118, CampaignFundsShort): the last approval fails.
tx charity propose "$campaign" --beneficiary "$shelter" --amount 90000 \
    --evidence "$(sha256 "an invoice too large")" --key "$WORK/charity.json"
tx charity approve "$campaign" 1 --charity "$charity" --key "$WORK/approver1.json"
expect '"failure_code": 118' charity approve "$campaign" 1 --charity "$charity" --key "$WORK/approver2.json" \
    --wait --json
tx charity cancel "$campaign" 1 --key "$WORK/charity.json"

# The second approval reaches the threshold: the escrow pays the shelter in that transaction.
tx charity approve "$campaign" 0 --charity "$charity" --key "$WORK/approver2.json"
expect '"status": "paid"' charity show "$campaign" --charity "$charity" --proposal 0 --json
expect '"balance": "40000"' asset balance "$symbol" "$shelter" --json
expect '"held": "10000"' charity show "$campaign" --charity "$charity" --json

# First in, first out: donor 1's 30,000 all went to disbursement 0; donor 2's 20,000 gave the
# other 10,000 of it, and 10,000 is still held.
f charity trace "$campaign" 1 --charity "$charity"
expect '"undisbursed": "0"' charity trace "$campaign" 0 --charity "$charity" --json
expect '"undisbursed": "10000"' charity trace "$campaign" 1 --charity "$charity" --json
expect '"amount": "10000"' charity trace "$campaign" 1 --charity "$charity" --json
echo "charity walkthrough: done"
