//! The authenticated state database (QMDB `current`, unordered, fixed-size values).
//!
//! Values are fixed-size because commonware-glue's state-sync resolver serves only operations
//! whose codec needs no configuration; an account fits in [`StateValue::SIZE`] bytes.

use crate::layout::{StateKey, StateValue};
use commonware_codec::Encode;
use commonware_cryptography::Sha256;
use commonware_glue::stateful::db::Shared;
use commonware_parallel::Sequential;
use commonware_runtime::buffer::paged::CacheRef;
use commonware_storage::{
    journal::contiguous::fixed::Config as FixedJournalConfig, merkle::full::Config as MerkleConfig, mmr, qmdb::current,
    translator::EightCap,
};
use commonware_utils::{NZU64, NZUsize};
use formica_types::{Account, AccountId, Hash};
use std::num::{NonZeroU16, NonZeroUsize};

/// Bytes per chunk of the activity bitmap (one SHA-256 digest: the smallest proofs); the
/// proof format's, so it is defined with the verifier.
pub use formica_verify::records::BITMAP_CHUNK_BYTES;

/// The state database on runtime context `E`.
pub type StateDb<E> =
    current::unordered::fixed::Db<mmr::Family, E, Hash, StateValue, Sha256, EightCap, BITMAP_CHUNK_BYTES, Sequential>;

/// The database set `commonware-glue`'s stateful actor manages for Formica: one state database.
pub type StateDatabases<E> = Shared<StateDb<E>>;

/// The state database's configuration.
pub type StateConfig = current::FixedConfig<EightCap, Sequential>;

/// A proof that a state key (an account, a module record's chunk, ...) currently has a given
/// value, against a block's state root.
pub type AccountProof = formica_verify::records::ValueProof;

const IO_BUFFER_BYTES: NonZeroUsize = NZUsize!(1 << 20);

/// Bytes per page of the page cache a validator's stores share.
pub const PAGE_BYTES: u16 = 4_096;

/// The page cache a validator's stores share, of `mib` MiB (saturating: a config can ask for too
/// much, never for an overflow). Allocated here, whole.
pub fn page_cache(mib: NonZeroUsize) -> CacheRef {
    let pages = mib.saturating_mul(NZUsize!((1 << 20) / PAGE_BYTES as usize));
    CacheRef::new(NonZeroU16::new(PAGE_BYTES).expect("positive"), pages)
}

/// Builds the state database configuration; every partition name starts with `prefix`.
pub fn state_config(prefix: &str, page_cache: CacheRef) -> StateConfig {
    current::FixedConfig {
        merkle_config: MerkleConfig {
            journal_partition: format!("{prefix}-state-merkle-journal"),
            metadata_partition: format!("{prefix}-state-merkle-metadata"),
            items_per_blob: NZU64!(1 << 16),
            write_buffer: IO_BUFFER_BYTES,
            replay_buffer: IO_BUFFER_BYTES,
            strategy: Sequential,
            page_cache: page_cache.clone(),
        },
        journal_config: FixedJournalConfig {
            partition: format!("{prefix}-state-log"),
            items_per_blob: NZU64!(1 << 16),
            page_cache,
            write_buffer: IO_BUFFER_BYTES,
            replay_buffer: IO_BUFFER_BYTES,
        },
        grafted_metadata_partition: format!("{prefix}-state-grafted-metadata"),
        translator: EightCap,
        init_cache: Some(NZUsize!(1 << 16)),
        init_buffer: NZUsize!(1 << 21),
        init_concurrency: (),
    }
}

/// Verifies that `account` is the current value of account `id` in the state with `state_root`.
///
/// This is what a client runs on a `formica_getAccountProof` answer, after checking that
/// `state_root` belongs to a finalized header.
pub fn verify_account_proof(id: &AccountId, account: &Account, proof_bytes: &[u8], state_root: &Hash) -> bool {
    formica_verify::verify_value(
        &StateKey::Account(*id),
        &StateValue::Account(account.clone()),
        proof_bytes,
        state_root,
    )
}

/// Encodes a proof for transport.
pub fn encode_account_proof(proof: &AccountProof) -> Vec<u8> {
    proof.encode().to_vec()
}
