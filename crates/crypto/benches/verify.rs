//! Signature verification per scheme: one transaction checked on its own, and blocks of
//! transactions through `verify_batch` (Ed25519 batched; SM2 and secp256k1 one by one).
//!
//! `cargo bench -p formica-crypto --bench verify`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use formica_crypto::{AccountSigner, sign_transaction, verify_batch, verify_individually};
use formica_types::{AccountId, Amount, ChainId, Height, KeyScheme, Nonce, Payload, Transaction, TransactionBody};
use std::hint::black_box;

fn transactions(scheme: KeyScheme, count: u64) -> Vec<Transaction> {
    (0..count)
        .map(|n| {
            let signer = AccountSigner::from_seed(scheme, n);
            let body = TransactionBody {
                chain_id: ChainId(1),
                sender: signer.account_id(),
                nonce: Nonce(n),
                expiry_height: Height(1_000),
                fee_limit: Amount(1),
                payload: Payload::Transfer { to: AccountId([7; 32]), amount: Amount(5) },
            };
            sign_transaction(body, &[&signer])
        })
        .collect()
}

fn single(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify_one");
    for scheme in KeyScheme::ALL {
        let transaction = transactions(scheme, 1).remove(0);
        group.bench_function(scheme.name(), |b| b.iter(|| assert!(verify_individually(black_box(&transaction)))));
    }
    group.finish();
}

fn batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify_batch");
    group.sample_size(20);
    let mut rng = commonware_utils::test_rng();
    for scheme in KeyScheme::ALL {
        for size in [64u64, 1024] {
            let block = transactions(scheme, size);
            let references: Vec<&Transaction> = block.iter().collect();
            group.throughput(Throughput::Elements(size));
            group.bench_with_input(BenchmarkId::new(scheme.name(), size), &references, |b, references| {
                b.iter(|| assert!(verify_batch(&mut rng, black_box(references)).iter().all(|ok| *ok)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, single, batch);
criterion_main!(benches);
