//! Checking that a block is final without trusting the node that serves it.
//!
//! # What is checked
//! A node answers `formica_getFinality` with a `FinalityView` ([`ProvesFinality`]): the block's header, the headers
//! of its descendants up to the first block whose own finalization certificate the node holds
//! (usually the block itself), that certificate, and the epoch's committee. [`check_finality`]
//! accepts it only if
//! 1. every header decodes (bounded by [`Header::ENCODED_BYTES_MAX`]), the first is at the asked
//!    height, and each next one is at the next height and names the previous one's digest as
//!    its parent, so the certified block descends from the asked one;
//! 2. every header, and the certificate's proposal, is of the epoch the committee belongs to and
//!    the epoch the height falls in (`height / epoch_blocks`);
//! 3. the certificate finalizes exactly the last header's digest; and
//! 4. commonware's own ed25519 simplex verification accepts the certificate for the committee
//!    under the chain's consensus namespace ([`formica_types::consensus_namespace`]): a signer
//!    bitmap the size of the committee, at least a quorum (`2f + 1` of `3f + 1`) of distinct
//!    signers, every signature valid on the finalize message.
//!
//! The committee shown in the view is ignored: the committee comes from the caller's chain of
//! trust ([`FinalityChecker`]).
//!
//! # Chain of trust
//! A client starts from what it trusts without asking anybody: the genesis file (chain id, epoch
//! length, the genesis validators, which are epoch 0's committee), or a checkpoint (an epoch and
//! its committee obtained out of band). The last block of each epoch `e` carries the node
//! registry after it (`Header::next_nodes`): its validators are epoch `e + 1`'s committee. Every
//! validator of epoch `e` re-executed that block and checked the registry before voting, and the
//! block is finalized by a certificate of epoch `e`. So [`FinalityChecker::learn_next`] accepts
//! epoch `e + 1`'s committee only from a boundary header proven final by epoch `e`'s committee,
//! and `formica_client::Client::verified_header` walks these boundaries from the newest epoch it knows to the
//! epoch it needs, one `formica_getFinality` call per epoch.
//!
//! The trust assumption is the chain's own: fewer than a third of each epoch's committee is
//! faulty while it matters. Keys of a past committee that are later stolen could sign a
//! conflicting history of that epoch; a client that has already followed the chain past it (or
//! starts from a recent checkpoint) is not fooled by that.

use commonware_codec::{Decode, DecodeExt};
use commonware_consensus::simplex::{scheme::ed25519::Scheme, types::Finalization};
use commonware_parallel::Sequential;
use commonware_utils::ordered::Set;
use formica_types::{ChainId, Genesis, Hash, Header, Height, PublicKey, VALIDATORS_MAX, consensus_namespace};
use rand::SeedableRng;
use std::collections::BTreeMap;

/// The most headers a finality proof carries (the block and its descendants up to the first
/// certified one); a node serves no longer proofs and a checker refuses them.
pub const FINALITY_HEADERS_MAX: usize = 64;

/// What a finality proof must show to be checked: the JSON-RPC `FinalityView`
/// (`formica_getFinality`) implements it, and so does [`FinalityProof`].
pub trait ProvesFinality {
    /// The digest the proof claims for the block at the asked height.
    fn block_hash(&self) -> Hash;
    /// `0x` hex of the canonical header encodings, from the asked height on.
    fn headers(&self) -> &[String];
    /// `0x` hex of the encoded simplex finalization certificate of the last header.
    fn certificate(&self) -> &str;
}

/// A finality proof as data: the fields of a `formica_getFinality` answer that are checked
/// (its JSON reads from that answer; the other fields are ignored).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FinalityProof {
    #[serde(with = "crate::hex_hash")]
    pub block_hash: Hash,
    pub headers: Vec<String>,
    pub certificate: String,
}

impl ProvesFinality for FinalityProof {
    fn block_hash(&self) -> Hash {
        self.block_hash
    }
    fn headers(&self) -> &[String] {
        &self.headers
    }
    fn certificate(&self) -> &str {
        &self.certificate
    }
}

/// Batch signature verification weighs each signature by a random factor, so a forger cannot
/// make invalid signatures cancel out; the factors come from the caller's `seed` (the browser
/// passes fresh random bytes; native callers use the thread's generator).
pub type VerifierRng = rand::rngs::StdRng;

/// The certificate format of Formica's consensus (ed25519 simplex).
type Certificate = Finalization<Scheme, Hash>;

/// Why a finality proof (or a trust anchor) was not accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FinalityError {
    #[error("the genesis file is not valid: {reason}")]
    Genesis { reason: String },
    #[error("the proof carries {count} headers; between 1 and {max} are accepted")]
    HeaderCount { count: usize, max: usize },
    #[error("header {index} of the proof is malformed: {reason}")]
    MalformedHeader { index: usize, reason: String },
    #[error("the proof is of height {got}, not of the asked height {asked}")]
    WrongHeight { asked: Height, got: Height },
    #[error("the proof names block {shown} but its header hashes to {actual}")]
    WrongBlockHash { shown: String, actual: String },
    #[error("header {index} of the proof does not extend the one before it")]
    BrokenLink { index: usize },
    #[error("height {height} is in epoch {expected}, but a header or the certificate is of epoch {got}")]
    WrongEpoch { height: Height, expected: u64, got: u64 },
    #[error("the certificate is malformed: {reason}")]
    MalformedCertificate { reason: String },
    #[error("the certificate finalizes another block than the proof's last header")]
    CertificateOfOtherBlock,
    #[error("the certificate's signatures do not carry a quorum of epoch {epoch}'s {validators} validators")]
    QuorumNotReached { epoch: u64, validators: usize },
    #[error("epoch {epoch} has {count} validators; between 1 and {max} are accepted")]
    CommitteeSize { epoch: u64, count: usize, max: usize },
    #[error("block {height} is the last of epoch {epoch} but names no next committee")]
    NotBoundary { epoch: u64, height: Height },
    #[error("epoch {epoch} is before the trusted epoch {anchor}")]
    BeforeAnchor { epoch: u64, anchor: u64 },
    #[error("epoch {epoch}'s committee is not known yet")]
    UnknownCommittee { epoch: u64 },
    #[error("the node has no finalized block at height {height}")]
    NotFinalized { height: Height },
}

/// The validators of one epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committee {
    pub epoch: u64,
    pub validators: Vec<PublicKey>,
}

impl Committee {
    fn check_size(&self) -> std::result::Result<(), FinalityError> {
        let count = self.validators.len();
        let max = usize::from(VALIDATORS_MAX);
        if count == 0 || count > max {
            return Err(FinalityError::CommitteeSize { epoch: self.epoch, count, max });
        }
        Ok(())
    }
}

/// The epoch that `height` falls in, with `epoch_blocks` heights per epoch (the chain's
/// consensus cuts the chain into epochs the same way).
pub fn epoch_of(height: Height, epoch_blocks: u64) -> u64 {
    height.get() / epoch_blocks.max(1)
}

/// The last height of `epoch`, whose block names the next epoch's committee.
pub fn epoch_last(epoch: u64, epoch_blocks: u64) -> Option<Height> {
    epoch.checked_add(1)?.checked_mul(epoch_blocks.max(1))?.checked_sub(1).map(Height)
}

/// Checks that `view` proves the block at `height` final under `committee` (see the
/// [module docs](self) for exactly what is checked) and returns that block's header.
pub fn check_finality(
    namespace: &[u8],
    epoch_blocks: u64,
    committee: &Committee,
    height: Height,
    view: &impl ProvesFinality,
    rng: &mut VerifierRng,
) -> std::result::Result<Header, FinalityError> {
    committee.check_size()?;
    let headers = decode_headers(view.headers())?;
    let first = headers.first().expect("decode_headers returns at least one header");
    let last = headers.last().expect("decode_headers returns at least one header");
    if first.height != height {
        return Err(FinalityError::WrongHeight { asked: height, got: first.height });
    }
    if first.digest() != view.block_hash() {
        return Err(FinalityError::WrongBlockHash {
            shown: formica_types::hash_to_hex(&view.block_hash()),
            actual: formica_types::hash_to_hex(&first.digest()),
        });
    }
    let epoch = committee.epoch;
    let wrong_epoch = |got: u64| FinalityError::WrongEpoch { height, expected: epoch, got };
    if epoch_of(height, epoch_blocks) != epoch {
        return Err(wrong_epoch(epoch_of(height, epoch_blocks)));
    }
    for (index, pair) in headers.windows(2).enumerate() {
        let (previous, next) = (&pair[0], &pair[1]);
        if previous.height.next() != Some(next.height) || next.parent != previous.digest() {
            return Err(FinalityError::BrokenLink { index: index + 1 });
        }
    }
    for header in &headers {
        let header_epoch = header.context.round.epoch().get();
        if header_epoch != epoch || epoch_of(header.height, epoch_blocks) != epoch {
            return Err(wrong_epoch(header_epoch));
        }
    }
    let certificate = decode_certificate(view.certificate(), committee.validators.len())?;
    if certificate.proposal.round.epoch().get() != epoch {
        return Err(wrong_epoch(certificate.proposal.round.epoch().get()));
    }
    if certificate.proposal.payload != last.digest() {
        return Err(FinalityError::CertificateOfOtherBlock);
    }
    let participants = Set::from_iter_dedup(committee.validators.iter().cloned());
    let scheme = Scheme::verifier(namespace, participants);
    if !certificate.verify(rng, &scheme, &Sequential) {
        return Err(FinalityError::QuorumNotReached { epoch, validators: committee.validators.len() });
    }
    Ok(first.clone())
}

fn from_hex(text: &str) -> std::result::Result<Vec<u8>, hex::FromHexError> {
    hex::decode(text.strip_prefix("0x").unwrap_or(text))
}

fn decode_headers(hexes: &[String]) -> std::result::Result<Vec<Header>, FinalityError> {
    if hexes.is_empty() || hexes.len() > FINALITY_HEADERS_MAX {
        return Err(FinalityError::HeaderCount { count: hexes.len(), max: FINALITY_HEADERS_MAX });
    }
    let mut headers = Vec::with_capacity(hexes.len());
    for (index, text) in hexes.iter().enumerate() {
        let malformed = |reason: String| FinalityError::MalformedHeader { index, reason };
        // Refused before decoding the hex: two characters per byte, plus the prefix.
        if text.len() > 2 + 2 * Header::ENCODED_BYTES_MAX {
            return Err(malformed(format!("longer than {} bytes", Header::ENCODED_BYTES_MAX)));
        }
        let bytes = from_hex(text).map_err(|error| malformed(format!("hex: {error}")))?;
        headers.push(Header::decode(bytes).map_err(|error| malformed(error.to_string()))?);
    }
    Ok(headers)
}

fn decode_certificate(text: &str, participants: usize) -> std::result::Result<Certificate, FinalityError> {
    let participants_u32 = u32::try_from(participants).expect("committees are at most VALIDATORS_MAX");
    let max = Certificate::max_encode_size(participants_u32);
    let malformed = |reason: String| FinalityError::MalformedCertificate { reason };
    if text.len() > 2 + 2 * max {
        return Err(malformed(format!("longer than {max} bytes")));
    }
    let bytes = from_hex(text).map_err(|error| malformed(format!("hex: {error}")))?;
    Certificate::decode_cfg(bytes, &participants).map_err(|error| malformed(error.to_string()))
}

/// The most committees a [`FinalityChecker`] remembers besides its anchor (about 1 KiB each); an
/// older one is learned again from the nearest one kept when it is needed.
pub const COMMITTEES_KEPT: usize = 1_024;

/// A light client's chain of trust: the committees of the epochs it has verified, starting from
/// a trust anchor (the genesis, or a checkpoint), and the chain facts needed to check
/// certificates (namespace, epoch length). See the [module docs](self).
#[derive(Clone, Debug)]
pub struct FinalityChecker {
    namespace: Vec<u8>,
    epoch_blocks: u64,
    anchor: Committee,
    /// Verified committees of epochs after the anchor's.
    learned: BTreeMap<u64, Vec<PublicKey>>,
}

impl FinalityChecker {
    /// Trusts a genesis file: its chain id, epoch length, and validators as epoch 0's committee.
    pub fn from_genesis(genesis: &Genesis) -> std::result::Result<Self, FinalityError> {
        genesis.validate().map_err(|error| FinalityError::Genesis { reason: error.to_string() })?;
        let anchor = Committee { epoch: 0, validators: genesis.nodes().validators() };
        Self::from_checkpoint(genesis.chain_id, genesis.epoch_blocks, anchor)
    }

    /// Trusts `committee` as the committee of its epoch on the chain `chain_id` with
    /// `epoch_blocks` heights per epoch (a checkpoint obtained out of band).
    pub fn from_checkpoint(
        chain_id: ChainId,
        epoch_blocks: u64,
        committee: Committee,
    ) -> std::result::Result<Self, FinalityError> {
        committee.check_size()?;
        if epoch_blocks == 0 {
            return Err(FinalityError::Genesis { reason: "epoch_blocks is zero".into() });
        }
        Ok(Self { namespace: consensus_namespace(chain_id), epoch_blocks, anchor: committee, learned: BTreeMap::new() })
    }

    /// Heights per epoch.
    pub fn epoch_blocks(&self) -> u64 {
        self.epoch_blocks
    }

    /// The committee of `epoch`, if it is the anchor's or a learned one.
    pub fn committee(&self, epoch: u64) -> Option<Committee> {
        if epoch == self.anchor.epoch {
            return Some(self.anchor.clone());
        }
        self.learned.get(&epoch).map(|validators| Committee { epoch, validators: validators.clone() })
    }

    /// The newest known committee at or before `epoch`.
    pub fn nearest(&self, epoch: u64) -> std::result::Result<Committee, FinalityError> {
        if epoch < self.anchor.epoch {
            return Err(FinalityError::BeforeAnchor { epoch, anchor: self.anchor.epoch });
        }
        Ok(match self.learned.range(..=epoch).next_back() {
            Some((&known, validators)) => Committee { epoch: known, validators: validators.clone() },
            None => self.anchor.clone(),
        })
    }

    /// Checks `view` as the finality proof of the block at `height` against the committee of
    /// its epoch, which must be known (see `formica_client::Client::verified_header` to learn it).
    pub fn check(&self, height: Height, view: &impl ProvesFinality) -> std::result::Result<Header, FinalityError> {
        self.check_with(height, view, &mut VerifierRng::from_rng(&mut rand::rng()))
    }

    /// [`check`](Self::check) with the caller's generator for batch verification.
    pub fn check_with(
        &self,
        height: Height,
        view: &impl ProvesFinality,
        rng: &mut VerifierRng,
    ) -> std::result::Result<Header, FinalityError> {
        let epoch = epoch_of(height, self.epoch_blocks);
        let committee = self.committee(epoch).ok_or(FinalityError::UnknownCommittee { epoch })?;
        check_finality(&self.namespace, self.epoch_blocks, &committee, height, view, rng)
    }

    /// Learns the committee of `epoch + 1` from `view`, the finality proof of epoch `epoch`'s
    /// last block, checked against epoch `epoch`'s (known) committee. Returns the new committee.
    pub fn learn_next(
        &mut self,
        epoch: u64,
        view: &impl ProvesFinality,
    ) -> std::result::Result<Committee, FinalityError> {
        self.learn_next_with(epoch, view, &mut VerifierRng::from_rng(&mut rand::rng()))
    }

    /// [`learn_next`](Self::learn_next) with the caller's generator for batch verification.
    pub fn learn_next_with(
        &mut self,
        epoch: u64,
        view: &impl ProvesFinality,
        rng: &mut VerifierRng,
    ) -> std::result::Result<Committee, FinalityError> {
        let height = epoch_last(epoch, self.epoch_blocks).ok_or(FinalityError::UnknownCommittee { epoch })?;
        let header = self.check_with(height, view, rng)?;
        let next = Committee { epoch: epoch + 1, validators: header.next_nodes.validators() };
        if header.next_nodes.is_empty() {
            return Err(FinalityError::NotBoundary { epoch, height });
        }
        next.check_size()?;
        if self.learned.len() >= COMMITTEES_KEPT
            && let Some(&oldest) = self.learned.keys().next()
        {
            self.learned.remove(&oldest);
        }
        self.learned.insert(next.epoch, next.validators.clone());
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_codec::Encode;
    use commonware_consensus::simplex::types::{Finalize, Proposal};
    use commonware_consensus::types::{Epoch, Round, View};
    use commonware_cryptography::{Digest as _, Signer as _, certificate::Signers, ed25519};
    use commonware_utils::range::NonEmptyRange;
    use formica_types::{BlockContext, ConsensusTimeouts, Node, NodeAddress, NodeRole, NodeSet, OrgId};

    const CHAIN: ChainId = ChainId(9);
    const EPOCH_BLOCKS: u64 = 10;

    fn keys(seeds: std::ops::Range<u64>) -> Vec<ed25519::PrivateKey> {
        seeds.map(ed25519::PrivateKey::from_seed).collect()
    }

    fn committee(epoch: u64, keys: &[ed25519::PrivateKey]) -> Committee {
        Committee { epoch, validators: keys.iter().map(|key| key.public_key()).collect() }
    }

    fn header(height: u64, view: u64, parent: Hash, next_nodes: NodeSet) -> Header {
        let epoch = Epoch::new(height / EPOCH_BLOCKS);
        Header {
            context: BlockContext {
                round: Round::new(epoch, View::new(view)),
                leader: ed25519::PrivateKey::from_seed(0).public_key(),
                parent: (View::new(view.saturating_sub(1)), parent),
            },
            parent,
            height: Height(height),
            timestamp_ms: 1_000 + height,
            transactions_root: Hash::EMPTY,
            state_root: formica_types::hash_tagged(b"state", &[&height.to_be_bytes()]),
            state_ops_root: Hash::EMPTY,
            state_range: NonEmptyRange::new(0..1).expect("non-empty"),
            receipts_root: Hash::EMPTY,
            next_nodes,
            epoch_timeouts: ConsensusTimeouts::default(),
        }
    }

    /// Headers `from..=to` linked by parent digests; the last of an epoch names `next`.
    fn chain(from: u64, to: u64, next: &[ed25519::PrivateKey]) -> Vec<Header> {
        let mut parent = formica_types::hash_tagged(b"parent", &[&from.to_be_bytes()]);
        let mut headers = Vec::new();
        for height in from..=to {
            let next_nodes =
                if (height + 1).is_multiple_of(EPOCH_BLOCKS) { node_set(next) } else { NodeSet::default() };
            let header = header(height, height + 5, parent, next_nodes);
            parent = header.digest();
            headers.push(header);
        }
        headers
    }

    fn node_set(keys: &[ed25519::PrivateKey]) -> NodeSet {
        NodeSet(
            keys.iter()
                .map(|key| Node {
                    key: key.public_key(),
                    org: OrgId(1),
                    address: NodeAddress("127.0.0.1:1".parse().expect("address")),
                    role: NodeRole::Validator,
                })
                .collect(),
        )
    }

    /// A finalization of `header` signed by `signers`, members of `committee_keys`.
    fn certify(header: &Header, committee_keys: &[ed25519::PrivateKey], signers: &[usize]) -> Certificate {
        let namespace = consensus_namespace(CHAIN);
        let participants = Set::from_iter_dedup(committee_keys.iter().map(|key| key.public_key()));
        let proposal = Proposal::new(header.context.round, header.context.parent.0, header.digest());
        let votes: Vec<Finalize<Scheme, Hash>> = signers
            .iter()
            .map(|&index| {
                let scheme =
                    Scheme::signer(&namespace, participants.clone(), committee_keys[index].clone()).expect("a member");
                Finalize::sign(&scheme, proposal.clone()).expect("signs")
            })
            .collect();
        let scheme = Scheme::verifier(&namespace, participants);
        Certificate::from_finalizes(&scheme, commonware_utils::non_empty![@votes.iter()], &Sequential)
            .expect("a quorum assembles")
    }

    fn view(headers: &[Header], certificate: &Certificate, _validators: &Committee) -> FinalityProof {
        FinalityProof {
            block_hash: headers[0].digest(),
            certificate: to_hex(&certificate.encode()),
            headers: headers.iter().map(|header| to_hex(&header.encode())).collect(),
        }
    }

    fn to_hex(bytes: &[u8]) -> String {
        format!("0x{}", hex::encode(bytes))
    }

    fn check_fresh(
        namespace: &[u8],
        epoch_blocks: u64,
        committee: &Committee,
        height: Height,
        proof: &FinalityProof,
    ) -> std::result::Result<Header, FinalityError> {
        check_finality(namespace, epoch_blocks, committee, height, proof, &mut VerifierRng::seed_from_u64(7))
    }

    fn namespace() -> Vec<u8> {
        consensus_namespace(CHAIN)
    }

    #[test]
    fn a_genuine_certificate_verifies() {
        let validators = keys(1..5);
        let headers = chain(12, 12, &[]);
        let committee = committee(1, &validators);
        let proof = view(&headers, &certify(&headers[0], &validators, &[0, 1, 2]), &committee);
        let header = check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(12), &proof).expect("final");
        assert_eq!(header, headers[0]);
    }

    #[test]
    fn a_descendants_certificate_verifies_through_the_parent_links() {
        let validators = keys(1..5);
        let headers = chain(12, 15, &[]);
        let committee = committee(1, &validators);
        let proof = view(&headers, &certify(&headers[3], &validators, &[0, 1, 3]), &committee);
        let header = check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(12), &proof).expect("final");
        assert_eq!(header, headers[0]);

        // A header swapped out of the middle breaks the link.
        let mut broken = headers.clone();
        broken[1].timestamp_ms += 1;
        let proof = view(&broken, &certify(&broken[3], &validators, &[0, 1, 3]), &committee);
        let error = check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(12), &proof).expect_err("broken");
        assert_eq!(error, FinalityError::BrokenLink { index: 2 });
    }

    #[test]
    fn a_tampered_header_fails() {
        let validators = keys(1..5);
        let headers = chain(12, 12, &[]);
        let committee = committee(1, &validators);
        let certificate = certify(&headers[0], &validators, &[0, 1, 2]);
        let mut tampered = headers.clone();
        tampered[0].state_root = Hash::EMPTY;
        let mut proof = view(&tampered, &certificate, &committee);
        let error = check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(12), &proof).expect_err("tampered");
        assert_eq!(error, FinalityError::CertificateOfOtherBlock);
        // Showing the genuine hash next to the tampered header does not help either.
        proof.block_hash = headers[0].digest();
        let error = check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(12), &proof).expect_err("tampered");
        assert!(matches!(error, FinalityError::WrongBlockHash { .. }), "{error}");
    }

    #[test]
    fn a_certificate_of_another_epochs_committee_fails() {
        let old = keys(1..5);
        let new = keys(11..15);
        let headers = chain(12, 12, &[]);
        // Signed by a quorum of another committee of the same size.
        let proof = view(&headers, &certify(&headers[0], &old, &[0, 1, 2, 3]), &committee(1, &new));
        let error = check_fresh(&namespace(), EPOCH_BLOCKS, &committee(1, &new), Height(12), &proof)
            .expect_err("another committee");
        assert_eq!(error, FinalityError::QuorumNotReached { epoch: 1, validators: 4 });
        // And one of another size does not even decode against this committee.
        let five = keys(1..6);
        let proof = view(&headers, &certify(&headers[0], &five, &[0, 1, 2, 3]), &committee(1, &new));
        let error = check_fresh(&namespace(), EPOCH_BLOCKS, &committee(1, &new), Height(12), &proof)
            .expect_err("another committee");
        assert!(
            matches!(error, FinalityError::MalformedCertificate { .. } | FinalityError::QuorumNotReached { .. }),
            "{error}"
        );
        // A genuine certificate checked as another epoch's.
        let proof = view(&headers, &certify(&headers[0], &new, &[0, 1, 2]), &committee(2, &new));
        let error = check_fresh(&namespace(), EPOCH_BLOCKS, &committee(2, &new), Height(12), &proof)
            .expect_err("another epoch");
        assert_eq!(error, FinalityError::WrongEpoch { height: Height(12), expected: 2, got: 1 });
    }

    #[test]
    fn a_certificate_of_too_few_validators_fails() {
        let validators = keys(1..5);
        let headers = chain(12, 12, &[]);
        let committee = committee(1, &validators);
        let mut certificate = certify(&headers[0], &validators, &[0, 1, 2]);
        // Two genuine signatures of four validators: below the quorum of three.
        certificate.certificate.signatures.truncate(2);
        certificate.certificate.signers =
            Signers::new(4, [0u32, 1].map(commonware_utils::Participant::new)).expect("two signers");
        let proof = view(&headers, &certificate, &committee);
        let error = check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(12), &proof).expect_err("too few");
        assert_eq!(error, FinalityError::QuorumNotReached { epoch: 1, validators: 4 });
    }

    #[test]
    fn a_forged_signature_fails() {
        let validators = keys(1..5);
        let headers = chain(12, 12, &[]);
        let committee = committee(1, &validators);
        let certificate = certify(&headers[0], &validators, &[0, 1, 2]);
        // The third signature is replaced by the same validator's signature of another block.
        let other = chain(13, 13, &[]);
        let forged_from = certify(&other[0], &validators, &[0, 1, 2]);
        let mut forged = certificate.clone();
        forged.certificate.signatures[2] = forged_from.certificate.signatures[2].clone();
        let proof = view(&headers, &forged, &committee);
        let error = check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(12), &proof).expect_err("forged");
        assert_eq!(error, FinalityError::QuorumNotReached { epoch: 1, validators: 4 });
        // Flipped bits in a signature.
        let mut bytes = certificate.encode().to_vec();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let mut proof = view(&headers, &certificate, &committee);
        proof.certificate = to_hex(&bytes);
        let error = check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(12), &proof).expect_err("forged");
        assert!(
            matches!(error, FinalityError::QuorumNotReached { .. } | FinalityError::MalformedCertificate { .. }),
            "{error}"
        );
        // Signed under another chain's namespace.
        let proof = view(&headers, &certificate, &committee);
        let error = check_fresh(&consensus_namespace(ChainId(10)), EPOCH_BLOCKS, &committee, Height(12), &proof)
            .expect_err("another chain");
        assert_eq!(error, FinalityError::QuorumNotReached { epoch: 1, validators: 4 });
    }

    #[test]
    fn oversized_and_malformed_proofs_fail_without_panicking() {
        let validators = keys(1..5);
        let headers = chain(12, 12, &[]);
        let committee = committee(1, &validators);
        let genuine = view(&headers, &certify(&headers[0], &validators, &[0, 1, 2]), &committee);
        let mut proof = genuine.clone();
        proof.headers = vec![proof.headers[0].clone(); FINALITY_HEADERS_MAX + 1];
        let error = check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(12), &proof).expect_err("too many");
        assert!(matches!(error, FinalityError::HeaderCount { .. }));
        proof.headers = Vec::new();
        assert!(check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(12), &proof).is_err());
        proof.headers = vec!["0x".to_string() + &"ab".repeat(Header::ENCODED_BYTES_MAX + 1)];
        assert!(check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(12), &proof).is_err());
        proof.headers = vec!["0xzz".into()];
        assert!(check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(12), &proof).is_err());
        let mut proof = genuine.clone();
        proof.certificate = "0x".to_string() + &"00".repeat(100_000);
        assert!(matches!(
            check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(12), &proof),
            Err(FinalityError::MalformedCertificate { .. })
        ));
        // Asked for another height than the proof is of.
        assert_eq!(
            check_fresh(&namespace(), EPOCH_BLOCKS, &committee, Height(13), &genuine),
            Err(FinalityError::WrongHeight { asked: Height(13), got: Height(12) })
        );
    }

    #[test]
    fn the_checker_follows_committees_across_epochs_from_its_anchor() {
        let genesis_validators = keys(1..5);
        let second = keys(21..25);
        let anchor = committee(0, &genesis_validators);
        let mut checker = FinalityChecker::from_checkpoint(CHAIN, EPOCH_BLOCKS, anchor.clone()).expect("anchor");

        // A block of epoch 1 cannot be checked before epoch 1's committee is learned.
        let block = chain(15, 15, &[]);
        let block_proof = view(&block, &certify(&block[0], &second, &[0, 1, 2]), &committee(1, &second));
        assert_eq!(checker.check(Height(15), &block_proof), Err(FinalityError::UnknownCommittee { epoch: 1 }));

        // Epoch 0's last block names the second committee; signed by the genesis one.
        let boundary = chain(9, 9, &second);
        let boundary_proof = view(&boundary, &certify(&boundary[0], &genesis_validators, &[1, 2, 3]), &anchor);
        // The same boundary signed by the committee it names proves nothing.
        let self_signed = view(&boundary, &certify(&boundary[0], &second, &[0, 1, 2]), &anchor);
        assert_eq!(
            checker.learn_next(0, &self_signed),
            Err(FinalityError::QuorumNotReached { epoch: 0, validators: 4 })
        );
        let learned = checker.learn_next(0, &boundary_proof).expect("learned");
        assert_eq!(learned, committee(1, &second));
        checker.check(Height(15), &block_proof).expect("final under the learned committee");

        // The genesis committee's signatures no longer count in epoch 1.
        let stale = view(&block, &certify(&block[0], &genesis_validators, &[0, 1, 2, 3]), &committee(1, &second));
        assert!(checker.check(Height(15), &stale).is_err());

        // A block that is not an epoch's last teaches nothing.
        let inner = chain(5, 5, &[]);
        let inner_proof = view(&inner, &certify(&inner[0], &genesis_validators, &[0, 1, 2]), &anchor);
        assert!(matches!(checker.learn_next(0, &inner_proof), Err(FinalityError::WrongHeight { .. })));
    }
}
