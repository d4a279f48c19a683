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
//!   recovery (set, start, cancel, complete after a delay), freezing by regulators, and
//!   governance by member organisations (proposals, approvals, and the actions they apply); the
//!   rules are stated in `docs/identity.md` and `docs/governance.md`.
//! - [`block`]: running a block on a speculative QMDB batch: read every record the block touches
//!   in two batched reads ([`first_reads`]: named by the transactions; [`second_reads`]: the
//!   senders' extra key slots and recovery records), apply transactions in memory
//!   ([`StateOverlay`]), write the changed records back in key order, and compute the new roots.
//!   A transaction that needs records it was not given ([`Unread`]: governance records that
//!   depend on other records, records a contract reads) is undone, the records are read, and the
//!   block resumes at that transaction ([`TransactionRun`], [`run_with_reads`]): no transaction
//!   runs again because another one lacked records.
//! - [`contracts`]: deploy, call, upgrade and freeze payloads run through `formica-vm` against a
//!   backend over the overlay, with one process-wide VM and compiled-module cache
//!   ([`contracts::vm`]); contract code and storage chunked into fixed-size records. A contract
//!   payload holds `fee + gas_limit * price` up front and pays `fee + gas_used * price`, success
//!   or not; a failed payload writes nothing else. A block's contract transactions ask for at most
//!   the governance-set block gas, and its encoding fits `ChainParameters::block_bytes_max`
//!   (`block::build_block` leaves out what does not fit). Each contract's storage keys are also
//!   kept in an ordered index in the state (a trie of fixed-size node records, `key_index`), so
//!   `storage_next` walks them in byte order on chain and in RPC queries. A contract's admin is
//!   an account, an organisation, nobody, or governance (`contracts_admin`: upgrade and freeze
//!   only by approved proposal). A native `Transfer` to a contract credits its balance unless it
//!   is frozen.
//!
//! - [`modules`]: the built-in business modules run natively (no gas, the flat fee): asset
//!   tokens ([`modules::assets`]), digital invoices ([`modules::invoices`]), supply-chain
//!   finance receivables ([`modules::finance`]), product traceability
//!   ([`modules::traceability`]), charity campaigns ([`modules::charity`]) and notarised
//!   documents and certificates ([`modules::notary`]). Their records are
//!   fixed-size encodings chunked under `StateKey::ModuleRecord`, named up front by the
//!   transaction so the first batched read finds them; an operation runs on a scratch view and
//!   writes all or nothing. Rules: `docs/modules.md`.
//!
//! # Invariants
//! - Determinism: inputs are the parent state, the block and the chain parameters; no clock, no
//!   randomness, no hash-map order (records live in `BTreeMap`s).
//! - Every account can sign: its keys' total weight is at least its threshold, its key slots are
//!   dense, and its recovery records exist exactly when its flags say so (property-tested).
//! - Conservation: fees and transfers move value; nothing creates or destroys it after genesis.
//!   The sum of all balances (accounts' and contracts') equals the genesis supply
//!   (property-tested, and checked after every block of the contract tests).
//! - A contract's key index lists exactly its stored keys; a node exists exactly when a stored key
//!   lies under it (checked after every block of the contract tests).
//! - A block containing an inadmissible transaction is invalid as a whole
//!   ([`ExecutionError::Rejected`]); a proposer leaves such transactions out ([`build_block`]).
//! - The genesis accounts are created by the first block after genesis, before its transactions.
//! - The last block of each epoch ([`is_epoch_last`]) states the node registry after it
//!   ([`EpochFacts::next_nodes`]): the next epoch's committee is its validators. Governance
//!   changes the registry ([`nodes`]) at any height; consensus only reads it at epoch boundaries.
//! - Voted consensus timeouts take effect at an epoch's last block, which copies them to the
//!   epoch's timeouts; every header states the epoch's timeouts ([`EpochFacts::epoch_timeouts`]).
//! - A block carries at most the governance record's `block_transactions`
//!   ([`ExecutionError::TooManyTransactions`]), itself at most the genesis cap.

pub mod block;
pub mod contracts;
mod contracts_admin;
mod governance;
mod key_index;
pub mod modules;
pub mod transition;

pub use block::{
    Admission, Batch, Built, EpochFacts, Executed, ExecutionError, Merkleized, Records, RunOutcome, TransactionRun,
    build_block, execute_block, execute_transactions, is_epoch_last, run_with_reads,
};
pub use governance::nodes;
pub use transition::{
    ChainParameters, Checkpoint, Rejection, StateOverlay, Unread, apply_genesis, apply_transaction, check_admissible,
    check_sender, fee_max, first_reads, second_reads,
};

#[cfg(test)]
mod tests;
