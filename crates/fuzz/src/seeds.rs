//! Valid encodings to seed each target's corpus with (`cargo run -p formica-fuzz --example
//! write_seeds` writes them to `fuzz/corpus/<name>/`), and the in-memory node behind the RPC
//! target. Everything is derived from fixed keys, so the seeds are the same on every run.

use crate::SigningScheme;
use crate::fake::{self, FakeNode, account_of, body, key};
use commonware_codec::Encode;
use commonware_consensus::simplex::types::{
    Certificate, Finalization, Finalize, Notarization, Notarize, Nullification, Nullify, Proposal, Vote,
};
use commonware_consensus::types::{Epoch, Round, View};
use commonware_cryptography::Signer as _;
use commonware_parallel::Sequential;
use formica_crypto::AccountSigner;
use formica_types::{AccountId, Amount, ChainId, Hash, Height, KeyScheme, Payload, Transaction, hash_to_hex};
use std::sync::Arc;

/// The chain of the seeds and of the RPC target's node.
pub const CHAIN_ID: ChainId = fake::CHAIN_ID;

/// Balance of each funded account of the RPC target's node.
const BALANCE: u128 = 1_000_000_000;

/// The committee of epoch 0 (four validators).
pub fn committee_public_keys() -> commonware_utils::ordered::Set<formica_types::PublicKey> {
    commonware_utils::ordered::Set::from_iter_dedup(fake::committee(0))
}

fn transfer(seed: u64, nonce: u64, amount: u128) -> Transaction {
    body(seed, nonce, Payload::Transfer { to: account_of(&key(2)), amount: Amount(amount) }).sign(&[&key(seed)])
}

/// Transactions of several payloads and all three key schemes, one with two signers.
pub fn transactions() -> Vec<Transaction> {
    let mut transactions = vec![
        transfer(1, 0, 250),
        transfer(1, 3, 1),
        body(1, 0, Payload::CreateAccount { public_key: key(4).public_key().into(), initial_balance: Amount(5) })
            .sign(&[&key(1)]),
        body(1, 1, Payload::SetThreshold { threshold: 2 }).sign(&[&key(1), &key(3)]),
        body(1, 0, Payload::Freeze { account: AccountId([7; 32]) }).sign(&[&key(1)]),
        body(
            1,
            0,
            Payload::Call {
                contract: AccountId([9; 32]),
                method: "transfer".into(),
                input: vec![1, 2, 3],
                value: Amount(0),
                gas_limit: 50_000,
            },
        )
        .sign(&[&key(1)]),
    ];
    for scheme in [KeyScheme::Sm2, KeyScheme::Secp256k1] {
        let signer = AccountSigner::from_seed(scheme, 11);
        let body = body(1, 0, Payload::Transfer { to: AccountId([3; 32]), amount: Amount(9) });
        let signature = signer.sign(&body);
        transactions.push(Transaction { body, signatures: vec![signature] });
    }
    transactions
}

fn proposal(view: u64) -> Proposal<Hash> {
    let round = Round::new(Epoch::zero(), View::new(view));
    let payload = formica_types::hash_tagged(b"formica/fuzz/seed", &[&view.to_be_bytes()]);
    Proposal::new(round, View::new(view.saturating_sub(1)), payload)
}

fn signers() -> Vec<SigningScheme> {
    let namespace = formica_types::consensus_namespace(CHAIN_ID);
    fake::committee_keys(0)
        .into_iter()
        .map(|private| SigningScheme::signer(&namespace, committee_public_keys(), private).expect("a member"))
        .collect()
}

/// Votes and certificates of the epoch-0 committee, each behind the subchannel prefix of its
/// epoch (as the muxer sends them).
pub fn consensus_messages() -> Vec<Vec<u8>> {
    let signers = signers();
    let verifier = SigningScheme::verifier(&formica_types::consensus_namespace(CHAIN_ID), committee_public_keys());
    let notarizes: Vec<Notarize<SigningScheme, Hash>> =
        signers.iter().map(|scheme| Notarize::sign(scheme, proposal(5)).expect("signs")).collect();
    let nullifies: Vec<Nullify<SigningScheme>> = signers
        .iter()
        .map(|scheme| Nullify::sign::<Hash>(scheme, Round::new(Epoch::zero(), View::new(6))).expect("signs"))
        .collect();
    let finalizes: Vec<Finalize<SigningScheme, Hash>> =
        signers.iter().map(|scheme| Finalize::sign(scheme, proposal(7)).expect("signs")).collect();
    let quorum = 3;
    let notarization =
        Notarization::from_notarizes(&verifier, commonware_utils::non_empty![@notarizes[..quorum].iter()], &Sequential)
            .expect("a quorum");
    let nullification = Nullification::from_nullifies(
        &verifier,
        commonware_utils::non_empty![@nullifies[..quorum].iter()],
        &Sequential,
    )
    .expect("a quorum");
    let finalization =
        Finalization::from_finalizes(&verifier, commonware_utils::non_empty![@finalizes.iter()], &Sequential)
            .expect("a quorum");
    let payloads: Vec<Vec<u8>> = vec![
        Vote::<SigningScheme, Hash>::Notarize(notarizes[0].clone()).encode().to_vec(),
        Vote::<SigningScheme, Hash>::Nullify(nullifies[1].clone()).encode().to_vec(),
        Vote::<SigningScheme, Hash>::Finalize(finalizes[2].clone()).encode().to_vec(),
        Certificate::<SigningScheme, Hash>::Notarization(notarization).encode().to_vec(),
        Certificate::<SigningScheme, Hash>::Nullification(nullification).encode().to_vec(),
        Certificate::<SigningScheme, Hash>::Finalization(finalization.clone()).encode().to_vec(),
        finalization.encode().to_vec(),
    ];
    payloads
        .into_iter()
        .enumerate()
        .map(|(index, payload)| {
            // Epochs 0 and 300 (a two-byte varint prefix).
            let epoch: u64 = if index % 2 == 0 { 0 } else { 300 };
            let mut message = commonware_codec::varint::UInt(epoch).encode().to_vec();
            message.extend_from_slice(&payload);
            message
        })
        .collect()
}

/// Blocks: an empty one, one with transactions, an epoch's last block (with the next committee)
/// and a bare header.
pub fn blocks() -> Vec<Vec<u8>> {
    let node = FakeNode::with_epochs(&[1], BALANCE, 64, 2);
    let first = node.finalize();
    for transaction in transactions().into_iter().take(1) {
        futures_lite_submit(&node, transaction);
    }
    let second = node.finalize();
    let with_transactions = fake::build_block(Height(3), second.block.hash(), transactions(), &[]);
    vec![
        first.block.encode().to_vec(),
        second.block.encode().to_vec(),
        with_transactions.encode().to_vec(),
        first.block.header.encode().to_vec(),
    ]
}

fn futures_lite_submit(node: &Arc<FakeNode>, transaction: Transaction) {
    use formica_rpc::Backend as _;
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    runtime.block_on(node.submit(transaction)).expect("the fake node admits the seed transaction");
}

/// The node behind the RPC target: two funded accounts and two finalized blocks, one with a
/// transaction, so lookups can find something.
pub fn rpc_node() -> Arc<FakeNode> {
    let node = FakeNode::new(&[1, 2], BALANCE, 1_024);
    futures_lite_submit(&node, transfer(1, 0, 250));
    node.finalize();
    node.finalize();
    node
}

fn call(method: &str, params: serde_json::Value) -> Vec<u8> {
    serde_json::json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string().into_bytes()
}

/// JSON-RPC requests for most methods, with parameters the node knows.
pub fn rpc_requests() -> Vec<Vec<u8>> {
    use serde_json::json;
    let known = transfer(1, 0, 250);
    let fresh = transfer(2, 0, 3);
    let account = account_of(&key(1)).to_hex();
    vec![
        call("formica_status", json!([])),
        call("formica_health", json!([])),
        call("formica_sendTransaction", json!([format!("0x{}", hex_of(&fresh))])),
        call("formica_sendTransactions", json!([[format!("0x{}", hex_of(&transfer(3, 0, 4))), "0xzz"]])),
        call("formica_getTransaction", json!([hash_to_hex(&known.hash())])),
        call("formica_getTransactionReceipt", json!([hash_to_hex(&known.hash())])),
        call("formica_getBlockByHeight", json!([1])),
        call("formica_getBlockByHash", json!([hash_to_hex(&formica_types::hash_tagged(b"formica/fuzz/unknown", &[]))])),
        call("formica_getAccount", json!([account])),
        call("formica_getAccountProof", json!([account])),
        call("formica_getFinality", json!([1])),
        call("formica_getGovernance", json!([])),
        call("formica_getAsset", json!(["FMC"])),
        call("formica_getAssetBalance", json!(["FMC", account])),
        call("formica_getInvoice", json!([account, "INV-1"])),
        call("formica_getCorridor", json!(["USD-EUR"])),
        call("formica_getTraceHistory", json!([account, "MP-1"])),
        call("formica_queryContract", json!([account, "balance", "0x", null, 1000])),
        call("formica_getAccount", json!({ "id": account })),
        br#"{"jsonrpc":"2.0","method":"formica_status"}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":"x","method":"formica_nope","params":[]}"#.to_vec(),
    ]
}

fn hex_of(transaction: &Transaction) -> String {
    transaction.encode().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Every target's seeds, by target name.
pub fn all() -> Vec<(&'static str, Vec<Vec<u8>>)> {
    let transactions: Vec<Vec<u8>> = transactions().iter().map(|transaction| transaction.encode().to_vec()).collect();
    vec![
        ("transaction", transactions.clone()),
        ("block", blocks()),
        ("consensus", consensus_messages()),
        ("gossip", transactions),
        ("rpc", rpc_requests()),
    ]
}
