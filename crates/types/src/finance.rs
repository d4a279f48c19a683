//! Supply-chain finance: the operations of the finance module and the records it keeps.
//!
//! A core enterprise (the debtor) acknowledges a payable to a tier-1 supplier as a receivable:
//! an amount in an asset, due at a maturity, optionally backed by an accepted invoice. The
//! receivable is held in numbered parts; part 0 is the whole amount, held by the supplier. The
//! holder of a part may split it into parts for several holders (its own suppliers down the
//! chain), transfer it whole, or offer it to a bank, which finances it by paying a discounted
//! price now and becoming its holder. At maturity the debtor pays every held part's amount to its
//! holder. Every part names its parent, so each one traces back to part 0 and the acknowledged
//! payable, and the amounts of the parts that are held or settled always sum to the total.

use crate::assets::Symbol;
use crate::invoices::InvoiceNumber;
use crate::primitives::{AccountId, Amount, Hash, Height, hash_tagged};
use bytes::BufMut;
use commonware_codec::{Buf, Encode, EncodeSize, Error as CodecError, FixedSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most parts one split makes.
pub const SPLIT_PARTS_MAX: usize = 16;

/// The most parts one receivable is ever held in (part numbers run from 0 below this), so
/// settling every part stays a bounded amount of work.
pub const RECEIVABLE_PARTS_MAX: u16 = 1024;

/// A receivable's reference: unique per debtor, in the alphabet of invoice numbers (1 to 32 of
/// `A`-`Z`, `a`-`z`, `0`-`9`, `-`, `_`, `/`, `.`).
pub type ReceivableReference = InvoiceNumber;

/// The id of a receivable: a tagged hash of its debtor and its reference.
pub fn receivable_id(debtor: &AccountId, reference: &ReceivableReference) -> Hash {
    hash_tagged(b"formica/receivable/v1", &[&debtor.0, reference.as_str().as_bytes()])
}

/// What the debtor acknowledges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceivableTerms {
    pub reference: ReceivableReference,
    /// The tier-1 supplier the debtor owes; it holds part 0.
    pub supplier: AccountId,
    /// The asset the receivable is paid in.
    pub currency: Symbol,
    pub amount: Amount,
    /// When the debtor pays, milliseconds since the Unix epoch (compared with block timestamps).
    pub maturity_ms: u64,
    /// The supplier's accepted invoice to the debtor that backs the receivable, if any.
    pub invoice: Option<InvoiceNumber>,
}

fn write_option_number(number: &Option<InvoiceNumber>, buf: &mut impl BufMut) {
    number.is_some().write(buf);
    match number {
        Some(number) => number.write(buf),
        None => buf.put_slice(&[0u8; InvoiceNumber::SIZE]),
    }
}

fn read_option_number(buf: &mut impl Buf, what: &'static str) -> Result<Option<InvoiceNumber>, CodecError> {
    if bool::read(buf)? {
        return Ok(Some(InvoiceNumber::read(buf)?));
    }
    let padding = <[u8; InvoiceNumber::SIZE]>::read(buf)?;
    if padding.iter().any(|byte| *byte != 0) {
        return Err(CodecError::Invalid(what, "an invoice number without its flag"));
    }
    Ok(None)
}

impl Write for ReceivableTerms {
    fn write(&self, buf: &mut impl BufMut) {
        self.reference.write(buf);
        self.supplier.write(buf);
        self.currency.write(buf);
        self.amount.write(buf);
        self.maturity_ms.write(buf);
        write_option_number(&self.invoice, buf);
    }
}

impl FixedSize for ReceivableTerms {
    const SIZE: usize =
        InvoiceNumber::SIZE + AccountId::SIZE + Symbol::SIZE + Amount::SIZE + u64::SIZE + 1 + InvoiceNumber::SIZE;
}

impl Read for ReceivableTerms {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            reference: InvoiceNumber::read(buf)?,
            supplier: AccountId::read(buf)?,
            currency: Symbol::read(buf)?,
            amount: Amount::read(buf)?,
            maturity_ms: u64::read(buf)?,
            invoice: read_option_number(buf, "ReceivableTerms")?,
        })
    }
}

/// One new part of a split: who holds it and its amount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    pub holder: AccountId,
    pub amount: Amount,
}

impl Write for Share {
    fn write(&self, buf: &mut impl BufMut) {
        self.holder.write(buf);
        self.amount.write(buf);
    }
}

impl FixedSize for Share {
    const SIZE: usize = AccountId::SIZE + Amount::SIZE;
}

impl Read for Share {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { holder: AccountId::read(buf)?, amount: Amount::read(buf)? })
    }
}

/// An operation of the finance module (`Payload::Finance`). Parts are named by the receivable's
/// id ([`receivable_id`]) and their number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinanceOp {
    /// The sender (the debtor) acknowledges a payable to `terms.supplier`, who holds part 0.
    Acknowledge(ReceivableTerms),
    /// The holder splits a part into 2 to [`SPLIT_PARTS_MAX`] new parts whose amounts sum to the
    /// part's; the part is closed and the new ones are numbered after the receivable's last.
    Split { receivable: Hash, part: u16, shares: Vec<Share> },
    /// The holder transfers a whole part to another account.
    Transfer { receivable: Hash, part: u16, to: AccountId },
    /// The holder offers a part to `bank` for `price` (replacing an earlier offer).
    Offer { receivable: Hash, part: u16, bank: AccountId, price: Amount },
    /// The offered bank pays the price to the holder and becomes the part's holder.
    Finance { receivable: Hash, part: u16 },
    /// The debtor pays a held part's amount to its holder, at or after maturity.
    Settle { receivable: Hash, part: u16 },
}

impl FinanceOp {
    const TAG_ACKNOWLEDGE: u8 = 0;
    const TAG_SPLIT: u8 = 1;
    const TAG_TRANSFER: u8 = 2;
    const TAG_OFFER: u8 = 3;
    const TAG_FINANCE: u8 = 4;
    const TAG_SETTLE: u8 = 5;

    /// The receivable's id, given the transaction's sender.
    pub fn receivable(&self, sender: &AccountId) -> Hash {
        match self {
            FinanceOp::Acknowledge(terms) => receivable_id(sender, &terms.reference),
            FinanceOp::Split { receivable, .. }
            | FinanceOp::Transfer { receivable, .. }
            | FinanceOp::Offer { receivable, .. }
            | FinanceOp::Finance { receivable, .. }
            | FinanceOp::Settle { receivable, .. } => *receivable,
        }
    }

    /// The part the operation acts on (part 0 for an acknowledgement, which creates it).
    pub fn part(&self) -> u16 {
        match self {
            FinanceOp::Acknowledge(_) => 0,
            FinanceOp::Split { part, .. }
            | FinanceOp::Transfer { part, .. }
            | FinanceOp::Offer { part, .. }
            | FinanceOp::Finance { part, .. }
            | FinanceOp::Settle { part, .. } => *part,
        }
    }

    /// A short name for logs and the CLI.
    pub fn kind(&self) -> &'static str {
        match self {
            FinanceOp::Acknowledge(_) => "receivable_acknowledge",
            FinanceOp::Split { .. } => "receivable_split",
            FinanceOp::Transfer { .. } => "receivable_transfer",
            FinanceOp::Offer { .. } => "receivable_offer",
            FinanceOp::Finance { .. } => "receivable_finance",
            FinanceOp::Settle { .. } => "receivable_settle",
        }
    }
}

impl Write for FinanceOp {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            FinanceOp::Acknowledge(terms) => {
                Self::TAG_ACKNOWLEDGE.write(buf);
                terms.write(buf);
            }
            FinanceOp::Split { receivable, part, shares } => {
                Self::TAG_SPLIT.write(buf);
                receivable.write(buf);
                part.write(buf);
                u8::try_from(shares.len()).expect("at most SPLIT_PARTS_MAX shares").write(buf);
                for share in shares {
                    share.write(buf);
                }
            }
            FinanceOp::Transfer { receivable, part, to } => {
                Self::TAG_TRANSFER.write(buf);
                receivable.write(buf);
                part.write(buf);
                to.write(buf);
            }
            FinanceOp::Offer { receivable, part, bank, price } => {
                Self::TAG_OFFER.write(buf);
                receivable.write(buf);
                part.write(buf);
                bank.write(buf);
                price.write(buf);
            }
            FinanceOp::Finance { receivable, part } => {
                Self::TAG_FINANCE.write(buf);
                receivable.write(buf);
                part.write(buf);
            }
            FinanceOp::Settle { receivable, part } => {
                Self::TAG_SETTLE.write(buf);
                receivable.write(buf);
                part.write(buf);
            }
        }
    }
}

impl EncodeSize for FinanceOp {
    fn encode_size(&self) -> usize {
        const PART: usize = Hash::SIZE + u16::SIZE;
        1 + match self {
            FinanceOp::Acknowledge(_) => ReceivableTerms::SIZE,
            FinanceOp::Split { shares, .. } => PART + 1 + shares.len() * Share::SIZE,
            FinanceOp::Transfer { .. } => PART + AccountId::SIZE,
            FinanceOp::Offer { .. } => PART + AccountId::SIZE + Amount::SIZE,
            FinanceOp::Finance { .. } | FinanceOp::Settle { .. } => PART,
        }
    }
}

impl Read for FinanceOp {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            Self::TAG_ACKNOWLEDGE => FinanceOp::Acknowledge(ReceivableTerms::read(buf)?),
            Self::TAG_SPLIT => {
                let receivable = Hash::read(buf)?;
                let part = u16::read(buf)?;
                let count = usize::from(u8::read(buf)?);
                if !(2..=SPLIT_PARTS_MAX).contains(&count) {
                    return Err(CodecError::Invalid("FinanceOp", "a split makes 2 to 16 parts"));
                }
                let shares = (0..count).map(|_| Share::read(buf)).collect::<Result<Vec<_>, _>>()?;
                FinanceOp::Split { receivable, part, shares }
            }
            Self::TAG_TRANSFER => {
                FinanceOp::Transfer { receivable: Hash::read(buf)?, part: u16::read(buf)?, to: AccountId::read(buf)? }
            }
            Self::TAG_OFFER => FinanceOp::Offer {
                receivable: Hash::read(buf)?,
                part: u16::read(buf)?,
                bank: AccountId::read(buf)?,
                price: Amount::read(buf)?,
            },
            Self::TAG_FINANCE => FinanceOp::Finance { receivable: Hash::read(buf)?, part: u16::read(buf)? },
            Self::TAG_SETTLE => FinanceOp::Settle { receivable: Hash::read(buf)?, part: u16::read(buf)? },
            other => return Err(CodecError::InvalidEnum(other)),
        })
    }
}

/// A receivable as the chain keeps it (its parts are [`Part`] records).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receivable {
    pub debtor: AccountId,
    pub terms: ReceivableTerms,
    /// How many parts it has had: parts are numbered from 0 below this.
    pub parts: u16,
    /// How many parts are settled, and their amounts' sum.
    pub settled_parts: u16,
    pub settled: Amount,
    pub acknowledged_at: Height,
    pub updated_at: Height,
}

impl Receivable {
    /// The module key of the receivable `id`.
    pub fn key(id: &Hash) -> Vec<u8> {
        [&b"receivable"[..], id.as_ref()].concat()
    }

    /// The module key of the index entry of an invoice that backs a receivable.
    pub fn invoice_key(seller: &AccountId, number: &InvoiceNumber) -> Vec<u8> {
        [&b"receivable-invoice"[..], &seller.0, &number.encode()].concat()
    }

    /// The receivable's id.
    pub fn id(&self) -> Hash {
        receivable_id(&self.debtor, &self.terms.reference)
    }

    /// Whether every part is settled: the debtor has paid the whole amount.
    pub fn is_settled(&self) -> bool {
        self.settled == self.terms.amount
    }
}

impl Write for Receivable {
    fn write(&self, buf: &mut impl BufMut) {
        self.debtor.write(buf);
        self.terms.write(buf);
        self.parts.write(buf);
        self.settled_parts.write(buf);
        self.settled.write(buf);
        self.acknowledged_at.write(buf);
        self.updated_at.write(buf);
    }
}

impl FixedSize for Receivable {
    const SIZE: usize = AccountId::SIZE + ReceivableTerms::SIZE + 2 * u16::SIZE + Amount::SIZE + 2 * Height::SIZE;
}

impl Read for Receivable {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let receivable = Self {
            debtor: AccountId::read(buf)?,
            terms: ReceivableTerms::read(buf)?,
            parts: u16::read(buf)?,
            settled_parts: u16::read(buf)?,
            settled: Amount::read(buf)?,
            acknowledged_at: Height::read(buf)?,
            updated_at: Height::read(buf)?,
        };
        if receivable.parts == 0
            || receivable.parts > RECEIVABLE_PARTS_MAX
            || receivable.settled_parts > receivable.parts
            || receivable.settled > receivable.terms.amount
        {
            return Err(CodecError::Invalid("Receivable", "impossible part counts or settled amount"));
        }
        Ok(receivable)
    }
}

/// The index entry of an invoice that backs a receivable: one receivable per invoice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceivableInvoice {
    pub receivable: Hash,
}

impl Write for ReceivableInvoice {
    fn write(&self, buf: &mut impl BufMut) {
        self.receivable.write(buf);
    }
}

impl FixedSize for ReceivableInvoice {
    const SIZE: usize = Hash::SIZE;
}

impl Read for ReceivableInvoice {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { receivable: Hash::read(buf)? })
    }
}

/// Where a part stands. Legal transitions: held → split (closed, its amount now in its
/// children); held → settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartStatus {
    Held,
    Split,
    Settled,
}

impl PartStatus {
    fn tag(self) -> u8 {
        match self {
            PartStatus::Held => 0,
            PartStatus::Split => 1,
            PartStatus::Settled => 2,
        }
    }
}

impl fmt::Display for PartStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PartStatus::Held => "held",
            PartStatus::Split => "split",
            PartStatus::Settled => "settled",
        })
    }
}

/// A bank and a price: an open offer, or the financing it became.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Discount {
    pub bank: AccountId,
    pub price: Amount,
}

fn write_option_discount(discount: &Option<Discount>, buf: &mut impl BufMut) {
    discount.is_some().write(buf);
    let Discount { bank, price } = discount.unwrap_or(Discount { bank: AccountId([0; 32]), price: Amount::ZERO });
    bank.write(buf);
    price.write(buf);
}

fn read_option_discount(buf: &mut impl Buf) -> Result<Option<Discount>, CodecError> {
    let present = bool::read(buf)?;
    let discount = Discount { bank: AccountId::read(buf)?, price: Amount::read(buf)? };
    if !present && (discount.bank != AccountId([0; 32]) || discount.price != Amount::ZERO) {
        return Err(CodecError::Invalid("Part", "a discount without its flag"));
    }
    Ok(present.then_some(discount))
}

/// One part of a receivable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    pub holder: AccountId,
    pub amount: Amount,
    /// The part it was split from (`None` for part 0, the acknowledged payable).
    pub parent: Option<u16>,
    pub status: PartStatus,
    /// The holder's open offer to a bank.
    pub offer: Option<Discount>,
    /// The bank that financed this part and the price it paid (a part is financed at most once).
    pub financed: Option<Discount>,
    pub created_at: Height,
    pub updated_at: Height,
}

impl Part {
    /// The module key of part `number` of the receivable `id`.
    pub fn key(id: &Hash, number: u16) -> Vec<u8> {
        [&b"receivable-part"[..], id.as_ref(), &number.to_be_bytes()].concat()
    }
}

impl Write for Part {
    fn write(&self, buf: &mut impl BufMut) {
        self.holder.write(buf);
        self.amount.write(buf);
        self.parent.is_some().write(buf);
        self.parent.unwrap_or(0).write(buf);
        self.status.tag().write(buf);
        write_option_discount(&self.offer, buf);
        write_option_discount(&self.financed, buf);
        self.created_at.write(buf);
        self.updated_at.write(buf);
    }
}

impl FixedSize for Part {
    const SIZE: usize = AccountId::SIZE
        + Amount::SIZE
        + 1
        + u16::SIZE
        + 1
        + 2 * (1 + AccountId::SIZE + Amount::SIZE)
        + 2 * Height::SIZE;
}

impl Read for Part {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let holder = AccountId::read(buf)?;
        let amount = Amount::read(buf)?;
        let has_parent = bool::read(buf)?;
        let parent = u16::read(buf)?;
        if !has_parent && parent != 0 {
            return Err(CodecError::Invalid("Part", "a parent without its flag"));
        }
        let status = match u8::read(buf)? {
            0 => PartStatus::Held,
            1 => PartStatus::Split,
            2 => PartStatus::Settled,
            other => return Err(CodecError::InvalidEnum(other)),
        };
        Ok(Self {
            holder,
            amount,
            parent: has_parent.then_some(parent),
            status,
            offer: read_option_discount(buf)?,
            financed: read_option_discount(buf)?,
            created_at: Height::read(buf)?,
            updated_at: Height::read(buf)?,
        })
    }
}
