//! Transaction decoding and mempool admission, per transaction: decoding the wire bytes with
//! limits, then everything `Mempool::submit` does (chain id, the signature check, the sender's
//! account from a reader, the pool's state rules, queueing for gossip).
//!
//! `cargo bench -p formica-mempool --bench admission`

use commonware_codec::{Decode, Encode};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use formica_crypto::{AccountSigner, KeySet, sign_transaction};
use formica_mempool::{AccountReader, Config, Mempool, SenderState};
use formica_types::{
    Account, AccountId, Amount, ChainId, Height, KeyScheme, Nonce, Payload, Transaction, TransactionBody,
    TransactionLimits,
};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

const SENDERS: u64 = 1_000;
const PER_SENDER: u64 = 4;

/// Finalized accounts held in memory (the node reads them from the state database).
#[derive(Clone)]
struct Accounts(Arc<BTreeMap<AccountId, SenderState>>);

impl AccountReader for Accounts {
    async fn account(&self, id: AccountId) -> Result<Option<SenderState>, String> {
        Ok(self.0.get(&id).cloned())
    }
}

fn workload() -> (Accounts, Vec<bytes::Bytes>) {
    let signers: Vec<AccountSigner> = (0..SENDERS).map(|n| AccountSigner::from_seed(KeyScheme::Ed25519, n)).collect();
    let accounts = signers
        .iter()
        .map(|signer| {
            let key = signer.public_key();
            let state = SenderState {
                account: Account::new(key, Amount(1_000_000)),
                keys: KeySet::single(key),
                fee: Amount(1),
                gas: formica_types::GasParameters {
                    price: Amount::ZERO,
                    tx_gas_max: 100_000_000,
                    block_gas_max: 1_000_000_000,
                },
            };
            (signer.account_id(), state)
        })
        .collect();
    let encoded = (0..SENDERS * PER_SENDER)
        .map(|n| {
            let signer = &signers[(n % SENDERS) as usize];
            let body = TransactionBody {
                chain_id: ChainId(1),
                sender: signer.account_id(),
                nonce: Nonce(n / SENDERS),
                expiry_height: Height(1_000),
                fee_limit: Amount(1),
                payload: Payload::Transfer { to: AccountId([7; 32]), amount: Amount(5) },
            };
            sign_transaction(body, &[signer]).encode()
        })
        .collect();
    (Accounts(Arc::new(accounts)), encoded)
}

fn decode(c: &mut Criterion) {
    let (_, encoded) = workload();
    let limits = TransactionLimits::default();
    let mut group = c.benchmark_group("transaction");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decode", |b| {
        b.iter(|| Transaction::decode_cfg(black_box(encoded[0].clone()), &limits).expect("decodes"))
    });
    group.finish();
}

fn admission(c: &mut Criterion) {
    let (accounts, encoded) = workload();
    let limits = TransactionLimits::default();
    let mut group = c.benchmark_group("mempool");
    group.sample_size(10);
    group.throughput(Throughput::Elements(encoded.len() as u64));
    group.bench_function("decode_and_admit", |b| {
        b.iter_batched(
            || {
                let config = Config { transactions_max: 1_000_000, ..Config::default() };
                // The gossip queue is sized to hold every transaction, so queueing is measured too.
                Mempool::new(config, accounts.clone(), ChainId(1), Amount(1), limits, encoded.len())
            },
            |(mempool, queue)| {
                futures::executor::block_on(async {
                    for bytes in &encoded {
                        let transaction = Transaction::decode_cfg(bytes.clone(), &limits).expect("decodes");
                        mempool.submit(transaction).await.expect("admitted");
                    }
                });
                assert_eq!(mempool.len(), encoded.len());
                (mempool, queue)
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, decode, admission);
criterion_main!(benches);
