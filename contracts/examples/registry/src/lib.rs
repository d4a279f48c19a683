//! A registry of records with access control: an admin names writers; writers put and remove
//! records; anyone reads. Each record keeps its SM3 digest, its author and version, and can carry
//! attestations: signatures over the digest, checked on chain.

#![no_std]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use formica_contract::{Address, Codec, ContractError, Event, Item, Map, entry, env, init};

/// Longest record key and value.
pub const KEY_BYTES_MAX: usize = 64;
pub const VALUE_BYTES_MAX: usize = 2048;
/// Most keys one `list` call returns.
pub const LIST_MAX: u32 = 50;

static ADMIN: Item<Address> = Item::new(b"admin");
static WRITERS: Map<Address, bool> = Map::new(b"writer");
static RECORDS: Map<String, Record> = Map::new(b"record");

#[derive(Clone, Codec)]
pub struct Record {
    pub value: Vec<u8>,
    /// SM3 of `value`.
    pub digest: [u8; 32],
    pub author: Address,
    pub version: u32,
    pub updated_height: u64,
    /// Keys (scheme, bytes) that signed the digest.
    pub attestations: Vec<(u8, Vec<u8>)>,
}

#[derive(Codec, Event)]
pub struct RecordSet {
    #[topic]
    pub author: Address,
    pub key: String,
    pub version: u32,
    pub digest: [u8; 32],
}

#[derive(Codec, Event)]
pub struct RecordRemoved {
    pub key: String,
}

#[derive(Codec, Event)]
pub struct WriterChanged {
    #[topic]
    pub writer: Address,
    pub allowed: bool,
}

#[derive(ContractError)]
pub enum RegistryError {
    NotAdmin,
    NotWriter,
    KeyTooLong,
    ValueTooLong,
    RecordMissing,
    InvalidSignature,
    UnknownScheme,
}

#[init]
pub fn init() {
    ADMIN.set(&env::caller());
}

fn only_admin() -> Result<(), RegistryError> {
    if Some(env::caller()) != ADMIN.get() {
        return Err(RegistryError::NotAdmin);
    }
    Ok(())
}

#[entry]
pub fn admin() -> Option<Address> {
    ADMIN.get()
}

#[entry]
pub fn set_admin(admin: Address) -> Result<(), RegistryError> {
    only_admin()?;
    ADMIN.set(&admin);
    Ok(())
}

#[entry]
pub fn set_writer(writer: Address, allowed: bool) -> Result<(), RegistryError> {
    only_admin()?;
    if allowed {
        WRITERS.set(&writer, &true);
    } else {
        WRITERS.remove(&writer);
    }
    env::emit(&WriterChanged { writer, allowed });
    Ok(())
}

#[entry]
pub fn is_writer(account: Address) -> bool {
    WRITERS.contains(&account)
}

#[entry]
pub fn put(key: String, value: Vec<u8>) -> Result<u32, RegistryError> {
    let author = env::caller();
    if !WRITERS.contains(&author) {
        return Err(RegistryError::NotWriter);
    }
    if key.len() > KEY_BYTES_MAX {
        return Err(RegistryError::KeyTooLong);
    }
    if value.len() > VALUE_BYTES_MAX {
        return Err(RegistryError::ValueTooLong);
    }
    let version = RECORDS.get(&key).map_or(1, |record| record.version + 1);
    let digest = env::sm3(&value);
    let record =
        Record { value, digest, author, version, updated_height: env::block_height(), attestations: Vec::new() };
    RECORDS.set(&key, &record);
    env::emit(&RecordSet { author, key, version, digest });
    Ok(version)
}

#[entry]
pub fn get(key: String) -> Option<Record> {
    RECORDS.get(&key)
}

/// Writers remove records.
#[entry]
pub fn remove(key: String) -> Result<(), RegistryError> {
    if !WRITERS.contains(&env::caller()) {
        return Err(RegistryError::NotWriter);
    }
    if !RECORDS.contains(&key) {
        return Err(RegistryError::RecordMissing);
    }
    RECORDS.remove(&key);
    env::emit(&RecordRemoved { key });
    Ok(())
}

/// Attaches a signature over the record's digest by `key` (scheme 0 Ed25519, 1 SM2, 2 secp256k1),
/// verified on chain. Anyone may attest; the key is what counts.
#[entry]
pub fn attest(record_key: String, scheme: u8, key: Vec<u8>, signature: [u8; 64]) -> Result<u32, RegistryError> {
    let mut record = RECORDS.get(&record_key).ok_or(RegistryError::RecordMissing)?;
    let scheme_id = match scheme {
        0 => env::KeyScheme::Ed25519,
        1 => env::KeyScheme::Sm2,
        2 => env::KeyScheme::Secp256k1,
        _ => return Err(RegistryError::UnknownScheme),
    };
    if !env::verify_signature(scheme_id, &key, &record.digest, &signature) {
        return Err(RegistryError::InvalidSignature);
    }
    if !record.attestations.iter().any(|(known_scheme, known)| *known_scheme == scheme && *known == key) {
        record.attestations.push((scheme, key));
    }
    RECORDS.set(&record_key, &record);
    Ok(record.attestations.len() as u32)
}

/// Up to `limit` (at most 50) record keys after `after`, in order of their encoding.
#[entry]
pub fn list(after: Option<String>, limit: u32) -> Vec<String> {
    let limit = limit.min(LIST_MAX) as usize;
    let entries = match &after {
        Some(after) => RECORDS.iter_after(after),
        None => RECORDS.iter(),
    };
    entries.take(limit).map(|(key, _)| key).collect()
}
