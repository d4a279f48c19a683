#!/usr/bin/env bash
# Product traceability on a local network, end to end: a milk-powder manufacturer registers a
# batch with its rules (it records production; an inspector, a logistics firm, customs and a
# retailer each record their own step, each with its own key); every party appends its custody
# event with a location and an evidence hash; a party appending a kind its rules do not give it
# is refused; the batch is split into cans; the retailer receives one, and that can's history
# leads back to the origin batch with every event on the way.
#
# Start a network first (`cargo run --release -- up`), then: examples/traceability.sh
source "$(dirname "$0")/lib.sh"

maker=$(new_account maker)
inspector=$(new_account inspector)
logistics=$(new_account logistics)
customs=$(new_account customs)
retailer=$(new_account retailer)
echo "manufacturer $maker, inspector $inspector, logistics $logistics, customs $customs, retailer $retailer"

# The batch: its attributes and documents stay off the chain; only their hashes are recorded.
batch="MP-$(date +%s)"
tx trace register "$batch" --product "Whole milk powder 900 g" --origin "Waikato, New Zealand" \
    --attributes "$(sha256 "fat 26%, protein 24%, 12000 cans")" --documents "$(sha256 "certificate of analysis")" \
    --produced "$maker" --inspected "$inspector" --shipped "$logistics" --customs-cleared "$customs" \
    --received "$retailer" --key "$WORK/maker.json"

# Each party appends the kind of event the rules give it.
tx trace append "$maker:$batch" --kind produced --location "Hamilton plant, line 3" \
    --evidence "$(sha256 "production record")" --key "$WORK/maker.json"
tx trace append "$maker:$batch" --kind inspected --location "Hamilton QA lab" \
    --evidence "$(sha256 "inspection report")" --key "$WORK/inspector.json"
tx trace append "$maker:$batch" --kind shipped --location "Port of Tauranga" \
    --evidence "$(sha256 "bill of lading")" --key "$WORK/logistics.json"
tx trace append "$maker:$batch" --kind customs_cleared --location "Tianjin customs" \
    --evidence "$(sha256 "customs declaration")" --key "$WORK/customs.json"
# The logistics firm may ship, not inspect (failure code 102, EventNotAllowed).
expect '"failure_code": 102' trace append "$maker:$batch" --kind inspected --location "Tianjin port" \
    --key "$WORK/logistics.json" --wait --json

# The batch is split into cans, each an item that names the batch as its parent.
tx trace split "$maker:$batch" --item "$batch-C1=$(sha256 "can 1")" --item "$batch-C2=$(sha256 "can 2")" \
    --item "$batch-C3=$(sha256 "can 3")" --key "$WORK/maker.json"
# An item is not split again (failure code 106, BatchState).
expect '"failure_code": 106' trace split "$maker:$batch-C2" --item "$batch-C2-half" --key "$WORK/maker.json" \
    --wait --json
tx trace append "$maker:$batch-C2" --kind received --location "Shanghai store 12" \
    --evidence "$(sha256 "goods received note")" --key "$WORK/retailer.json"

f trace show "$maker:$batch"
expect '"child_count": 3' trace show "$maker:$batch" --json
# The can's history: the can first, then the origin batch with its four events.
f trace history "$maker:$batch-C2"
history=$(f trace history "$maker:$batch-C2" --json)
for text in '"kind": "received"' '"kind": "produced"' '"kind": "inspected"' '"kind": "shipped"' \
    '"kind": "customs_cleared"' "\"parent\": \"$batch\""; do
    grep -qF -- "$text" <<<"$history" || { echo "the history lacks $text" >&2; exit 1; }
done
echo "traceability walkthrough: done"
