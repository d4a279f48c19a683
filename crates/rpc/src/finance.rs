//! Supply-chain finance methods: a receivable by id, one of its parts, and a part's trace back
//! to part 0 (the acknowledged payable).

use crate::assets::record;
use crate::backend::Backend;
use crate::error::invalid_params;
use crate::types::codec;
use formica_types::{
    AccountId, Amount, Discount, Hash, Height, InvoiceNumber, Module, Part, PartStatus, Receivable, Symbol,
};
use jsonrpsee::types::ErrorObjectOwned;
use serde::{Deserialize, Serialize};

/// A receivable as of the latest finalized block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceivableView {
    #[serde(with = "codec::hash")]
    pub id: Hash,
    /// The core enterprise that owes it.
    pub debtor: AccountId,
    pub reference: InvoiceNumber,
    /// The tier-1 supplier it was acknowledged to (the first holder of part 0).
    pub supplier: AccountId,
    pub currency: Symbol,
    #[serde(with = "codec::amount")]
    pub amount: Amount,
    pub maturity_ms: u64,
    /// The supplier's invoice that backs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice: Option<InvoiceNumber>,
    /// Its parts are numbered from 0 below this.
    pub parts: u16,
    pub settled_parts: u16,
    #[serde(with = "codec::amount")]
    pub settled: Amount,
    pub acknowledged_at: Height,
    pub updated_at: Height,
    pub height: Height,
}

/// A bank and a price: an open offer or a financing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountView {
    pub bank: AccountId,
    #[serde(with = "codec::amount")]
    pub price: Amount,
}

impl From<Discount> for DiscountView {
    fn from(discount: Discount) -> Self {
        Self { bank: discount.bank, price: discount.price }
    }
}

/// One part of a receivable as of the latest finalized block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartView {
    #[serde(with = "codec::hash")]
    pub receivable: Hash,
    pub number: u16,
    pub holder: AccountId,
    #[serde(with = "codec::amount")]
    pub amount: Amount,
    /// The part it was split from (absent for part 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<u16>,
    pub status: PartStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<DiscountView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub financed: Option<DiscountView>,
    pub created_at: Height,
    pub updated_at: Height,
    pub height: Height,
}

pub(crate) fn parse_id(text: &str) -> Result<Hash, ErrorObjectOwned> {
    formica_types::hash_from_hex(text).map_err(|error| invalid_params("receivable id", error))
}

fn part_view(receivable: Hash, number: u16, part: Part, height: Height) -> PartView {
    PartView {
        receivable,
        number,
        holder: part.holder,
        amount: part.amount,
        parent: part.parent,
        status: part.status,
        offer: part.offer.map(Into::into),
        financed: part.financed.map(Into::into),
        created_at: part.created_at,
        updated_at: part.updated_at,
        height,
    }
}

pub(crate) async fn get_receivable<B: Backend>(
    backend: &B,
    id: Hash,
) -> Result<Option<ReceivableView>, ErrorObjectOwned> {
    let (receivable, height) = record::<B, Receivable>(backend, Module::Finance, Receivable::key(&id)).await?;
    Ok(receivable.map(|receivable| {
        let terms = receivable.terms;
        ReceivableView {
            id,
            debtor: receivable.debtor,
            reference: terms.reference,
            supplier: terms.supplier,
            currency: terms.currency,
            amount: terms.amount,
            maturity_ms: terms.maturity_ms,
            invoice: terms.invoice,
            parts: receivable.parts,
            settled_parts: receivable.settled_parts,
            settled: receivable.settled,
            acknowledged_at: receivable.acknowledged_at,
            updated_at: receivable.updated_at,
            height,
        }
    }))
}

pub(crate) async fn get_part<B: Backend>(
    backend: &B,
    id: Hash,
    number: u16,
) -> Result<Option<PartView>, ErrorObjectOwned> {
    let (part, height) = record::<B, Part>(backend, Module::Finance, Part::key(&id, number)).await?;
    Ok(part.map(|part| part_view(id, number, part, height)))
}

/// Part `number` and its ancestors back to part 0, in that order (empty if there is no such
/// part). Parents have lower numbers, so the walk ends within [`formica_types::RECEIVABLE_PARTS_MAX`] reads;
/// each read answers as of the latest finalized block when it is made.
pub(crate) async fn get_trace<B: Backend>(
    backend: &B,
    id: Hash,
    number: u16,
) -> Result<Vec<PartView>, ErrorObjectOwned> {
    let mut trace = Vec::new();
    let mut next = Some(number);
    while let Some(number) = next {
        let Some(part) = get_part(backend, id, number).await? else { break };
        next = part.parent.filter(|parent| *parent < number);
        trace.push(part);
    }
    Ok(trace)
}
