//! An fsync error stops the node. Validator 3 of a four-validator devnet under transfer load is
//! restarted with `scripts/faults/fsync-fail.c` preloaded, which makes every fsync-family call
//! after the first N fail with EIO: once while it opens its storage, once in steady operation.
//! Each time it must exit with the stop line naming the I/O error (after a failed fsync the kernel
//! may have dropped the dirty pages, so carrying on could serve or vote on data that is not on
//! disk). Started again without the fault, it must catch up and agree with the others at every
//! height, with no conflicting votes seen anywhere.

use crate::devnet::{Devnet, byzantine_evidence, connect, node_logs, receipts, same_chain, signed, target_dir};
use formica_crypto::KeyFile;
use formica_types::*;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const VALIDATORS: usize = 4;
const FAULTY: usize = 3;

/// How many fsync-family calls pass before they fail: the first number lands while the node
/// opens its storage, the second after it has been finalizing blocks for a while.
const FAIL_AFTER: [u32; 2] = [150, 700];

/// Builds the preload library (once per target folder).
fn fsync_fail_library() -> PathBuf {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/faults/fsync-fail.c");
    let output = target_dir().join(format!("fsync-fail-{}.so", std::process::id()));
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-Wall", "-o"])
        .arg(&output)
        .arg(&source)
        .arg("-ldl")
        .status()
        .expect("a C compiler (scripts/setup.sh installs build-essential)");
    assert!(status.success(), "building {} failed", source.display());
    output
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_fsync_error_stops_the_validator_and_it_recovers_when_started_again() {
    let library = fsync_fail_library();
    let mut devnet = Devnet::start(VALIDATORS);
    let client = connect(&devnet.rpc_of(0), Duration::from_secs(60)).await;
    let (_, dev) = KeyFile::read(&devnet.dir.join("dev-key.json")).expect("dev key");
    let chain = client.status().await.expect("status").chain_id;
    // Validator 0's organisation admin account exists from genesis.
    let (admin, _) = KeyFile::read(&devnet.dir.join("node-0/admin-key.json")).expect("admin key");
    let recipient = admin.account_id;

    let mut nonce = 0;
    let mut acknowledged = Vec::new();
    for fail_after in FAIL_AFTER {
        let environment = [
            ("LD_PRELOAD", library.to_str().expect("utf-8 path")),
            ("FORMICA_FSYNC_FAIL_AFTER", &fail_after.to_string()),
        ];
        devnet.restart(FAULTY, &environment);
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = devnet.node(FAULTY).expect("started").0.try_wait().expect("waits") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "validator {FAULTY} kept running 120 s with fsync failing after {fail_after} calls:\n{}",
                node_logs(&devnet.dir, VALIDATORS, 20)
            );
            // Keep blocks coming so the node has something to persist.
            let transfer = signed(chain, &dev, nonce, Payload::Transfer { to: recipient, amount: Amount(1) });
            acknowledged.push(client.submit(&transfer).await.expect("validator 0 admits the transfer"));
            nonce += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert!(!status.success(), "validator {FAULTY} stopped cleanly on an fsync error");
        let log = std::fs::read_to_string(devnet.dir.join(format!("node-{FAULTY}/node.log"))).expect("log");
        let stop = log.lines().rev().find(|line| line.starts_with("formica node: stopped")).unwrap_or_else(|| {
            panic!("validator {FAULTY} died without the stop line:\n{}", node_logs(&devnet.dir, VALIDATORS, 20))
        });
        assert!(stop.contains("Input/output error"), "the stop line does not name the I/O error: {stop}");
        eprintln!("fsync failing after {fail_after} calls: {stop}");
    }

    devnet.restart(FAULTY, &[]);
    let mut clients = Vec::new();
    for index in 0..VALIDATORS {
        clients.push(connect(&devnet.rpc_of(index), Duration::from_secs(60)).await);
    }
    // Every acknowledged transfer is final at the same place on every node, the restarted one too.
    let expected = receipts(&clients[0], &acknowledged, Duration::from_secs(120)).await;
    for other in &clients[1..] {
        assert_eq!(receipts(other, &acknowledged, Duration::from_secs(120)).await, expected, "{}", other.url());
    }
    let lowest = same_chain(&clients).await;
    for index in 0..VALIDATORS {
        assert_eq!(byzantine_evidence(&devnet, index), 0, "node {index} saw conflicting votes");
    }
    let _ = std::fs::remove_file(&library);
    eprintln!("{} transfers over {lowest} blocks agree on {VALIDATORS} nodes", acknowledged.len());
}
