//! A devnet of real `formica node` processes on loopback for the process tests, and running the
//! `formica` CLI against it.

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

/// Ports derived from the process id, away from the other real-process tests' range; `slot`
/// separates tests of one process.
pub fn base_port(slot: u16) -> u16 {
    42_000 + (std::process::id() % 500) as u16 * 20 + slot * 10
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

    _nodes: Vec<Process>,
    _folder: tempfile::TempDir,
}

impl Devnet {
    /// Starts `validators` validators on ports from `base_port(slot)` and waits for block 1
    /// (which creates the genesis accounts).
    pub fn start(validators: usize, slot: u16) -> Self {
        let folder = tempfile::tempdir().expect("temp dir");
        let dir = folder.path().join("devnet");
        let base = base_port(slot);
        let status = Command::new(binary())
            .args(["up", "--init-only", "--validators", &validators.to_string(), "--dir"])
            .arg(&dir)
            .args(["--rpc-port", &base.to_string(), "--p2p-port", &(base + 4).to_string()])
            .args(["--metrics-port", &(base + 8).to_string()])
            .status()
            .expect("formica up runs");
        assert!(status.success());
        let nodes = (0..validators).map(|index| spawn_node(&dir, index)).collect();
        let rpc = format!("http://127.0.0.1:{base}");
        let deadline = Instant::now() + Duration::from_secs(90);
        let started = || {
            let output = Command::new(binary()).args(["status", "--json", "--rpc", &rpc]).output().ok()?;
            let status: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
            Some(status["height"].as_u64()? >= 1)
        };
        while started() != Some(true) {
            assert!(Instant::now() < deadline, "the devnet did not start");
            std::thread::sleep(Duration::from_millis(300));
        }
        Self { dir, rpc, _nodes: nodes, _folder: folder }
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
