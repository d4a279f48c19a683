//! Invoice methods: an invoice by seller and number, or by the hash of its document.

use crate::assets::record;
use crate::backend::Backend;
use crate::error::invalid_params;
use crate::types::codec;
use formica_types::{
    AccountId, Amount, Hash, Height, InvoiceDocument, InvoiceNumber, InvoiceRecord, InvoiceStatus, Module, Symbol,
};
use jsonrpsee::types::ErrorObjectOwned;
use serde::{Deserialize, Serialize};

/// An invoice as of the latest finalized block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceView {
    pub seller: AccountId,
    pub number: InvoiceNumber,
    pub buyer: AccountId,
    pub currency: Symbol,
    #[serde(with = "codec::amount")]
    pub amount: Amount,
    #[serde(with = "codec::amount")]
    pub tax: Amount,
    #[serde(with = "codec::hash")]
    pub seller_tax_id: Hash,
    #[serde(with = "codec::hash")]
    pub buyer_tax_id: Hash,
    pub due_ms: u64,
    #[serde(with = "codec::hash")]
    pub document: Hash,
    pub status: InvoiceStatus,
    /// The financier of the current offer, or the one that financed the invoice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub financier: Option<AccountId>,
    #[serde(with = "codec::amount")]
    pub advance: Amount,
    /// Who the buyer pays.
    pub payee: AccountId,
    pub issued_at: Height,
    pub updated_at: Height,
    pub height: Height,
}

pub(crate) fn parse_number(text: &str) -> Result<InvoiceNumber, ErrorObjectOwned> {
    InvoiceNumber::new(text).map_err(|error| invalid_params("invoice number", error))
}

fn view(invoice: InvoiceRecord, height: Height) -> InvoiceView {
    let terms = invoice.terms;
    InvoiceView {
        seller: invoice.seller,
        number: terms.number,
        buyer: terms.buyer,
        currency: terms.currency,
        amount: terms.amount,
        tax: terms.tax,
        seller_tax_id: terms.seller_tax_id,
        buyer_tax_id: terms.buyer_tax_id,
        due_ms: terms.due_ms,
        document: terms.document,
        status: invoice.status,
        financier: invoice.financier,
        advance: invoice.advance,
        payee: invoice.payee(),
        issued_at: invoice.issued_at,
        updated_at: invoice.updated_at,
        height,
    }
}

pub(crate) async fn get_invoice<B: Backend>(
    backend: &B,
    seller: AccountId,
    number: InvoiceNumber,
) -> Result<Option<InvoiceView>, ErrorObjectOwned> {
    let (invoice, height) =
        record::<B, InvoiceRecord>(backend, Module::Invoices, InvoiceRecord::key(&seller, &number)).await?;
    Ok(invoice.map(|invoice| view(invoice, height)))
}

pub(crate) async fn get_invoice_by_document<B: Backend>(
    backend: &B,
    document: Hash,
) -> Result<Option<InvoiceView>, ErrorObjectOwned> {
    let (entry, _) =
        record::<B, InvoiceDocument>(backend, Module::Invoices, InvoiceRecord::document_key(&document)).await?;
    match entry {
        Some(entry) => get_invoice(backend, entry.seller, entry.number).await,
        None => Ok(None),
    }
}
