//! Drives a network through JSON-RPC: submits pre-signed transactions (closed or open loop),
//! follows finalized blocks on the first node, and measures submit-to-final latency.
//!
//! A transaction is registered as pending (with its submit time) before it is sent, so a block
//! can never be seen before its transactions are known. It counts as final when a finalized
//! block carrying its hash arrives on the first node's `subscribeFinalizedBlocks`; blocks
//! skipped by the subscription (a slow subscriber is dropped by the node) are fetched by height.

use super::workload::Prepared;
use formica_client::{Client, types::BlockView};
use formica_rpc::FormicaApiClient;
use formica_types::{Hash, Height};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::{ArrayParams, BatchRequestBuilder};
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use std::collections::{BTreeMap, HashMap};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, oneshot};

/// How transactions are offered.
#[derive(Clone, Copy, Debug)]
pub enum Load {
    /// `clients` tasks, each submitting one transaction and waiting for it to be final, for at
    /// most `patience` (then it moves on; the transaction counts as not finalized unless it
    /// becomes final during the drain).
    Closed { clients: usize, patience: Duration },
    /// A fixed offered rate, in batches of up to `batch` per request, at most `in_flight`
    /// requests outstanding.
    Open { rate: u64, batch: usize, in_flight: usize },
}

/// What one load phase measured (node figures are added by the caller).
#[derive(Debug, Default)]
pub struct Outcome {
    pub submitted: u64,
    pub accepted: u64,
    pub rejected: BTreeMap<String, u64>,
    pub finalized: u64,
    /// Finalized during the load window itself (excludes the drain).
    pub finalized_in_window: u64,
    pub not_finalized: u64,
    /// Transactions in the finalized blocks observed (ours or not).
    pub block_transactions: u64,
    pub blocks: u64,
    pub load_seconds: f64,
    pub drain_seconds: f64,
    /// Submit-to-final latencies, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
    /// The first transaction of the range not submitted (where a next phase must start, so
    /// every sender's nonces stay consecutive).
    pub next_index: usize,
}

struct Pending {
    submitted: Instant,
    waiter: Option<oneshot::Sender<()>>,
}

/// Shared between submitters, the block follower and the progress printer.
#[derive(Default)]
struct Tracker {
    pending: Mutex<HashMap<Hash, Pending>>,
    latencies_us: Mutex<Vec<u64>>,
    submitted: AtomicU64,
    accepted: AtomicU64,
    finalized: AtomicU64,
    block_transactions: AtomicU64,
    blocks: AtomicU64,
    rejected: Mutex<BTreeMap<String, u64>>,
    /// Latencies finalized since the progress line last printed.
    window_latencies_us: Mutex<Vec<u64>>,
}

impl Tracker {
    fn register(&self, hashes: impl Iterator<Item = Hash>, waiter: Option<oneshot::Sender<()>>) {
        let now = Instant::now();
        let mut pending = self.pending.lock().expect("tracker lock");
        let mut waiter = waiter;
        for hash in hashes {
            pending.insert(hash, Pending { submitted: now, waiter: waiter.take() });
            self.submitted.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn reject(&self, hash: &Hash, reason: &str) {
        self.pending.lock().expect("tracker lock").remove(hash);
        *self.rejected.lock().expect("tracker lock").entry(reason.to_string()).or_default() += 1;
    }

    fn observe(&self, block: &BlockView) {
        let now = Instant::now();
        let mut latencies = Vec::new();
        {
            let mut pending = self.pending.lock().expect("tracker lock");
            for hash in &block.transactions {
                if let Some(entry) = pending.remove(hash) {
                    latencies.push(now.duration_since(entry.submitted).as_micros() as u64);
                    if let Some(waiter) = entry.waiter {
                        let _ = waiter.send(());
                    }
                }
            }
        }
        self.blocks.fetch_add(1, Ordering::Relaxed);
        self.block_transactions.fetch_add(block.transactions.len() as u64, Ordering::Relaxed);
        self.finalized.fetch_add(latencies.len() as u64, Ordering::Relaxed);
        self.window_latencies_us.lock().expect("tracker lock").extend_from_slice(&latencies);
        self.latencies_us.lock().expect("tracker lock").extend(latencies);
    }

    fn pending_count(&self) -> usize {
        self.pending.lock().expect("tracker lock").len()
    }
}

/// The name of a JSON-RPC refusal code (see docs/architecture.md).
pub fn rejection_reason(code: i32) -> String {
    let name = match code {
        -32001 => "malformed",
        -32002 => "oversized",
        -32003 => "wrong_chain",
        -32004 => "invalid_signature",
        -32005 => "unauthorised",
        -32006 => "nonce_too_low",
        -32007 => "nonce_too_far_ahead",
        -32008 => "expired",
        -32009 => "insufficient_balance",
        -32010 => "unknown_sender",
        -32011 => "fee_limit_too_low",
        -32012 => "mempool_full",
        -32013 => "duplicate",
        -32014 => "sender_frozen",
        -32030 => "node_unavailable",
        -32602 => "invalid_params",
        other => return format!("code_{other}"),
    };
    name.to_string()
}

fn to_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Follows finalized blocks on `url` until `stop`, catching up by height when the subscription
/// skips or ends.
async fn follow(url: String, tracker: Arc<Tracker>, start_height: u64, stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    let client = Client::connect(&url).await?;
    let mut next = start_height + 1;
    while !stop.load(Ordering::Relaxed) {
        let (mut subscription, _ws) = client.subscribe_finalized_blocks().await?;
        loop {
            let item = tokio::select! {
                item = subscription.next() => item,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    if stop.load(Ordering::Relaxed) { return Ok(()); }
                    continue;
                }
            };
            let Some(Ok(block)) = item else { break };
            let height = block.height.get();
            if height < next {
                continue;
            }
            while next < height {
                let missed = client
                    .block_by_height(Height(next))
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("finalized block {next} is missing on {url}"))?;
                tracker.observe(&missed);
                next += 1;
            }
            tracker.observe(&block);
            next = height + 1;
        }
        // The subscription ended (the node drops subscribers that fall behind): catch up by height.
        let head = client.status().await?.height.get();
        while next <= head {
            if let Some(block) = client.block_by_height(Height(next)).await? {
                tracker.observe(&block);
            }
            next += 1;
        }
    }
    Ok(())
}

/// Prints offered and finalized rates, pending count and latency once a second.
async fn progress(tracker: Arc<Tracker>, started: Instant, stop: Arc<AtomicBool>) {
    let terminal = std::io::stderr().is_terminal();
    let mut last = (0u64, 0u64);
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let submitted = tracker.submitted.load(Ordering::Relaxed);
        let finalized = tracker.finalized.load(Ordering::Relaxed);
        let mut window = std::mem::take(&mut *tracker.window_latencies_us.lock().expect("tracker lock"));
        window.sort_unstable();
        let rejected: u64 = tracker.rejected.lock().expect("tracker lock").values().sum();
        let line = format!(
            "[{:>4}s] offered {:>6}/s  finalized {:>6}/s  pending {:>6}  rejected {:>6}  p50 {:>5} ms  p99 {:>5} ms",
            started.elapsed().as_secs(),
            submitted - last.0,
            finalized - last.1,
            tracker.pending_count(),
            rejected,
            percentile(&window, 50.0) / 1000,
            percentile(&window, 99.0) / 1000,
        );
        last = (submitted, finalized);
        if terminal {
            eprint!("\r{line}");
        } else {
            eprintln!("{line}");
        }
    }
    if terminal {
        eprintln!();
    }
}

/// The `p`th percentile (nearest rank) of sorted values; 0 when empty.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn http_client(url: &str) -> anyhow::Result<HttpClient> {
    Ok(HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(30))
        .max_concurrent_requests(1024)
        .build(url)?)
}

/// Submits `batch` in one `formica_sendTransactions` call (the node checks its signatures in one
/// batch), recording refusals by reason.
async fn submit_batch(client: &HttpClient, tracker: &Tracker, batch: &[Prepared]) {
    let hex: Vec<String> = batch.iter().map(|item| to_hex(&item.encoded)).collect();
    let whole_call_refused = match FormicaApiClient::send_transactions(client, hex).await {
        Ok(outcomes) if outcomes.len() == batch.len() => {
            let mut accepted = 0;
            for (item, outcome) in batch.iter().zip(outcomes) {
                match outcome.error {
                    None => accepted += 1,
                    Some(refusal) => tracker.reject(&item.hash, &rejection_reason(refusal.code)),
                }
            }
            tracker.accepted.fetch_add(accepted, Ordering::Relaxed);
            return;
        }
        Ok(_) => "invalid_response".to_string(),
        Err(jsonrpsee::core::ClientError::Call(error)) => rejection_reason(error.code()),
        Err(_) => "transport".to_string(),
    };
    for item in batch {
        tracker.reject(&item.hash, &whole_call_refused);
    }
}

/// Submits one transaction; `true` if the node admitted it.
async fn submit_one(client: &HttpClient, tracker: &Tracker, item: &Prepared) -> bool {
    match FormicaApiClient::send_transaction(client, to_hex(&item.encoded)).await {
        Ok(_) => {
            tracker.accepted.fetch_add(1, Ordering::Relaxed);
            true
        }
        Err(jsonrpsee::core::ClientError::Call(error)) => {
            tracker.reject(&item.hash, &rejection_reason(error.code()));
            false
        }
        Err(_) => {
            tracker.reject(&item.hash, "transport");
            false
        }
    }
}

/// Runs one load phase against `rpc` (transactions go round-robin to every node; finality is
/// observed on the first), then waits up to `drain` for what was admitted.
pub async fn drive(
    rpc: &[String],
    transactions: Arc<Vec<Prepared>>,
    range: std::ops::Range<usize>,
    load: Load,
    duration: Duration,
    drain: Duration,
) -> anyhow::Result<Outcome> {
    anyhow::ensure!(!rpc.is_empty(), "no RPC endpoint");
    let clients: Vec<Arc<HttpClient>> =
        rpc.iter().map(|url| http_client(url).map(Arc::new)).collect::<anyhow::Result<_>>()?;
    let start_height = Client::connect(&rpc[0]).await?.status().await?.height.get();
    let tracker = Arc::new(Tracker::default());
    let stop = Arc::new(AtomicBool::new(false));
    let follower = tokio::spawn(follow(rpc[0].clone(), tracker.clone(), start_height, stop.clone()));
    // Let the subscription open before anything is submitted.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let printer = tokio::spawn(progress(tracker.clone(), started, stop.clone()));

    let next_index = match load {
        Load::Closed { clients: count, patience } => {
            closed_loop(&clients, &tracker, transactions, range, count, started + duration, patience).await
        }
        Load::Open { rate, batch, in_flight } => {
            open_loop(&clients, &tracker, transactions, range, rate, batch, in_flight, started, duration).await
        }
    };
    let load_seconds = started.elapsed().as_secs_f64();
    let finalized_in_window = tracker.finalized.load(Ordering::Relaxed);
    let drain_started = Instant::now();
    while tracker.pending_count() > 0 && drain_started.elapsed() < drain && !follower.is_finished() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let drain_seconds = drain_started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = printer.await;
    if follower.is_finished() {
        follower.await??;
    } else {
        let _ = follower.await;
    }

    let mut latencies_us = std::mem::take(&mut *tracker.latencies_us.lock().expect("tracker lock"));
    latencies_us.sort_unstable();
    Ok(Outcome {
        submitted: tracker.submitted.load(Ordering::Relaxed),
        accepted: tracker.accepted.load(Ordering::Relaxed),
        rejected: tracker.rejected.lock().expect("tracker lock").clone(),
        finalized: tracker.finalized.load(Ordering::Relaxed),
        finalized_in_window,
        not_finalized: tracker.pending_count() as u64,
        block_transactions: tracker.block_transactions.load(Ordering::Relaxed),
        blocks: tracker.blocks.load(Ordering::Relaxed),
        load_seconds,
        drain_seconds,
        latencies_us,
        next_index,
    })
}

async fn closed_loop(
    clients: &[Arc<HttpClient>],
    tracker: &Arc<Tracker>,
    transactions: Arc<Vec<Prepared>>,
    range: std::ops::Range<usize>,
    count: usize,
    deadline: Instant,
    patience: Duration,
) -> usize {
    let next = Arc::new(AtomicUsize::new(range.start));
    let tasks: Vec<_> = (0..count)
        .map(|index| {
            let client = clients[index % clients.len()].clone();
            let (tracker, transactions, next, end) = (tracker.clone(), transactions.clone(), next.clone(), range.end);
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let position = next.fetch_add(1, Ordering::Relaxed);
                    if position >= end {
                        break;
                    }
                    let item = &transactions[position];
                    let (sender, receiver) = oneshot::channel();
                    tracker.register(std::iter::once(item.hash), Some(sender));
                    if submit_one(&client, &tracker, item).await {
                        // A transaction never final ends this client's wait at the deadline.
                        let wait = deadline.min(Instant::now() + patience);
                        let _ = tokio::time::timeout_at(wait.into(), receiver).await;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    next.load(Ordering::Relaxed).min(range.end)
}

#[allow(clippy::too_many_arguments)]
async fn open_loop(
    clients: &[Arc<HttpClient>],
    tracker: &Arc<Tracker>,
    transactions: Arc<Vec<Prepared>>,
    range: std::ops::Range<usize>,
    rate: u64,
    batch: usize,
    in_flight: usize,
    started: Instant,
    duration: Duration,
) -> usize {
    let permits = Arc::new(Semaphore::new(in_flight.max(1)));
    let mut sent = range.start;
    let mut round = 0usize;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut tasks = Vec::new();
    loop {
        tick.tick().await;
        let elapsed = started.elapsed();
        if elapsed >= duration || sent >= range.end {
            break;
        }
        let due = range.start + (rate as f64 * elapsed.as_secs_f64()) as usize;
        while sent < due.min(range.end) {
            let end = (sent + batch.clamp(1, formica_rpc::SEND_TRANSACTIONS_MAX)).min(due).min(range.end);
            // Waiting for a permit lowers the offered rate: the report shows what was offered.
            let permit = permits.clone().acquire_owned().await.expect("semaphore is never closed");
            tracker.register(transactions[sent..end].iter().map(|item| item.hash), None);
            let client = clients[round % clients.len()].clone();
            round += 1;
            let (tracker, transactions) = (tracker.clone(), transactions.clone());
            let span = sent..end;
            tasks.push(tokio::spawn(async move {
                submit_batch(&client, &tracker, &transactions[span]).await;
                drop(permit);
            }));
            sent = end;
        }
        tasks.retain(|task| !task.is_finished());
    }
    for task in tasks {
        let _ = task.await;
    }
    sent
}

/// The sum of the nonces of `accounts` in node `url`'s finalized state: how many of their
/// transactions the chain executed, counted independently of the blocks the bench followed.
pub async fn chain_nonce_sum(url: &str, accounts: &[formica_types::AccountId]) -> anyhow::Result<u64> {
    let client = http_client(url)?;
    let mut sum = 0u64;
    for chunk in accounts.chunks(64) {
        let mut builder = BatchRequestBuilder::new();
        for id in chunk {
            let mut params = ArrayParams::new();
            params.insert(id.to_hex())?;
            builder.insert("formica_getAccount", params)?;
        }
        let responses = client.batch_request::<Option<formica_client::types::AccountView>>(builder).await?;
        for (id, response) in chunk.iter().zip(responses) {
            let account = response
                .map_err(|error| anyhow::anyhow!("getAccount {id}: {error}"))?
                .ok_or_else(|| anyhow::anyhow!("workload account {id} does not exist"))?;
            sum += account.nonce.get();
        }
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), 50);
        assert_eq!(percentile(&values, 99.0), 99);
        assert_eq!(percentile(&values, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn rejection_codes_have_names() {
        assert_eq!(rejection_reason(-32012), "mempool_full");
        assert_eq!(rejection_reason(-32007), "nonce_too_far_ahead");
        assert_eq!(rejection_reason(-1), "code_-1");
    }
}
