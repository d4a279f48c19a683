//! Formica's state transition function.
//!
//! # What it owns
//! - [`transition`]: the pure rules. A transaction is *admissible* in a block at height `h`
//!   when its chain id matches, it has not expired, its sender exists and is not frozen, its
//!   nonce is the sender's next, its signers carry the weight the sender's key set requires (or
//!   are the recovery key alone, for a recovery action), and the sender can pay the fee
//!   ([`check_admissible`]). An admissible transaction always pays the fee (to the fee
//!   collector) and advances the nonce; its payload then succeeds or fails atomically, and the
//!   receipt says which ([`formica_types::Outcome`]). Payloads: account creation, transfers, key
//!   management (add, remove, re-weight, threshold; never leaving an account that cannot sign),
//!   recovery (set, start, cancel, complete after a delay) and freezing by regulators; the
//!   rules are stated in `docs/identity.md`.
//! - [`block`]: running a block on a speculative QMDB batch: read every record the block touches
//!   in two batched reads ([`first_reads`]: named by the transactions; [`second_reads`]: the
//!   senders' extra key slots and recovery records), apply transactions in memory
//!   ([`StateOverlay`]), write the changed records back in key order, and compute the new roots.
//!
//! # Invariants
//! - Determinism: inputs are the parent state, the block and the chain parameters; no clock, no
//!   randomness, no hash-map order (records live in `BTreeMap`s).
//! - Every account can sign: its keys' total weight is at least its threshold, its key slots are
//!   dense, and its recovery records exist exactly when its flags say so (property-tested).
//! - Conservation: fees and transfers move value; nothing creates or destroys it after genesis.
//!   The sum of all balances equals the genesis supply (property-tested).
//! - A block containing an inadmissible transaction is invalid as a whole
//!   ([`ExecutionError::Rejected`]); a proposer leaves such transactions out ([`build_block`]).
//! - The genesis accounts are created by the first block after genesis, before its transactions.

pub mod block;
pub mod transition;

pub use block::{Batch, Built, ExecutionError, Merkleized, build_block, execute_block};
pub use transition::{
    ChainParameters, Rejection, StateOverlay, apply_genesis, apply_transaction, check_admissible, check_sender,
    first_reads, second_reads,
};

#[cfg(test)]
mod tests;
