//! Reading what each node holds once the run has healed: every finalized block with the
//! (sender, nonce) of its transactions, a state sample with the sum of every known account's
//! balance, and the node's count of conflicting votes it saw.

use formica_client::{Client, ClientError, codes};
use formica_sim::checker::{NodeLog, RecordedBlock, RecordedTransaction, StateSample};
use formica_types::{AccountId, Amount, Hash, Height, Nonce};
use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::time::Duration;

/// Runs an RPC call again while the node refuses it for the caller's rate (all readers share
/// the driver's one address), up to a minute.
async fn patient<T, F, Fut>(mut call: F) -> Result<T, ClientError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ClientError>>,
{
    let mut waits = 0;
    loop {
        match call().await {
            Err(ClientError::Rpc { code: codes::RATE_LIMITED, .. }) if waits < 300 => {
                waits += 1;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => return other,
        }
    }
}

/// Every finalized block node `client` holds, from height 1 to its head.
pub async fn blocks(
    client: &Client,
    known: &BTreeMap<Hash, (AccountId, Nonce)>,
) -> anyhow::Result<(Height, Vec<RecordedBlock>)> {
    let head = patient(|| client.status()).await?.height;
    let mut blocks = Vec::new();
    for height in 1..=head.get() {
        let block = patient(|| client.block_by_height(Height(height)))
            .await?
            .ok_or_else(|| anyhow::anyhow!("{} has no block {height} below its head {head}", client.url()))?;
        let mut transactions = Vec::new();
        for hash in &block.transactions {
            let (sender, nonce) = match known.get(hash) {
                Some(known) => *known,
                None => {
                    let view = patient(|| client.transaction(*hash)).await?.ok_or_else(|| {
                        anyhow::anyhow!(
                            "{} lists transaction {hash:?} in block {height} but cannot serve it",
                            client.url()
                        )
                    })?;
                    (view.sender, view.nonce)
                }
            };
            transactions.push(RecordedTransaction { hash: *hash, sender, nonce });
        }
        blocks.push(RecordedBlock {
            height: block.height,
            hash: block.hash,
            state_root: block.state_root,
            transactions,
        });
    }
    Ok((head, blocks))
}

/// The node's own state read through account proofs: the sum of the balances of `accounts` (every
/// account that can hold value in this run) at the proofs' height, and the state root the node's
/// database had there. Nothing executes while it is read (the load has stopped), so proofs taken
/// at later heights still show the same balances.
pub async fn state_sample(client: &Client, accounts: &[AccountId]) -> anyhow::Result<StateSample> {
    let mut total = 0_u128;
    let mut first: Option<(Height, Hash)> = None;
    for account in accounts {
        let proof = patient(|| client.account_proof(*account)).await?;
        if let Some(record) = &proof.account {
            total = total
                .checked_add(record.balance.0)
                .ok_or_else(|| anyhow::anyhow!("balances overflow on {}", client.url()))?;
        }
        first.get_or_insert((proof.height, proof.state_root));
    }
    let (height, root) = first.ok_or_else(|| anyhow::anyhow!("no account to sample"))?;
    Ok(StateSample { height, local_state_root: root, balance_total: Amount(total), assets: Vec::new() })
}

/// The sum of the `byzantine_evidence` counters the node at `address` (`host:port`) exports, or
/// an error if it exports none (a check on a missing counter would prove nothing).
pub fn byzantine_evidence(address: &str) -> anyhow::Result<u64> {
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let values: Vec<u64> = text
        .lines()
        .filter(|line| !line.starts_with('#') && line.contains("byzantine_evidence_total"))
        .map(|line| line.rsplit(' ').next().and_then(|value| value.parse().ok()).unwrap_or(0))
        .collect();
    if values.is_empty() {
        anyhow::bail!("{address} exports no byzantine_evidence counter");
    }
    Ok(values.iter().sum())
}

/// Puts the sampled heights and the records together as the checker's node log.
pub fn node_log(
    name: String,
    blocks: Vec<RecordedBlock>,
    state: Option<StateSample>,
    heights: Vec<(Duration, Height)>,
) -> NodeLog {
    NodeLog { name, honest: true, blocks, states: state.into_iter().collect(), heights }
}
