//! Finance module tests: a receivable acknowledged, split down the supply chain, financed at a
//! discount and settled at maturity; who may do what; splitting more than is held, double
//! financing and steps out of order, each refused with its code and without a trace; an invoice
//! backing at most one receivable; and, under random histories, the parts always summing to the
//! receivable, the settled amount matching the settled parts, and the currency conserved.

use super::{GENESIS_BALANCE, TIMESTAMP_MS, World, failure, signer};
use crate::modules::{decode_record, event_topic, finance::part_topic, record_keys};
use formica_crypto::AccountSigner;
use formica_state::{StateKey, StateValue};
use formica_types::{
    AccountId, Amount, AssetOp, Discount, FailureCode, FinanceOp, Hash, InvoiceNumber, InvoiceOp, InvoiceStatus,
    InvoiceTerms, KeyScheme, Module, Outcome, Part, PartStatus, Payload, Receivable, ReceivableInvoice,
    ReceivableTerms, Share, Symbol, Transaction, hash_tagged, receivable_id,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// The maturity of every test receivable: a day after the test blocks' time.
const MATURITY_MS: u64 = TIMESTAMP_MS + 86_400_000;

fn reference(text: &str) -> InvoiceNumber {
    InvoiceNumber::new(text).expect("valid reference")
}

fn hkd() -> Symbol {
    Symbol::new("HKD").expect("valid symbol")
}

fn terms(text: &str, supplier: &AccountSigner, currency: Symbol, amount: u128) -> ReceivableTerms {
    ReceivableTerms {
        reference: reference(text),
        supplier: supplier.account_id(),
        currency,
        amount: Amount(amount),
        maturity_ms: MATURITY_MS,
        invoice: None,
    }
}

fn finance(op: FinanceOp) -> Payload {
    Payload::Finance(op)
}

fn shares(parts: &[(&AccountSigner, u128)]) -> Vec<Share> {
    parts.iter().map(|(holder, amount)| Share { holder: holder.account_id(), amount: Amount(*amount) }).collect()
}

impl World {
    fn finance_record<R: crate::modules::ModuleRecord>(&self, key: &[u8]) -> Option<R> {
        let keys = record_keys::<R>(Module::Finance, key);
        let chunks: Vec<_> = keys.iter().map(|key| self.records.get(key)).collect();
        decode_record(&chunks)
    }

    fn receivable(&self, id: &Hash) -> Receivable {
        self.finance_record(&Receivable::key(id)).expect("acknowledged")
    }

    fn part(&self, id: &Hash, number: u16) -> Part {
        self.finance_record(&Part::key(id, number)).expect("a part")
    }

    /// A world with HKD defined and `amount` of it minted to each of `funded`.
    fn with_hkd(holders: &[&AccountSigner], funded: &[&AccountSigner], amount: u128) -> (World, AccountSigner) {
        let (mut world, issuer) = World::with_issuer(holders);
        let asset = |op| Payload::Asset(op);
        world
            .ok(world.by(&issuer, asset(AssetOp::Define { symbol: hkd(), decimals: 2, cap: None, allow_list: false })));
        let reserves = Amount(amount * funded.len() as u128);
        let reference = hash_tagged(b"test/reserve-report", &[]);
        world.ok(world.by(&issuer, asset(AssetOp::Attest { symbol: hkd(), reserves, reference })));
        for who in funded {
            let mint = AssetOp::Mint { symbol: hkd(), to: who.account_id(), amount: Amount(amount) };
            world.ok(world.by(&issuer, asset(mint)));
        }
        (world, issuer)
    }

    fn hkd(&self, who: &AccountSigner) -> u128 {
        self.holding(hkd(), &who.account_id()).balance.get()
    }

    /// Everything but the account records (which a failed transaction changes by its fee and
    /// nonce only).
    fn non_accounts(&self) -> BTreeMap<StateKey, StateValue> {
        self.records
            .iter()
            .filter(|(key, _)| !matches!(key, StateKey::Account(_)))
            .map(|(key, value)| (*key, value.clone()))
            .collect()
    }

    /// Runs `transaction`, requires it to fail with `code`, and requires that it changed nothing
    /// but its sender's fee and nonce.
    fn refused(&mut self, transaction: Transaction, code: FailureCode) {
        let before = self.non_accounts();
        let sender = transaction.body.sender;
        let balance = self.account(&sender).expect("the sender exists").balance.get();
        self.fails(transaction, code);
        assert_eq!(self.non_accounts(), before, "a failed operation leaves no trace");
        assert_eq!(self.account(&sender).expect("exists").balance.get(), balance - super::FEE, "only the fee");
    }

    /// The receivable's invariants: the held and settled parts sum to the amount, the settled
    /// amount is the settled parts', each split part's children sum to it, and every part traces
    /// back to part 0 through split parents with lower numbers.
    fn check_receivable(&self, id: &Hash) {
        let root = self.receivable(id);
        let parts: Vec<Part> = (0..root.parts).map(|number| self.part(id, number)).collect();
        let sum = |status: PartStatus| -> u128 {
            parts.iter().filter(|part| part.status == status).map(|part| part.amount.get()).sum()
        };
        assert_eq!(sum(PartStatus::Held) + sum(PartStatus::Settled), root.terms.amount.get(), "the parts sum to it");
        assert_eq!(sum(PartStatus::Settled), root.settled.get(), "settled = the settled parts");
        let settled = parts.iter().filter(|part| part.status == PartStatus::Settled).count();
        assert_eq!(settled, usize::from(root.settled_parts));
        assert_eq!((parts[0].parent, parts[0].amount), (None, root.terms.amount), "part 0 is the payable");
        for (number, part) in parts.iter().enumerate().skip(1) {
            let parent = usize::from(part.parent.expect("every later part has a parent"));
            assert!(parent < number, "parents come first");
            assert_eq!(parts[parent].status, PartStatus::Split);
            assert!(part.amount > Amount::ZERO);
        }
        for (number, part) in parts.iter().enumerate() {
            let children: u128 = parts
                .iter()
                .filter(|child| child.parent.map(usize::from) == Some(number))
                .map(|child| child.amount.get())
                .sum();
            let expected = if part.status == PartStatus::Split { part.amount.get() } else { 0 };
            assert_eq!(children, expected, "part {number}'s children sum to it");
            assert!(part.status == PartStatus::Held || part.offer.is_none(), "only held parts are on offer");
        }
    }

    /// Part `number`'s chain of parents back to part 0.
    fn trace(&self, id: &Hash, number: u16) -> Vec<u16> {
        let mut chain = vec![number];
        let mut part = self.part(id, number);
        while let Some(parent) = part.parent {
            chain.push(parent);
            part = self.part(id, parent);
        }
        chain
    }
}

#[test]
fn a_receivable_goes_down_the_chain_is_discounted_and_every_part_is_settled_at_maturity() {
    let core = signer(KeyScheme::Sm2, 9_001);
    let tier1 = signer(KeyScheme::Ed25519, 9_002);
    let tier2 = signer(KeyScheme::Secp256k1, 9_003);
    let tier2b = signer(KeyScheme::Ed25519, 9_004);
    let bank = signer(KeyScheme::Ed25519, 9_005);
    let (mut world, issuer) = World::with_hkd(&[&core, &tier1, &tier2, &tier2b, &bank], &[&core, &bank], 1_000_000);
    let everyone: Vec<AccountId> =
        [&issuer, &core, &tier1, &tier2, &tier2b, &bank].iter().map(|who| who.account_id()).collect();
    let id = receivable_id(&core.account_id(), &reference("PO-2026/001"));

    let receipt =
        world.run(world.by(&core, finance(FinanceOp::Acknowledge(terms("PO-2026/001", &tier1, hkd(), 100_000)))));
    let receipt = receipt.expect("admissible");
    assert_eq!(receipt.outcome, Outcome::Success);
    let event = &receipt.events[0];
    assert_eq!(event.contract, Module::Finance.address());
    assert_eq!(
        event.topics,
        vec![event_topic("receivable.acknowledged"), id.0, core.account_id().0, tier1.account_id().0]
    );
    let root = world.receivable(&id);
    assert_eq!((root.debtor, root.parts, root.settled), (core.account_id(), 1, Amount::ZERO));
    assert_eq!(world.part(&id, 0).holder, tier1.account_id());
    world.refused(
        world.by(&core, finance(FinanceOp::Acknowledge(terms("PO-2026/001", &tier2, hkd(), 5)))),
        FailureCode::ReceivableExists,
    );

    // Tier 1 keeps 40,000 and passes 60,000 down to two tier-2 suppliers in one split.
    let split = FinanceOp::Split {
        receivable: id,
        part: 0,
        shares: shares(&[(&tier1, 40_000), (&tier2, 35_000), (&tier2b, 25_000)]),
    };
    let receipt = world.run(world.by(&tier1, finance(split))).expect("admissible");
    assert_eq!(receipt.events[0].topics[..3], [event_topic("receivable.split"), id.0, part_topic(0)]);
    assert_eq!(receipt.events[0].data.len(), 3 * 50, "number, holder and amount of each new part");
    assert_eq!(world.part(&id, 0).status, PartStatus::Split);
    assert_eq!(world.receivable(&id).parts, 4);
    world.check_receivable(&id);

    // Tier 2 sells part 2 to the bank at a discount: 35,000 at maturity for 33,600 now.
    world.ok(world.by(
        &tier2,
        finance(FinanceOp::Offer { receivable: id, part: 2, bank: bank.account_id(), price: Amount(33_600) }),
    ));
    world.ok(world.by(&bank, finance(FinanceOp::Finance { receivable: id, part: 2 })));
    assert_eq!(world.hkd(&tier2), 33_600, "the price reached tier 2 at once");
    assert_eq!(world.hkd(&bank), 1_000_000 - 33_600);
    let financed = world.part(&id, 2);
    assert_eq!(financed.holder, bank.account_id());
    assert_eq!(financed.financed, Some(Discount { bank: bank.account_id(), price: Amount(33_600) }));

    // Tier 2b passes its part on whole, further down the chain (to tier 2).
    world.ok(world.by(&tier2b, finance(FinanceOp::Transfer { receivable: id, part: 3, to: tier2.account_id() })));
    assert_eq!(world.trace(&id, 3), vec![3, 0], "traceable to the acknowledged payable");
    world.check_receivable(&id);

    // Nothing is paid before maturity; after it nothing moves but settlement.
    world.refused(world.by(&core, finance(FinanceOp::Settle { receivable: id, part: 1 })), FailureCode::PartState);
    world.timestamp_ms = MATURITY_MS;
    world.refused(
        world.by(&tier1, finance(FinanceOp::Transfer { receivable: id, part: 1, to: tier2.account_id() })),
        FailureCode::PartState,
    );
    world.refused(
        world.by(
            &tier1,
            finance(FinanceOp::Split { receivable: id, part: 1, shares: shares(&[(&tier1, 1), (&tier2, 39_999)]) }),
        ),
        FailureCode::PartState,
    );
    world.refused(world.by(&tier1, finance(FinanceOp::Settle { receivable: id, part: 1 })), FailureCode::NotPermitted);
    world.refused(world.by(&core, finance(FinanceOp::Settle { receivable: id, part: 0 })), FailureCode::PartState);
    for part in 1..4 {
        let receipt =
            world.run(world.by(&core, finance(FinanceOp::Settle { receivable: id, part }))).expect("admissible");
        assert_eq!(receipt.outcome, Outcome::Success);
        assert_eq!(receipt.events[0].topics[..3], [event_topic("receivable.settled"), id.0, part_topic(part)]);
    }
    world.refused(world.by(&core, finance(FinanceOp::Settle { receivable: id, part: 2 })), FailureCode::PartState);
    assert_eq!(world.hkd(&tier1), 40_000);
    assert_eq!(world.hkd(&tier2), 33_600 + 25_000);
    assert_eq!(world.hkd(&bank), 1_000_000 - 33_600 + 35_000, "the price back and the discount");
    assert_eq!(world.hkd(&core), 1_000_000 - 100_000);
    let root = world.receivable(&id);
    assert!(root.is_settled());
    assert_eq!((root.settled_parts, root.settled), (3, Amount(100_000)));
    world.check_receivable(&id);
    world.check_asset(hkd(), &everyone);
}

#[test]
fn only_the_holder_the_offered_bank_and_the_debtor_act() {
    let core = signer(KeyScheme::Ed25519, 9_101);
    let supplier = signer(KeyScheme::Ed25519, 9_102);
    let stranger = signer(KeyScheme::Ed25519, 9_103);
    let bank = signer(KeyScheme::Ed25519, 9_104);
    let (mut world, _issuer) = World::with_hkd(&[&core, &supplier, &stranger, &bank], &[&core, &bank], 1_000_000);
    let id = receivable_id(&core.account_id(), &reference("R-1"));
    world.ok(world.by(&core, finance(FinanceOp::Acknowledge(terms("R-1", &supplier, hkd(), 1_000)))));

    // Not the holder: no split, transfer or offer, and neither the debtor nor a stranger.
    for who in [&core, &stranger] {
        world.refused(
            world.by(
                who,
                finance(FinanceOp::Split { receivable: id, part: 0, shares: shares(&[(who, 500), (who, 500)]) }),
            ),
            FailureCode::NotPermitted,
        );
        world.refused(
            world.by(who, finance(FinanceOp::Transfer { receivable: id, part: 0, to: who.account_id() })),
            FailureCode::NotPermitted,
        );
        world.refused(
            world.by(
                who,
                finance(FinanceOp::Offer { receivable: id, part: 0, bank: bank.account_id(), price: Amount(9) }),
            ),
            FailureCode::NotPermitted,
        );
    }
    // Not offered: no bank finances; only the debtor settles.
    world.refused(world.by(&bank, finance(FinanceOp::Finance { receivable: id, part: 0 })), FailureCode::NotPermitted);
    world.timestamp_ms = MATURITY_MS;
    for who in [&supplier, &stranger, &bank] {
        world.refused(world.by(who, finance(FinanceOp::Settle { receivable: id, part: 0 })), FailureCode::NotPermitted);
    }
    // Unknown receivables and parts.
    let unknown = receivable_id(&core.account_id(), &reference("R-2"));
    world.refused(
        world.by(&core, finance(FinanceOp::Settle { receivable: unknown, part: 0 })),
        FailureCode::ReceivableMissing,
    );
    world.refused(
        world.by(&core, finance(FinanceOp::Settle { receivable: id, part: 1 })),
        FailureCode::ReceivableMissing,
    );
    world.ok(world.by(&core, finance(FinanceOp::Settle { receivable: id, part: 0 })));
    world.check_receivable(&id);
}

#[test]
fn nobody_splits_more_than_they_hold_and_bad_terms_are_refused() {
    let core = signer(KeyScheme::Ed25519, 9_201);
    let supplier = signer(KeyScheme::Ed25519, 9_202);
    let next = signer(KeyScheme::Ed25519, 9_203);
    let (mut world, _issuer) = World::with_hkd(&[&core, &supplier, &next], &[&core], 1_000_000);
    let ghost = AccountId([0x66; 32]);

    // Bad terms: zero, to itself, already mature, an unknown supplier or currency.
    let bad_terms = [
        (terms("T", &supplier, hkd(), 0), FailureCode::InvalidReceivable),
        (terms("T", &core, hkd(), 5), FailureCode::InvalidReceivable),
        (
            ReceivableTerms { maturity_ms: TIMESTAMP_MS, ..terms("T", &supplier, hkd(), 5) },
            FailureCode::InvalidReceivable,
        ),
        (ReceivableTerms { supplier: ghost, ..terms("T", &supplier, hkd(), 5) }, FailureCode::AccountMissing),
        (terms("T", &supplier, Symbol::new("EUR").expect("valid"), 5), FailureCode::AssetMissing),
    ];
    for (bad, code) in bad_terms {
        world.refused(world.by(&core, finance(FinanceOp::Acknowledge(bad))), code);
    }
    let id = receivable_id(&core.account_id(), &reference("T"));
    world.ok(world.by(&core, finance(FinanceOp::Acknowledge(terms("T", &supplier, hkd(), 1_000)))));

    let split = |parts: Vec<Share>| finance(FinanceOp::Split { receivable: id, part: 0, shares: parts });
    world.refused(world.by(&supplier, split(shares(&[(&supplier, 600), (&next, 401)]))), FailureCode::SplitUnbalanced);
    world.refused(world.by(&supplier, split(shares(&[(&supplier, 600), (&next, 399)]))), FailureCode::SplitUnbalanced);
    world.refused(
        world.by(&supplier, split(shares(&[(&supplier, u128::MAX), (&next, 1_001)]))),
        FailureCode::SplitUnbalanced,
    );
    world
        .refused(world.by(&supplier, split(shares(&[(&supplier, 1_000), (&next, 0)]))), FailureCode::InvalidReceivable);
    world.refused(world.by(&supplier, split(shares(&[(&supplier, 1_000)]))), FailureCode::InvalidReceivable);
    let too_many: Vec<Share> = (0..17).map(|_| Share { holder: next.account_id(), amount: Amount(1) }).collect();
    world.refused(world.by(&supplier, split(too_many)), FailureCode::InvalidReceivable);
    let mut to_ghost = shares(&[(&supplier, 500), (&next, 500)]);
    to_ghost[1].holder = ghost;
    world.refused(world.by(&supplier, split(to_ghost)), FailureCode::AccountMissing);
    world.refused(
        world.by(&supplier, finance(FinanceOp::Transfer { receivable: id, part: 0, to: ghost })),
        FailureCode::RecipientMissing,
    );
    world.refused(
        world.by(&supplier, finance(FinanceOp::Transfer { receivable: id, part: 0, to: supplier.account_id() })),
        FailureCode::InvalidReceivable,
    );

    // A good split closes the part: it can be split, transferred or offered no more.
    world.ok(world.by(&supplier, split(shares(&[(&supplier, 600), (&next, 400)]))));
    world.refused(world.by(&supplier, split(shares(&[(&supplier, 500), (&next, 500)]))), FailureCode::PartState);
    world.refused(
        world.by(&supplier, finance(FinanceOp::Transfer { receivable: id, part: 0, to: next.account_id() })),
        FailureCode::PartState,
    );
    // The new holder may split its own part further; the old one may not split more than it has.
    world.refused(
        world.by(
            &next,
            finance(FinanceOp::Split { receivable: id, part: 2, shares: shares(&[(&next, 300), (&supplier, 300)]) }),
        ),
        FailureCode::SplitUnbalanced,
    );
    world.ok(world.by(
        &next,
        finance(FinanceOp::Split { receivable: id, part: 2, shares: shares(&[(&next, 300), (&supplier, 100)]) }),
    ));
    assert_eq!(world.trace(&id, 4), vec![4, 2, 0]);
    world.check_receivable(&id);
}

#[test]
fn a_part_is_financed_once_by_the_one_bank_it_is_offered_to() {
    let core = signer(KeyScheme::Ed25519, 9_301);
    let supplier = signer(KeyScheme::Ed25519, 9_302);
    let bank_a = signer(KeyScheme::Ed25519, 9_303);
    let bank_b = signer(KeyScheme::Ed25519, 9_304);
    let (mut world, _issuer) =
        World::with_hkd(&[&core, &supplier, &bank_a, &bank_b], &[&core, &bank_a, &bank_b], 1_000_000);
    let id = receivable_id(&core.account_id(), &reference("F-1"));
    world.ok(world.by(&core, finance(FinanceOp::Acknowledge(terms("F-1", &supplier, hkd(), 10_000)))));
    let offer = |bank: &AccountSigner, price: u128| {
        finance(FinanceOp::Offer { receivable: id, part: 0, bank: bank.account_id(), price: Amount(price) })
    };
    world.refused(world.by(&supplier, offer(&bank_a, 0)), FailureCode::InvalidReceivable);
    world.refused(world.by(&supplier, offer(&bank_a, 10_001)), FailureCode::InvalidReceivable);
    world.refused(world.by(&supplier, offer(&supplier, 9_000)), FailureCode::InvalidReceivable);
    world.ok(world.by(&supplier, offer(&bank_a, 9_500)));
    // A new offer replaces the last: bank A can no longer finance.
    world.ok(world.by(&supplier, offer(&bank_b, 9_600)));
    world
        .refused(world.by(&bank_a, finance(FinanceOp::Finance { receivable: id, part: 0 })), FailureCode::NotPermitted);
    world.ok(world.by(&bank_b, finance(FinanceOp::Finance { receivable: id, part: 0 })));
    assert_eq!(world.hkd(&supplier), 9_600);
    // Financed once: not again, not offered again, and the supplier no longer holds it.
    world.refused(world.by(&bank_b, finance(FinanceOp::Finance { receivable: id, part: 0 })), FailureCode::PartState);
    world.refused(world.by(&bank_b, offer(&bank_a, 9_800)), FailureCode::PartState);
    world.refused(world.by(&supplier, offer(&bank_a, 9_000)), FailureCode::NotPermitted);
    // A bank without the price pays nothing and gets nothing.
    let other = receivable_id(&core.account_id(), &reference("F-2"));
    world.ok(world.by(&core, finance(FinanceOp::Acknowledge(terms("F-2", &supplier, hkd(), 5_000_000)))));
    world.ok(world.by(
        &supplier,
        finance(FinanceOp::Offer { receivable: other, part: 0, bank: bank_a.account_id(), price: Amount(4_000_000) }),
    ));
    world.refused(
        world.by(&bank_a, finance(FinanceOp::Finance { receivable: other, part: 0 })),
        FailureCode::InsufficientBalance,
    );
    // A transfer withdraws the offer.
    world.ok(world.by(&supplier, finance(FinanceOp::Transfer { receivable: other, part: 0, to: core.account_id() })));
    assert_eq!(world.part(&other, 0).offer, None);
    world.refused(
        world.by(&bank_a, finance(FinanceOp::Finance { receivable: other, part: 0 })),
        FailureCode::NotPermitted,
    );
    // After maturity no offer and no financing.
    world.ok(world.by(
        &core,
        finance(FinanceOp::Offer { receivable: other, part: 0, bank: bank_b.account_id(), price: Amount(1) }),
    ));
    world.timestamp_ms = MATURITY_MS + 1;
    world
        .refused(world.by(&bank_b, finance(FinanceOp::Finance { receivable: other, part: 0 })), FailureCode::PartState);
    world.refused(
        world.by(
            &core,
            finance(FinanceOp::Offer { receivable: other, part: 0, bank: bank_a.account_id(), price: Amount(1) }),
        ),
        FailureCode::PartState,
    );
    // The debtor holds part 0 of `other` itself: settling pays itself, and the part is settled.
    world.ok(world.by(&core, finance(FinanceOp::Settle { receivable: other, part: 0 })));
    world.ok(world.by(&core, finance(FinanceOp::Settle { receivable: id, part: 0 })));
    assert_eq!(world.hkd(&bank_b), 1_000_000 - 9_600 + 10_000);
    world.check_receivable(&id);
    world.check_receivable(&other);
}

#[test]
fn an_invoice_backs_at_most_one_receivable_and_is_then_paid_only_through_it() {
    let core = signer(KeyScheme::Ed25519, 9_401);
    let supplier = signer(KeyScheme::Ed25519, 9_402);
    let other = signer(KeyScheme::Ed25519, 9_403);
    let bank = signer(KeyScheme::Ed25519, 9_404);
    let (mut world, _issuer) = World::with_hkd(&[&core, &supplier, &other, &bank], &[&core, &bank], 1_000_000);
    let invoice = |text: &str, currency: Symbol, doc: u8| InvoiceTerms {
        number: InvoiceNumber::new(text).expect("valid"),
        buyer: core.account_id(),
        currency,
        amount: Amount(10_000),
        tax: Amount(1_000),
        seller_tax_id: hash_tagged(b"test/tax-id", &[b"supplier"]),
        buyer_tax_id: hash_tagged(b"test/tax-id", &[b"core"]),
        due_ms: MATURITY_MS,
        document: hash_tagged(b"test/invoice-document", &[&[doc]]),
    };
    world.ok(world.by(&supplier, Payload::Invoice(InvoiceOp::Issue(invoice("INV-1", hkd(), 1)))));
    world.ok(world.by(&supplier, Payload::Invoice(InvoiceOp::Issue(invoice("INV-2", Symbol::NATIVE, 2)))));
    let linked = |text: &str, amount: u128, number: &str| ReceivableTerms {
        invoice: Some(InvoiceNumber::new(number).expect("valid")),
        ..terms(text, &supplier, hkd(), amount)
    };
    let acknowledge = |terms: ReceivableTerms| finance(FinanceOp::Acknowledge(terms));
    world.refused(world.by(&core, acknowledge(linked("L-1", 11_000, "INV-1"))), FailureCode::InvoiceState);
    world.refused(world.by(&core, acknowledge(linked("L-1", 11_000, "INV-9"))), FailureCode::InvoiceMissing);
    let seller = supplier.account_id();
    let number = InvoiceNumber::new("INV-1").expect("valid");
    world.ok(world.by(&core, Payload::Invoice(InvoiceOp::Accept { seller, number })));
    // Only the invoice's buyer, for at most its total, in its currency.
    world.refused(world.by(&other, acknowledge(linked("L-1", 11_000, "INV-1"))), FailureCode::NotPermitted);
    world.refused(world.by(&core, acknowledge(linked("L-1", 11_001, "INV-1"))), FailureCode::InvalidReceivable);
    world.ok(world.by(
        &core,
        Payload::Invoice(InvoiceOp::Accept { seller, number: InvoiceNumber::new("INV-2").expect("valid") }),
    ));
    world.refused(world.by(&core, acknowledge(linked("L-1", 100, "INV-2"))), FailureCode::InvalidReceivable);
    world.ok(world.by(&core, acknowledge(linked("L-1", 11_000, "INV-1"))));
    let id = receivable_id(&core.account_id(), &reference("L-1"));
    let index: ReceivableInvoice = world.finance_record(&Receivable::invoice_key(&seller, &number)).expect("indexed");
    assert_eq!(index.receivable, id);
    // One receivable per invoice, whatever its reference.
    world.refused(world.by(&core, acknowledge(linked("L-2", 5_000, "INV-1"))), FailureCode::ReceivableExists);
    // The invoice is now financed and paid through the receivable only.
    let bank_id = bank.account_id();
    for (sender, op) in [
        (&supplier, InvoiceOp::Offer { number, financier: bank_id, advance: Amount(9_000) }),
        (&bank, InvoiceOp::Finance { seller, number }),
        (&core, InvoiceOp::Pay { seller, number }),
        (&supplier, InvoiceOp::Cancel { number }),
    ] {
        world.refused(world.by(sender, Payload::Invoice(op)), FailureCode::InvoiceState);
    }
    // A financed invoice cannot back a receivable: it would be financed twice.
    world.ok(world.by(
        &supplier,
        Payload::Invoice(InvoiceOp::Offer {
            number: InvoiceNumber::new("INV-2").expect("valid"),
            financier: bank_id,
            advance: Amount(9_000),
        }),
    ));
    world.ok(world.by(
        &bank,
        Payload::Invoice(InvoiceOp::Finance { seller, number: InvoiceNumber::new("INV-2").expect("valid") }),
    ));
    let native = |text: &str| ReceivableTerms { currency: Symbol::NATIVE, ..linked(text, 100, "INV-2") };
    world.refused(world.by(&core, acknowledge(native("L-3"))), FailureCode::InvoiceState);
    let invoice = world.module_record_of::<formica_types::InvoiceRecord>(
        Module::Invoices,
        &formica_types::InvoiceRecord::key(&seller, &number),
    );
    assert_eq!(invoice.expect("kept").status, InvoiceStatus::Accepted);
    world.timestamp_ms = MATURITY_MS;
    world.ok(world.by(&core, finance(FinanceOp::Settle { receivable: id, part: 0 })));
    assert_eq!(world.hkd(&supplier), 11_000);
}

#[test]
fn a_receivable_in_the_native_asset_conserves_value() {
    let core = signer(KeyScheme::Ed25519, 9_501);
    let supplier = signer(KeyScheme::Ed25519, 9_502);
    let bank = signer(KeyScheme::Ed25519, 9_503);
    let (mut world, _issuer) = World::with_issuer(&[&core, &supplier, &bank]);
    let total = world.total_balance();
    let id = receivable_id(&core.account_id(), &reference("N-1"));
    world.ok(world.by(&core, finance(FinanceOp::Acknowledge(terms("N-1", &supplier, Symbol::NATIVE, 5_000)))));
    world.ok(world.by(
        &supplier,
        finance(FinanceOp::Offer { receivable: id, part: 0, bank: bank.account_id(), price: Amount(4_900) }),
    ));
    world.ok(world.by(&bank, finance(FinanceOp::Finance { receivable: id, part: 0 })));
    world.timestamp_ms = MATURITY_MS;
    world.ok(world.by(&core, finance(FinanceOp::Settle { receivable: id, part: 0 })));
    let balance = |who: &AccountSigner| world.account(&who.account_id()).expect("funded").balance.get();
    assert_eq!(balance(&supplier), GENESIS_BALANCE + 4_900 - 1);
    assert_eq!(balance(&bank), GENESIS_BALANCE + 100 - 1);
    assert_eq!(balance(&core), GENESIS_BALANCE - 5_000 - 2);
    assert_eq!(world.total_balance(), total, "fees go to the collector; nothing is made or lost");
}

impl World {
    fn module_record_of<R: crate::modules::ModuleRecord>(&self, module: Module, key: &[u8]) -> Option<R> {
        let keys = record_keys::<R>(module, key);
        let chunks: Vec<_> = keys.iter().map(|key| self.records.get(key)).collect();
        decode_record(&chunks)
    }
}

/// One random step: the operation, which part (modulo the parts there are), whether the part's
/// holder sends it (else `actor`), and its arguments.
#[derive(Clone, Debug)]
enum FinanceStep {
    Split {
        part: u16,
        by_holder: bool,
        actor: usize,
        holders: Vec<(usize, u128)>,
        skew: i8,
    },
    Transfer {
        part: u16,
        by_holder: bool,
        actor: usize,
        to: usize,
    },
    /// The price is in thousandths of the part's amount (above 1000: more than the part).
    Offer {
        part: u16,
        by_holder: bool,
        actor: usize,
        bank: usize,
        permille: u128,
    },
    Finance {
        part: u16,
        actor: usize,
    },
    Settle {
        part: u16,
        actor: usize,
    },
    Mature,
}

const ACTORS: usize = 6;

fn signer_of(actors: &[AccountSigner], account: AccountId) -> &AccountSigner {
    actors.iter().find(|actor| actor.account_id() == account).expect("parts are held by actors")
}

fn finance_step() -> impl Strategy<Value = FinanceStep> {
    let part = 0u16..64;
    let actor = 0..ACTORS;
    // Mostly by the holder, mostly balanced splits, and maturity late, so that histories go deep.
    let by_holder = || prop::bool::weighted(0.8);
    let skew = prop_oneof![4 => Just(0i8), 1 => Just(-1i8), 1 => Just(1i8)];
    let holders = prop::collection::vec((0..ACTORS, 0u128..100), 1..5);
    prop_oneof![
        12 => (part.clone(), by_holder(), actor.clone(), holders, skew).prop_map(
            |(part, by_holder, actor, holders, skew)| FinanceStep::Split { part, by_holder, actor, holders, skew }
        ),
        6 => (part.clone(), by_holder(), actor.clone(), actor.clone())
            .prop_map(|(part, by_holder, actor, to)| FinanceStep::Transfer { part, by_holder, actor, to }),
        9 => (part.clone(), by_holder(), actor.clone(), prop_oneof![3 => 4..ACTORS, 1 => 0..ACTORS], 0u128..1_100)
            .prop_map(|(part, by_holder, actor, bank, permille)| FinanceStep::Offer { part, by_holder, actor, bank, permille }),
        9 => (part.clone(), actor.clone()).prop_map(|(part, actor)| FinanceStep::Finance { part, actor }),
        9 => (part, actor).prop_map(|(part, actor)| FinanceStep::Settle { part, actor }),
        1 => Just(FinanceStep::Mature),
    ]
}

/// The part a step names: mostly one that is still held (so the step can succeed), sometimes
/// any part (so closed and settled parts are tried too).
fn pick_part(world: &World, id: &Hash, pick: u16) -> u16 {
    let parts = world.receivable(id).parts;
    let held: Vec<u16> = (0..parts).filter(|number| world.part(id, *number).status == PartStatus::Held).collect();
    if held.is_empty() || pick.is_multiple_of(5) { pick % parts } else { held[usize::from(pick) % held.len()] }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Random histories of splits, transfers, offers, financings and settlements by holders and
    /// by others, before and after maturity: after every block the parts sum to the
    /// receivable, the settled amount matches the settled parts, every part traces back to part
    /// 0, a failed operation changes nothing but its fee, and the currency is conserved.
    #[test]
    fn parts_always_sum_to_the_receivable_and_failures_leave_no_trace(
        steps in prop::collection::vec(finance_step(), 1..40),
    ) {
        // Actor 0 is the debtor, 1 to 3 suppliers, 4 and 5 banks; everyone may try anything.
        let actors: Vec<AccountSigner> = (0..ACTORS as u64).map(|n| signer(KeyScheme::Ed25519, 9_600 + n)).collect();
        let refs: Vec<&AccountSigner> = actors.iter().collect();
        let (mut world, issuer) = World::with_hkd(&refs, &[&actors[0], &actors[4], &actors[5]], 1_000_000);
        let mut holders: Vec<AccountId> = actors.iter().map(AccountSigner::account_id).collect();
        holders.push(issuer.account_id());
        let id = receivable_id(&actors[0].account_id(), &reference("P"));
        world.ok(world.by(&actors[0], finance(FinanceOp::Acknowledge(terms("P", &actors[1], hkd(), 1_000)))));
        for step in steps {
            let (sender, op) = match step {
                FinanceStep::Mature => {
                    world.timestamp_ms = MATURITY_MS;
                    continue;
                }
                FinanceStep::Split { part, by_holder, actor, holders: weights, skew } => {
                    let part = pick_part(&world, &id, part);
                    let held = world.part(&id, part);
                    let sender = if by_holder { signer_of(&actors, held.holder) } else { &actors[actor] };
                    // Amounts in proportion to the weights, the last one taking the rest, then
                    // skewed by one unit up or down (or not) to try splitting more or less.
                    let total_weight: u128 = weights.iter().map(|(_, weight)| weight).sum::<u128>().max(1);
                    let mut shares: Vec<Share> = weights
                        .iter()
                        .map(|(who, weight)| Share {
                            holder: actors[*who].account_id(),
                            amount: Amount(held.amount.get() * weight / total_weight),
                        })
                        .collect();
                    let assigned: u128 = shares.iter().map(|share| share.amount.get()).sum();
                    let last = shares.last_mut().expect("at least one share");
                    last.amount = Amount(last.amount.get() + held.amount.get() - assigned);
                    last.amount = Amount(last.amount.get().saturating_add_signed(i128::from(skew)));
                    (sender, FinanceOp::Split { receivable: id, part, shares })
                }
                FinanceStep::Transfer { part, by_holder, actor, to } => {
                    let part = pick_part(&world, &id, part);
                    let holder = world.part(&id, part).holder;
                    let sender = if by_holder { signer_of(&actors, holder) } else { &actors[actor] };
                    (sender, FinanceOp::Transfer { receivable: id, part, to: actors[to].account_id() })
                }
                FinanceStep::Offer { part, by_holder, actor, bank, permille } => {
                    let part = pick_part(&world, &id, part);
                    let held = world.part(&id, part);
                    let sender = if by_holder { signer_of(&actors, held.holder) } else { &actors[actor] };
                    let price = Amount(held.amount.get() * permille / 1000);
                    let op = FinanceOp::Offer { receivable: id, part, bank: actors[bank].account_id(), price };
                    (sender, op)
                }
                FinanceStep::Finance { part, actor } => {
                    // Mostly a part on offer, by the offered bank, so financing happens.
                    let parts = world.receivable(&id).parts;
                    let offered: Vec<u16> =
                        (0..parts).filter(|number| world.part(&id, *number).offer.is_some()).collect();
                    let part = match offered.len() {
                        0 => pick_part(&world, &id, part),
                        count => offered[usize::from(part) % count],
                    };
                    let sender = match world.part(&id, part).offer {
                        Some(offer) if actor < 4 => signer_of(&actors, offer.bank),
                        _ => &actors[actor],
                    };
                    (sender, FinanceOp::Finance { receivable: id, part })
                }
                FinanceStep::Settle { part, actor } => {
                    let sender = if actor < 4 { &actors[0] } else { &actors[actor] };
                    (sender, FinanceOp::Settle { receivable: id, part: pick_part(&world, &id, part) })
                }
            };
            let before = world.non_accounts();
            let receipt = world.run(world.by(sender, finance(op))).expect("admissible");
            if receipt.succeeded() {
                prop_assert!(!receipt.events.is_empty());
            } else {
                prop_assert!(failure(&receipt).is_some());
                prop_assert_eq!(&world.non_accounts(), &before, "a failed operation leaves no trace");
            }
            world.check_receivable(&id);
            world.check_asset(hkd(), &holders);
        }
    }
}
