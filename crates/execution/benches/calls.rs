//! Contract calls next to native transfers.
//!
//! `cargo bench -p formica-execution --bench calls` (after `scripts/build-contracts.sh`):
//! - `empty_call`: entering a contract whose entry point does nothing (instantiation, fuel, the
//!   journal): the floor under every contract call.
//! - `token_transfer`: the token example's `transfer` through the VM, changes committed to an
//!   in-memory state (two storage reads, two writes, one event).
//! - `native_transfer`: a native transfer through `formica_execution::apply_transaction` on an
//!   in-memory overlay (admissibility, fee, nonce, the transfer); signatures are not verified
//!   there (that is batched before execution) and are not counted in either figure.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use formica_contract::{Address, encode};
use formica_crypto::{AccountSigner, sign_transaction};
use formica_execution::{ChainParameters, StateOverlay, apply_genesis, apply_transaction};
use formica_types::{Amount, ApprovalRule, ChainId, GasParameters, Height, KeyScheme, Nonce, Payload, TransactionBody};
use formica_vm::testing::TestChain;
use std::path::PathBuf;

fn wasm(name: &str) -> Vec<u8> {
    let repository = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repository.join("target"), PathBuf::from);
    let path = target.join(format!("wasm32-unknown-unknown/release/formica_{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}; run scripts/build-contracts.sh", path.display()))
}

fn empty_call(c: &mut Criterion) {
    let code = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#).expect("valid");
    let mut chain = TestChain::default();
    let alice = chain.account("alice", 0);
    let contract = chain.deploy(alice, &code, &[]).expect("deploys");
    let gas = chain.call(alice, contract, "run", &[], 0).gas_used;
    println!("empty call: {gas} gas");
    let mut group = c.benchmark_group("vm");
    group.throughput(Throughput::Elements(1));
    group.bench_function("empty_call", |b| b.iter(|| chain.call(alice, contract, "run", &[], 0)));
    group.finish();
}

fn token_transfer(c: &mut Criterion) {
    let mut chain = TestChain::default();
    let owner = chain.account("owner", 0);
    let args = (String::from("Bench"), String::from("BEN"), u128::MAX / 2);
    let token = chain.deploy(owner, &wasm("token"), &encode(&args)).expect("deploys");
    let recipients: Vec<Address> = (0..1000u32).map(|i| Address(chain.account(&format!("r{i}"), 0).0)).collect();
    let gas = chain.call(owner, token, "transfer", &encode(&(recipients[0], 1u128)), 0).gas_used;
    println!("token transfer: {gas} gas");
    let mut group = c.benchmark_group("vm");
    group.throughput(Throughput::Elements(1));
    let mut next = 0usize;
    group.bench_function("token_transfer", |b| {
        b.iter(|| {
            next = (next + 1) % recipients.len();
            let outcome = chain.call(owner, token, "transfer", &encode(&(recipients[next], 1u128)), 0);
            assert!(outcome.result.is_ok());
        })
    });
    group.finish();
}

fn native_transfer(c: &mut Criterion) {
    let sender = AccountSigner::from_seed(KeyScheme::Ed25519, 1);
    let collector = AccountSigner::from_seed(KeyScheme::Ed25519, 2);
    let recipients: Vec<AccountSigner> =
        (0..1000).map(|i| AccountSigner::from_seed(KeyScheme::Ed25519, 10 + i)).collect();
    let mut genesis_accounts =
        vec![(sender.public_key(), Amount(u128::MAX / 2)), (collector.public_key(), Amount::ZERO)];
    genesis_accounts.extend(recipients.iter().map(|signer| (signer.public_key(), Amount::ZERO)));
    let parameters = ChainParameters {
        chain_id: ChainId(1),
        fee_per_transaction: Amount(1),
        fee_collector: collector.account_id(),
        block_transactions_max: 10_000,
        genesis_accounts,
        genesis_roles: Vec::new(),
        recovery_delay_min_blocks: 10,
        frozen_accounts_receive: true,
        genesis_organisations: Vec::new(),
        approval_rule: ApprovalRule::TWO_THIRDS,
        proposal_expiry_blocks_max: 1000,
        account_creation_members_only: false,
        genesis_nodes: formica_types::NodeSet::default(),
        epoch_blocks: u64::MAX,
        consensus_timeouts: Default::default(),
        api_members_only: false,
        gas: GasParameters { price: Amount::ZERO, tx_gas_max: 100_000_000, block_gas_max: 400_000_000 },
        block_bytes_max: 8 * 1024 * 1024,
    };
    let mut overlay = StateOverlay::complete(Default::default());
    apply_genesis(&parameters, &mut overlay);
    // Signed up front: execution trusts signatures checked in batches before it.
    let body = TransactionBody {
        chain_id: ChainId(1),
        sender: sender.account_id(),
        nonce: Nonce(0),
        expiry_height: Height(u64::MAX),
        fee_limit: Amount(1),
        payload: Payload::Transfer { to: recipients[7].account_id(), amount: Amount(1) },
    };
    let transaction = sign_transaction(body, &[&sender]);
    let mut group = c.benchmark_group("native");
    group.throughput(Throughput::Elements(1));
    // Each iteration applies the transfer to a fresh copy of the post-genesis state (the copy is
    // made outside the measurement).
    group.bench_function("transfer", |b| {
        b.iter_batched(
            || overlay.clone(),
            |mut overlay| {
                let receipt =
                    apply_transaction(&parameters, Height(2), 0, &mut overlay, &transaction).expect("admissible");
                assert!(receipt.succeeded());
                overlay
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(3));
    targets = empty_call, token_transfer, native_transfer
}
criterion_main!(benches);
