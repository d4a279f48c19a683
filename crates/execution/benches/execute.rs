//! Block execution per transaction: native transfers applied to an in-memory overlay holding
//! every account (the pure state transition, without reading or writing the database), by block
//! size.
//!
//! `cargo bench -p formica-execution --bench execute`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use formica_crypto::{AccountSigner, sign_transaction};
use formica_execution::{ChainParameters, StateOverlay, apply_genesis, execute_transactions};
use formica_types::{
    AccountKey, Amount, ApprovalRule, ChainId, GasParameters, Height, KeyScheme, Nonce, Payload, Transaction,
    TransactionBody,
};
use std::collections::BTreeMap;
use std::hint::black_box;

const ACCOUNTS: u64 = 10_000;

fn parameters(keys: &[AccountKey]) -> ChainParameters {
    ChainParameters {
        chain_id: ChainId(1),
        fee_per_transaction: Amount(1),
        fee_collector: keys[0].account_id(),
        block_transactions_max: 50_000,
        genesis_accounts: keys.iter().map(|key| (*key, Amount(1_000_000_000))).collect(),
        genesis_roles: Vec::new(),
        recovery_delay_min_blocks: 10,
        frozen_accounts_receive: true,
        genesis_organisations: Vec::new(),
        approval_rule: ApprovalRule::TWO_THIRDS,
        proposal_expiry_blocks_max: 1_000,
        account_creation_members_only: false,
        // Execution of ordinary blocks never reads the registry (only epoch-end blocks do).
        genesis_nodes: formica_types::NodeSet::default(),
        epoch_blocks: u64::MAX,
        consensus_timeouts: Default::default(),
        api_members_only: false,
        gas: GasParameters { price: Amount::ZERO, tx_gas_max: 100_000_000, block_gas_max: 400_000_000 },
        block_bytes_max: 8 * 1024 * 1024,
    }
}

/// `count` transfers, sender i % ACCOUNTS with consecutive nonces, to the next account.
fn transfers(signers: &[AccountSigner], count: u64) -> Vec<Transaction> {
    (0..count)
        .map(|n| {
            let sender = (n % ACCOUNTS) as usize;
            let body = TransactionBody {
                chain_id: ChainId(1),
                sender: signers[sender].account_id(),
                nonce: Nonce(n / ACCOUNTS),
                expiry_height: Height(1_000),
                fee_limit: Amount(1),
                payload: Payload::Transfer {
                    to: signers[(sender + 1) % signers.len()].account_id(),
                    amount: Amount(5),
                },
            };
            sign_transaction(body, &[&signers[sender]])
        })
        .collect()
}

fn execute(c: &mut Criterion) {
    let signers: Vec<AccountSigner> = (0..ACCOUNTS).map(|n| AccountSigner::from_seed(KeyScheme::Ed25519, n)).collect();
    let keys: Vec<AccountKey> = signers.iter().map(AccountSigner::public_key).collect();
    let parameters = parameters(&keys);
    let mut genesis = StateOverlay::complete(BTreeMap::new());
    apply_genesis(&parameters, &mut genesis);
    let genesis = StateOverlay::complete(
        genesis.into_changes().into_iter().filter_map(|(key, value)| Some((key, value?))).collect(),
    );
    let mut group = c.benchmark_group("execute_transfers");
    group.sample_size(20);
    for count in [100u64, 1_000, 10_000] {
        let transactions = transfers(&signers, count);
        group.throughput(Throughput::Elements(count));
        group.bench_with_input(BenchmarkId::from_parameter(count), &transactions, |b, transactions| {
            b.iter_batched(
                || genesis.clone(),
                |mut overlay| {
                    let receipts =
                        execute_transactions(&parameters, Height(2), 0, &mut overlay, black_box(transactions), |_| {
                            unreachable!("every record is in the overlay")
                        })
                        .expect("every transfer is admissible");
                    assert_eq!(receipts.len(), transactions.len());
                    overlay
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, execute);
criterion_main!(benches);
