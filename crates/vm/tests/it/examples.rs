//! The example contracts (`contracts/examples`), built for wasm32 by `scripts/build-contracts.sh`,
//! run through the VM with arguments and results in the SDK's codec.

use formica_contract::{Address, Codec, Event, decode, encode};
use formica_types::AccountId;
use formica_vm::testing::TestChain;
use formica_vm::{Outcome, VmError};
use std::path::PathBuf;

/// The compiled example `name` (`formica_<name>.wasm`). Fails, never skips, if it is not built.
pub fn wasm(name: &str) -> Vec<u8> {
    let repository = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repository.join("target"), PathBuf::from);
    let target = if target.is_relative() { repository.join(target) } else { target };
    let path = target.join(format!("wasm32-unknown-unknown/release/formica_{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|error| {
        panic!("{}: {error}; build the contracts first with scripts/build-contracts.sh", path.display())
    })
}

pub fn address(account: AccountId) -> Address {
    Address(account.0)
}

/// Calls and decodes the result; panics with the error if the call failed.
pub fn call<A: Codec, R: Codec>(
    chain: &mut TestChain,
    caller: AccountId,
    contract: AccountId,
    method: &str,
    args: &A,
    value: u128,
) -> R {
    let outcome = chain.call(caller, contract, method, &encode(args), value);
    let output = outcome.result.unwrap_or_else(|error| panic!("{method} failed: {error}"));
    decode(&output).expect("the result decodes")
}

/// Calls and returns the revert reason; panics if the call succeeded.
pub fn reverts<A: Codec>(
    chain: &mut TestChain,
    caller: AccountId,
    contract: AccountId,
    method: &str,
    args: &A,
    value: u128,
) -> String {
    let before = chain.state().clone();
    let outcome: Outcome = chain.call(caller, contract, method, &encode(args), value);
    assert!(outcome.gas_used > 0, "a failed call is charged");
    assert_eq!(before.storage, chain.state().storage, "a failed call changes nothing");
    assert_eq!(before.balances, chain.state().balances, "a failed call moves nothing");
    match outcome.result {
        Err(VmError::Reverted(reason)) => reason,
        other => panic!("{method} should revert, got {other:?}"),
    }
}

/// Read-only query, decoded.
pub fn query<A: Codec, R: Codec>(chain: &TestChain, contract: AccountId, method: &str, args: &A) -> R {
    let outcome = chain.query(AccountId([0; 32]), contract, method, &encode(args));
    decode(&outcome.result.unwrap_or_else(|error| panic!("{method} failed: {error}"))).expect("the result decodes")
}

/// The events named `E` emitted so far, decoded, with their topics.
pub fn events<E: Event>(chain: &TestChain, contract: AccountId) -> Vec<(Vec<[u8; 32]>, E)> {
    chain
        .events()
        .iter()
        .filter(|event| event.contract == contract && event.topics.first() == Some(&E::NAME_TOPIC))
        .map(|event| (event.topics.clone(), decode(&event.data).expect("the event decodes")))
        .collect()
}
