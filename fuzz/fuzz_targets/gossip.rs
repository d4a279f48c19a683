//! Fuzzes `formica_fuzz::gossip` (what it checks is documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| formica_fuzz::gossip(data));
