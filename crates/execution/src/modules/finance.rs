//! The supply-chain finance module: a core enterprise's payable, acknowledged as a receivable,
//! split and passed down the supply chain, discounted with banks, and settled at maturity (see
//! [`formica_types::FinanceOp`]).
//!
//! # Rules
//! - Any account acknowledges a payable as its debtor: to an existing supplier (not itself), an
//!   amount above zero in an existing asset, a maturity after the block's time, and a reference
//!   new for the debtor (the receivable's id is a hash of both). The supplier holds part 0, the
//!   whole amount. A linked invoice must be the supplier's invoice to the debtor, accepted, in
//!   the same currency, with a total of at least the amount, and back no other receivable; from
//!   then on the invoices module refuses to offer, finance, pay or cancel it, so the same claim
//!   cannot be financed or paid twice through the two modules.
//! - Only a part's holder splits, transfers or offers it, only while it is held (not split, not
//!   settled) and before maturity. A split makes 2 to [`SPLIT_PARTS_MAX`] new parts, each above
//!   zero and held by an existing account, whose amounts sum to exactly the part's amount
//!   (`SplitUnbalanced` otherwise); the part is closed and names no holder's claim any more. A
//!   receivable has at most [`RECEIVABLE_PARTS_MAX`] parts.
//! - A transfer moves a whole part to another existing account and withdraws its open offer.
//! - An offer names one bank (not the holder) and a price above zero and at most the part's
//!   amount; a new offer replaces the last. Only that bank finances, before maturity: the price
//!   moves from the bank to the holder in the receivable's currency in the same transaction,
//!   and the bank becomes the holder. A part is financed at most once; the bank may pass it on
//!   or split it like any holder (the new parts are new claims and may be financed again: each
//!   unit of the receivable has one holder at any time, so no one is paid twice for it).
//! - Only the debtor settles, one held part at a time, at or after maturity: the part's amount
//!   moves from the debtor to the holder (nothing moves for a part the debtor holds itself), and
//!   the part is settled.
//! - Every failure leaves the state as it was (the fee aside); a party that may not act fails
//!   with `NotPermitted`.
//!
//! # Invariants
//! The amounts of the parts that are held or settled sum to the receivable's amount; the
//! receivable's settled amount is the sum of its settled parts; every part but part 0 names a
//! parent with a lower number that is split, so each part traces back to the acknowledged
//! payable (property-tested over random histories, with conservation of the currency).

use super::{Scratch, assets, record_keys, run};
use crate::transition::{Halt, StateOverlay, fail};
use formica_state::StateKey;
use formica_types::{
    AccountId, Amount, AssetRecord, ContractEvent, Discount, FailureCode, FinanceOp, Hash, Height, InvoiceRecord,
    InvoiceStatus, Module, Part, PartStatus, RECEIVABLE_PARTS_MAX, Receivable, ReceivableInvoice, ReceivableTerms,
    SPLIT_PARTS_MAX, Share,
};

const MODULE: Module = Module::Finance;

/// The records a finance operation names (the asset holdings of a payment are found once the
/// receivable is read).
pub(crate) fn reads(sender: &AccountId, op: &FinanceOp) -> Vec<StateKey> {
    let id = op.receivable(sender);
    let mut reads = record_keys::<Receivable>(MODULE, &Receivable::key(&id));
    match op {
        FinanceOp::Acknowledge(terms) => {
            reads.push(StateKey::Account(terms.supplier));
            if !terms.currency.is_native() {
                reads.extend(record_keys::<AssetRecord>(Module::Assets, &AssetRecord::key(&terms.currency)));
            }
            if let Some(number) = terms.invoice {
                reads.extend(record_keys::<InvoiceRecord>(
                    Module::Invoices,
                    &InvoiceRecord::key(&terms.supplier, &number),
                ));
                reads.extend(invoice_index_keys(&terms.supplier, &number));
            }
            return reads;
        }
        FinanceOp::Split { shares, .. } => reads.extend(shares.iter().map(|share| StateKey::Account(share.holder))),
        FinanceOp::Transfer { to, .. } => reads.push(StateKey::Account(*to)),
        FinanceOp::Offer { bank, .. } => reads.push(StateKey::Account(*bank)),
        FinanceOp::Finance { .. } | FinanceOp::Settle { .. } => {}
    }
    reads.extend(record_keys::<Part>(MODULE, &Part::key(&id, op.part())));
    reads
}

/// The state keys of the index entry that marks an invoice as backing a receivable (the
/// invoices module reads it too).
pub(crate) fn invoice_index_keys(seller: &AccountId, number: &formica_types::InvoiceNumber) -> Vec<StateKey> {
    record_keys::<ReceivableInvoice>(MODULE, &Receivable::invoice_key(seller, number))
}

/// The receivable an invoice backs, if any.
pub(crate) fn backing(
    s: &Scratch<'_>,
    seller: &AccountId,
    number: &formica_types::InvoiceNumber,
) -> Result<Option<Hash>, Halt> {
    let entry = s.record::<ReceivableInvoice>(MODULE, &Receivable::invoice_key(seller, number))?;
    Ok(entry.map(|entry| entry.receivable))
}

/// A part number as an event topic: big-endian in the last two bytes.
pub fn part_topic(number: u16) -> [u8; 32] {
    let mut topic = [0u8; 32];
    topic[30..].copy_from_slice(&number.to_be_bytes());
    topic
}

/// Applies a finance operation in a block at `height` with timestamp `timestamp_ms`.
pub(crate) fn apply(
    height: Height,
    timestamp_ms: u64,
    frozen_accounts_receive: bool,
    overlay: &mut StateOverlay,
    sender: &AccountId,
    op: &FinanceOp,
) -> Result<Vec<ContractEvent>, Halt> {
    let now = Now { height, timestamp_ms };
    run(overlay, |s| match op {
        FinanceOp::Acknowledge(terms) => acknowledge(s, now, sender, terms),
        FinanceOp::Split { receivable, part, shares } => split(s, now, sender, receivable, *part, shares),
        FinanceOp::Transfer { receivable, part: number, to } => {
            let (_, mut part) = held_by(s, now, sender, receivable, *number)?;
            if to == sender {
                return fail(FailureCode::InvalidReceivable, "a part cannot be transferred to its holder");
            }
            if s.account(to)?.is_none() {
                return fail(FailureCode::RecipientMissing, format!("account {to} does not exist"));
            }
            part.holder = *to;
            part.offer = None;
            let mut data = part.amount.get().to_be_bytes().to_vec();
            data.extend_from_slice(&sender.0);
            save_part(s, now, receivable, *number, &mut part);
            s.emit(MODULE, "receivable.transferred", &[receivable.0, part_topic(*number), to.0], data);
            Ok(())
        }
        FinanceOp::Offer { receivable, part: number, bank, price } => {
            let (_, mut part) = held_by(s, now, sender, receivable, *number)?;
            if let Some(financed) = part.financed {
                return fail(
                    FailureCode::PartState,
                    format!("part {number} was financed already, by {}", financed.bank),
                );
            }
            if *price == Amount::ZERO || *price > part.amount {
                return fail(
                    FailureCode::InvalidReceivable,
                    format!("the price must be above zero and at most the part's amount {}", part.amount),
                );
            }
            if bank == sender {
                return fail(FailureCode::InvalidReceivable, "a holder cannot finance its own part");
            }
            if s.account(bank)?.is_none() {
                return fail(FailureCode::AccountMissing, format!("account {bank} does not exist"));
            }
            part.offer = Some(Discount { bank: *bank, price: *price });
            save_part(s, now, receivable, *number, &mut part);
            let data = price.get().to_be_bytes().to_vec();
            s.emit(MODULE, "receivable.offered", &[receivable.0, part_topic(*number), bank.0], data);
            Ok(())
        }
        FinanceOp::Finance { receivable, part: number } => {
            let root = existing(s, receivable)?;
            let mut part = existing_part(s, receivable, *number)?;
            require_held(&part, *number)?;
            if let Some(financed) = part.financed {
                return fail(
                    FailureCode::PartState,
                    format!("part {number} was financed already, by {}", financed.bank),
                );
            }
            let Some(offer) = part.offer.filter(|offer| offer.bank == *sender) else {
                return fail(FailureCode::NotPermitted, format!("part {number} is not offered to {sender}"));
            };
            require_before_maturity(&root, now)?;
            let seller = part.holder;
            assets::transfer(s, frozen_accounts_receive, root.terms.currency, sender, &seller, offer.price)?;
            part.holder = *sender;
            part.financed = Some(offer);
            part.offer = None;
            save_part(s, now, receivable, *number, &mut part);
            let mut data = offer.price.get().to_be_bytes().to_vec();
            data.extend_from_slice(&seller.0);
            s.emit(MODULE, "receivable.financed", &[receivable.0, part_topic(*number), sender.0], data);
            Ok(())
        }
        FinanceOp::Settle { receivable, part: number } => {
            let mut root = existing(s, receivable)?;
            if root.debtor != *sender {
                return fail(FailureCode::NotPermitted, format!("only the debtor, {}, settles", root.debtor));
            }
            let mut part = existing_part(s, receivable, *number)?;
            require_held(&part, *number)?;
            if now.timestamp_ms < root.terms.maturity_ms {
                return fail(
                    FailureCode::PartState,
                    format!("the receivable matures at {} ms, after this block's time", root.terms.maturity_ms),
                );
            }
            // A part the debtor holds itself (bought back) is settled without a payment.
            if part.holder != *sender {
                assets::transfer(s, frozen_accounts_receive, root.terms.currency, sender, &part.holder, part.amount)?;
            }
            part.status = PartStatus::Settled;
            part.offer = None;
            root.settled = root.settled.checked_add(part.amount).expect("the settled parts sum to at most the amount");
            root.settled_parts += 1;
            save_root(s, now, receivable, &mut root);
            save_part(s, now, receivable, *number, &mut part);
            let data = part.amount.get().to_be_bytes().to_vec();
            s.emit(MODULE, "receivable.settled", &[receivable.0, part_topic(*number), part.holder.0], data);
            Ok(())
        }
    })
}

/// The block an operation runs in.
#[derive(Clone, Copy)]
struct Now {
    height: Height,
    timestamp_ms: u64,
}

fn acknowledge(s: &mut Scratch<'_>, now: Now, sender: &AccountId, terms: &ReceivableTerms) -> Result<(), Halt> {
    if terms.amount == Amount::ZERO {
        return fail(FailureCode::InvalidReceivable, "a receivable's amount must be above zero");
    }
    if terms.supplier == *sender {
        return fail(FailureCode::InvalidReceivable, "a debtor cannot owe itself");
    }
    if terms.maturity_ms <= now.timestamp_ms {
        return fail(FailureCode::InvalidReceivable, "the maturity must be after the block's time");
    }
    if s.account(&terms.supplier)?.is_none() {
        return fail(FailureCode::AccountMissing, format!("the supplier {} does not exist", terms.supplier));
    }
    if !assets::exists(s, terms.currency)? {
        return fail(FailureCode::AssetMissing, format!("no asset has the symbol {}", terms.currency));
    }
    let id = formica_types::receivable_id(sender, &terms.reference);
    if s.record::<Receivable>(MODULE, &Receivable::key(&id))?.is_some() {
        return fail(FailureCode::ReceivableExists, format!("{sender} has acknowledged {} already", terms.reference));
    }
    if let Some(number) = terms.invoice {
        link_invoice(s, sender, terms, &number, id)?;
    }
    let mut root = Receivable {
        debtor: *sender,
        terms: *terms,
        parts: 1,
        settled_parts: 0,
        settled: Amount::ZERO,
        acknowledged_at: now.height,
        updated_at: now.height,
    };
    let mut part = Part {
        holder: terms.supplier,
        amount: terms.amount,
        parent: None,
        status: PartStatus::Held,
        offer: None,
        financed: None,
        created_at: now.height,
        updated_at: now.height,
    };
    save_root(s, now, &id, &mut root);
    save_part(s, now, &id, 0, &mut part);
    let mut data = terms.amount.get().to_be_bytes().to_vec();
    data.extend_from_slice(&terms.maturity_ms.to_be_bytes());
    s.emit(MODULE, "receivable.acknowledged", &[id.0, sender.0, terms.supplier.0], data);
    Ok(())
}

/// Checks the invoice that backs a new receivable and registers it as backing it.
fn link_invoice(
    s: &mut Scratch<'_>,
    sender: &AccountId,
    terms: &ReceivableTerms,
    number: &formica_types::InvoiceNumber,
    id: Hash,
) -> Result<(), Halt> {
    let Some(invoice) = s.record::<InvoiceRecord>(Module::Invoices, &InvoiceRecord::key(&terms.supplier, number))?
    else {
        return fail(FailureCode::InvoiceMissing, format!("{} has no invoice {number}", terms.supplier));
    };
    if invoice.terms.buyer != *sender {
        return fail(FailureCode::NotPermitted, format!("invoice {number} is addressed to {}", invoice.terms.buyer));
    }
    if invoice.status != InvoiceStatus::Accepted {
        return fail(
            FailureCode::InvoiceState,
            format!("invoice {number} is {}: only an accepted invoice backs a receivable", invoice.status),
        );
    }
    let total = invoice.terms.total().expect("checked at issue");
    if invoice.terms.currency != terms.currency || terms.amount > total {
        return fail(
            FailureCode::InvalidReceivable,
            format!("invoice {number} is for {total} {}: the receivable must fit it", invoice.terms.currency),
        );
    }
    if let Some(other) = backing(s, &terms.supplier, number)? {
        return fail(FailureCode::ReceivableExists, format!("invoice {number} backs receivable {other} already"));
    }
    let entry = ReceivableInvoice { receivable: id };
    s.put_record(MODULE, &Receivable::invoice_key(&terms.supplier, number), Some(&entry));
    Ok(())
}

fn split(
    s: &mut Scratch<'_>,
    now: Now,
    sender: &AccountId,
    receivable: &Hash,
    number: u16,
    shares: &[Share],
) -> Result<(), Halt> {
    let (mut root, mut part) = held_by(s, now, sender, receivable, number)?;
    if !(2..=SPLIT_PARTS_MAX).contains(&shares.len()) {
        return fail(FailureCode::InvalidReceivable, format!("a split makes 2 to {SPLIT_PARTS_MAX} parts"));
    }
    let mut sum = Amount::ZERO;
    for share in shares {
        if share.amount == Amount::ZERO {
            return fail(FailureCode::InvalidReceivable, "every new part must be above zero");
        }
        sum = sum.checked_add(share.amount).ok_or_else(|| {
            Halt::Fail(FailureCode::SplitUnbalanced, format!("the new parts sum to more than part {number} holds"))
        })?;
    }
    if sum != part.amount {
        return fail(
            FailureCode::SplitUnbalanced,
            format!("the new parts sum to {sum}; part {number} holds exactly {}", part.amount),
        );
    }
    let count = u16::try_from(shares.len()).expect("at most SPLIT_PARTS_MAX");
    let first = root.parts;
    let parts = first.checked_add(count).filter(|parts| *parts <= RECEIVABLE_PARTS_MAX).ok_or_else(|| {
        Halt::Fail(
            FailureCode::InvalidReceivable,
            format!("the receivable has {first} parts; it may have at most {RECEIVABLE_PARTS_MAX}"),
        )
    })?;
    for share in shares {
        if s.account(&share.holder)?.is_none() {
            return fail(FailureCode::AccountMissing, format!("account {} does not exist", share.holder));
        }
    }
    let mut data = Vec::with_capacity(shares.len() * (2 + 32 + 16));
    for (child, share) in (first..parts).zip(shares) {
        let mut new = Part {
            holder: share.holder,
            amount: share.amount,
            parent: Some(number),
            status: PartStatus::Held,
            offer: None,
            financed: None,
            created_at: now.height,
            updated_at: now.height,
        };
        save_part(s, now, receivable, child, &mut new);
        data.extend_from_slice(&child.to_be_bytes());
        data.extend_from_slice(&share.holder.0);
        data.extend_from_slice(&share.amount.get().to_be_bytes());
    }
    part.status = PartStatus::Split;
    part.offer = None;
    root.parts = parts;
    save_part(s, now, receivable, number, &mut part);
    save_root(s, now, receivable, &mut root);
    s.emit(MODULE, "receivable.split", &[receivable.0, part_topic(number), sender.0], data);
    Ok(())
}

fn existing(s: &Scratch<'_>, id: &Hash) -> Result<Receivable, Halt> {
    match s.record::<Receivable>(MODULE, &Receivable::key(id))? {
        Some(receivable) => Ok(receivable),
        None => fail(FailureCode::ReceivableMissing, format!("no receivable has the id {id}")),
    }
}

fn existing_part(s: &Scratch<'_>, id: &Hash, number: u16) -> Result<Part, Halt> {
    match s.record::<Part>(MODULE, &Part::key(id, number))? {
        Some(part) => Ok(part),
        None => fail(FailureCode::ReceivableMissing, format!("receivable {id} has no part {number}")),
    }
}

/// The receivable and its part `number`, which `sender` holds and may still pass on: held, and
/// before maturity.
fn held_by(s: &Scratch<'_>, now: Now, sender: &AccountId, id: &Hash, number: u16) -> Result<(Receivable, Part), Halt> {
    let root = existing(s, id)?;
    let part = existing_part(s, id, number)?;
    if part.holder != *sender {
        return fail(
            FailureCode::NotPermitted,
            format!("only the holder of part {number}, {}, may do this", part.holder),
        );
    }
    require_held(&part, number)?;
    require_before_maturity(&root, now)?;
    Ok((root, part))
}

fn require_held(part: &Part, number: u16) -> Result<(), Halt> {
    match part.status {
        PartStatus::Held => Ok(()),
        status => fail(FailureCode::PartState, format!("part {number} is {status}")),
    }
}

fn require_before_maturity(root: &Receivable, now: Now) -> Result<(), Halt> {
    if now.timestamp_ms < root.terms.maturity_ms {
        Ok(())
    } else {
        fail(
            FailureCode::PartState,
            format!("the receivable matured at {} ms: its parts can only be settled", root.terms.maturity_ms),
        )
    }
}

fn save_root(s: &mut Scratch<'_>, now: Now, id: &Hash, root: &mut Receivable) {
    root.updated_at = now.height;
    s.put_record(MODULE, &Receivable::key(id), Some(&*root));
}

fn save_part(s: &mut Scratch<'_>, now: Now, id: &Hash, number: u16, part: &mut Part) {
    part.updated_at = now.height;
    s.put_record(MODULE, &Part::key(id, number), Some(&*part));
}
