//! The fungible token example.

use crate::examples::{address, call, events, query, reverts, wasm};
use formica_contract::{Address, Codec, Event, encode};
use formica_vm::testing::TestChain;

/// The token's `Transfer` event, as the contract declares it.
#[derive(Debug, PartialEq, Eq)]
struct Transfer {
    from: Address,
    to: Address,
    amount: u128,
}

impl Codec for Transfer {
    fn encode_to(&self, out: &mut Vec<u8>) {
        (self.from, self.to, self.amount).encode_to(out);
    }
    fn decode_from(input: &mut &[u8]) -> Result<Self, formica_contract::DecodeError> {
        let (from, to, amount) = <(Address, Address, u128)>::decode_from(input)?;
        Ok(Self { from, to, amount })
    }
}

impl Event for Transfer {
    const NAME_TOPIC: [u8; 32] = formica_contract::name_topic("Transfer");
    fn topics(&self) -> Vec<[u8; 32]> {
        vec![Self::NAME_TOPIC, self.from.0, self.to.0]
    }
}

fn deployed() -> (TestChain, formica_types::AccountId, formica_types::AccountId) {
    let mut chain = TestChain::default();
    let owner = chain.account("owner", 0);
    let args = (String::from("Formica Dollar"), String::from("FUSD"), 1_000_000u128);
    let token = chain.deploy(owner, &wasm("token"), &encode(&args)).expect("the token deploys");
    (chain, owner, token)
}

#[test]
fn deployment_mints_the_supply_to_the_deployer() {
    let (chain, owner, token) = deployed();
    assert_eq!(query::<_, String>(&chain, token, "name", &()), "Formica Dollar");
    assert_eq!(query::<_, String>(&chain, token, "symbol", &()), "FUSD");
    assert_eq!(query::<_, u128>(&chain, token, "total_supply", &()), 1_000_000);
    assert_eq!(query::<_, u128>(&chain, token, "balance_of", &(address(owner),)), 1_000_000);
    let minted = events::<Transfer>(&chain, token);
    assert_eq!(minted.len(), 1);
    assert_eq!(minted[0].1, Transfer { from: Address::default(), to: address(owner), amount: 1_000_000 });
}

#[test]
fn transfers_move_tokens_and_emit_events_with_topics() {
    let (mut chain, owner, token) = deployed();
    let bob = chain.account("bob", 0);
    call::<_, ()>(&mut chain, owner, token, "transfer", &(address(bob), 250u128), 0);
    assert_eq!(query::<_, u128>(&chain, token, "balance_of", &(address(owner),)), 999_750);
    assert_eq!(query::<_, u128>(&chain, token, "balance_of", &(address(bob),)), 250);
    let transfers = events::<Transfer>(&chain, token);
    let (topics, transfer) = transfers.last().expect("a transfer event");
    assert_eq!(*transfer, Transfer { from: address(owner), to: address(bob), amount: 250 });
    assert_eq!(topics, &transfer.topics());
}

#[test]
fn overspending_reverts_with_the_error_name_and_changes_nothing() {
    let (mut chain, owner, token) = deployed();
    let bob = chain.account("bob", 0);
    let reason = reverts(&mut chain, bob, token, "transfer", &(address(owner), 1u128), 0);
    assert_eq!(reason, "InsufficientBalance");
    let reason = reverts(&mut chain, bob, token, "mint", &(address(bob), 1u128), 0);
    assert_eq!(reason, "NotOwner");
    let reason = reverts(&mut chain, bob, token, "transfer", &(1u8,), 0);
    assert_eq!(reason, "arguments do not decode");
}

#[test]
fn allowances_bound_transfer_from() {
    let (mut chain, owner, token) = deployed();
    let spender = chain.account("spender", 0);
    let carol = chain.account("carol", 0);
    call::<_, ()>(&mut chain, owner, token, "approve", &(address(spender), 100u128), 0);
    assert_eq!(query::<_, u128>(&chain, token, "allowance", &(address(owner), address(spender))), 100);
    call::<_, ()>(&mut chain, spender, token, "transfer_from", &(address(owner), address(carol), 60u128), 0);
    let reason = reverts(&mut chain, spender, token, "transfer_from", &(address(owner), address(carol), 41u128), 0);
    assert_eq!(reason, "InsufficientAllowance");
    assert_eq!(query::<_, u128>(&chain, token, "balance_of", &(address(carol),)), 60);
    assert_eq!(query::<_, u128>(&chain, token, "allowance", &(address(owner), address(spender))), 40);
}

#[test]
fn minting_is_checked_and_gas_is_deterministic() {
    let run = || {
        let (mut chain, owner, token) = deployed();
        let outcome = chain.call(owner, token, "mint", &encode(&(address(owner), 5u128)), 0);
        assert!(outcome.result.is_ok());
        let overflow = chain.call(owner, token, "mint", &encode(&(address(owner), u128::MAX)), 0);
        assert_eq!(overflow.result, Err(formica_vm::VmError::Reverted("SupplyOverflow".to_string())));
        (outcome.gas_used, overflow.gas_used, chain.state().storage.clone())
    };
    assert_eq!(run(), run());
}

#[test]
fn a_query_changes_nothing() {
    let (chain, owner, token) = deployed();
    let bob = formica_types::AccountId([7; 32]);
    let outcome = chain.query(owner, token, "transfer", &encode(&(address(bob), 5u128)));
    assert!(outcome.result.is_ok(), "the query runs the code");
    assert_eq!(
        query::<_, u128>(&chain, token, "balance_of", &(address(owner),)),
        1_000_000,
        "but its writes are discarded"
    );
}
