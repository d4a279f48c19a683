//! What a node derives from the genesis file: parameters, validators, the genesis block.

use commonware_codec::Encode;
use formica_execution::ChainParameters;
use formica_types::{Block, Genesis, GenesisError, Hash, PublicKey, hash_tagged};
use std::sync::Arc;

/// A chain as every node of it sees it.
#[derive(Clone, Debug)]
pub struct Chain {
    pub genesis: Genesis,
    pub parameters: Arc<ChainParameters>,
    /// Validators in the order of the genesis file.
    pub validators: Vec<PublicKey>,
    /// Hash of everything in the genesis file: the genesis block commits to it.
    pub commitment: Hash,
}

impl Chain {
    /// Validates a genesis file and derives the chain from it.
    pub fn from_genesis(genesis: Genesis) -> Result<Self, GenesisError> {
        let validators = genesis.validate()?;
        let accounts = genesis.funded_accounts()?;
        // The types crate checks a key's shape; only formica-crypto can check it is on its curve.
        if let Some((key, _)) = accounts.iter().find(|(key, _)| !formica_crypto::validate_key(key)) {
            return Err(GenesisError::Account {
                public_key: key.to_string(),
                reason: "not a valid public key of its scheme".into(),
            });
        }
        let parameters = Arc::new(ChainParameters {
            chain_id: genesis.chain_id,
            fee_per_transaction: genesis.fee_per_transaction,
            fee_collector: genesis.fee_collector,
            block_transactions_max: genesis.block_transactions_max,
            genesis_accounts: accounts.clone(),
            genesis_roles: genesis.roles.iter().map(|grant| (grant.account, grant.role)).collect(),
            recovery_delay_min_blocks: genesis.recovery_delay_min_blocks,
            frozen_accounts_receive: genesis.frozen_accounts_receive,
            genesis_organisations: genesis
                .organisations
                .iter()
                .map(|organisation| (organisation.name, organisation.admins.clone(), organisation.admin_threshold))
                .collect(),
            approval_rule: genesis.approval_rule,
            proposal_expiry_blocks_max: genesis.proposal_expiry_blocks_max,
            account_creation_members_only: genesis.account_creation_members_only,
            genesis_nodes: genesis.nodes(),
            epoch_blocks: genesis.epoch_blocks,
            consensus_timeouts: genesis.consensus_timeouts,
            api_members_only: genesis.api_members_only,
            gas: genesis.gas_parameters(),
            block_bytes_max: genesis.block_bytes_max as usize,
        });
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&genesis.chain_id.encode());
        bytes.extend_from_slice(&genesis.timestamp_ms.to_be_bytes());
        bytes.extend_from_slice(&genesis.fee_per_transaction.encode());
        bytes.extend_from_slice(&genesis.fee_collector.0);
        bytes.extend_from_slice(&genesis.block_transactions_max.to_be_bytes());
        for (validator, key) in genesis.validators.iter().zip(&validators) {
            bytes.extend_from_slice(key.as_ref());
            bytes.extend_from_slice(&(validator.p2p_address.len() as u32).to_be_bytes());
            bytes.extend_from_slice(validator.p2p_address.as_bytes());
        }
        for (key, balance) in &accounts {
            bytes.extend_from_slice(&key.encode());
            bytes.extend_from_slice(&balance.encode());
        }
        for grant in &genesis.roles {
            bytes.extend_from_slice(&grant.account.0);
            bytes.extend_from_slice(&grant.role.encode());
        }
        bytes.extend_from_slice(&genesis.recovery_delay_min_blocks.to_be_bytes());
        bytes.push(u8::from(genesis.frozen_accounts_receive));
        for organisation in &genesis.organisations {
            bytes.extend_from_slice(&organisation.name.encode());
            bytes.push(organisation.admin_threshold);
            bytes.push(u8::try_from(organisation.admins.len()).expect("validated: at most eight admins"));
            for admin in &organisation.admins {
                bytes.extend_from_slice(&admin.0);
            }
        }
        bytes.extend_from_slice(&genesis.approval_rule.numerator.to_be_bytes());
        bytes.extend_from_slice(&genesis.approval_rule.denominator.to_be_bytes());
        bytes.extend_from_slice(&genesis.proposal_expiry_blocks_max.to_be_bytes());
        bytes.push(u8::from(genesis.account_creation_members_only));
        // The node registry (which organisation runs each validator follows from the names).
        bytes.extend_from_slice(&parameters.genesis_nodes.encode());
        bytes.extend_from_slice(&genesis.epoch_blocks.to_be_bytes());
        bytes.extend_from_slice(&genesis.consensus_timeouts.encode());
        bytes.push(u8::from(genesis.api_members_only));
        bytes.extend_from_slice(&genesis.gas_price.encode());
        bytes.extend_from_slice(&genesis.tx_gas_max.to_be_bytes());
        bytes.extend_from_slice(&genesis.block_gas_max.to_be_bytes());
        bytes.extend_from_slice(&genesis.block_bytes_max.to_be_bytes());
        let commitment = hash_tagged(b"formica/genesis/v4", &[&bytes]);
        Ok(Self { genesis, parameters, validators, commitment })
    }

    /// The consensus signing namespace: votes of one chain are worthless on another.
    pub fn namespace(&self) -> Vec<u8> {
        formica_types::consensus_namespace(self.genesis.chain_id)
    }

    /// The genesis block.
    pub fn genesis_block<E>(&self) -> Block
    where
        E: commonware_storage::Context + commonware_runtime::Spawner,
    {
        formica_consensus::genesis_block::<E>(self.commitment, self.genesis.consensus_timeouts)
    }
}
