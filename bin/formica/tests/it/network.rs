//! Four `formica node` processes on loopback: 1,000 transfers become final on every node with
//! identical state roots; a validator killed with SIGKILL and restarted catches up.

use crate::devnet::{Ports, signed};
use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use formica_client::Client;
use formica_crypto::KeyFile;
use formica_types::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const VALIDATORS: usize = 4;
const SENDERS: u64 = 10;
const TRANSFERS_PER_SENDER: u64 = 100;

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_formica"))
}

struct Node {
    index: usize,
    child: Child,
}

fn spawn(dir: &Path, index: usize) -> Node {
    let folder = dir.join(format!("node-{index}"));
    let log = std::fs::OpenOptions::new().create(true).append(true).open(folder.join("node.log")).expect("log file");
    let child = Command::new(binary())
        .args(["node", "--config"])
        .arg(folder.join("node.toml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("node starts");
    Node { index, child }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connects once the node has finalized a block (genesis accounts exist from height 1).
async fn connect(url: &str) -> Client {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(client) = Client::connect(url).await
            && let Ok(status) = client.status().await
            && status.height.get() >= 1
        {
            return client;
        }
        assert!(Instant::now() < deadline, "node at {url} did not answer");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_final(client: &Client, hashes: &[Hash], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    for hash in hashes {
        loop {
            if let Some(receipt) = client.receipt(*hash).await.expect("rpc answers") {
                assert!(receipt.succeeded(), "transaction {} failed: {receipt:?}", hash_to_hex(hash));
                break;
            }
            assert!(Instant::now() < deadline, "transaction {} not final on {}", hash_to_hex(hash), client.url());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Every node has the same block at `height`.
async fn assert_same_block(clients: &[Client], height: u64) {
    let mut seen = None;
    for client in clients {
        let block = client.block_by_height(Height(height)).await.expect("rpc answers").expect("block exists");
        assert!(formica_client::verify_block_header(&block), "header matches its hash");
        let key = (block.hash, block.state_root);
        match seen {
            None => seen = Some(key),
            Some(expected) => assert_eq!(key, expected, "node {} differs at height {height}", client.url()),
        }
    }
}

async fn common_height(clients: &[Client]) -> u64 {
    let mut lowest = u64::MAX;
    for client in clients {
        lowest = lowest.min(client.status().await.expect("status").height.get());
    }
    lowest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_finalize_transfers_and_a_killed_validator_catches_up() {
    let directory = tempfile::tempdir().expect("temp dir");
    let dir = directory.path().join("devnet");
    let ports = Ports::take();
    let base = ports.base;
    let status = Command::new(binary())
        .args(["up", "--init-only", "--dir"])
        .arg(&dir)
        .args(["--rpc-port", &base.to_string(), "--p2p-port", &(base + 8).to_string()])
        .args(["--metrics-port", &(base + 16).to_string()])
        .args(["--admin-port", &(base + 24).to_string()])
        .status()
        .expect("formica up runs");
    assert!(status.success());
    let mut nodes: Vec<Node> = (0..VALIDATORS).map(|index| spawn(&dir, index)).collect();
    let urls: Vec<String> = (0..VALIDATORS).map(|index| format!("http://127.0.0.1:{}", base + index as u16)).collect();
    let mut clients = Vec::new();
    for url in &urls {
        clients.push(connect(url).await);
    }
    let (_, dev) = KeyFile::read(&dir.join("dev-key.json")).expect("dev key");
    let chain = clients[0].status().await.expect("status").chain_id;

    // The administrative API answers on loopback, through the CLI.
    let output =
        Command::new(binary()).args(["admin", "info", "--dir"]).arg(&dir).output().expect("formica admin runs");
    assert!(output.status.success(), "admin info: {}", String::from_utf8_lossy(&output.stderr));
    let info: serde_json::Value = serde_json::from_slice(&output.stdout).expect("admin info prints JSON");
    assert_eq!((info["name"].as_str(), info["role"].as_str()), (Some("org-0"), Some("validator")), "{info}");

    // Fund SENDERS accounts, then have each send TRANSFERS_PER_SENDER transfers, spread over nodes.
    let senders: Vec<PrivateKey> = (0..SENDERS).map(|seed| PrivateKey::from_seed(9_000 + seed)).collect();
    let mut creations = Vec::new();
    for (nonce, sender) in senders.iter().enumerate() {
        let payload =
            Payload::CreateAccount { public_key: sender.public_key().into(), initial_balance: Amount(1_000_000) };
        let transaction = signed(chain, &dev, nonce as u64, payload);
        creations.push(clients[nonce % VALIDATORS].submit(&transaction).await.expect("admitted"));
    }
    for client in &clients {
        wait_final(client, &creations, Duration::from_secs(60)).await;
    }

    let recipient = AccountId::from_public_key(&dev.public_key());
    let mut transfers = Vec::new();
    for nonce in 0..TRANSFERS_PER_SENDER {
        for (index, sender) in senders.iter().enumerate() {
            let transaction = signed(chain, sender, nonce, Payload::Transfer { to: recipient, amount: Amount(3) });
            transfers.push(clients[index % VALIDATORS].submit(&transaction).await.expect("admitted"));
        }
    }
    assert_eq!(transfers.len(), 1_000);
    for client in &clients {
        wait_final(client, &transfers, Duration::from_secs(120)).await;
    }
    let height = common_height(&clients).await;
    for check in [1, height / 2, height] {
        assert_same_block(&clients, check.max(1)).await;
    }

    // Kill validator 3 without warning; the others keep finalizing.
    let killed = nodes.pop().expect("four nodes");
    assert_eq!(killed.index, 3);
    drop(killed);
    let live = &clients[..3];
    let mut after_kill = Vec::new();
    for (index, sender) in senders.iter().enumerate() {
        let transaction =
            signed(chain, sender, TRANSFERS_PER_SENDER, Payload::Transfer { to: recipient, amount: Amount(5) });
        after_kill.push(live[index % 3].submit(&transaction).await.expect("admitted"));
    }
    for client in live {
        wait_final(client, &after_kill, Duration::from_secs(60)).await;
    }

    // Restart it: it replays from disk, catches up from peers, and agrees on every block.
    nodes.push(spawn(&dir, 3));
    let restarted = connect(&urls[3]).await;
    wait_final(&restarted, &after_kill, Duration::from_secs(120)).await;
    let target = live[0].status().await.expect("status").height.get();
    clients[3] = restarted;
    // Every node (the restarted one, and live peers that may trail node 0 by a block) reaches `target`.
    let deadline = Instant::now() + Duration::from_secs(120);
    while common_height(&clients).await < target {
        assert!(Instant::now() < deadline, "a validator did not reach height {target}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_same_block(&clients, target).await;

    // Governance across processes: org-0 proposes admitting a fifth member, org-1 and org-2 approve
    // through other nodes; every node then shows five members.
    let admins: Vec<formica_crypto::AccountSigner> = (0..3)
        .map(|index| KeyFile::read_signer(&dir.join(format!("node-{index}/admin-key.json"))).expect("admin key").1)
        .collect();
    let newcomer = AccountId::from_public_key(&senders[0].public_key());
    let action = GovernanceAction::AddOrganisation { name: OrgName::new("charity-e").expect("short"), admin: newcomer };
    let proposal = clients[0].governance().await.expect("rpc").next_proposal;
    let mut votes = Vec::new();
    for (index, admin) in admins.iter().enumerate() {
        let payload = if index == 0 {
            Payload::Propose { action: Box::new(action.clone()), expiry_blocks: 1_000 }
        } else {
            Payload::Approve { proposal }
        };
        let transaction =
            clients[index].build_signed(admin.account_id(), &[admin], payload, Amount(10)).await.expect("built");
        let hash = clients[index].submit(&transaction).await.expect("admitted");
        // Each vote waits for the one before: the proposal must exist when it is approved.
        let receipt = clients[index].wait_for_receipt(hash, Duration::from_secs(60)).await.expect("final");
        assert_eq!(receipt.failure_message, None, "vote {index}");
        votes.push(hash);
    }
    for client in &clients {
        wait_final(client, &votes, Duration::from_secs(60)).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        while client.governance().await.expect("rpc").members != 5 {
            assert!(Instant::now() < deadline, "{} does not show five members", client.url());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let added = client.organisation(5).await.expect("rpc").expect("admitted");
        assert_eq!((added.name.as_str(), added.admins.clone()), ("charity-e", vec![newcomer]));
        assert_eq!(client.proposal(proposal).await.expect("rpc").expect("exists").status, "executed");
    }

    // Value is conserved: the dev account got back exactly the fees and transfers.
    let dev_account = clients[0].account(recipient).await.expect("rpc").expect("exists");
    let total_sent = SENDERS as u128 * (TRANSFERS_PER_SENDER as u128 * 3 + 5);
    // The dev account is the fee collector: its own fees come back to it, with the three votes'.
    let fees = (SENDERS * (TRANSFERS_PER_SENDER + 1)) as u128 + 3;
    let created = SENDERS as u128 * 1_000_000;
    assert_eq!(dev_account.balance, Amount(1_000_000_000_000_000_000 - created + total_sent + fees));

    // An account proof from the restarted node verifies against its block header, which its
    // finalization certificate proves final to a client trusting only the genesis file; a
    // tampered proof fails.
    let genesis = formica_node::read_genesis(&dir.join("genesis.json")).expect("genesis file");
    let mut checker = formica_client::FinalityChecker::from_genesis(&genesis).expect("trust anchor");
    let (mut proof, check) = clients[3].verified_account(recipient, &mut checker).await.expect("proof");
    assert_eq!(check, formica_client::ProofCheck::Verified);
    let block = clients[3].block_by_height(proof.height).await.expect("rpc").expect("block");
    if let Some(account) = proof.account.as_mut() {
        account.balance = Amount(account.balance.get() + 1);
    }
    assert_eq!(formica_client::check_account_proof(&proof, &block), formica_client::ProofCheck::Invalid);

    // The CLI's light-client check: a finalized block is FINAL, a height not reached is refused.
    let verify = |height: u64| {
        Command::new(binary())
            .args(["verify", "block", &height.to_string(), "--dir"])
            .arg(&dir)
            .output()
            .expect("formica verify runs")
    };
    let output = verify(target);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "verify block: {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("FINAL: finalized by a quorum"), "{stdout}");
    let output = verify(u64::MAX / 2);
    assert!(!output.status.success(), "a block that does not exist is not verified");
    assert!(String::from_utf8_lossy(&output.stderr).contains("NOT VERIFIED"), "{output:?}");
    drop(nodes);
}
