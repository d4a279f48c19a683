//! The server over an in-memory node, exercised through the generated client over HTTP and WebSocket.

mod abuse;
mod fake;

use commonware_codec::Encode;
use commonware_cryptography::Signer;
use fake::{CHAIN_ID, FakeNode, account_of, key};
use formica_crypto::AccountSigner;
use formica_rpc::access::{AccessToken, now_ms};
use formica_rpc::types::{PayloadView, ReceiptStatus};
use formica_rpc::{FormicaApiClient, RunningServer, ServerConfig, SubmitError, codes, serve};
use formica_types::{
    AccountId, Amount, ChainId, Hash, Height, Nonce, Payload, Transaction, TransactionBody, hash_to_hex,
};
use jsonrpsee::core::ClientError;
use jsonrpsee::core::client::ClientT;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BALANCE: u128 = 1_000_000;

async fn start(node: Arc<FakeNode>) -> RunningServer {
    let config = ServerConfig { listen_address: "127.0.0.1:0".parse().expect("address"), ..ServerConfig::default() };
    serve(node, config).await.expect("server starts")
}

fn http(server: &RunningServer) -> HttpClient {
    HttpClientBuilder::default().build(server.http_url()).expect("http client")
}

async fn ws(server: &RunningServer) -> WsClient {
    WsClientBuilder::default().build(server.ws_url()).await.expect("ws client")
}

/// A transfer of `amount` to `key(2)`'s account.
fn body(seed: u64, nonce: u64, amount: u128) -> TransactionBody {
    fake::body(seed, nonce, Payload::Transfer { to: account_of(&key(2)), amount: Amount(amount) })
}

fn transfer(seed: u64, nonce: u64, amount: u128) -> Transaction {
    body(seed, nonce, amount).sign(&[&key(seed)])
}

fn hex_of(transaction: &Transaction) -> String {
    format!("0x{}", hex::encode(transaction.encode()))
}

fn code<T: std::fmt::Debug>(result: Result<T, ClientError>) -> i32 {
    match result {
        Err(ClientError::Call(object)) => object.code(),
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

/// Submits, finalizes and reads everything back through `client`.
async fn submit_and_read_back<C: FormicaApiClient + ClientT + Sync>(client: &C, node: &FakeNode) {
    let transaction = transfer(1, 0, 250);
    let hash = client.send_transaction(hex_of(&transaction)).await.expect("accepted");
    assert_eq!(hash, hash_to_hex(&transaction.hash()));

    let pending = client.get_transaction(hash.clone()).await.expect("call").expect("known while pending");
    assert!(!pending.is_final());
    assert_eq!(pending.sender, account_of(&key(1)));
    assert_eq!(pending.payload, PayloadView::Transfer { to: account_of(&key(2)), amount: Amount(250) });
    assert_eq!(pending.signatures, vec![formica_types::AccountKey::ed25519(&key(1).public_key())]);
    assert_eq!(client.get_transaction_receipt(hash.clone()).await.expect("call"), None);

    let finalized = node.finalize();
    let final_view = client.get_transaction(hash.clone()).await.expect("call").expect("known");
    assert_eq!((final_view.block_height, final_view.index), (Some(Height(1)), Some(0)));
    assert_eq!(final_view.block_hash, Some(finalized.block.hash()));

    let receipt = client.get_transaction_receipt(hash.clone()).await.expect("call").expect("final");
    assert_eq!(receipt.status, ReceiptStatus::Success);
    assert_eq!((receipt.block_height, receipt.index, receipt.fee_paid), (Height(1), 0, Amount(1)));

    let block = client.get_block_by_height(1).await.expect("call").expect("exists");
    assert_eq!(block.transactions, vec![transaction.hash()]);
    assert_eq!(block.transaction_count, 1);
    assert_eq!(block.hash, finalized.block.hash());
    let by_hash = client.get_block_by_hash(hash_to_hex(&block.hash)).await.expect("call").expect("exists");
    assert_eq!(by_hash, block);
    assert_eq!(client.get_block_by_height(99).await.expect("call"), None);

    let account = client.get_account(account_of(&key(1)).to_hex()).await.expect("call").expect("exists");
    assert_eq!((account.nonce, account.balance, account.height), (Nonce(1), Amount(BALANCE - 251), Height(1)));
    let raw: serde_json::Value =
        client.request("formica_getAccount", rpc_params![account_of(&key(1)).to_hex()]).await.expect("raw call");
    assert_eq!(raw["balance"], serde_json::json!((BALANCE - 251).to_string()), "amounts are decimal strings");
    assert_eq!(raw["nonce"], serde_json::json!(1), "nonces are numbers");
    assert_eq!(client.get_account(AccountId([9; 32]).to_hex()).await.expect("call"), None);

    let proof = client.get_account_proof(account_of(&key(1)).to_hex()).await.expect("call");
    assert_eq!((proof.proof.as_str(), proof.height), ("0xdeadbeef", Height(1)));
    assert_eq!(proof.account.map(|account| account.balance), Some(Amount(BALANCE - 251)));

    let status = client.status().await.expect("call");
    assert_eq!((status.chain_id, status.height, status.peers, status.mempool_size), (CHAIN_ID, Height(1), 3, 0));
}

#[tokio::test]
async fn submit_and_read_back_over_http() {
    let node = FakeNode::new(&[1, 2], BALANCE, 64);
    let server = start(node.clone()).await;
    submit_and_read_back(&http(&server), &node).await;
}

#[tokio::test]
async fn submit_and_read_back_over_websocket() {
    let node = FakeNode::new(&[1, 2], BALANCE, 64);
    let server = start(node.clone()).await;
    submit_and_read_back(&ws(&server).await, &node).await;
}

#[tokio::test]
async fn finality_proofs_carry_the_header_the_certificate_and_the_committee() {
    use commonware_codec::DecodeExt;
    let node = FakeNode::with_epochs(&[1], BALANCE, 8, 4);
    for _ in 0..5 {
        node.finalize();
    }
    let server = start(node.clone()).await;
    let client = http(&server);
    let block = client.get_block_by_height(3).await.expect("call").expect("block");
    let proof = client.get_finality(3).await.expect("call").expect("final");
    assert_eq!((proof.height, proof.block_hash, proof.epoch), (Height(3), block.hash, 0));
    assert_eq!((proof.certified_height, proof.headers.len()), (Height(3), 1));
    assert_eq!(proof.headers[0], block.header_hex, "the canonical header encoding");
    let header = formica_types::Header::decode(hex::decode(&proof.headers[0][2..]).expect("hex")).expect("header");
    assert_eq!(header.next_nodes.validators(), fake::committee(1), "the epoch's last block names the next committee");
    assert_eq!(proof.validators, fake::committee(0));
    assert!(proof.certificate.starts_with("0x") && proof.certificate.len() > 2 + 3 * 128, "three signatures");
    let raw: serde_json::Value = client.request("formica_getFinality", rpc_params![5]).await.expect("raw call");
    assert_eq!(raw["epoch"], serde_json::json!(1));
    assert_eq!(raw["validators"][0], serde_json::json!(formica_types::public_key_to_hex(&fake::committee(1)[0])));
    assert_eq!(client.get_finality(6).await.expect("call"), None, "not finalized yet");
    node.set_shutting_down();
    assert_eq!(code(client.get_finality(3).await), codes::UNAVAILABLE);
}

#[tokio::test]
async fn each_refusal_has_its_code() {
    let node = FakeNode::new(&[1, 2, 3], BALANCE, 2);
    let server = start(node.clone()).await;
    let client = http(&server);
    let send = |transaction: Transaction| {
        let client = client.clone();
        async move { client.send_transaction(hex_of(&transaction)).await }
    };

    let wrong_chain = TransactionBody { chain_id: ChainId(5), ..body(1, 0, 1) }.sign(&[&key(1)]);
    assert_eq!(code(send(wrong_chain).await), codes::WRONG_CHAIN_ID);
    let mut tampered = transfer(1, 0, 1);
    tampered.body.payload = Payload::Transfer { to: account_of(&key(2)), amount: Amount(2) };
    assert_eq!(code(send(tampered).await), codes::BAD_SIGNATURE);
    assert_eq!(code(send(body(1, 0, 1).sign(&[&key(3)])).await), codes::UNAUTHORISED);
    assert_eq!(code(send(transfer(9, 0, 1)).await), codes::UNKNOWN_SENDER);
    assert_eq!(code(send(transfer(1, 16, 1)).await), codes::NONCE_TOO_FAR_AHEAD);
    let expired = TransactionBody { expiry_height: Height(0), ..body(1, 0, 1) }.sign(&[&key(1)]);
    assert_eq!(code(send(expired).await), codes::EXPIRED);
    let cheap = TransactionBody { fee_limit: Amount(0), ..body(1, 0, 1) }.sign(&[&key(1)]);
    assert_eq!(code(send(cheap).await), codes::FEE_TOO_LOW);

    match send(transfer(1, 0, BALANCE)).await {
        Err(ClientError::Call(object)) => {
            assert_eq!(object.code(), codes::INSUFFICIENT_BALANCE);
            let data: serde_json::Value = serde_json::from_str(object.data().expect("has data").get()).expect("json");
            assert_eq!(data["needed"], serde_json::json!((BALANCE + 10).to_string()));
            assert!(object.message().contains("insufficient balance"), "{}", object.message());
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    let first = transfer(1, 0, 5);
    send(first.clone()).await.expect("accepted");
    assert_eq!(code(send(first.clone()).await), codes::DUPLICATE);
    node.finalize();
    assert_eq!(code(send(first).await), codes::NONCE_TOO_LOW);

    send(transfer(1, 1, 5)).await.expect("accepted");
    send(transfer(1, 2, 5)).await.expect("accepted");
    assert_eq!(code(send(transfer(1, 3, 5)).await), codes::MEMPOOL_FULL);
    assert_eq!(node.pending_count(), 2);

    node.set_shutting_down();
    assert_eq!(code(send(transfer(2, 0, 5)).await), codes::UNAVAILABLE);
    assert_eq!(code(client.status().await), codes::UNAVAILABLE);
}

#[tokio::test]
async fn bad_input_is_refused_before_the_backend() {
    let node = FakeNode::new(&[1], BALANCE, 8);
    let server = start(node.clone()).await;
    let client = http(&server);
    assert_eq!(code(client.send_transaction("0xzz".into()).await), codes::MALFORMED);
    assert_eq!(code(client.send_transaction("0x0102".into()).await), codes::MALFORMED);
    let trailing = format!("{}00", hex_of(&transfer(1, 0, 1)));
    assert_eq!(code(client.send_transaction(trailing).await), codes::MALFORMED);
    // One byte over the limit (which admits the largest contract deployment).
    let size = formica_types::TransactionLimits::ENCODED_BYTES_MAX + 1;
    let oversized = format!("0x{}", "00".repeat(size));
    match client.send_transaction(oversized).await {
        Err(ClientError::Call(object)) => {
            assert_eq!(object.code(), codes::OVERSIZED);
            assert!(object.message().contains(&format!("{size} bytes")), "{}", object.message());
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(code(client.get_transaction("0x12".into()).await), codes::INVALID_PARAMS);
    assert_eq!(code(client.get_account("not hex".into()).await), codes::INVALID_PARAMS);
    assert_eq!(code(client.get_block_by_hash(String::new()).await), codes::INVALID_PARAMS);
    assert_eq!(node.pending_count(), 0);
}

#[tokio::test]
async fn a_bulk_submission_answers_each_transaction_as_a_single_submission_would() {
    let node = FakeNode::new(&[1, 2], BALANCE, 8);
    let server = start(node.clone()).await;
    let client = http(&server);
    let mut tampered = transfer(2, 0, 5);
    tampered.signatures[0].signature.0[4] ^= 1;
    let listed = vec![
        hex_of(&transfer(1, 0, 5)),
        "0xzz".to_string(),
        hex_of(&tampered),
        hex_of(&transfer(1, 1, 5)),
        hex_of(&transfer(1, 0, 5)),
        hex_of(&transfer(2, 0, 5)),
    ];
    let outcomes = client.send_transactions(listed).await.expect("call");
    assert_eq!(outcomes.len(), 6);
    assert_eq!(outcomes[0].hash, Some(hash_to_hex(&transfer(1, 0, 5).hash())));
    let refused = |index: usize| outcomes[index].error.as_ref().map(|error| error.code);
    assert_eq!(refused(1), Some(codes::MALFORMED));
    assert_eq!(refused(2), Some(codes::BAD_SIGNATURE));
    assert!(outcomes[3].hash.is_some(), "a later nonce of the same sender sees the earlier one");
    let duplicate = outcomes[4].error.as_ref().expect("refused");
    assert_eq!(duplicate.code, codes::DUPLICATE);
    assert_eq!(duplicate.data, Some(serde_json::json!({ "hash": hash_to_hex(&transfer(1, 0, 5).hash()) })));
    assert!(outcomes[5].hash.is_some() && outcomes[5].error.is_none());
    assert_eq!(node.pending_count(), 3);
    // The same refusal as a single submission gives, field for field.
    match client.send_transaction(hex_of(&transfer(1, 0, 5))).await {
        Err(ClientError::Call(object)) => {
            assert_eq!((object.code(), object.message()), (duplicate.code, duplicate.message.as_str()));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    let too_many = vec![hex_of(&transfer(1, 2, 5)); formica_rpc::SEND_TRANSACTIONS_MAX + 1];
    assert_eq!(code(client.send_transactions(too_many).await), codes::INVALID_PARAMS);
    assert_eq!(client.send_transactions(Vec::new()).await.expect("call"), Vec::new());
    assert_eq!(node.pending_count(), 3, "a refused call admits nothing");
}

#[tokio::test]
async fn oversized_request_body_is_refused() {
    let node = FakeNode::new(&[1], BALANCE, 8);
    let server = start(node).await;
    let client =
        HttpClientBuilder::default().max_request_size(4 * 1024 * 1024).build(server.http_url()).expect("client");
    // Over the default body limit (a little more than the largest transaction as hex).
    let body = "0".repeat(1024 * 1024);
    let error = client.send_transaction(body).await.expect_err("refused");
    assert!(!matches!(error, ClientError::Call(_)), "refused by the transport, not a handler: {error:?}");
    assert!(error.to_string().contains("413"), "{error}");
}

#[tokio::test]
async fn finalized_blocks_subscription_receives_published_blocks() {
    let node = FakeNode::new(&[1, 2], BALANCE, 8);
    let server = start(node.clone()).await;
    let client = ws(&server).await;
    let mut blocks = client.subscribe_finalized_blocks().await.expect("subscribed");
    client.send_transaction(hex_of(&transfer(1, 0, 7))).await.expect("accepted");
    let first = node.finalize();
    let second = node.finalize();
    let received = tokio::time::timeout(Duration::from_secs(5), blocks.next()).await.expect("in time");
    let view = received.expect("open").expect("decodes");
    assert_eq!((view.height, view.hash, view.transaction_count), (Height(1), first.block.hash(), 1));
    let received = tokio::time::timeout(Duration::from_secs(5), blocks.next()).await.expect("in time");
    assert_eq!(received.expect("open").expect("decodes").hash, second.block.hash());
}

#[tokio::test]
async fn transaction_subscription_fires_once_final() {
    let node = FakeNode::new(&[1, 2], BALANCE, 8);
    let server = start(node.clone()).await;
    let client = ws(&server).await;
    let transaction = transfer(1, 0, 7);
    let hash = hash_to_hex(&transaction.hash());
    // Subscribed before the node has even seen it; an empty block first must be skipped.
    let mut waiting = client.subscribe_transaction(hash.clone()).await.expect("subscribed");
    node.finalize();
    client.send_transaction(hex_of(&transaction)).await.expect("accepted");
    let block = node.finalize();
    let receipt = tokio::time::timeout(Duration::from_secs(5), waiting.next())
        .await
        .expect("in time")
        .expect("open")
        .expect("decodes");
    assert_eq!((receipt.transaction_hash, receipt.block_hash), (transaction.hash(), block.block.hash()));

    // Already final: the receipt comes at once.
    let mut again = client.subscribe_transaction(hash).await.expect("subscribed");
    let receipt = tokio::time::timeout(Duration::from_secs(5), again.next()).await.expect("in time");
    assert_eq!(receipt.expect("open").expect("decodes").block_height, Height(2));

    let refused = client.subscribe_transaction("0x1234".into()).await;
    assert_eq!(code(refused.map(|_| ())), codes::INVALID_PARAMS);
}

async fn get(server: &RunningServer, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(server.local_address).await.expect("connects");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.local_address);
    stream.write_all(request.as_bytes()).await.expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("reads");
    response
}

#[tokio::test]
async fn health_answers_plain_get() {
    let node = FakeNode::new(&[1], BALANCE, 8);
    let server = start(node.clone()).await;
    let response = get(&server, "/health").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#"{"status":"ok","height":0}"#), "{response}");
    node.set_shutting_down();
    let response = get(&server, "/health").await;
    assert!(response.starts_with("HTTP/1.1 500"), "{response}");
}

#[test]
fn submit_error_codes_are_distinct_and_stable() {
    let hash: Hash = formica_types::hash_tagged(b"test", &[]);
    let errors = [
        SubmitError::Malformed { reason: "x".into() },
        SubmitError::Oversized { size: 2, limit: 1 },
        SubmitError::WrongChainId { expected: ChainId(1), got: ChainId(2) },
        SubmitError::BadSignature,
        SubmitError::Unauthorised { sender: AccountId([0; 32]), reason: "x".into() },
        SubmitError::NonceTooLow { expected: Nonce(1), got: Nonce(0) },
        SubmitError::NonceTooFarAhead { expected: Nonce(1), got: Nonce(90), window: 16 },
        SubmitError::Expired { expiry_height: Height(1), current_height: Height(2) },
        SubmitError::InsufficientBalance { needed: Amount(2), available: Amount(1) },
        SubmitError::UnknownSender { sender: AccountId([0; 32]) },
        SubmitError::FeeTooLow { fee_limit: Amount(0), minimum: Amount(1) },
        SubmitError::MempoolFull { capacity: 1 },
        SubmitError::Duplicate { hash },
        SubmitError::SenderFrozen { sender: AccountId([0; 32]) },
        SubmitError::GasLimitTooHigh { limit: 2, max: 1 },
        SubmitError::Unavailable(formica_rpc::BackendError::ShuttingDown),
    ];
    let found: Vec<i32> = errors.iter().map(SubmitError::code).collect();
    let expected: Vec<i32> = (1..=15).map(|n| -32000 - n).chain([-32030]).collect();
    assert_eq!(found, expected);
}

#[test]
fn views_follow_the_json_conventions() {
    use formica_rpc::types::TransactionView;
    let transaction = transfer(1, 3, 250);
    let view = TransactionView::pending(&transaction);
    let json = serde_json::to_value(&view).expect("serialises");
    assert_eq!(json["hash"], serde_json::json!(hash_to_hex(&transaction.hash())));
    assert_eq!(json["nonce"], serde_json::json!(3));
    assert_eq!(json["fee_limit"], serde_json::json!("10"));
    assert_eq!(
        json["payload"],
        serde_json::json!({ "type": "transfer", "to": account_of(&key(2)).to_hex(), "amount": "250" })
    );
    assert!(json.get("block_height").is_none(), "pending transactions have no block fields: {json}");
    assert_eq!(serde_json::from_value::<TransactionView>(json).expect("deserialises"), view);

    let create = TransactionBody {
        payload: Payload::CreateAccount { public_key: key(4).public_key().into(), initial_balance: Amount(u128::MAX) },
        ..body(1, 0, 0)
    }
    .sign(&[&key(1)]);
    let json = serde_json::to_value(TransactionView::pending(&create)).expect("serialises");
    assert_eq!(json["payload"]["type"], serde_json::json!("create_account"));
    assert_eq!(json["payload"]["initial_balance"], serde_json::json!(u128::MAX.to_string()));
    assert_eq!(
        json["payload"]["public_key"],
        serde_json::json!(formica_types::AccountKey::ed25519(&key(4).public_key()).to_string())
    );
}

/// A client that sends `Authorization: Bearer <token>` (over HTTP, or on the WebSocket handshake).
fn with_token(token: &AccessToken) -> jsonrpsee::http_client::HeaderMap {
    let mut headers = jsonrpsee::http_client::HeaderMap::new();
    let value = format!("Bearer {}", token.to_text());
    headers.insert("authorization", value.parse().expect("header value"));
    headers
}

fn signer(seed: u64) -> AccountSigner {
    AccountSigner::Ed25519(key(seed))
}

#[tokio::test]
async fn a_members_only_chain_refuses_calls_without_a_members_token() {
    let node = FakeNode::new(&[1, 2, 3], BALANCE, 64);
    let member = account_of(&key(1));
    node.set_access(true, vec![member]);
    let server = start(node.clone()).await;
    let far = now_ms() + 3_600_000;

    // No token: refused with the access code; status and health stay open.
    assert_eq!(code(http(&server).get_block_by_height(0).await), codes::ACCESS_DENIED);
    assert_eq!(code(http(&server).send_transaction(hex_of(&transfer(1, 0, 5))).await), codes::ACCESS_DENIED);
    http(&server).status().await.expect("status is open");
    http(&server).health().await.expect("health is open");
    let subscription = ws(&server).await.subscribe_finalized_blocks().await;
    assert!(subscription.is_err(), "subscriptions need a token too");

    // A member's admin gets through, over HTTP and WebSocket.
    let token = AccessToken::sign(&signer(1), CHAIN_ID, member, far);
    let client = HttpClientBuilder::default().set_headers(with_token(&token)).build(server.http_url()).expect("client");
    assert!(client.get_block_by_height(0).await.expect("allowed").is_some());
    client.send_transaction(hex_of(&transfer(1, 0, 5))).await.expect("a member submits");
    let ws_client =
        WsClientBuilder::default().set_headers(with_token(&token)).build(server.ws_url()).await.expect("ws client");
    ws_client.subscribe_finalized_blocks().await.expect("a member subscribes");

    // Refused: a funded account that is no member's admin; a key that is not the account's; an
    // expired token; a token of another chain; a forged one.
    let outsider = AccessToken::sign(&signer(2), CHAIN_ID, account_of(&key(2)), far);
    let borrowed = AccessToken::sign(&signer(3), CHAIN_ID, member, far);
    let expired = AccessToken::sign(&signer(1), CHAIN_ID, member, now_ms() - 1);
    let foreign = AccessToken::sign(&signer(1), ChainId(CHAIN_ID.get() + 1), member, far);
    let mut forged = token.clone();
    forged.expires_ms += 1;
    for (refused, why) in [
        (outsider, "not an admin"),
        (borrowed, "not a signing key"),
        (expired, "expired"),
        (foreign, "is for chain"),
        (forged, "signature is invalid"),
    ] {
        let client =
            HttpClientBuilder::default().set_headers(with_token(&refused)).build(server.http_url()).expect("client");
        match client.get_block_by_height(0).await {
            Err(ClientError::Call(object)) => {
                assert_eq!(object.code(), codes::ACCESS_DENIED);
                assert!(object.message().contains(why), "{why}: {}", object.message());
            }
            other => panic!("{why}: expected a refusal, got {other:?}"),
        }
    }
}

struct FakeAdmin;

impl formica_rpc::admin::AdminBackend for FakeAdmin {
    async fn node_info(&self) -> Result<formica_rpc::admin::NodeInfoView, formica_rpc::BackendError> {
        Ok(formica_rpc::admin::NodeInfoView {
            name: "org-0".into(),
            version: "0.1.0".into(),
            public_key: key(1000).public_key(),
            epoch: 3,
            role: "validator".into(),
            height: Height(9),
            uptime_secs: 1,
            p2p_listen: "127.0.0.1:1".into(),
            rpc_listen: "127.0.0.1:2".into(),
            metrics_listen: "127.0.0.1:3".into(),
            data_dir: "data".into(),
        })
    }

    async fn peers(&self) -> Result<formica_rpc::admin::PeersView, formica_rpc::BackendError> {
        Ok(formica_rpc::admin::PeersView { epoch: 3, connected: 2, registered: Vec::new() })
    }

    async fn mempool(&self) -> Result<formica_rpc::admin::MempoolView, formica_rpc::BackendError> {
        Ok(formica_rpc::admin::MempoolView { pending: 4, capacity: 10, per_sender_max: 2 })
    }
}

#[tokio::test]
async fn the_admin_api_needs_its_secret_and_stays_on_loopback_without_one() {
    use formica_rpc::admin::{AdminConfig, serve_admin};
    let open = AdminConfig { listen_address: "0.0.0.0:0".parse().expect("address"), secret: None };
    assert!(serve_admin(Arc::new(FakeAdmin), open).await.is_err(), "no secret off loopback");

    let secret = "correct-horse-battery-staple";
    let config = AdminConfig { listen_address: "127.0.0.1:0".parse().expect("address"), secret: Some(secret.into()) };
    let server = serve_admin(Arc::new(FakeAdmin), config).await.expect("starts");
    let call = |header: Option<String>| {
        let url = server.http_url();
        async move {
            let mut headers = jsonrpsee::http_client::HeaderMap::new();
            if let Some(header) = header {
                headers.insert("authorization", header.parse().expect("header"));
            }
            let client = HttpClientBuilder::default().set_headers(headers).build(url).expect("client");
            client.request::<serde_json::Value, _>("admin_nodeInfo", rpc_params![]).await
        }
    };
    assert_eq!(code(call(None).await), codes::ADMIN_UNAUTHORISED);
    assert_eq!(code(call(Some("Bearer wrong-secret-of-same-size".into())).await), codes::ADMIN_UNAUTHORISED);
    let info = call(Some(format!("Bearer {secret}"))).await.expect("authorised");
    assert_eq!((info["role"].as_str(), info["epoch"].as_u64()), (Some("validator"), Some(3)));

    // Without a secret, a loopback admin API answers anyone who can reach it.
    let loopback = AdminConfig { listen_address: "127.0.0.1:0".parse().expect("address"), secret: None };
    let server = serve_admin(Arc::new(FakeAdmin), loopback).await.expect("starts");
    let client = http(&server);
    let mempool: serde_json::Value = client.request("admin_mempool", rpc_params![]).await.expect("answers");
    assert_eq!(mempool["pending"].as_u64(), Some(4));
}

#[tokio::test]
async fn a_trace_history_walks_from_an_item_to_its_origin_with_every_event() {
    use formica_types::traceability::{batch_key, child_key, event_key};
    use formica_types::{Batch, BatchId, BatchKind, ChildLink, EventKind, Module, Rules, TraceEvent, TraceText};
    let node = FakeNode::new(&[1], BALANCE, 16);
    let owner = account_of(&key(1));
    let (origin_id, item_id) = (BatchId::new("MP-1").expect("valid"), BatchId::new("MP-1-C2").expect("valid"));
    let text = |value: &str| TraceText::new(value).expect("valid");
    let rules = Rules::new(&[(EventKind::Shipped, vec![AccountId([5; 32])])]).expect("valid");
    let origin = Batch {
        owner,
        id: origin_id,
        kind: BatchKind::Batch,
        parent: None,
        depth: 0,
        product: text("Whole milk powder 900 g"),
        origin: text("Waikato, New Zealand"),
        attributes: formica_types::hash_tagged(b"test/attributes", &[]),
        documents: formica_types::hash_tagged(b"test/documents", &[]),
        rules,
        events: 2,
        children: 1,
        created_at: Height(1),
        created_ms: 1_700_000_000_000,
    };
    let item = Batch {
        id: item_id,
        kind: BatchKind::Item,
        parent: Some(origin_id),
        depth: 1,
        events: 1,
        children: 0,
        ..origin
    };
    let event = |index: u64, kind| TraceEvent {
        kind,
        actor: AccountId([5; 32]),
        timestamp_ms: 1_700_000_000_000 + index,
        height: Height(2 + index),
        location: text("Port of Tauranga"),
        evidence: formica_types::hash_tagged(b"test/evidence", &[&index.to_be_bytes()]),
    };
    let put = |key: Vec<u8>, bytes: Vec<u8>| node.put_module_record(Module::Traceability, key, bytes);
    put(batch_key(&owner, &origin_id), origin.encode().to_vec());
    put(batch_key(&owner, &item_id), item.encode().to_vec());
    put(event_key(&owner, &origin_id, 0), event(0, EventKind::Produced).encode().to_vec());
    put(event_key(&owner, &origin_id, 1), event(1, EventKind::Shipped).encode().to_vec());
    put(event_key(&owner, &item_id, 0), event(2, EventKind::Received).encode().to_vec());
    put(child_key(&owner, &origin_id, 0), ChildLink { child: item_id }.encode().to_vec());
    let server = start(node).await;
    let client = http(&server);

    let history = client.get_trace_history(owner.to_hex(), "MP-1-C2".into()).await.expect("answers");
    let ids: Vec<BatchId> = history.iter().map(|batch| batch.id).collect();
    assert_eq!(ids, [item_id, origin_id], "the item first, its origin last");
    let kinds: Vec<EventKind> = history.iter().flat_map(|batch| batch.events.iter().map(|event| event.kind)).collect();
    assert_eq!(kinds, [EventKind::Received, EventKind::Produced, EventKind::Shipped]);
    assert_eq!(history[1].rules.shipped, [AccountId([5; 32])]);
    assert!(history.iter().all(|batch| batch.children.is_none()), "a history lists no children");

    let batch = client.get_trace_batch(owner.to_hex(), "MP-1".into()).await.expect("answers").expect("a batch");
    assert_eq!((batch.event_count, &batch.children), (2, &Some(vec![item_id])));
    assert_eq!(batch.events[1].evidence, formica_types::hash_tagged(b"test/evidence", &[&1u64.to_be_bytes()]));
    let json = serde_json::to_value(&batch).expect("serialises");
    assert_eq!((json["id"].as_str(), json["kind"].as_str()), (Some("MP-1"), Some("batch")));
    assert_eq!(json["events"][0]["kind"], "produced");

    assert!(client.get_trace_batch(owner.to_hex(), "MP-2".into()).await.expect("answers").is_none());
    assert!(client.get_trace_history(owner.to_hex(), "MP-2".into()).await.expect("answers").is_empty());
    let bad = client.get_trace_batch(owner.to_hex(), "MP 1".into()).await;
    assert_eq!(code(bad), codes::INVALID_PARAMS);
}
