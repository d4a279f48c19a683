//! Contract calls next to native transfers.
//!
//! `cargo bench -p formica-execution --bench calls` (after `scripts/build-contracts.sh`).
//!
//! `block/*`: blocks of [`BLOCK`] transactions executed the way a validator executes them
//! (`run_with_reads` around `execute_transactions`: the records the transactions name are read
//! first, and every pass that finds records it was not given reads them and runs the block again),
//! with the state in memory (a `BTreeMap`, no database) and signatures already verified (that is
//! batched before execution and counted in neither figure). Throughput is in transactions:
//! - `block/native_transfer`: native `Transfer`s from one sender to distinct recipients.
//! - `block/token_transfer`: the token example's `transfer` (two storage reads, two writes, one
//!   event) from one holder to distinct recipients.
//! - `block/empty_call`: calls of a contract whose entry point does nothing: the floor under every
//!   contract call on chain (instantiation, fuel, journal, fee and nonce).
//!
//! `vm/*`: the same two calls through the VM alone (`formica_vm::testing::TestChain`), without the
//! chain's records, fees and passes.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use formica_contract::{Address, encode};
use formica_crypto::{AccountSigner, sign_transaction};
use formica_execution::contracts::contract_address;
use formica_execution::{
    Admission, ChainParameters, Records, StateOverlay, TransactionRun, apply_genesis, execute_transactions,
    run_with_reads,
};
use formica_state::{StateKey, StateValue};
use formica_types::{
    AccountId, Amount, ApprovalRule, ChainId, ContractAdmin, GasParameters, Height, KeyScheme, Nonce, Payload, Role,
    Transaction, TransactionBody,
};
use formica_vm::testing::TestChain;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::task::{Context as TaskContext, Poll, Waker};

/// Transactions per benchmarked block.
const BLOCK: usize = 200;
const CALL_GAS: u64 = 1_000_000;

fn wasm(name: &str) -> Vec<u8> {
    let repository = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repository.join("target"), PathBuf::from);
    let path = target.join(format!("wasm32-unknown-unknown/release/formica_{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}; run scripts/build-contracts.sh", path.display()))
}

fn empty_module() -> Vec<u8> {
    wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "run")))"#).expect("valid")
}

/// Polls a future whose reads are all ready at once (reads from memory).
fn now<T>(future: impl Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut TaskContext::from_waker(Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("memory reads are ready at once"),
    }
}

/// A chain in memory: its records, its parameters, and the accounts the blocks use.
struct Chain {
    parameters: ChainParameters,
    records: BTreeMap<StateKey, StateValue>,
    height: Height,
    sender: AccountSigner,
    recipients: Vec<AccountId>,
    nonce: u64,
}

impl Chain {
    fn new() -> Self {
        let sender = AccountSigner::from_seed(KeyScheme::Ed25519, 1);
        let collector = AccountSigner::from_seed(KeyScheme::Ed25519, 2);
        let recipients: Vec<AccountSigner> =
            (0..BLOCK as u64).map(|i| AccountSigner::from_seed(KeyScheme::Ed25519, 10 + i)).collect();
        let mut genesis_accounts =
            vec![(sender.public_key(), Amount(u128::MAX / 2)), (collector.public_key(), Amount::ZERO)];
        genesis_accounts.extend(recipients.iter().map(|signer| (signer.public_key(), Amount::ZERO)));
        let parameters = ChainParameters {
            chain_id: ChainId(1),
            fee_per_transaction: Amount(1),
            fee_collector: collector.account_id(),
            block_transactions_max: 10_000,
            genesis_accounts,
            genesis_roles: vec![(sender.account_id(), Role::Deployer)],
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
            // A price above zero, so fees and gas refunds are part of the work measured.
            gas: GasParameters { price: Amount(1), tx_gas_max: 100_000_000, block_gas_max: 1_000_000_000 },
            block_bytes_max: 8 * 1024 * 1024,
        };
        let recipients = recipients.iter().map(AccountSigner::account_id).collect();
        let mut chain = Self { parameters, records: BTreeMap::new(), height: Height(0), sender, recipients, nonce: 0 };
        chain.commit(&[]);
        chain
    }

    /// A transaction from the sender with the next nonce.
    fn transaction(&mut self, payload: Payload) -> Transaction {
        let fee_limit = Amount(1 + u128::from(payload.gas_limit().unwrap_or(0)));
        let body = TransactionBody {
            chain_id: self.parameters.chain_id,
            sender: self.sender.account_id(),
            nonce: Nonce(self.nonce),
            expiry_height: Height(u64::MAX),
            fee_limit,
            payload,
        };
        self.nonce += 1;
        sign_transaction(body, &[&self.sender])
    }

    fn deploy(&mut self, code: Vec<u8>, input: Vec<u8>) -> AccountId {
        let address = contract_address(&self.sender.account_id(), Nonce(self.nonce));
        let payload =
            Payload::Deploy { code, input, admin: ContractAdmin::None, value: Amount::ZERO, gas_limit: 50_000_000 };
        let deploy = self.transaction(payload);
        self.commit(&[deploy]);
        address
    }

    /// Executes a block over the whole state and keeps its changes (setting up, not measured).
    fn commit(&mut self, transactions: &[Transaction]) {
        self.height = Height(self.height.get() + 1);
        let mut overlay = StateOverlay::complete(self.records.clone());
        if self.height == Height(1) {
            apply_genesis(&self.parameters, &mut overlay);
        }
        let receipts = execute_transactions(&self.parameters, self.height, 0, &mut overlay, transactions, |_| {
            unreachable!("a complete overlay lacks nothing")
        })
        .expect("admissible");
        assert!(receipts.iter().all(|receipt| receipt.succeeded()), "{receipts:?}");
        for (key, value) in overlay.into_changes() {
            match value {
                Some(value) => self.records.insert(key, value),
                None => self.records.remove(&key),
            };
        }
    }

    /// Executes the next block as a validator does, reading records from memory; the number of
    /// passes it took.
    fn execute(&self, transactions: &[Transaction]) -> usize {
        let height = Height(self.height.get() + 1);
        let read = |keys: BTreeSet<StateKey>| {
            let records: Records = keys.into_iter().map(|key| (key, self.records.get(&key).cloned())).collect();
            std::future::ready(Ok(records))
        };
        let mut passes = 0;
        let mut run = TransactionRun::new(&self.parameters, height, 0, transactions, Admission::Strict);
        let (_, executed) = now(run_with_reads(&self.parameters, height, transactions, read, |overlay| {
            passes += 1;
            run.resume(overlay)
        }))
        .expect("memory reads do not fail");
        executed.expect("admissible");
        let receipts = run.finish().receipts;
        assert!(receipts.iter().all(|receipt| receipt.succeeded()), "{receipts:?}");
        passes
    }
}

fn block(c: &mut Criterion) {
    let mut chain = Chain::new();
    let token = chain.deploy(wasm("token"), encode(&(String::from("Bench"), String::from("BEN"), u128::MAX / 2)));
    let empty = chain.deploy(empty_module(), Vec::new());
    let recipients = chain.recipients.clone();
    let native: Vec<Transaction> =
        recipients.iter().map(|to| chain.transaction(Payload::Transfer { to: *to, amount: Amount(1) })).collect();
    let token_calls: Vec<Transaction> = recipients
        .iter()
        .map(|to| {
            chain.transaction(Payload::Call {
                contract: token,
                method: "transfer".into(),
                input: encode(&(Address(to.0), 1u128)),
                value: Amount::ZERO,
                gas_limit: CALL_GAS,
            })
        })
        .collect();
    let empty_calls: Vec<Transaction> = (0..BLOCK)
        .map(|_| {
            chain.transaction(Payload::Call {
                contract: empty,
                method: "run".into(),
                input: Vec::new(),
                value: Amount::ZERO,
                gas_limit: CALL_GAS,
            })
        })
        .collect();
    // Each block follows the previous ones' nonces: run them in order once, so that each
    // benchmarked block starts from the state it was signed for.
    let mut group = c.benchmark_group("block");
    group.throughput(Throughput::Elements(BLOCK as u64));
    for (name, transactions) in
        [("native_transfer", native), ("token_transfer", token_calls), ("empty_call", empty_calls)]
    {
        println!("block/{name}: {BLOCK} transactions, {} passes", chain.execute(&transactions));
        group.bench_function(name, |b| b.iter(|| chain.execute(&transactions)));
        chain.commit(&transactions);
    }
    group.finish();
}

fn vm(c: &mut Criterion) {
    let mut chain = TestChain::default();
    let owner = chain.account("owner", 0);
    let empty = chain.deploy(owner, &empty_module(), &[]).expect("deploys");
    let args = (String::from("Bench"), String::from("BEN"), u128::MAX / 2);
    let token = chain.deploy(owner, &wasm("token"), &encode(&args)).expect("deploys");
    let recipients: Vec<Address> = (0..1000u32).map(|i| Address(chain.account(&format!("r{i}"), 0).0)).collect();
    println!("vm/empty_call: {} gas", chain.call(owner, empty, "run", &[], 0).gas_used);
    println!(
        "vm/token_transfer: {} gas",
        chain.call(owner, token, "transfer", &encode(&(recipients[0], 1u128)), 0).gas_used
    );
    let mut group = c.benchmark_group("vm");
    group.throughput(Throughput::Elements(1));
    group.bench_function("empty_call", |b| b.iter(|| chain.call(owner, empty, "run", &[], 0)));
    let mut next = 0usize;
    group.bench_function("token_transfer", |b| {
        b.iter_batched(
            || {
                next = (next + 1) % recipients.len();
                encode(&(recipients[next], 1u128))
            },
            |input| {
                let outcome = chain.call(owner, token, "transfer", &input, 0);
                assert!(outcome.result.is_ok());
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(3));
    targets = block, vm
}
criterion_main!(benches);
