//! The VM against hand-written modules (host functions, limits, bad contracts, nested calls) and
//! the example contracts, and independent VMs agreeing on a long mix of calls.

mod bad;
mod calls;
mod determinism;
mod escrow;
mod examples;
mod registry;
mod token;

use formica_types::AccountId;
use formica_vm::testing::TestChain;

/// The host functions a test module may import, declared once.
const IMPORTS: &str = r#"
  (import "formica" "input_len" (func $input_len (result i32)))
  (import "formica" "input_read" (func $input_read (param i32)))
  (import "formica" "return_set" (func $return_set (param i32 i32)))
  (import "formica" "revert" (func $revert (param i32 i32)))
  (import "formica" "storage_get" (func $storage_get (param i32 i32 i32 i32) (result i64)))
  (import "formica" "storage_set" (func $storage_set (param i32 i32 i32 i32)))
  (import "formica" "storage_remove" (func $storage_remove (param i32 i32)))
  (import "formica" "emit" (func $emit (param i32 i32 i32 i32)))
  (import "formica" "call" (func $call (param i32 i32 i32 i32 i32 i32 i64 i32 i32) (result i64)))
  (import "formica" "sha256" (func $sha256 (param i32 i32 i32)))
  (import "formica" "sm3" (func $sm3 (param i32 i32 i32)))
"#;

/// A module with the imports, one page of memory and `body` (functions and data).
fn module(body: &str) -> Vec<u8> {
    let text = format!("(module {IMPORTS} (memory (export \"memory\") 1) {body})");
    wat::parse_str(text).expect("test modules are valid text")
}

/// A chain with one funded account and `code` deployed by it.
fn deployed(code: &[u8]) -> (TestChain, AccountId, AccountId) {
    let mut chain = TestChain::default();
    let alice = chain.account("alice", 1_000_000);
    let contract = chain.deploy(alice, code, &[]).expect("the test contract deploys");
    (chain, alice, contract)
}

/// Writes counter value 1 under key "k" then does `then`.
fn writes_then(then: &str) -> String {
    format!(
        r#"(data (i32.const 0) "k")
           (data (i32.const 8) "\01")
           (func (export "run") (call $storage_set (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 1)) {then})"#
    )
}
