#!/usr/bin/env bash
# Notarisation on a local network, end to end: an author deposits a document (only its SHA-256
# leaves the machine) and verifies it; a second deposit of the same document is refused; three
# more documents go in one transaction as a batch, one is verified through its proof and a
# changed copy of it fails; the author certifies copyright of the first document to a publisher,
# then revokes the certificate with a reason, and it shows as revoked.
#
# Start a network first (`cargo run --release -- up`), then: examples/notary.sh
source "$(dirname "$0")/lib.sh"

author=$(new_account author)
publisher=$(new_account publisher)
echo "author $author, publisher $publisher"
key=(--key "$WORK/author.json")

# A document with a unique body, so the walkthrough can run again on the same network.
printf 'Manuscript %s: chapter one.\n' "$(date +%s%N)" >"$WORK/manuscript.txt"
tx notary deposit "$WORK/manuscript.txt" --label "manuscript v1" "${key[@]}"
expect '"status": "deposited"' notary verify "$WORK/manuscript.txt" --json
expect "$author" notary show "$WORK/manuscript.txt"

# The first deposit wins: depositing the same document again, by anyone, is refused.
# (failure code 120, DepositExists)
expect '"failure_code": 120' notary deposit "$WORK/manuscript.txt" --key "$WORK/publisher.json" --wait --json

# Three documents in one transaction: the root goes on the chain, the proofs into a file.
for n in 1 2 3; do printf 'Invoice scan %s-%s\n' "$n" "$(date +%s%N)" >"$WORK/scan-$n.txt"; done
tx notary batch "$WORK/scan-1.txt" "$WORK/scan-2.txt" "$WORK/scan-3.txt" --out "$WORK/proofs.json" "${key[@]}"
expect '"status": "deposited"' notary verify "$WORK/scan-2.txt" --proofs "$WORK/proofs.json" --json
# A changed copy of scan 2 no longer matches its proof.
printf 'tampered\n' >>"$WORK/scan-2.txt"
if out=$(f notary verify "$WORK/scan-2.txt" --proofs "$WORK/proofs.json" --json 2>/dev/null); then
    echo "a changed document verified: $out" >&2
    exit 1
fi
grep -qF '"status": "proof_invalid"' <<<"$out" || { echo "unexpected answer: $out" >&2; exit 1; }
echo "  ok: a changed copy of scan 2 fails its proof"

# Copyright of the manuscript to the publisher; then revoked, with the reason on record.
certificate=(--kind copyright --holder "$publisher")
tx notary certify "$WORK/manuscript.txt" "${certificate[@]}" --title "Manuscript, world rights" "${key[@]}"
expect 'status       valid' notary show "$WORK/manuscript.txt" "${certificate[@]}"
tx notary revoke --document "$WORK/manuscript.txt" "${certificate[@]}" --reason "rights returned to the author" "${key[@]}"
expect 'rights returned to the author' notary show "$WORK/manuscript.txt" "${certificate[@]}" --json
f notary show "$WORK/manuscript.txt" "${certificate[@]}"
echo "notary walkthrough: done"
