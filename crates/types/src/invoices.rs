//! Digital invoices: the operations of the invoices module and the records it keeps.
//!
//! A seller issues an invoice to a buyer; the buyer accepts it; the seller may offer the accepted
//! invoice to one financier for an advance, and that financier finances it by paying the advance
//! to the seller, becoming the payee; the buyer pays the payee the total (amount plus tax); the
//! seller may cancel an invoice that is not financed. An invoice is financed at most once, and
//! each invoice document (by hash) is registered once on the whole chain, so the same invoice
//! cannot be financed twice under two numbers.

use crate::assets::Symbol;
use crate::primitives::{AccountId, Amount, Hash, Height, ParseError};
use bytes::BufMut;
use commonware_codec::{Buf, Encode, EncodeSize, Error as CodecError, FixedSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An invoice number: 1 to 32 characters of `A`-`Z`, `a`-`z`, `0`-`9`, `-`, `_`, `/` and `.`;
/// unique per seller.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct InvoiceNumber {
    len: u8,
    bytes: [u8; 32],
}

impl InvoiceNumber {
    /// The longest number, in bytes.
    pub const BYTES_MAX: usize = 32;

    /// Checks and stores a number.
    pub fn new(number: &str) -> Result<Self, ParseError> {
        if number.is_empty() || number.len() > Self::BYTES_MAX {
            return Err(ParseError::Length { expected: Self::BYTES_MAX, actual: number.len() });
        }
        if !Self::valid(number.as_bytes()) {
            return Err(ParseError::Invalid(format!(
                "invoice number {number:?} may hold only A-Z, a-z, 0-9, '-', '_', '/' and '.'"
            )));
        }
        let mut bytes = [0u8; 32];
        bytes[..number.len()].copy_from_slice(number.as_bytes());
        Ok(Self { len: number.len() as u8, bytes })
    }

    fn valid(bytes: &[u8]) -> bool {
        bytes.iter().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'/' | b'.'))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("checked when made or decoded")
    }
}

impl fmt::Display for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for InvoiceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InvoiceNumber({:?})", self.as_str())
    }
}

impl TryFrom<String> for InvoiceNumber {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(&text)
    }
}

impl From<InvoiceNumber> for String {
    fn from(number: InvoiceNumber) -> Self {
        number.as_str().to_string()
    }
}

impl Write for InvoiceNumber {
    fn write(&self, buf: &mut impl BufMut) {
        self.len.write(buf);
        buf.put_slice(&self.bytes);
    }
}

impl FixedSize for InvoiceNumber {
    const SIZE: usize = 1 + 32;
}

impl Read for InvoiceNumber {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let len = u8::read(buf)?;
        let bytes = <[u8; 32]>::read(buf)?;
        let used = usize::from(len);
        if used == 0 || used > Self::BYTES_MAX || bytes[used..].iter().any(|byte| *byte != 0) {
            return Err(CodecError::Invalid("InvoiceNumber", "bad length or padding"));
        }
        if !Self::valid(&bytes[..used]) {
            return Err(CodecError::Invalid("InvoiceNumber", "bad character"));
        }
        Ok(Self { len, bytes })
    }
}

/// What an invoice states when it is issued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvoiceTerms {
    pub number: InvoiceNumber,
    pub buyer: AccountId,
    /// The asset the invoice is paid in.
    pub currency: Symbol,
    /// The amount before tax.
    pub amount: Amount,
    pub tax: Amount,
    /// Hashes of the seller's and the buyer's tax ids (the ids stay off the chain).
    pub seller_tax_id: Hash,
    pub buyer_tax_id: Hash,
    /// When payment is due, milliseconds since the Unix epoch (compared with block timestamps).
    pub due_ms: u64,
    /// The hash of the invoice document: registered once on the whole chain.
    pub document: Hash,
}

impl InvoiceTerms {
    /// What the buyer pays: amount plus tax (`None` on overflow).
    pub fn total(&self) -> Option<Amount> {
        self.amount.checked_add(self.tax)
    }
}

impl Write for InvoiceTerms {
    fn write(&self, buf: &mut impl BufMut) {
        self.number.write(buf);
        self.buyer.write(buf);
        self.currency.write(buf);
        self.amount.write(buf);
        self.tax.write(buf);
        self.seller_tax_id.write(buf);
        self.buyer_tax_id.write(buf);
        self.due_ms.write(buf);
        self.document.write(buf);
    }
}

impl FixedSize for InvoiceTerms {
    const SIZE: usize = InvoiceNumber::SIZE
        + AccountId::SIZE
        + Symbol::SIZE
        + 2 * Amount::SIZE
        + 2 * Hash::SIZE
        + u64::SIZE
        + Hash::SIZE;
}

impl Read for InvoiceTerms {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            number: InvoiceNumber::read(buf)?,
            buyer: AccountId::read(buf)?,
            currency: Symbol::read(buf)?,
            amount: Amount::read(buf)?,
            tax: Amount::read(buf)?,
            seller_tax_id: Hash::read(buf)?,
            buyer_tax_id: Hash::read(buf)?,
            due_ms: u64::read(buf)?,
            document: Hash::read(buf)?,
        })
    }
}

/// An operation of the invoices module (`Payload::Invoice`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InvoiceOp {
    /// The sender (the seller) issues an invoice to `terms.buyer`.
    Issue(InvoiceTerms),
    /// The buyer accepts the seller's invoice: it owes the total.
    Accept { seller: AccountId, number: InvoiceNumber },
    /// The seller offers its accepted invoice to `financier` for `advance` (replacing an earlier
    /// offer); only that financier may then finance it.
    Offer { number: InvoiceNumber, financier: AccountId, advance: Amount },
    /// The offered financier pays the advance to the seller and becomes the payee.
    Finance { seller: AccountId, number: InvoiceNumber },
    /// The buyer pays the total to the payee (the financier if financed, else the seller).
    Pay { seller: AccountId, number: InvoiceNumber },
    /// The seller cancels an invoice that is neither financed nor paid.
    Cancel { number: InvoiceNumber },
}

impl InvoiceOp {
    const TAG_ISSUE: u8 = 0;
    const TAG_ACCEPT: u8 = 1;
    const TAG_OFFER: u8 = 2;
    const TAG_FINANCE: u8 = 3;
    const TAG_PAY: u8 = 4;
    const TAG_CANCEL: u8 = 5;

    /// The invoice's seller, given the transaction's sender.
    pub fn seller(&self, sender: &AccountId) -> AccountId {
        match self {
            InvoiceOp::Issue(_) | InvoiceOp::Offer { .. } | InvoiceOp::Cancel { .. } => *sender,
            InvoiceOp::Accept { seller, .. } | InvoiceOp::Finance { seller, .. } | InvoiceOp::Pay { seller, .. } => {
                *seller
            }
        }
    }

    /// The invoice's number.
    pub fn number(&self) -> InvoiceNumber {
        match self {
            InvoiceOp::Issue(terms) => terms.number,
            InvoiceOp::Accept { number, .. }
            | InvoiceOp::Offer { number, .. }
            | InvoiceOp::Finance { number, .. }
            | InvoiceOp::Pay { number, .. }
            | InvoiceOp::Cancel { number } => *number,
        }
    }

    /// A short name for logs and the CLI.
    pub fn kind(&self) -> &'static str {
        match self {
            InvoiceOp::Issue(_) => "invoice_issue",
            InvoiceOp::Accept { .. } => "invoice_accept",
            InvoiceOp::Offer { .. } => "invoice_offer",
            InvoiceOp::Finance { .. } => "invoice_finance",
            InvoiceOp::Pay { .. } => "invoice_pay",
            InvoiceOp::Cancel { .. } => "invoice_cancel",
        }
    }
}

impl Write for InvoiceOp {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            InvoiceOp::Issue(terms) => {
                Self::TAG_ISSUE.write(buf);
                terms.write(buf);
            }
            InvoiceOp::Accept { seller, number } => {
                Self::TAG_ACCEPT.write(buf);
                seller.write(buf);
                number.write(buf);
            }
            InvoiceOp::Offer { number, financier, advance } => {
                Self::TAG_OFFER.write(buf);
                number.write(buf);
                financier.write(buf);
                advance.write(buf);
            }
            InvoiceOp::Finance { seller, number } => {
                Self::TAG_FINANCE.write(buf);
                seller.write(buf);
                number.write(buf);
            }
            InvoiceOp::Pay { seller, number } => {
                Self::TAG_PAY.write(buf);
                seller.write(buf);
                number.write(buf);
            }
            InvoiceOp::Cancel { number } => {
                Self::TAG_CANCEL.write(buf);
                number.write(buf);
            }
        }
    }
}

impl EncodeSize for InvoiceOp {
    fn encode_size(&self) -> usize {
        1 + match self {
            InvoiceOp::Issue(_) => InvoiceTerms::SIZE,
            InvoiceOp::Accept { .. } | InvoiceOp::Finance { .. } | InvoiceOp::Pay { .. } => {
                AccountId::SIZE + InvoiceNumber::SIZE
            }
            InvoiceOp::Offer { .. } => InvoiceNumber::SIZE + AccountId::SIZE + Amount::SIZE,
            InvoiceOp::Cancel { .. } => InvoiceNumber::SIZE,
        }
    }
}

impl Read for InvoiceOp {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            Self::TAG_ISSUE => InvoiceOp::Issue(InvoiceTerms::read(buf)?),
            Self::TAG_ACCEPT => InvoiceOp::Accept { seller: AccountId::read(buf)?, number: InvoiceNumber::read(buf)? },
            Self::TAG_OFFER => InvoiceOp::Offer {
                number: InvoiceNumber::read(buf)?,
                financier: AccountId::read(buf)?,
                advance: Amount::read(buf)?,
            },
            Self::TAG_FINANCE => {
                InvoiceOp::Finance { seller: AccountId::read(buf)?, number: InvoiceNumber::read(buf)? }
            }
            Self::TAG_PAY => InvoiceOp::Pay { seller: AccountId::read(buf)?, number: InvoiceNumber::read(buf)? },
            Self::TAG_CANCEL => InvoiceOp::Cancel { number: InvoiceNumber::read(buf)? },
            other => return Err(CodecError::InvalidEnum(other)),
        })
    }
}

/// Where an invoice stands. Legal transitions: issued → accepted → financed → paid; accepted →
/// paid; issued or accepted → cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    Issued,
    Accepted,
    Financed,
    Paid,
    Cancelled,
}

impl InvoiceStatus {
    fn tag(self) -> u8 {
        match self {
            InvoiceStatus::Issued => 0,
            InvoiceStatus::Accepted => 1,
            InvoiceStatus::Financed => 2,
            InvoiceStatus::Paid => 3,
            InvoiceStatus::Cancelled => 4,
        }
    }
}

impl fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvoiceStatus::Issued => "issued",
            InvoiceStatus::Accepted => "accepted",
            InvoiceStatus::Financed => "financed",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Cancelled => "cancelled",
        })
    }
}

/// An invoice as the chain keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvoiceRecord {
    pub seller: AccountId,
    pub terms: InvoiceTerms,
    pub status: InvoiceStatus,
    /// The financier of the current offer, or the one that financed the invoice.
    pub financier: Option<AccountId>,
    /// The advance of the current offer (or the one paid).
    pub advance: Amount,
    pub issued_at: Height,
    /// The height of the last change of status or offer.
    pub updated_at: Height,
}

impl InvoiceRecord {
    /// The module key of the seller's invoice `number`.
    pub fn key(seller: &AccountId, number: &InvoiceNumber) -> Vec<u8> {
        [&b"invoice"[..], &seller.0, &number.encode()].concat()
    }

    /// The module key of the index entry of an invoice document.
    pub fn document_key(document: &Hash) -> Vec<u8> {
        [&b"invoice-document"[..], document.as_ref()].concat()
    }

    /// Who is paid: the financier once financed, else the seller.
    pub fn payee(&self) -> AccountId {
        match (self.status, self.financier) {
            (InvoiceStatus::Financed | InvoiceStatus::Paid, Some(financier)) => financier,
            _ => self.seller,
        }
    }
}

impl Write for InvoiceRecord {
    fn write(&self, buf: &mut impl BufMut) {
        self.seller.write(buf);
        self.terms.write(buf);
        self.status.tag().write(buf);
        self.financier.is_some().write(buf);
        self.financier.unwrap_or(AccountId([0; 32])).write(buf);
        self.advance.write(buf);
        self.issued_at.write(buf);
        self.updated_at.write(buf);
    }
}

impl FixedSize for InvoiceRecord {
    const SIZE: usize =
        AccountId::SIZE + InvoiceTerms::SIZE + 1 + 1 + AccountId::SIZE + Amount::SIZE + 2 * Height::SIZE;
}

impl Read for InvoiceRecord {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let seller = AccountId::read(buf)?;
        let terms = InvoiceTerms::read(buf)?;
        let status = match u8::read(buf)? {
            0 => InvoiceStatus::Issued,
            1 => InvoiceStatus::Accepted,
            2 => InvoiceStatus::Financed,
            3 => InvoiceStatus::Paid,
            4 => InvoiceStatus::Cancelled,
            other => return Err(CodecError::InvalidEnum(other)),
        };
        let has_financier = bool::read(buf)?;
        let financier = AccountId::read(buf)?;
        if !has_financier && financier != AccountId([0; 32]) {
            return Err(CodecError::Invalid("InvoiceRecord", "a financier without its flag"));
        }
        Ok(Self {
            seller,
            terms,
            status,
            financier: has_financier.then_some(financier),
            advance: Amount::read(buf)?,
            issued_at: Height::read(buf)?,
            updated_at: Height::read(buf)?,
        })
    }
}

/// The index entry that registers an invoice document once: whose invoice it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvoiceDocument {
    pub seller: AccountId,
    pub number: InvoiceNumber,
}

impl Write for InvoiceDocument {
    fn write(&self, buf: &mut impl BufMut) {
        self.seller.write(buf);
        self.number.write(buf);
    }
}

impl FixedSize for InvoiceDocument {
    const SIZE: usize = AccountId::SIZE + InvoiceNumber::SIZE;
}

impl Read for InvoiceDocument {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { seller: AccountId::read(buf)?, number: InvoiceNumber::read(buf)? })
    }
}
