//! The remittance workload: cross-border remittances settled through the remittance module.
//!
//! # What is measured
//! A remittance takes three transactions: the sending wallet requests it, the FX provider
//! quotes it, and the sender accepts the quote, which runs compliance (sanctions, per-transfer
//! and daily limits) and settles atomically (source asset debited, destination asset credited
//! from the settlement institution's liquidity, fees shared). The measured phase is the
//! settlement: pre-signed acceptances from many customers, driven closed or open loop like
//! transfers. The requests and quotes are set up before it (each is one organisation's account,
//! so they are submitted as fast as that account's nonce window allows and are not timed).
//!
//! # Participants (workload account indexes)
//! - [`ISSUER`]: issuer and regulator (granted at genesis). It defines both assets, attests
//!   reserves, mints the source asset to every customer and the destination asset to itself,
//!   and defines the corridor; it is also the corridor's receiving wallet, settlement
//!   institution and compliance account.
//! - [`WALLET`]: the sending wallet (requests every remittance; its fee share is 100 %).
//! - [`FX`]: the FX provider (quotes every remittance at 2 destination units per source unit).
//! - Accounts from [`FIRST_CUSTOMER`]: customers. Remittance `r` is customer
//!   `FIRST_CUSTOMER + r % customers`'s, so acceptances rotate through the customers and each
//!   customer's nonces are consecutive; its recipient is drawn from the chosen distribution.

use super::workload::{PlannedCall, Sampler, SplitMix64};
use formica_types::{
    AccountId, Amount, AssetOp, CorridorId, CorridorTerms, FeeShares, Hash, Payload, RATE_SCALE, RemittanceId,
    RemittanceOp, Role, Symbol, remittance_id,
};

pub const ISSUER: u64 = 0;
pub const WALLET: u64 = 1;
pub const FX: u64 = 2;
pub const FIRST_CUSTOMER: u64 = 3;

/// What one remittance sends, in source units.
pub const AMOUNT: u128 = 1_000;
/// What each customer is minted: far more than any run spends.
const CUSTOMER_FUNDS: u128 = 1_000_000_000_000;
const RESERVES: u128 = 1_000_000_000_000_000_000_000;

pub fn source() -> Symbol {
    Symbol::new("HKD").expect("a valid symbol")
}

pub fn destination() -> Symbol {
    Symbol::new("PHP").expect("a valid symbol")
}

pub fn corridor() -> CorridorId {
    CorridorId::new("HKD-PHP").expect("a valid corridor name")
}

/// The roles the workload needs at genesis.
pub fn genesis_roles(ids: &[AccountId]) -> Vec<formica_types::GenesisRole> {
    [Role::Issuer, Role::Regulator]
        .into_iter()
        .map(|role| formica_types::GenesisRole { account: ids[ISSUER as usize], role })
        .collect()
}

/// The planned remittance workload.
pub struct Plan {
    /// Set-up phases, in order; each must be final before the next starts.
    pub setup: Vec<(&'static str, Vec<PlannedCall>)>,
    /// The measured phase: one acceptance per remittance.
    pub accepts: Vec<PlannedCall>,
    /// The remittances' ids, in the order of `accepts`.
    pub ids: Vec<RemittanceId>,
}

/// Plans `count` remittances over the workload's `ids` (at least [`FIRST_CUSTOMER`] + 2).
pub fn plan(ids: &[AccountId], count: usize, sampler: &Sampler, rng: &mut SplitMix64) -> Plan {
    let accounts = ids.len() as u64;
    assert!(accounts > FIRST_CUSTOMER + 1, "the remittance workload needs at least two customers");
    let customers = accounts - FIRST_CUSTOMER;
    let id = |index: u64| ids[index as usize];

    let mut issue = Vec::new();
    let mut issuer_call = |payload| {
        let nonce = issue.len() as u64;
        issue.push(PlannedCall { sender: ISSUER, nonce, payload });
    };
    for (symbol, reference) in [(source(), 1u8), (destination(), 2u8)] {
        issuer_call(Payload::Asset(AssetOp::Define { symbol, decimals: 2, cap: None, allow_list: false }));
        issuer_call(Payload::Asset(AssetOp::Attest {
            symbol,
            reserves: Amount(RESERVES),
            reference: Hash::from([reference; 32]),
        }));
    }
    issuer_call(Payload::Asset(AssetOp::Mint { symbol: destination(), to: id(ISSUER), amount: Amount(RESERVES) }));
    issuer_call(Payload::Remittance(RemittanceOp::DefineCorridor(CorridorTerms {
        id: corridor(),
        source: source(),
        destination: destination(),
        sending_wallet: id(WALLET),
        receiving_wallet: id(ISSUER),
        settlement: id(ISSUER),
        fx_provider: id(FX),
        compliance: id(ISSUER),
        fee_flat: Amount(1),
        fee_bps: 10,
        fee_shares: FeeShares(vec![(id(WALLET), 10_000)]),
        per_transfer_max: Amount(AMOUNT * 10),
        daily_max: Amount(RESERVES),
    })));
    for customer in 0..customers.min(count as u64) {
        let to = id(FIRST_CUSTOMER + customer);
        issuer_call(Payload::Asset(AssetOp::Mint { symbol: source(), to, amount: Amount(CUSTOMER_FUNDS) }));
    }

    let mut requests = Vec::with_capacity(count);
    let mut quotes = Vec::with_capacity(count);
    let mut accepts = Vec::with_capacity(count);
    let mut remittances = Vec::with_capacity(count);
    for (index, reference) in (0..count as u64).enumerate() {
        let sender = FIRST_CUSTOMER + reference % customers;
        let mut recipient = sampler.sample(rng);
        if recipient == sender {
            recipient = (recipient + 1) % accounts;
        }
        let remittance = remittance_id(&id(WALLET), reference);
        requests.push(PlannedCall {
            sender: WALLET,
            nonce: index as u64,
            payload: Payload::Remittance(RemittanceOp::Request {
                corridor: corridor(),
                reference,
                sender: id(sender),
                recipient: id(recipient),
                amount: Amount(AMOUNT),
            }),
        });
        quotes.push(PlannedCall {
            sender: FX,
            nonce: index as u64,
            payload: Payload::Remittance(RemittanceOp::Quote {
                id: remittance,
                rate: 2 * RATE_SCALE,
                expires_ms: u64::MAX / 2,
            }),
        });
        accepts.push(PlannedCall {
            sender,
            nonce: reference / customers,
            payload: Payload::Remittance(RemittanceOp::Accept { id: remittance }),
        });
        remittances.push(remittance);
    }
    Plan { setup: vec![("issue", issue), ("request", requests), ("quote", quotes)], accepts, ids: remittances }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::workload::{Distribution, accounts};

    #[test]
    fn every_sender_has_consecutive_nonces_and_each_remittance_is_requested_quoted_and_accepted_once() {
        let (_, ids) = accounts(5, 7, 2);
        let sampler = Sampler::new(Distribution::Uniform, 7, 1.0);
        let plan = plan(&ids, 23, &sampler, &mut SplitMix64::new(1));
        assert_eq!(plan.accepts.len(), 23);
        assert_eq!(plan.ids.iter().collect::<std::collections::BTreeSet<_>>().len(), 23);
        let mut next = std::collections::BTreeMap::<u64, u64>::new();
        for call in plan.setup.iter().flat_map(|(_, calls)| calls).chain(&plan.accepts) {
            let expected = next.entry(call.sender).or_insert(0);
            assert_eq!(call.nonce, *expected, "sender {} out of order", call.sender);
            *expected += 1;
        }
        // 4 customers, 23 remittances: customers 0..3 accept 6, 6, 6 and 5.
        assert_eq!(next[&FIRST_CUSTOMER], 6);
        assert_eq!(next[&(FIRST_CUSTOMER + 3)], 5);
        for (accept, id) in plan.accepts.iter().zip(&plan.ids) {
            assert_eq!(accept.payload, Payload::Remittance(RemittanceOp::Accept { id: *id }));
            assert!(accept.sender >= FIRST_CUSTOMER);
        }
        for call in &plan.setup[1].1 {
            let Payload::Remittance(RemittanceOp::Request { sender, recipient, .. }) = &call.payload else {
                panic!("the request phase holds requests only")
            };
            assert_ne!(sender, recipient);
        }
    }
}
