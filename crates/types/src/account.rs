//! Account state as stored in the authenticated state.

use crate::keys::{AccountKey, KeyEntry};
use crate::primitives::{Amount, Nonce};
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{Error as CodecError, FixedSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};

/// The most signing keys one account may hold.
pub const ACCOUNT_KEYS_MAX: u8 = 16;

/// What an account may do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    Normal,
    /// A recovery started with the recovery key is waiting for its delay; the current keys may
    /// cancel it.
    Recovering,
    /// A regulator froze the account: it cannot send.
    Frozen,
}

/// An account: its next nonce, native balance, and the head of its key set.
///
/// The account's first signing key is stored inline (most accounts hold one key); keys 2 to
/// [`ACCOUNT_KEYS_MAX`] live in their own state records, found by slot number. A transaction is
/// authorised when the weights of the distinct account keys that signed it reach `threshold`.
///
/// The encoding starts with a version byte so later layouts can be added without rewriting state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The nonce the account's next transaction must carry.
    pub nonce: Nonce,
    pub balance: Amount,
    /// The signing key in slot 0.
    pub first_key: KeyEntry,
    /// Signing keys in all, the first included (1 to [`ACCOUNT_KEYS_MAX`]).
    pub key_count: u8,
    /// The signature weight a transaction needs.
    pub threshold: u16,
    pub frozen: bool,
    /// A recovery key is configured.
    pub has_recovery: bool,
    /// A recovery is under way.
    pub recovering: bool,
}

impl Account {
    const VERSION: u8 = 2;
    const FLAG_FROZEN: u8 = 1;
    const FLAG_HAS_RECOVERY: u8 = 2;
    const FLAG_RECOVERING: u8 = 4;

    /// A fresh account controlled by `key` alone (weight 1, threshold 1).
    pub fn new(key: AccountKey, balance: Amount) -> Self {
        Self {
            nonce: Nonce::ZERO,
            balance,
            first_key: KeyEntry { key, weight: 1 },
            key_count: 1,
            threshold: 1,
            frozen: false,
            has_recovery: false,
            recovering: false,
        }
    }

    /// The account's status (frozen outranks recovering).
    pub fn status(&self) -> AccountStatus {
        if self.frozen {
            AccountStatus::Frozen
        } else if self.recovering {
            AccountStatus::Recovering
        } else {
            AccountStatus::Normal
        }
    }

    fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.frozen {
            flags |= Self::FLAG_FROZEN;
        }
        if self.has_recovery {
            flags |= Self::FLAG_HAS_RECOVERY;
        }
        if self.recovering {
            flags |= Self::FLAG_RECOVERING;
        }
        flags
    }
}

impl Write for Account {
    fn write(&self, buf: &mut impl BufMut) {
        Self::VERSION.write(buf);
        self.nonce.write(buf);
        self.balance.write(buf);
        self.first_key.write(buf);
        self.key_count.write(buf);
        self.threshold.write(buf);
        self.flags().write(buf);
    }
}

impl FixedSize for Account {
    const SIZE: usize = 1 + Nonce::SIZE + Amount::SIZE + KeyEntry::SIZE + 1 + 2 + 1;
}

impl Read for Account {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let version = u8::read(buf)?;
        if version != Self::VERSION {
            return Err(CodecError::InvalidEnum(version));
        }
        let nonce = Nonce::read(buf)?;
        let balance = Amount::read(buf)?;
        let first_key = KeyEntry::read(buf)?;
        let key_count = u8::read(buf)?;
        if key_count == 0 || key_count > ACCOUNT_KEYS_MAX {
            return Err(CodecError::Invalid("Account", "key count out of range"));
        }
        let threshold = u16::read(buf)?;
        if threshold == 0 {
            return Err(CodecError::Invalid("Account", "threshold is zero"));
        }
        let flags = u8::read(buf)?;
        if flags & !(Self::FLAG_FROZEN | Self::FLAG_HAS_RECOVERY | Self::FLAG_RECOVERING) != 0 {
            return Err(CodecError::Invalid("Account", "unknown flags"));
        }
        Ok(Self {
            nonce,
            balance,
            first_key,
            key_count,
            threshold,
            frozen: flags & Self::FLAG_FROZEN != 0,
            has_recovery: flags & Self::FLAG_HAS_RECOVERY != 0,
            recovering: flags & Self::FLAG_RECOVERING != 0,
        })
    }
}
