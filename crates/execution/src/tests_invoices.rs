//! Invoices module tests: the legal life of an invoice, who may do what, money moving with
//! financing and payment, and double financing made impossible (one document, one invoice, one
//! financing) under random attempts.

use super::{TIMESTAMP_MS, World, failure, signer};
use crate::modules::{decode_record, record_keys};
use formica_crypto::AccountSigner;
use formica_types::{
    Amount, AssetOp, FailureCode, Hash, InvoiceNumber, InvoiceOp, InvoiceRecord, InvoiceStatus, InvoiceTerms,
    KeyScheme, Module, Outcome, Payload, Symbol, hash_tagged,
};
use proptest::prelude::*;

fn number(text: &str) -> InvoiceNumber {
    InvoiceNumber::new(text).expect("valid number")
}

fn document(n: u64) -> Hash {
    hash_tagged(b"test/invoice-document", &[&n.to_be_bytes()])
}

fn terms(text: &str, buyer: &AccountSigner, currency: Symbol, amount: u128, doc: u64) -> InvoiceTerms {
    InvoiceTerms {
        number: number(text),
        buyer: buyer.account_id(),
        currency,
        amount: Amount(amount),
        tax: Amount(amount / 10),
        seller_tax_id: hash_tagged(b"test/tax-id", &[b"seller"]),
        buyer_tax_id: hash_tagged(b"test/tax-id", &[b"buyer"]),
        due_ms: TIMESTAMP_MS + 86_400_000,
        document: document(doc),
    }
}

fn invoice(op: InvoiceOp) -> Payload {
    Payload::Invoice(op)
}

impl World {
    fn invoice(&self, seller: &AccountSigner, text: &str) -> Option<InvoiceRecord> {
        let keys =
            record_keys::<InvoiceRecord>(Module::Invoices, &InvoiceRecord::key(&seller.account_id(), &number(text)));
        let chunks: Vec<_> = keys.iter().map(|key| self.records.get(key)).collect();
        decode_record(&chunks)
    }

    fn native(&self, who: &AccountSigner) -> u128 {
        self.account(&who.account_id()).expect("funded").balance.get()
    }
}

#[test]
fn an_invoice_is_issued_accepted_financed_once_and_paid_to_the_financier() {
    let seller = signer(KeyScheme::Ed25519, 8_001);
    let buyer = signer(KeyScheme::Sm2, 8_002);
    let bank = signer(KeyScheme::Secp256k1, 8_003);
    let other_bank = signer(KeyScheme::Ed25519, 8_004);
    let (mut world, issuer) = World::with_issuer(&[&seller, &buyer, &bank, &other_bank]);
    // The invoice is in HKD, an issued asset the bank and the buyer hold.
    let hkd = Symbol::new("HKD").expect("valid");
    world
        .ok(world
            .by(&issuer, Payload::Asset(AssetOp::Define { symbol: hkd, decimals: 2, cap: None, allow_list: false })));
    world.ok(world.by(
        &issuer,
        Payload::Asset(AssetOp::Attest { symbol: hkd, reserves: Amount(1_000_000), reference: document(0) }),
    ));
    for who in [&buyer, &bank] {
        world.ok(world
            .by(&issuer, Payload::Asset(AssetOp::Mint { symbol: hkd, to: who.account_id(), amount: Amount(100_000) })));
    }
    let inv = terms("INV-2026/001", &buyer, hkd, 10_000, 1);
    let n = inv.number;
    let seller_id = seller.account_id();

    world
        .fails(world.by(&buyer, invoice(InvoiceOp::Issue(terms("X", &buyer, hkd, 1, 9)))), FailureCode::InvalidInvoice);
    world.fails(
        world.by(&seller, invoice(InvoiceOp::Issue(terms("Z", &buyer, hkd, 0, 9)))),
        FailureCode::InvalidInvoice,
    );
    world.fails(
        world.by(&seller, invoice(InvoiceOp::Issue(terms("E", &buyer, Symbol::new("EUR").expect("valid"), 5, 9)))),
        FailureCode::AssetMissing,
    );
    let receipt = world.run(world.by(&seller, invoice(InvoiceOp::Issue(inv)))).expect("admissible");
    assert_eq!(receipt.outcome, Outcome::Success);
    assert_eq!(receipt.events[0].contract, Module::Invoices.address());
    world.fails(
        world.by(&seller, invoice(InvoiceOp::Issue(terms("INV-2026/001", &buyer, hkd, 7, 2)))),
        FailureCode::InvoiceExists,
    );

    // Nothing before acceptance: no offer, no payment; only the buyer accepts.
    world.fails(
        world
            .by(&seller, invoice(InvoiceOp::Offer { number: n, financier: bank.account_id(), advance: Amount(9_000) })),
        FailureCode::InvoiceState,
    );
    world.fails(world.by(&buyer, invoice(InvoiceOp::Pay { seller: seller_id, number: n })), FailureCode::InvoiceState);
    world
        .fails(world.by(&bank, invoice(InvoiceOp::Accept { seller: seller_id, number: n })), FailureCode::NotPermitted);
    world.ok(world.by(&buyer, invoice(InvoiceOp::Accept { seller: seller_id, number: n })));
    world.fails(
        world.by(&buyer, invoice(InvoiceOp::Accept { seller: seller_id, number: n })),
        FailureCode::InvoiceState,
    );

    // The seller offers it; only the offered bank finances, once.
    world.fails(
        world.by(
            &seller,
            invoice(InvoiceOp::Offer { number: n, financier: bank.account_id(), advance: Amount(11_001) }),
        ),
        FailureCode::InvalidInvoice,
    );
    world.fails(
        world.by(&buyer, invoice(InvoiceOp::Offer { number: n, financier: bank.account_id(), advance: Amount(9_000) })),
        FailureCode::InvoiceMissing,
    );
    world.ok(world
        .by(&seller, invoice(InvoiceOp::Offer { number: n, financier: bank.account_id(), advance: Amount(9_000) })));
    world.fails(
        world.by(&other_bank, invoice(InvoiceOp::Finance { seller: seller_id, number: n })),
        FailureCode::NotPermitted,
    );
    world.ok(world.by(&bank, invoice(InvoiceOp::Finance { seller: seller_id, number: n })));
    assert_eq!(world.holding(hkd, &seller_id).balance, Amount(9_000), "the advance reached the seller");
    assert_eq!(world.holding(hkd, &bank.account_id()).balance, Amount(91_000));
    world.fails(
        world.by(&bank, invoice(InvoiceOp::Finance { seller: seller_id, number: n })),
        FailureCode::InvoiceState,
    );
    world.fails(
        world.by(
            &seller,
            invoice(InvoiceOp::Offer { number: n, financier: other_bank.account_id(), advance: Amount(1) }),
        ),
        FailureCode::InvoiceState,
    );
    world.fails(world.by(&seller, invoice(InvoiceOp::Cancel { number: n })), FailureCode::InvoiceState);

    // The buyer pays the total to the bank.
    world.fails(world.by(&bank, invoice(InvoiceOp::Pay { seller: seller_id, number: n })), FailureCode::NotPermitted);
    world.ok(world.by(&buyer, invoice(InvoiceOp::Pay { seller: seller_id, number: n })));
    assert_eq!(world.holding(hkd, &bank.account_id()).balance, Amount(102_000), "advance back plus the margin");
    assert_eq!(world.holding(hkd, &buyer.account_id()).balance, Amount(89_000));
    world.fails(world.by(&buyer, invoice(InvoiceOp::Pay { seller: seller_id, number: n })), FailureCode::InvoiceState);
    let paid = world.invoice(&seller, "INV-2026/001").expect("kept");
    assert_eq!(
        (paid.status, paid.financier, paid.payee()),
        (InvoiceStatus::Paid, Some(bank.account_id()), bank.account_id())
    );
    world.check_asset(
        hkd,
        &[issuer.account_id(), seller_id, buyer.account_id(), bank.account_id(), other_bank.account_id()],
    );
}

#[test]
fn an_unfinanced_invoice_is_paid_to_the_seller_in_the_native_asset_or_cancelled() {
    let seller = signer(KeyScheme::Ed25519, 8_101);
    let buyer = signer(KeyScheme::Ed25519, 8_102);
    let (mut world, _issuer) = World::with_issuer(&[&seller, &buyer]);
    let seller_id = seller.account_id();
    world.ok(world.by(&seller, invoice(InvoiceOp::Issue(terms("A-1", &buyer, Symbol::NATIVE, 1_000, 1)))));
    world.ok(world.by(&seller, invoice(InvoiceOp::Issue(terms("A-2", &buyer, Symbol::NATIVE, 1_000, 2)))));
    world.ok(world.by(&buyer, invoice(InvoiceOp::Accept { seller: seller_id, number: number("A-1") })));
    let (seller_before, buyer_before) = (world.native(&seller), world.native(&buyer));
    world.ok(world.by(&buyer, invoice(InvoiceOp::Pay { seller: seller_id, number: number("A-1") })));
    assert_eq!(world.native(&seller), seller_before + 1_100, "amount plus tax");
    assert_eq!(world.native(&buyer), buyer_before - 1_100 - 1, "the total and the fee");
    world.fails(world.by(&seller, invoice(InvoiceOp::Cancel { number: number("A-1") })), FailureCode::InvoiceState);
    world.ok(world.by(&seller, invoice(InvoiceOp::Cancel { number: number("A-2") })));
    world.fails(
        world.by(&buyer, invoice(InvoiceOp::Accept { seller: seller_id, number: number("A-2") })),
        FailureCode::InvoiceState,
    );
    assert_eq!(world.invoice(&seller, "A-2").expect("kept").status, InvoiceStatus::Cancelled);
    // A cancelled invoice keeps its document: it cannot come back under another number.
    world.fails(
        world.by(&seller, invoice(InvoiceOp::Issue(terms("A-3", &buyer, Symbol::NATIVE, 1_000, 2)))),
        FailureCode::InvoiceExists,
    );
}

/// One attempt to get an invoice for the shared document financed: its seller, number and
/// bank, and the step (issue, accept, offer, finance) it skips, if any.
type Campaign = (usize, u8, usize, Option<u8>);

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Two sellers try to register the same invoice document under several numbers and banks
    /// try to finance each of them, steps interleaved across campaigns and some steps skipped:
    /// the document is financed at most once, and execution over the reads matches execution
    /// over the whole state (checked by `World::block`).
    #[test]
    fn one_document_is_financed_at_most_once(
        campaigns in prop::collection::vec((0..2usize, 0..3u8, 0..3usize, prop::option::of(0..4u8)), 1..6),
    ) {
        let campaigns: Vec<Campaign> = campaigns;
        let sellers: Vec<AccountSigner> = (0..2u64).map(|n| signer(KeyScheme::Ed25519, 8_200 + n)).collect();
        let banks: Vec<AccountSigner> = (0..3u64).map(|n| signer(KeyScheme::Ed25519, 8_210 + n)).collect();
        let buyer = signer(KeyScheme::Ed25519, 8_220);
        let mut funded: Vec<&AccountSigner> = sellers.iter().chain(banks.iter()).collect();
        funded.push(&buyer);
        let (mut world, _issuer) = World::with_issuer(&funded);
        let mut financed = 0;
        for step in 0..4u8 {
            for &(seller, n, bank, skip) in &campaigns {
                if skip == Some(step) {
                    continue;
                }
                let text = format!("N{n}");
                let (sender, op) = match step {
                    0 => (&sellers[seller], InvoiceOp::Issue(terms(&text, &buyer, Symbol::NATIVE, 500, 77))),
                    1 => (&buyer, InvoiceOp::Accept { seller: sellers[seller].account_id(), number: number(&text) }),
                    2 => (&sellers[seller], InvoiceOp::Offer { number: number(&text), financier: banks[bank].account_id(), advance: Amount(450) }),
                    _ => (&banks[bank], InvoiceOp::Finance { seller: sellers[seller].account_id(), number: number(&text) }),
                };
                let receipt = world.run(world.by(sender, invoice(op))).expect("admissible");
                let financing = crate::modules::event_topic("invoice.financed");
                if receipt.events.iter().any(|event| event.topics[0] == financing) {
                    financed += 1;
                }
                prop_assert!(receipt.succeeded() || failure(&receipt).is_some());
            }
        }
        prop_assert!(financed <= 1, "the document was financed {financed} times");
    }
}
