//! Checking Formica's answers without trusting the node that serves them.
//!
//! A node's answers are only as good as the node; what a client can check on its own is that
//! a block was finalized by a quorum of its epoch's validators ([`finality`]), and that the
//! state after that block held a given record ([`records`]); on top of those, a self-contained
//! bundle of records proven from a checkpoint ([`bundle`]) and a product's traceability history
//! ([`trace`]). This crate does exactly that and
//! nothing else: no I/O, no clock, no database. It is what the Rust client (`formica-client`),
//! the CLI's `formica verify`, and the browser verification page use, the last compiled to
//! `wasm32-unknown-unknown`.
//!
//! # Trust
//! A verifier starts from a trust anchor it obtains out of band (the genesis file, or a
//! checkpoint committee) and follows validator-set changes epoch by epoch
//! ([`finality::FinalityChecker`]). Everything else it is shown is checked against that.

pub mod bundle;
pub mod finality;
pub mod records;
pub mod trace;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use bundle::{Checkpoint, ProvenRecord, RecordBundle, VerifiedState, verify_bundle};
pub use finality::{
    Committee, FINALITY_HEADERS_MAX, FinalityChecker, FinalityError, FinalityProof, ProvesFinality, VerifierRng,
    check_finality, epoch_last, epoch_of,
};
pub use records::{ProvenValue, RecordError, verify_module_record, verify_module_record_bytes, verify_value};

/// Serde for a [`formica_types::Hash`] as `0x` hex.
pub(crate) mod hex_hash {
    use formica_types::Hash;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hash: &Hash, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&formica_types::hash_to_hex(hash))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Hash, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = crate::records::from_hex(&text, 32).map_err(D::Error::custom)?;
        let array: [u8; 32] = bytes.try_into().map_err(|_| D::Error::custom("a hash is 32 bytes"))?;
        Ok(Hash::from(array))
    }
}
