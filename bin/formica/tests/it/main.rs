//! Real-process tests of the `formica` binary on loopback.

mod bench;
mod contracts;
mod crash;
mod damage;
mod devnet;
mod fsync;
mod network;
mod validators;
mod verify_page;
