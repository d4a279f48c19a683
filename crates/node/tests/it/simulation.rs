//! Four validators on the simulated network finalize blocks of real transactions (transfers,
//! identity, governance, contract deployments and calls) and agree on every state root.

use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use commonware_p2p::Manager as _;
use commonware_p2p::simulated::{self, Link, Network};
use commonware_runtime::{Clock, Metrics, Quota, Runner as _, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, ordered::Set};
use formica_consensus::engine::{self, Channels, Timeouts};
use formica_crypto::AccountSigner;
use formica_node::{Chain, Validator, ValidatorConfig, validator};
use formica_types::*;
use std::time::Duration;

const VALIDATORS: u64 = 4;
const DEV_SEED: u64 = 1_000;

fn genesis(validators: &[PrivateKey]) -> Genesis {
    let dev = PrivateKey::from_seed(DEV_SEED).public_key();
    Genesis {
        chain_id: ChainId(77),
        timestamp_ms: 0,
        validators: validators
            .iter()
            .enumerate()
            .map(|(index, key)| GenesisValidator {
                name: format!("org-{index}"),
                public_key: public_key_to_hex(&key.public_key()),
                p2p_address: format!("127.0.0.1:{}", 30_000 + index),
            })
            .collect(),
        accounts: vec![GenesisAccount { public_key: public_key_to_hex(&dev), balance: Amount(1_000_000_000) }],
        fee_per_transaction: Amount(1),
        fee_collector: AccountId::from_public_key(&dev),
        block_transactions_max: 500,
        roles: vec![
            GenesisRole { account: AccountId::from_public_key(&dev), role: Role::Regulator },
            GenesisRole { account: AccountId::from_public_key(&dev), role: Role::Deployer },
        ],
        recovery_delay_min_blocks: Genesis::RECOVERY_DELAY_MIN_BLOCKS_DEFAULT,
        frozen_accounts_receive: true,
        organisations: vec![GenesisOrganisation {
            name: OrgName::new("org-dev").expect("short name"),
            admins: vec![AccountId::from_public_key(&dev)],
            admin_threshold: 1,
        }],
        approval_rule: ApprovalRule::TWO_THIRDS,
        proposal_expiry_blocks_max: Genesis::PROPOSAL_EXPIRY_BLOCKS_MAX_DEFAULT,
        account_creation_members_only: false,
        epoch_blocks: Genesis::EPOCH_BLOCKS_DEFAULT,
        consensus_timeouts: ConsensusTimeouts::default(),
        api_members_only: false,
        gas_price: formica_types::Amount::ZERO,
        tx_gas_max: Genesis::TX_GAS_MAX_DEFAULT,
        block_gas_max: Genesis::BLOCK_GAS_MAX_DEFAULT,
        block_bytes_max: Genesis::BLOCK_BYTES_MAX_DEFAULT,
    }
}

/// A signed transfer from the dev account to a fresh account derived from `to_seed`.
fn create_account(nonce: u64, to_seed: u64) -> Transaction {
    let dev = PrivateKey::from_seed(DEV_SEED);
    TransactionBody {
        chain_id: ChainId(77),
        sender: AccountId::from_public_key(&dev.public_key()),
        nonce: Nonce(nonce),
        expiry_height: Height(10_000),
        fee_limit: Amount(1),
        payload: Payload::CreateAccount {
            public_key: PrivateKey::from_seed(to_seed).public_key().into(),
            initial_balance: Amount(1_000 + to_seed as u128),
        },
    }
    .sign(&[&dev])
}

/// A transaction from the account `sender`, signed by `signers`.
fn signed(sender: AccountId, nonce: u64, payload: Payload, signers: &[&AccountSigner]) -> Transaction {
    let body = TransactionBody {
        chain_id: ChainId(77),
        sender,
        nonce: Nonce(nonce),
        expiry_height: Height(10_000),
        fee_limit: Amount(1),
        payload,
    };
    formica_crypto::sign_transaction(body, signers)
}

/// Waits until every validator has every one of `transactions` final.
async fn wait_final(
    context: &deterministic::Context,
    validators: &[Validator<deterministic::Context>],
    transactions: &[Transaction],
) {
    let mut waited = Duration::ZERO;
    loop {
        let done = validators.iter().all(|validator| {
            transactions
                .iter()
                .all(|transaction| validator.indexes.transaction(&transaction.hash()).expect("index reads").is_some())
        });
        if done {
            return;
        }
        assert!(waited < Duration::from_secs(120), "transactions not final after {waited:?}");
        context.sleep(Duration::from_millis(200)).await;
        waited += Duration::from_millis(200);
    }
}

async fn start_network(
    context: &deterministic::Context,
    keys: &[PrivateKey],
    directory: &std::path::Path,
) -> Vec<Validator<deterministic::Context>> {
    start_network_with(context, keys, genesis(keys), directory).await
}

async fn start_network_with(
    context: &deterministic::Context,
    keys: &[PrivateKey],
    genesis: Genesis,
    directory: &std::path::Path,
) -> Vec<Validator<deterministic::Context>> {
    let chain = Chain::from_genesis(genesis).expect("valid genesis");
    let limits = validator::block_limits(&chain);
    let (network, oracle) = Network::new(
        context.child("network"),
        simulated::Config {
            max_size: engine::max_message_bytes(&limits),
            max_peers_per_set: NZUsize!(16),
            disconnect_on_block: true,
            tracked_peer_sets: NZUsize!(1),
        },
    );
    network.start();
    let participants = Set::from_iter_dedup(keys.iter().map(|key| key.public_key()));
    oracle.manager().track(0, participants);
    let quota = Quota::per_second(NZU32!(10_000));
    let mut validators = Vec::new();
    for (index, key) in keys.iter().enumerate() {
        let control = oracle.control(key.public_key());
        let channel = async |id| control.register(id, quota).await.expect("channel registers");
        let channels = Channels {
            votes: channel(engine::CHANNEL_VOTES).await,
            certificates: channel(engine::CHANNEL_CERTIFICATES).await,
            resolver: channel(engine::CHANNEL_RESOLVER).await,
            backfill: channel(engine::CHANNEL_BACKFILL).await,
            broadcast: channel(engine::CHANNEL_BROADCAST).await,
            state_sync: channel(engine::CHANNEL_STATE_SYNC).await,
        };
        let gossip = channel(engine::CHANNEL_TRANSACTIONS).await;
        let config = ValidatorConfig {
            signer: key.clone(),
            index_directory: directory.join(format!("validator-{index}")),
            partition_prefix: format!("validator-{index}"),
            mempool: formica_mempool::Config::default(),
            timeouts: Timeouts::default(),
            mailbox_size: NZUsize!(1_024),
            retained_blocks: 1_000,
            page_cache_mib: NZUsize!(32),
            gossip_queue: 1_024,
            subscriber_buffer: 64,
            faults: formica_consensus::FaultInjection::NONE,
        };
        let validator = validator::start(
            context.child("validator").with_attribute("index", index),
            chain.clone(),
            config,
            channels,
            gossip,
            oracle.manager(),
            control.clone(),
            formica_consensus::epochs::KeyedPeers(oracle.manager()),
        )
        .await
        .expect("validator starts");
        validators.push(validator);
    }
    let link = Link {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        success_rate: commonware_utils::probability!(1.0),
    };
    for from in keys {
        for to in keys {
            if from.public_key() != to.public_key() {
                oracle.add_link(from.public_key(), to.public_key(), link.clone()).await.expect("link");
            }
        }
    }
    validators
}

#[test]
fn four_validators_finalize_real_transactions_and_agree_on_state_roots() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().to_path_buf();
    let runner = deterministic::Runner::timed(Duration::from_secs(600));
    runner.start(|context| async move {
        let keys: Vec<PrivateKey> = (0..VALIDATORS).map(PrivateKey::from_seed).collect();
        let validators = start_network(&context, &keys, &path).await;

        // Let the chain start, then submit through different validators' mempools: gossip must
        // carry each transaction to whichever validator leads.
        context.sleep(Duration::from_secs(2)).await;
        let transactions: Vec<Transaction> = (0..40).map(|nonce| create_account(nonce, 10_000 + nonce)).collect();
        for (index, transaction) in transactions.iter().enumerate() {
            let validator = &validators[index % validators.len()];
            // Nonces ahead of the finalized one are admitted (within the window).
            validator.mempool.submit(transaction.clone()).await.expect("admitted");
        }

        wait_final(&context, &validators, &transactions).await;

        // Every validator holds the same block (hash, state root) at every height it finalized.
        let lowest_head = validators.iter().map(|validator| validator.head.get().height).min().expect("validators");
        assert!(lowest_head >= Height(2), "chain advanced");
        for height in 1..=lowest_head.get() {
            let blocks: Vec<Block> = validators
                .iter()
                .map(|validator| validator.indexes.block_by_height(Height(height)).expect("reads").expect("indexed"))
                .collect();
            for block in &blocks[1..] {
                assert_eq!(block.hash(), blocks[0].hash(), "same block at height {height}");
                assert_eq!(block.header.state_root, blocks[0].header.state_root, "same state root at {height}");
            }
        }

        // Every receipt succeeded, and the created accounts are provable against a finalized root.
        for transaction in &transactions {
            let (_, _, receipt) =
                validators[0].indexes.transaction(&transaction.hash()).expect("reads").expect("final");
            assert!(receipt.succeeded(), "receipt {receipt:?}");
        }
        let created = AccountId::from_public_key(&PrivateKey::from_seed(10_005).public_key());
        let (account, proof, head) = loop {
            if let Some(answer) =
                validator::prove_account(&validators[1].state, &validators[1].head, created).await.expect("proves")
            {
                break answer;
            }
            context.sleep(Duration::from_millis(10)).await;
        };
        let account = account.expect("account exists");
        assert_eq!(account.balance, Amount(1_000 + 10_005));
        assert!(formica_state::verify_account_proof(&created, &account, &proof, &head.state_root));
        let mut forged = account.clone();
        forged.balance = Amount(1_000_000);
        assert!(!formica_state::verify_account_proof(&created, &forged, &proof, &head.state_root), "forgery fails");

        // Conservation: the dev account paid out exactly what the new accounts hold (fees went
        // back to the dev account, the fee collector).
        let dev = AccountId::from_public_key(&PrivateKey::from_seed(DEV_SEED).public_key());
        let mut total = Amount::ZERO;
        for id in std::iter::once(dev)
            .chain((0..40).map(|n| AccountId::from_public_key(&PrivateKey::from_seed(10_000 + n).public_key())))
        {
            let account = formica_mempool::AccountReader::account(&validators[2].state, id)
                .await
                .expect("reads")
                .expect("exists");
            total = total.checked_add(account.account.balance).expect("no overflow");
        }
        assert_eq!(total, Amount(1_000_000_000), "value is conserved");

        // Identity on the running network: account 10_001 adds an SM2 key and needs both keys
        // from then on; the dev account (a regulator) freezes account 10_002.
        let owner = AccountSigner::from(PrivateKey::from_seed(10_001));
        let second = AccountSigner::from_seed(KeyScheme::Sm2, 77);
        let frozen = AccountSigner::from(PrivateKey::from_seed(10_002));
        let dev_signer = AccountSigner::from(PrivateKey::from_seed(DEV_SEED));
        let setup = vec![
            signed(owner.account_id(), 0, Payload::AddKey { key: second.public_key(), weight: 1 }, &[&owner]),
            signed(owner.account_id(), 1, Payload::SetThreshold { threshold: 2 }, &[&owner]),
            signed(dev, 40, Payload::Freeze { account: frozen.account_id() }, &[&dev_signer]),
        ];
        for (index, transaction) in setup.iter().enumerate() {
            validators[index % validators.len()].mempool.submit(transaction.clone()).await.expect("admitted");
        }
        wait_final(&context, &validators, &setup).await;
        let pay = |nonce, signers: &[&AccountSigner]| {
            signed(owner.account_id(), nonce, Payload::Transfer { to: dev, amount: Amount(5) }, signers)
        };
        assert!(matches!(
            validators[1].mempool.submit(pay(2, &[&owner])).await,
            Err(formica_mempool::AdmissionError::Unauthorised(_))
        ));
        let both = pay(2, &[&owner, &second]);
        validators[3].mempool.submit(both.clone()).await.expect("two keys reach the threshold");
        let from_frozen = signed(frozen.account_id(), 0, Payload::Transfer { to: dev, amount: Amount(1) }, &[&frozen]);
        assert!(matches!(
            validators[0].mempool.submit(from_frozen).await,
            Err(formica_mempool::AdmissionError::SenderFrozen(_))
        ));
        wait_final(&context, &validators, std::slice::from_ref(&both)).await;
        for validator in &validators {
            let details = validator.state.details(owner.account_id()).await.expect("reads").expect("exists");
            assert_eq!((details.keys.len(), details.account.threshold), (2, 2));
            let frozen = validator.state.details(frozen.account_id()).await.expect("reads").expect("exists");
            assert_eq!(frozen.account.status(), AccountStatus::Frozen);
        }
        let (_, _, receipt) = validators[2].indexes.transaction(&both.hash()).expect("reads").expect("final");
        assert!(receipt.succeeded(), "{receipt:?}");

        // Governance: the only member grants a role by proposal (one of one members passes it).
        let grant = Payload::Propose {
            action: Box::new(GovernanceAction::GrantRole { account: owner.account_id(), role: Role::Issuer }),
            expiry_blocks: 100,
        };
        let proposal = signed(dev, 41, grant, &[&dev_signer]);
        validators[2].mempool.submit(proposal.clone()).await.expect("admitted");
        wait_final(&context, &validators, std::slice::from_ref(&proposal)).await;
        for validator in &validators {
            let details = validator.state.details(owner.account_id()).await.expect("reads").expect("exists");
            assert_eq!(details.roles, vec![Role::Issuer], "granted by the proposal");
        }
        let _ = context.encode();
    });
}

/// Consensus runs ahead of finalization: a leader builds on a parent its pool has not seen
/// finalized. With more pending than a block holds, the proposer must skip what that parent
/// carries, or it gets the parent's transactions again and its block is nearly empty (under
/// load, every other block was).
#[test]
fn a_full_pool_fills_consecutive_blocks() {
    const BLOCK_MAX: u32 = 50;
    const SENDERS: u64 = 40;
    const PER_SENDER: u64 = 10;
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().to_path_buf();
    let runner = deterministic::Runner::timed(Duration::from_secs(600));
    runner.start(|context| async move {
        let keys: Vec<PrivateKey> = (0..VALIDATORS).map(PrivateKey::from_seed).collect();
        let senders: Vec<PrivateKey> = (0..SENDERS).map(|seed| PrivateKey::from_seed(20_000 + seed)).collect();
        let mut genesis = genesis(&keys);
        genesis.block_transactions_max = BLOCK_MAX;
        genesis.accounts.extend(senders.iter().map(|key| GenesisAccount {
            public_key: public_key_to_hex(&key.public_key()),
            balance: Amount(1_000_000),
        }));
        let validators = start_network_with(&context, &keys, genesis, &path).await;
        context.sleep(Duration::from_secs(2)).await;

        let dev = AccountId::from_public_key(&PrivateKey::from_seed(DEV_SEED).public_key());
        let mut transactions = Vec::new();
        for nonce in 0..PER_SENDER {
            for key in &senders {
                let signer = AccountSigner::from(key.clone());
                let payload = Payload::Transfer { to: dev, amount: Amount(1) };
                transactions.push(signed(signer.account_id(), nonce, payload, &[&signer]));
            }
        }
        // All pending at once, on one validator; gossip gives the others the same pool.
        let submitted = futures::future::join_all(
            transactions.iter().map(|transaction| validators[0].mempool.submit(transaction.clone())),
        )
        .await;
        assert!(submitted.iter().all(Result::is_ok), "every transfer is admitted");
        wait_final(&context, &validators, &transactions).await;

        let mut heights = std::collections::BTreeSet::new();
        for transaction in &transactions {
            let (_, location, _) =
                validators[0].indexes.transaction(&transaction.hash()).expect("reads").expect("final");
            heights.insert(location.height);
        }
        let full_blocks = (SENDERS * PER_SENDER).div_ceil(u64::from(BLOCK_MAX));
        let span = heights.last().expect("some").get() - heights.first().expect("some").get() + 1;
        assert!(
            span <= full_blocks + 3,
            "{} transfers took {span} blocks (heights {heights:?}); {full_blocks} full blocks hold them",
            SENDERS * PER_SENDER
        );
    });
}

/// The compiled example contract `name`; fails, never skips, if the contracts are not built.
fn wasm(name: &str) -> Vec<u8> {
    let repository = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repository.join("target"), std::path::PathBuf::from);
    let target = if target.is_relative() { repository.join(target) } else { target };
    let path = target.join(format!("wasm32-unknown-unknown/release/formica_{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}; run scripts/build-contracts.sh", path.display()))
}

#[test]
fn four_validators_run_contract_calls_and_agree_on_state_roots() {
    use formica_contract::{Address, encode};
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().to_path_buf();
    let runner = deterministic::Runner::timed(Duration::from_secs(600));
    runner.start(|context| async move {
        let keys: Vec<PrivateKey> = (0..VALIDATORS).map(PrivateKey::from_seed).collect();
        let validators = start_network(&context, &keys, &path).await;
        context.sleep(Duration::from_secs(2)).await;
        let dev_signer = AccountSigner::from(PrivateKey::from_seed(DEV_SEED));
        let dev = dev_signer.account_id();
        let token = formica_execution::contracts::contract_address(&dev, Nonce(0));
        let bob = AccountId([7; 32]);
        let deploy = Payload::Deploy {
            code: wasm("token"),
            input: encode(&(String::from("Sim Dollar"), String::from("SIM"), 1_000_000u128)),
            admin: ContractAdmin::Account(dev),
            value: Amount::ZERO,
            gas_limit: 50_000_000,
        };
        let transfer = |amount: u128| Payload::Call {
            contract: token,
            method: "transfer".into(),
            input: encode(&(Address(bob.0), amount)),
            value: Amount::ZERO,
            gas_limit: 5_000_000,
        };
        // A deployment, two transfers and one that reverts, through different mempools.
        let transactions = vec![
            signed(dev, 0, deploy, &[&dev_signer]),
            signed(dev, 1, transfer(250), &[&dev_signer]),
            signed(dev, 2, transfer(1_000_000), &[&dev_signer]),
            signed(dev, 3, transfer(50), &[&dev_signer]),
        ];
        for (index, transaction) in transactions.iter().enumerate() {
            validators[index % validators.len()].mempool.submit(transaction.clone()).await.expect("admitted");
        }
        wait_final(&context, &validators, &transactions).await;

        let lowest_head = validators.iter().map(|validator| validator.head.get().height).min().expect("validators");
        for height in 1..=lowest_head.get() {
            let blocks: Vec<Block> = validators
                .iter()
                .map(|validator| validator.indexes.block_by_height(Height(height)).expect("reads").expect("indexed"))
                .collect();
            for block in &blocks[1..] {
                assert_eq!(block.header.state_root, blocks[0].header.state_root, "same state root at {height}");
                assert_eq!(block.header.receipts_root, blocks[0].header.receipts_root, "same receipts at {height}");
            }
        }
        let receipts: Vec<Receipt> = transactions
            .iter()
            .map(|transaction| validators[1].indexes.transaction(&transaction.hash()).expect("reads").expect("final").2)
            .collect();
        assert!(receipts[0].succeeded() && receipts[1].succeeded() && receipts[3].succeeded(), "{receipts:?}");
        assert!(
            matches!(&receipts[2].outcome, Outcome::Failure { code: FailureCode::ContractFailed, message }
                if message.contains("InsufficientBalance")),
            "{:?}",
            receipts[2]
        );
        assert!(receipts.iter().all(|receipt| receipt.gas_used > 0));
        assert_eq!(receipts[1].events.len(), 1);
        assert_eq!(receipts[1].events[0].topics[2], bob.0, "the recipient is the second indexed field");

        // Every validator answers a query of the token from its own finalized state.
        for validator in &validators {
            let state = &validator.state;
            let read = |wanted: std::collections::BTreeSet<formica_state::StateKey>| async move {
                let wanted: Vec<_> = wanted.into_iter().collect();
                let values = state.records(&wanted).await?;
                Ok::<_, String>(wanted.into_iter().zip(values).collect::<Vec<_>>())
            };
            let context = formica_execution::contracts::Context { origin: bob, height: 0, timestamp_ms: 0 };
            let call = formica_execution::contracts::Call {
                caller: bob,
                contract: token,
                method: "balance_of".into(),
                input: encode(&(Address(bob.0),)),
                value: 0,
                gas_limit: 5_000_000,
            };
            let outcome = formica_execution::contracts::query(read, context, call).await.expect("reads");
            let balance: u128 = formica_contract::decode(&outcome.result.expect("queries")).expect("decodes");
            assert_eq!(balance, 300);
        }
    });
}
