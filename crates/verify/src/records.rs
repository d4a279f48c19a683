//! Checking that the state held a record, against a block's state root.
//!
//! The state is a QMDB `current` database: its root commits to every key's current value, and a
//! key-value proof shows that one key held one value at that root. [`verify_value`] checks such
//! a proof for any state key. A module record is stored in chunks
//! ([`formica_types::state::module_record_keys`]), so [`verify_module_record`] checks every
//! chunk's proof and decodes the record from the proven bytes.
//!
//! The state is unordered, so absence cannot be proven: a record shown as absent is just not
//! shown, and a verifier that needs a record treats a missing proof as a failure.

use commonware_codec::{Decode, DecodeExt, FixedSize, Read};
use commonware_cryptography::Sha256;
use commonware_storage::{
    mmr,
    qmdb::{
        any::{unordered::Operation, unordered::Update as UnorderedUpdate, value::FixedEncoding},
        current::unordered::proof::constant::KeyValueProof,
    },
};
use formica_types::state::{StateKey, StateValue, module_record_bytes, module_record_keys};
use formica_types::{Hash, Module};
use serde::{Deserialize, Serialize};

/// Bytes per chunk of the state database's activity bitmap (one SHA-256 digest: the smallest
/// proofs). Part of the proof format: the database and its verifiers must agree on it.
pub const BITMAP_CHUNK_BYTES: usize = 32;

/// A proof that a state key holds a value, against a block's state root.
pub type ValueProof = KeyValueProof<mmr::Family, Hash, BITMAP_CHUNK_BYTES>;

/// The most digests a value proof may carry (a Merkle path over 2^64 operations needs ~130).
pub const PROOF_DIGESTS_MAX: usize = 256;

/// The longest encoded proof accepted, in bytes (digests plus a little framing).
pub const PROOF_BYTES_MAX: usize = (PROOF_DIGESTS_MAX + 8) * 32 + 64;

/// The most chunks a proven module record may have (4 KiB of record).
pub const RECORD_CHUNKS_MAX: usize = 64;

/// Checks that `key` holds `value` in the state whose root is `state_root`.
pub fn verify_value(key: &StateKey, value: &StateValue, proof_bytes: &[u8], state_root: &Hash) -> bool {
    if proof_bytes.len() > PROOF_BYTES_MAX {
        return false;
    }
    let Ok(proof) = ValueProof::decode_cfg(proof_bytes.to_vec(), &PROOF_DIGESTS_MAX) else {
        return false;
    };
    let operation =
        Operation::<mmr::Family, Hash, FixedEncoding<StateValue>>::Update(UnorderedUpdate(key.hash(), value.clone()));
    proof.verify::<Sha256, _>(operation, state_root)
}

/// One proven state value, as served (`0x` hex).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvenValue {
    /// The encoded [`StateValue`].
    pub value: String,
    /// The encoded [`ValueProof`].
    pub proof: String,
}

/// Why a proven record was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("the {module} record has {got} proven chunks; it is stored in {expected}")]
    ChunkCount { module: Module, expected: usize, got: usize },
    #[error("chunk {index} of the {module} record is malformed: {reason}")]
    Malformed { module: Module, index: usize, reason: String },
    #[error("chunk {index} of the {module} record does not verify against the state root")]
    Unproven { module: Module, index: usize },
    #[error("the proven {module} record does not decode: {reason}")]
    Undecodable { module: Module, reason: String },
}

/// Checks that the `module` record of type `R` under `key` (the module's key bytes) is held in
/// the state with `state_root`, chunk by chunk, and returns it decoded.
pub fn verify_module_record<R>(
    module: Module,
    key: &[u8],
    chunks: &[ProvenValue],
    state_root: &Hash,
) -> Result<R, RecordError>
where
    R: Read<Cfg = ()> + FixedSize,
{
    let bytes = verify_module_record_bytes(module, key, R::SIZE, chunks, state_root)?;
    R::decode(bytes).map_err(|error| RecordError::Undecodable { module, reason: error.to_string() })
}

/// [`verify_module_record`] for a record of `size` encoded bytes: its proven bytes.
pub fn verify_module_record_bytes(
    module: Module,
    key: &[u8],
    size: usize,
    chunks: &[ProvenValue],
    state_root: &Hash,
) -> Result<Vec<u8>, RecordError> {
    let keys = module_record_keys(module, key, size);
    if chunks.len() != keys.len() || chunks.len() > RECORD_CHUNKS_MAX {
        return Err(RecordError::ChunkCount { module, expected: keys.len(), got: chunks.len() });
    }
    let mut values = Vec::with_capacity(keys.len());
    for (index, (key, chunk)) in keys.iter().zip(chunks).enumerate() {
        let malformed = |reason: String| RecordError::Malformed { module, index, reason };
        let value_bytes = from_hex(&chunk.value, StateValue::SIZE).map_err(malformed)?;
        let value = StateValue::decode(value_bytes).map_err(|error| malformed(error.to_string()))?;
        let proof = from_hex(&chunk.proof, PROOF_BYTES_MAX).map_err(malformed)?;
        if !verify_value(key, &value, &proof, state_root) {
            return Err(RecordError::Unproven { module, index });
        }
        values.push(value);
    }
    let present: Vec<Option<&StateValue>> = values.iter().map(Some).collect();
    module_record_bytes(&present, size)
        .map_err(|reason| RecordError::Undecodable { module, reason })?
        .ok_or_else(|| RecordError::Undecodable { module, reason: "no chunk".into() })
}

/// Decodes `0x` hex of at most `max` bytes (checked before decoding).
pub(crate) fn from_hex(text: &str, max: usize) -> Result<Vec<u8>, String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    if digits.len() > 2 * max {
        return Err(format!("longer than {max} bytes"));
    }
    hex::decode(digits).map_err(|error| format!("hex: {error}"))
}
