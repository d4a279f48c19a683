//! Crash recovery at every named fail point of the commit path, on real processes and a real
//! disk: validator 3 of a four-validator devnet under steady transfer load is restarted with one
//! point armed (`FORMICA_FAILPOINTS`), dies there, and the next point is armed on the next
//! start; finally it starts clean. It must catch up, and then every node must hold the same
//! block and state root at every height, every acknowledged transfer must be final once on
//! every node, and no node may have seen conflicting votes from any validator.

use crate::devnet::{Devnet, byzantine_evidence, connect, receipts, same_chain, signed};
use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use formica_consensus::failpoints;
use formica_crypto::KeyFile;
use formica_types::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const VALIDATORS: usize = 4;
const CRASHED: usize = 3;
const SENDERS: u64 = 4;

/// Each point with how many times it passes before it fires, after the node starts.
const ARMED: [(&str, u32); 4] = [
    (failpoints::BEFORE_STATE, 8),
    (failpoints::AFTER_STATE, 8),
    (failpoints::AFTER_INDEXES, 8),
    (failpoints::SEND_VOTE, 30),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_crashed_at_every_commit_fail_point_recovers_without_forking_losing_or_double_signing() {
    let mut devnet = Devnet::start(VALIDATORS);
    let mut clients = Vec::new();
    for index in 0..VALIDATORS {
        clients.push(connect(&devnet.rpc_of(index), Duration::from_secs(60)).await);
    }
    let (_, dev) = KeyFile::read(&devnet.dir.join("dev-key.json")).expect("dev key");
    let chain = clients[0].status().await.expect("status").chain_id;

    // Fund the senders, then keep a steady load of transfers going through validators 0 to 2.
    let senders: Vec<PrivateKey> = (0..SENDERS).map(|seed| PrivateKey::from_seed(31_000 + seed)).collect();
    let mut creations = Vec::new();
    for (nonce, sender) in senders.iter().enumerate() {
        let payload =
            Payload::CreateAccount { public_key: sender.public_key().into(), initial_balance: Amount(1_000_000) };
        creations.push(clients[0].submit(&signed(chain, &dev, nonce as u64, payload)).await.expect("admitted"));
    }
    // Final on every validator the load goes to, not only on the first: a validator admits a
    // sender only once its own finalized state holds the account.
    for client in &clients[..CRASHED] {
        receipts(client, &creations, Duration::from_secs(60)).await;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        let urls: Vec<String> = (0..CRASHED).map(|index| devnet.rpc_of(index)).collect();
        let recipient = AccountId::from_public_key(&dev.public_key());
        let senders = senders.clone();
        tokio::spawn(async move {
            let mut live = Vec::new();
            for url in &urls {
                live.push(connect(url, Duration::from_secs(10)).await);
            }
            let mut acknowledged = Vec::new();
            let mut nonce = 0;
            while !stop.load(Ordering::Relaxed) {
                for (index, sender) in senders.iter().enumerate() {
                    let transfer = signed(chain, sender, nonce, Payload::Transfer { to: recipient, amount: Amount(1) });
                    let node = &live[(index + nonce as usize) % live.len()];
                    acknowledged.push(node.submit(&transfer).await.expect("a live validator admits the transfer"));
                }
                nonce += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (acknowledged, nonce)
        })
    };

    // Crash validator 3 at each point in turn.
    for (point, passes) in ARMED {
        let armed = format!("{point}={passes}*off->return");
        devnet.restart(CRASHED, &[("FORMICA_FAILPOINTS", armed.as_str())]);
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = devnet.node(CRASHED).expect("started").0.try_wait().expect("waits") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "fail point {point} did not fire within 120 s:\n{}",
                crate::devnet::node_logs(&devnet.dir, VALIDATORS, 20)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(!status.success(), "validator {CRASHED} stopped cleanly instead of crashing at {point}");
        let log = std::fs::read_to_string(devnet.dir.join(format!("node-{CRASHED}/node.log"))).expect("log");
        assert!(log.contains(&format!("fail point {point} fired")), "validator {CRASHED} died elsewhere:\n{log}");
    }

    // Start it clean: it replays from its disk and catches up with the others.
    devnet.restart(CRASHED, &[]);
    clients[CRASHED] = connect(&devnet.rpc_of(CRASHED), Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let (acknowledged, rounds) = load.await.expect("the load ran");
    assert!(rounds > 20, "the load made only {rounds} rounds");

    // Every acknowledged transfer is final, once, at the same place on every node.
    let expected = receipts(&clients[0], &acknowledged, Duration::from_secs(120)).await;
    for client in &clients[1..] {
        assert_eq!(receipts(client, &acknowledged, Duration::from_secs(120)).await, expected, "{}", client.url());
    }
    let mut seen = std::collections::BTreeSet::new();
    assert!(expected.iter().all(|place| seen.insert(*place)), "two transfers share a place in the chain");
    for client in &clients {
        for sender in &senders {
            let account = client.account(AccountId::from_public_key(&sender.public_key())).await.expect("rpc");
            assert_eq!(account.expect("funded").nonce, Nonce(rounds), "{}", client.url());
        }
    }

    // The same block and state root at every height up to the lowest head.
    let lowest = same_chain(&clients).await;

    // No node saw a validator sign conflicting votes: the crashed one never double-signed.
    for index in 0..VALIDATORS {
        assert_eq!(byzantine_evidence(&devnet, index), 0, "node {index} saw conflicting votes");
    }
    eprintln!(
        "crashed validator {CRASHED} at {} fail points; {} transfers over {} blocks checked on {VALIDATORS} nodes",
        ARMED.len(),
        acknowledged.len(),
        lowest
    );
}
