//! Notary methods: a deposit by hash, the verification of a document (deposited on its own or as
//! a leaf of a deposited batch, with its path), and a certificate by id.

use crate::assets::record;
use crate::backend::Backend;
use crate::error::invalid_params;
use crate::types::codec;
use formica_types::{
    AccountId, BatchProof, Certificate, CertificateKind, Deposit, DepositKind, Hash, Height, Module, NOTARY_PATH_MAX,
    NotaryOp, Revocation, document_leaf, verify_merkle_path,
};
use jsonrpsee::types::ErrorObjectOwned;
use serde::{Deserialize, Serialize};

/// A revocation: when, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationView {
    pub height: Height,
    pub timestamp_ms: u64,
    pub reason: String,
}

impl From<Revocation> for RevocationView {
    fn from(revocation: Revocation) -> Self {
        Self {
            height: revocation.height,
            timestamp_ms: revocation.timestamp_ms,
            reason: revocation.reason.as_str().to_string(),
        }
    }
}

/// A deposit as of the latest finalized block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositView {
    /// The deposited hash: a document's, or a batch root.
    #[serde(with = "codec::hash")]
    pub hash: Hash,
    pub owner: AccountId,
    /// The height and timestamp of the block that included the deposit.
    pub deposited_at: Height,
    pub timestamp_ms: u64,
    #[serde(with = "codec::hash")]
    pub metadata: Hash,
    pub label: String,
    /// `single` or `batch`.
    pub kind: String,
    /// A batch's number of documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaves: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<RevocationView>,
    pub height: Height,
}

/// Where a document sits in a deposited batch, as the client gives it: the batch root, the
/// document's index, and its Merkle path (at most [`NOTARY_PATH_MAX`] hashes, leaf level first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchProofView {
    #[serde(with = "codec::hash")]
    pub root: Hash,
    pub index: u32,
    #[serde(with = "codec::hashes")]
    pub path: Vec<Hash>,
}

impl From<BatchProof> for BatchProofView {
    fn from(proof: BatchProof) -> Self {
        Self { root: proof.root, index: proof.index, path: proof.path }
    }
}

impl From<BatchProofView> for BatchProof {
    fn from(proof: BatchProofView) -> Self {
        Self { root: proof.root, index: proof.index, path: proof.path }
    }
}

/// What the chain says about a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentStatus {
    /// Deposited (on its own, or in the batch the proof names) and not revoked.
    Deposited,
    /// Deposited, but the deposit (or its batch) is revoked.
    Revoked,
    /// Neither the document nor the proof's root is deposited.
    NotDeposited,
    /// The proof's root is deposited, but the proof does not place the document in it (a
    /// changed document, a wrong index or path, or a root that is not a batch).
    ProofInvalid,
}

/// The answer to `formica_verifyDocument`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationView {
    #[serde(with = "codec::hash")]
    pub document: Hash,
    pub status: DocumentStatus,
    /// The deposit that proves the document (its own, or its batch's), when one was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deposit: Option<DepositView>,
    /// The batch root the document was proven under.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "codec::optional_hash")]
    pub batch_root: Option<Hash>,
    pub height: Height,
}

/// A certificate as of the latest finalized block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    #[serde(with = "codec::hash")]
    pub id: Hash,
    #[serde(with = "codec::hash")]
    pub document: Hash,
    pub kind: CertificateKind,
    pub holder: AccountId,
    pub issuer: AccountId,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "codec::optional_hash")]
    pub batch_root: Option<Hash>,
    pub issued_at: Height,
    pub timestamp_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<RevocationView>,
    pub height: Height,
}

/// A notary operation, tagged by `operation`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum NotaryOpView {
    Deposit {
        #[serde(with = "codec::hash")]
        document: Hash,
        #[serde(with = "codec::hash")]
        metadata: Hash,
        label: String,
    },
    DepositBatch {
        #[serde(with = "codec::hash")]
        root: Hash,
        leaves: u32,
        #[serde(with = "codec::hash")]
        metadata: Hash,
    },
    Certify {
        #[serde(with = "codec::hash")]
        document: Hash,
        kind: CertificateKind,
        holder: AccountId,
        title: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        proof: Option<BatchProofView>,
    },
    Revoke {
        #[serde(with = "codec::hash")]
        certificate: Hash,
        reason: String,
    },
    RevokeDeposit {
        #[serde(with = "codec::hash")]
        document: Hash,
        reason: String,
    },
}

impl From<NotaryOp> for NotaryOpView {
    fn from(op: NotaryOp) -> Self {
        match op {
            NotaryOp::Deposit { document, metadata, label } => {
                Self::Deposit { document, metadata, label: label.as_str().to_string() }
            }
            NotaryOp::DepositBatch { root, leaves, metadata } => Self::DepositBatch { root, leaves, metadata },
            NotaryOp::Certify { document, kind, holder, title, proof } => Self::Certify {
                document,
                kind,
                holder,
                title: title.as_str().to_string(),
                proof: proof.map(Into::into),
            },
            NotaryOp::Revoke { certificate, reason } => {
                Self::Revoke { certificate, reason: reason.as_str().to_string() }
            }
            NotaryOp::RevokeDeposit { document, reason } => {
                Self::RevokeDeposit { document, reason: reason.as_str().to_string() }
            }
        }
    }
}

pub(crate) fn parse_hash(text: &str, what: &str) -> Result<Hash, ErrorObjectOwned> {
    formica_types::hash_from_hex(text).map_err(|error| invalid_params(what, error))
}

fn deposit_view(hash: Hash, deposit: Deposit, height: Height) -> DepositView {
    let (kind, leaves) = match deposit.kind {
        DepositKind::Single => ("single", None),
        DepositKind::Batch { leaves } => ("batch", Some(leaves)),
    };
    DepositView {
        hash,
        owner: deposit.owner,
        deposited_at: deposit.height,
        timestamp_ms: deposit.timestamp_ms,
        metadata: deposit.metadata,
        label: deposit.label.as_str().to_string(),
        kind: kind.to_string(),
        leaves,
        revoked: deposit.revoked.map(Into::into),
        height,
    }
}

pub(crate) async fn get_deposit<B: Backend>(backend: &B, hash: Hash) -> Result<Option<DepositView>, ErrorObjectOwned> {
    let (deposit, height) = record::<B, Deposit>(backend, Module::Notary, Deposit::key(&hash)).await?;
    Ok(deposit.map(|deposit| deposit_view(hash, deposit, height)))
}

/// Checks a document against the chain: its own deposit, or (with `proof`) the batch's.
pub(crate) async fn verify_document<B: Backend>(
    backend: &B,
    document: Hash,
    proof: Option<BatchProofView>,
) -> Result<VerificationView, ErrorObjectOwned> {
    if let Some(proof) = &proof
        && proof.path.len() > NOTARY_PATH_MAX
    {
        return Err(invalid_params("proof", format!("a path holds at most {NOTARY_PATH_MAX} hashes")));
    }
    let deposited = proof.as_ref().map_or(document, |proof| proof.root);
    let (deposit, height) = record::<B, Deposit>(backend, Module::Notary, Deposit::key(&deposited)).await?;
    let Some(deposit) = deposit else {
        return Ok(VerificationView {
            document,
            status: DocumentStatus::NotDeposited,
            deposit: None,
            batch_root: None,
            height,
        });
    };
    let proven = match (&proof, deposit.kind) {
        (None, _) => true,
        (Some(proof), DepositKind::Batch { leaves }) => {
            verify_merkle_path(&document_leaf(&document), proof.index, leaves, &proof.path, &proof.root)
        }
        (Some(_), DepositKind::Single) => false,
    };
    let status = match (proven, deposit.revoked.is_some()) {
        (false, _) => DocumentStatus::ProofInvalid,
        (true, true) => DocumentStatus::Revoked,
        (true, false) => DocumentStatus::Deposited,
    };
    Ok(VerificationView {
        document,
        status,
        deposit: Some(deposit_view(deposited, deposit, height)),
        batch_root: proof.map(|proof| proof.root),
        height,
    })
}

pub(crate) async fn get_certificate<B: Backend>(
    backend: &B,
    id: Hash,
) -> Result<Option<CertificateView>, ErrorObjectOwned> {
    let (certificate, height) = record::<B, Certificate>(backend, Module::Notary, Certificate::key(&id)).await?;
    Ok(certificate.map(|certificate| CertificateView {
        id,
        document: certificate.document,
        kind: certificate.kind,
        holder: certificate.holder,
        issuer: certificate.issuer,
        title: certificate.title.as_str().to_string(),
        batch_root: certificate.batch_root,
        issued_at: certificate.height,
        timestamp_ms: certificate.timestamp_ms,
        revoked: certificate.revoked.map(Into::into),
        height,
    }))
}
