//! A devnet of real `formica node` processes on loopback for the process tests, and running the
//! `formica` CLI against it.

use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use formica_client::Client;
use formica_types::{
    AccountId, Amount, ChainId, Hash, Height, Nonce, Payload, Transaction, TransactionBody, hash_to_hex,
};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_formica"))
}

/// The cargo target folder the tests were built in.
pub fn target_dir() -> PathBuf {
    let repository = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repository.join("target"), PathBuf::from);
    if target.is_relative() { repository.join(target) } else { target }
}

/// A block of [`Ports::COUNT`] consecutive loopback ports for one real-process test, held
/// through a lock file for as long as the test keeps this value, so test processes running at
/// once never share a port. The blocks lie below Linux's ephemeral range (32768 and up, where
/// outgoing connections take their local ports), and every port is checked free before the
/// block is handed out.
pub struct Ports {
    pub base: u16,
    _lock: std::fs::File,
}

impl Ports {
    pub const COUNT: u16 = 32;
    const FIRST: u16 = 10_000;
    const BLOCKS: u16 = 700;

    pub fn take() -> Self {
        let folder = std::env::temp_dir().join("formica-test-ports");
        std::fs::create_dir_all(&folder).expect("port lock folder");
        let start = (std::process::id() % u32::from(Self::BLOCKS)) as u16;
        for step in 0..Self::BLOCKS {
            let base = Self::FIRST + (start + step) % Self::BLOCKS * Self::COUNT;
            let lock = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(folder.join(format!("{base}.lock")))
                .expect("port lock file");
            if lock.try_lock().is_err() {
                continue;
            }
            if (base..base + Self::COUNT).all(|port| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()) {
                return Self { base, _lock: lock };
            }
        }
        panic!("no free block of {} loopback ports from {}", Self::COUNT, Self::FIRST);
    }
}

/// The last `lines` lines of each node's log in `dir`, for a failure message.
pub fn node_logs(dir: &Path, nodes: usize, lines: usize) -> String {
    let mut text = String::new();
    for index in 0..nodes {
        let log = std::fs::read_to_string(dir.join(format!("node-{index}/node.log"))).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        text.push_str(&format!("--- node-{index} (last {lines} lines of {})\n", all.len()));
        for line in &all[all.len().saturating_sub(lines)..] {
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

/// Waits (up to 90 s) until the node answering at `rpc` has finalized block 1, which creates
/// the genesis accounts; panics with the nodes' logs if it does not.
pub fn wait_until_started(dir: &Path, rpc: &str, nodes: usize) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let started = || {
        let output = Command::new(binary()).args(["status", "--json", "--rpc", rpc]).output().ok()?;
        let status: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        Some(status["height"].as_u64()? >= 1)
    };
    while started() != Some(true) {
        assert!(Instant::now() < deadline, "the devnet did not start in 90 s:\n{}", node_logs(dir, nodes, 30));
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A child process killed when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn spawn_node(dir: &Path, index: usize) -> Process {
    spawn_node_with(dir, index, &[])
}

/// Starts node `index` of the devnet in `dir` with extra environment variables, appending its
/// output to its `node.log`.
pub fn spawn_node_with(dir: &Path, index: usize, environment: &[(&str, &str)]) -> Process {
    let folder = dir.join(format!("node-{index}"));
    let log = std::fs::OpenOptions::new().create(true).append(true).open(folder.join("node.log")).expect("log file");
    let child = Command::new(binary())
        .args(["node", "--config"])
        .arg(folder.join("node.toml"))
        .envs(environment.iter().copied())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("node starts");
    Process(child)
}

/// Runs `formica` with `args` against the devnet in `dir`; panics with its output if it fails.
pub fn formica(dir: &Path, rpc: &str, args: &[&str]) -> String {
    let output: Output =
        Command::new(binary()).args(args).args(["--dir"]).arg(dir).args(["--rpc", rpc]).output().expect("formica runs");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "formica {args:?} failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// A running devnet: `formica up --init-only` in a temporary folder, its validators started.
pub struct Devnet {
    pub dir: PathBuf,
    pub rpc: String,

    /// Killed before the ports are released and the folder removed (fields drop in order).
    nodes: Vec<Option<Process>>,
    pub ports: Ports,
    _folder: tempfile::TempDir,
}

impl Devnet {
    /// Starts `validators` validators on a block of [`Ports`] and waits for block 1 (which
    /// creates the genesis accounts).
    pub fn start(validators: usize) -> Self {
        let folder = tempfile::tempdir().expect("temp dir");
        let dir = folder.path().join("devnet");
        let ports = Ports::take();
        let base = ports.base;
        let status = Command::new(binary())
            .args(["up", "--init-only", "--validators", &validators.to_string(), "--dir"])
            .arg(&dir)
            .args(["--rpc-port", &base.to_string(), "--p2p-port", &(base + 8).to_string()])
            .args(["--metrics-port", &(base + 16).to_string(), "--admin-port", &(base + 24).to_string()])
            .status()
            .expect("formica up runs");
        assert!(status.success());
        let nodes = (0..validators).map(|index| Some(spawn_node(&dir, index))).collect();
        let rpc = format!("http://127.0.0.1:{base}");
        wait_until_started(&dir, &rpc, validators);
        Self { dir, rpc, ports, nodes, _folder: folder }
    }

    /// The RPC URL of node `index`.
    pub fn rpc_of(&self, index: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports.base + index as u16)
    }

    /// The Prometheus URL of node `index`.
    pub fn metrics_of(&self, index: usize) -> String {
        format!("http://127.0.0.1:{}/metrics", self.ports.base + 16 + index as u16)
    }

    /// The process of node `index`, if it runs.
    pub fn node(&mut self, index: usize) -> Option<&mut Process> {
        self.nodes[index].as_mut()
    }

    /// Kills node `index` (if it runs) without warning.
    pub fn kill(&mut self, index: usize) {
        self.nodes[index] = None;
    }

    /// Kills node `index` (if it runs) and starts it again with `environment`.
    pub fn restart(&mut self, index: usize, environment: &[(&str, &str)]) {
        self.nodes[index] = None;
        self.nodes[index] = Some(spawn_node_with(&self.dir, index, environment));
    }
    /// Runs `formica` against this devnet; panics with its output if it fails.
    pub fn formica(&self, args: &[&str]) -> String {
        formica(&self.dir, &self.rpc, args)
    }

    /// The development account's id (`0x` hex), the CLI's default signer.
    pub fn dev_account(&self) -> String {
        let key: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.dir.join("dev-key.json")).expect("the dev key")).expect("json");
        key["account_id"].as_str().expect("the key file names its account").to_string()
    }
}

/// A transaction from the account of an Ed25519 `key` that never expires, with a fee limit of 1.
pub fn signed(chain: ChainId, key: &PrivateKey, nonce: u64, payload: Payload) -> Transaction {
    TransactionBody {
        chain_id: chain,
        sender: AccountId::from_public_key(&key.public_key()),
        nonce: Nonce(nonce),
        expiry_height: Height(u64::MAX),
        fee_limit: Amount(1),
        payload,
    }
    .sign(&[key])
}

/// A client of the node at `url` once it answers, waiting up to `timeout`.
pub async fn connect(url: &str, timeout: Duration) -> Client {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(client) = Client::connect(url).await
            && client.status().await.is_ok()
        {
            return client;
        }
        assert!(Instant::now() < deadline, "node at {url} did not answer");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The receipt of every transaction in `hashes` on `client`, waiting up to `timeout`.
pub async fn receipts(client: &Client, hashes: &[Hash], timeout: Duration) -> Vec<(Height, u32)> {
    let deadline = Instant::now() + timeout;
    let mut places = Vec::with_capacity(hashes.len());
    for hash in hashes {
        loop {
            if let Some(receipt) = client.receipt(*hash).await.expect("rpc answers") {
                assert!(receipt.succeeded(), "transaction {} failed: {receipt:?}", hash_to_hex(hash));
                places.push((receipt.block_height, receipt.index));
                break;
            }
            assert!(Instant::now() < deadline, "transaction {} not final on {}", hash_to_hex(hash), client.url());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    places
}

/// The sum of the `byzantine_evidence` counters node `index` exports; panics if it exports none
/// (the check below would then prove nothing).
pub fn byzantine_evidence(devnet: &Devnet, index: usize) -> u64 {
    let url = devnet.metrics_of(index);
    let address = url.trim_start_matches("http://").split('/').next().expect("host:port").to_string();
    let mut stream = std::net::TcpStream::connect(&address).expect("metrics endpoint");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    stream.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes()).expect("request");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("metrics");
    let lines: Vec<&str> =
        text.lines().filter(|line| !line.starts_with('#') && line.contains("byzantine_evidence_total")).collect();
    assert!(!lines.is_empty(), "node {index} exports no byzantine_evidence counter:\n{text}");
    lines.iter().map(|line| line.rsplit(' ').next().and_then(|value| value.parse::<u64>().ok()).unwrap_or(0)).sum()
}

/// Checks that every node holds the same block and state root at every height up to the lowest
/// head among them; returns that height.
pub async fn same_chain(clients: &[Client]) -> u64 {
    let mut lowest = u64::MAX;
    for client in clients {
        lowest = lowest.min(client.status().await.expect("status").height.get());
    }
    for height in 1..=lowest {
        let mut first = None;
        for client in clients {
            let block = client.block_by_height(Height(height)).await.expect("rpc").expect("the block exists");
            let key = (block.hash, block.state_root);
            match first {
                None => first = Some(key),
                Some(expected) => assert_eq!(key, expected, "{} differs at height {height}", client.url()),
            }
        }
    }
    lowest
}
