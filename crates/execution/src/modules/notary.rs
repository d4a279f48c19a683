//! The notary module: evidence of documents, timestamped by the chain, and certificates built on
//! it (see [`formica_types::NotaryOp`]).
//!
//! # Rules
//! - Anyone deposits a document by its hash, with the hash of its metadata and a label of at
//!   most 32 bytes; the sender becomes the owner, and the record keeps the block's height and
//!   timestamp. The first deposit of a hash wins: depositing it again, by anyone, fails with
//!   `DepositExists`. A deposit is one small transaction (about 70 to 100 bytes of payload) and
//!   pays the chain's flat fee, nothing more.
//! - A batch deposit stands for 1 to 2^20 documents: the sender deposits the root of the binary
//!   Merkle tree ([`formica_types::merkle_root`]) over their leaves
//!   ([`formica_types::document_leaf`]) with the leaf count, for one fee. The root is deposited
//!   like a document (first deposit wins); each document proves its place with its path.
//! - The owner of a deposited document certifies copyright or ownership to an existing holder,
//!   with a title of 1 to 64 bytes. A document deposited on its own is named by its hash; a
//!   document of a batch also names the batch root, its index and its path (at most 20 hashes),
//!   which execution verifies (`NotaryProofInvalid` otherwise). A batch root cannot be certified
//!   as a document (`InvalidNotary`). Certifying for someone else's deposit fails with
//!   `NotPermitted`, an undeposited document with `DepositMissing`, a revoked deposit with
//!   `NotaryRevoked`. One certificate per document, kind and holder (`CertificateExists`).
//! - Only the issuer revokes a certificate, and only the owner a deposit, each once
//!   (`NotaryRevoked` the second time), with a reason of 1 to 64 bytes. Revoked records stay and
//!   show the reason, height and time; revoking a batch root revokes every document of the batch.
//!
//! Every failure changes nothing but the fee and nonce.

use super::{Scratch, record_keys, run};
use crate::transition::{Halt, StateOverlay, fail};
use formica_state::StateKey;
use formica_types::{
    AccountId, BatchProof, Certificate, CertificateKind, ContractEvent, Deposit, DepositKind, DepositLabel,
    FailureCode, Hash, Height, Module, NOTARY_BATCH_LEAVES_MAX, NOTARY_PATH_MAX, NotaryOp, Revocation,
    RevocationReason, certificate_id, document_leaf, verify_merkle_path,
};

const MODULE: Module = Module::Notary;

/// The records a notary operation names.
pub(crate) fn reads(op: &NotaryOp) -> Vec<StateKey> {
    match op {
        NotaryOp::Deposit { document, .. } => record_keys::<Deposit>(MODULE, &Deposit::key(document)),
        NotaryOp::DepositBatch { root, .. } => record_keys::<Deposit>(MODULE, &Deposit::key(root)),
        NotaryOp::Certify { document, kind, holder, proof, .. } => {
            let deposited = proof.as_ref().map_or(document, |proof| &proof.root);
            let mut reads = record_keys::<Deposit>(MODULE, &Deposit::key(deposited));
            let id = certificate_id(document, *kind, holder);
            reads.extend(record_keys::<Certificate>(MODULE, &Certificate::key(&id)));
            reads.push(StateKey::Account(*holder));
            reads
        }
        NotaryOp::Revoke { certificate, .. } => record_keys::<Certificate>(MODULE, &Certificate::key(certificate)),
        NotaryOp::RevokeDeposit { document, .. } => record_keys::<Deposit>(MODULE, &Deposit::key(document)),
    }
}

/// The execution context of one operation: the block and the sender.
struct Context<'a> {
    height: Height,
    timestamp_ms: u64,
    sender: &'a AccountId,
}

/// Applies a notary operation in a block at `height` with timestamp `timestamp_ms`.
pub(crate) fn apply(
    height: Height,
    timestamp_ms: u64,
    overlay: &mut StateOverlay,
    sender: &AccountId,
    op: &NotaryOp,
) -> Result<Vec<ContractEvent>, Halt> {
    let context = Context { height, timestamp_ms, sender };
    run(overlay, |s| match op {
        NotaryOp::Deposit { document, metadata, label } => {
            let deposit = Deposit {
                owner: *sender,
                height,
                timestamp_ms,
                metadata: *metadata,
                label: *label,
                kind: DepositKind::Single,
                revoked: None,
            };
            deposit_new(s, document, &deposit, "notary.deposited", Vec::new())
        }
        NotaryOp::DepositBatch { root, leaves, metadata } => {
            if *leaves == 0 || *leaves > NOTARY_BATCH_LEAVES_MAX {
                return fail(
                    FailureCode::InvalidNotary,
                    format!("a batch holds 1 to {NOTARY_BATCH_LEAVES_MAX} documents, not {leaves}"),
                );
            }
            let deposit = Deposit {
                owner: *sender,
                height,
                timestamp_ms,
                metadata: *metadata,
                label: DepositLabel::EMPTY,
                kind: DepositKind::Batch { leaves: *leaves },
                revoked: None,
            };
            deposit_new(s, root, &deposit, "notary.batch_deposited", leaves.to_be_bytes().to_vec())
        }
        NotaryOp::Certify { document, kind, holder, title, proof } => {
            if title.is_empty() {
                return fail(FailureCode::InvalidNotary, "a certificate needs a title");
            }
            let batch_root = owned_document(s, sender, document, proof.as_ref())?;
            if s.account(holder)?.is_none() {
                return fail(FailureCode::AccountMissing, format!("the holder {holder} does not exist"));
            }
            certify(s, &context, document, *kind, holder, title, batch_root)
        }
        NotaryOp::Revoke { certificate, reason } => {
            require_reason(reason)?;
            let key = Certificate::key(certificate);
            let Some(mut record) = s.record::<Certificate>(MODULE, &key)? else {
                return fail(FailureCode::CertificateMissing, format!("no certificate has the id {certificate}"));
            };
            if record.issuer != *sender {
                return fail(FailureCode::NotPermitted, format!("only the issuer, {}, revokes it", record.issuer));
            }
            if record.revoked.is_some() {
                return fail(FailureCode::NotaryRevoked, format!("certificate {certificate} is revoked already"));
            }
            record.revoked = Some(context.revocation(reason));
            s.put_record(MODULE, &key, Some(&record));
            s.emit(MODULE, "notary.revoked", &[certificate.0, record.document.0], reason.as_str().as_bytes().to_vec());
            Ok(())
        }
        NotaryOp::RevokeDeposit { document, reason } => {
            require_reason(reason)?;
            let key = Deposit::key(document);
            let Some(mut deposit) = s.record::<Deposit>(MODULE, &key)? else {
                return fail(FailureCode::DepositMissing, format!("{document} is not deposited"));
            };
            if deposit.owner != *sender {
                return fail(FailureCode::NotPermitted, format!("only the owner, {}, revokes it", deposit.owner));
            }
            if deposit.revoked.is_some() {
                return fail(FailureCode::NotaryRevoked, format!("the deposit of {document} is revoked already"));
            }
            deposit.revoked = Some(context.revocation(reason));
            s.put_record(MODULE, &key, Some(&deposit));
            s.emit(MODULE, "notary.deposit_revoked", &[document.0, sender.0], reason.as_str().as_bytes().to_vec());
            Ok(())
        }
    })
}

impl Context<'_> {
    fn revocation(&self, reason: &RevocationReason) -> Revocation {
        Revocation { height: self.height, timestamp_ms: self.timestamp_ms, reason: *reason }
    }
}

fn require_reason(reason: &RevocationReason) -> Result<(), Halt> {
    if reason.is_empty() { fail(FailureCode::InvalidNotary, "a revocation needs a reason") } else { Ok(()) }
}

/// Records the first deposit of `hash`.
fn deposit_new(s: &mut Scratch<'_>, hash: &Hash, deposit: &Deposit, event: &str, data: Vec<u8>) -> Result<(), Halt> {
    let key = Deposit::key(hash);
    if let Some(earlier) = s.record::<Deposit>(MODULE, &key)? {
        return fail(
            FailureCode::DepositExists,
            format!("{hash} was deposited by {} at height {}", earlier.owner, earlier.height),
        );
    }
    s.put_record(MODULE, &key, Some(deposit));
    s.emit(MODULE, event, &[hash.0, deposit.owner.0], data);
    Ok(())
}

/// Checks that `sender` owns the unrevoked deposit of `document`, directly or through a batch
/// `proof`; returns the batch root of a batch leaf.
fn owned_document(
    s: &Scratch<'_>,
    sender: &AccountId,
    document: &Hash,
    proof: Option<&BatchProof>,
) -> Result<Option<Hash>, Halt> {
    let deposited = proof.map_or(document, |proof| &proof.root);
    let Some(deposit) = s.record::<Deposit>(MODULE, &Deposit::key(deposited))? else {
        return fail(FailureCode::DepositMissing, format!("{deposited} is not deposited"));
    };
    match (proof, deposit.kind) {
        (None, DepositKind::Single) => {}
        (None, DepositKind::Batch { .. }) => {
            return fail(FailureCode::InvalidNotary, format!("{document} is a batch root: certify its documents"));
        }
        (Some(proof), DepositKind::Batch { leaves }) => {
            // The decoder bounds the path already; a path longer than the tree is refused too.
            let proven = proof.path.len() <= NOTARY_PATH_MAX
                && verify_merkle_path(&document_leaf(document), proof.index, leaves, &proof.path, &proof.root);
            if !proven {
                return fail(
                    FailureCode::NotaryProofInvalid,
                    format!("the path does not place {document} at index {} of batch {}", proof.index, proof.root),
                );
            }
        }
        (Some(proof), DepositKind::Single) => {
            return fail(FailureCode::NotaryProofInvalid, format!("{} is not a batch root", proof.root));
        }
    }
    if deposit.owner != *sender {
        return fail(FailureCode::NotPermitted, format!("{deposited} was deposited by {}", deposit.owner));
    }
    if let Some(revocation) = deposit.revoked {
        return fail(
            FailureCode::NotaryRevoked,
            format!("the deposit of {deposited} was revoked at height {}", revocation.height),
        );
    }
    Ok(proof.map(|proof| proof.root))
}

fn certify(
    s: &mut Scratch<'_>,
    context: &Context<'_>,
    document: &Hash,
    kind: CertificateKind,
    holder: &AccountId,
    title: &formica_types::CertificateTitle,
    batch_root: Option<Hash>,
) -> Result<(), Halt> {
    let id = certificate_id(document, kind, holder);
    let key = Certificate::key(&id);
    if s.record::<Certificate>(MODULE, &key)?.is_some() {
        return fail(FailureCode::CertificateExists, format!("{holder} holds the {kind} certificate {id} already"));
    }
    let certificate = Certificate {
        document: *document,
        kind,
        holder: *holder,
        issuer: *context.sender,
        title: *title,
        batch_root,
        height: context.height,
        timestamp_ms: context.timestamp_ms,
        revoked: None,
    };
    s.put_record(MODULE, &key, Some(&certificate));
    s.emit(MODULE, "notary.certified", &[id.0, document.0, holder.0], vec![kind.tag()]);
    Ok(())
}
