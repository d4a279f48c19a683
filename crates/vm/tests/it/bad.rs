//! Bad contracts: each fails with a clear error, is charged gas, changes nothing, and uses the same
//! gas every time.

use crate::{deployed, module, writes_then};
use formica_vm::testing::TestChain;
use formica_vm::{GasSchedule, Limits, MemoryState, Vm, VmError};

/// Runs `run` of a module on two fresh chains: both outcomes must be identical, and the state
/// after the call must equal the state before it.
fn fails_cleanly(code: &[u8], gas_limit: u64) -> (VmError, u64) {
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let (mut chain, alice, contract) = deployed(code);
        chain.gas_limit = gas_limit;
        let before: MemoryState = chain.state().clone();
        let outcome = chain.call(alice, contract, "run", &[], 0);
        assert_eq!(before.storage, chain.state().storage, "a failed call leaves storage unchanged");
        assert_eq!(before.balances, chain.state().balances);
        assert!(chain.events().is_empty());
        assert!(outcome.changes.storage.is_empty() && outcome.changes.events.is_empty());
        outcomes.push(outcome);
    }
    assert_eq!(outcomes[0], outcomes[1], "the same call gives the same outcome and gas");
    let outcome = outcomes.remove(0);
    assert!(outcome.gas_used > 0, "a failed call is charged");
    assert!(outcome.gas_used <= gas_limit);
    (outcome.result.expect_err("the call fails"), outcome.gas_used)
}

#[test]
fn an_infinite_loop_runs_out_of_gas_and_is_charged_the_limit() {
    let code = module(&writes_then("(loop $forever (br $forever))"));
    let (error, gas) = fails_cleanly(&code, 1_000_000);
    assert_eq!(error, VmError::OutOfGas);
    assert_eq!(gas, 1_000_000);
}

#[test]
fn unbounded_recursion_overflows_the_stack_and_is_charged_the_limit() {
    let code = module(&writes_then(
        "(call $deeper (i32.const 0)) drop)
        (func $deeper (param i32) (result i32) (call $deeper (i32.add (local.get 0) (i32.const 1)))",
    ));
    let (error, gas) = fails_cleanly(&code, 50_000_000);
    assert_eq!(error, VmError::StackOverflow);
    assert_eq!(gas, 50_000_000);
}

#[test]
fn a_memory_bomb_stops_at_the_memory_limit() {
    // Grows one page at a time until growth fails; the limiter traps at the limit.
    let code = module(&writes_then("(loop $grow (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))"));
    let (error, gas) = fails_cleanly(&code, 50_000_000);
    assert_eq!(error, VmError::MemoryLimit { limit_bytes: Limits::default().memory_bytes_max });
    // Each page costs 255 gas on top of the loop's instructions.
    assert!(gas > 63 * 255, "growth is paid per page, used {gas}");
}

#[test]
fn a_huge_single_allocation_is_refused() {
    let code = module(&writes_then("(drop (memory.grow (i32.const 60000)))"));
    let (error, _) = fails_cleanly(&code, 50_000_000);
    assert!(matches!(error, VmError::MemoryLimit { .. }), "{error:?}");
}

#[test]
fn a_huge_event_is_refused() {
    let code = module(&writes_then("(call $emit (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 60000))"));
    let (error, _) = fails_cleanly(&code, 50_000_000);
    assert_eq!(error, VmError::LimitExceeded { what: "event data", size: 60000, limit: 1024 });
}

#[test]
fn too_many_events_are_refused() {
    let code = module(&writes_then(
        "(loop $again (call $emit (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 1)) (br $again))",
    ));
    let (error, _) = fails_cleanly(&code, 50_000_000);
    assert_eq!(error, VmError::LimitExceeded { what: "events", size: 65, limit: 64 });
}

#[test]
fn a_huge_return_value_is_refused() {
    let code = module(&writes_then("(call $return_set (i32.const 0) (i32.const 65536))"));
    let (error, _) = fails_cleanly(&code, 50_000_000);
    assert_eq!(error, VmError::LimitExceeded { what: "return value", size: 65536, limit: 16384 });
}

#[test]
fn reading_outside_memory_traps() {
    let code = module(&writes_then("(call $return_set (i32.const 65000) (i32.const 1000))"));
    let (error, _) = fails_cleanly(&code, 50_000_000);
    assert_eq!(error, VmError::MemoryAccess);
}

#[test]
fn a_revert_rolls_back_and_reports_the_message() {
    let code = module(&format!(
        r#"(data (i32.const 100) "no funds") {}"#,
        writes_then("(call $revert (i32.const 100) (i32.const 8))")
    ));
    let (error, gas) = fails_cleanly(&code, 50_000_000);
    assert_eq!(error, VmError::Reverted("no funds".to_string()));
    assert!(gas < 50_000_000, "a revert keeps the unused gas");
}

#[test]
fn an_unreachable_trap_is_a_clear_error() {
    let (error, _) = fails_cleanly(&module(&writes_then("unreachable")), 50_000_000);
    assert_eq!(error, VmError::Trap("wasm trap: wasm `unreachable` instruction executed".to_string()));
}

#[test]
fn invalid_modules_are_refused_at_deployment_and_charged() {
    let mut chain = TestChain::default();
    let alice = chain.account("alice", 0);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"\0asm garbage".to_vec(), "invalid module"),
        (b"(module)".to_vec(), "not a WebAssembly binary"),
        (wat::parse_str("(module)").expect("valid"), "does not export its memory"),
        (
            wat::parse_str(r#"(module (import "env" "x" (func)) (memory (export "memory") 1))"#).expect("valid"),
            "unknown import env::x",
        ),
        (
            wat::parse_str(r#"(module (import "formica" "caller" (func (param i64))) (memory (export "memory") 1))"#)
                .expect("valid"),
            "does not match",
        ),
    ];
    for (code, expected) in cases {
        let before = chain.state().clone();
        let (outcome, _) = chain.deploy_outcome(alice, &code, &[]);
        let error = outcome.result.expect_err("the module is refused");
        assert!(
            matches!(&error, VmError::InvalidModule(message) if message.contains(expected) || expected == "invalid module"),
            "{error:?} should mention {expected:?}"
        );
        assert_eq!(outcome.gas_used, code.len() as u64 * GasSchedule::default().deploy_byte);
        assert_eq!(before.contracts, chain.state().contracts);
        assert!(chain.state().codes.is_empty());
    }
}

#[test]
fn threads_and_simd_are_refused() {
    let mut chain = TestChain::default();
    let alice = chain.account("alice", 0);
    for text in [
        r#"(module (memory (export "memory") 1 1 shared))"#,
        r#"(module (memory (export "memory") 1) (func (result v128) (v128.const i64x2 0 0)))"#,
    ] {
        let code = wat::parse_str(text).expect("valid text");
        let error = chain.deploy(alice, &code, &[]).expect_err("non-deterministic features are off");
        assert!(matches!(error, VmError::InvalidModule(_)), "{error:?}");
    }
}

#[test]
fn an_oversized_module_is_refused() {
    let vm = Vm::new(Limits { code_bytes_max: 100, ..Limits::default() }, GasSchedule::default());
    let mut chain = TestChain::new(vm);
    let alice = chain.account("alice", 0);
    let code = module(&writes_then(""));
    let error = chain.deploy(alice, &code, &[]).expect_err("too large");
    assert_eq!(error, VmError::CodeTooLarge { size: code.len(), limit: 100 });
}

#[test]
fn a_call_to_a_missing_contract_or_method_fails() {
    let (mut chain, alice, contract) = deployed(&module(&writes_then("")));
    let nowhere = chain.account("nowhere", 0);
    let outcome = chain.call(alice, nowhere, "run", &[], 0);
    assert_eq!(outcome.result, Err(VmError::ContractMissing(nowhere)));
    assert_eq!(outcome.gas_used, GasSchedule::default().call_base);
    let outcome = chain.call(alice, contract, "missing", &[], 0);
    assert_eq!(outcome.result, Err(VmError::MethodMissing("missing".to_string())));
    assert!(outcome.gas_used > 0);
    let outcome = chain.call(alice, contract, "memory", &[], 0);
    assert_eq!(outcome.result, Err(VmError::MethodMissing("memory".to_string())));
    let outcome = chain.call(alice, contract, "init", &[], 0);
    assert_eq!(outcome.result, Err(VmError::MethodMissing("init".to_string())));
}

#[test]
fn too_little_gas_to_enter_is_out_of_gas() {
    let (mut chain, alice, contract) = deployed(&module(&writes_then("")));
    chain.gas_limit = 10;
    let outcome = chain.call(alice, contract, "run", &[], 0);
    assert_eq!(outcome.result, Err(VmError::OutOfGas));
    assert_eq!(outcome.gas_used, 10);
}
