//! A product's history, verified: a batch or item, its custody events, and every batch it was
//! split from up to the origin, all proven in one final state.
//!
//! [`needed`] is the walk over traceability records (the item's [`Batch`], its events
//! `0..events`, then its parent's, up to the origin) given what has been read so far; the node
//! uses it to decide what to prove, and [`verify`] uses it to require that the bundle carries
//! exactly what the proven records say the history holds. A history with an event left out, a
//! batch's parent swapped, or any byte changed fails: the first two because the proven batch
//! names its event count and parent, the last because the bytes are proven against the state
//! root of a block that a quorum of validators finalized.

use crate::bundle::{BundleError, RecordBundle, verify_bundle};
use crate::finality::VerifierRng;
use crate::records::from_hex;
use commonware_codec::{DecodeExt, FixedSize};
use formica_types::traceability::{Batch, BatchId, BatchKind, SPLIT_DEPTH_MAX, TraceEvent, batch_key, event_key};
use formica_types::{AccountId, Hash, Height, Module, hash_to_hex};
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// One record the walk needs: its module key and encoded size.
pub type Needed = (Vec<u8>, usize);

/// Why a history did not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("the bundle does not carry the record of {what}")]
    Missing { what: String },
    #[error("the proven record of {what} does not decode: {reason}")]
    Undecodable { what: String, reason: String },
    #[error("the proven records do not form a history: {reason}")]
    Inconsistent { reason: String },
    #[error("the request is malformed: {reason}")]
    Request { reason: String },
}

/// The records the history of batch `id` of `owner` needs, given `read` (a record's encoded
/// bytes if it has been read): the batch, then its events, then its parent's, as far as what
/// has been read reveals. Complete once every record it names can be read.
pub fn needed(owner: &AccountId, id: &BatchId, read: impl Fn(&[u8]) -> Option<Vec<u8>>) -> Vec<Needed> {
    let mut needed = Vec::new();
    let mut current = *id;
    for _ in 0..=SPLIT_DEPTH_MAX {
        let key = batch_key(owner, &current);
        let batch = read(&key).and_then(|bytes| Batch::decode(bytes).ok());
        needed.push((key, Batch::SIZE));
        let Some(batch) = batch else { break };
        needed.extend((0..batch.events).map(|index| (event_key(owner, &current, index), TraceEvent::SIZE)));
        match batch.parent {
            Some(parent) => current = parent,
            None => break,
        }
    }
    needed
}

/// A verified batch or item and its events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedBatch {
    pub owner: AccountId,
    pub id: String,
    pub kind: BatchKind,
    pub parent: Option<String>,
    pub product: String,
    pub origin: String,
    pub attributes_hash: String,
    pub document_hash: String,
    pub created_height: Height,
    pub created_ms: u64,
    pub events: Vec<VerifiedEvent>,
}

/// A verified custody event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedEvent {
    pub index: u16,
    pub kind: String,
    pub actor: AccountId,
    pub timestamp_ms: u64,
    pub height: Height,
    pub location: String,
    pub evidence: String,
}

/// What a verified history shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceReport {
    /// The proven block.
    pub height: Height,
    pub block_hash: String,
    pub block_timestamp_ms: u64,
    pub epoch: u64,
    /// The size of the committee that finalized it.
    pub validators: usize,
    /// The epoch of the checkpoint the verification started from.
    pub anchor_epoch: u64,
    /// The events in the whole lineage.
    pub events: usize,
    /// Origin batch first, the asked batch or item last.
    pub lineage: Vec<VerifiedBatch>,
}

/// Verifies the history of batch `id` of `owner` in `bundle`, trusting only the checkpoint
/// digest `anchor`.
pub fn verify(
    bundle: &RecordBundle,
    anchor: &Hash,
    owner: &AccountId,
    id: &BatchId,
    rng: &mut VerifierRng,
) -> Result<TraceReport, TraceError> {
    let state = verify_bundle(
        bundle,
        anchor,
        |module, key| {
            if module != Module::Traceability {
                return None;
            }
            let prefix = |name: &[u8]| key.starts_with(name);
            if prefix(b"trace-batch") {
                Some(Batch::SIZE)
            } else if prefix(b"trace-event") {
                Some(TraceEvent::SIZE)
            } else {
                None
            }
        },
        rng,
    )?;
    let read = |key: &[u8]| state.record(Module::Traceability, key).map(<[u8]>::to_vec);
    let walk = needed(owner, id, read);
    let mut lineage = Vec::new();
    let mut current: Option<VerifiedBatch> = None;
    for (key, size) in &walk {
        let bytes = read(key).ok_or_else(|| TraceError::Missing { what: describe(key) })?;
        let undecodable = |reason: String| TraceError::Undecodable { what: describe(key), reason };
        if *size == Batch::SIZE && key.starts_with(b"trace-batch") {
            let batch = Batch::decode(bytes).map_err(|error| undecodable(error.to_string()))?;
            if let Some(child) = current.take() {
                check_parent(&child, &batch)?;
                lineage.push(child);
            } else if batch.owner != *owner || batch.id != *id {
                return Err(TraceError::Inconsistent { reason: "the proven batch is not the one asked for".into() });
            }
            current = Some(VerifiedBatch {
                owner: batch.owner,
                id: batch.id.as_str().to_string(),
                kind: batch.kind,
                parent: batch.parent.map(|parent| parent.as_str().to_string()),
                product: batch.product.as_str().to_string(),
                origin: batch.origin.as_str().to_string(),
                attributes_hash: hash_to_hex(&batch.attributes),
                document_hash: hash_to_hex(&batch.documents),
                created_height: batch.created_at,
                created_ms: batch.created_ms,
                events: Vec::new(),
            });
        } else {
            let event = TraceEvent::decode(bytes).map_err(|error| undecodable(error.to_string()))?;
            let batch = current.as_mut().expect("the walk names a batch before its events");
            let index = u16::try_from(batch.events.len()).expect("a batch has at most EVENTS_PER_BATCH_MAX events");
            batch.events.push(VerifiedEvent {
                index,
                kind: event.kind.name().to_string(),
                actor: event.actor,
                timestamp_ms: event.timestamp_ms,
                height: event.height,
                location: event.location.as_str().to_string(),
                evidence: hash_to_hex(&event.evidence),
            });
        }
    }
    let origin = current.ok_or_else(|| TraceError::Missing { what: format!("batch {}", id.as_str()) })?;
    if origin.parent.is_some() {
        return Err(TraceError::Inconsistent { reason: "the lineage is deeper than any split allows".into() });
    }
    lineage.push(origin);
    lineage.reverse();
    let header = &state.header;
    Ok(TraceReport {
        height: header.height,
        block_hash: hash_to_hex(&header.digest()),
        block_timestamp_ms: header.timestamp_ms,
        epoch: state.committee.epoch,
        validators: state.committee.validators.len(),
        anchor_epoch: bundle.checkpoint.epoch,
        events: lineage.iter().map(|batch| batch.events.len()).sum(),
        lineage,
    })
}

fn check_parent(child: &VerifiedBatch, parent: &Batch) -> Result<(), TraceError> {
    if child.parent.as_deref() != Some(parent.id.as_str()) || parent.owner != child.owner {
        return Err(TraceError::Inconsistent { reason: format!("{} names another parent", child.id) });
    }
    if parent.kind == BatchKind::Item {
        return Err(TraceError::Inconsistent { reason: format!("{} is an item, which is never split", parent.id) });
    }
    Ok(())
}

fn describe(key: &[u8]) -> String {
    if key.starts_with(b"trace-event") { "an event".into() } else { "a batch".into() }
}

/// What the page sends the wasm verifier.
#[derive(Deserialize)]
struct Request {
    anchor: String,
    seed: String,
    owner: String,
    id: String,
    bundle: RecordBundle,
}

/// The wasm entry point's work: a JSON request in, a report or the reason it failed out.
pub fn verify_request(input: &[u8]) -> Result<TraceReport, String> {
    let request: Request = serde_json::from_slice(input).map_err(|error| format!("malformed request: {error}"))?;
    let bad = |reason: String| TraceError::Request { reason }.to_string();
    let anchor: [u8; 32] = from_hex(&request.anchor, 32)
        .map_err(&bad)?
        .try_into()
        .map_err(|_| bad("the anchor is not 32 bytes".into()))?;
    let seed: [u8; 32] =
        from_hex(&request.seed, 32).map_err(&bad)?.try_into().map_err(|_| bad("the seed is not 32 bytes".into()))?;
    let owner = AccountId::from_hex(&request.owner).map_err(|error| bad(format!("owner: {error}")))?;
    let id = BatchId::new(&request.id).map_err(|error| bad(format!("batch id: {error}")))?;
    let mut rng = VerifierRng::from_seed(seed);
    verify(&request.bundle, &Hash::from(anchor), &owner, &id, &mut rng).map_err(|error| error.to_string())
}
