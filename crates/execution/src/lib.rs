//! Formica's state transition function.
//!
//! # What it owns
//! - [`transition`]: the pure rules. A transaction is *admissible* in a block at height `h`
//!   when its chain id matches, it has not expired, its sender exists, its nonce is the sender's
//!   next, its signer set is the sender's key, and the sender can pay the fee
//!   ([`check_admissible`]). An admissible transaction always pays the fee (to the fee
//!   collector) and advances the nonce; its payload then succeeds or fails atomically, and the
//!   receipt says which ([`formica_types::Outcome`]).
//! - [`block`]: running a block on a speculative QMDB batch: read every account the block touches
//!   in one batched read, apply transactions in memory, write the changed accounts back in id
//!   order, and compute the new roots.
//!
//! # Invariants
//! - Determinism: inputs are the parent state, the block and the chain parameters; no clock, no
//!   randomness, no hash-map order (accounts live in `BTreeMap`s).
//! - Conservation: fees and transfers move value; nothing creates or destroys it after genesis.
//!   The sum of all balances equals the genesis supply (property-tested).
//! - A block containing an inadmissible transaction is invalid as a whole
//!   ([`ExecutionError::Rejected`]); a proposer leaves such transactions out ([`build_block`]).
//! - The genesis accounts are created by the first block after genesis, before its transactions.

pub mod block;
pub mod transition;

pub use block::{Batch, Built, ExecutionError, Merkleized, build_block, execute_block};
pub use transition::{
    AccountOverlay, ChainParameters, Rejection, apply_genesis, apply_transaction, check_admissible, touched_accounts,
};

#[cfg(test)]
mod tests;
