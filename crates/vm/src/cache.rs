//! Compiled modules by code hash, least recently used evicted first.

use crate::backend::CodeHash;
use std::collections::BTreeMap;
use wasmtime::Module;

pub(crate) struct ModuleCache {
    capacity: usize,
    tick: u64,
    entries: BTreeMap<CodeHash, (Module, u64)>,
}

impl ModuleCache {
    pub(crate) fn new(capacity: usize) -> Self {
        assert!(capacity > 0, "the module cache needs room for one module");
        Self { capacity, tick: 0, entries: BTreeMap::new() }
    }

    pub(crate) fn get(&mut self, hash: &CodeHash) -> Option<Module> {
        self.tick += 1;
        let tick = self.tick;
        self.entries.get_mut(hash).map(|(module, used)| {
            *used = tick;
            module.clone()
        })
    }

    pub(crate) fn insert(&mut self, hash: CodeHash, module: Module) {
        if !self.entries.contains_key(&hash) && self.entries.len() >= self.capacity {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(hash, _)| *hash)
                .expect("a full cache has an entry");
            self.entries.remove(&oldest);
        }
        self.tick += 1;
        self.entries.insert(hash, (module, self.tick));
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn contains(&self, hash: &CodeHash) -> bool {
        self.entries.contains_key(hash)
    }
}
