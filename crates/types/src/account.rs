//! Account state as stored in the authenticated state.

use crate::primitives::{Amount, Nonce, PublicKey};
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{Error as CodecError, FixedSize, Read, ReadExt, Write};

/// An account: its signing key, its next nonce and its native balance.
///
/// The encoding starts with a version byte so the identity work (multi-key accounts) can add a
/// new layout without rewriting existing state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub public_key: PublicKey,
    /// The nonce the account's next transaction must carry.
    pub nonce: Nonce,
    pub balance: Amount,
}

impl Account {
    const VERSION: u8 = 1;

    /// A fresh account with no transactions sent yet.
    pub fn new(public_key: PublicKey, balance: Amount) -> Self {
        Self { public_key, nonce: Nonce::ZERO, balance }
    }
}

impl Write for Account {
    fn write(&self, buf: &mut impl BufMut) {
        Self::VERSION.write(buf);
        self.public_key.write(buf);
        self.nonce.write(buf);
        self.balance.write(buf);
    }
}

impl FixedSize for Account {
    const SIZE: usize = 1 + PublicKey::SIZE + Nonce::SIZE + Amount::SIZE;
}

impl Read for Account {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            Self::VERSION => {
                Ok(Self { public_key: PublicKey::read(buf)?, nonce: Nonce::read(buf)?, balance: Amount::read(buf)? })
            }
            version => Err(CodecError::InvalidEnum(version)),
        }
    }
}
