//! The key layout of the authenticated state and the values stored under it.

use bytes::BufMut;
use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, ReadExt, Write};
use formica_types::{Account, AccountId, Hash, hash_tagged};

/// Domain tag of account keys in the state.
const ACCOUNT_KEY_TAG: &[u8] = b"formica/state/account/v1";

/// The state key of an account: a tagged hash of its id, so keys of other record kinds (added by
/// later modules under their own tags) can never collide with it.
pub fn account_key(id: &AccountId) -> Hash {
    hash_tagged(ACCOUNT_KEY_TAG, &[&id.0])
}

/// A value in the authenticated state. The leading tag leaves room for other record kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateValue {
    Account(Account),
}

impl StateValue {
    const TAG_ACCOUNT: u8 = 0;

    /// The account this value holds, if it is one.
    pub fn into_account(self) -> Option<Account> {
        match self {
            StateValue::Account(account) => Some(account),
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
        }
    }
}

impl FixedSize for StateValue {
    const SIZE: usize = 1 + Account::SIZE;
}

impl Read for StateValue {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            Self::TAG_ACCOUNT => Ok(StateValue::Account(Account::read(buf)?)),
            tag => Err(CodecError::InvalidEnum(tag)),
        }
    }
}
