//! Real-process tests of the `formica` binary on loopback.

mod network;
mod validators;
