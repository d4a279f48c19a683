//! Formica's authenticated world state and its secondary indexes.
//!
//! # What it owns
//! - The state database ([`StateDb`]): a commonware QMDB `current` database keyed by 32-byte
//!   hashes ([`account_key`]) with tagged values ([`StateValue`]). Contracts' code and storage
//!   values are longer than a value, so they are stored in chunks of [`CHUNK_BYTES`]. Its canonical root is the
//!   `state_root` in every block header, and [`verify_account_proof`] checks that an account has
//!   a given value against such a root: a client needs nothing else to trust an answer.
//! - The secondary indexes ([`Indexes`], on `fjall`): finalized blocks by height and hash,
//!   transactions by hash, receipts by position, and the finalization certificates of finalized
//!   blocks (opaque bytes, at most [`FINALIZATION_BYTES_MAX`]) by height. Nothing is pruned.
//!
//! # What survives a restart
//! The state database is persisted by `commonware-glue`'s stateful actor when a block is
//! finalized, never before: speculative state for blocks being voted on lives in memory only.
//! The indexes are written and synced once per finalized block before consensus is told the block
//! is processed, so everything acknowledged is on disk.
//!
//! # Invariants
//! - A key's value is written only by executing a finalized block (or replaying one).
//! - Keys of different record kinds are tagged hashes and cannot collide.

mod db;
mod index;

use formica_types::state as layout;

pub use db::{
    AccountProof, BITMAP_CHUNK_BYTES, StateConfig, StateDatabases, StateDb, encode_account_proof, page_cache,
    state_config, verify_account_proof,
};
pub use index::{FINALIZATION_BYTES_MAX, IndexError, Indexes, TransactionLocation};
pub use layout::{
    CHUNK_BYTES, StateKey, StateValue, account_key, module_record_bytes, module_record_chunks, module_record_keys,
};

#[cfg(test)]
mod tests;
