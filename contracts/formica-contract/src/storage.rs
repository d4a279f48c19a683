//! Typed storage. A key is `[prefix length][prefix][encoded map key]`, so no two `Item`s or `Map`s
//! with different prefixes can share a key, and a map's keys decode back from storage.

use crate::codec::{Codec, decode, encode};
use crate::env;
use alloc::vec::Vec;
use core::marker::PhantomData;

fn namespaced(prefix: &[u8], key: &[u8]) -> Vec<u8> {
    assert!(prefix.len() < 256, "a storage prefix is shorter than 256 bytes");
    let mut full = Vec::with_capacity(1 + prefix.len() + key.len());
    full.push(prefix.len() as u8);
    full.extend_from_slice(prefix);
    full.extend_from_slice(key);
    full
}

fn load<T: Codec>(key: &[u8]) -> Option<T> {
    env::storage_get(key).map(|bytes| decode(&bytes).unwrap_or_else(|_| env::revert("corrupt storage value")))
}

/// One value under a fixed key.
pub struct Item<T> {
    prefix: &'static [u8],
    value: PhantomData<T>,
}

impl<T: Codec> Item<T> {
    pub const fn new(prefix: &'static [u8]) -> Self {
        Self { prefix, value: PhantomData }
    }

    pub fn get(&self) -> Option<T> {
        load(&namespaced(self.prefix, &[]))
    }

    pub fn set(&self, value: &T) {
        env::storage_set(&namespaced(self.prefix, &[]), &encode(value));
    }

    pub fn remove(&self) {
        env::storage_remove(&namespaced(self.prefix, &[]));
    }
}

impl<T: Codec + Default> Item<T> {
    /// The value, or the type's default if none was stored.
    pub fn get_or_default(&self) -> T {
        self.get().unwrap_or_default()
    }
}

/// Values by key under one prefix.
pub struct Map<K, V> {
    prefix: &'static [u8],
    types: PhantomData<(K, V)>,
}

impl<K: Codec, V: Codec> Map<K, V> {
    pub const fn new(prefix: &'static [u8]) -> Self {
        Self { prefix, types: PhantomData }
    }

    fn key(&self, key: &K) -> Vec<u8> {
        namespaced(self.prefix, &encode(key))
    }

    pub fn get(&self, key: &K) -> Option<V> {
        load(&self.key(key))
    }

    pub fn contains(&self, key: &K) -> bool {
        env::storage_get(&self.key(key)).is_some()
    }

    pub fn set(&self, key: &K, value: &V) {
        env::storage_set(&self.key(key), &encode(value));
    }

    pub fn remove(&self, key: &K) {
        env::storage_remove(&self.key(key));
    }

    /// Entries in byte order of their encoded keys, each step one paid host call. Stop early
    /// (`take`) to bound the work.
    pub fn iter(&self) -> MapIter<K, V> {
        MapIter { prefix: namespaced(self.prefix, &[]), after: None, types: PhantomData }
    }

    /// Like [`Map::iter`], starting after `key`.
    pub fn iter_after(&self, key: &K) -> MapIter<K, V> {
        MapIter { prefix: namespaced(self.prefix, &[]), after: Some(self.key(key)), types: PhantomData }
    }
}

impl<K: Codec, V: Codec + Default> Map<K, V> {
    pub fn get_or_default(&self, key: &K) -> V {
        self.get(key).unwrap_or_default()
    }
}

/// Iterates a [`Map`].
pub struct MapIter<K, V> {
    prefix: Vec<u8>,
    after: Option<Vec<u8>>,
    types: PhantomData<(K, V)>,
}

impl<K: Codec, V: Codec> Iterator for MapIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<(K, V)> {
        let (key, value) = env::storage_next(&self.prefix, self.after.as_deref())?;
        let decoded = (
            decode(&key[self.prefix.len()..]).unwrap_or_else(|_| env::revert("corrupt storage key")),
            decode(&value).unwrap_or_else(|_| env::revert("corrupt storage value")),
        );
        self.after = Some(key);
        Some(decoded)
    }
}
