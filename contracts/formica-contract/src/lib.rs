//! Write Formica smart contracts in ordinary Rust.
//!
//! A contract is a `no_std` crate of type `cdylib` built for `wasm32-unknown-unknown`. Its public
//! functions marked [`entry`] become entry points; an [`init`] function runs once at deployment
//! with the constructor arguments. Arguments and results are [`Codec`] values; a function that
//! returns `Err(e)` reverts the call with `e`'s `Display` text as the reason (all its writes,
//! transfers and events are undone, the gas is still charged).
//!
//! ```ignore
//! #![no_std]
//! use formica_contract::{Address, ContractError, Item, Map, entry, env, init};
//!
//! static SUPPLY: Item<u128> = Item::new(b"supply");
//! static BALANCES: Map<Address, u128> = Map::new(b"balances");
//!
//! #[derive(ContractError)]
//! pub enum Error { InsufficientBalance }
//!
//! #[init]
//! pub fn init(supply: u128) {
//!     SUPPLY.set(&supply);
//!     BALANCES.set(&env::caller(), &supply);
//! }
//!
//! #[entry]
//! pub fn transfer(to: Address, amount: u128) -> Result<(), Error> { /* ... */ Ok(()) }
//! ```
//!
//! - [`codec`]: the one byte encoding of arguments, results, storage values and events.
//! - [`storage`]: [`Item`] and [`Map`] over the contract's own storage (keys at most 128 bytes,
//!   values at most 4 KiB).
//! - [`env`]: caller, origin, block height and time, native value, calls into other contracts,
//!   hashes (SHA-256, SM3) and signature verification.
//! - Events: `#[derive(Codec, Event)]` on a struct; its name (at most 32 bytes, zero-padded) is the
//!   first topic and fields marked `#[topic]` the next ones, for subscribers to filter on.
//!
//! The crate also builds for the host, where only the codec, [`Address`] and the event traits are
//! available: tests and tools encode arguments and decode results and events with them.

#![no_std]

extern crate alloc;

pub mod codec;
#[cfg(target_arch = "wasm32")]
pub mod env;
#[cfg(all(target_arch = "wasm32", feature = "runtime", not(test)))]
mod runtime;
#[cfg(target_arch = "wasm32")]
pub mod storage;

pub use codec::{Codec, DecodeError, decode, encode};
pub use formica_contract_macros::{Codec, ContractError, Event, entry, init};
#[cfg(target_arch = "wasm32")]
pub use storage::{Item, Map};

use alloc::vec::Vec;

/// An account or contract address (32 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address(pub [u8; 32]);

impl Codec for Address {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        Ok(Address(<[u8; 32]>::decode_from(input)?))
    }
}

/// A typed event: its encoding is the event's data, [`Event::topics`] its topics.
pub trait Event: Codec {
    /// The event's name as its first topic.
    const NAME_TOPIC: [u8; 32];
    /// The name topic followed by the `#[topic]` fields.
    fn topics(&self) -> Vec<[u8; 32]>;
}

/// A value that can be an event topic (32 bytes).
pub trait Topic {
    fn topic(&self) -> [u8; 32];
}

impl Topic for Address {
    fn topic(&self) -> [u8; 32] {
        self.0
    }
}

impl Topic for [u8; 32] {
    fn topic(&self) -> [u8; 32] {
        *self
    }
}

macro_rules! integer_topic {
    ($($t:ty),*) => {$(
        impl Topic for $t {
            /// Little-endian, zero-padded.
            fn topic(&self) -> [u8; 32] {
                let mut topic = [0u8; 32];
                let bytes = self.to_le_bytes();
                topic[..bytes.len()].copy_from_slice(&bytes);
                topic
            }
        }
    )*};
}
integer_topic!(u8, u16, u32, u64, u128);

/// An event name as a topic: its bytes, zero-padded to 32. Names are at most 32 bytes.
pub const fn name_topic(name: &str) -> [u8; 32] {
    let bytes = name.as_bytes();
    assert!(bytes.len() <= 32, "an event name is at most 32 bytes");
    let mut topic = [0u8; 32];
    let mut i = 0;
    while i < bytes.len() {
        topic[i] = bytes[i];
        i += 1;
    }
    topic
}

#[doc(hidden)]
pub mod __private {
    use crate::codec::Codec;
    pub use alloc::vec::Vec;

    /// The arguments of an entry point, or a revert if they do not decode.
    #[cfg(target_arch = "wasm32")]
    pub fn arguments<T: Codec>(input: &[u8]) -> T {
        crate::codec::decode(input).unwrap_or_else(|_| crate::env::revert("arguments do not decode"))
    }

    /// What an entry point's result does: a value is returned encoded, an error reverts.
    pub trait Finish {
        fn finish(self);
    }

    /// Keeps `Codec` used on hosts, where the impls below do not exist.
    pub fn _codec<T: Codec>() {}

    #[cfg(target_arch = "wasm32")]
    impl<T: Codec> Finish for T {
        fn finish(self) {
            crate::env::set_return(&crate::codec::encode(&self));
        }
    }

    #[cfg(target_arch = "wasm32")]
    impl<T: Codec, E: core::fmt::Display> Finish for Result<T, E> {
        fn finish(self) {
            match self {
                Ok(value) => crate::env::set_return(&crate::codec::encode(&value)),
                Err(error) => crate::env::revert(&alloc::format!("{error}")),
            }
        }
    }
}
