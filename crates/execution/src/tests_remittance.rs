//! Remittance module tests: a corridor's life, every rule of a remittance (roles, order,
//! quotes and their expiry, sanctions, per-transfer and per-day limits, liquidity, asset rules),
//! bad input, and under random histories: value conserved per asset, every failed operation
//! changing nothing but its sender's fee and nonce, and only legal status transitions.

use super::{FEE, TIMESTAMP_MS, World, failure, signer};
use crate::modules::{decode_record, event_topic, record_keys};
use formica_crypto::AccountSigner;
use formica_state::{StateKey, StateValue};
use formica_types::{
    AccountId, Amount, AssetOp, CorridorId, CorridorRecord, CorridorTerms, DAY_MS, FailureCode, FeeShares, KeyScheme,
    Module, Outcome, Payload, RejectReason, RemittanceId, RemittanceOp, RemittanceRecord, RemittanceStatus,
    SanctionEntry, Symbol, Transaction, remittance_id,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// 1 HKD = 7.25 PHP, as destination units per 10^8 source units.
const RATE: u128 = 725_000_000;
const EXPIRES_MS: u64 = TIMESTAMP_MS + 60_000;

fn symbol(text: &str) -> Symbol {
    Symbol::new(text).expect("valid symbol")
}

fn remit(op: RemittanceOp) -> Payload {
    Payload::Remittance(op)
}

/// The participants of a corridor and the two parties of its remittances, on a world where
/// `issuer` (issuer and regulator) has defined HKD and PHP and funded the sender and the
/// settlement account.
struct Corridor {
    world: World,
    issuer: AccountSigner,
    sending_wallet: AccountSigner,
    receiving_wallet: AccountSigner,
    settlement: AccountSigner,
    fx: AccountSigner,
    compliance: AccountSigner,
    sender: AccountSigner,
    recipient: AccountSigner,
    outsider: AccountSigner,
    id: CorridorId,
    source: Symbol,
    destination: Symbol,
}

impl World {
    fn remittance_record<R: crate::modules::ModuleRecord>(&self, key: &[u8]) -> Option<R> {
        let keys = record_keys::<R>(Module::Remittance, key);
        let chunks: Vec<_> = keys.iter().map(|key| self.records.get(key)).collect();
        decode_record(&chunks)
    }

    fn remittance(&self, id: &RemittanceId) -> RemittanceRecord {
        self.remittance_record(&RemittanceRecord::key(id)).expect("the remittance exists")
    }

    fn balance_of(&self, symbol: Symbol, account: &AccountId) -> u128 {
        if symbol.is_native() {
            self.account(account).map_or(0, |account| account.balance.get())
        } else {
            self.holding(symbol, account).balance.get()
        }
    }

    /// Every record but the fee collector's and `sender`'s account (which pay and take the fee).
    fn untouched_by(&self, sender: &AccountId) -> BTreeMap<StateKey, StateValue> {
        let skip = [StateKey::Account(*sender), StateKey::Account(self.parameters.fee_collector)];
        self.records.iter().filter(|(key, _)| !skip.contains(key)).map(|(k, v)| (*k, v.clone())).collect()
    }

    /// Runs `transaction` and requires it to fail with `code` and change nothing but its
    /// sender's fee and nonce.
    fn fails_cleanly(&mut self, transaction: Transaction, code: FailureCode) {
        let sender = transaction.body.sender;
        let before = self.untouched_by(&sender);
        let balance = self.balance_of(Symbol::NATIVE, &sender);
        let receipt = self.run(transaction).expect("admissible");
        assert_eq!(failure(&receipt), Some(code), "{:?}", receipt.outcome);
        assert!(receipt.events.is_empty());
        assert_eq!(self.untouched_by(&sender), before, "a failed operation changes nothing");
        assert_eq!(self.balance_of(Symbol::NATIVE, &sender), balance - FEE, "but its fee");
    }
}

fn terms(c: &Corridor) -> CorridorTerms {
    CorridorTerms {
        id: c.id,
        source: c.source,
        destination: c.destination,
        sending_wallet: c.sending_wallet.account_id(),
        receiving_wallet: c.receiving_wallet.account_id(),
        settlement: c.settlement.account_id(),
        fx_provider: c.fx.account_id(),
        compliance: c.compliance.account_id(),
        fee_flat: Amount(500),
        fee_bps: 50,
        fee_shares: FeeShares(vec![(c.sending_wallet.account_id(), 7_000), (c.settlement.account_id(), 3_000)]),
        per_transfer_max: Amount(1_000_000),
        daily_max: Amount(1_500_000),
    }
}

impl Corridor {
    /// A world with HKD and PHP issued and the `HKD-PHP` corridor defined (or, with `source`
    /// native, `FMC-PHP`).
    fn new(seed: u64, native_source: bool) -> Self {
        let signers: Vec<AccountSigner> =
            (0..8u64).map(|n| signer(KeyScheme::ALL[(n % 3) as usize], seed + n)).collect();
        let references: Vec<&AccountSigner> = signers.iter().collect();
        let (mut world, issuer) = World::with_issuer(&references);
        let mut signers = signers.into_iter();
        let mut next = || signers.next().expect("eight signers");
        let (hkd, php) = (symbol("HKD"), symbol("PHP"));
        for asset in [hkd, php] {
            world.ok(world.by(
                &issuer,
                Payload::Asset(AssetOp::Define { symbol: asset, decimals: 2, cap: None, allow_list: false }),
            ));
            world.ok(world.by(
                &issuer,
                Payload::Asset(AssetOp::Attest {
                    symbol: asset,
                    reserves: Amount(10_000_000_000),
                    reference: formica_types::hash_tagged(b"test/reserves", &[]),
                }),
            ));
        }
        let source = if native_source { Symbol::NATIVE } else { hkd };
        let mut corridor = Corridor {
            world,
            issuer,
            sending_wallet: next(),
            receiving_wallet: next(),
            settlement: next(),
            fx: next(),
            compliance: next(),
            sender: next(),
            recipient: next(),
            outsider: next(),
            id: CorridorId::new(if native_source { "FMC-PHP" } else { "HKD-PHP" }).expect("valid"),
            source,
            destination: php,
        };
        let c = &mut corridor;
        for (asset, to, amount) in [
            (hkd, c.sender.account_id(), 5_000_000),
            (hkd, c.outsider.account_id(), 5_000_000),
            (php, c.settlement.account_id(), 100_000_000),
        ] {
            c.world
                .ok(c.world.by(&c.issuer, Payload::Asset(AssetOp::Mint { symbol: asset, to, amount: Amount(amount) })));
        }
        let define = remit(RemittanceOp::DefineCorridor(terms(c)));
        let receipt = c.world.run(c.world.by(&c.issuer, define)).expect("admissible");
        assert_eq!(receipt.outcome, Outcome::Success);
        assert_eq!(receipt.events[0].contract, Module::Remittance.address());
        assert_eq!(receipt.events[0].topics[0], event_topic("remittance.corridor_defined"));
        corridor
    }

    fn everyone(&self) -> Vec<AccountId> {
        [
            &self.issuer,
            &self.sending_wallet,
            &self.receiving_wallet,
            &self.settlement,
            &self.fx,
            &self.compliance,
            &self.sender,
            &self.recipient,
            &self.outsider,
        ]
        .iter()
        .map(|signer| signer.account_id())
        .collect()
    }

    fn request_op(&self, reference: u64, amount: u128) -> RemittanceOp {
        RemittanceOp::Request {
            corridor: self.id,
            reference,
            sender: self.sender.account_id(),
            recipient: self.recipient.account_id(),
            amount: Amount(amount),
        }
    }

    /// The sending wallet requests `amount` under `reference` and the FX provider quotes it.
    fn quoted(&mut self, reference: u64, amount: u128) -> RemittanceId {
        self.world.ok(self.world.by(&self.sending_wallet, remit(self.request_op(reference, amount))));
        let id = remittance_id(&self.sending_wallet.account_id(), reference);
        assert_eq!(self.world.remittance(&id).status, RemittanceStatus::Requested);
        self.world.ok(self.world.by(&self.fx, remit(RemittanceOp::Quote { id, rate: RATE, expires_ms: EXPIRES_MS })));
        id
    }

    fn balance(&self, symbol: Symbol, who: &AccountSigner) -> u128 {
        self.world.balance_of(symbol, &who.account_id())
    }

    fn check_assets(&self) {
        let everyone = self.everyone();
        for asset in [symbol("HKD"), symbol("PHP")] {
            self.world.check_asset(asset, &everyone);
        }
    }
}

#[test]
fn a_remittance_is_requested_quoted_accepted_settled_atomically_and_refunded() {
    let mut c = Corridor::new(9_000, false);
    let (hkd, php) = (c.source, c.destination);
    let id = c.quoted(1, 100_000);
    let quote = c.world.remittance(&id).quote.expect("quoted");
    // Fee: 500 flat + 0.5% of 100_000; destination: 100_000 * 7.25.
    assert_eq!((quote.fee, quote.destination_amount, quote.expires_ms), (Amount(1_000), Amount(725_000), EXPIRES_MS));

    let receipt = c.world.run(c.world.by(&c.sender, remit(RemittanceOp::Accept { id }))).expect("admissible");
    assert_eq!(receipt.outcome, Outcome::Success);
    let settled = &receipt.events[0];
    assert_eq!(settled.topics[0], event_topic("remittance.settled"));
    assert_eq!(
        settled.topics[1..],
        [id.as_ref().try_into().expect("32 bytes"), c.sender.account_id().0, c.recipient.account_id().0]
    );
    let record = c.world.remittance(&id);
    assert_eq!((record.status, record.reason), (RemittanceStatus::Settled, None));
    // The sender paid amount and fee; the settlement account got the amount and 30% of the fee,
    // the sending wallet 70% of it; the recipient got the destination amount from the
    // settlement account's liquidity.
    assert_eq!(c.balance(hkd, &c.sender), 5_000_000 - 101_000);
    assert_eq!(c.balance(hkd, &c.settlement), 100_000 + 300);
    assert_eq!(c.balance(hkd, &c.sending_wallet), 700);
    assert_eq!(c.balance(php, &c.recipient), 725_000);
    assert_eq!(c.balance(php, &c.settlement), 100_000_000 - 725_000);
    c.check_assets();

    // Settled is final for everyone but the refunders.
    c.world.fails_cleanly(c.world.by(&c.sender, remit(RemittanceOp::Accept { id })), FailureCode::RemittanceState);
    c.world.fails_cleanly(
        c.world.by(&c.fx, remit(RemittanceOp::Quote { id, rate: RATE, expires_ms: EXPIRES_MS })),
        FailureCode::RemittanceState,
    );
    c.world.fails_cleanly(c.world.by(&c.sender, remit(RemittanceOp::Refund { id })), FailureCode::NotPermitted);
    c.world.fails_cleanly(c.world.by(&c.fx, remit(RemittanceOp::Refund { id })), FailureCode::NotPermitted);
    // The receiving wallet refunds out of its own destination holding: it has none yet.
    c.world.fails_cleanly(
        c.world.by(&c.receiving_wallet, remit(RemittanceOp::Refund { id })),
        FailureCode::InsufficientBalance,
    );
    let receipt = c.world.run(c.world.by(&c.recipient, remit(RemittanceOp::Refund { id }))).expect("admissible");
    assert_eq!(receipt.events[0].topics[0], event_topic("remittance.refunded"));
    assert_eq!(c.world.remittance(&id).status, RemittanceStatus::Refunded);
    assert_eq!(c.balance(hkd, &c.sender), 5_000_000 - 1_000, "the amount is back; the fee is kept");
    assert_eq!(c.balance(hkd, &c.settlement), 300);
    assert_eq!(c.balance(php, &c.recipient), 0);
    assert_eq!(c.balance(php, &c.settlement), 100_000_000);
    c.world.fails_cleanly(c.world.by(&c.settlement, remit(RemittanceOp::Refund { id })), FailureCode::RemittanceState);
    c.check_assets();
}

#[test]
fn every_party_may_do_only_its_own_part_in_order() {
    let mut c = Corridor::new(9_100, false);
    let w = |c: &Corridor, who: &AccountSigner, op: RemittanceOp| c.world.by(who, remit(op));
    // Only the sending wallet requests.
    for who in [&c.sender, &c.fx, &c.outsider] {
        let tx = w(&c, who, c.request_op(1, 1_000));
        c.world.fails_cleanly(tx, FailureCode::NotPermitted);
    }
    let id = remittance_id(&c.sending_wallet.account_id(), 1);
    // Nothing happens to a remittance that does not exist.
    for (who, op) in [
        (&c.fx, RemittanceOp::Quote { id, rate: RATE, expires_ms: EXPIRES_MS }),
        (&c.sender, RemittanceOp::Accept { id }),
        (&c.recipient, RemittanceOp::Refund { id }),
    ] {
        let tx = w(&c, who, op);
        c.world.fails_cleanly(tx, FailureCode::RemittanceMissing);
    }
    let tx = w(&c, &c.sending_wallet, c.request_op(1, 1_000));
    c.world.ok(tx);
    // Out of order: no acceptance or refund before a quote.
    let tx = w(&c, &c.sender, RemittanceOp::Accept { id });
    c.world.fails_cleanly(tx, FailureCode::RemittanceState);
    let tx = w(&c, &c.settlement, RemittanceOp::Refund { id });
    c.world.fails_cleanly(tx, FailureCode::RemittanceState);
    // Only the FX provider quotes; only the sender accepts.
    for who in [&c.sending_wallet, &c.sender, &c.settlement] {
        let tx = w(&c, who, RemittanceOp::Quote { id, rate: RATE, expires_ms: EXPIRES_MS });
        c.world.fails_cleanly(tx, FailureCode::NotPermitted);
    }
    let tx = w(&c, &c.fx, RemittanceOp::Quote { id, rate: RATE, expires_ms: EXPIRES_MS });
    c.world.ok(tx);
    for who in [&c.sending_wallet, &c.recipient, &c.fx, &c.outsider] {
        let tx = w(&c, who, RemittanceOp::Accept { id });
        c.world.fails_cleanly(tx, FailureCode::NotPermitted);
    }
    let tx = w(&c, &c.recipient, RemittanceOp::Refund { id });
    c.world.fails_cleanly(tx, FailureCode::RemittanceState);
    // The corridor: only a regulator defines and opens or closes it; only its compliance
    // account sets limits and keeps the sanctions list.
    let mut other = terms(&c);
    other.id = CorridorId::new("HKD-PHP.B").expect("valid");
    let tx = w(&c, &c.compliance, RemittanceOp::DefineCorridor(other));
    c.world.fails_cleanly(tx, FailureCode::NotPermitted);
    let tx = w(&c, &c.compliance, RemittanceOp::SetCorridorActive { corridor: c.id, active: false });
    c.world.fails_cleanly(tx, FailureCode::NotPermitted);
    for who in [&c.issuer, &c.sending_wallet, &c.settlement] {
        let limits = RemittanceOp::SetLimits { corridor: c.id, per_transfer_max: Amount(1), daily_max: Amount(1) };
        let tx = w(&c, who, limits);
        c.world.fails_cleanly(tx, FailureCode::NotPermitted);
        let sanction =
            RemittanceOp::SetSanctioned { corridor: c.id, account: c.recipient.account_id(), sanctioned: true };
        let tx = w(&c, who, sanction);
        c.world.fails_cleanly(tx, FailureCode::NotPermitted);
    }
    let tx = w(&c, &c.sender, RemittanceOp::Accept { id });
    c.world.ok(tx);
    assert_eq!(c.world.remittance(&id).status, RemittanceStatus::Settled);
    c.check_assets();
}

#[test]
fn bad_requests_quotes_and_corridors_are_refused() {
    let mut c = Corridor::new(9_200, false);
    let wallet = c.sending_wallet.account_id();
    let missing = AccountId([0xAB; 32]);
    let request = |c: &Corridor, corridor: CorridorId, reference, recipient: AccountId, amount| RemittanceOp::Request {
        corridor,
        reference,
        sender: c.sender.account_id(),
        recipient,
        amount: Amount(amount),
    };
    let unknown = CorridorId::new("USD-PHP").expect("valid");
    for (op, code) in [
        (request(&c, c.id, 1, c.recipient.account_id(), 0), FailureCode::InvalidRemittance),
        (request(&c, unknown, 1, c.recipient.account_id(), 10), FailureCode::CorridorMissing),
        (request(&c, c.id, 1, missing, 10), FailureCode::AccountMissing),
    ] {
        let tx = c.world.by(&c.sending_wallet, remit(op));
        c.world.fails_cleanly(tx, code);
    }
    let id = c.quoted(1, 1_000);
    let tx = c.world.by(&c.sending_wallet, remit(c.request_op(1, 5)));
    c.world.fails_cleanly(tx, FailureCode::RemittanceExists);
    for (rate, expires_ms) in [
        (0, EXPIRES_MS),              // no rate
        (RATE, TIMESTAMP_MS),         // expired when quoted
        (99_999, EXPIRES_MS),         // 1_000 units would buy nothing
        (u128::MAX / 10, EXPIRES_MS), // the destination amount overflows
    ] {
        let tx = c.world.by(&c.fx, remit(RemittanceOp::Quote { id, rate, expires_ms }));
        c.world.fails_cleanly(tx, FailureCode::InvalidRemittance);
    }
    assert_eq!(c.world.remittance(&id).quote.expect("quoted").rate, RATE, "the first quote stands");
    assert_eq!(remittance_id(&wallet, 1), id);

    // Corridors: unique names, existing assets and participants, fee shares that add up,
    // limits that make sense.
    let fresh = CorridorId::new("HKD-PHP.2").expect("valid");
    let base = CorridorTerms { id: fresh, ..terms(&c) };
    let cases = [
        (terms(&c), FailureCode::CorridorExists),
        (CorridorTerms { destination: symbol("EUR"), ..base.clone() }, FailureCode::AssetMissing),
        (CorridorTerms { fx_provider: missing, ..base.clone() }, FailureCode::AccountMissing),
        (CorridorTerms { fee_bps: 10_001, ..base.clone() }, FailureCode::InvalidCorridor),
        (CorridorTerms { fee_shares: FeeShares::default(), ..base.clone() }, FailureCode::InvalidCorridor),
        (CorridorTerms { fee_shares: FeeShares(vec![(wallet, 9_000)]), ..base.clone() }, FailureCode::InvalidCorridor),
        (CorridorTerms { per_transfer_max: Amount(0), ..base.clone() }, FailureCode::InvalidCorridor),
        (CorridorTerms { daily_max: Amount(999_999), ..base.clone() }, FailureCode::InvalidCorridor),
        (CorridorTerms { fee_shares: FeeShares(vec![(missing, 10_000)]), ..base.clone() }, FailureCode::AccountMissing),
    ];
    for (terms, code) in cases {
        let tx = c.world.by(&c.issuer, remit(RemittanceOp::DefineCorridor(terms)));
        c.world.fails_cleanly(tx, code);
    }
    // A corridor without fees needs no fee recipients.
    let free = CorridorTerms { fee_flat: Amount(0), fee_bps: 0, fee_shares: FeeShares::default(), ..base };
    c.world.ok(c.world.by(&c.issuer, remit(RemittanceOp::DefineCorridor(free))));

    // Limits and the sanctions list.
    let compliance = &c.compliance;
    let limits = |per_transfer_max, daily_max| RemittanceOp::SetLimits {
        corridor: c.id,
        per_transfer_max: Amount(per_transfer_max),
        daily_max: Amount(daily_max),
    };
    c.world.fails_cleanly(c.world.by(compliance, remit(limits(0, 10))), FailureCode::InvalidCorridor);
    c.world.fails_cleanly(c.world.by(compliance, remit(limits(11, 10))), FailureCode::InvalidCorridor);
    let tx = c.world.by(compliance, remit(limits(10, 10)));
    c.world.ok(tx);
    let record: CorridorRecord = c.world.remittance_record(&CorridorRecord::key(&c.id)).expect("defined");
    assert_eq!((record.terms.per_transfer_max, record.terms.daily_max), (Amount(10), Amount(10)));
    let account = c.outsider.account_id();
    let sanction = |sanctioned| RemittanceOp::SetSanctioned { corridor: c.id, account, sanctioned };
    c.world.fails_cleanly(c.world.by(compliance, remit(sanction(false))), FailureCode::SanctionUnchanged);
    let tx = c.world.by(compliance, remit(sanction(true)));
    c.world.ok(tx);
    let entry_key = SanctionEntry::key(&compliance.account_id(), &account);
    assert!(c.world.remittance_record::<SanctionEntry>(&entry_key).is_some());
    c.world.fails_cleanly(c.world.by(compliance, remit(sanction(true))), FailureCode::SanctionUnchanged);
    let tx = c.world.by(compliance, remit(sanction(false)));
    c.world.ok(tx);
    assert!(c.world.remittance_record::<SanctionEntry>(&entry_key).is_none(), "delisting deletes the entry");
}

#[test]
fn an_expired_quote_cannot_be_accepted_but_can_be_quoted_again() {
    let mut c = Corridor::new(9_300, false);
    let id = c.quoted(1, 100_000);
    c.world.timestamp_ms = EXPIRES_MS;
    let tx = c.world.by(&c.sender, remit(RemittanceOp::Accept { id }));
    c.world.fails_cleanly(tx, FailureCode::QuoteExpired);
    assert_eq!(c.world.remittance(&id).status, RemittanceStatus::Quoted, "still quoted");
    let tx = c.world.by(&c.fx, remit(RemittanceOp::Quote { id, rate: RATE + 1, expires_ms: EXPIRES_MS + 1 }));
    c.world.ok(tx);
    let tx = c.world.by(&c.sender, remit(RemittanceOp::Accept { id }));
    c.world.ok(tx);
    assert_eq!(c.world.remittance(&id).status, RemittanceStatus::Settled);
    assert_eq!(c.balance(c.destination, &c.recipient), 725_000, "the new rate, rounded down");
    c.check_assets();
}

/// Accepts `id` and requires a rejection for `reason` that moved nothing.
fn rejected(c: &mut Corridor, id: RemittanceId, reason: RejectReason) {
    let everyone = c.everyone();
    let holdings = |c: &Corridor| -> Vec<u128> {
        everyone.iter().flat_map(|a| [c.world.balance_of(c.source, a), c.world.balance_of(c.destination, a)]).collect()
    };
    let before = holdings(c);
    let receipt = c.world.run(c.world.by(&c.sender, remit(RemittanceOp::Accept { id }))).expect("admissible");
    assert_eq!(receipt.outcome, Outcome::Success, "a rejection is an outcome, not a failure");
    assert_eq!(receipt.events[0].topics[0], event_topic("remittance.rejected"));
    assert_eq!(receipt.events[0].data, vec![reason.code()]);
    let record = c.world.remittance(&id);
    assert_eq!((record.status, record.reason), (RemittanceStatus::Rejected, Some(reason)));
    let mut after = holdings(c);
    if c.source.is_native() {
        // The sender paid the transaction fee in the native asset.
        let sender = everyone.iter().position(|a| *a == c.sender.account_id()).expect("listed");
        after[2 * sender] += FEE;
    }
    assert_eq!(after, before, "a rejected remittance moves nothing");
    // Rejection is final.
    let tx = c.world.by(&c.sender, remit(RemittanceOp::Accept { id }));
    c.world.fails_cleanly(tx, FailureCode::RemittanceState);
    let tx = c.world.by(&c.fx, remit(RemittanceOp::Quote { id, rate: RATE, expires_ms: EXPIRES_MS }));
    c.world.fails_cleanly(tx, FailureCode::RemittanceState);
}

#[test]
fn compliance_rejects_sanctioned_over_limit_and_unfunded_transfers_with_the_reason() {
    let mut c = Corridor::new(9_400, false);
    let sanction = |c: &Corridor, account: AccountId, sanctioned| {
        c.world.by(&c.compliance, remit(RemittanceOp::SetSanctioned { corridor: c.id, account, sanctioned }))
    };
    // Sanctioned sender, then sanctioned recipient.
    let tx = sanction(&c, c.sender.account_id(), true);
    c.world.ok(tx);
    let id = c.quoted(1, 100_000);
    rejected(&mut c, id, RejectReason::SenderSanctioned);
    let tx = sanction(&c, c.sender.account_id(), false);
    c.world.ok(tx);
    let tx = sanction(&c, c.recipient.account_id(), true);
    c.world.ok(tx);
    let id = c.quoted(2, 100_000);
    rejected(&mut c, id, RejectReason::RecipientSanctioned);
    let tx = sanction(&c, c.recipient.account_id(), false);
    c.world.ok(tx);

    // Over the per-transfer limit (1_000_000).
    let id = c.quoted(3, 1_000_001);
    rejected(&mut c, id, RejectReason::OverTransferLimit);
    // The per-day limit (1_500_000) counts what settled today.
    let first = c.quoted(4, 900_000);
    let second = c.quoted(5, 600_001);
    let third = c.quoted(6, 600_000);
    c.world.ok(c.world.by(&c.sender, remit(RemittanceOp::Accept { id: first })));
    rejected(&mut c, second, RejectReason::OverDailyLimit);
    c.world.ok(c.world.by(&c.sender, remit(RemittanceOp::Accept { id: third })));
    // The next day starts from zero.
    let fourth = c.quoted(7, 1_000_000);
    let fifth = c.quoted(8, 1_000_000);
    rejected(&mut c, fourth, RejectReason::OverDailyLimit);
    c.world.timestamp_ms = TIMESTAMP_MS + DAY_MS;
    let tx = c.world.by(&c.fx, remit(RemittanceOp::Quote { id: fifth, rate: RATE, expires_ms: EXPIRES_MS + DAY_MS }));
    c.world.ok(tx);
    c.world.ok(c.world.by(&c.sender, remit(RemittanceOp::Accept { id: fifth })));

    // The settlement account must hold the destination amount: 100_000_000 - 7.25 * 2_500_000
    // is left; a remittance of 1_000_000 HKD needs 7_250_000 PHP, so first drain it.
    let drain = c.balance(c.destination, &c.settlement) - 7_000_000;
    let tx = c.world.by(
        &c.settlement,
        Payload::Asset(AssetOp::Transfer { symbol: c.destination, to: c.outsider.account_id(), amount: Amount(drain) }),
    );
    c.world.ok(tx);
    c.world.timestamp_ms = TIMESTAMP_MS + 2 * DAY_MS;
    c.world.ok(c.world.by(&c.sending_wallet, remit(c.request_op(9, 1_000_000))));
    let id = remittance_id(&c.sending_wallet.account_id(), 9);
    let expires_ms = c.world.timestamp_ms + 60_000;
    c.world.ok(c.world.by(&c.fx, remit(RemittanceOp::Quote { id, rate: RATE, expires_ms })));
    rejected(&mut c, id, RejectReason::InsufficientLiquidity);
    c.check_assets();
}

#[test]
fn asset_rules_and_closed_corridors_stop_a_remittance_which_stays_quoted() {
    let mut c = Corridor::new(9_500, false);
    let id = c.quoted(1, 100_000);
    let recipient = c.recipient.account_id();
    // A frozen recipient holding fails the whole acceptance: nothing moves, still quoted.
    let freeze =
        |frozen| Payload::Asset(AssetOp::SetHoldingFrozen { symbol: c.destination, account: recipient, frozen });
    c.world.ok(c.world.by(&c.issuer, freeze(true)));
    let tx = c.world.by(&c.sender, remit(RemittanceOp::Accept { id }));
    c.world.fails_cleanly(tx, FailureCode::HoldingFrozen);
    c.world.ok(c.world.by(&c.issuer, freeze(false)));
    // A paused source asset, likewise.
    let pause = |paused| Payload::Asset(AssetOp::SetPaused { symbol: c.source, paused });
    c.world.ok(c.world.by(&c.issuer, pause(true)));
    let tx = c.world.by(&c.sender, remit(RemittanceOp::Accept { id }));
    c.world.fails_cleanly(tx, FailureCode::AssetPaused);
    c.world.ok(c.world.by(&c.issuer, pause(false)));
    assert_eq!(c.world.remittance(&id).status, RemittanceStatus::Quoted);

    // A closed corridor takes no request, quote or acceptance; a refund still applies.
    let close = |active| remit(RemittanceOp::SetCorridorActive { corridor: c.id, active });
    c.world.ok(c.world.by(&c.issuer, close(false)));
    c.world.fails_cleanly(c.world.by(&c.issuer, close(false)), FailureCode::InvalidCorridor);
    let tx = c.world.by(&c.sending_wallet, remit(c.request_op(2, 1_000)));
    c.world.fails_cleanly(tx, FailureCode::CorridorInactive);
    let tx = c.world.by(&c.fx, remit(RemittanceOp::Quote { id, rate: RATE, expires_ms: EXPIRES_MS }));
    c.world.fails_cleanly(tx, FailureCode::CorridorInactive);
    let tx = c.world.by(&c.sender, remit(RemittanceOp::Accept { id }));
    c.world.fails_cleanly(tx, FailureCode::CorridorInactive);
    c.world.ok(c.world.by(&c.issuer, close(true)));
    c.world.ok(c.world.by(&c.sender, remit(RemittanceOp::Accept { id })));
    c.world.ok(c.world.by(&c.issuer, close(false)));
    c.world.ok(c.world.by(&c.settlement, remit(RemittanceOp::Refund { id })));
    assert_eq!(c.world.remittance(&id).status, RemittanceStatus::Refunded);
    // The settlement account refunded out of its own pocket: the sender has its HKD back and
    // the recipient keeps the PHP.
    assert_eq!(c.balance(c.source, &c.settlement), 300);
    assert_eq!(c.balance(c.destination, &c.recipient), 725_000, "the recipient keeps what it received");
    c.check_assets();
}

#[test]
fn the_native_asset_can_be_a_corridors_source() {
    let mut c = Corridor::new(9_600, true);
    let sender_before = c.balance(Symbol::NATIVE, &c.sender);
    let id = c.quoted(1, 100_000);
    c.world.ok(c.world.by(&c.sender, remit(RemittanceOp::Accept { id })));
    assert_eq!(c.balance(Symbol::NATIVE, &c.sender), sender_before - 101_000 - FEE);
    assert_eq!(c.balance(c.destination, &c.recipient), 725_000);
    c.world.ok(c.world.by(&c.recipient, remit(RemittanceOp::Refund { id })));
    assert_eq!(c.balance(Symbol::NATIVE, &c.sender), sender_before - 1_000 - FEE);
    c.check_assets();
}

/// One step of a random history: who does what to which of a few remittances.
#[derive(Clone, Debug)]
enum Step {
    Request { reference: u64, amount: u32 },
    Quote { reference: u64, rate: u32, ttl_ms: u32 },
    Accept { reference: u64 },
    Refund { reference: u64, by: usize },
    Sanction { account: usize, sanctioned: bool },
    Limits { per_transfer: u32, daily: u32 },
    Clock { ms: u32 },
    AcceptBy { reference: u64, by: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..4u64, 0..2_000_000u32).prop_map(|(reference, amount)| Step::Request { reference, amount }),
        3 => (0..4u64, 0..2_000_000_000u32, 0..120_000u32).prop_map(|(reference, rate, ttl_ms)| Step::Quote { reference, rate, ttl_ms }),
        4 => (0..4u64).prop_map(|reference| Step::Accept { reference }),
        2 => (0..4u64, 0..3usize).prop_map(|(reference, by)| Step::Refund { reference, by }),
        1 => (0..2usize, any::<bool>()).prop_map(|(account, sanctioned)| Step::Sanction { account, sanctioned }),
        1 => (0..2_000_000u32, 0..3_000_000u32).prop_map(|(per_transfer, daily)| Step::Limits { per_transfer, daily }),
        1 => (0..50_000_000u32).prop_map(|ms| Step::Clock { ms }),
        1 => (0..4u64, 0..9usize).prop_map(|(reference, by)| Step::AcceptBy { reference, by }),
    ]
}

/// The transitions a remittance may make in one operation.
fn legal(before: Option<RemittanceStatus>, after: RemittanceStatus) -> bool {
    use RemittanceStatus::*;
    matches!(
        (before, after),
        (None, Requested)
            | (Some(Requested), Quoted)
            | (Some(Quoted), Quoted | Settled | Rejected)
            | (Some(Settled), Refunded)
    ) || before == Some(after)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever the history: each asset's holdings sum to its supply (value is conserved), a
    /// failed operation changes nothing but its sender's fee and nonce, a remittance moves only
    /// along legal transitions, and execution over the reads matches execution over the whole
    /// state (checked by `World::block`).
    #[test]
    fn random_remittance_histories_conserve_value_and_fail_cleanly(steps in prop::collection::vec(step(), 1..40)) {
        let mut c = Corridor::new(9_700, false);
        let wallet = c.sending_wallet.account_id();
        for step in steps {
            let (who, op) = match step {
                Step::Request { reference, amount } => (&c.sending_wallet, c.request_op(reference, amount.into())),
                Step::Quote { reference, rate, ttl_ms } => (&c.fx, RemittanceOp::Quote {
                    id: remittance_id(&wallet, reference),
                    rate: rate.into(),
                    expires_ms: c.world.timestamp_ms + u64::from(ttl_ms),
                }),
                Step::Accept { reference } => (&c.sender, RemittanceOp::Accept { id: remittance_id(&wallet, reference) }),
                Step::Refund { reference, by } => {
                    let by = [&c.recipient, &c.receiving_wallet, &c.settlement][by];
                    (by, RemittanceOp::Refund { id: remittance_id(&wallet, reference) })
                }
                Step::Sanction { account, sanctioned } => {
                    let account = [&c.sender, &c.recipient][account].account_id();
                    (&c.compliance, RemittanceOp::SetSanctioned { corridor: c.id, account, sanctioned })
                }
                Step::Limits { per_transfer, daily } => (&c.compliance, RemittanceOp::SetLimits {
                    corridor: c.id,
                    per_transfer_max: Amount(per_transfer.into()),
                    daily_max: Amount(daily.into()),
                }),
                Step::Clock { ms } => {
                    c.world.timestamp_ms += u64::from(ms);
                    continue;
                }
                Step::AcceptBy { reference, by } => {
                    let everyone = [&c.issuer, &c.sending_wallet, &c.receiving_wallet, &c.settlement, &c.fx, &c.compliance, &c.sender, &c.recipient, &c.outsider];
                    (everyone[by], RemittanceOp::Accept { id: remittance_id(&wallet, reference) })
                }
            };
            let watched: Vec<RemittanceId> = (0..4).map(|reference| remittance_id(&wallet, reference)).collect();
            let statuses = |world: &World| -> Vec<Option<RemittanceStatus>> {
                watched.iter().map(|id| world.remittance_record::<RemittanceRecord>(&RemittanceRecord::key(id)).map(|r| r.status)).collect()
            };
            let before = statuses(&c.world);
            let sender = who.account_id();
            let untouched = c.world.untouched_by(&sender);
            let transaction = c.world.by(who, remit(op));
            let receipt = c.world.run(transaction).expect("admissible");
            if !receipt.succeeded() {
                prop_assert!(receipt.events.is_empty());
                prop_assert_eq!(&c.world.untouched_by(&sender), &untouched, "a failed operation changes nothing");
            }
            for (before, after) in before.into_iter().zip(statuses(&c.world)) {
                if let Some(after) = after {
                    prop_assert!(legal(before, after), "{before:?} -> {after:?}");
                } else {
                    prop_assert!(before.is_none(), "a remittance never disappears");
                }
            }
            c.check_assets();
        }
        // Transfers never mint or burn.
        prop_assert_eq!(c.world.asset(symbol("PHP")).expect("defined").supply, Amount(100_000_000));
        prop_assert_eq!(c.world.asset(symbol("HKD")).expect("defined").supply, Amount(10_000_000));
    }
}
