//! Validator-set changes across real processes: a running 4-validator network admits a fifth
//! validator by vote and needs its signature once a genesis validator is gone; removes that
//! validator; rotates a key and needs the new key's signature. Blocks keep finalizing.

use crate::devnet::{Ports, connect};
use formica_client::Client;
use formica_crypto::{AccountSigner, KeyFile};
use formica_types::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EPOCH_BLOCKS: u64 = 20;

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_formica"))
}

struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(folder: &Path) -> Node {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(folder.join("node.log")).expect("log file");
    let child = Command::new(binary())
        .args(["node", "--config"])
        .arg(folder.join("node.toml"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("node starts");
    Node(child)
}

/// `formica init-node` for a node joining the chain; returns its public key.
fn init_node(dir: &Path, name: &str, p2p: u16, rpc: u16, metrics: u16) -> PublicKey {
    let output = Command::new(binary())
        .args(["init-node", "--out"])
        .arg(dir.join(name))
        .arg("--genesis")
        .arg(dir.join("genesis.json"))
        .args(["--name", name])
        .args(["--p2p-listen", &format!("127.0.0.1:{p2p}"), "--rpc-listen", &format!("127.0.0.1:{rpc}")])
        .args(["--metrics-listen", &format!("127.0.0.1:{metrics}")])
        .output()
        .expect("init-node runs");
    assert!(output.status.success(), "init-node: {}", String::from_utf8_lossy(&output.stderr));
    node_key(&dir.join(name))
}

fn node_key(folder: &Path) -> PublicKey {
    let (file, _) = KeyFile::read(&folder.join("validator-key.json")).expect("node key");
    public_key_from_hex(&file.public_key).expect("hex key")
}

/// Waits until `client` is at least at `height`.
async fn wait_height(client: &Client, height: u64, timeout: Duration, why: &str) {
    let deadline = Instant::now() + timeout;
    loop {
        let now = client.status().await.map(|status| status.height.get()).unwrap_or(0);
        if now >= height {
            return;
        }
        assert!(Instant::now() < deadline, "{why}: {} is at {now}, not {height}", client.url());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Organisations 1..=3 (org-0..org-2) pass `action`: a proposal and two approvals, each final
/// before the next. Returns the height the proposal passed at.
async fn pass(clients: &[&Client], admins: &[AccountSigner], action: GovernanceAction) -> u64 {
    let proposal = clients[0].governance().await.expect("rpc").next_proposal;
    let mut passed_at = 0;
    for (index, admin) in admins.iter().enumerate() {
        let payload = if index == 0 {
            Payload::Propose { action: Box::new(action.clone()), expiry_blocks: 1_000 }
        } else {
            Payload::Approve { proposal }
        };
        let client = clients[index % clients.len()];
        let transaction = client.build_signed(admin.account_id(), &[admin], payload, Amount(10)).await.expect("built");
        let hash = client.submit(&transaction).await.expect("admitted");
        let receipt = client.wait_for_receipt(hash, Duration::from_secs(60)).await.expect("final");
        assert_eq!(receipt.failure_message, None, "vote {index} on {action:?}");
        passed_at = receipt.block_height.get();
    }
    passed_at
}

fn next_epoch_start(height: u64) -> u64 {
    (height / EPOCH_BLOCKS + 1) * EPOCH_BLOCKS
}

/// Waits until `client`'s committee is `expected` (as a set).
async fn wait_committee(client: &Client, expected: &[PublicKey], timeout: Duration) {
    let mut expected: Vec<PublicKey> = expected.to_vec();
    expected.sort();
    let deadline = Instant::now() + timeout;
    loop {
        let mut validators = client.status().await.expect("status").validators;
        validators.sort();
        if validators == expected {
            return;
        }
        assert!(Instant::now() < deadline, "{} has committee {validators:?}", client.url());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A new account paid by the dev account, submitted through `client` and waited for.
async fn create_account(client: &Client, dev: &AccountSigner, why: &str) {
    use commonware_cryptography::Signer as _;
    let key = commonware_cryptography::ed25519::PrivateKey::from_seed(next_seed());
    let payload = Payload::CreateAccount { public_key: key.public_key().into(), initial_balance: Amount(1) };
    let transaction = client.build_signed(dev.account_id(), &[dev], payload, Amount(10)).await.expect("built");
    let hash = client.submit(&transaction).await.expect("admitted");
    let receipt =
        client.wait_for_receipt(hash, Duration::from_secs(60)).await.unwrap_or_else(|error| panic!("{why}: {error}"));
    assert_eq!(receipt.failure_message, None, "{why}");
}

fn next_seed() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(70_000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifth_validator_joins_one_leaves_and_a_key_rotates_while_blocks_finalize() {
    let directory = tempfile::tempdir().expect("temp dir");
    let dir = directory.path().join("devnet");
    // Ports: rpc +0..5, p2p +6..11, metrics +12..15 and +20..21, admin +16..19.
    let ports = Ports::take();
    let base = ports.base;
    let status = Command::new(binary())
        .args(["up", "--init-only", "--dir"])
        .arg(&dir)
        .args(["--rpc-port", &base.to_string(), "--p2p-port", &(base + 6).to_string()])
        .args(["--metrics-port", &(base + 12).to_string(), "--epoch-blocks", &EPOCH_BLOCKS.to_string()])
        .args(["--admin-port", &(base + 16).to_string()])
        .status()
        .expect("formica up runs");
    assert!(status.success());
    let mut nodes: Vec<Option<Node>> = (0..4).map(|index| Some(spawn(&dir.join(format!("node-{index}"))))).collect();
    let genesis_keys: Vec<PublicKey> = (0..4).map(|index| node_key(&dir.join(format!("node-{index}")))).collect();
    let newcomer = init_node(&dir, "node-4", base + 10, base + 4, base + 20);
    let successor = init_node(&dir, "node-5", base + 11, base + 5, base + 21);
    nodes.push(Some(spawn(&dir.join("node-4"))));
    let mut clients = Vec::new();
    for index in 0..5 {
        clients.push(connect(&format!("http://127.0.0.1:{}", base + index as u16), Duration::from_secs(60)).await);
    }
    wait_height(&clients[0], 2, Duration::from_secs(60), "the network starts").await;
    let (_, dev) = KeyFile::read_signer(&dir.join("dev-key.json")).expect("dev key");
    let admins: Vec<AccountSigner> = (0..3)
        .map(|index| KeyFile::read_signer(&dir.join(format!("node-{index}/admin-key.json"))).expect("admin key").1)
        .collect();

    // 1. Admit the fifth validator (run by org-0). From the boundary on it is in the committee;
    //    with node 3 killed, four of five validators must sign, so the newcomer signs.
    let add = GovernanceAction::AddNode {
        org: OrgId(1),
        key: newcomer.clone(),
        address: NodeAddress(format!("127.0.0.1:{}", base + 10).parse().expect("address")),
        role: NodeRole::Validator,
    };
    let live: Vec<&Client> = clients[..3].iter().collect();
    let added_at = pass(&live, &admins, add).await;
    let joined = next_epoch_start(added_at);
    let mut five = genesis_keys.clone();
    five.push(newcomer.clone());
    for client in &clients {
        wait_height(client, joined + 1, Duration::from_secs(120), "the fifth validator's epoch").await;
        wait_committee(client, &five, Duration::from_secs(30)).await;
    }
    nodes[3] = None;
    create_account(&clients[4], &dev, "four of five validators, the newcomer among them").await;

    // 2. Remove node 3: the committee is four from the next boundary on.
    let removed_at = pass(&live, &admins, GovernanceAction::RemoveNode { key: genesis_keys[3].clone() }).await;
    let four = vec![genesis_keys[0].clone(), genesis_keys[1].clone(), genesis_keys[2].clone(), newcomer.clone()];
    for client in [&clients[0], &clients[1], &clients[2], &clients[4]] {
        wait_height(client, next_epoch_start(removed_at) + 1, Duration::from_secs(120), "the removal's epoch").await;
        wait_committee(client, &four, Duration::from_secs(30)).await;
    }

    // 3. Rotate node 2's key to node 5's. Once node 1 and node 2 are gone, the committee
    //    {0, 4, 5} is exactly a quorum of four: the new key signs and the old one is not needed.
    nodes.push(Some(spawn(&dir.join("node-5"))));
    let node5 = connect(&format!("http://127.0.0.1:{}", base + 5), Duration::from_secs(60)).await;
    let rotated_at =
        pass(&live, &admins, GovernanceAction::RotateNode { old: genesis_keys[2].clone(), new: successor.clone() })
            .await;
    let rotated = vec![genesis_keys[0].clone(), genesis_keys[1].clone(), successor.clone(), newcomer.clone()];
    for client in [&clients[0], &clients[4], &node5] {
        wait_height(client, next_epoch_start(rotated_at) + 1, Duration::from_secs(120), "the rotation's epoch").await;
        wait_committee(client, &rotated, Duration::from_secs(30)).await;
    }
    nodes[1] = None;
    nodes[2] = None;
    create_account(&clients[0], &dev, "validators 0, 4 and the rotated key").await;
    let height = clients[0].status().await.expect("status").height.get();
    wait_height(&node5, height, Duration::from_secs(60), "the rotated key's node follows").await;
    let a = clients[0].block_by_height(Height(height)).await.expect("rpc").expect("block");
    let b = node5.block_by_height(Height(height)).await.expect("rpc").expect("block");
    assert_eq!((a.hash, a.state_root), (b.hash, b.state_root));

    // A light client trusting only the genesis file follows the committee through the join,
    // the removal and the rotation, and finds the latest block final (`formica verify block`
    // asks node 0 by default).
    let output = Command::new(binary())
        .args(["verify", "block", &height.to_string(), "--dir"])
        .arg(&dir)
        .output()
        .expect("formica verify runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "verify block: {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("FINAL: finalized by a quorum"), "{stdout}");

    // Old epochs' consensus journals are removed: node 0 keeps its current epoch's and the one
    // before, never epoch 0's (the chain is several epochs on by now).
    let epoch = clients[0].status().await.expect("status").epoch;
    assert!(epoch >= 3, "epoch {epoch}");
    let journals = dir.join("node-0").join("data").join("consensus");
    assert!(journals.join(format!("formica-simplex-{epoch}")).exists(), "the current epoch's journal is kept");
    assert!(!journals.join("formica-simplex-0").exists(), "epoch 0's journal is removed");
    drop(nodes);
}
