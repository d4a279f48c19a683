//! A validator whose storage was damaged while it was down, on real processes and a real disk:
//! it must either recover (and then agree with the others on every block and account), or
//! refuse to run with the node's own message (`formica node: stopped …`, saying what failed and
//! how to recover); it must never serve data that differs from the
//! chain. Validator 3 of a four-validator devnet is killed after some transfers, its data
//! directory kept, and each case below starts it from a copy damaged one way.

use crate::devnet::{Devnet, signed};
use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use formica_client::Client;
use formica_crypto::KeyFile;
use formica_types::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const VALIDATORS: usize = 4;
const DAMAGED: usize = 3;

/// How a file is damaged.
#[derive(Clone, Copy, Debug)]
enum Damage {
    /// Bytes of a write that never completed appended after the end: a torn tail.
    TornTail,
    /// The last bytes cut off: data that was synced is gone.
    Truncated,
    /// Bytes in the middle overwritten: corruption inside committed data.
    Flipped,
}

/// The indexes' (fjall's) write-ahead journal: its newest `*.jnl` file.
const INDEX_JOURNAL: &str = "indexes/*.jnl";

/// Each case: the storage partitions (folders under `data/`, by prefix) whose files are
/// damaged, how, and whether the node must recover (rather than possibly refuse).
const CASES: [(&[&str], Damage, bool); 6] = [
    (
        &[
            "consensus/formica-blocks-value",
            "consensus/formica-finalizations-value",
            "consensus/formica-state-log-blobs",
            "consensus/formica-state-merkle-journal-blobs",
            "consensus/formica-simplex-0",
            INDEX_JOURNAL,
        ],
        Damage::TornTail,
        true,
    ),
    (&["consensus/formica-state-log-blobs"], Damage::Truncated, false),
    (&["consensus/formica-blocks-value"], Damage::Truncated, false),
    (&[INDEX_JOURNAL], Damage::Truncated, false),
    (&["consensus/formica-blocks-value"], Damage::Flipped, false),
    (&["consensus/formica-state-log-blobs"], Damage::Flipped, false),
];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("folder");
    for entry in std::fs::read_dir(from).expect("readable") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copied");
        }
    }
}

/// The files a case damages: under `data/<prefix>*`, the newest (largest name) file over 64
/// bytes of each folder (a journal kept as numbered sections leaves a crash's tail in its
/// newest); for `folder/*.ext`, the newest file with that extension.
fn files(data: &Path, prefix: &str) -> Vec<PathBuf> {
    if let Some((folder, extension)) = prefix.split_once("/*.") {
        let newest = std::fs::read_dir(data.join(folder))
            .expect("storage folder")
            .map(|entry| entry.expect("entry").path())
            .filter(|path| path.extension().is_some_and(|found| found == extension))
            .max()
            .unwrap_or_else(|| panic!("no *.{extension} file in {folder}"));
        return vec![newest];
    }
    let (parent, start) = match prefix.rsplit_once('/') {
        Some((parent, start)) => (data.join(parent), start.to_string()),
        None => (data.to_path_buf(), prefix.to_string()),
    };
    let mut found = Vec::new();
    let mut folders: Vec<PathBuf> = std::fs::read_dir(&parent)
        .expect("storage folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.file_name().is_some_and(|name| name.to_string_lossy().starts_with(&start)))
        .collect();
    folders.sort();
    for folder in folders {
        if folder.is_file() {
            found.push(folder);
            continue;
        }
        let mut stack = vec![folder];
        while let Some(folder) = stack.pop() {
            let mut newest: Option<PathBuf> = None;
            for entry in std::fs::read_dir(&folder).expect("readable") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if std::fs::metadata(&path).is_ok_and(|meta| meta.len() > 64)
                    && newest.as_ref().is_none_or(|current| path.file_name() > current.file_name())
                {
                    newest = Some(path);
                }
            }
            found.extend(newest);
        }
    }
    assert!(!found.is_empty(), "no stored file under {}/{prefix}*", data.display());
    found
}

fn damage(file: &Path, how: Damage) {
    let mut bytes = std::fs::read(file).expect("readable");
    match how {
        Damage::TornTail => bytes.extend((0..37u8).map(|index| index.wrapping_mul(151) ^ 0xa5)),
        Damage::Truncated => bytes.truncate(bytes.len() - 5),
        Damage::Flipped => {
            let middle = bytes.len() / 2;
            for byte in &mut bytes[middle..middle + 3] {
                *byte ^= 0xff;
            }
        }
    }
    std::fs::write(file, bytes).expect("writable");
}

async fn connect(url: &str) -> Option<Client> {
    let client = Client::connect(url).await.ok()?;
    client.status().await.ok()?;
    Some(client)
}

async fn height(client: &Client) -> u64 {
    client.status().await.expect("status").height.get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_with_damaged_storage_recovers_or_refuses_and_never_serves_wrong_data() {
    let mut devnet = Devnet::start(VALIDATORS);
    let reference = connect(&devnet.rpc_of(0)).await.expect("node 0 answers");
    let (_, dev) = KeyFile::read(&devnet.dir.join("dev-key.json")).expect("dev key");
    let chain = reference.status().await.expect("status").chain_id;

    // Some blocks with content: accounts created and transfers between them.
    let senders: Vec<PrivateKey> = (0..4).map(|seed| PrivateKey::from_seed(41_000 + seed)).collect();
    let mut hashes = Vec::new();
    for (nonce, sender) in senders.iter().enumerate() {
        let payload =
            Payload::CreateAccount { public_key: sender.public_key().into(), initial_balance: Amount(1_000_000) };
        hashes.push(reference.submit(&signed(chain, &dev, nonce as u64, payload)).await.expect("admitted"));
    }
    for hash in hashes {
        let receipt = reference.wait_for_receipt(hash, Duration::from_secs(60)).await.expect("final");
        assert_eq!(receipt.failure_message, None, "account creation");
    }
    let recipient = AccountId::from_public_key(&dev.public_key());
    for nonce in 0..10 {
        for sender in &senders {
            let transfer = signed(chain, sender, nonce, Payload::Transfer { to: recipient, amount: Amount(7) });
            reference.submit(&transfer).await.expect("admitted");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let damaged_url = devnet.rpc_of(DAMAGED);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let accounts_done = match connect(&damaged_url).await {
            Some(client) => {
                let mut done = true;
                for sender in &senders {
                    let account = client.account(AccountId::from_public_key(&sender.public_key())).await.expect("rpc");
                    done &= account.is_some_and(|account| account.nonce == Nonce(10));
                }
                done
            }
            None => false,
        };
        if accounts_done {
            break;
        }
        assert!(Instant::now() < deadline, "validator {DAMAGED} did not see the transfers");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    devnet.kill(DAMAGED);
    let kept = tempfile::tempdir().expect("temp dir");
    let data = devnet.dir.join(format!("node-{DAMAGED}/data"));
    copy_dir(&data, kept.path());
    let log_path = devnet.dir.join(format!("node-{DAMAGED}/node.log"));

    let mut outcomes = Vec::new();
    for (prefixes, how, must_recover) in CASES {
        std::fs::remove_dir_all(&data).expect("removed");
        copy_dir(kept.path(), &data);
        let mut damaged = Vec::new();
        for prefix in prefixes {
            for file in files(&data, prefix) {
                damage(&file, how);
                damaged.push(file.strip_prefix(&data).expect("under data").display().to_string());
            }
        }
        let log_start = std::fs::metadata(&log_path).map(|meta| meta.len()).unwrap_or(0) as usize;
        let target = height(&reference).await + 3;
        devnet.restart(DAMAGED, &[]);

        // Running at the network's head, or stopped.
        let deadline = Instant::now() + Duration::from_secs(90);
        let recovered = loop {
            if let Some(status) = devnet.node(DAMAGED).expect("started").0.try_wait().expect("waits") {
                let log = std::fs::read_to_string(&log_path).expect("log");
                assert!(!status.success(), "{how:?} of {damaged:?}: the node stopped cleanly");
                assert!(
                    log[log_start..].contains(formica_node::run::STOPPED_MESSAGE),
                    "{how:?} of {damaged:?}: the node stopped without saying why:\n{}",
                    &log[log_start..]
                );
                break false;
            }
            if let Some(client) = connect(&damaged_url).await
                && height(&client).await >= target
            {
                break true;
            }
            assert!(
                Instant::now() < deadline,
                "{how:?} of {damaged:?}: the node neither caught up nor stopped:\n{}",
                crate::devnet::node_logs(&devnet.dir, VALIDATORS, 20)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert!(recovered || !must_recover, "{how:?} of {damaged:?}: the node did not recover");

        if recovered {
            // What it serves is the chain: every block and every sender's account.
            let client = connect(&damaged_url).await.expect("answers");
            let top = height(&client).await.min(height(&reference).await);
            for at in 1..=top {
                let ours =
                    client.block_by_height(Height(at)).await.expect("rpc").map(|block| (block.hash, block.state_root));
                let theirs = reference.block_by_height(Height(at)).await.expect("rpc").map(|b| (b.hash, b.state_root));
                assert_eq!(ours, theirs, "{how:?} of {damaged:?}: block {at} differs");
            }
            for sender in &senders {
                let id = AccountId::from_public_key(&sender.public_key());
                let ours = client.account(id).await.expect("rpc").map(|account| (account.nonce, account.balance));
                let theirs = reference.account(id).await.expect("rpc").map(|account| (account.nonce, account.balance));
                assert_eq!(ours, theirs, "{how:?} of {damaged:?}: account differs");
            }
        }
        outcomes.push(format!("{how:?} {prefixes:?}: {}", if recovered { "recovered" } else { "refused" }));
        devnet.kill(DAMAGED);
    }
    eprintln!("damaged storage outcomes:\n  {}", outcomes.join("\n  "));
}
