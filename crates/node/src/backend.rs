//! The node's answers to JSON-RPC: the `formica-rpc` backend over a running validator.

use crate::validator::{ChainHead, StateReader, prove_account};
use crate::{Chain, Validator};
use commonware_runtime::{Clock, Spawner};
use formica_mempool::{AdmissionError, Mempool};
use formica_rpc::{
    AccountDetails, AccountProof, Backend, BackendError, ContractDetails, ContractQuery, FINALITY_HEADERS_MAX,
    Finality, FinalizedBlock, QueryResult, Status, SubmitError, TransactionRecord,
};
use formica_state::{IndexError, Indexes};
use formica_state::{StateKey, StateValue};
use formica_types::{
    AccountId, Amount, ApprovalRule, Block, ChainId, GovernanceAction, GovernanceState, Hash, Height, Module, OrgId,
    Organisation, Proposal, PublicKey, Transaction,
};
use std::sync::Arc;
use tokio::sync::broadcast;

/// The largest module record the backend reads.
const MODULE_RECORD_BYTES_MAX: usize = 4_096;

/// Counts connected peers (from the p2p layer's metrics).
pub type PeerCounter = Arc<dyn Fn() -> u32 + Send + Sync>;

/// RPC backend of one node.
pub struct NodeBackend<E: commonware_storage::Context + Spawner> {
    chain: Chain,
    public_key: PublicKey,
    mempool: Mempool<StateReader<E>>,
    state: StateReader<E>,
    indexes: Indexes,
    head: ChainHead,
    finalized: broadcast::Sender<Arc<FinalizedBlock>>,
    peers: PeerCounter,
    committees: formica_consensus::epochs::Committees,
    /// Marshal's archive: certificates that reached the node after their block was indexed.
    certificates: formica_consensus::CertificateSource,
}

impl<E> NodeBackend<E>
where
    E: commonware_storage::Context + Spawner + Clock + rand_core::Rng + rand_core::CryptoRng,
{
    /// The backend of a started validator.
    pub fn new(validator: &Validator<E>, peers: PeerCounter) -> Self {
        Self {
            chain: validator.chain.clone(),
            public_key: validator.public_key.clone(),
            mempool: validator.mempool.clone(),
            state: validator.state.clone(),
            indexes: validator.indexes.clone(),
            head: validator.head.clone(),
            finalized: validator.finalized.clone(),
            peers,
            committees: validator.engine.committees.clone(),
            certificates: validator.engine.marshal.clone(),
        }
    }
}

impl<E: commonware_storage::Context + Spawner> NodeBackend<E> {
    /// The encoded certificate of the finalized `block`: from the indexes, or else from marshal
    /// (then copied into the indexes, so it outlives marshal's pruning).
    async fn certificate(&self, block: &Block) -> Result<Option<Vec<u8>>, BackendError> {
        use commonware_codec::Encode as _;
        let height = block.header.height;
        if let Some(certificate) = self.indexes.finalization(height).map_err(storage)? {
            return Ok(Some(certificate));
        }
        let Some(finalization) =
            self.certificates.get_finalization(commonware_consensus::types::Height::new(height.get())).await
        else {
            return Ok(None);
        };
        if finalization.proposal.payload != block.hash() {
            return Ok(None);
        }
        let certificate = finalization.encode().to_vec();
        self.indexes.insert_finalization(height, &certificate).map_err(storage)?;
        Ok(Some(certificate))
    }

    /// The validators of `epoch`: the genesis ones, or those the previous epoch's last block names.
    fn committee(&self, epoch: u64) -> Result<Vec<PublicKey>, BackendError> {
        let Some(previous) = epoch.checked_sub(1) else {
            return Ok(self.chain.parameters.genesis_nodes.validators());
        };
        let boundary = epoch_last(previous, self.chain.parameters.epoch_blocks)
            .ok_or_else(|| unavailable(format!("epoch {epoch} is beyond the last height")))?;
        let block = self
            .indexes
            .block_by_height(boundary)
            .map_err(storage)?
            .ok_or_else(|| unavailable(format!("the last block of epoch {previous} is not indexed")))?;
        Ok(block.header.next_nodes.validators())
    }
}

/// The last height of `epoch` with `epoch_blocks` heights per epoch.
fn epoch_last(epoch: u64, epoch_blocks: u64) -> Option<Height> {
    epoch.checked_add(1)?.checked_mul(epoch_blocks)?.checked_sub(1).map(Height)
}

fn unavailable(reason: String) -> BackendError {
    BackendError::Unavailable { reason }
}

fn storage(error: IndexError) -> BackendError {
    BackendError::Storage { reason: error.to_string() }
}

/// Maps a mempool refusal to its RPC error.
pub fn submit_error(transaction: &Transaction, error: AdmissionError) -> SubmitError {
    let sender = transaction.body.sender;
    match error {
        AdmissionError::WrongChainId { expected, got } => {
            SubmitError::WrongChainId { expected: ChainId(expected), got: ChainId(got) }
        }
        AdmissionError::BadSignature => SubmitError::BadSignature,
        AdmissionError::Unauthorised(error) => SubmitError::Unauthorised { sender, reason: error.to_string() },
        AdmissionError::SenderFrozen(sender) => SubmitError::SenderFrozen { sender },
        AdmissionError::NonceTooLow { expected, got } => SubmitError::NonceTooLow { expected, got },
        AdmissionError::NonceTooFarAhead { expected, got, window } => {
            SubmitError::NonceTooFarAhead { expected, got, window }
        }
        AdmissionError::Expired { expiry, height } => {
            SubmitError::Expired { expiry_height: expiry, current_height: height }
        }
        AdmissionError::InsufficientBalance { needed, available } => {
            SubmitError::InsufficientBalance { needed, available }
        }
        AdmissionError::UnknownSender(sender) => SubmitError::UnknownSender { sender },
        AdmissionError::FeeTooLow { fee, limit } => SubmitError::FeeTooLow { fee_limit: limit, minimum: fee },
        AdmissionError::Full { capacity } | AdmissionError::SenderFull { capacity } => {
            SubmitError::MempoolFull { capacity: capacity as u64 }
        }
        AdmissionError::Duplicate => SubmitError::Duplicate { hash: transaction.hash() },
        AdmissionError::State(reason) => SubmitError::Unavailable(BackendError::Unavailable { reason }),
        AdmissionError::GasLimitTooHigh { limit, max } => SubmitError::GasLimitTooHigh { limit, max },
    }
}

impl<E> Backend for NodeBackend<E>
where
    E: commonware_storage::Context + Spawner,
{
    async fn submit(&self, transaction: Transaction) -> Result<Hash, SubmitError> {
        let copy = transaction.clone();
        self.mempool.submit(transaction).await.map_err(|error| submit_error(&copy, error))
    }

    async fn submit_many(&self, transactions: Vec<Transaction>) -> Vec<Result<Hash, SubmitError>> {
        let copies = transactions.clone();
        let results = self.mempool.submit_many(transactions).await;
        copies
            .iter()
            .zip(results)
            .map(|(transaction, result)| result.map_err(|error| submit_error(transaction, error)))
            .collect()
    }

    async fn transaction(&self, hash: Hash) -> Result<Option<TransactionRecord>, BackendError> {
        let Some((transaction, location, receipt)) = self.indexes.transaction(&hash).map_err(storage)? else {
            return Ok(None);
        };
        let block = self.indexes.block_by_height(location.height).map_err(storage)?.ok_or_else(|| {
            BackendError::Storage { reason: format!("block {} missing from the index", location.height) }
        })?;
        Ok(Some(TransactionRecord {
            transaction,
            block_height: location.height,
            block_hash: block.hash(),
            index: location.index,
            receipt,
        }))
    }

    async fn block_by_height(&self, height: Height) -> Result<Option<Block>, BackendError> {
        self.indexes.block_by_height(height).map_err(storage)
    }

    async fn block_by_hash(&self, hash: Hash) -> Result<Option<Block>, BackendError> {
        self.indexes.block_by_hash(&hash).map_err(storage)
    }

    async fn account(&self, id: AccountId) -> Result<Option<(AccountDetails, Height)>, BackendError> {
        let height = self.head.get().height;
        let details = self.state.details(id).await.map_err(|reason| BackendError::Unavailable { reason })?;
        Ok(details.map(|details| (details, height)))
    }

    async fn account_proof(&self, id: AccountId) -> Result<AccountProof, BackendError> {
        // The state can move on between reading it and matching its root to a block: retry.
        for _ in 0..100 {
            let answer = prove_account(&self.state, &self.head, id)
                .await
                .map_err(|reason| BackendError::Unavailable { reason })?;
            if let Some((account, proof, head)) = answer {
                return Ok(AccountProof {
                    account_id: id,
                    account,
                    height: head.height,
                    block_hash: head.hash,
                    state_root: head.state_root,
                    proof,
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Err(BackendError::Unavailable { reason: "the state is changing too fast to prove; retry".into() })
    }

    async fn epoch_blocks(&self) -> Result<u64, BackendError> {
        Ok(self.chain.parameters.epoch_blocks)
    }

    async fn prove_values(&self, keys: Vec<StateKey>) -> Result<formica_rpc::ProvenValues, BackendError> {
        if keys.len() > formica_rpc::PROVEN_KEYS_MAX {
            return Err(BackendError::Unavailable {
                reason: format!("at most {} keys are proven at once", formica_rpc::PROVEN_KEYS_MAX),
            });
        }
        // As for accounts: the state can move on between reading it and matching its root.
        for _ in 0..100 {
            let answer = crate::validator::prove_values(&self.state, &self.head, &keys)
                .await
                .map_err(|reason| BackendError::Unavailable { reason })?;
            if let Some((values, head)) = answer {
                return Ok(formica_rpc::ProvenValues {
                    height: head.height,
                    block_hash: head.hash,
                    state_root: head.state_root,
                    values,
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        Err(BackendError::Unavailable { reason: "the state is changing too fast to prove; retry".into() })
    }

    async fn gas_parameters(&self) -> Result<(formica_types::GasParameters, Height), BackendError> {
        let height = self.head.get().height;
        match self.state.record(StateKey::GasParameters).await.map_err(unavailable)? {
            Some(StateValue::GasParameters(gas)) => Ok((gas, height)),
            None => Ok((self.chain.parameters.gas, height)),
            Some(other) => Err(BackendError::Storage { reason: format!("gas parameters record holds {other:?}") }),
        }
    }

    async fn contract(&self, address: AccountId) -> Result<Option<ContractDetails>, BackendError> {
        let height = self.head.get().height;
        let keys = [StateKey::Contract(address), StateKey::ContractAdmin(address)];
        let values = self.state.records(&keys).await.map_err(unavailable)?;
        let (record, admin) = match (&values[0], &values[1]) {
            (None, _) => return Ok(None),
            (Some(StateValue::Contract(record)), Some(StateValue::ContractAdmin(admin))) => (*record, *admin),
            other => return Err(BackendError::Storage { reason: format!("contract records hold {other:?}") }),
        };
        let code_bytes = match self.state.record(StateKey::CodeLength(record.code_hash)).await.map_err(unavailable)? {
            Some(StateValue::CodeLength(length)) => length,
            other => return Err(BackendError::Storage { reason: format!("code length record holds {other:?}") }),
        };
        Ok(Some(ContractDetails { record, admin, code_bytes, height }))
    }

    async fn query_contract(&self, query: ContractQuery) -> Result<QueryResult, BackendError> {
        use formica_execution::contracts::{self, Call, Context};
        let head = self.head.get();
        let timestamp_ms = self
            .indexes
            .block_by_height(head.height)
            .map_err(storage)?
            .map_or(self.chain.genesis.timestamp_ms, |block| block.header.timestamp_ms);
        let context = Context { origin: query.caller, height: head.height.get(), timestamp_ms };
        let call = Call {
            caller: query.caller,
            contract: query.contract,
            method: query.method,
            input: query.input,
            value: 0,
            gas_limit: query.gas_limit,
        };
        let state = &self.state;
        let read = |keys: std::collections::BTreeSet<StateKey>| async move {
            let keys: Vec<StateKey> = keys.into_iter().collect();
            let values = state.records(&keys).await.map_err(unavailable)?;
            Ok::<_, BackendError>(keys.into_iter().zip(values).collect::<Vec<_>>())
        };
        let outcome = contracts::query(read, context, call).await?;
        let result = outcome.result.map_err(|error| (contracts::failure_code(&error), error.to_string()));
        Ok(QueryResult { result, gas_used: outcome.gas_used, height: head.height })
    }

    async fn module_record(
        &self,
        module: Module,
        key: Vec<u8>,
        size: usize,
    ) -> Result<(Option<Vec<u8>>, Height), BackendError> {
        // Module records are a few hundred bytes; the RPC layer passes only known record sizes.
        if size == 0 || size > MODULE_RECORD_BYTES_MAX {
            return Err(BackendError::Unavailable { reason: format!("no module record is {size} bytes") });
        }
        let height = self.head.get().height;
        let keys = formica_state::module_record_keys(module, &key, size);
        let values = self.state.records(&keys).await.map_err(unavailable)?;
        let chunks: Vec<Option<&StateValue>> = values.iter().map(Option::as_ref).collect();
        let bytes =
            formica_state::module_record_bytes(&chunks, size).map_err(|reason| BackendError::Storage { reason })?;
        Ok((bytes, height))
    }

    async fn native_supply(&self) -> Result<(Amount, Height), BackendError> {
        let supply = self
            .chain
            .parameters
            .genesis_accounts
            .iter()
            .try_fold(Amount::ZERO, |total, (_, balance)| total.checked_add(*balance))
            .ok_or_else(|| BackendError::Storage { reason: "the genesis supply overflows".into() })?;
        Ok((supply, self.head.get().height))
    }

    async fn governance(&self) -> Result<(GovernanceState, ApprovalRule, Height), BackendError> {
        let height = self.head.get().height;
        match self.state.record(StateKey::Governance).await.map_err(unavailable)? {
            Some(StateValue::Governance(state)) => Ok((state, self.chain.parameters.approval_rule, height)),
            // Before the first block the genesis is not applied yet.
            None => Err(BackendError::Unavailable { reason: "the chain has not started yet".into() }),
            Some(other) => Err(BackendError::Storage { reason: format!("governance record holds {other:?}") }),
        }
    }

    async fn api_members_only(&self) -> Result<bool, BackendError> {
        match self.state.record(StateKey::Governance).await.map_err(unavailable)? {
            Some(StateValue::Governance(state)) => Ok(state.api_members_only),
            // Before the first block the genesis is not applied yet: its policy holds.
            None => Ok(self.chain.parameters.api_members_only),
            Some(other) => Err(BackendError::Storage { reason: format!("governance record holds {other:?}") }),
        }
    }

    async fn member_org(&self, account: AccountId) -> Result<Option<OrgId>, BackendError> {
        let org = match self.state.record(StateKey::AdminOf(account)).await.map_err(unavailable)? {
            Some(StateValue::AdminOf(org)) => org,
            None => return Ok(None),
            Some(other) => return Err(BackendError::Storage { reason: format!("admin-of record holds {other:?}") }),
        };
        match self.state.record(StateKey::Organisation(org)).await.map_err(unavailable)? {
            Some(StateValue::Organisation(organisation)) if organisation.active => Ok(Some(org)),
            Some(StateValue::Organisation(_)) | None => Ok(None),
            Some(other) => Err(BackendError::Storage { reason: format!("organisation record holds {other:?}") }),
        }
    }

    async fn organisation(&self, id: OrgId) -> Result<Option<(Organisation, Vec<AccountId>, Height)>, BackendError> {
        let height = self.head.get().height;
        let organisation = match self.state.record(StateKey::Organisation(id)).await.map_err(unavailable)? {
            Some(StateValue::Organisation(organisation)) => organisation,
            None => return Ok(None),
            Some(other) => {
                return Err(BackendError::Storage { reason: format!("organisation record holds {other:?}") });
            }
        };
        let keys: Vec<StateKey> = (0..organisation.admin_count).map(|slot| StateKey::OrgAdmin(id, slot)).collect();
        let mut admins = Vec::with_capacity(keys.len());
        for value in self.state.records(&keys).await.map_err(unavailable)? {
            match value {
                Some(StateValue::OrgAdmin(account)) => admins.push(account),
                other => return Err(BackendError::Storage { reason: format!("admin slot holds {other:?}") }),
            }
        }
        Ok(Some((organisation, admins, height)))
    }

    async fn proposal(&self, id: u64) -> Result<Option<(Proposal, GovernanceAction, Height)>, BackendError> {
        let height = self.head.get().height;
        let values =
            self.state.records(&[StateKey::Proposal(id), StateKey::ProposalAction(id)]).await.map_err(unavailable)?;
        match (&values[0], &values[1]) {
            (Some(StateValue::Proposal(proposal)), Some(StateValue::ProposalAction(action))) => {
                Ok(Some((*proposal, action.clone(), height)))
            }
            (None, None) => Ok(None),
            other => Err(BackendError::Storage { reason: format!("proposal {id} records hold {other:?}") }),
        }
    }

    async fn status(&self) -> Result<Status, BackendError> {
        let head = self.head.get();
        // One read: the epoch and its committee must come from the same boundary.
        let (epoch, nodes) = self.committees.current();
        Ok(Status {
            chain_id: self.chain.parameters.chain_id,
            height: head.height,
            block_hash: head.hash,
            state_root: head.state_root,
            peers: (self.peers)(),
            epoch: epoch.get(),
            validators: nodes.validators(),
            mempool_size: self.mempool.len() as u64,
            node_public_key: self.public_key.clone(),
        })
    }

    async fn finality(&self, height: Height) -> Result<Option<Finality>, BackendError> {
        let Some(block) = self.indexes.block_by_height(height).map_err(storage)? else {
            return Ok(None);
        };
        let epoch_blocks = self.chain.parameters.epoch_blocks;
        let epoch = height.get() / epoch_blocks;
        // A certificate is only checked against its own epoch's committee: the link stops at the
        // epoch's last block, which is always finalized by a certificate of that epoch.
        let last = epoch_last(epoch, epoch_blocks).unwrap_or(Height(u64::MAX)).min(self.head.get().height);
        let mut block = block;
        let mut headers = Vec::new();
        loop {
            let certificate = self.certificate(&block).await?;
            let at = block.header.height;
            headers.push(block.header);
            if let Some(certificate) = certificate {
                return Ok(Some(Finality { headers, certificate, epoch, validators: self.committee(epoch)? }));
            }
            let next = at.next().filter(|next| *next <= last && headers.len() < FINALITY_HEADERS_MAX);
            let found = match next {
                Some(next) => self.indexes.block_by_height(next).map_err(storage)?,
                None => None,
            };
            let Some(found) = found else {
                return Err(unavailable(format!(
                    "this node holds no finalization certificate of block {height} or of a descendant up to \
                     height {at} in its epoch"
                )));
            };
            block = found;
        }
    }

    fn finalized_blocks(&self) -> broadcast::Receiver<Arc<FinalizedBlock>> {
        self.finalized.subscribe()
    }
}

/// What the node's config says about it, for the administrative API.
#[derive(Clone, Debug)]
pub struct NodeIdentity {
    pub name: String,
    pub p2p_listen: String,
    pub rpc_listen: String,
    pub metrics_listen: String,
    pub data_dir: String,
    pub mempool_capacity: u64,
    pub mempool_per_sender_max: u64,
}

/// The administrative API over a node ([`formica_rpc::admin`]).
pub struct NodeAdmin<E: commonware_storage::Context + Spawner> {
    backend: Arc<NodeBackend<E>>,
    identity: NodeIdentity,
    started: std::time::Instant,
}

impl<E: commonware_storage::Context + Spawner> NodeAdmin<E> {
    pub fn new(backend: Arc<NodeBackend<E>>, identity: NodeIdentity) -> Self {
        Self { backend, identity, started: std::time::Instant::now() }
    }
}

impl<E> formica_rpc::admin::AdminBackend for NodeAdmin<E>
where
    E: commonware_storage::Context + Spawner + Clock + rand_core::Rng + rand_core::CryptoRng,
{
    async fn node_info(&self) -> Result<formica_rpc::admin::NodeInfoView, BackendError> {
        let backend = &self.backend;
        let (epoch, nodes) = backend.committees.current();
        let role = match nodes.0.iter().find(|node| node.key == backend.public_key) {
            Some(node) => node.role.to_string(),
            None => "unregistered".into(),
        };
        let identity = &self.identity;
        Ok(formica_rpc::admin::NodeInfoView {
            name: identity.name.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            public_key: backend.public_key.clone(),
            epoch: epoch.get(),
            role,
            height: backend.head.get().height,
            uptime_secs: self.started.elapsed().as_secs(),
            p2p_listen: identity.p2p_listen.clone(),
            rpc_listen: identity.rpc_listen.clone(),
            metrics_listen: identity.metrics_listen.clone(),
            data_dir: identity.data_dir.clone(),
        })
    }

    async fn peers(&self) -> Result<formica_rpc::admin::PeersView, BackendError> {
        let (epoch, nodes) = self.backend.committees.current();
        let registered = nodes
            .0
            .iter()
            .map(|node| formica_rpc::admin::PeerView {
                public_key: node.key.clone(),
                org: node.org.0,
                address: node.address.to_string(),
                role: node.role.to_string(),
            })
            .collect();
        Ok(formica_rpc::admin::PeersView { epoch: epoch.get(), connected: (self.backend.peers)(), registered })
    }

    async fn mempool(&self) -> Result<formica_rpc::admin::MempoolView, BackendError> {
        Ok(formica_rpc::admin::MempoolView {
            pending: self.backend.mempool.len() as u64,
            capacity: self.identity.mempool_capacity,
            per_sender_max: self.identity.mempool_per_sender_max,
        })
    }
}
