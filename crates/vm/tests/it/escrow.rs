//! The multi-party escrow example.

use crate::examples::{address, call, query, reverts, wasm};
use formica_contract::{Address, Codec, DecodeError, encode};
use formica_types::AccountId;
use formica_vm::testing::TestChain;

/// `Status` in the contract: 0 open, 1 released, 2 refunded.
type Status = u8;

/// The contract's `Escrow` record.
#[derive(Debug)]
struct Escrow {
    depositor: Address,
    beneficiary: Address,
    amount: u128,
    approvals: Vec<Address>,
    status: Status,
}

impl Codec for Escrow {
    fn encode_to(&self, _out: &mut Vec<u8>) {
        unreachable!("the tests only decode escrows")
    }
    fn decode_from(input: &mut &[u8]) -> Result<Self, DecodeError> {
        let (depositor, beneficiary, amount, _arbiters, _needed, approvals, _deadline, status) =
            <(Address, Address, u128, Vec<Address>, u8, Vec<Address>, u64, u8)>::decode_from(input)?;
        Ok(Self { depositor, beneficiary, amount, approvals, status })
    }
}

struct Setup {
    chain: TestChain,
    escrow: AccountId,
    depositor: AccountId,
    beneficiary: AccountId,
    arbiters: Vec<AccountId>,
}

const HOUR_MS: u64 = 3_600_000;

/// An escrow contract and escrow 1: 1,000 for the beneficiary, 2 of 3 arbiters, one hour.
fn opened() -> Setup {
    let mut chain = TestChain::default();
    let depositor = chain.account("depositor", 10_000);
    let beneficiary = chain.account("beneficiary", 0);
    let arbiters: Vec<AccountId> = ["a", "b", "c"].iter().map(|name| chain.account(name, 0)).collect();
    let escrow = chain.deploy(depositor, &wasm("escrow"), &[]).expect("deploys");
    let deadline = chain.timestamp_ms + HOUR_MS;
    let args = (1u64, address(beneficiary), arbiters.iter().map(|a| address(*a)).collect::<Vec<_>>(), 2u8, deadline);
    call::<_, ()>(&mut chain, depositor, escrow, "open", &args, 1_000);
    Setup { chain, escrow, depositor, beneficiary, arbiters }
}

#[test]
fn enough_approvals_release_the_value() {
    let Setup { mut chain, escrow, depositor, beneficiary, arbiters } = opened();
    assert_eq!(chain.balance(&escrow), Some(1_000));
    assert_eq!(chain.balance(&depositor), Some(9_000));
    let status: u8 = call(&mut chain, arbiters[0], escrow, "approve", &(1u64,), 0);
    assert_eq!(status, 0, "one approval of two");
    assert_eq!(reverts(&mut chain, arbiters[0], escrow, "approve", &(1u64,), 0), "AlreadyApproved");
    assert_eq!(reverts(&mut chain, beneficiary, escrow, "approve", &(1u64,), 0), "NotArbiter");
    let status: u8 = call(&mut chain, arbiters[2], escrow, "approve", &(1u64,), 0);
    assert_eq!(status, 1, "released");
    assert_eq!(chain.balance(&beneficiary), Some(1_000));
    assert_eq!(chain.balance(&escrow), Some(0));
    let record: Option<Escrow> = query(&chain, escrow, "get", &(1u64,));
    let record = record.expect("the escrow exists");
    assert_eq!(
        (record.depositor, record.beneficiary, record.amount),
        (address(depositor), address(beneficiary), 1_000)
    );
    assert_eq!(record.approvals, vec![address(arbiters[0]), address(arbiters[2])]);
    assert_eq!(reverts(&mut chain, arbiters[1], escrow, "approve", &(1u64,), 0), "NotOpen");
}

#[test]
fn after_the_deadline_only_a_refund_is_possible() {
    let Setup { mut chain, escrow, depositor, beneficiary, arbiters } = opened();
    call::<_, u8>(&mut chain, arbiters[0], escrow, "approve", &(1u64,), 0);
    assert_eq!(reverts(&mut chain, depositor, escrow, "refund", &(1u64,), 0), "DeadlineNotReached");
    chain.advance(7_200, HOUR_MS);
    assert_eq!(reverts(&mut chain, arbiters[1], escrow, "approve", &(1u64,), 0), "DeadlinePassed");
    assert_eq!(reverts(&mut chain, beneficiary, escrow, "refund", &(1u64,), 0), "NotDepositor");
    call::<_, ()>(&mut chain, depositor, escrow, "refund", &(1u64,), 0);
    assert_eq!(chain.balance(&depositor), Some(10_000));
    assert_eq!(chain.balance(&escrow), Some(0));
    let record: Option<Escrow> = query(&chain, escrow, "get", &(1u64,));
    assert_eq!(record.expect("exists").status, 2);
    assert_eq!(reverts(&mut chain, depositor, escrow, "refund", &(1u64,), 0), "NotOpen");
}

#[test]
fn bad_escrows_are_refused_and_the_value_returned() {
    let Setup { mut chain, escrow, depositor, beneficiary, arbiters } = opened();
    let deadline = chain.timestamp_ms + HOUR_MS;
    let arbiter = address(arbiters[0]);
    let cases = [
        ((1u64, address(beneficiary), vec![arbiter], 1u8, deadline), 10u128, "EscrowExists"),
        ((2, address(beneficiary), vec![arbiter], 1, deadline), 0, "NoValue"),
        ((2, address(beneficiary), vec![arbiter, arbiter], 1, deadline), 10, "InvalidArbiters"),
        ((2, address(beneficiary), vec![arbiter], 2, deadline), 10, "InvalidArbiters"),
        ((2, address(beneficiary), vec![], 0, deadline), 10, "InvalidArbiters"),
        ((2, address(beneficiary), vec![arbiter], 1, chain.timestamp_ms), 10, "DeadlinePassed"),
    ];
    for (args, value, expected) in cases {
        assert_eq!(reverts(&mut chain, depositor, escrow, "open", &args, value), expected);
    }
    assert_eq!(chain.balance(&depositor), Some(9_000), "every refused deposit was returned");
    let missing = chain.call(depositor, escrow, "approve", &encode(&(9u64,)), 0);
    assert!(missing.result.is_err());
}
