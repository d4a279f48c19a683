//! Real-process tests of the `formica` binary on loopback.

mod bench;
mod network;
mod validators;
