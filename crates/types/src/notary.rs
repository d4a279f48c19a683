//! Notarisation: the operations of the notary module and the records it keeps.
//!
//! An owner deposits evidence of a document: its hash (the document itself stays off the chain),
//! the hash of its metadata and a short label. The chain timestamps it with the block that
//! includes it, and the first deposit of a hash wins. For volume, an owner deposits many
//! documents at once as the root of a binary Merkle tree over their leaves
//! ([`document_leaf`]); each document then proves its place with a path to that root
//! ([`crate::merkle_path`], [`crate::verify_merkle_path`]).
//!
//! On a deposited document its owner issues certificates (copyright or ownership) to a holder.
//! An issuer revokes its certificate, and an owner its deposit, with a reason: revoked records
//! stay on the chain and show the revocation.

use crate::primitives::{AccountId, Hash, Height, ParseError, hash_tagged};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, FixedSize, RangeCfg, Read, ReadExt, Write};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The most documents one batch deposit may stand for.
pub const NOTARY_BATCH_LEAVES_MAX: u32 = 1 << 20;

/// The longest Merkle path a batch leaf can need: a tree of [`NOTARY_BATCH_LEAVES_MAX`] leaves
/// has this many levels above its leaves.
pub const NOTARY_PATH_MAX: usize = 20;

/// The domain tag of document leaves in batch trees.
pub const DOCUMENT_LEAF_TAG: &[u8] = b"formica/notary/leaf/v1";

/// The leaf of a document (by its hash) in a batch tree: tagged, so that no inner node or root of
/// another tree can pass for a document.
pub fn document_leaf(document: &Hash) -> Hash {
    hash_tagged(DOCUMENT_LEAF_TAG, &[document.as_ref()])
}

/// The id of a certificate: a tagged hash of its document, kind and holder (one certificate of a
/// kind per document and holder).
pub fn certificate_id(document: &Hash, kind: CertificateKind, holder: &AccountId) -> Hash {
    hash_tagged(b"formica/notary/certificate/v1", &[document.as_ref(), &[kind.tag()], &holder.0])
}

/// Printable UTF-8 text of at most `N` bytes (no control characters). Operations encode it with
/// its length; records keep it in a fixed `1 + N` bytes, zero-padded.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct NotaryText<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

/// A deposit's label: at most 32 bytes, may be empty.
pub type DepositLabel = NotaryText<32>;
/// A certificate's title: 1 to 64 bytes (checked when certifying).
pub type CertificateTitle = NotaryText<64>;
/// The reason of a revocation: 1 to 64 bytes (checked when revoking).
pub type RevocationReason = NotaryText<64>;

impl<const N: usize> NotaryText<N> {
    /// The longest text, in bytes.
    pub const BYTES_MAX: usize = N;
    /// The size in a fixed-size record.
    pub const FIXED_SIZE: usize = 1 + N;

    /// The empty text.
    pub const EMPTY: Self = Self { len: 0, bytes: [0; N] };

    /// Checks and stores a text.
    pub fn new(text: &str) -> Result<Self, ParseError> {
        const { assert!(N <= u8::MAX as usize, "the length fits a byte") };
        if text.len() > N {
            return Err(ParseError::Length { expected: N, actual: text.len() });
        }
        if text.chars().any(char::is_control) {
            return Err(ParseError::Invalid(format!("{text:?} holds a control character")));
        }
        let mut bytes = [0u8; N];
        bytes[..text.len()].copy_from_slice(text.as_bytes());
        Ok(Self { len: text.len() as u8, bytes })
    }

    fn checked(len: u8, bytes: [u8; N]) -> Result<Self, CodecError> {
        let used = usize::from(len);
        if used > N || bytes[used..].iter().any(|byte| *byte != 0) {
            return Err(CodecError::Invalid("NotaryText", "bad length or padding"));
        }
        let text = std::str::from_utf8(&bytes[..used]).map_err(|_| CodecError::Invalid("NotaryText", "not UTF-8"))?;
        if text.chars().any(char::is_control) {
            return Err(CodecError::Invalid("NotaryText", "a control character"));
        }
        Ok(Self { len, bytes })
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).expect("checked when made or decoded")
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes the text in its fixed record form (length, then `N` bytes).
    pub fn write_fixed(&self, buf: &mut impl BufMut) {
        self.len.write(buf);
        buf.put_slice(&self.bytes);
    }

    /// Reads the text in its fixed record form.
    pub fn read_fixed(buf: &mut impl Buf) -> Result<Self, CodecError> {
        let len = u8::read(buf)?;
        let mut bytes = [0u8; N];
        if buf.remaining() < N {
            return Err(CodecError::EndOfBuffer);
        }
        buf.copy_to_slice(&mut bytes);
        Self::checked(len, bytes)
    }
}

impl<const N: usize> fmt::Display for NotaryText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<const N: usize> fmt::Debug for NotaryText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl<const N: usize> Serialize for NotaryText<N> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de, const N: usize> Deserialize<'de> for NotaryText<N> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::new(&text).map_err(serde::de::Error::custom)
    }
}

/// In an operation: the length, then only the bytes used (a deposit stays small).
impl<const N: usize> Write for NotaryText<N> {
    fn write(&self, buf: &mut impl BufMut) {
        self.len.write(buf);
        buf.put_slice(&self.bytes[..usize::from(self.len)]);
    }
}

impl<const N: usize> EncodeSize for NotaryText<N> {
    fn encode_size(&self) -> usize {
        1 + usize::from(self.len)
    }
}

impl<const N: usize> Read for NotaryText<N> {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let len = u8::read(buf)?;
        let used = usize::from(len);
        if used > N {
            return Err(CodecError::Invalid("NotaryText", "longer than its limit"));
        }
        if buf.remaining() < used {
            return Err(CodecError::EndOfBuffer);
        }
        let mut bytes = [0u8; N];
        buf.copy_to_slice(&mut bytes[..used]);
        Self::checked(len, bytes)
    }
}

/// What a certificate attests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateKind {
    Copyright,
    Ownership,
}

impl CertificateKind {
    pub fn tag(self) -> u8 {
        match self {
            CertificateKind::Copyright => 0,
            CertificateKind::Ownership => 1,
        }
    }

    fn from_tag(tag: u8) -> Result<Self, CodecError> {
        match tag {
            0 => Ok(CertificateKind::Copyright),
            1 => Ok(CertificateKind::Ownership),
            other => Err(CodecError::InvalidEnum(other)),
        }
    }

    /// Parses `copyright` or `ownership`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "copyright" => Some(CertificateKind::Copyright),
            "ownership" => Some(CertificateKind::Ownership),
            _ => None,
        }
    }
}

impl fmt::Display for CertificateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CertificateKind::Copyright => "copyright",
            CertificateKind::Ownership => "ownership",
        })
    }
}

/// Where a document sits in a deposited batch: the batch's root, the document's index among its
/// leaves, and the Merkle path from its leaf to the root (at most [`NOTARY_PATH_MAX`] hashes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchProof {
    pub root: Hash,
    pub index: u32,
    pub path: Vec<Hash>,
}

impl Write for BatchProof {
    fn write(&self, buf: &mut impl BufMut) {
        self.root.write(buf);
        self.index.write(buf);
        self.path.write(buf);
    }
}

impl EncodeSize for BatchProof {
    fn encode_size(&self) -> usize {
        Hash::SIZE + u32::SIZE + self.path.encode_size()
    }
}

impl Read for BatchProof {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Self {
            root: Hash::read(buf)?,
            index: u32::read(buf)?,
            path: Vec::<Hash>::read_cfg(buf, &(RangeCfg::new(0..=NOTARY_PATH_MAX), ()))?,
        })
    }
}

/// An operation of the notary module (`Payload::Notary`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotaryOp {
    /// The sender deposits a document by its hash: it becomes the document's owner.
    Deposit { document: Hash, metadata: Hash, label: DepositLabel },
    /// The sender deposits `leaves` documents at once as the root of their batch tree.
    DepositBatch { root: Hash, leaves: u32, metadata: Hash },
    /// The owner of a deposited document certifies `kind` for `holder`. A document deposited in
    /// a batch names its place in the batch (`proof`).
    Certify {
        document: Hash,
        kind: CertificateKind,
        holder: AccountId,
        title: CertificateTitle,
        proof: Option<BatchProof>,
    },
    /// The issuer revokes its certificate.
    Revoke { certificate: Hash, reason: RevocationReason },
    /// The owner revokes its deposit (a batch root: every document of the batch).
    RevokeDeposit { document: Hash, reason: RevocationReason },
}

impl NotaryOp {
    const TAG_DEPOSIT: u8 = 0;
    const TAG_DEPOSIT_BATCH: u8 = 1;
    const TAG_CERTIFY: u8 = 2;
    const TAG_REVOKE: u8 = 3;
    const TAG_REVOKE_DEPOSIT: u8 = 4;

    /// A short name for logs and the CLI.
    pub fn kind(&self) -> &'static str {
        match self {
            NotaryOp::Deposit { .. } => "notary_deposit",
            NotaryOp::DepositBatch { .. } => "notary_deposit_batch",
            NotaryOp::Certify { .. } => "notary_certify",
            NotaryOp::Revoke { .. } => "notary_revoke",
            NotaryOp::RevokeDeposit { .. } => "notary_revoke_deposit",
        }
    }
}

impl Write for NotaryOp {
    fn write(&self, buf: &mut impl BufMut) {
        match self {
            NotaryOp::Deposit { document, metadata, label } => {
                Self::TAG_DEPOSIT.write(buf);
                document.write(buf);
                metadata.write(buf);
                label.write(buf);
            }
            NotaryOp::DepositBatch { root, leaves, metadata } => {
                Self::TAG_DEPOSIT_BATCH.write(buf);
                root.write(buf);
                leaves.write(buf);
                metadata.write(buf);
            }
            NotaryOp::Certify { document, kind, holder, title, proof } => {
                Self::TAG_CERTIFY.write(buf);
                document.write(buf);
                kind.tag().write(buf);
                holder.write(buf);
                title.write(buf);
                proof.is_some().write(buf);
                if let Some(proof) = proof {
                    proof.write(buf);
                }
            }
            NotaryOp::Revoke { certificate, reason } => {
                Self::TAG_REVOKE.write(buf);
                certificate.write(buf);
                reason.write(buf);
            }
            NotaryOp::RevokeDeposit { document, reason } => {
                Self::TAG_REVOKE_DEPOSIT.write(buf);
                document.write(buf);
                reason.write(buf);
            }
        }
    }
}

impl EncodeSize for NotaryOp {
    fn encode_size(&self) -> usize {
        1 + match self {
            NotaryOp::Deposit { label, .. } => 2 * Hash::SIZE + label.encode_size(),
            NotaryOp::DepositBatch { .. } => 2 * Hash::SIZE + u32::SIZE,
            NotaryOp::Certify { title, proof, .. } => {
                Hash::SIZE
                    + 1
                    + AccountId::SIZE
                    + title.encode_size()
                    + 1
                    + proof.as_ref().map_or(0, |p| p.encode_size())
            }
            NotaryOp::Revoke { reason, .. } | NotaryOp::RevokeDeposit { reason, .. } => {
                Hash::SIZE + reason.encode_size()
            }
        }
    }
}

impl Read for NotaryOp {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(match u8::read(buf)? {
            Self::TAG_DEPOSIT => NotaryOp::Deposit {
                document: Hash::read(buf)?,
                metadata: Hash::read(buf)?,
                label: DepositLabel::read(buf)?,
            },
            Self::TAG_DEPOSIT_BATCH => {
                NotaryOp::DepositBatch { root: Hash::read(buf)?, leaves: u32::read(buf)?, metadata: Hash::read(buf)? }
            }
            Self::TAG_CERTIFY => NotaryOp::Certify {
                document: Hash::read(buf)?,
                kind: CertificateKind::from_tag(u8::read(buf)?)?,
                holder: AccountId::read(buf)?,
                title: CertificateTitle::read(buf)?,
                proof: if bool::read(buf)? { Some(BatchProof::read(buf)?) } else { None },
            },
            Self::TAG_REVOKE => {
                NotaryOp::Revoke { certificate: Hash::read(buf)?, reason: RevocationReason::read(buf)? }
            }
            Self::TAG_REVOKE_DEPOSIT => {
                NotaryOp::RevokeDeposit { document: Hash::read(buf)?, reason: RevocationReason::read(buf)? }
            }
            other => return Err(CodecError::InvalidEnum(other)),
        })
    }
}

/// A revocation: when, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    pub height: Height,
    pub timestamp_ms: u64,
    pub reason: RevocationReason,
}

fn write_revocation(revocation: &Option<Revocation>, buf: &mut impl BufMut) {
    revocation.is_some().write(buf);
    match revocation {
        Some(revocation) => {
            revocation.height.write(buf);
            revocation.timestamp_ms.write(buf);
            revocation.reason.write_fixed(buf);
        }
        None => buf.put_slice(&[0u8; REVOCATION_SIZE]),
    }
}

const REVOCATION_SIZE: usize = Height::SIZE + u64::SIZE + RevocationReason::FIXED_SIZE;

fn read_revocation(buf: &mut impl Buf, what: &'static str) -> Result<Option<Revocation>, CodecError> {
    let revoked = bool::read(buf)?;
    let revocation = Revocation {
        height: Height::read(buf)?,
        timestamp_ms: u64::read(buf)?,
        reason: RevocationReason::read_fixed(buf)?,
    };
    if revoked {
        return Ok(Some(revocation));
    }
    if revocation.height != Height(0) || revocation.timestamp_ms != 0 || !revocation.reason.is_empty() {
        return Err(CodecError::Invalid(what, "a revocation without its flag"));
    }
    Ok(None)
}

/// What a deposit record stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepositKind {
    /// One document, by its hash.
    Single,
    /// The root of a batch tree over `leaves` documents.
    Batch { leaves: u32 },
}

/// A deposit as the chain keeps it, under the deposited hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deposit {
    pub owner: AccountId,
    pub height: Height,
    /// The timestamp of the block that included the deposit, ms since the Unix epoch.
    pub timestamp_ms: u64,
    pub metadata: Hash,
    pub label: DepositLabel,
    pub kind: DepositKind,
    pub revoked: Option<Revocation>,
}

impl Deposit {
    /// The module key of the deposit of `hash` (a document's hash or a batch root).
    pub fn key(hash: &Hash) -> Vec<u8> {
        [&b"notary-deposit"[..], hash.as_ref()].concat()
    }
}

impl Write for Deposit {
    fn write(&self, buf: &mut impl BufMut) {
        self.owner.write(buf);
        self.height.write(buf);
        self.timestamp_ms.write(buf);
        self.metadata.write(buf);
        self.label.write_fixed(buf);
        match self.kind {
            DepositKind::Single => {
                0u8.write(buf);
                0u32.write(buf);
            }
            DepositKind::Batch { leaves } => {
                1u8.write(buf);
                leaves.write(buf);
            }
        }
        write_revocation(&self.revoked, buf);
    }
}

impl FixedSize for Deposit {
    const SIZE: usize = AccountId::SIZE
        + Height::SIZE
        + u64::SIZE
        + Hash::SIZE
        + DepositLabel::FIXED_SIZE
        + 1
        + u32::SIZE
        + 1
        + REVOCATION_SIZE;
}

impl Read for Deposit {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let owner = AccountId::read(buf)?;
        let height = Height::read(buf)?;
        let timestamp_ms = u64::read(buf)?;
        let metadata = Hash::read(buf)?;
        let label = DepositLabel::read_fixed(buf)?;
        let kind = match (u8::read(buf)?, u32::read(buf)?) {
            (0, 0) => DepositKind::Single,
            (1, leaves) => DepositKind::Batch { leaves },
            (0, _) => return Err(CodecError::Invalid("Deposit", "a leaf count on a single deposit")),
            (other, _) => return Err(CodecError::InvalidEnum(other)),
        };
        let revoked = read_revocation(buf, "Deposit")?;
        Ok(Self { owner, height, timestamp_ms, metadata, label, kind, revoked })
    }
}

/// A certificate as the chain keeps it, under its id ([`certificate_id`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Certificate {
    pub document: Hash,
    pub kind: CertificateKind,
    pub holder: AccountId,
    /// The document's owner, who issued it.
    pub issuer: AccountId,
    pub title: CertificateTitle,
    /// The batch root the document was proven under (`None`: deposited on its own).
    pub batch_root: Option<Hash>,
    pub height: Height,
    pub timestamp_ms: u64,
    pub revoked: Option<Revocation>,
}

impl Certificate {
    /// The module key of the certificate `id`.
    pub fn key(id: &Hash) -> Vec<u8> {
        [&b"notary-certificate"[..], id.as_ref()].concat()
    }

    /// The certificate's id.
    pub fn id(&self) -> Hash {
        certificate_id(&self.document, self.kind, &self.holder)
    }
}

impl Write for Certificate {
    fn write(&self, buf: &mut impl BufMut) {
        self.document.write(buf);
        self.kind.tag().write(buf);
        self.holder.write(buf);
        self.issuer.write(buf);
        self.title.write_fixed(buf);
        self.batch_root.is_some().write(buf);
        buf.put_slice(self.batch_root.as_ref().map_or(&[0u8; 32][..], |root| root.as_ref()));
        self.height.write(buf);
        self.timestamp_ms.write(buf);
        write_revocation(&self.revoked, buf);
    }
}

impl FixedSize for Certificate {
    const SIZE: usize = Hash::SIZE
        + 1
        + 2 * AccountId::SIZE
        + CertificateTitle::FIXED_SIZE
        + 1
        + Hash::SIZE
        + Height::SIZE
        + u64::SIZE
        + 1
        + REVOCATION_SIZE;
}

impl Read for Certificate {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let document = Hash::read(buf)?;
        let kind = CertificateKind::from_tag(u8::read(buf)?)?;
        let holder = AccountId::read(buf)?;
        let issuer = AccountId::read(buf)?;
        let title = CertificateTitle::read_fixed(buf)?;
        let batched = bool::read(buf)?;
        let root = Hash::read(buf)?;
        if !batched && root.as_ref() != [0u8; 32] {
            return Err(CodecError::Invalid("Certificate", "a batch root without its flag"));
        }
        Ok(Self {
            document,
            kind,
            holder,
            issuer,
            title,
            batch_root: batched.then_some(root),
            height: Height::read(buf)?,
            timestamp_ms: u64::read(buf)?,
            revoked: read_revocation(buf, "Certificate")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::hash_to_hex;
    use crate::transaction::Payload;
    use commonware_codec::{DecodeExt, Encode};
    use proptest::prelude::*;

    fn hash(n: u8) -> Hash {
        hash_tagged(b"test/notary", &[&[n]])
    }

    #[test]
    fn texts_are_bounded_printable_and_canonical() {
        assert!(DepositLabel::new(&"a".repeat(32)).is_ok());
        assert!(matches!(DepositLabel::new(&"a".repeat(33)), Err(ParseError::Length { expected: 32, actual: 33 })));
        assert!(CertificateTitle::new(&"t".repeat(64)).is_ok());
        assert!(CertificateTitle::new(&"t".repeat(65)).is_err());
        assert!(RevocationReason::new(&"r".repeat(65)).is_err());
        assert!(DepositLabel::new("line\nbreak").is_err());
        assert!(DepositLabel::new("").expect("empty is a label").is_empty());
        // A length above the limit does not decode, whatever follows.
        let mut oversized = vec![33u8];
        oversized.extend_from_slice(&[b'a'; 33]);
        assert!(DepositLabel::decode(oversized).is_err());
        // Neither does a label that is not UTF-8.
        assert!(DepositLabel::decode(vec![2u8, 0xff, 0xfe]).is_err());
        // An operation with an oversized title does not decode either.
        let certify = NotaryOp::Certify {
            document: hash(1),
            kind: CertificateKind::Copyright,
            holder: AccountId([3; 32]),
            title: CertificateTitle::new(&"t".repeat(64)).expect("fits"),
            proof: None,
        };
        let mut bytes = certify.encode().to_vec();
        let title_at = 1 + 32 + 1 + 32;
        assert_eq!(bytes[title_at], 64);
        bytes[title_at] = 65;
        bytes.insert(title_at + 1, b't');
        assert!(NotaryOp::decode(bytes).is_err());
    }

    #[test]
    fn a_deposit_is_small() {
        let deposit = Payload::Notary(NotaryOp::Deposit {
            document: hash(1),
            metadata: hash(2),
            label: DepositLabel::new("contract v3").expect("valid"),
        });
        assert_eq!(deposit.encode_size(), 1 + 1 + 32 + 32 + 1 + 11);
    }

    #[test]
    fn batch_paths_are_bounded_when_decoded() {
        let proof = BatchProof { root: hash(1), index: 0, path: vec![hash(2); NOTARY_PATH_MAX + 1] };
        assert!(BatchProof::decode(proof.encode()).is_err());
        let proof = BatchProof { root: hash(1), index: 0, path: vec![hash(2); NOTARY_PATH_MAX] };
        assert_eq!(BatchProof::decode(proof.encode()).expect("decodes"), proof);
    }

    fn text<const N: usize>() -> impl Strategy<Value = NotaryText<N>> {
        proptest::string::string_regex(&format!("[a-zA-Z0-9 .é-]{{0,{}}}", N / 2))
            .expect("regex")
            .prop_map(|text| NotaryText::new(&text).expect("short enough"))
    }

    fn op() -> impl Strategy<Value = NotaryOp> {
        let h = any::<[u8; 32]>().prop_map(|bytes| hash_tagged(b"test/notary", &[&bytes]));
        (
            0u8..6,
            (h.clone(), h.clone(), any::<u32>(), any::<[u8; 32]>()),
            (text::<32>(), text::<64>()),
            proptest::collection::vec(h, 0..=NOTARY_PATH_MAX),
        )
            .prop_map(|(tag, (one, two, number, holder), (label, title), path)| match tag {
                0 => NotaryOp::Deposit { document: one, metadata: two, label },
                1 => NotaryOp::DepositBatch { root: one, leaves: number, metadata: two },
                2 => NotaryOp::Certify {
                    document: one,
                    kind: CertificateKind::Ownership,
                    holder: AccountId(holder),
                    title,
                    proof: Some(BatchProof { root: two, index: number, path }),
                },
                3 => NotaryOp::Certify {
                    document: one,
                    kind: CertificateKind::Copyright,
                    holder: AccountId(holder),
                    title,
                    proof: None,
                },
                4 => NotaryOp::Revoke { certificate: one, reason: title },
                _ => NotaryOp::RevokeDeposit { document: one, reason: title },
            })
    }

    fn revocation() -> impl Strategy<Value = Option<Revocation>> {
        proptest::option::of(
            (any::<u64>(), any::<u64>(), text::<64>()).prop_map(|(height, timestamp_ms, reason)| Revocation {
                height: Height(height),
                timestamp_ms,
                reason,
            }),
        )
    }

    proptest! {
        #[test]
        fn operations_round_trip(op in op()) {
            let payload = Payload::Notary(op);
            let bytes = payload.encode();
            prop_assert_eq!(bytes.len(), payload.encode_size());
            prop_assert_eq!(Payload::decode(bytes).expect("decodes"), payload);
        }

        #[test]
        fn records_round_trip(
            owner in any::<[u8; 32]>(),
            (height, timestamp_ms, leaves) in (any::<u64>(), any::<u64>(), proptest::option::of(any::<u32>())),
            (label, title) in (text::<32>(), text::<64>()),
            revoked in revocation(),
            batched in any::<bool>(),
        ) {
            let deposit = Deposit {
                owner: AccountId(owner),
                height: Height(height),
                timestamp_ms,
                metadata: hash(9),
                label,
                kind: leaves.map_or(DepositKind::Single, |leaves| DepositKind::Batch { leaves }),
                revoked,
            };
            let bytes = deposit.encode();
            prop_assert_eq!(bytes.len(), Deposit::SIZE);
            prop_assert_eq!(Deposit::decode(bytes).expect("decodes"), deposit);
            let certificate = Certificate {
                document: hash(1),
                kind: CertificateKind::Copyright,
                holder: AccountId([5; 32]),
                issuer: AccountId(owner),
                title,
                batch_root: batched.then(|| hash(2)),
                height: Height(height),
                timestamp_ms,
                revoked,
            };
            let bytes = certificate.encode();
            prop_assert_eq!(bytes.len(), Certificate::SIZE);
            prop_assert_eq!(Certificate::decode(bytes).expect("decodes"), certificate);
        }

        #[test]
        fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut tagged = vec![25u8];
            tagged.extend_from_slice(&bytes);
            let _ = Payload::decode(tagged);
            let _ = Deposit::decode(bytes.clone());
            let _ = Certificate::decode(bytes);
        }
    }

    /// Frozen: leaves, certificate ids and deposits are hashed, signed and stored.
    #[test]
    fn golden_encoding() {
        let ops = [
            NotaryOp::Deposit { document: hash(1), metadata: hash(2), label: DepositLabel::new("deed").expect("ok") },
            NotaryOp::DepositBatch { root: hash(3), leaves: 3, metadata: hash(2) },
            NotaryOp::Certify {
                document: hash(1),
                kind: CertificateKind::Ownership,
                holder: AccountId([7; 32]),
                title: CertificateTitle::new("Deed of plot 12").expect("ok"),
                proof: Some(BatchProof { root: hash(3), index: 2, path: vec![hash(4), hash(5)] }),
            },
            NotaryOp::Revoke { certificate: hash(6), reason: RevocationReason::new("sold").expect("ok") },
        ];
        let bytes: Vec<u8> = ops.iter().flat_map(|op| Payload::Notary(op.clone()).encode().to_vec()).collect();
        let id = certificate_id(&hash(1), CertificateKind::Copyright, &AccountId([7; 32]));
        assert_eq!(hash_to_hex(&document_leaf(&hash(1))), GOLDEN_LEAF);
        assert_eq!(hash_to_hex(&id), GOLDEN_ID);
        assert_eq!(hash_to_hex(&hash_tagged(b"test/golden", &[&bytes])), GOLDEN_OPS);
    }

    const GOLDEN_LEAF: &str = "0x6d2132d3efca91d64155b1d217814cd5e0fa33459342046b68733b77f63eca25";
    const GOLDEN_ID: &str = "0xdc4c76053bb88f342e4e1af1fd8d83c54babe8cc8ac29d4e5539bc81ea10d17e";
    const GOLDEN_OPS: &str = "0xaca4270908d644b57f646a98ef4af955956cf3fdc186734db705cc149d23e84b";
}
