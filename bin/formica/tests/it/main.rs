//! Real-process tests of the `formica` binary on loopback.

mod bench;
mod contracts;
mod network;
mod validators;
