//! The bodies of Formica's fuzz targets: each is a plain function that takes arbitrary bytes and
//! must never panic, whatever they are.
//!
//! `fuzz/fuzz_targets/<name>.rs` (a cargo-fuzz crate outside the workspace) calls the function of
//! the same name; this crate's tests replay every file of `fuzz/corpus/<name>/` and
//! `fuzz/regressions/<name>/` through it, so the default test run covers every input the fuzzer
//! kept and every crash it ever found. See the "Malformed input" section of `docs/reliability.md`.
//!
//! The real components decode: the transaction, block and consensus codecs with the limits the
//! node uses, the mempool's admission checks and gossip decoder, and the RPC router of
//! `formica-rpc`. Only the RPC's backend is a fake (an in-memory ledger), because the router is
//! what is fuzzed.
//!
//! # What each target asserts beyond "no panic"
//! - Every decoder is canonical: when bytes decode, encoding the value gives back the same bytes
//!   (otherwise two encodings would hash or sign differently for one value).
//! - `transaction`: batch and one-by-one signature verification agree; the pool admits a
//!   transaction only if it can propose it (nonce permitting) and refuses it a second time.
//! - `rpc`: every request that parses as JSON-RPC gets exactly one well-formed JSON-RPC response.

// The in-memory node of the formica-rpc tests, shared by path (as formica-client does).
#[path = "../../rpc/tests/it/fake.rs"]
mod fake;
pub mod seeds;

use bytes::Bytes;
use commonware_codec::{Decode, DecodeExt, Encode};
use commonware_consensus::simplex::types::{Certificate, Finalization, Vote};
use commonware_cryptography::certificate::Verifier as _;
use commonware_parallel::Sequential;
use formica_crypto::KeySet;
use formica_mempool::{AdmissionError, Pool, SenderState};
use formica_types::{
    Account, Amount, Block, BlockLimits, GasParameters, Hash, Header, Height, KeyEntry, Nonce, Transaction,
    TransactionLimits, VALIDATORS_MAX,
};
use rand::{SeedableRng as _, rngs::StdRng};
use std::sync::OnceLock;

/// The consensus signing scheme (`formica_consensus::SigningScheme`; named here so the fuzz
/// build does not need the whole consensus stack).
pub type SigningScheme = commonware_consensus::simplex::scheme::ed25519::Scheme;

/// A target's body: takes any bytes, panics only on a bug.
pub type Target = fn(&[u8]);

/// The targets, by name: the file names under `fuzz/fuzz_targets/`, `fuzz/corpus/` and
/// `fuzz/regressions/`.
pub const TARGETS: &[(&str, Target)] =
    &[("transaction", transaction), ("block", block), ("consensus", consensus), ("gossip", gossip), ("rpc", rpc)];

/// The committee the consensus target verifies votes and certificates against: four validators,
/// as a local network has.
pub const COMMITTEE_SIZE: usize = 4;

/// The most bytes the RPC target hands the router: the server's default body limit (larger
/// bodies never reach the router).
pub fn rpc_input_bytes_max() -> usize {
    formica_rpc::ServerConfig::default().max_request_body_bytes as usize
}

fn assert_canonical(what: &str, input: &[u8], encoded: &[u8]) {
    assert!(
        input == encoded,
        "{what} decoded from {} bytes re-encodes to {} different bytes",
        input.len(),
        encoded.len()
    );
}

/// A transaction as a client or peer submits it: decoded with the node's limits, then the
/// stateless admission checks and the pool's insertion against a sender whose keys are the
/// transaction's signers.
pub fn transaction(data: &[u8]) {
    let limits = TransactionLimits::default();
    let Ok(transaction) = Transaction::decode_cfg(Bytes::copy_from_slice(data), &limits) else { return };
    assert_canonical("a transaction", data, &transaction.encode());
    assert!(transaction.signatures.len() <= limits.signatures_max);
    admission(transaction);
}

/// Gas parameters of a chain that allows contracts, so contract payloads reach every check.
const GAS: GasParameters = GasParameters { price: Amount(1), tx_gas_max: 10_000_000, block_gas_max: 100_000_000 };

fn admission(transaction: Transaction) {
    let individually = formica_crypto::verify_individually(&transaction);
    let batched = formica_crypto::verify_batch(&mut StdRng::seed_from_u64(7), &[&transaction]);
    assert_eq!(batched, vec![individually], "batch and one-by-one verification disagree");
    let mut keys: Vec<KeyEntry> = Vec::new();
    for signature in &transaction.signatures {
        if !keys.iter().any(|entry| entry.key == signature.public_key) {
            keys.push(KeyEntry { key: signature.public_key, weight: 1 });
        }
    }
    let Some(first) = keys.first().copied() else {
        assert!(!individually, "a transaction without signatures verifies");
        return;
    };
    let sender = SenderState {
        account: Account::new(first.key, Amount(u128::MAX / 2)),
        keys: KeySet { keys, threshold: 1, recovery: None },
        fee: Amount(1),
        gas: GAS,
    };
    let mut pool = Pool::new(formica_mempool::Config::default());
    let hash = transaction.hash();
    match pool.insert(transaction.clone(), Some(&sender), Height(0), sender.fee) {
        Ok(admitted) => {
            assert_eq!(admitted, hash);
            assert!(pool.contains(&hash) && pool.len() == 1);
            let candidates = pool.candidates(1, &std::collections::BTreeMap::new());
            if transaction.body.nonce == Nonce::ZERO {
                assert_eq!(candidates, vec![transaction.clone()], "an admitted next nonce is proposable");
            } else {
                assert!(candidates.is_empty(), "a nonce gap is not proposable");
            }
            let again = pool.insert(transaction, Some(&sender), Height(0), sender.fee);
            assert_eq!(again, Err(AdmissionError::Duplicate));
        }
        Err(_) => assert!(pool.is_empty(), "a refused transaction is not pending"),
    }
}

/// A block as marshal and the broadcast engine decode it from peers (the node's block limits),
/// and a header as light clients decode it.
pub fn block(data: &[u8]) {
    let limits = BlockLimits::default();
    if let Ok(block) = Block::decode_cfg(Bytes::copy_from_slice(data), &limits) {
        assert_canonical("a block", data, &block.encode());
        assert!(data.len() <= limits.encoded_bytes_max(), "a block over the limit decoded");
        assert!(block.transactions.len() <= limits.transactions_max);
        assert_eq!(block.hash(), block.header.digest());
    }
    if let Ok(header) = Header::decode(Bytes::copy_from_slice(data)) {
        assert_canonical("a header", data, &header.encode());
    }
}

/// Verifies votes and certificates of the fixed committee (nothing random: replays repeat).
struct Committee {
    scheme: SigningScheme,
}

fn committee() -> &'static Committee {
    static COMMITTEE: OnceLock<Committee> = OnceLock::new();
    COMMITTEE.get_or_init(|| {
        let participants = seeds::committee_public_keys();
        let namespace = formica_types::consensus_namespace(seeds::CHAIN_ID);
        Committee { scheme: SigningScheme::verifier(&namespace, participants) }
    })
}

/// A message of the simplex vote or certificate channel as the node receives it: the epoch
/// subchannel prefix (commonware's muxer), then a vote, or a certificate decoded for a committee
/// of [`COMMITTEE_SIZE`] and of the largest allowed size; and a finalization certificate as
/// marshal decodes it (for any committee size). Whatever decodes is verified against the
/// committee, which must not panic either.
pub fn consensus(data: &[u8]) {
    let Ok((subchannel, payload)) = commonware_p2p::utils::mux::parse(data.to_vec().into()) else { return };
    let payload = Bytes::copy_from_slice(payload.as_ref());
    let mut prefix = commonware_codec::varint::UInt(subchannel).encode().to_vec();
    prefix.extend_from_slice(&payload);
    assert_canonical("a subchannel prefix", data, &prefix);

    let committee = committee();
    let mut rng = StdRng::seed_from_u64(7);
    if let Ok(vote) = Vote::<SigningScheme, Hash>::decode(payload.clone()) {
        assert_canonical("a vote", &payload, &vote.encode());
        match &vote {
            Vote::Notarize(notarize) => notarize.verify(&mut rng, &committee.scheme, &Sequential),
            Vote::Nullify(nullify) => nullify.verify::<_, Hash>(&mut rng, &committee.scheme, &Sequential),
            Vote::Finalize(finalize) => finalize.verify(&mut rng, &committee.scheme, &Sequential),
        };
    }
    for participants in [COMMITTEE_SIZE, usize::from(VALIDATORS_MAX)] {
        if let Ok(certificate) = Certificate::<SigningScheme, Hash>::decode_cfg(payload.clone(), &participants) {
            assert_canonical("a certificate", &payload, &certificate.encode());
            if participants == COMMITTEE_SIZE {
                match &certificate {
                    Certificate::Notarization(notarization) => {
                        notarization.verify(&mut rng, &committee.scheme, &Sequential)
                    }
                    Certificate::Nullification(nullification) => {
                        nullification.verify::<_, Hash>(&mut rng, &committee.scheme, &Sequential)
                    }
                    Certificate::Finalization(finalization) => {
                        finalization.verify(&mut rng, &committee.scheme, &Sequential)
                    }
                };
            }
        }
    }
    let unbounded = SigningScheme::certificate_codec_config_unbounded();
    if let Ok(finalization) = Finalization::<SigningScheme, Hash>::decode_cfg(payload.clone(), &unbounded) {
        assert_canonical("a finalization", &payload, &finalization.encode());
    }
}

/// A message of the transaction gossip channel as the mempool's gossip loop decodes it.
pub fn gossip(data: &[u8]) {
    let limits = TransactionLimits::default();
    match formica_mempool::decode_gossip(Bytes::copy_from_slice(data), &limits) {
        Ok(transaction) => assert_canonical("a gossiped transaction", data, &transaction.encode()),
        Err(formica_mempool::GossipError::Oversized { bytes, limit }) => {
            assert!(bytes > limit && bytes == data.len());
        }
        Err(formica_mempool::GossipError::Undecodable(_)) => {}
    }
}

/// The router and its handlers, over an in-memory backend, on a runtime of their own.
struct Router {
    runtime: tokio::runtime::Runtime,
    methods: jsonrpsee::Methods,
}

fn router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime builds");
        let node = seeds::rpc_node();
        let methods = formica_rpc::rpc_methods(node, TransactionLimits::default());
        Router { runtime, methods }
    })
}

/// The bytes of an HTTP body or WebSocket message handed to the JSON-RPC router: the real
/// parameter parsing and handlers of every method, over an in-memory node. A request that
/// parses gets one response, a JSON-RPC 2.0 object with the request's id and either a result
/// or an error.
pub fn rpc(data: &[u8]) {
    if data.len() > rpc_input_bytes_max() {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let router = router();
    let Ok((response, _notifications)) = router.runtime.block_on(router.methods.raw_json_request(text, 1)) else {
        return;
    };
    let response: serde_json::Value =
        serde_json::from_str(response.get()).unwrap_or_else(|error| panic!("the response is not JSON: {error}"));
    assert_eq!(response["jsonrpc"], "2.0", "{response}");
    let has_result = response.get("result").is_some();
    let error = response.get("error");
    assert!(has_result != error.is_some(), "a response has a result or an error: {response}");
    if let Some(error) = error {
        assert!(error["code"].is_i64() && error["message"].is_string(), "a malformed error: {response}");
    }
}
