//! The SDK against a real server over the in-memory node of the formica-rpc tests.

#[path = "../../../rpc/tests/it/fake.rs"]
mod fake;

use fake::{CHAIN_ID, FakeNode, account_of, key};
use formica_client::types::ReceiptStatus;
use formica_client::{
    AccountSigner, Client, ClientError, Committee, FinalityChecker, FinalityError, codes, verify_block_header,
    websocket_url,
};
use formica_rpc::{RunningServer, ServerConfig, serve};
use formica_types::{AccountId, Amount, Height, Nonce, hash_tagged};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BALANCE: u128 = 1_000_000;

fn signer(seed: u64) -> AccountSigner {
    AccountSigner::from(key(seed))
}

async fn start_with(node: Arc<FakeNode>, config: ServerConfig) -> RunningServer {
    let config = ServerConfig { listen_address: "127.0.0.1:0".parse().expect("address"), ..config };
    serve(node, config).await.expect("server starts")
}

async fn start(node: Arc<FakeNode>) -> RunningServer {
    start_with(node, ServerConfig::default()).await
}

/// Finalizes a block on the fake node after `delay`, as consensus would.
fn finalize_later(node: &Arc<FakeNode>, delay: Duration) {
    let node = node.clone();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        node.finalize();
    });
}

async fn transfer_and_wait(client: &Client, node: &Arc<FakeNode>) {
    let hash = client.transfer(&signer(1), account_of(&key(2)), Amount(40), Amount(5)).await.expect("accepted");
    let pending = client.transaction(hash).await.expect("call").expect("pending");
    assert_eq!((pending.chain_id, pending.nonce, pending.fee_limit), (CHAIN_ID, Nonce(0), Amount(5)));
    assert_eq!(pending.expiry_height, Height(1000), "expiry is the finalized height plus 1000");
    finalize_later(node, Duration::from_millis(200));
    let started = Instant::now();
    let receipt = client.wait_for_receipt(hash, Duration::from_secs(10)).await.expect("final");
    assert!(started.elapsed() >= Duration::from_millis(150), "waited for finalization");
    assert_eq!(
        (receipt.status, receipt.block_height, receipt.transaction_hash),
        (ReceiptStatus::Success, Height(1), hash)
    );
    assert_eq!(client.next_nonce(account_of(&key(1))).await.expect("call"), Nonce(1));
    let recipient = client.account(account_of(&key(2))).await.expect("call").expect("exists");
    assert_eq!(recipient.balance, Amount(BALANCE + 40));
}

#[tokio::test]
async fn transfer_and_wait_over_http() {
    let node = FakeNode::new(&[1, 2], BALANCE, 64);
    let server = start(node.clone()).await;
    let client = Client::connect(&server.http_url()).await.expect("connects");
    transfer_and_wait(&client, &node).await;
}

#[tokio::test]
async fn transfer_and_wait_over_websocket() {
    let node = FakeNode::new(&[1, 2], BALANCE, 64);
    let server = start(node.clone()).await;
    let client = Client::connect(&server.ws_url()).await.expect("connects");
    transfer_and_wait(&client, &node).await;
}

#[tokio::test]
async fn wait_falls_back_to_polling_without_subscriptions() {
    let node = FakeNode::new(&[1, 2], BALANCE, 64);
    let config = ServerConfig { max_subscriptions_per_connection: 0, ..ServerConfig::default() };
    let server = start_with(node.clone(), config).await;
    let client = Client::connect(&server.http_url()).await.expect("connects");
    transfer_and_wait(&client, &node).await;
}

#[tokio::test]
async fn wait_times_out_for_a_transaction_never_finalized() {
    let node = FakeNode::new(&[1], BALANCE, 64);
    let server = start(node).await;
    let client = Client::connect(&server.http_url()).await.expect("connects");
    let unknown = hash_tagged(b"test", &[b"never"]);
    let error = client.wait_for_receipt(unknown, Duration::from_millis(300)).await.expect_err("times out");
    assert!(matches!(error, ClientError::Timeout { .. }), "{error:?}");
}

#[tokio::test]
async fn submit_many_returns_each_transaction_s_hash_or_refusal() {
    let node = FakeNode::new(&[1, 2], BALANCE, 64);
    let server = start(node.clone()).await;
    let client = Client::connect(&server.ws_url()).await.expect("connects");
    let transfer = |seed: u64, nonce: u64, amount: u128| {
        fake::body(seed, nonce, formica_types::Payload::Transfer { to: account_of(&key(3)), amount: Amount(amount) })
            .sign(&[&key(seed)])
    };
    let batch = vec![transfer(1, 0, 10), transfer(2, 0, BALANCE), transfer(1, 1, 10)];
    let results = client.submit_many(&batch).await.expect("call");
    assert_eq!(results.len(), 3);
    assert_eq!(*results[0].as_ref().expect("admitted"), batch[0].hash());
    let refusal = results[1].as_ref().expect_err("more than the balance with the fee");
    assert_eq!(refusal.code(), Some(codes::INSUFFICIENT_BALANCE));
    assert_eq!(*results[2].as_ref().expect("admitted"), batch[2].hash());
    assert_eq!(node.pending_count(), 2);
    assert_eq!(client.submit_many(&[]).await.expect("call").len(), 0);
}

#[tokio::test]
async fn refusals_keep_their_code() {
    let node = FakeNode::new(&[1, 2], BALANCE, 64);
    let server = start(node.clone()).await;
    let client = Client::connect(&server.http_url()).await.expect("connects");
    let error =
        client.transfer(&signer(1), account_of(&key(2)), Amount(BALANCE), Amount(5)).await.expect_err("refused");
    assert_eq!(error.code(), Some(codes::INSUFFICIENT_BALANCE), "{error}");
    assert!(error.to_string().contains("-32009"), "{error}");
    let missing = client.next_nonce(account_of(&key(9))).await.expect_err("no account");
    assert!(matches!(missing, ClientError::AccountNotFound { .. }), "{missing:?}");
    node.set_shutting_down();
    assert_eq!(client.status().await.expect_err("down").code(), Some(codes::UNAVAILABLE));
}

#[tokio::test]
async fn create_account_then_use_it() {
    let node = FakeNode::new(&[1], BALANCE, 64);
    let server = start(node.clone()).await;
    let client = Client::connect(&server.http_url()).await.expect("connects");
    let created =
        client.create_account(&signer(1), signer(5).public_key(), Amount(500), Amount(5)).await.expect("accepted");
    node.finalize();
    assert!(client.wait_for_receipt(created, Duration::from_secs(5)).await.expect("final").succeeded());
    let transfer = client.transfer(&signer(5), account_of(&key(1)), Amount(100), Amount(5)).await.expect("accepted");
    node.finalize();
    assert!(client.wait_for_receipt(transfer, Duration::from_secs(5)).await.expect("final").succeeded());
    let account = client.account(account_of(&key(5))).await.expect("call").expect("exists");
    assert_eq!((account.balance, account.nonce), (Amount(500 - 100 - 1), Nonce(1)));
}

#[tokio::test]
async fn block_headers_verify_and_tampering_is_caught() {
    let node = FakeNode::new(&[1, 2], BALANCE, 64);
    let server = start(node.clone()).await;
    let client = Client::connect(&server.http_url()).await.expect("connects");
    client.transfer(&signer(1), account_of(&key(2)), Amount(1), Amount(5)).await.expect("accepted");
    node.finalize();
    let block = client.block_by_height(Height(1)).await.expect("call").expect("exists");
    assert!(verify_block_header(&block));
    assert_eq!(client.block_by_hash(block.hash).await.expect("call"), Some(block.clone()));

    let mut wrong_root = block.clone();
    wrong_root.state_root = hash_tagged(b"test", &[b"forged"]);
    assert!(!verify_block_header(&wrong_root));
    let mut wrong_list = block.clone();
    wrong_list.transactions.clear();
    wrong_list.transaction_count = 0;
    assert!(!verify_block_header(&wrong_list));
    let mut wrong_bytes = block.clone();
    wrong_bytes.header_hex.truncate(wrong_bytes.header_hex.len() - 2);
    assert!(!verify_block_header(&wrong_bytes));
    let mut not_hex = block;
    not_hex.header_hex = "0xnothex".into();
    assert!(!verify_block_header(&not_hex));
}

#[tokio::test]
async fn finalized_blocks_reach_an_http_client_through_websocket() {
    let node = FakeNode::new(&[1], BALANCE, 64);
    let server = start(node.clone()).await;
    let client = Client::connect(&server.http_url()).await.expect("connects");
    let (mut blocks, _connection) = client.subscribe_finalized_blocks().await.expect("subscribed");
    let finalized = node.finalize();
    let view = tokio::time::timeout(Duration::from_secs(5), blocks.next()).await.expect("in time");
    let view = view.expect("open").expect("decodes");
    assert_eq!(view.hash, finalized.block.hash());
    assert!(verify_block_header(&view));
}

#[tokio::test]
async fn account_proof_and_status() {
    let node = FakeNode::new(&[1], BALANCE, 64);
    let server = start(node).await;
    let client = Client::connect(&server.http_url()).await.expect("connects");
    let proof = client.account_proof(account_of(&key(1))).await.expect("call");
    assert_eq!(proof.account.map(|account| account.balance), Some(Amount(BALANCE)));
    assert_eq!(proof.proof, "0xdeadbeef");
    let absent = client.account_proof(AccountId([3; 32])).await.expect("call");
    assert!(absent.account.is_none());
    assert_eq!(client.status().await.expect("call").chain_id, CHAIN_ID);
    // The fake's proof bytes are not a Merkle proof: never reported as verified.
    let anchor = Committee { epoch: 0, validators: fake::committee(0) };
    let mut checker = FinalityChecker::from_checkpoint(CHAIN_ID, 1_000_000, anchor).expect("anchor");
    let (_, check) = client.verified_account(account_of(&key(1)), &mut checker).await.expect("call");
    assert_eq!(check, formica_client::ProofCheck::Invalid);
}

#[tokio::test]
async fn verified_headers_follow_the_committees_from_the_anchor_over_rpc() {
    let node = FakeNode::with_epochs(&[1], BALANCE, 8, 4);
    for _ in 0..10 {
        node.finalize();
    }
    let server = start(node.clone()).await;
    let client = Client::connect(&server.http_url()).await.expect("connects");
    let anchor = Committee { epoch: 0, validators: fake::committee(0) };
    let mut checker = FinalityChecker::from_checkpoint(CHAIN_ID, 4, anchor.clone()).expect("anchor");

    // Height 9 is in epoch 2: the checker learns epochs 1 and 2 from the last blocks of 0 and 1.
    let header = client.verified_header(&mut checker, Height(9)).await.expect("final");
    let block = client.block_by_height(Height(9)).await.expect("call").expect("block");
    assert_eq!((header.height, header.digest()), (Height(9), block.hash));
    assert_eq!(checker.committee(2).expect("learned").validators, fake::committee(2));
    client.verified_header(&mut checker, Height(2)).await.expect("an earlier epoch is still known");

    // A node lying about finality (certificates of the wrong committee) is caught.
    node.set_forged_finality(true);
    let mut fresh = FinalityChecker::from_checkpoint(CHAIN_ID, 4, anchor).expect("anchor");
    match client.verified_header(&mut fresh, Height(9)).await {
        Err(ClientError::Unverified(FinalityError::QuorumNotReached { epoch: 0, validators: 4 })) => {}
        other => panic!("expected the boundary of epoch 0 to fail, got {other:?}"),
    }
    match client.verified_header(&mut checker, Height(9)).await {
        Err(ClientError::Unverified(FinalityError::QuorumNotReached { epoch: 2, .. })) => {}
        other => panic!("expected the block's own proof to fail, got {other:?}"),
    }
    node.set_forged_finality(false);
    match client.verified_header(&mut checker, Height(50)).await {
        Err(ClientError::Unverified(FinalityError::NotFinalized { .. })) => {}
        other => panic!("expected no block, got {other:?}"),
    }
}

#[tokio::test]
async fn urls() {
    assert_eq!(websocket_url("http://127.0.0.1:9").expect("http"), "ws://127.0.0.1:9");
    assert_eq!(websocket_url("https://node.example/rpc").expect("https"), "wss://node.example/rpc");
    assert_eq!(websocket_url("ws://127.0.0.1:9").expect("ws"), "ws://127.0.0.1:9");
    let error = Client::connect("ftp://127.0.0.1:9").await.err().expect("refused");
    assert!(matches!(error, ClientError::UnsupportedUrl { .. }), "{error:?}");
}

#[test]
fn generated_keys_are_distinct_and_valid() {
    for scheme in formica_types::KeyScheme::ALL {
        let (first_file, first_key) = formica_client::generate_key(scheme);
        let (second_file, _) = formica_client::generate_key(scheme);
        assert_ne!(first_file.account_id, second_file.account_id);
        assert_eq!(first_file.account_id, first_key.account_id());
        assert_eq!(first_file.signer().expect("valid").public_key(), first_key.public_key());
    }
}
