//! The Formica node: the composition root.
//!
//! It reads the config file and keys, builds the chain from the genesis file ([`Chain`]), and
//! wires every component of a validator ([`validator::start`]): the mempool, the fjall indexes,
//! the consensus engine (simplex + marshal + the stateful executor) and transaction gossip. The
//! composition is generic over the commonware runtime and p2p layer: production uses tokio and
//! authenticated TCP ([`run()`](fn@run)), the simulation tests use the deterministic runtime and the
//! simulated network, and both run this same code.
//!
//! A node whose key is not in the current committee runs the same code as an observer: it
//! follows and verifies every block and serves RPC; it votes from the first epoch whose
//! committee (the registry in state, see `formica-consensus::epochs`) lists its key.
//!
//! # What survives a restart
//! Everything consensus needs (the simplex journal, marshal's archives of finalized blocks and
//! certificates, the state database) lives in the runtime's storage directory; the indexes in
//! their own directory. A restarted node replays from its last durable block and catches up from
//! peers. The mempool does not survive. The crash tests stop a validator at each fail point of
//! the commit path (`formica_consensus::failpoints`, armed only through `FORMICA_FAILPOINTS`;
//! the vote channel passes [`failpoint_sender::FailpointSender`]) and check this.

pub mod backend;
pub mod chain;
pub mod config;
pub mod failpoint_sender;
pub mod run;
pub mod validator;

pub use chain::Chain;
pub use config::NodeConfig;
pub use run::{RunError, read_genesis, run};
pub use validator::{ChainHead, Head, StateReader, Validator, ValidatorConfig};
