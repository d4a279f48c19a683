//! Fuzzes `formica_fuzz::block` (what it checks is documented there).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| formica_fuzz::block(data));
