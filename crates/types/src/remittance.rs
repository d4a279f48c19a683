//! Cross-border remittance: the operations of the remittance module and the records it keeps.
//!
//! A regulator defines a corridor ([`CorridorTerms`], for example `HKD-PHP`) between a source
//! asset and a destination asset, naming its participants: the sending wallet, the receiving
//! wallet, the settlement institution (which holds the destination-asset liquidity and receives
//! the source asset), the FX quote provider and the compliance account, with the corridor's fee
//! and limits. The compliance account keeps a sanctions list ([`SanctionEntry`]) and the limits.
//!
//! A remittance ([`RemittanceRecord`], followed by its [`RemittanceId`]) is requested by the
//! sending wallet for one of its customers (the sender), quoted by the FX provider (rate, fee,
//! expiry), and accepted by the sender before the quote expires: compliance runs in the same
//! transaction and the transfer either settles atomically or is rejected as a whole, with the
//! reason kept in the record ([`RejectReason`]). A settled remittance can be refunded.
//!
//! Amounts are whole smallest units (`u128`); a rate is destination units per [`RATE_SCALE`]
//! source units; every division rounds down.

use crate::assets::Symbol;
use crate::primitives::{AccountId, Amount, Hash, Height, ParseError, hash_tagged};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, FixedSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A rate is destination units per `RATE_SCALE` source units (eight decimal places).
pub const RATE_SCALE: u128 = 100_000_000;

/// Basis points in a whole (fees and fee shares are in basis points).
pub const BASIS_POINTS: u16 = 10_000;

/// The most fee recipients a corridor names.
pub const FEE_RECIPIENTS_MAX: usize = 4;

/// Milliseconds in a day: a day of the per-day limit is `timestamp_ms / DAY_MS` of the block.
pub const DAY_MS: u64 = 86_400_000;

/// A corridor's name: 1 to 16 characters of `A`-`Z`, `0`-`9`, `-` and `.`, starting with a
/// letter (for example `HKD-PHP`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CorridorId {
    len: u8,
    bytes: [u8; 16],
}

impl CorridorId {
    /// The longest name, in bytes.
    pub const BYTES_MAX: usize = 16;

    /// Checks and stores a name.
    pub fn new(name: &str) -> Result<Self, ParseError> {
        if name.is_empty() || name.len() > Self::BYTES_MAX {
            return Err(ParseError::Length { expected: Self::BYTES_MAX, actual: name.len() });
        }
        if !Self::valid(name.as_bytes()) {
            return Err(ParseError::Invalid(format!(
                "corridor {name:?} must start with A-Z and hold only A-Z, 0-9, '-' and '.'"
            )));
        }
        let mut bytes = [0u8; 16];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Ok(Self { len: name.len() as u8, bytes })
    }

    fn valid(bytes: &[u8]) -> bool {
        bytes.first().is_some_and(u8::is_ascii_uppercase)
            && bytes
                .iter()
                .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || matches!(byte, b'-' | b'.'))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("checked when made or decoded")
    }
}

impl fmt::Display for CorridorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CorridorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CorridorId({:?})", self.as_str())
    }
}

impl std::str::FromStr for CorridorId {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::new(text)
    }
}

impl TryFrom<String> for CorridorId {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(&text)
    }
}

impl From<CorridorId> for String {
    fn from(id: CorridorId) -> Self {
        id.as_str().to_string()
    }
}

impl Write for CorridorId {
    fn write(&self, buf: &mut impl BufMut) {
        self.len.write(buf);
        buf.put_slice(&self.bytes);
    }
}

impl FixedSize for CorridorId {
    const SIZE: usize = 1 + 16;
}

impl Read for CorridorId {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let len = u8::read(buf)?;
        let bytes = <[u8; 16]>::read(buf)?;
        let used = usize::from(len);
        if used == 0 || used > Self::BYTES_MAX || bytes[used..].iter().any(|byte| *byte != 0) {
            return Err(CodecError::Invalid("CorridorId", "bad length or padding"));
        }
        if !Self::valid(&bytes[..used]) {
            return Err(CodecError::Invalid("CorridorId", "bad character"));
        }
        Ok(Self { len, bytes })
    }
}

/// A remittance's id: a tagged hash of the sending wallet that requested it and the wallet's
/// reference, so the wallet knows it before it submits the request and a reference is used once
/// per wallet.
pub type RemittanceId = Hash;

/// The id of the remittance `wallet` requests under `reference`.
pub fn remittance_id(wallet: &AccountId, reference: u64) -> RemittanceId {
    hash_tagged(b"formica/remittance/id/v1", &[&wallet.0, &reference.to_be_bytes()])
}

/// Who receives a corridor's fees: up to [`FEE_RECIPIENTS_MAX`] distinct accounts, each with a
/// share in basis points; the shares sum to [`BASIS_POINTS`] (or there are none, for a corridor
/// without fees). Rounding a share down leaves a remainder of at most a few units: it goes to the
/// first recipient.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeeShares(pub Vec<(AccountId, u16)>);

impl FeeShares {
    /// Whether the shares are well-formed (at most four, distinct, each above zero, summing to
    /// the whole, or none).
    pub fn valid(&self) -> bool {
        let shares = &self.0;
        if shares.is_empty() {
            return true;
        }
        let distinct = shares.iter().enumerate().all(|(i, (a, _))| shares[..i].iter().all(|(b, _)| a != b));
        let sum: u32 = shares.iter().map(|(_, share)| u32::from(*share)).sum();
        shares.len() <= FEE_RECIPIENTS_MAX
            && distinct
            && shares.iter().all(|(_, share)| *share > 0)
            && sum == u32::from(BASIS_POINTS)
    }

    /// `fee` split by the shares, in order (rounded down; the remainder to the first recipient).
    /// Empty when there are no recipients.
    pub fn split(&self, fee: Amount) -> Vec<(AccountId, Amount)> {
        let mut parts: Vec<(AccountId, Amount)> = self
            .0
            .iter()
            .map(|(account, share)| {
                // fee * share / 10_000 without overflow: split fee into whole ten-thousandths and the rest.
                let whole = fee.get() / u128::from(BASIS_POINTS);
                let rest = fee.get() % u128::from(BASIS_POINTS);
                let part = whole * u128::from(*share) + rest * u128::from(*share) / u128::from(BASIS_POINTS);
                (*account, Amount(part))
            })
            .collect();
        let paid: u128 = parts.iter().map(|(_, part)| part.get()).sum();
        if let Some(first) = parts.first_mut() {
            first.1 = Amount(first.1.get() + (fee.get() - paid));
        }
        parts
    }
}

impl Write for FeeShares {
    fn write(&self, buf: &mut impl BufMut) {
        assert!(self.0.len() <= FEE_RECIPIENTS_MAX, "fee shares are checked before they are encoded");
        (self.0.len() as u8).write(buf);
        for slot in 0..FEE_RECIPIENTS_MAX {
            let (account, share) = self.0.get(slot).copied().unwrap_or((AccountId([0; 32]), 0));
            account.write(buf);
            share.write(buf);
        }
    }
}

impl FixedSize for FeeShares {
    const SIZE: usize = 1 + FEE_RECIPIENTS_MAX * (AccountId::SIZE + u16::SIZE);
}

impl Read for FeeShares {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let count = usize::from(u8::read(buf)?);
        if count > FEE_RECIPIENTS_MAX {
            return Err(CodecError::Invalid("FeeShares", "too many recipients"));
        }
        let mut shares = Vec::with_capacity(count);
        for slot in 0..FEE_RECIPIENTS_MAX {
            let account = AccountId::read(buf)?;
            let share = u16::read(buf)?;
            if slot < count {
                shares.push((account, share));
            } else if account != AccountId([0; 32]) || share != 0 {
                return Err(CodecError::Invalid("FeeShares", "an unused slot is not zero"));
            }
        }
        Ok(Self(shares))
    }
}

/// What a corridor states when a regulator defines it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorridorTerms {
    pub id: CorridorId,
    /// The asset the sender pays in (and fees are paid in).
    pub source: Symbol,
    /// The asset the recipient is paid in.
    pub destination: Symbol,
    /// The sending wallet organisation's account: it requests remittances for its customers.
    pub sending_wallet: AccountId,
    /// The receiving wallet organisation's account: it may refund a settled remittance.
    pub receiving_wallet: AccountId,
    /// The settlement institution's account: it receives the source amount, pays the destination
    /// amount from its liquidity, and may refund.
    pub settlement: AccountId,
    /// The FX quote provider's account: it quotes rates.
    pub fx_provider: AccountId,
    /// The compliance account: it keeps the sanctions list and sets the limits.
    pub compliance: AccountId,
    /// The flat part of the fee, in source units.
    pub fee_flat: Amount,
    /// The proportional part of the fee, in basis points of the source amount (rounded down).
    pub fee_bps: u16,
    pub fee_shares: FeeShares,
    /// The most one remittance may send, in source units.
    pub per_transfer_max: Amount,
    /// The most one sender may send through the corridor in a day, in source units.
    pub daily_max: Amount,
}

impl CorridorTerms {
    /// The fee for sending `amount`: flat plus basis points, rounded down (`None` on overflow).
    pub fn fee(&self, amount: Amount) -> Option<Amount> {
        let proportional = amount.get().checked_mul(u128::from(self.fee_bps))? / u128::from(BASIS_POINTS);
        self.fee_flat.checked_add(Amount(proportional))
    }
}

impl Write for CorridorTerms {
    fn write(&self, buf: &mut impl BufMut) {
        self.id.write(buf);
        self.source.write(buf);
        self.destination.write(buf);
        self.sending_wallet.write(buf);
        self.receiving_wallet.write(buf);
        self.settlement.write(buf);
        self.fx_provider.write(buf);
        self.compliance.write(buf);
        self.fee_flat.write(buf);
        self.fee_bps.write(buf);
        self.fee_shares.write(buf);
        self.per_transfer_max.write(buf);
        self.daily_max.write(buf);
    }
}

impl FixedSize for CorridorTerms {
    const SIZE: usize = CorridorId::SIZE
        + 2 * Symbol::SIZE
        + 5 * AccountId::SIZE
        + Amount::SIZE
        + u16::SIZE
        + FeeShares::SIZE
        + 2 * Amount::SIZE;
}

impl Read for CorridorTerms {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            id: CorridorId::read(buf)?,
            source: Symbol::read(buf)?,
            destination: Symbol::read(buf)?,
            sending_wallet: AccountId::read(buf)?,
            receiving_wallet: AccountId::read(buf)?,
            settlement: AccountId::read(buf)?,
            fx_provider: AccountId::read(buf)?,
            compliance: AccountId::read(buf)?,
            fee_flat: Amount::read(buf)?,
            fee_bps: u16::read(buf)?,
            fee_shares: FeeShares::read(buf)?,
            per_transfer_max: Amount::read(buf)?,
            daily_max: Amount::read(buf)?,
        })
    }
}

/// An operation of the remittance module (`Payload::Remittance`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemittanceOp {
    /// A regulator defines a corridor (active from the start).
    DefineCorridor(CorridorTerms),
    /// A regulator opens or closes a corridor: a closed corridor takes no request, quote or
    /// acceptance (refunds still apply).
    SetCorridorActive { corridor: CorridorId, active: bool },
    /// The corridor's compliance account sets its limits.
    SetLimits { corridor: CorridorId, per_transfer_max: Amount, daily_max: Amount },
    /// The corridor's compliance account lists (or delists) an account as sanctioned; the list
    /// belongs to the compliance account and applies to every corridor it serves.
    SetSanctioned { corridor: CorridorId, account: AccountId, sanctioned: bool },
    /// The corridor's sending wallet requests a remittance of `amount` source units from
    /// `sender` (its customer, who accepts and pays) to `recipient`; its id is
    /// [`remittance_id`] of the wallet and `reference`.
    Request { corridor: CorridorId, reference: u64, sender: AccountId, recipient: AccountId, amount: Amount },
    /// The corridor's FX provider quotes a requested (or quoted) remittance: `rate` destination
    /// units per [`RATE_SCALE`] source units, valid while block timestamps are below `expires_ms`.
    Quote { id: RemittanceId, rate: u128, expires_ms: u64 },
    /// The sender accepts the quote: compliance runs, and the remittance settles or is rejected.
    Accept { id: RemittanceId },
    /// The recipient, the receiving wallet or the settlement account refunds a settled
    /// remittance: it returns the destination amount to the settlement account, which returns
    /// the source amount to the sender (fees are kept).
    Refund { id: RemittanceId },
}

impl RemittanceOp {
    const TAG_DEFINE_CORRIDOR: u8 = 0;
    const TAG_SET_CORRIDOR_ACTIVE: u8 = 1;
    const TAG_SET_LIMITS: u8 = 2;
    const TAG_SET_SANCTIONED: u8 = 3;
    const TAG_REQUEST: u8 = 4;
    const TAG_QUOTE: u8 = 5;
    const TAG_ACCEPT: u8 = 6;
    const TAG_REFUND: u8 = 7;

    /// A short name for logs and the CLI.
    pub fn kind(&self) -> &'static str {
        match self {
            RemittanceOp::DefineCorridor(_) => "remittance_define_corridor",
            RemittanceOp::SetCorridorActive { .. } => "remittance_set_corridor_active",
            RemittanceOp::SetLimits { .. } => "remittance_set_limits",
            RemittanceOp::SetSanctioned { .. } => "remittance_set_sanctioned",
            RemittanceOp::Request { .. } => "remittance_request",
            RemittanceOp::Quote { .. } => "remittance_quote",
            RemittanceOp::Accept { .. } => "remittance_accept",
            RemittanceOp::Refund { .. } => "remittance_refund",
        }
    }
}

impl Write for RemittanceOp {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            RemittanceOp::DefineCorridor(terms) => {
                Self::TAG_DEFINE_CORRIDOR.write(buf);
                terms.write(buf);
            }
            RemittanceOp::SetCorridorActive { corridor, active } => {
                Self::TAG_SET_CORRIDOR_ACTIVE.write(buf);
                corridor.write(buf);
                active.write(buf);
            }
            RemittanceOp::SetLimits { corridor, per_transfer_max, daily_max } => {
                Self::TAG_SET_LIMITS.write(buf);
                corridor.write(buf);
                per_transfer_max.write(buf);
                daily_max.write(buf);
            }
            RemittanceOp::SetSanctioned { corridor, account, sanctioned } => {
                Self::TAG_SET_SANCTIONED.write(buf);
                corridor.write(buf);
                account.write(buf);
                sanctioned.write(buf);
            }
            RemittanceOp::Request { corridor, reference, sender, recipient, amount } => {
                Self::TAG_REQUEST.write(buf);
                corridor.write(buf);
                reference.write(buf);
                sender.write(buf);
                recipient.write(buf);
                amount.write(buf);
            }
            RemittanceOp::Quote { id, rate, expires_ms } => {
                Self::TAG_QUOTE.write(buf);
                id.write(buf);
                rate.write(buf);
                expires_ms.write(buf);
            }
            RemittanceOp::Accept { id } => {
                Self::TAG_ACCEPT.write(buf);
                id.write(buf);
            }
            RemittanceOp::Refund { id } => {
                Self::TAG_REFUND.write(buf);
                id.write(buf);
            }
        }
    }
}

impl EncodeSize for RemittanceOp {
    fn encode_size(&self) -> usize {
        1 + match self {
            RemittanceOp::DefineCorridor(_) => CorridorTerms::SIZE,
            RemittanceOp::SetCorridorActive { .. } => CorridorId::SIZE + 1,
            RemittanceOp::SetLimits { .. } => CorridorId::SIZE + 2 * Amount::SIZE,
            RemittanceOp::SetSanctioned { .. } => CorridorId::SIZE + AccountId::SIZE + 1,
            RemittanceOp::Request { .. } => CorridorId::SIZE + u64::SIZE + 2 * AccountId::SIZE + Amount::SIZE,
            RemittanceOp::Quote { .. } => Hash::SIZE + u128::SIZE + u64::SIZE,
            RemittanceOp::Accept { .. } | RemittanceOp::Refund { .. } => Hash::SIZE,
        }
    }
}

impl Read for RemittanceOp {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            Self::TAG_DEFINE_CORRIDOR => RemittanceOp::DefineCorridor(CorridorTerms::read(buf)?),
            Self::TAG_SET_CORRIDOR_ACTIVE => {
                RemittanceOp::SetCorridorActive { corridor: CorridorId::read(buf)?, active: bool::read(buf)? }
            }
            Self::TAG_SET_LIMITS => RemittanceOp::SetLimits {
                corridor: CorridorId::read(buf)?,
                per_transfer_max: Amount::read(buf)?,
                daily_max: Amount::read(buf)?,
            },
            Self::TAG_SET_SANCTIONED => RemittanceOp::SetSanctioned {
                corridor: CorridorId::read(buf)?,
                account: AccountId::read(buf)?,
                sanctioned: bool::read(buf)?,
            },
            Self::TAG_REQUEST => RemittanceOp::Request {
                corridor: CorridorId::read(buf)?,
                reference: u64::read(buf)?,
                sender: AccountId::read(buf)?,
                recipient: AccountId::read(buf)?,
                amount: Amount::read(buf)?,
            },
            Self::TAG_QUOTE => {
                RemittanceOp::Quote { id: Hash::read(buf)?, rate: u128::read(buf)?, expires_ms: u64::read(buf)? }
            }
            Self::TAG_ACCEPT => RemittanceOp::Accept { id: Hash::read(buf)? },
            Self::TAG_REFUND => RemittanceOp::Refund { id: Hash::read(buf)? },
            other => return Err(CodecError::InvalidEnum(other)),
        })
    }
}

/// A corridor as the chain keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorridorRecord {
    pub terms: CorridorTerms,
    pub active: bool,
    /// The regulator that defined it.
    pub regulator: AccountId,
    pub defined_at: Height,
    /// The height of the last change of limits or of the active flag.
    pub updated_at: Height,
}

impl CorridorRecord {
    /// The module key of corridor `id`.
    pub fn key(id: &CorridorId) -> Vec<u8> {
        let mut key = b"corridor".to_vec();
        id.write(&mut key);
        key
    }
}

impl Write for CorridorRecord {
    fn write(&self, buf: &mut impl BufMut) {
        self.terms.write(buf);
        self.active.write(buf);
        self.regulator.write(buf);
        self.defined_at.write(buf);
        self.updated_at.write(buf);
    }
}

impl FixedSize for CorridorRecord {
    const SIZE: usize = CorridorTerms::SIZE + 1 + AccountId::SIZE + 2 * Height::SIZE;
}

impl Read for CorridorRecord {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            terms: CorridorTerms::read(buf)?,
            active: bool::read(buf)?,
            regulator: AccountId::read(buf)?,
            defined_at: Height::read(buf)?,
            updated_at: Height::read(buf)?,
        })
    }
}

/// An entry of a compliance account's sanctions list (delisting deletes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SanctionEntry {
    /// The corridor through which the compliance account listed it.
    pub corridor: CorridorId,
    pub listed_at: Height,
}

impl SanctionEntry {
    /// The module key of `account`'s entry on `compliance`'s list.
    pub fn key(compliance: &AccountId, account: &AccountId) -> Vec<u8> {
        [&b"sanction"[..], &compliance.0, &account.0].concat()
    }
}

impl Write for SanctionEntry {
    fn write(&self, buf: &mut impl BufMut) {
        self.corridor.write(buf);
        self.listed_at.write(buf);
    }
}

impl FixedSize for SanctionEntry {
    const SIZE: usize = CorridorId::SIZE + Height::SIZE;
}

impl Read for SanctionEntry {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { corridor: CorridorId::read(buf)?, listed_at: Height::read(buf)? })
    }
}

/// What a sender has sent through a corridor on one day (source units, fees excluded). One
/// record per corridor and sender, overwritten when a new day begins, so its key is known
/// before the block's time is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DailyUsage {
    /// The day: block `timestamp_ms / DAY_MS`.
    pub day: u64,
    pub sent: Amount,
}

impl DailyUsage {
    /// The module key of `sender`'s usage of `corridor`.
    pub fn key(corridor: &CorridorId, sender: &AccountId) -> Vec<u8> {
        let mut key = b"usage".to_vec();
        corridor.write(&mut key);
        key.extend_from_slice(&sender.0);
        key
    }

    /// What was sent on `day` (nothing if the record is of an earlier day).
    pub fn sent_on(&self, day: u64) -> Amount {
        if self.day == day { self.sent } else { Amount::ZERO }
    }
}

impl Write for DailyUsage {
    fn write(&self, buf: &mut impl BufMut) {
        self.day.write(buf);
        self.sent.write(buf);
    }
}

impl FixedSize for DailyUsage {
    const SIZE: usize = u64::SIZE + Amount::SIZE;
}

impl Read for DailyUsage {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { day: u64::read(buf)?, sent: Amount::read(buf)? })
    }
}

/// Where a remittance stands. Legal transitions: requested → quoted (→ quoted again, a new
/// quote replacing the last) → settled or rejected (by the acceptance, in one transaction);
/// settled → refunded. Acceptance is not a resting state: the accepting transaction settles or
/// rejects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemittanceStatus {
    Requested,
    Quoted,
    Settled,
    Rejected,
    Refunded,
}

impl RemittanceStatus {
    fn tag(self) -> u8 {
        match self {
            RemittanceStatus::Requested => 0,
            RemittanceStatus::Quoted => 1,
            RemittanceStatus::Settled => 2,
            RemittanceStatus::Rejected => 3,
            RemittanceStatus::Refunded => 4,
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            0 => RemittanceStatus::Requested,
            1 => RemittanceStatus::Quoted,
            2 => RemittanceStatus::Settled,
            3 => RemittanceStatus::Rejected,
            4 => RemittanceStatus::Refunded,
            _ => return None,
        })
    }
}

impl fmt::Display for RemittanceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RemittanceStatus::Requested => "requested",
            RemittanceStatus::Quoted => "quoted",
            RemittanceStatus::Settled => "settled",
            RemittanceStatus::Rejected => "rejected",
            RemittanceStatus::Refunded => "refunded",
        })
    }
}

/// Why compliance (or the settlement account's liquidity) rejected an accepted remittance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The sender is on the compliance account's sanctions list.
    SenderSanctioned,
    /// The recipient is on the compliance account's sanctions list.
    RecipientSanctioned,
    /// The amount is above the corridor's per-transfer limit.
    OverTransferLimit,
    /// The amount would take the sender past the corridor's per-day limit.
    OverDailyLimit,
    /// The settlement account holds less of the destination asset than the recipient is owed.
    InsufficientLiquidity,
}

impl RejectReason {
    /// The reason's code in records and events (1 and up; 0 means none).
    pub fn code(self) -> u8 {
        match self {
            RejectReason::SenderSanctioned => 1,
            RejectReason::RecipientSanctioned => 2,
            RejectReason::OverTransferLimit => 3,
            RejectReason::OverDailyLimit => 4,
            RejectReason::InsufficientLiquidity => 5,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => RejectReason::SenderSanctioned,
            2 => RejectReason::RecipientSanctioned,
            3 => RejectReason::OverTransferLimit,
            4 => RejectReason::OverDailyLimit,
            5 => RejectReason::InsufficientLiquidity,
            _ => return None,
        })
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RejectReason::SenderSanctioned => "the sender is sanctioned",
            RejectReason::RecipientSanctioned => "the recipient is sanctioned",
            RejectReason::OverTransferLimit => "over the per-transfer limit",
            RejectReason::OverDailyLimit => "over the per-day limit",
            RejectReason::InsufficientLiquidity => "the settlement account lacks liquidity",
        })
    }
}

/// The FX provider's quote of a remittance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    /// Destination units per [`RATE_SCALE`] source units.
    pub rate: u128,
    /// The fee the sender pays on top of the amount, in source units (the corridor's schedule
    /// when quoted).
    pub fee: Amount,
    /// What the recipient receives: `amount * rate / RATE_SCALE`, rounded down.
    pub destination_amount: Amount,
    /// The quote holds while block timestamps are below this.
    pub expires_ms: u64,
    pub quoted_at: Height,
}

impl Quote {
    /// The destination amount for `amount` at `rate`, rounded down (`None` on overflow).
    pub fn destination_amount(amount: Amount, rate: u128) -> Option<Amount> {
        amount.get().checked_mul(rate).map(|product| Amount(product / RATE_SCALE))
    }
}

impl Write for Quote {
    fn write(&self, buf: &mut impl BufMut) {
        self.rate.write(buf);
        self.fee.write(buf);
        self.destination_amount.write(buf);
        self.expires_ms.write(buf);
        self.quoted_at.write(buf);
    }
}

impl FixedSize for Quote {
    const SIZE: usize = u128::SIZE + 2 * Amount::SIZE + u64::SIZE + Height::SIZE;
}

impl Read for Quote {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            rate: u128::read(buf)?,
            fee: Amount::read(buf)?,
            destination_amount: Amount::read(buf)?,
            expires_ms: u64::read(buf)?,
            quoted_at: Height::read(buf)?,
        })
    }
}

/// A remittance as the chain keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemittanceRecord {
    pub id: RemittanceId,
    pub corridor: CorridorId,
    /// The sending wallet that requested it, and its reference.
    pub wallet: AccountId,
    pub reference: u64,
    /// Who pays (and accepts).
    pub sender: AccountId,
    pub recipient: AccountId,
    /// The source amount the recipient's side is settled for (fees on top).
    pub amount: Amount,
    pub status: RemittanceStatus,
    /// The latest quote (once quoted).
    pub quote: Option<Quote>,
    /// Why it was rejected (only when rejected).
    pub reason: Option<RejectReason>,
    pub requested_at: Height,
    /// The height of the last change of status or quote.
    pub updated_at: Height,
}

impl RemittanceRecord {
    /// The module key of remittance `id`.
    pub fn key(id: &RemittanceId) -> Vec<u8> {
        [&b"remittance"[..], id.as_ref()].concat()
    }
}

const NO_QUOTE: Quote =
    Quote { rate: 0, fee: Amount::ZERO, destination_amount: Amount::ZERO, expires_ms: 0, quoted_at: Height(0) };

impl Write for RemittanceRecord {
    fn write(&self, buf: &mut impl BufMut) {
        self.id.write(buf);
        self.corridor.write(buf);
        self.wallet.write(buf);
        self.reference.write(buf);
        self.sender.write(buf);
        self.recipient.write(buf);
        self.amount.write(buf);
        self.status.tag().write(buf);
        self.quote.is_some().write(buf);
        self.quote.unwrap_or(NO_QUOTE).write(buf);
        self.reason.map_or(0, RejectReason::code).write(buf);
        self.requested_at.write(buf);
        self.updated_at.write(buf);
    }
}

impl FixedSize for RemittanceRecord {
    const SIZE: usize = Hash::SIZE
        + CorridorId::SIZE
        + AccountId::SIZE
        + u64::SIZE
        + 2 * AccountId::SIZE
        + Amount::SIZE
        + 1
        + 1
        + Quote::SIZE
        + 1
        + 2 * Height::SIZE;
}

impl Read for RemittanceRecord {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let id = Hash::read(buf)?;
        let corridor = CorridorId::read(buf)?;
        let wallet = AccountId::read(buf)?;
        let reference = u64::read(buf)?;
        let sender = AccountId::read(buf)?;
        let recipient = AccountId::read(buf)?;
        let amount = Amount::read(buf)?;
        let tag = u8::read(buf)?;
        let status = RemittanceStatus::from_tag(tag).ok_or(CodecError::InvalidEnum(tag))?;
        let quoted = bool::read(buf)?;
        let quote = Quote::read(buf)?;
        if !quoted && quote != NO_QUOTE {
            return Err(CodecError::Invalid("RemittanceRecord", "a quote without its flag"));
        }
        let code = u8::read(buf)?;
        let reason = match code {
            0 => None,
            code => Some(RejectReason::from_code(code).ok_or(CodecError::InvalidEnum(code))?),
        };
        if reason.is_some() != (status == RemittanceStatus::Rejected) {
            return Err(CodecError::Invalid("RemittanceRecord", "a reason without a rejection, or the reverse"));
        }
        Ok(Self {
            id,
            corridor,
            wallet,
            reference,
            sender,
            recipient,
            amount,
            status,
            quote: quoted.then_some(quote),
            reason,
            requested_at: Height::read(buf)?,
            updated_at: Height::read(buf)?,
        })
    }
}
