//! Identifiers and checked numeric newtypes.

use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{DecodeExt, Error as CodecError, FixedSize, Read, ReadExt, Write};
use commonware_cryptography::{Hasher, Sha256, ed25519};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A SHA-256 digest: block hashes, transaction hashes and Merkle roots.
pub type Hash = commonware_cryptography::sha256::Digest;

/// The validator and account public key type (ed25519).
pub type PublicKey = ed25519::PublicKey;

/// An ed25519 signature.
pub type Signature = ed25519::Signature;

/// Hashes `parts` with SHA-256 after a domain tag, so that digests of different kinds never collide.
pub fn hash_tagged(tag: &[u8], parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::default();
    hasher.update(&(tag.len() as u32).to_be_bytes());
    hasher.update(tag);
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().1
}

/// Renders a hash as lower-case hex with a `0x` prefix.
pub fn hash_to_hex(hash: &Hash) -> String {
    format!("0x{}", hex::encode(hash.as_ref()))
}

/// Parses a hash from hex, with or without a `0x` prefix.
pub fn hash_from_hex(text: &str) -> Result<Hash, ParseError> {
    let bytes = parse_hex_32(text)?;
    Ok(commonware_cryptography::sha256::Digest(bytes))
}

/// A hex text that is not 32 bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("not hex: {0}")]
    NotHex(String),
    #[error("expected {expected} bytes, got {actual}")]
    Length { expected: usize, actual: usize },
    #[error("not a valid public key")]
    PublicKey,
    #[error("unknown key scheme {0:?} (expected ed25519, sm2 or secp256k1)")]
    Scheme(String),
    #[error("{0}")]
    Invalid(String),
}

pub(crate) fn parse_hex_32(text: &str) -> Result<[u8; 32], ParseError> {
    let trimmed = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(trimmed).map_err(|error| ParseError::NotHex(error.to_string()))?;
    let actual = bytes.len();
    bytes.try_into().map_err(|_| ParseError::Length { expected: 32, actual })
}

/// Parses an ed25519 public key from hex.
pub fn public_key_from_hex(text: &str) -> Result<PublicKey, ParseError> {
    let bytes = parse_hex_32(text)?;
    PublicKey::decode(bytes.to_vec()).map_err(|_| ParseError::PublicKey)
}

/// Renders a public key as `0x` hex.
pub fn public_key_to_hex(key: &PublicKey) -> String {
    format!("0x{}", hex::encode(key.as_ref()))
}

/// A 32-byte account identifier, derived from the account's first public key
/// (see [`AccountKey::account_id`](crate::AccountKey::account_id)).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(pub [u8; 32]);

impl AccountId {
    /// Domain tag of account id derivation.
    pub const DERIVATION_TAG: &'static [u8] = b"formica/account-id/v1";

    /// The id of the account whose first key is `public_key`.
    pub fn from_public_key(public_key: &PublicKey) -> Self {
        Self::from_public_key_bytes(public_key.as_ref())
    }

    pub(crate) fn from_public_key_bytes(bytes: &[u8]) -> Self {
        Self(hash_tagged(Self::DERIVATION_TAG, &[bytes]).0)
    }

    /// Parses `0x`-prefixed (or bare) hex.
    pub fn from_hex(text: &str) -> Result<Self, ParseError> {
        parse_hex_32(text).map(Self)
    }

    /// `0x`-prefixed hex.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.to_hex())
    }
}

impl TryFrom<String> for AccountId {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::from_hex(&text)
    }
}

impl From<AccountId> for String {
    fn from(id: AccountId) -> Self {
        id.to_hex()
    }
}

impl Write for AccountId {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
}

impl FixedSize for AccountId {
    const SIZE: usize = 32;
}

impl Read for AccountId {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self(<[u8; 32]>::read(buf)?))
    }
}

/// Declares a `u64`/`u128` newtype with checked arithmetic and a fixed-width big-endian encoding.
macro_rules! checked_newtype {
    ($(#[$meta:meta])* $name:ident, $inner:ty) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl $name {
            /// The zero value.
            pub const ZERO: Self = Self(0);

            /// `self + other`, or `None` on overflow.
            pub fn checked_add(self, other: Self) -> Option<Self> {
                self.0.checked_add(other.0).map(Self)
            }

            /// `self - other`, or `None` on underflow.
            pub fn checked_sub(self, other: Self) -> Option<Self> {
                self.0.checked_sub(other.0).map(Self)
            }

            /// The next value, or `None` at the maximum.
            pub fn next(self) -> Option<Self> {
                self.0.checked_add(1).map(Self)
            }

            /// The raw value.
            pub fn get(self) -> $inner {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl Write for $name {
            fn write(&self, buf: &mut impl BufMut) {
                self.0.write(buf);
            }
        }

        impl FixedSize for $name {
            const SIZE: usize = <$inner as FixedSize>::SIZE;
        }

        impl Read for $name {
            type Cfg = ();
            fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
                Ok(Self(<$inner>::read(buf)?))
            }
        }
    };
}

checked_newtype!(
    /// A block height; genesis is height 0.
    Height,
    u64
);
checked_newtype!(
    /// An account's transaction sequence number.
    Nonce,
    u64
);
checked_newtype!(
    /// An amount of an asset in its smallest unit.
    Amount,
    u128
);
checked_newtype!(
    /// Identifies one chain; every signature commits to it.
    ChainId,
    u64
);
