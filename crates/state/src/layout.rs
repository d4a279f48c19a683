//! The key layout of the authenticated state and the values stored under it.
//!
//! Every record kind has its own tagged-hash key ([`StateKey::hash`]), so kinds never collide.
//! Values are fixed-size ([`StateValue::SIZE`]): a tag, the record, and zero padding up to the
//! largest record (an account).

use bytes::BufMut;
use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, ReadExt, Write};
use formica_types::{Account, AccountId, Hash, Height, KeyEntry, PendingRecovery, RecoveryConfig, Role, hash_tagged};

/// Domain tag of account keys in the state.
const ACCOUNT_KEY_TAG: &[u8] = b"formica/state/account/v1";
const KEY_SLOT_TAG: &[u8] = b"formica/state/key-slot/v1";
const RECOVERY_TAG: &[u8] = b"formica/state/recovery/v1";
const PENDING_RECOVERY_TAG: &[u8] = b"formica/state/pending-recovery/v1";
const ROLE_TAG: &[u8] = b"formica/state/role/v1";

/// The state key of an account: a tagged hash of its id.
pub fn account_key(id: &AccountId) -> Hash {
    hash_tagged(ACCOUNT_KEY_TAG, &[&id.0])
}

/// Names one record of the state. Ordered, so execution visits records deterministically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StateKey {
    /// The account record (nonce, balance, first key, flags).
    Account(AccountId),
    /// Signing key number `slot` (1 and up; slot 0 is inside the account record).
    KeySlot(AccountId, u8),
    /// The account's recovery key and delay.
    Recovery(AccountId),
    /// A recovery under way.
    PendingRecovery(AccountId),
    /// A role the account holds.
    Role(AccountId, Role),
}

impl StateKey {
    /// The 32-byte key the record is stored under.
    pub fn hash(&self) -> Hash {
        match self {
            StateKey::Account(id) => account_key(id),
            StateKey::KeySlot(id, slot) => hash_tagged(KEY_SLOT_TAG, &[&id.0, &[*slot]]),
            StateKey::Recovery(id) => hash_tagged(RECOVERY_TAG, &[&id.0]),
            StateKey::PendingRecovery(id) => hash_tagged(PENDING_RECOVERY_TAG, &[&id.0]),
            StateKey::Role(id, role) => hash_tagged(ROLE_TAG, &[&id.0, &[role.tag()]]),
        }
    }
}

/// A value in the authenticated state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateValue {
    Account(Account),
    KeySlot(KeyEntry),
    Recovery(RecoveryConfig),
    PendingRecovery(PendingRecovery),
    /// A role grant, with the height it was granted at.
    Role(Height),
}

impl StateValue {
    const TAG_ACCOUNT: u8 = 0;
    const TAG_KEY_SLOT: u8 = 1;
    const TAG_RECOVERY: u8 = 2;
    const TAG_PENDING_RECOVERY: u8 = 3;
    const TAG_ROLE: u8 = 4;
    /// The largest record; every value is padded to it.
    const BODY: usize = Account::SIZE;

    /// The account this value holds, if it is one.
    pub fn into_account(self) -> Option<Account> {
        match self {
            StateValue::Account(account) => Some(account),
            _ => None,
        }
    }

    fn body_size(&self) -> usize {
        match self {
            StateValue::Account(_) => Account::SIZE,
            StateValue::KeySlot(_) => KeyEntry::SIZE,
            StateValue::Recovery(_) => RecoveryConfig::SIZE,
            StateValue::PendingRecovery(_) => PendingRecovery::SIZE,
            StateValue::Role(_) => Height::SIZE,
        }
    }
}

impl Write for StateValue {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            StateValue::Account(account) => {
                Self::TAG_ACCOUNT.write(buf);
                account.write(buf);
            }
            StateValue::KeySlot(entry) => {
                Self::TAG_KEY_SLOT.write(buf);
                entry.write(buf);
            }
            StateValue::Recovery(config) => {
                Self::TAG_RECOVERY.write(buf);
                config.write(buf);
            }
            StateValue::PendingRecovery(pending) => {
                Self::TAG_PENDING_RECOVERY.write(buf);
                pending.write(buf);
            }
            StateValue::Role(height) => {
                Self::TAG_ROLE.write(buf);
                height.write(buf);
            }
        }
        buf.put_bytes(0, Self::BODY - self.body_size());
    }
}

impl FixedSize for StateValue {
    const SIZE: usize = 1 + Self::BODY;
}

impl Read for StateValue {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let value = match u8::read(buf)? {
            Self::TAG_ACCOUNT => StateValue::Account(Account::read(buf)?),
            Self::TAG_KEY_SLOT => StateValue::KeySlot(KeyEntry::read(buf)?),
            Self::TAG_RECOVERY => StateValue::Recovery(RecoveryConfig::read(buf)?),
            Self::TAG_PENDING_RECOVERY => StateValue::PendingRecovery(PendingRecovery::read(buf)?),
            Self::TAG_ROLE => StateValue::Role(Height::read(buf)?),
            tag => return Err(CodecError::InvalidEnum(tag)),
        };
        let padding = Self::BODY - value.body_size();
        if buf.remaining() < padding {
            return Err(CodecError::EndOfBuffer);
        }
        for _ in 0..padding {
            if buf.get_u8() != 0 {
                return Err(CodecError::Invalid("StateValue", "padding is not zero"));
            }
        }
        Ok(value)
    }
}
