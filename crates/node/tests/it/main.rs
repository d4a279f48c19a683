//! Multi-validator tests of the node on commonware's deterministic runtime and simulated network.

mod epochs;
mod simulation;
