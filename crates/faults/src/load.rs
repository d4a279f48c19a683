//! The client side of a fault run: senders that each transfer in a closed loop (one transaction
//! in flight, the next nonce only once the last is final), deliver through whichever validator
//! answers, re-send what is not final, and record what a node told them, plus a sampler of every
//! node's finalized height over time (the liveness record).

use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use formica_client::{Client, ClientConfig};
use formica_sim::checker::{Outcome, Submission};
use formica_types::{AccountId, Amount, ChainId, Hash, Height, Nonce, Payload, Transaction, TransactionBody};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one RPC call may take (a paused node never answers).
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a sender waits for a receipt from one node before it re-sends through the next.
const RESEND_AFTER: Duration = Duration::from_secs(4);
/// How often a sender polls for its receipt.
const POLL: Duration = Duration::from_millis(150);

/// An HTTP client of each validator, with a short request timeout.
pub async fn clients(urls: &[String]) -> anyhow::Result<Vec<Client>> {
    let config = ClientConfig { request_timeout: CALL_TIMEOUT, ..ClientConfig::default() };
    let mut clients = Vec::new();
    for url in urls {
        clients.push(Client::connect_with(url, config.clone()).await?);
    }
    Ok(clients)
}

/// A transfer-style transaction from `key`'s account that never expires.
pub fn signed(chain: ChainId, key: &PrivateKey, nonce: u64, fee: Amount, payload: Payload) -> Transaction {
    TransactionBody {
        chain_id: chain,
        sender: AccountId::from_public_key(&key.public_key()),
        nonce: Nonce(nonce),
        expiry_height: Height(u64::MAX),
        fee_limit: fee,
        payload,
    }
    .sign(&[key])
}

/// What every sender recorded, shared between their tasks.
#[derive(Clone, Default)]
pub struct Journal {
    pub submissions: Arc<Mutex<Vec<Submission>>>,
    /// Receipts that reported a failed execution (a transfer between funded accounts must not).
    pub failures: Arc<Mutex<Vec<String>>>,
}

impl Journal {
    fn record(&self, submission: Submission) {
        self.submissions.lock().expect("journal lock").push(submission);
    }
}

/// Delivers `transaction` through the validators, starting at `first`, until some node reports
/// it final or `stop` is set; returns what the client learned.
pub async fn deliver(
    clients: &[Client],
    first: usize,
    transaction: &Transaction,
    stop: &AtomicBool,
    journal: &Journal,
) -> Outcome {
    let hash = transaction.hash();
    let mut attempt = 0;
    while !stop.load(Ordering::Relaxed) {
        let client = &clients[(first + attempt) % clients.len()];
        attempt += 1;
        // The transaction may already be final (an earlier attempt went through).
        if let Some(outcome) = receipt(client, hash, journal).await {
            return outcome;
        }
        if client.submit(transaction).await.is_err() {
            // Down, paused, cut off, or already executed (then the receipt answers next round).
            tokio::time::sleep(POLL).await;
            continue;
        }
        let deadline = Instant::now() + RESEND_AFTER;
        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(POLL).await;
            if let Some(outcome) = receipt(client, hash, journal).await {
                return outcome;
            }
        }
    }
    Outcome::Unknown
}

async fn receipt(client: &Client, hash: Hash, journal: &Journal) -> Option<Outcome> {
    let receipt = client.receipt(hash).await.ok()??;
    if !receipt.succeeded() {
        journal.failures.lock().expect("journal lock").push(format!(
            "{} failed at height {}: {:?}",
            formica_types::hash_to_hex(&hash),
            receipt.block_height,
            receipt.failure_message
        ));
    }
    Some(Outcome::Final { height: receipt.block_height, index: receipt.index })
}

/// Creates and funds one account per sender key from the development key; every creation is
/// journaled like any other submission.
pub async fn fund(
    clients: &[Client],
    chain: ChainId,
    fee: Amount,
    dev: &PrivateKey,
    senders: &[PrivateKey],
    journal: &Journal,
) -> anyhow::Result<()> {
    let stop = AtomicBool::new(false);
    let dev_account = AccountId::from_public_key(&dev.public_key());
    let mut nonce = clients[0].next_nonce(dev_account).await?.get();
    let mut pending = Vec::new();
    for sender in senders {
        let payload =
            Payload::CreateAccount { public_key: sender.public_key().into(), initial_balance: Amount(1_000_000_000) };
        let transaction = signed(chain, dev, nonce, fee, payload);
        // Submit them all, then wait: one block carries many.
        let _ = clients[0].submit(&transaction).await;
        pending.push((transaction, nonce));
        nonce += 1;
    }
    for (transaction, nonce) in pending {
        let outcome = tokio::time::timeout(Duration::from_secs(120), deliver(clients, 0, &transaction, &stop, journal))
            .await
            .map_err(|_| anyhow::anyhow!("funding the senders took over 120 s"))?;
        if outcome == Outcome::Unknown {
            anyhow::bail!("a funding transaction was not final");
        }
        journal.record(Submission { hash: transaction.hash(), sender: dev_account, nonce: Nonce(nonce), outcome });
    }
    Ok(())
}

/// What every sender shares: the chain, the fee, where transfers go, how many each sends, the
/// stop flag and the journal.
#[derive(Clone)]
pub struct Transfers {
    pub chain: ChainId,
    pub fee: Amount,
    pub recipient: AccountId,
    pub quota: u64,
    pub stop: Arc<AtomicBool>,
    pub journal: Journal,
}

/// Runs sender `index` (its account is `key`'s) until it has sent its quota or the stop flag
/// is set.
pub async fn sender(clients: Vec<Client>, key: PrivateKey, index: usize, transfers: Transfers) {
    let Transfers { chain, fee, recipient, quota, stop, journal } = transfers;
    let account = AccountId::from_public_key(&key.public_key());
    for nonce in 0..quota {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let transaction = signed(chain, &key, nonce, fee, Payload::Transfer { to: recipient, amount: Amount(1) });
        let outcome = deliver(&clients, index + nonce as usize, &transaction, &stop, &journal).await;
        journal.record(Submission { hash: transaction.hash(), sender: account, nonce: Nonce(nonce), outcome });
        if outcome == Outcome::Unknown {
            // The next nonce cannot execute before this one; the run is ending.
            return;
        }
    }
}

/// Samples every node's finalized height every `every` until `stop` is set: one `(elapsed,
/// height)` list per node, from `start`. A node that does not answer is not sampled (down).
pub async fn sample_heights(
    clients: Vec<Client>,
    start: Instant,
    every: Duration,
    stop: Arc<AtomicBool>,
) -> Vec<Vec<(Duration, Height)>> {
    let mut heights = vec![Vec::new(); clients.len()];
    while !stop.load(Ordering::Relaxed) {
        let round = Instant::now();
        for (index, client) in clients.iter().enumerate() {
            if let Ok(Ok(status)) = tokio::time::timeout(Duration::from_millis(800), client.status()).await {
                heights[index].push((start.elapsed(), status.height));
            }
        }
        tokio::time::sleep(every.saturating_sub(round.elapsed())).await;
    }
    heights
}
