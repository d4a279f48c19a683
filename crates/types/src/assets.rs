//! Asset tokens: the operations of the assets module and the records it keeps.
//!
//! An asset is named by its [`Symbol`]. An account holding the issuer role defines it and becomes
//! its issuer. The issuer attests the reserves backing the asset ([`Attestation`]); it mints up to
//! those reserves and never past the asset's optional cap, and burns from its own holding when
//! holders redeem. It can pause the asset and, for an asset that needs allow-listing, decide who
//! may hold it. A regulator can freeze one account's holding.
//!
//! The invariant the module keeps: `supply = minted - burned`, and the holdings of an asset sum to
//! its supply. The native asset ([`Symbol::NATIVE`]) is one asset among these: its balances are
//! the accounts' balances, its supply is fixed at genesis, and only transfers apply to it.

use crate::primitives::{AccountId, Amount, Hash, Height, ParseError};
use bytes::BufMut;
use commonware_codec::{Buf, Encode, EncodeSize, Error as CodecError, FixedSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An asset's symbol: 1 to 12 characters of `A`-`Z`, `0`-`9`, `-` and `.`, starting with a letter.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Symbol {
    len: u8,
    bytes: [u8; 12],
}

impl Symbol {
    /// The longest symbol, in bytes.
    pub const BYTES_MAX: usize = 12;

    /// The native asset: fees and gas are paid in it and account balances hold it.
    pub const NATIVE: Symbol = Symbol { len: 3, bytes: *b"FMC\0\0\0\0\0\0\0\0\0" };

    /// Checks and stores a symbol.
    pub fn new(symbol: &str) -> Result<Self, ParseError> {
        if symbol.is_empty() || symbol.len() > Self::BYTES_MAX {
            return Err(ParseError::Length { expected: Self::BYTES_MAX, actual: symbol.len() });
        }
        if !Self::valid(symbol.as_bytes()) {
            return Err(ParseError::Invalid(format!(
                "asset symbol {symbol:?} must start with A-Z and hold only A-Z, 0-9, '-' and '.'"
            )));
        }
        let mut bytes = [0u8; 12];
        bytes[..symbol.len()].copy_from_slice(symbol.as_bytes());
        Ok(Self { len: symbol.len() as u8, bytes })
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

    /// Whether this is the native asset.
    pub fn is_native(&self) -> bool {
        *self == Self::NATIVE
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Symbol({:?})", self.as_str())
    }
}

impl std::str::FromStr for Symbol {
    type Err = ParseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::new(text)
    }
}

impl TryFrom<String> for Symbol {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(&text)
    }
}

impl From<Symbol> for String {
    fn from(symbol: Symbol) -> Self {
        symbol.as_str().to_string()
    }
}

impl Write for Symbol {
    fn write(&self, buf: &mut impl BufMut) {
        self.len.write(buf);
        buf.put_slice(&self.bytes);
    }
}

impl FixedSize for Symbol {
    const SIZE: usize = 1 + 12;
}

impl Read for Symbol {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let len = u8::read(buf)?;
        let bytes = <[u8; 12]>::read(buf)?;
        let used = usize::from(len);
        if used == 0 || used > Self::BYTES_MAX || bytes[used..].iter().any(|byte| *byte != 0) {
            return Err(CodecError::Invalid("Symbol", "bad length or padding"));
        }
        if !Self::valid(&bytes[..used]) {
            return Err(CodecError::Invalid("Symbol", "bad character"));
        }
        Ok(Self { len, bytes })
    }
}

/// The most decimals an asset may declare (amounts are `u128`, so 18 still leaves 10^20 units).
pub const ASSET_DECIMALS_MAX: u8 = 18;

/// An operation of the assets module (`Payload::Asset`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AssetOp {
    /// Defines a new asset with the sender (who needs the issuer role) as its issuer.
    Define { symbol: Symbol, decimals: u8, cap: Option<Amount>, allow_list: bool },
    /// The issuer attests the reserves backing the asset, with the hash of the reserve report.
    /// Minting may then bring the supply up to `reserves`.
    Attest { symbol: Symbol, reserves: Amount, reference: Hash },
    /// The issuer creates `amount` and credits it to `to`.
    Mint { symbol: Symbol, to: AccountId, amount: Amount },
    /// The issuer destroys `amount` of its own holding (redemption).
    Burn { symbol: Symbol, amount: Amount },
    /// Moves `amount` from the sender's holding to `to`'s.
    Transfer { symbol: Symbol, to: AccountId, amount: Amount },
    /// The issuer pauses (or resumes) every mint, burn and transfer of the asset.
    SetPaused { symbol: Symbol, paused: bool },
    /// A regulator freezes (or unfreezes) one account's holding of the asset.
    SetHoldingFrozen { symbol: Symbol, account: AccountId, frozen: bool },
    /// The issuer of an allow-listed asset allows (or stops allowing) an account to hold it.
    SetAllowed { symbol: Symbol, account: AccountId, allowed: bool },
}

impl AssetOp {
    const TAG_DEFINE: u8 = 0;
    const TAG_ATTEST: u8 = 1;
    const TAG_MINT: u8 = 2;
    const TAG_BURN: u8 = 3;
    const TAG_TRANSFER: u8 = 4;
    const TAG_SET_PAUSED: u8 = 5;
    const TAG_SET_HOLDING_FROZEN: u8 = 6;
    const TAG_SET_ALLOWED: u8 = 7;

    /// The asset the operation is about.
    pub fn symbol(&self) -> Symbol {
        match self {
            AssetOp::Define { symbol, .. }
            | AssetOp::Attest { symbol, .. }
            | AssetOp::Mint { symbol, .. }
            | AssetOp::Burn { symbol, .. }
            | AssetOp::Transfer { symbol, .. }
            | AssetOp::SetPaused { symbol, .. }
            | AssetOp::SetHoldingFrozen { symbol, .. }
            | AssetOp::SetAllowed { symbol, .. } => *symbol,
        }
    }

    /// A short name for logs and the CLI.
    pub fn kind(&self) -> &'static str {
        match self {
            AssetOp::Define { .. } => "asset_define",
            AssetOp::Attest { .. } => "asset_attest",
            AssetOp::Mint { .. } => "asset_mint",
            AssetOp::Burn { .. } => "asset_burn",
            AssetOp::Transfer { .. } => "asset_transfer",
            AssetOp::SetPaused { .. } => "asset_set_paused",
            AssetOp::SetHoldingFrozen { .. } => "asset_set_holding_frozen",
            AssetOp::SetAllowed { .. } => "asset_set_allowed",
        }
    }
}

impl Write for AssetOp {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            AssetOp::Define { symbol, decimals, cap, allow_list } => {
                Self::TAG_DEFINE.write(buf);
                symbol.write(buf);
                decimals.write(buf);
                cap.write(buf);
                allow_list.write(buf);
            }
            AssetOp::Attest { symbol, reserves, reference } => {
                Self::TAG_ATTEST.write(buf);
                symbol.write(buf);
                reserves.write(buf);
                reference.write(buf);
            }
            AssetOp::Mint { symbol, to, amount } => {
                Self::TAG_MINT.write(buf);
                symbol.write(buf);
                to.write(buf);
                amount.write(buf);
            }
            AssetOp::Burn { symbol, amount } => {
                Self::TAG_BURN.write(buf);
                symbol.write(buf);
                amount.write(buf);
            }
            AssetOp::Transfer { symbol, to, amount } => {
                Self::TAG_TRANSFER.write(buf);
                symbol.write(buf);
                to.write(buf);
                amount.write(buf);
            }
            AssetOp::SetPaused { symbol, paused } => {
                Self::TAG_SET_PAUSED.write(buf);
                symbol.write(buf);
                paused.write(buf);
            }
            AssetOp::SetHoldingFrozen { symbol, account, frozen } => {
                Self::TAG_SET_HOLDING_FROZEN.write(buf);
                symbol.write(buf);
                account.write(buf);
                frozen.write(buf);
            }
            AssetOp::SetAllowed { symbol, account, allowed } => {
                Self::TAG_SET_ALLOWED.write(buf);
                symbol.write(buf);
                account.write(buf);
                allowed.write(buf);
            }
        }
    }
}

impl EncodeSize for AssetOp {
    fn encode_size(&self) -> usize {
        1 + match self {
            AssetOp::Define { cap, .. } => Symbol::SIZE + 1 + cap.encode_size() + 1,
            AssetOp::Attest { .. } => Symbol::SIZE + Amount::SIZE + Hash::SIZE,
            AssetOp::Mint { .. } | AssetOp::Transfer { .. } => Symbol::SIZE + AccountId::SIZE + Amount::SIZE,
            AssetOp::Burn { .. } => Symbol::SIZE + Amount::SIZE,
            AssetOp::SetPaused { .. } => Symbol::SIZE + 1,
            AssetOp::SetHoldingFrozen { .. } | AssetOp::SetAllowed { .. } => Symbol::SIZE + AccountId::SIZE + 1,
        }
    }
}

impl Read for AssetOp {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let tag = u8::read(buf)?;
        let symbol = Symbol::read(buf)?;
        Ok(match tag {
            Self::TAG_DEFINE => AssetOp::Define {
                symbol,
                decimals: u8::read(buf)?,
                cap: Option::<Amount>::read(buf)?,
                allow_list: bool::read(buf)?,
            },
            Self::TAG_ATTEST => AssetOp::Attest { symbol, reserves: Amount::read(buf)?, reference: Hash::read(buf)? },
            Self::TAG_MINT => AssetOp::Mint { symbol, to: AccountId::read(buf)?, amount: Amount::read(buf)? },
            Self::TAG_BURN => AssetOp::Burn { symbol, amount: Amount::read(buf)? },
            Self::TAG_TRANSFER => AssetOp::Transfer { symbol, to: AccountId::read(buf)?, amount: Amount::read(buf)? },
            Self::TAG_SET_PAUSED => AssetOp::SetPaused { symbol, paused: bool::read(buf)? },
            Self::TAG_SET_HOLDING_FROZEN => {
                AssetOp::SetHoldingFrozen { symbol, account: AccountId::read(buf)?, frozen: bool::read(buf)? }
            }
            Self::TAG_SET_ALLOWED => {
                AssetOp::SetAllowed { symbol, account: AccountId::read(buf)?, allowed: bool::read(buf)? }
            }
            other => return Err(CodecError::InvalidEnum(other)),
        })
    }
}

/// An asset's definition and totals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AssetRecord {
    pub symbol: Symbol,
    pub decimals: u8,
    pub issuer: AccountId,
    /// The most the supply may ever reach, if set.
    pub cap: Option<Amount>,
    /// Whether only accounts the issuer allowed may receive the asset.
    pub allow_list: bool,
    pub paused: bool,
    /// Always `minted - burned`.
    pub supply: Amount,
    pub minted: Amount,
    pub burned: Amount,
    /// The reserves of the latest attestation (the supply may not be minted past them).
    pub reserves: Amount,
    /// How many attestations were made (the latest is number `attestations - 1`).
    pub attestations: u64,
    pub defined_at: Height,
}

impl AssetRecord {
    /// The module key of the asset's record.
    pub fn key(symbol: &Symbol) -> Vec<u8> {
        [&b"asset"[..], &symbol.encode()].concat()
    }
}

impl Write for AssetRecord {
    fn write(&self, buf: &mut impl BufMut) {
        self.symbol.write(buf);
        self.decimals.write(buf);
        self.issuer.write(buf);
        self.cap.is_some().write(buf);
        self.cap.unwrap_or(Amount::ZERO).write(buf);
        self.allow_list.write(buf);
        self.paused.write(buf);
        self.supply.write(buf);
        self.minted.write(buf);
        self.burned.write(buf);
        self.reserves.write(buf);
        self.attestations.write(buf);
        self.defined_at.write(buf);
    }
}

impl FixedSize for AssetRecord {
    const SIZE: usize =
        Symbol::SIZE + 1 + AccountId::SIZE + 1 + Amount::SIZE + 2 + 4 * Amount::SIZE + u64::SIZE + Height::SIZE;
}

impl Read for AssetRecord {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let symbol = Symbol::read(buf)?;
        let decimals = u8::read(buf)?;
        let issuer = AccountId::read(buf)?;
        let has_cap = bool::read(buf)?;
        let cap = Amount::read(buf)?;
        if !has_cap && cap != Amount::ZERO {
            return Err(CodecError::Invalid("AssetRecord", "a cap without its flag"));
        }
        Ok(Self {
            symbol,
            decimals,
            issuer,
            cap: has_cap.then_some(cap),
            allow_list: bool::read(buf)?,
            paused: bool::read(buf)?,
            supply: Amount::read(buf)?,
            minted: Amount::read(buf)?,
            burned: Amount::read(buf)?,
            reserves: Amount::read(buf)?,
            attestations: u64::read(buf)?,
            defined_at: Height::read(buf)?,
        })
    }
}

/// One account's holding of one asset (absent: a zero balance, not frozen, not allowed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Holding {
    pub balance: Amount,
    pub frozen: bool,
    /// Whether the issuer allowed the account to hold an allow-listed asset.
    pub allowed: bool,
}

impl Holding {
    /// The module key of `account`'s holding of the asset.
    pub fn key(symbol: &Symbol, account: &AccountId) -> Vec<u8> {
        [&b"holding"[..], &symbol.encode(), &account.0].concat()
    }

    /// Whether the record carries nothing and can be deleted.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Write for Holding {
    fn write(&self, buf: &mut impl BufMut) {
        self.balance.write(buf);
        self.frozen.write(buf);
        self.allowed.write(buf);
    }
}

impl FixedSize for Holding {
    const SIZE: usize = Amount::SIZE + 2;
}

impl Read for Holding {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { balance: Amount::read(buf)?, frozen: bool::read(buf)?, allowed: bool::read(buf)? })
    }
}

/// An issuer's statement of the reserves backing an asset, with the hash of the report behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attestation {
    pub reserves: Amount,
    pub reference: Hash,
    pub height: Height,
}

impl Attestation {
    /// The module key of the asset's attestation number `index` (from 0).
    pub fn key(symbol: &Symbol, index: u64) -> Vec<u8> {
        [&b"attestation"[..], &symbol.encode(), &index.to_be_bytes()].concat()
    }
}

impl Write for Attestation {
    fn write(&self, buf: &mut impl BufMut) {
        self.reserves.write(buf);
        self.reference.write(buf);
        self.height.write(buf);
    }
}

impl FixedSize for Attestation {
    const SIZE: usize = Amount::SIZE + Hash::SIZE + Height::SIZE;
}

impl Read for Attestation {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { reserves: Amount::read(buf)?, reference: Hash::read(buf)?, height: Height::read(buf)? })
    }
}
