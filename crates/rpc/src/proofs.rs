//! Self-contained record proofs for verifiers that trust only a checkpoint
//! (`formica_verify::RecordBundle`): a walk over module records is proven in one finalized
//! state, with the finality proofs that link the verifier's checkpoint to that state.

use crate::backend::{Backend, BackendError, Finality, PROVEN_KEYS_MAX};
use crate::types::FinalityView;
use formica_types::state::{StateValue, module_record_bytes, module_record_keys};
use formica_types::traceability::batch_key;
use formica_types::{AccountId, BatchId, Height, Module};
use formica_verify::{
    Checkpoint, Committee, FinalityProof, ProvenRecord, ProvenValue, RecordBundle, epoch_last, epoch_of,
};
use jsonrpsee::types::ErrorObjectOwned;
use std::collections::BTreeMap;

/// A record a walk needs: module, key bytes, encoded size.
pub(crate) type Needed = (Module, Vec<u8>, usize);

/// The encoded records read in one proven state, by module and key (`None`: the state holds no
/// such record).
pub(crate) type Found = BTreeMap<(Module, Vec<u8>), Option<Vec<u8>>>;

/// The most rounds of proving a walk may take (each round proves what the last one revealed).
const ROUNDS_MAX: usize = 32;

fn unavailable(reason: String) -> ErrorObjectOwned {
    BackendError::Unavailable { reason }.into()
}

fn to_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Proves the records `walk` needs in one finalized state. `walk` is given what is proven so
/// far and answers every record it needs (it is called until what it needs is all proven in
/// one state: the state moves on between rounds, so each round proves the whole set again).
pub(crate) async fn bundle<B: Backend>(
    backend: &B,
    anchor_epoch: u64,
    walk: impl Fn(&Found) -> Result<Vec<Needed>, ErrorObjectOwned>,
) -> Result<RecordBundle, ErrorObjectOwned> {
    let mut found = Found::new();
    for _ in 0..ROUNDS_MAX {
        let needed = walk(&found)?;
        let keys: Vec<_> =
            needed.iter().flat_map(|(module, key, size)| module_record_keys(*module, key, *size)).collect();
        if keys.len() > PROVEN_KEYS_MAX {
            return Err(unavailable(format!(
                "the walk needs {} proofs; at most {PROVEN_KEYS_MAX} are served",
                keys.len()
            )));
        }
        let proven = backend.prove_values(keys).await?;
        let mut chunks = proven.values.into_iter();
        let mut next = Found::new();
        let mut records = Vec::with_capacity(needed.len());
        for (module, key, size) in &needed {
            let count = module_record_keys(*module, key, *size).len();
            let values: Vec<Option<(StateValue, Vec<u8>)>> = chunks.by_ref().take(count).collect();
            let present: Vec<Option<&StateValue>> = values.iter().map(|value| value.as_ref().map(|(v, _)| v)).collect();
            let bytes = module_record_bytes(&present, *size).map_err(|reason| BackendError::Storage { reason })?;
            if bytes.is_some() {
                let chunks = values
                    .iter()
                    .flatten()
                    .map(|(value, proof)| ProvenValue {
                        value: to_hex(&commonware_codec::Encode::encode(value)),
                        proof: to_hex(proof),
                    })
                    .collect();
                records.push(ProvenRecord { module: module.name().into(), key: to_hex(key), chunks });
            }
            next.insert((*module, key.clone()), bytes);
        }
        // Done when this state answers everything the walk asks of it.
        if walk(&next)?.iter().all(|(module, key, _)| next.contains_key(&(*module, key.clone()))) {
            return finish(backend, anchor_epoch, proven.height, records).await;
        }
        found = next;
    }
    Err(unavailable("the records changed on every attempt to prove them; retry".into()))
}

async fn finality<B: Backend>(backend: &B, height: Height) -> Result<(FinalityProof, Finality), ErrorObjectOwned> {
    let finality = backend
        .finality(height)
        .await?
        .ok_or_else(|| unavailable(format!("no finality proof of height {height} yet; retry")))?;
    let view = FinalityView::new(&finality).ok_or_else(|| BackendError::Storage {
        reason: format!("the finality proof of height {height} is malformed"),
    })?;
    Ok((FinalityProof { block_hash: view.block_hash, headers: view.headers, certificate: view.certificate }, finality))
}

async fn finish<B: Backend>(
    backend: &B,
    anchor_epoch: u64,
    height: Height,
    records: Vec<ProvenRecord>,
) -> Result<RecordBundle, ErrorObjectOwned> {
    let status = backend.status().await?;
    let epoch_blocks = backend.epoch_blocks().await?;
    let epoch = epoch_of(height, epoch_blocks);
    if anchor_epoch > epoch {
        return Err(unavailable(format!("the anchor's epoch {anchor_epoch} is after the proven block's {epoch}")));
    }
    if epoch - anchor_epoch > formica_verify::bundle::BOUNDARIES_MAX as u64 {
        return Err(unavailable(format!(
            "the anchor's epoch {anchor_epoch} is more than {} epochs old; use a newer link",
            formica_verify::bundle::BOUNDARIES_MAX
        )));
    }
    let (proof, own) = finality(backend, height).await?;
    let mut boundaries = Vec::new();
    let mut anchor_committee = (epoch == anchor_epoch).then(|| own.validators.clone());
    for boundary_epoch in anchor_epoch..epoch {
        let boundary = epoch_last(boundary_epoch, epoch_blocks).expect("an epoch before the proven block's ends");
        let (boundary_proof, finality) = finality(backend, boundary).await?;
        if boundary_epoch == anchor_epoch {
            anchor_committee = Some(finality.validators.clone());
        }
        boundaries.push(boundary_proof);
    }
    let validators = anchor_committee.expect("set for the anchor epoch, the first walked or the proven one");
    let checkpoint = Checkpoint::new(status.chain_id, epoch_blocks, &Committee { epoch: anchor_epoch, validators });
    Ok(RecordBundle { checkpoint, boundaries, height, finality: proof, records })
}

/// The proven history of batch `id` of `owner` ([`formica_verify::trace`]).
pub(crate) async fn trace_bundle<B: Backend>(
    backend: &B,
    owner: AccountId,
    id: BatchId,
    anchor_epoch: u64,
) -> Result<RecordBundle, ErrorObjectOwned> {
    bundle(backend, anchor_epoch, |found| {
        if let Some(None) = found.get(&(Module::Traceability, batch_key(&owner, &id))) {
            return Err(crate::error::invalid_params("id", format!("{owner} has no batch or item {id}")));
        }
        let read = |key: &[u8]| found.get(&(Module::Traceability, key.to_vec())).cloned().flatten();
        Ok(formica_verify::trace::needed(&owner, &id, read)
            .into_iter()
            .map(|(key, size)| (Module::Traceability, key, size))
            .collect())
    })
    .await
}
