//! A self-contained proof of module records, checked from a trust anchor a verifier carries.
//!
//! A [`RecordBundle`] is everything a verifier without any other connection needs: a
//! [`Checkpoint`] (an epoch's committee, whose [`Checkpoint::digest`] the verifier already holds,
//! for example from the link printed on a product), the finality proofs of the epochs' last
//! blocks from the checkpoint's epoch to the proven block's (each names the next committee), the
//! proven block's own finality proof, and module records with a proof of every chunk against
//! that block's state root. [`verify_bundle`] checks all of it and returns the proven header and
//! records; nothing the server says is used unchecked.
//!
//! A bundle proves records present; it proves nothing about records it does not carry (the
//! state is unordered, so absence has no proof). Verifiers that walk from one record to others
//! (a product's history) derive the keys they need from proven records and fail if the bundle
//! lacks one.

use crate::finality::{Committee, FinalityChecker, FinalityError, FinalityProof, VerifierRng, epoch_of};
use crate::records::{ProvenValue, RecordError, from_hex, verify_module_record_bytes};
use formica_types::{ChainId, Hash, Header, Height, Module, PublicKey, hash_tagged};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most epoch boundaries a bundle may walk (about 1.5 KiB each).
pub const BOUNDARIES_MAX: usize = 1_024;
/// The most records one bundle carries.
pub const BUNDLE_RECORDS_MAX: usize = 2_048;
/// The longest module key accepted, in bytes.
pub const MODULE_KEY_BYTES_MAX: usize = 256;

/// A trust anchor: the committee of one epoch of one chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub chain_id: ChainId,
    pub epoch_blocks: u64,
    pub epoch: u64,
    /// `0x` hex ed25519 public keys, in committee order.
    pub validators: Vec<String>,
}

impl Checkpoint {
    /// Domain tag of checkpoint digests.
    pub const DIGEST_TAG: &'static [u8] = b"formica/checkpoint/v1";

    /// The checkpoint of `committee` on `chain_id`.
    pub fn new(chain_id: ChainId, epoch_blocks: u64, committee: &Committee) -> Self {
        Self {
            chain_id,
            epoch_blocks,
            epoch: committee.epoch,
            validators: committee.validators.iter().map(formica_types::public_key_to_hex).collect(),
        }
    }

    /// What a verifier pins: a digest of the chain, the epoch length, the epoch and its
    /// committee (keys as decoded, so spelling differences in hex do not matter).
    pub fn digest(&self) -> Result<Hash, BundleError> {
        let keys = self.keys()?;
        let mut parts: Vec<Vec<u8>> = vec![
            self.chain_id.0.to_be_bytes().to_vec(),
            self.epoch_blocks.to_be_bytes().to_vec(),
            self.epoch.to_be_bytes().to_vec(),
        ];
        parts.extend(keys.iter().map(|key| commonware_codec::Encode::encode(key).to_vec()));
        let slices: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        Ok(hash_tagged(Self::DIGEST_TAG, &slices))
    }

    fn keys(&self) -> Result<Vec<PublicKey>, BundleError> {
        if self.validators.is_empty() || self.validators.len() > usize::from(formica_types::VALIDATORS_MAX) {
            return Err(BundleError::Checkpoint { reason: format!("{} validators", self.validators.len()) });
        }
        self.validators
            .iter()
            .map(|text| {
                formica_types::public_key_from_hex(text)
                    .map_err(|error| BundleError::Checkpoint { reason: format!("validator {text:?}: {error}") })
            })
            .collect()
    }

    /// The chain of trust this checkpoint starts.
    pub fn checker(&self) -> Result<FinalityChecker, BundleError> {
        let committee = Committee { epoch: self.epoch, validators: self.keys()? };
        Ok(FinalityChecker::from_checkpoint(self.chain_id, self.epoch_blocks, committee)?)
    }
}

/// One module record with its chunks' proofs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenRecord {
    /// The module's name ([`Module::name`]).
    pub module: String,
    /// `0x` hex of the module's key bytes.
    pub key: String,
    pub chunks: Vec<ProvenValue>,
}

/// See the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordBundle {
    pub checkpoint: Checkpoint,
    /// Finality proofs of the last blocks of epochs `checkpoint.epoch` to `epoch(height) - 1`.
    pub boundaries: Vec<FinalityProof>,
    /// The block whose state the records are proven in.
    pub height: Height,
    pub finality: FinalityProof,
    pub records: Vec<ProvenRecord>,
}

/// Why a bundle was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("the checkpoint is malformed: {reason}")]
    Checkpoint { reason: String },
    #[error("the checkpoint is not the trusted one (it hashes to {actual}, the anchor is {anchor})")]
    UntrustedCheckpoint { anchor: String, actual: String },
    #[error("the bundle walks {got} epoch boundaries; {expected} are needed (at most {max})")]
    Boundaries { expected: u64, got: usize, max: usize },
    #[error(transparent)]
    Finality(#[from] FinalityError),
    #[error("the bundle carries {count} records; at most {max} are accepted")]
    TooManyRecords { count: usize, max: usize },
    #[error("record {index} is malformed: {reason}")]
    MalformedRecord { index: usize, reason: String },
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// What a checked bundle proves: the header of a final block, and records in its state.
#[derive(Clone, Debug)]
pub struct VerifiedState {
    pub header: Header,
    /// The committee whose quorum finalized the header.
    pub committee: Committee,
    records: BTreeMap<(Module, Vec<u8>), Vec<u8>>,
}

impl VerifiedState {
    /// The encoded `module` record under `key`, if the bundle proved it.
    pub fn record(&self, module: Module, key: &[u8]) -> Option<&[u8]> {
        self.records.get(&(module, key.to_vec())).map(Vec::as_slice)
    }
}

/// Checks `bundle` against the trusted checkpoint digest `anchor`. `record_size` names the
/// encoded size of each module's records under a key (`None`: a record the caller does not
/// expect, which fails the bundle).
pub fn verify_bundle(
    bundle: &RecordBundle,
    anchor: &Hash,
    record_size: impl Fn(Module, &[u8]) -> Option<usize>,
    rng: &mut VerifierRng,
) -> Result<VerifiedState, BundleError> {
    let actual = bundle.checkpoint.digest()?;
    if actual != *anchor {
        return Err(BundleError::UntrustedCheckpoint {
            anchor: formica_types::hash_to_hex(anchor),
            actual: formica_types::hash_to_hex(&actual),
        });
    }
    let mut checker = bundle.checkpoint.checker()?;
    let epoch = epoch_of(bundle.height, checker.epoch_blocks());
    let first = bundle.checkpoint.epoch;
    let expected = epoch.checked_sub(first).ok_or(FinalityError::BeforeAnchor { epoch, anchor: first })?;
    if bundle.boundaries.len() as u64 != expected || bundle.boundaries.len() > BOUNDARIES_MAX {
        return Err(BundleError::Boundaries { expected, got: bundle.boundaries.len(), max: BOUNDARIES_MAX });
    }
    for (known, proof) in (first..epoch).zip(&bundle.boundaries) {
        checker.learn_next_with(known, proof, rng)?;
    }
    let header = checker.check_with(bundle.height, &bundle.finality, rng)?;
    let committee = checker.committee(epoch).ok_or(FinalityError::UnknownCommittee { epoch })?;
    if bundle.records.len() > BUNDLE_RECORDS_MAX {
        return Err(BundleError::TooManyRecords { count: bundle.records.len(), max: BUNDLE_RECORDS_MAX });
    }
    let mut records = BTreeMap::new();
    for (index, record) in bundle.records.iter().enumerate() {
        let malformed = |reason: String| BundleError::MalformedRecord { index, reason };
        let module = Module::ALL
            .into_iter()
            .find(|module| module.name() == record.module)
            .ok_or_else(|| malformed(format!("no module is called {:?}", record.module)))?;
        let key = from_hex(&record.key, MODULE_KEY_BYTES_MAX).map_err(malformed)?;
        let size = record_size(module, &key).ok_or_else(|| malformed("not a record this verifier reads".into()))?;
        let bytes = verify_module_record_bytes(module, &key, size, &record.chunks, &header.state_root)?;
        records.insert((module, key), bytes);
    }
    Ok(VerifiedState { header, committee, records })
}
