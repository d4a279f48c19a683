//! Independent VMs (standing in for validators) run the same long mix of contract calls,
//! succeeding and failing, and must agree on every outcome, every gas figure and the final state,
//! even when one of them has to recompile modules its cache evicted.

use crate::examples::{address, wasm};
use crate::{module, writes_then};
use formica_contract::encode;
use formica_types::AccountId;
use formica_vm::testing::TestChain;
use formica_vm::{GasSchedule, Limits, MemoryState, Outcome, Vm};

/// A small deterministic generator (xorshift64*), so the mix is the same on every run.
struct Mix(u64);

impl Mix {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }
}

/// Runs the mix on a chain whose VM caches `cache_entries` modules; returns every outcome and
/// the final state.
fn run(cache_entries: usize, seed: u64) -> (Vec<Outcome>, MemoryState) {
    let vm = Vm::new(Limits { module_cache_entries: cache_entries, ..Limits::default() }, GasSchedule::default());
    let mut chain = TestChain::new(vm);
    chain.gas_limit = 2_000_000;
    let users: Vec<AccountId> = (0..8).map(|i| chain.account(&format!("user{i}"), 1_000_000)).collect();
    let token_args = (String::from("T"), String::from("T"), 1_000_000u128);
    let token = chain.deploy(users[0], &wasm("token"), &encode(&token_args)).expect("deploys");
    let looping = chain.deploy(users[0], &module(&writes_then("(loop $l (br $l))")), &[]).expect("deploys");
    let recursing =
        chain.deploy(users[0], &module(&writes_then("(call $r)) (func $r (call $r)")), &[]).expect("deploys");
    let registry = chain.deploy(users[0], &wasm("registry"), &[]).expect("deploys");
    let mut mix = Mix(seed);
    let mut outcomes = Vec::new();
    for step in 0..300u64 {
        let user = users[mix.next(users.len() as u64) as usize];
        let other = users[mix.next(users.len() as u64) as usize];
        let outcome = match mix.next(6) {
            0 | 1 => {
                chain.call(user, token, "transfer", &encode(&(address(other), u128::from(mix.next(5_000) as u32))), 0)
            }
            2 => chain.call(user, looping, "run", &[], 0),
            3 => chain.call(user, recursing, "run", &[], 0),
            4 => chain.call(users[0], registry, "set_writer", &encode(&(address(other), true)), 0),
            _ => chain.call(user, registry, "put", &encode(&(format!("key{}", step % 7), vec![step as u8; 10])), 0),
        };
        if step % 10 == 0 {
            chain.advance(1, 500);
        }
        outcomes.push(outcome);
    }
    (outcomes, chain.state().clone())
}

#[test]
fn independent_vms_agree_on_every_outcome_gas_and_state() {
    let (outcomes, state) = run(64, 7);
    assert!(outcomes.iter().any(|outcome| outcome.result.is_ok()));
    assert!(outcomes.iter().any(|outcome| outcome.result.is_err()));
    // A VM that can hold one module recompiles on almost every call: same decisions, same gas.
    let (evicting_outcomes, evicting_state) = run(1, 7);
    assert_eq!(outcomes, evicting_outcomes);
    assert_eq!(state.storage, evicting_state.storage);
    assert_eq!(state.balances, evicting_state.balances);
    let (again, again_state) = run(64, 7);
    assert_eq!(outcomes, again);
    assert_eq!(state.storage, again_state.storage);
}
