//! Transactions: the signed body, its payloads, and the limits a decoder enforces.

use crate::primitives::{AccountId, Amount, ChainId, Hash, Height, Nonce, PublicKey, Signature, hash_tagged};
use bytes::BufMut;
use commonware_codec::Buf;
use commonware_codec::{Encode, EncodeSize, Error as CodecError, RangeCfg, Read, ReadExt, Write};
use commonware_cryptography::{Signer, Verifier, ed25519};

/// Namespace of every transaction signature (the chain id is inside the signed body).
pub const TRANSACTION_NAMESPACE: &[u8] = b"FORMICA_TX_V1";

/// Hard limits on a transaction, applied while decoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransactionLimits {
    /// The most signatures one transaction may carry.
    pub signatures_max: usize,
    /// The most bytes of an encoded transaction.
    pub encoded_bytes_max: usize,
}

impl Default for TransactionLimits {
    fn default() -> Self {
        Self { signatures_max: 16, encoded_bytes_max: 4 * 1024 }
    }
}

/// What a transaction does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload {
    /// Creates the account derived from `public_key`, funded with `initial_balance` from the sender.
    CreateAccount { public_key: PublicKey, initial_balance: Amount },
    /// Moves `amount` of the native asset from the sender to `to`.
    Transfer { to: AccountId, amount: Amount },
}

impl Payload {
    const TAG_CREATE_ACCOUNT: u8 = 0;
    const TAG_TRANSFER: u8 = 1;
}

impl Write for Payload {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            Payload::CreateAccount { public_key, initial_balance } => {
                Self::TAG_CREATE_ACCOUNT.write(buf);
                public_key.write(buf);
                initial_balance.write(buf);
            }
            Payload::Transfer { to, amount } => {
                Self::TAG_TRANSFER.write(buf);
                to.write(buf);
                amount.write(buf);
            }
        }
    }
}

impl EncodeSize for Payload {
    fn encode_size(&self) -> usize {
        1 + match self {
            Payload::CreateAccount { public_key, initial_balance } => {
                public_key.encode_size() + initial_balance.encode_size()
            }
            Payload::Transfer { to, amount } => to.encode_size() + amount.encode_size(),
        }
    }
}

impl Read for Payload {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        match u8::read(buf)? {
            Self::TAG_CREATE_ACCOUNT => {
                Ok(Payload::CreateAccount { public_key: PublicKey::read(buf)?, initial_balance: Amount::read(buf)? })
            }
            Self::TAG_TRANSFER => Ok(Payload::Transfer { to: AccountId::read(buf)?, amount: Amount::read(buf)? }),
            tag => Err(CodecError::InvalidEnum(tag)),
        }
    }
}

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionBody {
    pub chain_id: ChainId,
    pub sender: AccountId,
    /// Must equal the sender's next nonce when the transaction executes.
    pub nonce: Nonce,
    /// The last height at which the transaction may be included.
    pub expiry_height: Height,
    /// The most the sender agrees to pay in fees.
    pub fee_limit: Amount,
    pub payload: Payload,
}

impl Write for TransactionBody {
    fn write(&self, buf: &mut impl BufMut) {
        self.chain_id.write(buf);
        self.sender.write(buf);
        self.nonce.write(buf);
        self.expiry_height.write(buf);
        self.fee_limit.write(buf);
        self.payload.write(buf);
    }
}

impl EncodeSize for TransactionBody {
    fn encode_size(&self) -> usize {
        self.chain_id.encode_size()
            + self.sender.encode_size()
            + self.nonce.encode_size()
            + self.expiry_height.encode_size()
            + self.fee_limit.encode_size()
            + self.payload.encode_size()
    }
}

impl Read for TransactionBody {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            chain_id: ChainId::read(buf)?,
            sender: AccountId::read(buf)?,
            nonce: Nonce::read(buf)?,
            expiry_height: Height::read(buf)?,
            fee_limit: Amount::read(buf)?,
            payload: Payload::read(buf)?,
        })
    }
}

impl TransactionBody {
    /// Domain tag of transaction hashes.
    pub const HASH_TAG: &'static [u8] = b"formica/tx/v1";

    /// The transaction hash: what clients look a transaction up by.
    pub fn hash(&self) -> Hash {
        hash_tagged(Self::HASH_TAG, &[&self.encode()])
    }

    /// Signs the body with `key`.
    pub fn sign(self, keys: &[&ed25519::PrivateKey]) -> Transaction {
        let message = self.encode();
        let signatures = keys
            .iter()
            .map(|key| TransactionSignature {
                public_key: key.public_key(),
                signature: key.sign(TRANSACTION_NAMESPACE, &message),
            })
            .collect();
        Transaction { body: self, signatures }
    }
}

/// One signature over a transaction body, with the key that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionSignature {
    pub public_key: PublicKey,
    pub signature: Signature,
}

impl Write for TransactionSignature {
    fn write(&self, buf: &mut impl BufMut) {
        self.public_key.write(buf);
        self.signature.write(buf);
    }
}

impl EncodeSize for TransactionSignature {
    fn encode_size(&self) -> usize {
        self.public_key.encode_size() + self.signature.encode_size()
    }
}

impl Read for TransactionSignature {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self { public_key: PublicKey::read(buf)?, signature: Signature::read(buf)? })
    }
}

/// A signed transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transaction {
    pub body: TransactionBody,
    pub signatures: Vec<TransactionSignature>,
}

impl Transaction {
    /// The hash of the body (signatures are not part of the identity).
    pub fn hash(&self) -> Hash {
        self.body.hash()
    }

    /// Checks each signature on its own against the body. Admission uses batch verification
    /// instead; both accept exactly the same signatures (commonware's ed25519 is ZIP-215).
    pub fn verify_signatures_individually(&self) -> bool {
        let message = self.body.encode();
        !self.signatures.is_empty()
            && self
                .signatures
                .iter()
                .all(|entry| entry.public_key.verify(TRANSACTION_NAMESPACE, &message, &entry.signature))
    }
}

impl Write for Transaction {
    fn write(&self, buf: &mut impl BufMut) {
        self.body.write(buf);
        self.signatures.write(buf);
    }
}

impl EncodeSize for Transaction {
    fn encode_size(&self) -> usize {
        self.body.encode_size() + self.signatures.encode_size()
    }
}

impl Read for Transaction {
    type Cfg = TransactionLimits;
    fn read_cfg(buf: &mut impl Buf, limits: &TransactionLimits) -> Result<Self, CodecError> {
        let body = TransactionBody::read(buf)?;
        let signatures = Vec::<TransactionSignature>::read_cfg(buf, &(RangeCfg::new(1..=limits.signatures_max), ()))?;
        Ok(Self { body, signatures })
    }
}
