//! The invoices module: digital invoices from issue to payment, financed at most once (see
//! [`formica_types::InvoiceOp`]).
//!
//! # Rules
//! - The seller issues an invoice to an existing buyer (not itself) in an existing asset, with a
//!   total above zero. Numbers are unique per seller, and each document hash is registered once
//!   on the whole chain: issuing the same document again, under any number or by any seller,
//!   fails with `InvoiceExists`. That is what makes double financing impossible: one document,
//!   one invoice, one financing.
//! - Only the buyer accepts (issued → accepted).
//! - Only the seller offers an accepted invoice to a financier, for an advance above zero and at
//!   most the total, before the due date; a new offer replaces the previous one.
//! - Only the offered financier finances (accepted → financed), before the due date: the advance
//!   moves from the financier to the seller in the invoice's currency, in the same transaction,
//!   and the financier becomes the payee. An invoice is financed at most once.
//! - Only the buyer pays (accepted or financed → paid): the total moves from the buyer to the
//!   payee in the same transaction. Paying late is allowed.
//! - Only the seller cancels, and only an issued or accepted invoice (→ cancelled). A cancelled
//!   invoice keeps its number and its document registration.
//! - An invoice that backs a receivable of the finance module (see [`super::finance`]) is
//!   financed and paid through that receivable: offering, financing, paying or cancelling it
//!   here fails with `InvoiceState`.
//! - Every other transition fails with `InvoiceState`; a party that may not act fails with
//!   `NotPermitted`.

use super::{Scratch, assets, record_keys, run};
use crate::transition::{Halt, StateOverlay, fail};
use formica_state::StateKey;
use formica_types::{
    AccountId, Amount, ContractEvent, FailureCode, Height, InvoiceDocument, InvoiceNumber, InvoiceOp, InvoiceRecord,
    InvoiceStatus, InvoiceTerms, Module,
};

const MODULE: Module = Module::Invoices;

/// The records an invoice operation names (the asset records of a payment or a financing are
/// found once the invoice is read).
pub(crate) fn reads(sender: &AccountId, op: &InvoiceOp) -> Vec<StateKey> {
    let seller = op.seller(sender);
    let mut reads = record_keys::<InvoiceRecord>(MODULE, &InvoiceRecord::key(&seller, &op.number()));
    match op {
        InvoiceOp::Issue(terms) => {
            reads.extend(record_keys::<InvoiceDocument>(MODULE, &InvoiceRecord::document_key(&terms.document)));
            reads.push(StateKey::Account(terms.buyer));
        }
        InvoiceOp::Offer { financier, .. } => {
            reads.push(StateKey::Account(*financier));
            reads.extend(super::finance::invoice_index_keys(&seller, &op.number()));
        }
        InvoiceOp::Finance { .. } | InvoiceOp::Pay { .. } | InvoiceOp::Cancel { .. } => {
            reads.extend(super::finance::invoice_index_keys(&seller, &op.number()));
        }
        InvoiceOp::Accept { .. } => {}
    }
    reads
}

/// The invoice's number and seller as event topics.
fn topics(record: &InvoiceRecord) -> [[u8; 32]; 2] {
    [record.seller.0, super::event_topic(record.terms.number.as_str())]
}

/// Applies an invoice operation in a block at `height` with timestamp `timestamp_ms`.
pub(crate) fn apply(
    height: Height,
    timestamp_ms: u64,
    frozen_accounts_receive: bool,
    overlay: &mut StateOverlay,
    sender: &AccountId,
    op: &InvoiceOp,
) -> Result<Vec<ContractEvent>, Halt> {
    run(overlay, |s| match op {
        InvoiceOp::Issue(terms) => issue(s, height, timestamp_ms, sender, terms),
        InvoiceOp::Accept { seller, number } => {
            let mut invoice = existing(s, seller, number)?;
            if invoice.terms.buyer != *sender {
                return fail(
                    FailureCode::NotPermitted,
                    format!("only the buyer, {}, accepts {number}", invoice.terms.buyer),
                );
            }
            require_status(&invoice, &[InvoiceStatus::Issued], "accepted")?;
            invoice.status = InvoiceStatus::Accepted;
            save(s, height, &mut invoice, "invoice.accepted", Vec::new());
            Ok(())
        }
        InvoiceOp::Offer { number, financier, advance } => {
            let mut invoice = existing(s, sender, number)?;
            require_status(&invoice, &[InvoiceStatus::Accepted], "offered for financing")?;
            require_unassigned(s, &invoice)?;
            require_not_due(&invoice, timestamp_ms)?;
            let total = invoice.terms.total().expect("checked at issue");
            if *advance == Amount::ZERO || *advance > total {
                return fail(
                    FailureCode::InvalidInvoice,
                    format!("the advance must be above zero and at most the total {total}"),
                );
            }
            if financier == sender || *financier == invoice.terms.buyer {
                return fail(FailureCode::InvalidInvoice, "the financier must be neither the seller nor the buyer");
            }
            if s.account(financier)?.is_none() {
                return fail(FailureCode::AccountMissing, format!("account {financier} does not exist"));
            }
            invoice.financier = Some(*financier);
            invoice.advance = *advance;
            save(s, height, &mut invoice, "invoice.offered", advance.get().to_be_bytes().to_vec());
            Ok(())
        }
        InvoiceOp::Finance { seller, number } => {
            let mut invoice = existing(s, seller, number)?;
            require_status(&invoice, &[InvoiceStatus::Accepted], "financed")?;
            require_unassigned(s, &invoice)?;
            if invoice.financier != Some(*sender) {
                return fail(FailureCode::NotPermitted, format!("{number} is not offered to {sender} for financing"));
            }
            require_not_due(&invoice, timestamp_ms)?;
            assets::transfer(s, frozen_accounts_receive, invoice.terms.currency, sender, seller, invoice.advance)?;
            invoice.status = InvoiceStatus::Financed;
            let data = invoice.advance.get().to_be_bytes().to_vec();
            save(s, height, &mut invoice, "invoice.financed", data);
            Ok(())
        }
        InvoiceOp::Pay { seller, number } => {
            let mut invoice = existing(s, seller, number)?;
            if invoice.terms.buyer != *sender {
                return fail(
                    FailureCode::NotPermitted,
                    format!("only the buyer, {}, pays {number}", invoice.terms.buyer),
                );
            }
            require_status(&invoice, &[InvoiceStatus::Accepted, InvoiceStatus::Financed], "paid")?;
            require_unassigned(s, &invoice)?;
            let payee = invoice.payee();
            let total = invoice.terms.total().expect("checked at issue");
            assets::transfer(s, frozen_accounts_receive, invoice.terms.currency, sender, &payee, total)?;
            invoice.status = InvoiceStatus::Paid;
            save(s, height, &mut invoice, "invoice.paid", total.get().to_be_bytes().to_vec());
            Ok(())
        }
        InvoiceOp::Cancel { number } => {
            let mut invoice = existing(s, sender, number)?;
            require_status(&invoice, &[InvoiceStatus::Issued, InvoiceStatus::Accepted], "cancelled")?;
            require_unassigned(s, &invoice)?;
            invoice.status = InvoiceStatus::Cancelled;
            save(s, height, &mut invoice, "invoice.cancelled", Vec::new());
            Ok(())
        }
    })
}

fn issue(
    s: &mut Scratch<'_>,
    height: Height,
    timestamp_ms: u64,
    sender: &AccountId,
    terms: &InvoiceTerms,
) -> Result<(), Halt> {
    let total =
        terms.total().ok_or_else(|| Halt::Fail(FailureCode::InvalidInvoice, "amount plus tax overflows".into()))?;
    if total == Amount::ZERO {
        return fail(FailureCode::InvalidInvoice, "an invoice's total must be above zero");
    }
    if terms.buyer == *sender {
        return fail(FailureCode::InvalidInvoice, "a seller cannot invoice itself");
    }
    if terms.due_ms <= timestamp_ms {
        return fail(FailureCode::InvalidInvoice, "the due date must be after the block's time");
    }
    if s.account(&terms.buyer)?.is_none() {
        return fail(FailureCode::AccountMissing, format!("the buyer {} does not exist", terms.buyer));
    }
    if !assets::exists(s, terms.currency)? {
        return fail(FailureCode::AssetMissing, format!("no asset has the symbol {}", terms.currency));
    }
    let key = InvoiceRecord::key(sender, &terms.number);
    if s.record::<InvoiceRecord>(MODULE, &key)?.is_some() {
        return fail(FailureCode::InvoiceExists, format!("{sender} has issued invoice {} already", terms.number));
    }
    let document_key = InvoiceRecord::document_key(&terms.document);
    if let Some(registered) = s.record::<InvoiceDocument>(MODULE, &document_key)? {
        return fail(
            FailureCode::InvoiceExists,
            format!("the document is registered already, as invoice {} of {}", registered.number, registered.seller),
        );
    }
    s.put_record(MODULE, &document_key, Some(&InvoiceDocument { seller: *sender, number: terms.number }));
    let mut invoice = InvoiceRecord {
        seller: *sender,
        terms: *terms,
        status: InvoiceStatus::Issued,
        financier: None,
        advance: Amount::ZERO,
        issued_at: height,
        updated_at: height,
    };
    let mut data = total.get().to_be_bytes().to_vec();
    data.extend_from_slice(&terms.buyer.0);
    save(s, height, &mut invoice, "invoice.issued", data);
    Ok(())
}

fn existing(s: &Scratch<'_>, seller: &AccountId, number: &InvoiceNumber) -> Result<InvoiceRecord, Halt> {
    match s.record::<InvoiceRecord>(MODULE, &InvoiceRecord::key(seller, number))? {
        Some(invoice) => Ok(invoice),
        None => fail(FailureCode::InvoiceMissing, format!("{seller} has no invoice {number}")),
    }
}

fn require_status(invoice: &InvoiceRecord, allowed: &[InvoiceStatus], becoming: &str) -> Result<(), Halt> {
    if allowed.contains(&invoice.status) {
        Ok(())
    } else {
        fail(
            FailureCode::InvoiceState,
            format!("invoice {} is {} and cannot be {becoming}", invoice.terms.number, invoice.status),
        )
    }
}

/// Refuses an invoice that backs a receivable: the finance module finances and pays it.
fn require_unassigned(s: &Scratch<'_>, invoice: &InvoiceRecord) -> Result<(), Halt> {
    match super::finance::backing(s, &invoice.seller, &invoice.terms.number)? {
        None => Ok(()),
        Some(receivable) => fail(
            FailureCode::InvoiceState,
            format!(
                "invoice {} backs receivable {receivable}: it is financed and paid through the finance module",
                invoice.terms.number
            ),
        ),
    }
}

fn require_not_due(invoice: &InvoiceRecord, timestamp_ms: u64) -> Result<(), Halt> {
    if timestamp_ms < invoice.terms.due_ms {
        Ok(())
    } else {
        fail(
            FailureCode::InvoiceState,
            format!("invoice {} is due: it can no longer be financed", invoice.terms.number),
        )
    }
}

fn save(s: &mut Scratch<'_>, height: Height, invoice: &mut InvoiceRecord, event: &str, data: Vec<u8>) {
    invoice.updated_at = height;
    s.put_record(MODULE, &InvoiceRecord::key(&invoice.seller, &invoice.terms.number), Some(&*invoice));
    s.emit(MODULE, event, &topics(invoice), data);
}
