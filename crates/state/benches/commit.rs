//! The state database on disk (QMDB `current`, as the node configures it):
//! - committing one block's writes, by batch size and state size: merkleize, apply, commit;
//! - generating an account proof, and verifying one.
//!
//! Each sample opens a fresh database in a temporary folder and fills it to the state size first
//! (not timed).
//!
//! `cargo bench -p formica-state --bench commit`

use commonware_runtime::{Runner as _, Supervisor as _, buffer::paged::CacheRef, tokio};
use commonware_storage::qmdb::floor::Proportional;
use commonware_utils::{NZU16, NZUsize};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use formica_state::{StateDb, StateKey, StateValue, encode_account_proof, state_config, verify_account_proof};
use formica_types::{Account, AccountId, AccountKey, Amount, KeyScheme};
use std::time::{Duration, Instant};

type Db = StateDb<tokio::Context>;

fn id(index: u64) -> AccountId {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&index.to_be_bytes());
    AccountId(bytes)
}

fn account(index: u64, balance: u128) -> Account {
    let mut key = [1u8; 32];
    key[..8].copy_from_slice(&index.to_be_bytes());
    Account::new(AccountKey::new(KeyScheme::Ed25519, &key).expect("32 bytes"), Amount(balance))
}

/// Runs `body` on a fresh database holding `accounts` accounts, in a tokio runtime whose storage
/// is a temporary folder.
fn with_db<T, F, Fut>(accounts: u64, body: F) -> T
where
    T: Send + 'static,
    F: FnOnce(Db) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T> + Send,
{
    let directory = tempfile::tempdir().expect("temp dir");
    let config = tokio::Config::new().with_storage_directory(directory.path());
    tokio::Runner::new(config).start(|context| async move {
        let page_cache = CacheRef::new(NZU16!(4_096), NZUsize!(8_192));
        let db = Db::init(context.child("state"), state_config("bench", page_cache), None).await.expect("opens");
        let mut db = db;
        // Fill in chunks the size of large blocks.
        for start in (0..accounts).step_by(50_000) {
            let mut batch = db.new_batch();
            for index in start..(start + 50_000).min(accounts) {
                batch =
                    batch.write(StateKey::Account(id(index)).hash(), Some(StateValue::Account(account(index, 1_000))));
            }
            let batch = batch.merkleize(&db, None, &mut Proportional).await.expect("merkleizes");
            db = db.apply_batch(batch).await.expect("applies").commit().await.expect("commits");
        }
        body(db).await
    })
}

fn commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("state_commit");
    group.sample_size(10);
    for accounts in [10_000u64, 100_000] {
        for batch_size in [100u64, 1_000, 10_000] {
            group.throughput(Throughput::Elements(batch_size));
            let id_text = format!("{accounts}_accounts/{batch_size}_writes");
            group.bench_function(BenchmarkId::from_parameter(id_text), |b| {
                b.iter_custom(|iterations| {
                    with_db(accounts, move |mut db| async move {
                        let mut elapsed = Duration::ZERO;
                        for iteration in 0..iterations {
                            // A transfer block touches scattered accounts: stride through the state.
                            let started = Instant::now();
                            let mut batch = db.new_batch();
                            for n in 0..batch_size {
                                let index = (iteration * batch_size + n).wrapping_mul(7_919) % accounts;
                                let value = StateValue::Account(account(index, u128::from(iteration) + 2));
                                batch = batch.write(StateKey::Account(id(index)).hash(), Some(value));
                            }
                            let batch = batch.merkleize(&db, None, &mut Proportional).await.expect("merkleizes");
                            db = db.apply_batch(batch).await.expect("applies").commit().await.expect("commits");
                            elapsed += started.elapsed();
                        }
                        elapsed
                    })
                })
            });
        }
    }
    group.finish();
}

fn proofs(c: &mut Criterion) {
    const ACCOUNTS: u64 = 100_000;
    let mut group = c.benchmark_group("account_proof");
    group.sample_size(10);
    group.bench_function("generate_100k_accounts", |b| {
        b.iter_custom(|iterations| {
            with_db(ACCOUNTS, move |db| async move {
                let started = Instant::now();
                for iteration in 0..iterations {
                    let key = StateKey::Account(id(iteration.wrapping_mul(7_919) % ACCOUNTS)).hash();
                    std::hint::black_box(db.key_value_proof(key).await.expect("proves"));
                }
                started.elapsed()
            })
        })
    });
    let (proof, root) = with_db(ACCOUNTS, |db| async move {
        let key = StateKey::Account(id(4_242)).hash();
        (encode_account_proof(&db.key_value_proof(key).await.expect("proves")), db.root())
    });
    let expected = account(4_242, 1_000);
    group.bench_function("verify_100k_accounts", |b| {
        b.iter(|| assert!(verify_account_proof(&id(4_242), &expected, std::hint::black_box(&proof), &root)))
    });
    group.finish();
}

criterion_group!(benches, commit, proofs);
criterion_main!(benches);
