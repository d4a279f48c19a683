//! Notary module tests: deposits timestamped by the block with the first deposit winning, batch
//! deposits whose documents prove their place with Merkle paths, certificates only on one's own
//! deposits, and revocations by the issuer or owner, once. Every refusal has its own code and
//! changes nothing but the fee.

use super::{FEE, World, signer};
use crate::modules::{decode_record, record_keys};
use formica_crypto::AccountSigner;
use formica_state::{StateKey, StateValue};
use formica_types::{
    BatchProof, Certificate, CertificateKind, CertificateTitle, Deposit, DepositKind, DepositLabel, FailureCode, Hash,
    Height, KeyScheme, Module, NOTARY_BATCH_LEAVES_MAX, NotaryOp, Outcome, Payload, RevocationReason, Transaction,
    certificate_id, document_leaf, hash_tagged, merkle_path, merkle_root,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn document(n: u64) -> Hash {
    hash_tagged(b"test/notary-document", &[&n.to_be_bytes()])
}

fn notary(op: NotaryOp) -> Payload {
    Payload::Notary(op)
}

fn deposit(n: u64) -> Payload {
    notary(NotaryOp::Deposit {
        document: document(n),
        metadata: document(1_000 + n),
        label: DepositLabel::new("contract").expect("valid"),
    })
}

fn title(text: &str) -> CertificateTitle {
    CertificateTitle::new(text).expect("valid title")
}

fn reason(text: &str) -> RevocationReason {
    RevocationReason::new(text).expect("valid reason")
}

fn certify(document: Hash, kind: CertificateKind, holder: &AccountSigner, proof: Option<BatchProof>) -> Payload {
    notary(NotaryOp::Certify { document, kind, holder: holder.account_id(), title: title("Song #1"), proof })
}

/// A batch of `count` documents from `first` on: the documents, their leaves and the root.
fn batch(first: u64, count: u64) -> (Vec<Hash>, Vec<Hash>, Hash) {
    let documents: Vec<Hash> = (first..first + count).map(document).collect();
    let leaves: Vec<Hash> = documents.iter().map(document_leaf).collect();
    let root = merkle_root(&leaves);
    (documents, leaves, root)
}

fn proof(leaves: &[Hash], root: Hash, index: u32) -> BatchProof {
    BatchProof { root, index, path: merkle_path(leaves, index) }
}

impl World {
    fn deposit_record(&self, hash: &Hash) -> Option<Deposit> {
        let keys = record_keys::<Deposit>(Module::Notary, &Deposit::key(hash));
        let chunks: Vec<_> = keys.iter().map(|key| self.records.get(key)).collect();
        decode_record(&chunks)
    }

    fn certificate(&self, id: &Hash) -> Option<Certificate> {
        let keys = record_keys::<Certificate>(Module::Notary, &Certificate::key(id));
        let chunks: Vec<_> = keys.iter().map(|key| self.records.get(key)).collect();
        decode_record(&chunks)
    }

    fn records_but_accounts(&self) -> BTreeMap<StateKey, StateValue> {
        self.records
            .iter()
            .filter(|(key, _)| !matches!(key, StateKey::Account(_)))
            .map(|(key, value)| (*key, value.clone()))
            .collect()
    }

    /// Runs `transaction`, requires it to fail with `code` and to change nothing but its
    /// sender's fee and nonce.
    fn notary_refused(&mut self, transaction: Transaction, code: FailureCode) {
        let before = self.records_but_accounts();
        let sender = transaction.body.sender;
        let balance = self.account(&sender).expect("the sender exists").balance.get();
        self.fails(transaction, code);
        assert_eq!(self.records_but_accounts(), before, "a failed operation leaves no trace");
        assert_eq!(self.account(&sender).expect("exists").balance.get(), balance - FEE, "only the fee");
    }
}

#[test]
fn a_deposit_is_timestamped_by_its_block_and_the_first_deposit_wins() {
    let owner = signer(KeyScheme::Ed25519, 9_001);
    let other = signer(KeyScheme::Sm2, 9_002);
    let mut world = World::new(&[&owner, &other], None, false);
    world.timestamp_ms += 5_000;
    let receipt = world.run(world.by(&owner, deposit(1))).expect("admissible");
    assert_eq!(receipt.outcome, Outcome::Success);
    assert_eq!(receipt.fee_paid.get(), FEE, "a deposit pays the flat fee only");
    assert_eq!(receipt.events[0].contract, Module::Notary.address());
    assert_eq!(receipt.events[0].topics[1], document(1).0);
    let record = world.deposit_record(&document(1)).expect("deposited");
    assert_eq!(record.owner, owner.account_id());
    assert_eq!(record.height, world.height);
    assert_eq!(record.timestamp_ms, world.timestamp_ms);
    assert_eq!(record.metadata, document(1_001));
    assert_eq!(record.label.as_str(), "contract");
    assert_eq!(record.kind, DepositKind::Single);
    assert_eq!(record.revoked, None);

    // A second deposit of the same hash, by anyone, is refused; the first record stays.
    world.notary_refused(world.by(&other, deposit(1)), FailureCode::DepositExists);
    world.notary_refused(world.by(&owner, deposit(1)), FailureCode::DepositExists);
    // Nor can a batch claim a deposited hash as its root.
    world.notary_refused(
        world.by(&other, notary(NotaryOp::DepositBatch { root: document(1), leaves: 2, metadata: document(0) })),
        FailureCode::DepositExists,
    );
    assert_eq!(world.deposit_record(&document(1)).expect("kept").owner, owner.account_id());

    // Two deposits of one hash in one block: the first in block order wins.
    let first = world.by(&other, deposit(2));
    let second = world.by(&owner, deposit(2));
    let receipts = world.block(&[first, second]).expect("admissible");
    assert_eq!(receipts[0].outcome, Outcome::Success);
    assert_eq!(super::failure(&receipts[1]), Some(FailureCode::DepositExists));
    assert_eq!(world.deposit_record(&document(2)).expect("deposited").owner, other.account_id());
}

#[test]
fn a_batch_is_one_record_and_each_document_proves_its_place() {
    let owner = signer(KeyScheme::Ed25519, 9_011);
    let holder = signer(KeyScheme::Secp256k1, 9_012);
    let mut world = World::new(&[&owner, &holder], None, false);
    let (documents, leaves, root) = batch(100, 5);

    for leaves in [0, NOTARY_BATCH_LEAVES_MAX + 1, u32::MAX] {
        world.notary_refused(
            world.by(&owner, notary(NotaryOp::DepositBatch { root, leaves, metadata: document(0) })),
            FailureCode::InvalidNotary,
        );
    }
    world.ok(world.by(&owner, notary(NotaryOp::DepositBatch { root, leaves: 5, metadata: document(0) })));
    let record = world.deposit_record(&root).expect("the root is deposited");
    assert_eq!(record.kind, DepositKind::Batch { leaves: 5 });
    assert_eq!(world.deposit_record(&documents[0]), None, "one record for the whole batch");
    world.notary_refused(
        world.by(&holder, notary(NotaryOp::DepositBatch { root, leaves: 5, metadata: document(0) })),
        FailureCode::DepositExists,
    );

    // The root is not a document; a document of the batch needs its path.
    world.notary_refused(
        world.by(&owner, certify(root, CertificateKind::Copyright, &holder, None)),
        FailureCode::InvalidNotary,
    );
    world.notary_refused(
        world.by(&owner, certify(documents[3], CertificateKind::Copyright, &holder, None)),
        FailureCode::DepositMissing,
    );
    // Wrong index, wrong path, wrong document, a path too long: refused.
    let good = proof(&leaves, root, 3);
    let wrong_index = BatchProof { index: 2, ..good.clone() };
    let wrong_path = BatchProof { path: merkle_path(&leaves, 2), ..good.clone() };
    let mut longer = good.clone();
    longer.path.push(root);
    let out_of_range = BatchProof { index: 5, ..good.clone() };
    for bad in [wrong_index, wrong_path, longer, out_of_range] {
        world.notary_refused(
            world.by(&owner, certify(documents[3], CertificateKind::Copyright, &holder, Some(bad))),
            FailureCode::NotaryProofInvalid,
        );
    }
    world.notary_refused(
        world.by(&owner, certify(document(999), CertificateKind::Copyright, &holder, Some(good.clone()))),
        FailureCode::NotaryProofInvalid,
    );
    // A proof against a single deposit is no proof; against an undeposited root, nothing.
    world.ok(world.by(&owner, deposit(7)));
    world.notary_refused(
        world.by(
            &owner,
            certify(
                documents[3],
                CertificateKind::Copyright,
                &holder,
                Some(BatchProof { root: document(7), ..good.clone() }),
            ),
        ),
        FailureCode::NotaryProofInvalid,
    );
    let (_, other_leaves, other_root) = batch(200, 3);
    world.notary_refused(
        world.by(
            &owner,
            certify(document(200), CertificateKind::Copyright, &holder, Some(proof(&other_leaves, other_root, 0))),
        ),
        FailureCode::DepositMissing,
    );
    // Someone else cannot certify the owner's batch, even with a good path.
    world.notary_refused(
        world.by(&holder, certify(documents[3], CertificateKind::Copyright, &holder, Some(good.clone()))),
        FailureCode::NotPermitted,
    );

    // Every document of the batch certifies with its own path.
    for (index, document) in documents.iter().enumerate() {
        let proof = proof(&leaves, root, index as u32);
        world.ok(world.by(&owner, certify(*document, CertificateKind::Ownership, &holder, Some(proof))));
        let id = certificate_id(document, CertificateKind::Ownership, &holder.account_id());
        let certificate = world.certificate(&id).expect("certified");
        assert_eq!(certificate.batch_root, Some(root));
        assert_eq!(certificate.issuer, owner.account_id());
    }
}

#[test]
fn only_the_owner_certifies_a_deposited_document_once_per_kind_and_holder() {
    let owner = signer(KeyScheme::Ed25519, 9_021);
    let holder = signer(KeyScheme::Sm2, 9_022);
    let stranger = signer(KeyScheme::Ed25519, 9_023);
    let mut world = World::new(&[&owner, &holder, &stranger], None, false);

    world.notary_refused(
        world.by(&owner, certify(document(1), CertificateKind::Copyright, &holder, None)),
        FailureCode::DepositMissing,
    );
    world.ok(world.by(&owner, deposit(1)));
    world.notary_refused(
        world.by(&stranger, certify(document(1), CertificateKind::Copyright, &stranger, None)),
        FailureCode::NotPermitted,
    );
    world.notary_refused(
        world.by(
            &owner,
            notary(NotaryOp::Certify {
                document: document(1),
                kind: CertificateKind::Copyright,
                holder: holder.account_id(),
                title: CertificateTitle::EMPTY,
                proof: None,
            }),
        ),
        FailureCode::InvalidNotary,
    );
    let nobody = signer(KeyScheme::Ed25519, 9_029);
    world.notary_refused(
        world.by(&owner, certify(document(1), CertificateKind::Copyright, &nobody, None)),
        FailureCode::AccountMissing,
    );

    world.timestamp_ms += 60_000;
    world.ok(world.by(&owner, certify(document(1), CertificateKind::Copyright, &holder, None)));
    let id = certificate_id(&document(1), CertificateKind::Copyright, &holder.account_id());
    let certificate = world.certificate(&id).expect("certified");
    assert_eq!(certificate.id(), id);
    assert_eq!(
        (certificate.document, certificate.kind, certificate.holder, certificate.issuer),
        (document(1), CertificateKind::Copyright, holder.account_id(), owner.account_id())
    );
    assert_eq!((certificate.height, certificate.timestamp_ms), (world.height, world.timestamp_ms));
    assert_eq!(certificate.title.as_str(), "Song #1");
    assert_eq!((certificate.batch_root, certificate.revoked), (None, None));
    world.notary_refused(
        world.by(&owner, certify(document(1), CertificateKind::Copyright, &holder, None)),
        FailureCode::CertificateExists,
    );
    // Another kind, or another holder, is another certificate.
    world.ok(world.by(&owner, certify(document(1), CertificateKind::Ownership, &holder, None)));
    world.ok(world.by(&owner, certify(document(1), CertificateKind::Copyright, &stranger, None)));
}

#[test]
fn revocations_are_by_the_issuer_or_owner_once_and_stay_on_record() {
    let owner = signer(KeyScheme::Ed25519, 9_031);
    let holder = signer(KeyScheme::Secp256k1, 9_032);
    let mut world = World::new(&[&owner, &holder], None, false);
    world.ok(world.by(&owner, deposit(1)));
    world.ok(world.by(&owner, certify(document(1), CertificateKind::Copyright, &holder, None)));
    let id = certificate_id(&document(1), CertificateKind::Copyright, &holder.account_id());
    let revoke = |text: &str| notary(NotaryOp::Revoke { certificate: id, reason: reason(text) });

    world.notary_refused(
        world.by(&owner, notary(NotaryOp::Revoke { certificate: document(5), reason: reason("gone") })),
        FailureCode::CertificateMissing,
    );
    world.notary_refused(world.by(&holder, revoke("not mine to revoke")), FailureCode::NotPermitted);
    world.notary_refused(world.by(&owner, revoke("")), FailureCode::InvalidNotary);
    world.timestamp_ms += 1_000;
    world.ok(world.by(&owner, revoke("licence ended")));
    let revoked = world.certificate(&id).expect("stays").revoked.expect("revoked");
    assert_eq!(revoked.reason.as_str(), "licence ended");
    assert_eq!((revoked.height, revoked.timestamp_ms), (world.height, world.timestamp_ms));
    world.notary_refused(world.by(&owner, revoke("again")), FailureCode::NotaryRevoked);
    // A revoked certificate is not issued afresh.
    world.notary_refused(
        world.by(&owner, certify(document(1), CertificateKind::Copyright, &holder, None)),
        FailureCode::CertificateExists,
    );

    // Deposits: only the owner revokes, once; a revoked deposit certifies nothing more.
    let revoke_deposit =
        |hash: Hash, text: &str| notary(NotaryOp::RevokeDeposit { document: hash, reason: reason(text) });
    world.notary_refused(world.by(&owner, revoke_deposit(document(2), "never made")), FailureCode::DepositMissing);
    world.notary_refused(world.by(&holder, revoke_deposit(document(1), "not mine")), FailureCode::NotPermitted);
    world.notary_refused(world.by(&owner, revoke_deposit(document(1), "")), FailureCode::InvalidNotary);
    world.ok(world.by(&owner, revoke_deposit(document(1), "superseded by v2")));
    let record = world.deposit_record(&document(1)).expect("stays");
    assert_eq!(record.revoked.expect("revoked").reason.as_str(), "superseded by v2");
    assert_eq!(record.revoked.expect("revoked").height, world.height);
    world.notary_refused(world.by(&owner, revoke_deposit(document(1), "again")), FailureCode::NotaryRevoked);
    world.notary_refused(
        world.by(&owner, certify(document(1), CertificateKind::Ownership, &holder, None)),
        FailureCode::NotaryRevoked,
    );
    // The hash stays taken: a revoked deposit is not deposited afresh.
    world.notary_refused(world.by(&holder, deposit(1)), FailureCode::DepositExists);

    // Revoking a batch root revokes every document of the batch.
    let (documents, leaves, root) = batch(50, 3);
    world.ok(world.by(&owner, notary(NotaryOp::DepositBatch { root, leaves: 3, metadata: document(0) })));
    world.ok(world.by(&owner, revoke_deposit(root, "batch withdrawn")));
    world.notary_refused(
        world.by(&owner, certify(documents[1], CertificateKind::Copyright, &holder, Some(proof(&leaves, root, 1)))),
        FailureCode::NotaryRevoked,
    );
}

#[test]
fn notary_operations_mix_in_one_block_as_they_would_one_by_one() {
    let owner = signer(KeyScheme::Ed25519, 9_041);
    let holder = signer(KeyScheme::Sm2, 9_042);
    let mut world = World::new(&[&owner, &holder], None, false);
    let (documents, leaves, root) = batch(10, 4);
    let id = certificate_id(&documents[2], CertificateKind::Copyright, &holder.account_id());
    // Deposit, certify through the batch, revoke: in one block, each sees the one before.
    let ops = [
        notary(NotaryOp::DepositBatch { root, leaves: 4, metadata: document(0) }),
        certify(documents[2], CertificateKind::Copyright, &holder, Some(proof(&leaves, root, 2))),
        notary(NotaryOp::Revoke { certificate: id, reason: reason("mistake") }),
    ];
    let mut transactions = Vec::new();
    for (offset, op) in ops.into_iter().enumerate() {
        let mut body = world.body(&owner, op);
        body.nonce = formica_types::Nonce(body.nonce.get() + offset as u64);
        transactions.push(formica_crypto::sign_transaction(body, &[&owner]));
    }
    let receipts = world.block(&transactions).expect("admissible");
    assert!(receipts.iter().all(|receipt| receipt.outcome == Outcome::Success), "{receipts:?}");
    let certificate = world.certificate(&id).expect("certified");
    assert_eq!(certificate.revoked.expect("revoked").height, world.height);
    assert_eq!(certificate.height, Height(world.height.get()));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Whatever the batch size and the document, execution accepts exactly the paths that
    /// `verify_merkle_path` accepts: the document's own path at its own index.
    #[test]
    fn execution_accepts_exactly_the_right_path(count in 1u64..40, pick in any::<u64>(), other in any::<u64>()) {
        let owner = signer(KeyScheme::Ed25519, 9_051);
        let holder = signer(KeyScheme::Ed25519, 9_052);
        let mut world = World::new(&[&owner, &holder], None, false);
        let (documents, leaves, root) = batch(1, count);
        world.ok(world.by(&owner, notary(NotaryOp::DepositBatch { root, leaves: count as u32, metadata: document(0) })));
        let index = (pick % count) as u32;
        let claimed = (other % count) as u32;
        let attempt = certify(documents[index as usize], CertificateKind::Copyright, &holder, Some(proof(&leaves, root, claimed)));
        if claimed == index {
            world.ok(world.by(&owner, attempt));
        } else {
            world.notary_refused(world.by(&owner, attempt), FailureCode::NotaryProofInvalid);
        }
    }
}
