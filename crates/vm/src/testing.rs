//! A local chain for contract tests: accounts, contracts and storage in memory, blocks advanced by
//! hand, no network. What a contract does here it does on the chain (same VM, limits and gas).

use crate::backend::{Context, ContractInfo, Event, MemoryState};
use crate::error::{Result, VmError};
use crate::vm::{Call, Deploy, Outcome, Vm};
use crate::{GasSchedule, Limits};
use formica_types::AccountId;
use std::sync::Arc;

/// Gas each harness call gets unless changed ([`TestChain::gas_limit`]).
pub const DEFAULT_GAS_LIMIT: u64 = 50_000_000;

/// The address of the `nonce`-th contract `deployer` deploys (the chain uses the sender's nonce).
pub fn contract_address(deployer: &AccountId, nonce: u64) -> AccountId {
    AccountId(formica_types::hash_tagged(b"formica/contract-address/v1", &[&deployer.0, &nonce.to_be_bytes()]).0)
}

/// An in-memory chain running contracts through the real VM.
pub struct TestChain {
    vm: Vm,
    state: Arc<MemoryState>,
    /// Height and time the next call sees.
    pub height: u64,
    pub timestamp_ms: u64,
    /// Gas each call, deployment and query gets.
    pub gas_limit: u64,
    deployments: u64,
    events: Vec<Event>,
}

impl Default for TestChain {
    fn default() -> Self {
        Self::new(Vm::new(Limits::default(), GasSchedule::default()))
    }
}

impl TestChain {
    pub fn new(vm: Vm) -> Self {
        Self {
            vm,
            state: Arc::new(MemoryState::default()),
            height: 1,
            timestamp_ms: 1_700_000_000_000,
            gas_limit: DEFAULT_GAS_LIMIT,
            deployments: 0,
            events: Vec::new(),
        }
    }

    pub fn vm(&self) -> &Vm {
        &self.vm
    }

    pub fn state(&self) -> &MemoryState {
        &self.state
    }

    /// An account with `balance`, its id derived from `name`.
    pub fn account(&mut self, name: &str, balance: u128) -> AccountId {
        let id = AccountId(formica_types::hash_tagged(b"formica/test-account/v1", &[name.as_bytes()]).0);
        self.state_mut().balances.insert(id, balance);
        id
    }

    pub fn balance(&self, account: &AccountId) -> Option<u128> {
        self.state.balances.get(account).copied()
    }

    /// Every event of every successful call so far, in order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Moves the chain on by `blocks` blocks and `ms` milliseconds.
    pub fn advance(&mut self, blocks: u64, ms: u64) {
        self.height += blocks;
        self.timestamp_ms += ms;
    }

    fn context(&self, origin: AccountId) -> Context {
        Context { origin, height: self.height, timestamp_ms: self.timestamp_ms }
    }

    fn state_mut(&mut self) -> &mut MemoryState {
        Arc::get_mut(&mut self.state).expect("the VM keeps no reference to the backend after a call")
    }

    fn commit(&mut self, outcome: &Outcome) {
        if outcome.result.is_ok() {
            let changes = outcome.changes.clone();
            self.state_mut().apply(&changes);
            self.events.extend(changes.events);
        }
    }

    /// Deploys `code` with constructor input `input`; the full outcome and the address.
    pub fn deploy_outcome(&mut self, deployer: AccountId, code: &[u8], input: &[u8]) -> (Outcome, AccountId) {
        let address = contract_address(&deployer, self.deployments);
        self.deployments += 1;
        let deploy = Deploy {
            deployer,
            address,
            code: code.to_vec(),
            input: input.to_vec(),
            value: 0,
            gas_limit: self.gas_limit,
        };
        let outcome = self.vm.deploy(self.state.clone(), self.context(deployer), deploy);
        self.commit(&outcome);
        (outcome, address)
    }

    /// Deploys `code`, returning its address or why it failed.
    pub fn deploy(&mut self, deployer: AccountId, code: &[u8], input: &[u8]) -> Result<AccountId> {
        let (outcome, address) = self.deploy_outcome(deployer, code, input);
        outcome.result.map(|_| address)
    }

    /// Calls `method` as `caller` with `value`, committing the changes if it succeeds.
    pub fn call(&mut self, caller: AccountId, contract: AccountId, method: &str, input: &[u8], value: u128) -> Outcome {
        let call = Call {
            caller,
            contract,
            method: method.to_string(),
            input: input.to_vec(),
            value,
            gas_limit: self.gas_limit,
        };
        let outcome = self.vm.call(self.state.clone(), self.context(caller), call);
        self.commit(&outcome);
        outcome
    }

    /// Runs `method` and discards its changes: a read-only query.
    pub fn query(&self, caller: AccountId, contract: AccountId, method: &str, input: &[u8]) -> Outcome {
        let call = Call {
            caller,
            contract,
            method: method.to_string(),
            input: input.to_vec(),
            value: 0,
            gas_limit: self.gas_limit,
        };
        self.vm.call(self.state.clone(), self.context(caller), call)
    }

    /// Replaces a contract's code, keeping its storage.
    pub fn upgrade(&mut self, contract: AccountId, code: &[u8]) -> Result<()> {
        let outcome = self.vm.upgrade(self.state.clone(), contract, code.to_vec(), self.gas_limit);
        self.commit(&outcome);
        outcome.result.map(|_| ())
    }

    /// Freezes or unfreezes a contract.
    pub fn set_frozen(&mut self, contract: AccountId, frozen: bool) -> Result<()> {
        let info = self.state.contracts.get(&contract).copied().ok_or(VmError::ContractMissing(contract))?;
        self.state_mut().contracts.insert(contract, ContractInfo { frozen, ..info });
        Ok(())
    }
}
