//! Account keys in several signature schemes, and the records of an account's key set.
//!
//! An account key is one of Ed25519, SM2 (GM/T 0003, with SM3) or secp256k1 (ECDSA over SHA-256).
//! All three share one encoding of [`AccountKey::SIZE`] bytes: a scheme tag and 33 key bytes
//! (ed25519's 32 bytes are followed by a zero byte; SM2 and secp256k1 keys are compressed SEC1
//! points). All three schemes' signatures are 64 bytes. Whether the bytes are a valid point of the
//! curve is checked by `formica-crypto`, which owns the curve arithmetic; this crate checks shape.

use crate::primitives::{AccountId, Height, ParseError, PublicKey, hash_tagged};
use bytes::BufMut;
use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The signature schemes an account key may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyScheme {
    /// Ed25519 (ZIP-215 verification rules), batch-verified.
    Ed25519,
    /// SM2 digital signatures with SM3, distinguishing id `1234567812345678`.
    Sm2,
    /// ECDSA on secp256k1 over SHA-256, low-S signatures only.
    Secp256k1,
}

impl KeyScheme {
    /// Every scheme, in tag order.
    pub const ALL: [KeyScheme; 3] = [KeyScheme::Ed25519, KeyScheme::Sm2, KeyScheme::Secp256k1];

    fn tag(self) -> u8 {
        match self {
            KeyScheme::Ed25519 => 0,
            KeyScheme::Sm2 => 1,
            KeyScheme::Secp256k1 => 2,
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|scheme| scheme.tag() == tag)
    }

    /// The scheme's name as used in key texts (`ed25519`, `sm2`, `secp256k1`).
    pub fn name(self) -> &'static str {
        match self {
            KeyScheme::Ed25519 => "ed25519",
            KeyScheme::Sm2 => "sm2",
            KeyScheme::Secp256k1 => "secp256k1",
        }
    }

    /// Parses a scheme name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scheme| scheme.name() == name)
    }

    /// How many bytes of the 33-byte key field the scheme uses.
    pub fn key_bytes(self) -> usize {
        match self {
            KeyScheme::Ed25519 => 32,
            KeyScheme::Sm2 | KeyScheme::Secp256k1 => 33,
        }
    }
}

impl fmt::Display for KeyScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A public key of an account: its scheme and its bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountKey {
    scheme: KeyScheme,
    bytes: [u8; 33],
}

impl AccountKey {
    /// An account key from its scheme and bytes (32 for ed25519, 33 otherwise). The bytes' shape is
    /// checked here; whether they are a point of the curve is checked by `formica-crypto`.
    pub fn new(scheme: KeyScheme, key: &[u8]) -> Result<Self, ParseError> {
        if key.len() != scheme.key_bytes() {
            return Err(ParseError::Length { expected: scheme.key_bytes(), actual: key.len() });
        }
        let mut bytes = [0u8; 33];
        bytes[..key.len()].copy_from_slice(key);
        if scheme != KeyScheme::Ed25519 && !matches!(bytes[0], 2 | 3) {
            return Err(ParseError::PublicKey);
        }
        Ok(Self { scheme, bytes })
    }

    /// The account key of an ed25519 public key.
    pub fn ed25519(key: &PublicKey) -> Self {
        Self::new(KeyScheme::Ed25519, key.as_ref()).expect("an ed25519 key is 32 bytes")
    }

    pub fn scheme(&self) -> KeyScheme {
        self.scheme
    }

    /// The key's bytes in its scheme (32 or 33).
    pub fn key_bytes(&self) -> &[u8] {
        &self.bytes[..self.scheme.key_bytes()]
    }

    /// The id of the account created with this key as its first key.
    pub fn account_id(&self) -> AccountId {
        match self.scheme {
            // Kept equal to the id of an ed25519 key before schemes existed.
            KeyScheme::Ed25519 => AccountId::from_public_key_bytes(self.key_bytes()),
            scheme => AccountId(hash_tagged(AccountId::DERIVATION_TAG, &[&[scheme.tag()], self.key_bytes()]).0),
        }
    }

    /// Parses `scheme:0xhex`, or bare hex of 32 bytes as an ed25519 key.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let (scheme, hex_text) = match text.split_once(':') {
            Some((name, rest)) => {
                (KeyScheme::from_name(name).ok_or_else(|| ParseError::Scheme(name.to_string()))?, rest)
            }
            None => (KeyScheme::Ed25519, text),
        };
        let trimmed = hex_text.strip_prefix("0x").unwrap_or(hex_text);
        let bytes = hex::decode(trimmed).map_err(|error| ParseError::NotHex(error.to_string()))?;
        Self::new(scheme, &bytes)
    }
}

impl From<PublicKey> for AccountKey {
    fn from(key: PublicKey) -> Self {
        Self::ed25519(&key)
    }
}

impl From<&PublicKey> for AccountKey {
    fn from(key: &PublicKey) -> Self {
        Self::ed25519(key)
    }
}

impl fmt::Display for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:0x{}", self.scheme, hex::encode(self.key_bytes()))
    }
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountKey({self})")
    }
}

impl TryFrom<String> for AccountKey {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<AccountKey> for String {
    fn from(key: AccountKey) -> Self {
        key.to_string()
    }
}

impl Write for AccountKey {
    fn write(&self, buf: &mut impl BufMut) {
        self.scheme.tag().write(buf);
        buf.put_slice(&self.bytes);
    }
}

impl FixedSize for AccountKey {
    const SIZE: usize = 1 + 33;
}

impl Read for AccountKey {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let tag = u8::read(buf)?;
        let scheme = KeyScheme::from_tag(tag).ok_or(CodecError::InvalidEnum(tag))?;
        let bytes = <[u8; 33]>::read(buf)?;
        if scheme == KeyScheme::Ed25519 && bytes[32] != 0 {
            return Err(CodecError::Invalid("AccountKey", "ed25519 padding byte is not zero"));
        }
        if scheme != KeyScheme::Ed25519 && !matches!(bytes[0], 2 | 3) {
            return Err(CodecError::Invalid("AccountKey", "not a compressed SEC1 point"));
        }
        Ok(Self { scheme, bytes })
    }
}

/// A 64-byte signature in the scheme of the key that made it (ed25519 `R || S`; SM2 and
/// secp256k1 `r || s`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccountSignature(pub [u8; 64]);

impl fmt::Debug for AccountSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountSignature(0x{})", hex::encode(self.0))
    }
}

impl Write for AccountSignature {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.0);
    }
}

impl FixedSize for AccountSignature {
    const SIZE: usize = 64;
}

impl Read for AccountSignature {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self(<[u8; 64]>::read(buf)?))
    }
}

/// A signing key of an account with its weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEntry {
    pub key: AccountKey,
    pub weight: u16,
}

impl Write for KeyEntry {
    fn write(&self, buf: &mut impl BufMut) {
        self.key.write(buf);
        self.weight.write(buf);
    }
}

impl FixedSize for KeyEntry {
    const SIZE: usize = AccountKey::SIZE + 2;
}

impl Read for KeyEntry {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { key: AccountKey::read(buf)?, weight: u16::read(buf)? })
    }
}

/// An account's recovery key and the delay a recovery it starts must wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryConfig {
    pub key: AccountKey,
    /// Blocks between starting a recovery and being able to complete it.
    pub delay_blocks: u32,
}

impl Write for RecoveryConfig {
    fn write(&self, buf: &mut impl BufMut) {
        self.key.write(buf);
        self.delay_blocks.write(buf);
    }
}

impl FixedSize for RecoveryConfig {
    const SIZE: usize = AccountKey::SIZE + 4;
}

impl Read for RecoveryConfig {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { key: AccountKey::read(buf)?, delay_blocks: u32::read(buf)? })
    }
}

/// A recovery under way: the key that will replace the account's keys, and from when.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRecovery {
    pub new_key: AccountKey,
    /// The first height at which the recovery may complete.
    pub completes_at: Height,
}

impl Write for PendingRecovery {
    fn write(&self, buf: &mut impl BufMut) {
        self.new_key.write(buf);
        self.completes_at.write(buf);
    }
}

impl FixedSize for PendingRecovery {
    const SIZE: usize = AccountKey::SIZE + Height::SIZE;
}

impl Read for PendingRecovery {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { new_key: AccountKey::read(buf)?, completes_at: Height::read(buf)? })
    }
}

/// A role an account may hold. Roles are granted at genesis (and, with governance, by vote).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// May freeze and unfreeze accounts.
    Regulator,
    /// May issue assets.
    Issuer,
    /// May deploy contracts.
    Deployer,
}

impl Role {
    /// Every role, in tag order.
    pub const ALL: [Role; 3] = [Role::Regulator, Role::Issuer, Role::Deployer];

    /// The role's tag in state keys and encodings.
    pub fn tag(self) -> u8 {
        match self {
            Role::Regulator => 0,
            Role::Issuer => 1,
            Role::Deployer => 2,
        }
    }

    fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.tag() == tag)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Regulator => "regulator",
            Role::Issuer => "issuer",
            Role::Deployer => "deployer",
        })
    }
}

impl Write for Role {
    fn write(&self, buf: &mut impl BufMut) {
        self.tag().write(buf);
    }
}

impl FixedSize for Role {
    const SIZE: usize = 1;
}

impl Read for Role {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let tag = u8::read(buf)?;
        Role::from_tag(tag).ok_or(CodecError::InvalidEnum(tag))
    }
}
