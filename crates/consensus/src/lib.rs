//! Consensus for Formica: commonware `simplex` orders block digests, `marshal` carries and
//! backfills blocks, and `commonware-glue`'s stateful actor executes them on speculative QMDB
//! batches.
//!
//! This crate is the glue from those libraries to Formica's blocks ([`FormicaApplication`]) and
//! the wiring of the actors ([`engine`]). Consensus sees blocks as digests plus this application
//! interface; it never reaches into storage or execution internals.
//!
//! # Invariants
//! - Finality is the only commit: a block's state is written to disk only when it is finalized;
//!   blocks being voted on execute on in-memory batches.
//! - A validator votes for a block only if it extends its parent (height, digest, strictly
//!   increasing timestamp no more than [`TIMESTAMP_DRIFT_MAX`] ahead of the local clock), its
//!   transaction root matches, every signature is valid, every transaction is admissible, and
//!   re-executing it reproduces the receipts root, the state root and the state sync target.
//!   Signatures of transactions its own pool admitted byte for byte were checked then and are
//!   not checked again ([`TransactionSource::admitted`]).
//! - A proposer skips what the blocks between its pool's finalized height and its parent
//!   already carry (at most [`application::PENDING_ANCESTORS_MAX`] of them), so a full pool does
//!   not hand it the parent's transactions again. It takes as many candidates as it can build
//!   in [`application::BUILD_BUDGET`] at its recent pace, so a loaded machine makes smaller
//!   blocks instead of blocks that outgrow the consensus timeouts.
//! - Every node replays the same finalized blocks in the same order, so every node holds the
//!   same state root at every height.
//! - The observer gets each finalized block with the finalization certificate marshal holds for
//!   it ([`FinalizedObserver`]), so a node can keep certificates as long as it keeps blocks and
//!   light clients can check finality without trusting it.
//! - The committee of epoch `e + 1` is the validator list the last block of epoch `e` states,
//!   which every validator checked against its own execution before voting; [`epochs`] moves the
//!   engine, the p2p peer sets and the certificate verifier to it together.
//! - Evidence of conflicting votes that simplex verifies is counted
//!   (`…_byzantine_evidence_total`) and logged with the signer; honest validators, crashed or not,
//!   never produce any. Blocks the application refuses (header, signature, execution or root
//!   checks) are counted (`…_blocks_refused_total`) and logged with the reason.
//!
//! [`failpoints`] names the points of the commit path where crash tests stop a validator; they
//! are inert unless a process arms them at startup.

pub mod application;
pub mod engine;
pub mod epochs;
pub mod failpoints;

pub use application::{
    CertificateSource, EMPTY_BLOCK_WAIT, FaultInjection, FinalizationCertificate, FinalizedObserver,
    FormicaApplication, SigningScheme, TIMESTAMP_DRIFT_MAX, TransactionSource, genesis_block,
};
