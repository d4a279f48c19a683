//! One validator, composed: mempool, indexes, consensus engine and transaction gossip. Generic
//! over the runtime and the p2p layer, so the same code runs in production and in simulation.

use crate::chain::Chain;
use commonware_cryptography::{Signer as _, ed25519};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_runtime::{Clock, Metrics, Spawner, Storage};
use formica_consensus::{
    FaultInjection, FinalizedObserver, TransactionSource,
    engine::{self, Channels, Engine, Timeouts},
};
use formica_crypto::KeySet;
use formica_mempool::{AccountReader, Mempool, SenderState};
use formica_rpc::{AccountDetails, FinalizedBlock};
use formica_state::{Indexes, StateDatabases, StateKey, StateValue};
use formica_types::{
    Account, AccountId, Block, BlockLimits, Hash, Height, PublicKey, Receipt, Role, TransactionLimits,
};
use std::{
    collections::BTreeMap,
    num::NonZeroUsize,
    path::PathBuf,
    sync::{Arc, OnceLock, RwLock},
};
use tokio::sync::broadcast;

/// How a validator is set up (beyond the chain itself).
#[derive(Clone, Debug)]
pub struct ValidatorConfig {
    pub signer: ed25519::PrivateKey,
    /// Where the fjall indexes live (a real directory, also in simulation).
    pub index_directory: PathBuf,
    /// Prefix of every storage partition in the runtime's storage.
    pub partition_prefix: String,
    pub mempool: formica_mempool::Config,
    pub timeouts: Timeouts,
    pub mailbox_size: NonZeroUsize,
    /// Finalized blocks marshal keeps for peers catching up.
    pub retained_blocks: usize,
    /// The page cache every store shares, in MiB.
    pub page_cache_mib: NonZeroUsize,
    /// Transactions waiting to be gossiped.
    pub gossip_queue: usize,
    /// Finalized blocks buffered for each RPC subscriber.
    pub subscriber_buffer: usize,
    /// Deliberate bugs, set only by the simulation's tests of its own checker.
    pub faults: FaultInjection,
}

/// The latest finalized block as the node has recorded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub height: Height,
    pub hash: Hash,
    pub state_root: Hash,
}

/// How many recent state roots are remembered (to answer proofs for a consistent block).
const RECENT_ROOTS: usize = 256;

/// The chain head and the recent state roots, shared between the observer and RPC.
#[derive(Clone, Debug)]
pub struct ChainHead(Arc<RwLock<(Head, BTreeMap<Hash, Head>)>>);

impl ChainHead {
    fn new(head: Head) -> Self {
        Self(Arc::new(RwLock::new((head, BTreeMap::from([(head.state_root, head)])))))
    }

    /// The latest finalized block recorded.
    pub fn get(&self) -> Head {
        self.0.read().expect("head lock is never poisoned").0
    }

    /// The block whose state root is `root`, if it is recent.
    pub fn by_state_root(&self, root: &Hash) -> Option<Head> {
        self.0.read().expect("head lock is never poisoned").1.get(root).copied()
    }

    fn advance(&self, head: Head) {
        let mut guard = self.0.write().expect("head lock is never poisoned");
        if head.height <= guard.0.height && guard.0.height != Height(0) {
            return;
        }
        guard.0 = head;
        guard.1.insert(head.state_root, head);
        if guard.1.len() > RECENT_ROOTS {
            let oldest = guard.1.iter().min_by_key(|(_, head)| head.height).map(|(root, _)| *root);
            if let Some(root) = oldest {
                guard.1.remove(&root);
            }
        }
    }
}

/// Read access to the finalized state, available once the stateful actor has started.
pub struct StateReader<E: commonware_storage::Context + Spawner>(Arc<OnceLock<StateDatabases<E>>>);

impl<E: commonware_storage::Context + Spawner> Clone for StateReader<E> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<E: commonware_storage::Context + Spawner> StateReader<E> {
    /// The state databases, or `None` while the node is starting.
    pub fn databases(&self) -> Option<&StateDatabases<E>> {
        self.0.get()
    }
}

impl<E: commonware_storage::Context + Spawner> StateReader<E> {
    /// One record of the finalized state.
    pub async fn record(&self, key: StateKey) -> Result<Option<StateValue>, String> {
        Ok(self.records(&[key]).await?.pop().flatten())
    }

    /// Several records of one finalized state.
    pub async fn records(&self, keys: &[StateKey]) -> Result<Vec<Option<StateValue>>, String> {
        let databases = self.databases().ok_or_else(|| "the node is starting".to_string())?;
        let guard = databases.read().await;
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            values.push(guard.get(&key.hash()).await.map_err(|error| error.to_string())?);
        }
        Ok(values)
    }

    /// An account with its keys, recovery records and roles, all from one finalized state.
    pub async fn details(&self, id: AccountId) -> Result<Option<AccountDetails>, String> {
        let databases = self.databases().ok_or_else(|| "the node is starting".to_string())?;
        let guard = databases.read().await;
        let read = |key: StateKey| {
            let guard = &guard;
            async move { guard.get(&key.hash()).await.map_err(|error| error.to_string()) }
        };
        let Some(StateValue::Account(account)) = read(StateKey::Account(id)).await? else {
            return Ok(None);
        };
        let mut keys = vec![account.first_key];
        for slot in 1..account.key_count {
            match read(StateKey::KeySlot(id, slot)).await? {
                Some(StateValue::KeySlot(entry)) => keys.push(entry),
                other => return Err(format!("key slot {slot} of {id} holds {other:?}")),
            }
        }
        let recovery = match account.has_recovery {
            true => match read(StateKey::Recovery(id)).await? {
                Some(StateValue::Recovery(config)) => Some(config),
                other => return Err(format!("recovery record of {id} holds {other:?}")),
            },
            false => None,
        };
        let pending_recovery = match account.recovering {
            true => match read(StateKey::PendingRecovery(id)).await? {
                Some(StateValue::PendingRecovery(pending)) => Some(pending),
                other => return Err(format!("pending recovery of {id} holds {other:?}")),
            },
            false => None,
        };
        let mut roles = Vec::new();
        for role in Role::ALL {
            if read(StateKey::Role(id, role)).await?.is_some() {
                roles.push(role);
            }
        }
        Ok(Some(AccountDetails { account, keys, recovery, pending_recovery, roles }))
    }
}

impl<E: commonware_storage::Context + Spawner> AccountReader for StateReader<E> {
    async fn account(&self, id: AccountId) -> Result<Option<SenderState>, String> {
        let fee = match self.record(StateKey::Governance).await? {
            Some(StateValue::Governance(state)) => state.fee,
            None => return Err("the chain has not started yet".into()),
            Some(other) => return Err(format!("the governance record holds {other:?}")),
        };
        let gas = match self.record(StateKey::GasParameters).await? {
            Some(StateValue::GasParameters(gas)) => gas,
            None => return Err("the chain has not started yet".into()),
            Some(other) => return Err(format!("the gas parameters record holds {other:?}")),
        };
        Ok(self.details(id).await?.map(|details| SenderState {
            fee,
            gas,
            keys: KeySet {
                keys: details.keys,
                threshold: details.account.threshold,
                recovery: details.recovery.map(|config| config.key),
            },
            account: details.account,
        }))
    }
}

/// The proposer's view of the mempool.
pub struct PoolSource<E: commonware_storage::Context + Spawner>(pub Mempool<StateReader<E>>);

impl<E: commonware_storage::Context + Spawner> Clone for PoolSource<E> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<E: commonware_storage::Context + Spawner> TransactionSource for PoolSource<E> {
    async fn candidates(
        &self,
        limit: usize,
        pending: &std::collections::BTreeMap<formica_types::AccountId, formica_types::Nonce>,
    ) -> Vec<formica_types::Transaction> {
        self.0.candidates(limit, pending)
    }

    fn finalized_height(&self) -> formica_types::Height {
        self.0.head()
    }

    fn admitted(&self, transactions: &[formica_types::Transaction]) -> Vec<bool> {
        self.0.admitted(transactions)
    }
}

/// Records each finalized block: indexes with its certificate (durably), mempool, head, subscribers.
pub struct Observer<E: commonware_storage::Context + Spawner> {
    indexes: Indexes,
    mempool: Mempool<StateReader<E>>,
    head: ChainHead,
    finalized: broadcast::Sender<Arc<FinalizedBlock>>,
}

impl<E: commonware_storage::Context + Spawner> Clone for Observer<E> {
    fn clone(&self) -> Self {
        Self {
            indexes: self.indexes.clone(),
            mempool: self.mempool.clone(),
            head: self.head.clone(),
            finalized: self.finalized.clone(),
        }
    }
}

impl<E: commonware_storage::Context + Spawner> FinalizedObserver for Observer<E> {
    async fn finalized(
        &self,
        block: Arc<Block>,
        receipts: Arc<Vec<Receipt>>,
        finalization: Option<formica_consensus::FinalizationCertificate>,
    ) {
        use commonware_codec::Encode as _;
        // Kept with the block, durably, for light clients (`formica_getFinality`).
        let certificate = finalization.map(|finalization| finalization.encode());
        if let Err(error) = self.indexes.insert_finalized(&block, &receipts, certificate.as_deref()) {
            // The indexes would silently miss a finalized block: stop rather than serve that.
            panic!("cannot record finalized block {} in the indexes: {error}", block.header.height);
        }
        formica_consensus::failpoints::reach(formica_consensus::failpoints::AFTER_INDEXES);
        self.mempool.finalized(&block);
        self.head.advance(Head {
            height: block.header.height,
            hash: block.hash(),
            state_root: block.header.state_root,
        });
        let finalized = FinalizedBlock { block: (*block).clone(), receipts: (*receipts).clone() };
        // No subscriber is not an error.
        let _ = self.finalized.send(Arc::new(finalized));
    }
}

/// A running validator.
pub struct Validator<E>
where
    E: commonware_storage::Context + Spawner + Clock + rand_core::Rng + rand_core::CryptoRng,
{
    pub chain: Chain,
    pub public_key: PublicKey,
    pub engine: Engine<E, PoolSource<E>, Observer<E>>,
    pub mempool: Mempool<StateReader<E>>,
    pub state: StateReader<E>,
    pub indexes: Indexes,
    pub head: ChainHead,
    pub finalized: broadcast::Sender<Arc<FinalizedBlock>>,
    pub block_limits: BlockLimits,
}

/// The block limits of a chain.
pub fn block_limits(chain: &Chain) -> BlockLimits {
    BlockLimits {
        transactions_max: chain.genesis.block_transactions_max as usize,
        transaction: TransactionLimits::default(),
        bytes_max: chain.genesis.block_bytes_max as usize,
    }
}

/// Starts a validator: returns once every actor is running.
#[allow(clippy::too_many_arguments)]
pub async fn start<E, S, R, P, B, T>(
    mut context: E,
    chain: Chain,
    config: ValidatorConfig,
    channels: Channels<S, R>,
    gossip: (S, R),
    peers: P,
    blocker: B,
    tracker: T,
) -> Result<Validator<E>, formica_state::IndexError>
where
    E: commonware_storage::Context + Spawner + Clock + Storage + Metrics + rand_core::Rng + rand_core::CryptoRng,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
    P: Provider<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
    T: formica_consensus::epochs::PeerTracker,
{
    let limits = block_limits(&chain);
    let indexes = Indexes::open(&config.index_directory, limits)?;
    let genesis = chain.genesis_block::<E>();
    let head = match indexes.head()? {
        Some(height) => {
            let block = indexes.block_by_height(height)?.expect("the indexed head block is indexed");
            Head { height, hash: block.hash(), state_root: block.header.state_root }
        }
        None => Head { height: Height(0), hash: genesis.hash(), state_root: genesis.header.state_root },
    };
    let head = ChainHead::new(head);
    let state = StateReader(Arc::new(OnceLock::new()));
    let (mempool, gossip_queue) = Mempool::new(
        config.mempool.clone(),
        state.clone(),
        chain.parameters.chain_id,
        chain.parameters.fee_per_transaction,
        limits.transaction,
        config.gossip_queue,
    );
    let mempool = mempool.with_signature_checks(context.next_u64());
    mempool.advance_head(head.get().height);
    let (finalized, _) = broadcast::channel(config.subscriber_buffer);
    let observer = Observer {
        indexes: indexes.clone(),
        mempool: mempool.clone(),
        head: head.clone(),
        finalized: finalized.clone(),
    };
    let public_key = config.signer.public_key();
    let engine = engine::start(
        context.child("engine"),
        engine::Config {
            namespace: chain.namespace(),
            signer: config.signer.clone(),
            parameters: chain.parameters.clone(),
            genesis,
            block_limits: limits,
            partition_prefix: config.partition_prefix.clone(),
            source: PoolSource(mempool.clone()),
            observer,
            timeouts: config.timeouts.clone(),
            mailbox_size: config.mailbox_size,
            retained_blocks: config.retained_blocks,
            page_cache_mib: config.page_cache_mib,
            faults: config.faults,
        },
        channels,
        peers,
        blocker.clone(),
        tracker,
    )
    .await;
    let databases = engine.stateful.subscribe_databases().await;
    let _ = state.0.set(databases);
    let gossip_mempool = mempool.clone();
    context.child("gossip").spawn(move |context| async move {
        formica_mempool::run_gossip(gossip_mempool, gossip_queue, gossip.0, gossip.1, blocker, context).await;
    });

    Ok(Validator { chain, public_key, engine, mempool, state, indexes, head, finalized, block_limits: limits })
}

/// The values of `keys`, each with a proof, and the finalized block whose state root the proofs
/// verify against. `None` if the state moved on while reading (ask again).
pub async fn prove_values<E>(
    state: &StateReader<E>,
    head: &ChainHead,
    keys: &[StateKey],
) -> Result<Option<(Vec<Option<(StateValue, Vec<u8>)>>, Head)>, String>
where
    E: commonware_storage::Context + Spawner,
{
    let databases = state.databases().ok_or_else(|| "the node is starting".to_string())?;
    let guard = databases.read().await;
    let root = guard.root();
    let mut values = Vec::with_capacity(keys.len());
    for key in keys {
        let hashed = key.hash();
        let value = match guard.get(&hashed).await.map_err(|error| error.to_string())? {
            Some(value) => {
                let proof = guard.key_value_proof(hashed).await.map_err(|error| error.to_string())?;
                Some((value, formica_state::encode_account_proof(&proof)))
            }
            None => None,
        };
        values.push(value);
    }
    drop(guard);
    let Some(block) = head.by_state_root(&root) else {
        return Ok(None);
    };
    Ok(Some((values, block)))
}

/// An account, a proof of it, and the finalized block whose state root the proof verifies
/// against. `None` if the state moved on while reading (ask again).
pub async fn prove_account<E>(
    state: &StateReader<E>,
    head: &ChainHead,
    id: AccountId,
) -> Result<Option<(Option<Account>, Vec<u8>, Head)>, String>
where
    E: commonware_storage::Context + Spawner,
{
    let databases = state.databases().ok_or_else(|| "the node is starting".to_string())?;
    let guard = databases.read().await;
    let root = guard.root();
    let key = StateKey::Account(id).hash();
    let value = guard.get(&key).await.map_err(|error| error.to_string())?;
    let proof = match &value {
        Some(_) => {
            let proof = guard.key_value_proof(key).await.map_err(|error| error.to_string())?;
            formica_state::encode_account_proof(&proof)
        }
        // Unordered state has no exclusion proofs: absence is reported without one.
        None => Vec::new(),
    };
    drop(guard);
    let Some(block) = head.by_state_root(&root) else {
        return Ok(None);
    };
    Ok(Some((value.and_then(StateValue::into_account), proof, block)))
}
