//! The built-in modules: business flows run natively, without the VM.
//!
//! A module keeps its records in the authenticated state under
//! `StateKey::ModuleRecord(module, hash(key), chunk)`: each kind of record has a fixed encoded
//! size, so the chunks it takes are known without reading it, and a transaction's first reads
//! can name every chunk of every record it touches.
//!
//! A module operation runs against a `Scratch`: reads go through to the block's overlay, writes
//! and events are buffered, and only a successful operation's writes reach the overlay. So an
//! operation either applies in full or leaves no trace (its fee aside), and can be written as
//! straight-line code that checks as it goes.
//!
//! Modules emit events like contracts do ([`ContractEvent`], in the receipt), named by the
//! module's address ([`Module::address`]); topic 0 is the event's name, zero-padded to 32 bytes.

pub mod assets;
pub mod charity;
pub mod finance;
pub mod invoices;
pub mod notary;
pub mod remittance;
pub mod traceability;

use crate::transition::{Halt, StateOverlay, Unread};
use commonware_codec::{DecodeExt, Encode, FixedSize, Read, Write};
use formica_state::{StateKey, StateValue, module_record_bytes, module_record_chunks, module_record_keys};
use formica_types::{Account, AccountId, ContractEvent, Module, Role};
use std::collections::{BTreeMap, BTreeSet};

/// A record a module keeps in the state: a fixed encoded size.
pub trait ModuleRecord: Write + Read<Cfg = ()> + FixedSize {}

impl<T: Write + Read<Cfg = ()> + FixedSize> ModuleRecord for T {}

/// The state keys of a module record (for first reads and for RPC lookups).
pub fn record_keys<R: ModuleRecord>(module: Module, key: &[u8]) -> Vec<StateKey> {
    module_record_keys(module, key, R::SIZE)
}

/// Decodes a module record from its chunks as read (`None` in `chunks`: the chunk is absent).
/// Panics on inconsistent chunks: the state is written only by this module, so that is
/// corruption, which execution must not paper over.
pub fn decode_record<R: ModuleRecord>(chunks: &[Option<&StateValue>]) -> Option<R> {
    let bytes = module_record_bytes(chunks, R::SIZE).unwrap_or_else(|error| panic!("{error}"))?;
    Some(R::decode(bytes).unwrap_or_else(|error| panic!("a module record does not decode: {error}")))
}

/// A short text as an event topic (an event's name as topic 0, a symbol or an invoice number):
/// its bytes, zero-padded to 32.
pub fn event_topic(text: &str) -> [u8; 32] {
    assert!(text.len() <= 32, "topic texts are at most 32 bytes");
    let mut topic = [0u8; 32];
    topic[..text.len()].copy_from_slice(text.as_bytes());
    topic
}

/// One module operation's view of the state: reads see the operation's own writes first, then
/// the block's overlay; writes and events stay here until `run` applies them.
pub(crate) struct Scratch<'a> {
    overlay: &'a StateOverlay,
    writes: BTreeMap<StateKey, Option<StateValue>>,
    events: Vec<ContractEvent>,
}

impl<'a> Scratch<'a> {
    pub(crate) fn new(overlay: &'a StateOverlay) -> Self {
        Self { overlay, writes: BTreeMap::new(), events: Vec::new() }
    }

    fn value(&self, key: &StateKey) -> Result<Option<&StateValue>, Unread> {
        match self.writes.get(key) {
            Some(value) => Ok(value.as_ref()),
            None => self.overlay.value(key),
        }
    }

    /// The module record under `key`, as changed so far.
    pub(crate) fn record<R: ModuleRecord>(&self, module: Module, key: &[u8]) -> Result<Option<R>, Unread> {
        let keys = record_keys::<R>(module, key);
        let mut missing = BTreeSet::new();
        let mut chunks: Vec<Option<&StateValue>> = Vec::with_capacity(keys.len());
        for key in &keys {
            match self.value(key) {
                Ok(chunk) => chunks.push(chunk),
                Err(Unread(unread)) => missing.extend(unread),
            }
        }
        if !missing.is_empty() {
            return Err(Unread(missing));
        }
        Ok(decode_record(&chunks))
    }

    /// Requires every one of `keys` to have been read: reports all that were not at once, so an
    /// operation whose records are found through a record it read costs one more read round,
    /// not one per record.
    pub(crate) fn prefetch(&self, keys: impl IntoIterator<Item = StateKey>) -> Result<(), Unread> {
        let mut missing = BTreeSet::new();
        for key in keys {
            if let Err(Unread(unread)) = self.value(&key) {
                missing.extend(unread);
            }
        }
        if missing.is_empty() { Ok(()) } else { Err(Unread(missing)) }
    }

    /// Writes (`Some`) or deletes (`None`) the module record under `key`.
    pub(crate) fn put_record<R: ModuleRecord>(&mut self, module: Module, key: &[u8], record: Option<&R>) {
        let keys = record_keys::<R>(module, key);
        match record {
            Some(record) => {
                for (key, chunk) in keys.into_iter().zip(module_record_chunks(&record.encode())) {
                    self.writes.insert(key, Some(chunk));
                }
            }
            None => {
                for key in keys {
                    self.writes.insert(key, None);
                }
            }
        }
    }

    /// The account, as changed so far.
    pub(crate) fn account(&self, id: &AccountId) -> Result<Option<Account>, Unread> {
        Ok(match self.value(&StateKey::Account(*id))? {
            Some(StateValue::Account(account)) => Some(account.clone()),
            Some(other) => panic!("account record of {id} holds {other:?}"),
            None => None,
        })
    }

    /// Writes the account record.
    pub(crate) fn set_account(&mut self, id: AccountId, account: Account) {
        self.writes.insert(StateKey::Account(id), Some(StateValue::Account(account)));
    }

    /// Whether `id` holds `role`.
    pub(crate) fn has_role(&self, id: &AccountId, role: Role) -> Result<bool, Unread> {
        Ok(matches!(self.value(&StateKey::Role(*id, role))?, Some(StateValue::Role(_))))
    }

    /// Records an event of `module`: topic 0 is `name`, then `topics`.
    pub(crate) fn emit(&mut self, module: Module, name: &str, topics: &[[u8; 32]], data: Vec<u8>) {
        let topics = std::iter::once(event_topic(name)).chain(topics.iter().copied()).collect();
        self.events.push(ContractEvent { contract: module.address(), topics, data });
    }
}

/// Runs one module operation against the overlay: on `Ok` its writes are applied and its events
/// returned; on [`Halt`] (a failure, or records that were not read) nothing was written.
pub(crate) fn run(
    overlay: &mut StateOverlay,
    operation: impl FnOnce(&mut Scratch<'_>) -> Result<(), Halt>,
) -> Result<Vec<ContractEvent>, Halt> {
    let (writes, events) = {
        let mut scratch = Scratch::new(overlay);
        operation(&mut scratch)?;
        (scratch.writes, scratch.events)
    };
    for (key, value) in writes {
        overlay.set(key, value);
    }
    Ok(events)
}
