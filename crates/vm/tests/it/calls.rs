//! Calls between contracts, value, gas forwarding, reentrancy, depth, hashes, the module cache.

use crate::{deployed, module, writes_then};
use formica_types::AccountId;
use formica_vm::host::call_status;
use formica_vm::testing::TestChain;
use formica_vm::{GasSchedule, Limits, Vm, VmError, code_hash};

/// A contract that writes its own key "k", then calls `input[0..32]` method `input[32..35]` with
/// input `input[35..]` and `gas` (0: all), and returns the status (8 bytes LE) followed by up to 92
/// bytes of the callee's output.
fn proxy(gas: i64) -> Vec<u8> {
    module(&format!(
        r#"(data (i32.const 0) "k")
           (data (i32.const 8) "\01")
           (func (export "run") (local $len i32) (local $status i64) (local $shown i64)
             (call $storage_set (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 1))
             (local.set $len (call $input_len))
             (call $input_read (i32.const 200))
             (local.set $status (call $call (i32.const 200) (i32.const 232) (i32.const 3)
               (i32.const 235) (i32.sub (local.get $len) (i32.const 35)) (i32.const 16) (i64.const {gas})
               (i32.const 308) (i32.const 92)))
             (i64.store (i32.const 300) (local.get $status))
             (local.set $shown (select (local.get $status) (i64.const 0) (i64.gt_s (local.get $status) (i64.const 0))))
             (local.set $shown (select (i64.const 92) (local.get $shown) (i64.gt_s (local.get $shown) (i64.const 92))))
             (call $return_set (i32.const 300) (i32.add (i32.const 8) (i32.wrap_i64 (local.get $shown)))))"#
    ))
}

/// The input that makes a proxy call `target`'s "run" with `rest` as input.
fn via(target: AccountId, rest: &[u8]) -> Vec<u8> {
    let mut input = target.0.to_vec();
    input.extend_from_slice(b"run");
    input.extend_from_slice(rest);
    input
}

/// The statuses in a proxy's nested return value, outermost first.
fn statuses(mut output: &[u8]) -> Vec<i64> {
    let mut statuses = Vec::new();
    while output.len() >= 8 {
        statuses.push(i64::from_le_bytes(output[..8].try_into().expect("8 bytes")));
        output = &output[8..];
    }
    statuses
}

fn has_k(chain: &TestChain, contract: AccountId) -> bool {
    chain.state().storage.contains_key(&(contract, b"k".to_vec()))
}

#[test]
fn a_failed_callee_is_rolled_back_and_the_caller_continues() {
    let (mut chain, alice, proxy_address) = deployed(&proxy(0));
    let failing = chain.deploy(alice, &module(&writes_then("unreachable")), &[]).expect("deploys");
    let outcome = chain.call(alice, proxy_address, "run", &via(failing, &[]), 0);
    let output = outcome.result.expect("the caller handles the failure");
    assert_eq!(statuses(&output), vec![call_status::TRAPPED]);
    assert!(has_k(&chain, proxy_address), "the caller's write stays");
    assert!(!has_k(&chain, failing), "the callee's write is rolled back");
}

#[test]
fn a_reverting_callee_passes_its_message() {
    let (mut chain, alice, proxy_address) = deployed(&proxy(0));
    let code = module(&format!(
        r#"(data (i32.const 100) "nope") {}"#,
        writes_then("(call $revert (i32.const 100) (i32.const 4))")
    ));
    let reverting = chain.deploy(alice, &code, &[]).expect("deploys");
    let output = chain.call(alice, proxy_address, "run", &via(reverting, &[]), 0).result.expect("handled");
    assert_eq!(statuses(&output[..8]), vec![call_status::REVERTED]);
    assert!(!has_k(&chain, reverting));
}

#[test]
fn reentrancy_is_refused() {
    let (mut chain, alice, proxy_address) = deployed(&proxy(0));
    let output = chain.call(alice, proxy_address, "run", &via(proxy_address, &[]), 0).result.expect("handled");
    assert_eq!(statuses(&output), vec![call_status::REENTRANCY]);
    // A calls B calls A: refused too.
    let other = chain.deploy(alice, &proxy(0), &[]).expect("deploys");
    let input = via(other, &via(proxy_address, &[]));
    let output = chain.call(alice, proxy_address, "run", &input, 0).result.expect("handled");
    assert_eq!(statuses(&output), vec![8, call_status::REENTRANCY]);
}

#[test]
fn the_call_depth_is_limited() {
    let mut chain = TestChain::default();
    let alice = chain.account("alice", 0);
    let proxies: Vec<AccountId> = (0..6).map(|_| chain.deploy(alice, &proxy(0), &[]).expect("deploys")).collect();
    assert_eq!(chain.state().codes.len(), 1, "code is stored once by hash");
    let mut input = via(proxies[5], &[]);
    for address in proxies[1..5].iter().rev() {
        input = via(*address, &input);
    }
    let output = chain.call(alice, proxies[0], "run", &input, 0).result.expect("handled");
    // Frames 0..3 run (depth 4); the fourth refuses to go deeper.
    assert_eq!(statuses(&output), vec![24, 16, 8, call_status::CALL_DEPTH]);
    assert_eq!(statuses(&output).len(), Limits::default().call_depth_max);
}

#[test]
fn forwarded_gas_bounds_the_callee_and_the_rest_comes_back() {
    let (mut chain, alice, proxy_address) = deployed(&proxy(200_000));
    let looping = chain.deploy(alice, &module(&writes_then("(loop $forever (br $forever))")), &[]).expect("deploys");
    let outcome = chain.call(alice, proxy_address, "run", &via(looping, &[]), 0);
    let output = outcome.result.expect("the caller survives its callee running out of gas");
    assert_eq!(statuses(&output), vec![call_status::OUT_OF_GAS]);
    assert!(outcome.gas_used > 200_000 && outcome.gas_used < 300_000, "used {}", outcome.gas_used);
}

#[test]
fn a_missing_callee_is_not_callable() {
    let (mut chain, alice, proxy_address) = deployed(&proxy(0));
    let nobody = chain.account("nobody", 0);
    let output = chain.call(alice, proxy_address, "run", &via(nobody, &[]), 0).result.expect("handled");
    assert_eq!(statuses(&output), vec![call_status::NOT_CALLABLE]);
}

#[test]
fn value_moves_with_a_call_and_is_refunded_on_failure() {
    let (mut chain, alice, contract) = deployed(&module(&writes_then("")));
    let outcome = chain.call(alice, contract, "run", &[], 400);
    assert!(outcome.result.is_ok());
    assert_eq!(chain.balance(&contract), Some(400));
    assert_eq!(chain.balance(&alice), Some(1_000_000 - 400));
    let outcome = chain.call(alice, contract, "run", &[], 10_000_000);
    assert_eq!(outcome.result, Err(VmError::InsufficientBalance { amount: 10_000_000 }));
    assert_eq!(chain.balance(&contract), Some(400));
    let failing = chain.deploy(alice, &module(&writes_then("unreachable")), &[]).expect("deploys");
    assert!(chain.call(alice, failing, "run", &[], 50).result.is_err());
    assert_eq!(chain.balance(&failing), Some(0), "a failed call returns the value");
    assert_eq!(chain.balance(&alice), Some(1_000_000 - 400));
}

#[test]
fn hashes_match_the_crypto_crate() {
    let code = module(
        r#"(data (i32.const 0) "abc")
           (func (export "run")
             (call $sha256 (i32.const 0) (i32.const 3) (i32.const 100))
             (call $sm3 (i32.const 0) (i32.const 3) (i32.const 132))
             (call $return_set (i32.const 100) (i32.const 64)))"#,
    );
    let (mut chain, alice, contract) = deployed(&code);
    let output = chain.call(alice, contract, "run", &[], 0).result.expect("runs");
    assert_eq!(output[..32], formica_crypto::sha256(b"abc"));
    assert_eq!(output[32..], formica_crypto::sm3(b"abc"));
}

#[test]
fn gas_is_the_same_on_every_run_and_grows_with_work() {
    let code = module(&writes_then(""));
    let run = || {
        let (mut chain, alice, contract) = deployed(&code);
        chain.call(alice, contract, "run", &[], 0).gas_used
    };
    let first = run();
    assert_eq!(first, run());
    let schedule = GasSchedule::default();
    assert!(first > schedule.call_base + schedule.storage_write, "used {first}");
}

#[test]
fn modules_are_cached_by_hash_and_evicted_least_recently_used() {
    let vm = Vm::new(Limits { module_cache_entries: 1, ..Limits::default() }, GasSchedule::default());
    let mut chain = TestChain::new(vm.clone());
    let alice = chain.account("alice", 0);
    let first = module(&writes_then(""));
    let second = module(&writes_then("nop"));
    let a = chain.deploy(alice, &first, &[]).expect("deploys");
    assert!(vm.is_cached(&code_hash(&first)));
    let b = chain.deploy(alice, &second, &[]).expect("deploys");
    assert!(!vm.is_cached(&code_hash(&first)) && vm.is_cached(&code_hash(&second)));
    assert_eq!(vm.cached_modules(), 1);
    // A cache miss recompiles from state and costs the same gas as a hit (on the same state: the
    // first call creates the key "k", which costs index gas the later ones do not pay).
    assert!(chain.call(alice, a, "run", &[], 0).result.is_ok());
    assert!(chain.call(alice, b, "run", &[], 0).result.is_ok());
    assert!(!vm.is_cached(&code_hash(&first)));
    let miss = chain.call(alice, a, "run", &[], 0).gas_used;
    let hit = chain.call(alice, a, "run", &[], 0).gas_used;
    assert_eq!(miss, hit);
}

#[test]
fn creating_or_removing_a_key_pays_for_its_index_nodes_and_an_overwrite_does_not() {
    let schedule = GasSchedule::default();
    let (mut chain, alice, contract) = deployed(&module(&writes_then("")));
    let create = chain.call(alice, contract, "run", &[], 0).gas_used;
    let overwrite = chain.call(alice, contract, "run", &[], 0).gas_used;
    // The key "k" is one byte: its node and the root.
    assert_eq!(create - overwrite, 2 * schedule.storage_index_node);
    let removes = module(
        r#"(data (i32.const 0) "k")
           (func (export "run") (call $storage_remove (i32.const 0) (i32.const 1))
                                (call $storage_remove (i32.const 0) (i32.const 1)))"#,
    );
    chain.upgrade(contract, &removes).expect("upgrades");
    let remove = chain.call(alice, contract, "run", &[], 0).gas_used;
    let remove_absent = chain.call(alice, contract, "run", &[], 0).gas_used;
    assert_eq!(remove - remove_absent, 2 * schedule.storage_index_node, "only the removal of a stored key pays");
}

#[test]
fn a_frozen_contract_refuses_calls_and_an_upgrade_keeps_storage() {
    let (mut chain, alice, contract) = deployed(&module(&writes_then("")));
    assert!(chain.call(alice, contract, "run", &[], 0).result.is_ok());
    chain.set_frozen(contract, true).expect("exists");
    assert_eq!(chain.call(alice, contract, "run", &[], 0).result, Err(VmError::ContractFrozen(contract)));
    chain.set_frozen(contract, false).expect("exists");
    chain.upgrade(contract, &module(&writes_then("unreachable"))).expect("upgrades");
    assert!(has_k(&chain, contract), "storage survives an upgrade");
    assert!(chain.call(alice, contract, "run", &[], 0).result.is_err(), "the new code runs");
}
