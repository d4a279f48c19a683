//! The record workloads: notarisation deposits and traceability custody events.
//!
//! # Notarisation (`--workload notary`)
//! Every measured transaction deposits one document hash (`NotaryOp::Deposit`, a small record
//! written once under a key nobody else writes). Deposit `r` is workload account `r % accounts`'s
//! with nonce `r / accounts`; its document hash is unique per run (the seed and `r` in it).
//! Nothing is set up first. A `DepositBatch` notarises any number of documents in one such
//! transaction (its Merkle root), so documents per second can be far higher than these figures;
//! the bench measures the one-document deposit, the worst case.
//!
//! # Traceability (`--workload traceability`)
//! Every measured transaction appends one custody event to a product batch
//! (`TraceOp::Append`: reads the batch, writes the event and the batch's count). Each account
//! owns its batches and its rules let it append every kind; event `r` is account
//! `r % accounts`'s `j = r / accounts`-th, into its batch `B{j / EVENTS_PER_BATCH_MAX}`, of kind
//! `j % 5`. Set-up: each account registers the batches its events need, before the load.

use super::workload::PlannedCall;
use formica_types::traceability::EVENTS_PER_BATCH_MAX;
use formica_types::{
    AccountId, BatchId, BatchTerms, DepositLabel, EventKind, Hash, NotaryOp, Payload, Rules, TraceOp, TraceText,
};

/// The notary workload: `count` deposits over `accounts` accounts.
pub fn notary(seed: u64, accounts: u64, count: usize) -> Vec<PlannedCall> {
    let label = DepositLabel::new("bench").expect("a short label");
    (0..count as u64)
        .map(|reference| PlannedCall {
            sender: reference % accounts,
            nonce: reference / accounts,
            payload: Payload::Notary(NotaryOp::Deposit {
                document: document(seed, reference),
                metadata: Hash::from([0x4d; 32]),
                label,
            }),
        })
        .collect()
}

/// Deposit `reference`'s document hash: distinct for every `(seed, reference)`.
pub fn document(seed: u64, reference: u64) -> Hash {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(b"formica!");
    bytes[8..16].copy_from_slice(&seed.to_be_bytes());
    bytes[16..24].copy_from_slice(&reference.to_be_bytes());
    Hash::from(bytes)
}

/// The planned traceability workload.
pub struct TracePlan {
    /// The registrations, before the load.
    pub setup: Vec<PlannedCall>,
    /// The measured appends.
    pub appends: Vec<PlannedCall>,
}

/// Batch `index` of an account.
pub fn batch_id(index: u64) -> BatchId {
    BatchId::new(&format!("B{index}")).expect("a short batch id")
}

/// The traceability workload: `count` events over the accounts `ids`.
pub fn traceability(ids: &[AccountId], count: usize) -> TracePlan {
    let accounts = ids.len() as u64;
    let count = count as u64;
    let per_batch = u64::from(EVENTS_PER_BATCH_MAX);
    let product = TraceText::new("Whole milk powder 900 g").expect("a short text");
    let origin = TraceText::new("Waikato, New Zealand").expect("a short text");
    let location = TraceText::new("Auckland distribution centre").expect("a short text");
    // How many batches account `a` registers: enough for its events.
    let events_of = |account: u64| count / accounts + u64::from(account < count % accounts);
    let batches_of = |account: u64| events_of(account).div_ceil(per_batch);
    let mut setup = Vec::new();
    for account in 0..accounts.min(count) {
        let owner = ids[account as usize];
        let rules = Rules::new(&EventKind::ALL.map(|kind| (kind, vec![owner]))).expect("one party per kind");
        for batch in 0..batches_of(account) {
            setup.push(PlannedCall {
                sender: account,
                nonce: batch,
                payload: Payload::Trace(Box::new(TraceOp::Register(BatchTerms {
                    id: batch_id(batch),
                    product,
                    origin,
                    attributes: Hash::from([0xa7; 32]),
                    documents: Hash::from([0xd0; 32]),
                    rules,
                }))),
            });
        }
    }
    let appends = (0..count)
        .map(|reference| {
            let (account, event) = (reference % accounts, reference / accounts);
            let mut evidence = [0u8; 32];
            evidence[24..].copy_from_slice(&reference.to_be_bytes());
            PlannedCall {
                sender: account,
                nonce: batches_of(account) + event,
                payload: Payload::Trace(Box::new(TraceOp::Append {
                    owner: ids[account as usize],
                    id: batch_id(event / per_batch),
                    kind: EventKind::ALL[(event % 5) as usize],
                    location,
                    evidence: Hash::from(evidence),
                })),
            }
        })
        .collect();
    TracePlan { setup, appends }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::workload::accounts;
    use std::collections::{BTreeMap, BTreeSet};

    /// Every sender's nonces run 0, 1, 2, ... across set-up and load.
    fn assert_consecutive<'a>(calls: impl Iterator<Item = &'a PlannedCall>) -> BTreeMap<u64, u64> {
        let mut next = BTreeMap::<u64, u64>::new();
        for call in calls {
            let expected = next.entry(call.sender).or_insert(0);
            assert_eq!(call.nonce, *expected, "sender {} out of order", call.sender);
            *expected += 1;
        }
        next
    }

    #[test]
    fn notary_deposits_are_distinct_documents_with_consecutive_nonces() {
        let calls = notary(9, 4, 30);
        assert_eq!(calls.len(), 30);
        let next = assert_consecutive(calls.iter());
        assert_eq!((next[&0], next[&3]), (8, 7));
        let documents: BTreeSet<_> = calls
            .iter()
            .map(|call| match &call.payload {
                Payload::Notary(NotaryOp::Deposit { document, .. }) => *document,
                other => panic!("not a deposit: {other:?}"),
            })
            .collect();
        assert_eq!(documents.len(), 30);
        assert_ne!(document(1, 5), document(2, 5), "another seed deposits other documents");
    }

    #[test]
    fn every_append_goes_to_a_registered_batch_with_room_and_nonces_are_consecutive() {
        let (_, ids) = accounts(3, 3, 2);
        // Account 0 gets 301 events, the others 300: two batches each (256 events fill one).
        let plan = traceability(&ids, 3 * 300 + 1);
        let next = assert_consecutive(plan.setup.iter().chain(&plan.appends));
        assert_eq!(next[&0], 2 + 301);
        assert_eq!(next[&2], 2 + 300);
        // 30 events each: one batch each.
        let small = traceability(&ids, 90);
        assert_eq!(small.setup.len(), 3);
        let registered: BTreeSet<(u64, BatchId)> = plan
            .setup
            .iter()
            .map(|call| {
                let Payload::Trace(op) = &call.payload else { panic!("not a traceability call") };
                let TraceOp::Register(terms) = op.as_ref() else { panic!("not a registration: {op:?}") };
                for kind in EventKind::ALL {
                    assert!(terms.rules.allows(kind, &ids[call.sender as usize]));
                }
                (call.sender, terms.id)
            })
            .collect();
        let mut events = BTreeMap::<(u64, BatchId), u64>::new();
        for call in &plan.appends {
            let Payload::Trace(op) = &call.payload else { panic!("not a traceability call") };
            let TraceOp::Append { owner, id, .. } = op.as_ref() else { panic!("not an append: {:?}", call.payload) };
            assert_eq!(*owner, ids[call.sender as usize], "accounts append to their own batches");
            assert!(registered.contains(&(call.sender, *id)), "{id} is registered first");
            *events.entry((call.sender, *id)).or_insert(0) += 1;
        }
        assert!(events.values().all(|&count| count <= u64::from(EVENTS_PER_BATCH_MAX)));
        assert_eq!(events[&(0, batch_id(1))], 301 - 256);
    }
}
