//! Decompressed Ed25519 account keys, kept between transactions.
//!
//! Every Ed25519 signature check needs the signer's key as a curve point, and decompressing the
//! 32 bytes costs about a field inversion (a square root): roughly as much as a third of the
//! batched check itself. An account signs many transactions, and every validator checks each
//! of them, so the points of recently seen keys are kept. The cache only saves work: a key is
//! cached after it decoded, so what it returns is exactly what decoding returns (tested), and
//! bytes that do not decode are decoded (and refused) every time.
//!
//! The cache is bounded: two generations of at most [`GENERATION`] keys each. New keys go into
//! the young generation; a key found in the old one moves to the young one; when the young one
//! is full it becomes the old one and the previous old one is dropped. So keys used in the last
//! `GENERATION` distinct insertions stay, at most `2 × GENERATION` are held (about 16 MiB), and
//! no lookup or insertion costs more than a hash-map operation. Nothing iterates the maps, so
//! their order cannot reach any result.

use commonware_codec::DecodeExt;
use commonware_cryptography::ed25519;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

/// Keys per generation.
pub(crate) const GENERATION: usize = 32_768;

pub(crate) struct KeyCache {
    generation: usize,
    young: HashMap<[u8; 32], ed25519::PublicKey>,
    old: HashMap<[u8; 32], ed25519::PublicKey>,
}

impl KeyCache {
    pub(crate) fn new(generation: usize) -> Self {
        Self { generation: generation.max(1), young: HashMap::new(), old: HashMap::new() }
    }

    fn get(&mut self, bytes: &[u8; 32]) -> Option<ed25519::PublicKey> {
        if let Some(key) = self.young.get(bytes) {
            return Some(key.clone());
        }
        let key = self.old.remove(bytes)?;
        self.insert(*bytes, key.clone());
        Some(key)
    }

    fn insert(&mut self, bytes: [u8; 32], key: ed25519::PublicKey) {
        if self.young.len() >= self.generation {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(bytes, key);
    }

    /// Keys held now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }

    /// The key `bytes` encode, from the cache or decoded (and then cached); `None` if they do
    /// not decode. The lock is not held while decoding.
    pub(crate) fn key(cache: &Mutex<Self>, bytes: &[u8]) -> Option<ed25519::PublicKey> {
        let array: [u8; 32] = bytes.try_into().ok()?;
        if let Some(key) = lock(cache).get(&array) {
            return Some(key);
        }
        let key = ed25519::PublicKey::decode(bytes::Bytes::copy_from_slice(&array)).ok()?;
        lock(cache).insert(array, key.clone());
        Some(key)
    }
}

fn lock(cache: &Mutex<KeyCache>) -> std::sync::MutexGuard<'_, KeyCache> {
    // Nothing panics while holding the lock; if something did, the maps are still valid keys.
    cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The process's cache.
pub(crate) static KEYS: LazyLock<Mutex<KeyCache>> = LazyLock::new(|| Mutex::new(KeyCache::new(GENERATION)));

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::Encode;
    use commonware_cryptography::Signer as _;

    fn key_bytes(seed: u64) -> [u8; 32] {
        let encoded = ed25519::PrivateKey::from_seed(seed).public_key().encode();
        encoded.as_ref().try_into().expect("32 bytes")
    }

    #[test]
    fn cached_keys_are_the_decoded_keys_and_bad_bytes_are_never_cached() {
        let cache = Mutex::new(KeyCache::new(4));
        for round in 0..3 {
            for seed in 0..10 {
                let bytes = key_bytes(seed);
                let decoded = ed25519::PublicKey::decode(bytes::Bytes::copy_from_slice(&bytes)).expect("decodes");
                assert_eq!(KeyCache::key(&cache, &bytes), Some(decoded), "round {round}, key {seed}");
            }
        }
        let held = lock(&cache).len();
        // A y coordinate with no point on the curve (2 is not one), and the wrong length.
        let mut bad = [0u8; 32];
        bad[0] = 2;
        assert!(ed25519::PublicKey::decode(bytes::Bytes::copy_from_slice(&bad)).is_err());
        assert_eq!(KeyCache::key(&cache, &bad), None);
        assert_eq!(KeyCache::key(&cache, &key_bytes(1)[..31]), None);
        assert_eq!(lock(&cache).len(), held, "nothing cached for bytes that do not decode");
    }

    #[test]
    fn the_cache_holds_at_most_two_generations_and_keeps_what_is_in_use() {
        let cache = Mutex::new(KeyCache::new(8));
        let hot = key_bytes(1_000);
        for seed in 0..100 {
            KeyCache::key(&cache, &key_bytes(seed)).expect("decodes");
            KeyCache::key(&cache, &hot).expect("decodes");
            assert!(lock(&cache).len() <= 16);
        }
        assert!(lock(&cache).get(&hot).is_some(), "a key used all along is still held");
        assert!(lock(&cache).get(&key_bytes(0)).is_none(), "one not used for long is gone");
    }
}
