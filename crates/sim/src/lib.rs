//! Deterministic whole-network simulation of Formica, and the invariant checker every fault
//! test applies.
//!
//! # What it runs
//! 4 to 7 validators on commonware's deterministic runtime and simulated network. Honest
//! validators are the real node ([`formica_node::validator::start`]): mempool, execution, QMDB
//! state in the runtime's storage, fjall indexes in a real temporary directory, and the
//! simplex + marshal + glue engine. Byzantine validators ([`Byzantine`]) are commonware's
//! simplex mocks, twins, or an invalid proposer: a conflicter that signs two different votes in
//! every view, a nuller that answers every notarize vote with a nullify and a finalize, an
//! equivocator that, when it leads, proposes two different (made-up, never valid) payloads to
//! different validators; twins: two copies of the real node running one validator key, each
//! with its own storage, each reaching only its side of a split of the network the plan redraws
//! every few seconds ([`TwinSide`]), so the key proposes two valid blocks when it leads and
//! signs conflicting votes that validators on both sides see (a twin is one Byzantine
//! validator); and the invalid proposer: the real node proposing well-formed blocks with a
//! wrong state root, which every honest node must refuse ([`SeedReport::blocks_refused`]). The
//! mocks speak in epoch 0 only; twins and the invalid proposer follow the chain into every
//! epoch.
//!
//! # What one seed does ([`run_seed`])
//! The seed draws a [`Plan`]: the number of validators, which are Byzantine (at most f) and
//! how, the twins' splits, and a schedule of faults: lossy, slow and jittery links; partitions
//! (two halves, one node cut off, a ring) that come and go; crashes and restarts of honest
//! validators (Byzantine plus crashed never exceed f); whole outages, some of them power losses.
//! A client submits transfers and account creations to random running
//! validators, re-sends what is not final after a few seconds, and records what a node told it
//! was final. Then every fault heals, the network runs healthy for a while, and the checker
//! ([`checker::check`]) compares every node's records.
//!
//! # The promises the checker holds a run to
//! No fork, nothing lost, exactly once, conservation of value, no double-signing by honest
//! validators, and liveness while 2f+1 are up and connected (see [`checker`] and
//! `docs/reliability.md`). The checker is a pure function over records so tests of real
//! processes can use it too (`crates/faults` does). A twin's double signing is expected; each
//! of its copies, running honest code, must still agree with the honest nodes on every block it
//! finalized. Each seed also reads the honest nodes' `byzantine_evidence` counters
//! ([`SeedReport::evidence_counted`]), the alarm operators watch, and counts what each
//! Byzantine validator's equivocation came to ([`SeedReport::equivocations`]): conflicting
//! votes seen leaving it, seen reaching honest nodes (a tap on their inbound vote channel), and
//! of those, two proposals of a view it led.
//!
//! # Determinism
//! Everything a seed does comes from the seed: the runtime's scheduler and clock, the plan (with
//! the twins' splits), the client. A seed run twice gives the same [`SeedReport::trace_digest`]
//! and the same runtime audit ([`SeedReport::auditor`]). The fjall indexes (a twin copy's too)
//! live on the real filesystem; they are written synchronously by the task that finalizes, so
//! they add no nondeterminism.
//!
//! # What a crash is here
//! A crash aborts every task of the validator at once (a killed process). Its runtime storage
//! keeps what was written, synced or not, as a killed process's page cache would. A whole
//! outage ([`plan::Event::CrashAll`]) is, in two seeds of three, a power loss ([`PowerLoss`]):
//! the seed's runtime stops there, its storage drops or tears every write not yet synced, and
//! a second runtime resumes from what is durable (see [`run_seed`]).

pub mod checker;
pub mod cluster;
pub mod plan;
pub mod run;
mod wire;
pub mod workload;

pub use checker::{Records, Violation, check};
pub use cluster::{Byzantine, Cluster};
pub use plan::{Plan, PowerLoss, Profile, TwinSide};
pub use run::{Equivocations, LIVENESS, Options, SeedReport, run_seed};
