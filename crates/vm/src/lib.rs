//! The WebAssembly virtual machine for Formica contracts.
//!
//! # What it owns
//! - A deterministic [`wasmtime`] engine: fuel metering is gas (one unit per wasm operator, bulk
//!   memory operations per byte, memory growth per page), NaNs are canonicalised, and threads,
//!   SIMD, relaxed SIMD, multiple or 64-bit memories, GC, exceptions and stack switching are off.
//! - The host interface ([`host`]): contract-scoped storage with bounded prefix iteration, the
//!   call context, events, native value transfers, calls into other contracts, SHA-256, SM3 and
//!   signature verification. Every host call is paid for before its work and every value it takes
//!   or returns is bounded by a [`Limits`] field.
//! - A journal of writes: a frame that fails is rolled back (its storage writes, transfers and
//!   events vanish) and keeps its gas charge. Only a whole successful call returns [`Changes`].
//! - A bounded LRU cache of compiled modules by code hash.
//!
//! # What it does not own
//! Blocks, transactions, fees and permissions. The chain reaches the VM through [`Vm::call`],
//! [`Vm::deploy`] and [`Vm::upgrade`] and gives it a read-only [`Backend`]; it applies the returned
//! [`Changes`] itself. [`MemoryState`] is such a backend in memory, and [`testing::TestChain`]
//! runs contracts against it without a network.
//!
//! # Invariants
//! - Determinism: the same backend, context, call and limits give the same [`Outcome`] (gas used,
//!   result, changes) on every machine. No clock, no randomness, no hash-map order (`BTreeMap`
//!   everywhere); error messages carry no host addresses or backtraces; a stack overflow, whose
//!   depth depends on the machine, charges all the frame's gas.
//! - Reentrancy is refused: a contract already on the call stack cannot be called again until it
//!   returns. Contract call depth is at most [`Limits::call_depth_max`], and each frame's native
//!   stack at most [`Limits::wasm_stack_bytes_max`], so a call tree needs at most their product of
//!   stack (1 MiB by default) on the executing thread.
//! - Compilation cost is paid at deployment, per byte: a cache miss costs time but never gas, so
//!   nodes with different caches charge the same.

mod backend;
mod cache;
mod error;
pub mod host;
mod journal;
mod limits;
pub mod testing;
mod vm;

pub use backend::{Backend, Changes, CodeHash, Context, ContractInfo, Entry, Event, MemoryState, index_walk_nodes};
pub use error::{BackendError, Result, VmError};
pub use limits::{GasSchedule, Limits};
pub use vm::{CONSTRUCTOR, Call, Deploy, Outcome, Vm, code_hash};
