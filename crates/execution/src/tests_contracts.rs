//! Contract payloads through the whole transition: the example token deployed and called on the
//! test world (every block also checked against execution over the complete state, so a read the
//! executor misses fails here), fees charged as gas used times price whether a call succeeds or
//! not, reverts leaving storage untouched, out of gas, freezing, upgrades by the admin only, and
//! the gas limits of a transaction and of a block.

use super::{FEE, GAS_PRICE, TIMESTAMP_MS, World};
use crate::contracts::{contract_address, contract_record, query};
use crate::transition::{Rejection, StateOverlay};
use formica_contract::{Address, Codec, decode, encode};
use formica_crypto::{AccountSigner, sign_transaction};
use formica_state::{StateKey, StateValue};
use formica_types::{
    AccountId, Amount, ContractAdmin, ContractRecord, FailureCode, GasParameters, Height, KeyScheme, Outcome, Payload,
    Receipt, Role, Transaction,
};
use std::future::Future;
use std::path::PathBuf;
use std::task::{Context as TaskContext, Poll, Waker};

const DEPLOY_GAS: u64 = 20_000_000;
const CALL_GAS: u64 = 2_000_000;
const SUPPLY: u128 = 1_000_000;

/// The compiled example `name`. Fails, never skips, if `scripts/build-contracts.sh` has not run.
fn wasm(name: &str) -> Vec<u8> {
    let repository = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| repository.join("target"), PathBuf::from);
    let target = if target.is_relative() { repository.join(target) } else { target };
    let path = target.join(format!("wasm32-unknown-unknown/release/formica_{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|error| {
        panic!("{}: {error}; build the contracts first with scripts/build-contracts.sh", path.display())
    })
}

/// Polls a future whose reads are all ready at once.
fn now<T>(future: impl Future<Output = T>) -> T {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut TaskContext::from_waker(Waker::noop())) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("test reads are ready at once"),
    }
}

struct Setup {
    world: World,
    owner: AccountSigner,
    other: AccountSigner,
    regulator: AccountSigner,
}

/// A world where `owner` holds the deployer role and `regulator` the regulator role.
fn setup() -> Setup {
    let owner = AccountSigner::from_seed(KeyScheme::Ed25519, 1);
    let other = AccountSigner::from_seed(KeyScheme::Ed25519, 2);
    let regulator = AccountSigner::from_seed(KeyScheme::Ed25519, 3);
    let mut world = World::new(&[&owner, &other, &regulator], Some(&regulator), true);
    world.records.insert(StateKey::Role(owner.account_id(), Role::Deployer), StateValue::Role(Height(1)));
    Setup { world, owner, other, regulator }
}

fn address(id: AccountId) -> Address {
    Address(id.0)
}

impl World {
    /// `payload` signed by `sender`, with a fee limit covering its whole gas limit.
    fn contract_tx(&self, sender: &AccountSigner, payload: Payload) -> Transaction {
        let gas_limit = u128::from(payload.gas_limit().unwrap_or(0));
        let mut body = self.body(sender, payload);
        body.fee_limit = Amount(FEE + gas_limit * GAS_PRICE);
        sign_transaction(body, &[sender])
    }

    /// Deploys the token from `owner`, administered by `owner`; its receipt and address.
    fn deploy_token(&mut self, owner: &AccountSigner) -> (Receipt, AccountId) {
        self.deploy_token_administered_by(owner, ContractAdmin::Account(owner.account_id()))
    }

    fn deploy_token_administered_by(&mut self, owner: &AccountSigner, admin: ContractAdmin) -> (Receipt, AccountId) {
        let nonce = self.account(&owner.account_id()).expect("owner exists").nonce;
        let input = encode(&(String::from("Formica Dollar"), String::from("FUSD"), SUPPLY));
        let payload = Payload::Deploy { code: wasm("token"), input, admin, value: Amount::ZERO, gas_limit: DEPLOY_GAS };
        let receipt = self.run(self.contract_tx(owner, payload)).expect("admissible");
        (receipt, contract_address(&owner.account_id(), nonce))
    }

    fn call(&mut self, sender: &AccountSigner, contract: AccountId, method: &str, input: Vec<u8>, gas: u64) -> Receipt {
        self.call_with_value(sender, contract, method, input, gas, 0)
    }

    fn call_with_value(
        &mut self,
        sender: &AccountSigner,
        contract: AccountId,
        method: &str,
        input: Vec<u8>,
        gas: u64,
        value: u128,
    ) -> Receipt {
        let payload =
            Payload::Call { contract, method: method.to_string(), input, value: Amount(value), gas_limit: gas };
        self.run(self.contract_tx(sender, payload)).expect("admissible")
    }

    /// A read-only call against the current state, as the RPC's query runs it.
    fn query<A: Codec, R: Codec>(&self, contract: AccountId, method: &str, args: &A) -> R {
        let context = formica_vm::Context { origin: AccountId([0; 32]), height: self.height.get(), timestamp_ms: 0 };
        let call = formica_vm::Call {
            caller: AccountId([0; 32]),
            contract,
            method: method.to_string(),
            input: encode(args),
            value: 0,
            gas_limit: CALL_GAS,
        };
        let outcome = now(query(|keys| std::future::ready(Ok::<_, ()>(self.read(keys))), context, call))
            .expect("test reads do not fail");
        decode(&outcome.result.unwrap_or_else(|error| panic!("{method} failed: {error}"))).expect("decodes")
    }

    fn contract(&self, address: &AccountId) -> Option<ContractRecord> {
        contract_record(&StateOverlay::complete(self.records.clone()), address).expect("complete")
    }

    fn set_gas(&mut self, gas: GasParameters) {
        self.records.insert(StateKey::GasParameters, StateValue::GasParameters(gas));
    }
}

fn failure(receipt: &Receipt) -> (FailureCode, &str) {
    match &receipt.outcome {
        Outcome::Failure { code, message } => (*code, message.as_str()),
        Outcome::Success => panic!("expected a failure, got {receipt:?}"),
    }
}

#[test]
fn a_deployed_token_transfers_and_charges_gas_used_times_price() {
    let Setup { mut world, owner, other, .. } = setup();
    let before = world.account(&owner.account_id()).expect("exists").balance.get();
    let (receipt, token) = world.deploy_token(&owner);
    assert!(receipt.succeeded(), "{receipt:?}");
    assert!(receipt.gas_used > 1_000_000 && receipt.gas_used < DEPLOY_GAS, "code is paid per byte");
    assert_eq!(receipt.fee_paid, Amount(FEE + u128::from(receipt.gas_used) * GAS_PRICE));
    let after = world.account(&owner.account_id()).expect("exists").balance.get();
    assert_eq!(before - after, receipt.fee_paid.get(), "the unused gas is refunded");
    assert_eq!(receipt.events.len(), 1, "the constructor's mint event");
    assert!(world.contract(&token).is_some());
    assert_eq!(world.query::<_, u128>(token, "balance_of", &(address(owner.account_id()),)), SUPPLY);

    let receipt = world.call(&owner, token, "transfer", encode(&(address(other.account_id()), 250u128)), CALL_GAS);
    assert!(receipt.succeeded(), "{receipt:?}");
    assert!(receipt.gas_used > 0);
    assert_eq!(receipt.fee_paid, Amount(FEE + u128::from(receipt.gas_used) * GAS_PRICE));
    let event = &receipt.events[0];
    assert_eq!(event.contract, token);
    assert_eq!(event.topics[1], owner.account_id().0, "the sender is the first indexed topic");
    assert_eq!(event.topics[2], other.account_id().0);
    assert_eq!(world.query::<_, u128>(token, "balance_of", &(address(owner.account_id()),)), SUPPLY - 250);
    assert_eq!(world.query::<_, u128>(token, "balance_of", &(address(other.account_id()),)), 250);
}

#[test]
fn a_failed_call_reverts_its_writes_and_keeps_the_fee() {
    let Setup { mut world, owner, other, .. } = setup();
    let (_, token) = world.deploy_token(&owner);
    let storage_before = world.records.keys().filter(|key| matches!(key, StateKey::ContractStorage(..))).count();
    let snapshot = world.records.clone();
    let sender_before = world.account(&other.account_id()).expect("exists");
    let receipt = world.call(&other, token, "transfer", encode(&(address(owner.account_id()), 1u128)), CALL_GAS);
    assert_eq!(failure(&receipt), (FailureCode::ContractFailed, "contract reverted: InsufficientBalance"));
    assert!(receipt.gas_used > 0 && receipt.events.is_empty());
    assert_eq!(receipt.fee_paid, Amount(FEE + u128::from(receipt.gas_used) * GAS_PRICE));
    let sender_after = world.account(&other.account_id()).expect("exists");
    assert_eq!(sender_before.balance.get() - sender_after.balance.get(), receipt.fee_paid.get());
    assert_eq!(sender_after.nonce.get(), sender_before.nonce.get() + 1);
    for (key, value) in &snapshot {
        if matches!(key, StateKey::ContractStorage(..) | StateKey::Contract(_)) {
            assert_eq!(world.records.get(key), Some(value), "{key:?} unchanged by the failed call");
        }
    }
    let storage_after = world.records.keys().filter(|key| matches!(key, StateKey::ContractStorage(..))).count();
    assert_eq!(storage_before, storage_after);
}

#[test]
fn running_out_of_gas_charges_the_whole_limit() {
    let Setup { mut world, owner, other, .. } = setup();
    let (_, token) = world.deploy_token(&owner);
    let receipt = world.call(&owner, token, "transfer", encode(&(address(other.account_id()), 1u128)), 25_000);
    assert_eq!(failure(&receipt).0, FailureCode::OutOfGas);
    assert_eq!(receipt.gas_used, 25_000);
    assert_eq!(receipt.fee_paid, Amount(FEE + 25_000 * GAS_PRICE));
    assert_eq!(world.query::<_, u128>(token, "balance_of", &(address(other.account_id()),)), 0);
}

#[test]
fn a_frozen_contract_refuses_calls_and_only_its_admin_or_a_regulator_freezes_it() {
    let Setup { mut world, owner, other, regulator } = setup();
    let (_, token) = world.deploy_token(&owner);
    let freeze = |frozen| Payload::SetContractFrozen { contract: token, frozen };
    let receipt = world.run(world.contract_tx(&other, freeze(true))).expect("admissible");
    assert_eq!(failure(&receipt).0, FailureCode::NotPermitted);
    let receipt = world.run(world.contract_tx(&owner, freeze(true))).expect("admissible");
    assert!(receipt.succeeded(), "{receipt:?}");
    assert!(world.contract(&token).expect("exists").frozen);
    let receipt = world.call(&owner, token, "transfer", encode(&(address(other.account_id()), 1u128)), CALL_GAS);
    assert_eq!(failure(&receipt).0, FailureCode::ContractFrozen);
    let receipt = world.run(world.contract_tx(&owner, freeze(true))).expect("admissible");
    assert_eq!(failure(&receipt).0, FailureCode::ContractFreezeUnchanged);
    let receipt = world.run(world.contract_tx(&regulator, freeze(false))).expect("admissible");
    assert!(receipt.succeeded(), "a regulator may unfreeze: {receipt:?}");
    let receipt = world.call(&owner, token, "transfer", encode(&(address(other.account_id()), 1u128)), CALL_GAS);
    assert!(receipt.succeeded(), "{receipt:?}");
}

#[test]
fn only_the_admin_upgrades_and_storage_survives_an_upgrade() {
    let Setup { mut world, owner, other, .. } = setup();
    let (_, token) = world.deploy_token(&owner);
    let token_hash = world.contract(&token).expect("exists").code_hash;
    let upgrade = |code| Payload::Upgrade { contract: token, code, gas_limit: DEPLOY_GAS };
    let receipt = world.run(world.contract_tx(&other, upgrade(wasm("registry")))).expect("admissible");
    assert_eq!(failure(&receipt).0, FailureCode::NotPermitted);
    assert_eq!(world.contract(&token).expect("exists").code_hash, token_hash);

    let receipt = world.run(world.contract_tx(&owner, upgrade(wasm("registry")))).expect("admissible");
    assert!(receipt.succeeded(), "{receipt:?}");
    assert_ne!(world.contract(&token).expect("exists").code_hash, token_hash);
    let receipt = world.run(world.contract_tx(&owner, upgrade(wasm("token")))).expect("admissible");
    assert!(receipt.succeeded(), "{receipt:?}");
    assert_eq!(world.contract(&token).expect("exists").code_hash, token_hash);
    assert_eq!(world.query::<_, u128>(token, "balance_of", &(address(owner.account_id()),)), SUPPLY);

    let receipt = world.run(world.contract_tx(&owner, upgrade(b"\0asm not really".to_vec()))).expect("admissible");
    assert_eq!(failure(&receipt).0, FailureCode::InvalidContract);
}

#[test]
fn deploying_needs_the_deployer_role() {
    let Setup { mut world, other, .. } = setup();
    let before = world.account(&other.account_id()).expect("exists").balance.get();
    let (receipt, token) = world.deploy_token(&other);
    assert_eq!(failure(&receipt).0, FailureCode::NotPermitted);
    assert_eq!(receipt.gas_used, 0);
    assert_eq!(before - world.account(&other.account_id()).expect("exists").balance.get(), FEE);
    assert!(world.contract(&token).is_none());
}

#[test]
fn gas_limits_bound_transactions_and_blocks() {
    let Setup { mut world, owner, other, .. } = setup();
    let (_, token) = world.deploy_token(&owner);
    world.set_gas(GasParameters { price: Amount(GAS_PRICE), tx_gas_max: CALL_GAS, block_gas_max: 3 * CALL_GAS });
    let transfer = |nonce_offset: u64, world: &World| {
        let payload = Payload::Call {
            contract: token,
            method: "transfer".into(),
            input: encode(&(address(other.account_id()), 1u128)),
            value: Amount::ZERO,
            gas_limit: CALL_GAS,
        };
        let mut body = world.body(&owner, payload);
        body.nonce = formica_types::Nonce(body.nonce.get() + nonce_offset);
        body.fee_limit = Amount(FEE + u128::from(CALL_GAS) * GAS_PRICE);
        sign_transaction(body, &[&owner])
    };
    let too_much = Payload::Call {
        contract: token,
        method: "transfer".into(),
        input: encode(&(address(other.account_id()), 1u128)),
        value: Amount::ZERO,
        gas_limit: CALL_GAS + 1,
    };
    assert_eq!(
        world.run(world.contract_tx(&owner, too_much)),
        Err(Rejection::GasLimitTooHigh { limit: CALL_GAS + 1, max: CALL_GAS })
    );
    let three: Vec<_> = (0..3).map(|offset| transfer(offset, &world)).collect();
    assert!(world.block(&three).expect("three calls fit").iter().all(Receipt::succeeded));
    let four: Vec<_> = (0..4).map(|offset| transfer(offset, &world)).collect();
    assert_eq!(
        world.block(&four),
        Err(Rejection::BlockGasFull { limit: CALL_GAS, used: 3 * CALL_GAS, max: 3 * CALL_GAS })
    );
}

#[test]
fn prefix_iteration_walks_the_key_index_in_order_and_pays_per_entry() {
    let Setup { mut world, owner, other, .. } = setup();
    let nonce = world.account(&owner.account_id()).expect("exists").nonce;
    let payload = Payload::Deploy {
        code: wasm("registry"),
        input: encode(&()),
        admin: ContractAdmin::None,
        value: Amount::ZERO,
        gas_limit: DEPLOY_GAS,
    };
    let receipt = world.run(world.contract_tx(&owner, payload)).expect("admissible");
    assert!(receipt.succeeded(), "{receipt:?}");
    let registry = contract_address(&owner.account_id(), nonce);
    // Writers live in the same storage under another prefix; listing records never shows them.
    for writer in [&owner, &other] {
        let input = encode(&(address(writer.account_id()), true));
        assert!(world.call(&owner, registry, "set_writer", input, CALL_GAS).succeeded());
    }
    let put = |world: &World, sender: &AccountSigner, key: &str| {
        let payload = Payload::Call {
            contract: registry,
            method: "put".into(),
            input: encode(&(key.to_string(), vec![1u8; 3])),
            value: Amount::ZERO,
            gas_limit: CALL_GAS,
        };
        world.contract_tx(sender, payload)
    };
    // Two writers in one block: the second pass of the executor sees the first's index writes.
    let block = [put(&world, &owner, "b"), put(&world, &other, "a")];
    assert!(world.block(&block).expect("admissible").iter().all(Receipt::succeeded));
    assert!(world.run(put(&world, &owner, "ab")).expect("admissible").succeeded());
    assert!(world.run(put(&world, &owner, "c")).expect("admissible").succeeded());
    let list = |world: &World, after: Option<&str>, limit: u32| -> Vec<String> {
        world.query(registry, "list", &(after.map(str::to_string), limit))
    };
    // Keys are the encoded strings (length first), so "ab" comes after "c".
    assert_eq!(list(&world, None, 10), ["a", "b", "c", "ab"]);
    assert_eq!(list(&world, None, 2), ["a", "b"]);
    assert_eq!(list(&world, Some("b"), 10), ["c", "ab"]);
    assert_eq!(list(&world, Some("bb"), 10), Vec::<String>::new());

    // On chain too, paid per entry walked.
    let one = world.call(&owner, registry, "list", encode(&(None::<String>, 1u32)), CALL_GAS);
    let four = world.call(&owner, registry, "list", encode(&(None::<String>, 4u32)), CALL_GAS);
    assert!(one.succeeded() && four.succeeded(), "{one:?} {four:?}");
    assert!(four.gas_used > one.gas_used + 3 * 2_000, "{} vs {}", four.gas_used, one.gas_used);

    // A removed key leaves the index; a cursor on it still works.
    assert!(world.call(&other, registry, "remove", encode(&(String::from("b"),)), CALL_GAS).succeeded());
    assert_eq!(list(&world, None, 10), ["a", "c", "ab"]);
    assert_eq!(list(&world, Some("b"), 10), ["c", "ab"]);
    // Removing a writer removes its key from the other prefix only.
    let input = encode(&(address(other.account_id()), false));
    assert!(world.call(&owner, registry, "set_writer", input, CALL_GAS).succeeded());
    assert_eq!(list(&world, None, 10), ["a", "c", "ab"]);

    // An immutable contract cannot be upgraded by anyone.
    let upgrade = Payload::Upgrade { contract: registry, code: wasm("token"), gas_limit: DEPLOY_GAS };
    let receipt = world.run(world.contract_tx(&owner, upgrade)).expect("admissible");
    assert_eq!(failure(&receipt).0, FailureCode::NotPermitted);
}

#[test]
fn value_moves_into_a_contract_and_the_block_timestamp_reaches_it() {
    let Setup { mut world, owner, other, regulator } = setup();
    let nonce = world.account(&owner.account_id()).expect("exists").nonce;
    let payload = Payload::Deploy {
        code: wasm("escrow"),
        input: encode(&()),
        admin: ContractAdmin::None,
        value: Amount::ZERO,
        gas_limit: DEPLOY_GAS,
    };
    assert!(world.run(world.contract_tx(&owner, payload)).expect("admissible").succeeded());
    let escrow = contract_address(&owner.account_id(), nonce);
    let open = |deadline_ms: u64| {
        encode(&(1u64, address(other.account_id()), vec![address(regulator.account_id())], 1u8, deadline_ms))
    };
    let before = world.account(&owner.account_id()).expect("exists").balance.get();
    let receipt = world.call_with_value(&owner, escrow, "open", open(TIMESTAMP_MS), CALL_GAS, 500);
    assert_eq!(failure(&receipt), (FailureCode::ContractFailed, "contract reverted: DeadlinePassed"));
    assert_eq!(world.contract(&escrow).expect("exists").balance, Amount::ZERO, "a failed call moves no value");
    let receipt = world.call_with_value(&owner, escrow, "open", open(TIMESTAMP_MS + 1), CALL_GAS, 500);
    assert!(receipt.succeeded(), "{receipt:?}");
    assert_eq!(world.contract(&escrow).expect("exists").balance, Amount(500));
    let after = world.account(&owner.account_id()).expect("exists").balance.get();
    let fees = 2 * FEE + u128::from(receipt.gas_used) * GAS_PRICE;
    assert!(before - after > 500 + fees, "value, both fees and the failed call's gas");
}

#[test]
fn governance_sets_the_gas_schedule_and_refuses_unusable_limits() {
    let (mut world, admins) = super::consortium();
    let gas = |world: &World| match world.records.get(&StateKey::GasParameters) {
        Some(StateValue::GasParameters(gas)) => *gas,
        other => panic!("the gas record holds {other:?}"),
    };
    assert_eq!(gas(&world).price, Amount(GAS_PRICE), "initialised at genesis");
    let unusable =
        formica_types::GovernanceAction::SetGasSchedule { price: Amount(5), tx_gas_max: 10, block_gas_max: 9 };
    world.fails(world.by(&admins[0], super::propose(unusable)), FailureCode::InvalidProposal);
    let set =
        formica_types::GovernanceAction::SetGasSchedule { price: Amount(7), tx_gas_max: 1_000, block_gas_max: 5_000 };
    world.pass(&admins, set);
    assert_eq!(gas(&world), GasParameters { price: Amount(7), tx_gas_max: 1_000, block_gas_max: 5_000 });
}

#[test]
fn storage_values_grow_shrink_and_vanish_chunk_by_chunk() {
    let Setup { mut world, owner, .. } = setup();
    let nonce = world.account(&owner.account_id()).expect("exists").nonce;
    let payload = Payload::Deploy {
        code: wasm("registry"),
        input: encode(&()),
        admin: ContractAdmin::None,
        value: Amount::ZERO,
        gas_limit: DEPLOY_GAS,
    };
    assert!(world.run(world.contract_tx(&owner, payload)).expect("admissible").succeeded());
    let registry = contract_address(&owner.account_id(), nonce);
    let chunks = |world: &World| {
        world.records.keys().filter(|key| matches!(key, StateKey::ContractStorage(id, ..) if *id == registry)).count()
    };
    let writer = encode(&(address(owner.account_id()), true));
    assert!(world.call(&owner, registry, "set_writer", writer, CALL_GAS).succeeded());
    let before = chunks(&world);
    let put = |value: Vec<u8>| encode(&(String::from("doc"), value));
    assert!(world.call(&owner, registry, "put", put(vec![1; 1_000]), CALL_GAS).succeeded());
    let large = chunks(&world);
    assert!(large >= before + 16, "a 1 000-byte record takes many chunks: {before} -> {large}");
    assert!(world.call(&owner, registry, "put", put(vec![2; 3]), CALL_GAS).succeeded());
    let small = chunks(&world);
    assert!(small < large && small > before, "the shrunk record's extra chunks are deleted: {large} -> {small}");
    assert!(world.call(&owner, registry, "remove", encode(&(String::from("doc"),)), CALL_GAS).succeeded());
    assert_eq!(chunks(&world), before, "a removed value leaves no chunk");
    assert!(world.query::<_, bool>(registry, "is_writer", &(address(owner.account_id()),)));
}

#[test]
fn a_contract_administered_by_governance_changes_only_by_approved_proposals() {
    use formica_types::GovernanceAction::{SetContractFrozen, UpgradeContract};
    let (mut world, admins) = super::consortium();
    let deployer = &admins[0];
    let outsider = &admins[5];
    world.records.insert(StateKey::Role(deployer.account_id(), Role::Deployer), StateValue::Role(Height(1)));
    world.records.insert(StateKey::Role(outsider.account_id(), Role::Regulator), StateValue::Role(Height(1)));
    let (receipt, token) = world.deploy_token_administered_by(deployer, ContractAdmin::Governance);
    assert!(receipt.succeeded(), "{receipt:?}");
    let token_hash = world.contract(&token).expect("exists").code_hash;
    let upgrade = |code| Payload::Upgrade { contract: token, code, gas_limit: DEPLOY_GAS };
    let freeze = |frozen| Payload::SetContractFrozen { contract: token, frozen };

    // No transaction changes it: not its deployer's, not a regulator's.
    let receipt = world.run(world.contract_tx(deployer, upgrade(wasm("registry")))).expect("admissible");
    assert_eq!(failure(&receipt).0, FailureCode::NotPermitted);
    assert!(failure(&receipt).1.contains("no governance proposal approved"), "{receipt:?}");
    for sender in [deployer, outsider] {
        let receipt = world.run(world.contract_tx(sender, freeze(true))).expect("admissible");
        assert_eq!(failure(&receipt).0, FailureCode::NotPermitted, "{receipt:?}");
    }
    assert_eq!(
        world.contract(&token).expect("exists"),
        ContractRecord { code_hash: token_hash, frozen: false, balance: Amount::ZERO }
    );

    // Proposals about a contract governance does not administer, or about no contract, are refused.
    let (_, own_token) = world.deploy_token(deployer);
    let registry_hash = formica_crypto::sha256(&wasm("registry"));
    let about_own = UpgradeContract { contract: own_token, code_hash: registry_hash };
    world.fails(world.by(&admins[0], super::propose(about_own)), FailureCode::InvalidProposal);
    let about_nothing = SetContractFrozen { contract: AccountId([9; 32]), frozen: true };
    world.fails(world.by(&admins[0], super::propose(about_nothing)), FailureCode::ContractMissing);

    // An approved upgrade is carried out by anyone with exactly the approved module, once.
    world.pass(&admins, UpgradeContract { contract: token, code_hash: registry_hash });
    assert_eq!(world.records.get(&StateKey::ContractUpgrade(token)), Some(&StateValue::ApprovedCode(registry_hash)));
    let receipt = world.run(world.contract_tx(outsider, upgrade(wasm("escrow")))).expect("admissible");
    assert_eq!(failure(&receipt).0, FailureCode::NotPermitted);
    assert!(failure(&receipt).1.contains("not this one"), "{receipt:?}");
    let receipt = world.run(world.contract_tx(outsider, upgrade(wasm("registry")))).expect("admissible");
    assert!(receipt.succeeded(), "{receipt:?}");
    assert!(receipt.gas_used > 0, "the upgrade's sender pays its gas");
    assert_eq!(world.contract(&token).expect("exists").code_hash, registry_hash);
    assert!(!world.records.contains_key(&StateKey::ContractUpgrade(token)), "the approval is used up");
    let receipt = world.run(world.contract_tx(outsider, upgrade(wasm("registry")))).expect("admissible");
    assert_eq!(failure(&receipt).0, FailureCode::NotPermitted);

    // Freezing and unfreezing by vote.
    world.pass(&admins, SetContractFrozen { contract: token, frozen: true });
    assert!(world.contract(&token).expect("exists").frozen);
    let receipt = world.call(outsider, token, "list", encode(&(None::<String>, 1u32)), CALL_GAS);
    assert_eq!(failure(&receipt).0, FailureCode::ContractFrozen);
    let again = SetContractFrozen { contract: token, frozen: true };
    world.fails(world.by(&admins[0], super::propose(again)), FailureCode::ContractFreezeUnchanged);
    let receipt = world.run(world.contract_tx(outsider, freeze(false))).expect("admissible");
    assert_eq!(failure(&receipt).0, FailureCode::NotPermitted, "a regulator does not unfreeze it either");
    world.pass(&admins, SetContractFrozen { contract: token, frozen: false });
    assert!(!world.contract(&token).expect("exists").frozen);
}

#[test]
fn native_transfers_credit_a_contract_unless_it_is_frozen() {
    let Setup { mut world, owner, other, .. } = setup();
    let (_, token) = world.deploy_token(&owner);
    let supply = world.total_balance();
    let other_before = world.account(&other.account_id()).expect("exists").balance.get();
    world.ok(world.by(&other, Payload::Transfer { to: token, amount: Amount(700) }));
    assert_eq!(world.contract(&token).expect("exists").balance, Amount(700));
    let other_after = world.account(&other.account_id()).expect("exists").balance.get();
    assert_eq!(other_before - other_after, 700 + FEE);
    assert_eq!(world.total_balance(), supply, "value moved, none created");

    // Several in one block, from two senders: the contract's record is read once the executor
    // finds the recipient has no account, and both credits land.
    let first = world.by(&owner, Payload::Transfer { to: token, amount: Amount(5) });
    let second = world.by(&other, Payload::Transfer { to: token, amount: Amount(6) });
    assert!(world.block(&[first, second]).expect("admissible").iter().all(Receipt::succeeded));
    assert_eq!(world.contract(&token).expect("exists").balance, Amount(711));

    // More than the sender holds; an address with neither account nor contract.
    world.fails(
        world.by(&other, Payload::Transfer { to: token, amount: Amount(other_after) }),
        FailureCode::InsufficientBalance,
    );
    world.fails(
        world.by(&other, Payload::Transfer { to: AccountId([9; 32]), amount: Amount(1) }),
        FailureCode::RecipientMissing,
    );
    assert_eq!(world.contract(&token).expect("exists").balance, Amount(711));

    // A frozen contract takes no value, by transfer as by call.
    assert!(
        world
            .run(world.contract_tx(&owner, Payload::SetContractFrozen { contract: token, frozen: true }))
            .expect("admissible")
            .succeeded()
    );
    world.fails(world.by(&other, Payload::Transfer { to: token, amount: Amount(1) }), FailureCode::RecipientFrozen);
    assert_eq!(world.contract(&token).expect("exists").balance, Amount(711));
    assert_eq!(world.total_balance(), supply);
}

/// A contract whose `seed` stores a chain of 64 one-byte keys (key `i` holds `i + 1`) and whose
/// `walk` follows it from key 0 until a key is absent: 64 reads, each depending on the last.
const CHAIN: &str = r#"
(module
  (import "formica" "storage_get" (func $get (param i32 i32 i32 i32) (result i64)))
  (import "formica" "storage_set" (func $set (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "seed") (local $i i32)
    (loop $next
      (i32.store8 (i32.const 0) (local.get $i))
      (i32.store8 (i32.const 1) (i32.add (local.get $i) (i32.const 1)))
      (call $set (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 64)))))
  (func (export "walk")
    (i32.store8 (i32.const 0) (i32.const 0))
    (loop $next
      (br_if $next
        (i64.ge_s (call $get (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 1)) (i64.const 0))))))
"#;

/// The chain contract deployed and seeded by `owner`.
fn seeded_chain(world: &mut World, owner: &AccountSigner) -> AccountId {
    let code = wat::parse_str(CHAIN).expect("valid text format");
    let nonce = world.account(&owner.account_id()).expect("owner exists").nonce;
    let admin = ContractAdmin::Account(owner.account_id());
    let payload = Payload::Deploy { code, input: Vec::new(), admin, value: Amount::ZERO, gas_limit: DEPLOY_GAS };
    let receipt = world.run(world.contract_tx(owner, payload)).expect("admissible");
    assert!(receipt.succeeded(), "{receipt:?}");
    let chain = contract_address(&owner.account_id(), nonce);
    let receipt = world.call(owner, chain, "seed", Vec::new(), CALL_GAS);
    assert!(receipt.succeeded(), "{receipt:?}");
    chain
}

#[test]
fn dependent_reads_resume_at_their_transaction_and_the_other_transactions_run_once() {
    let Setup { mut world, owner, other, regulator } = setup();
    let chain = seeded_chain(&mut world, &owner);
    let walk = Payload::Call {
        contract: chain,
        method: "walk".into(),
        input: Vec::new(),
        value: Amount::ZERO,
        gas_limit: DEPLOY_GAS,
    };
    let before = world.account(&regulator.account_id()).expect("exists").balance;
    let block = [
        world.by(&regulator, Payload::Transfer { to: other.account_id(), amount: Amount(5) }),
        world.contract_tx(&owner, walk),
        world.by(&other, Payload::Transfer { to: regulator.account_id(), amount: Amount(7) }),
    ];
    // Checked against execution over the whole state, and the run never moves back (`World::block`).
    let receipts = world.block(&block).expect("admissible");
    assert!(receipts.iter().all(Receipt::succeeded), "{receipts:?}");
    // One resume per link of the chain (each read depends on the last), not one block per link.
    assert!(world.resumes >= 64, "{} resumes", world.resumes);
    assert_eq!(world.account(&regulator.account_id()).expect("exists").balance, Amount(before.get() - 5 - FEE + 7));
}

#[test]
fn a_call_whose_dependent_reads_cost_more_runs_than_its_gas_limit_pays_fails_out_of_gas() {
    let Setup { mut world, owner, .. } = setup();
    let chain = seeded_chain(&mut world, &owner);
    // Over the whole state the walk needs about 160k gas; discovering its 64 links one run at a
    // time costs far more than 2M.
    world.unchecked = true;
    let storage = |world: &World| -> Vec<(StateKey, StateValue)> {
        world
            .records
            .iter()
            .filter(|(key, _)| matches!(key, StateKey::ContractStorage(..)))
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    };
    let storage_before = storage(&world);
    let balance = world.account(&owner.account_id()).expect("exists").balance.get();
    let receipt = world.call(&owner, chain, "walk", Vec::new(), CALL_GAS);
    let (code, message) = failure(&receipt);
    assert_eq!(code, FailureCode::OutOfGas);
    assert!(message.contains("runs that stopped for records not read yet"), "{message}");
    assert_eq!(receipt.gas_used, CALL_GAS, "the whole limit is charged");
    let charged = FEE + u128::from(CALL_GAS) * GAS_PRICE;
    assert_eq!(world.account(&owner.account_id()).expect("exists").balance.get(), balance - charged);
    assert_eq!(storage(&world), storage_before, "nothing else changed");
    // With a limit that pays for the discovery, the same call succeeds and is charged only its
    // last run's gas.
    let receipt = world.call(&owner, chain, "walk", Vec::new(), DEPLOY_GAS);
    assert!(receipt.succeeded(), "{receipt:?}");
    assert!(receipt.gas_used < 200_000, "{receipt:?}");
}

#[test]
fn what_a_call_discovers_does_not_depend_on_what_other_transactions_read() {
    let Setup { mut world, owner, .. } = setup();
    let chain = seeded_chain(&mut world, &owner);
    let walk = Payload::Call {
        contract: chain,
        method: "walk".into(),
        input: Vec::new(),
        value: Amount::ZERO,
        gas_limit: DEPLOY_GAS,
    };
    let transaction = world.contract_tx(&owner, walk);
    let height = Height(world.height.get() + 1);
    let discovered = |preread: bool| {
        let mut overlay = StateOverlay::new(
            world.read(crate::transition::first_reads(&world.parameters, height, [&transaction])).into_iter().collect(),
        );
        if preread {
            // As if another transaction of the block had read the whole chain already.
            overlay.extend(
                world
                    .records
                    .iter()
                    .filter(|(key, _)| matches!(key, StateKey::ContractStorage(..)))
                    .map(|(key, value)| (*key, Some(value.clone()))),
            );
        }
        let receipts = crate::block::execute_transactions(
            &world.parameters,
            height,
            TIMESTAMP_MS,
            &mut overlay,
            std::slice::from_ref(&transaction),
            |keys| world.read(keys),
        )
        .expect("admissible");
        let discovery = overlay.discovery(transaction.hash().0).clone();
        (receipts, discovery.gas, discovery.runs, discovery.known)
    };
    let (receipts, gas, runs, known) = discovered(false);
    assert!(receipts[0].succeeded(), "{receipts:?}");
    assert!(runs >= 64, "{runs} runs");
    assert_eq!(discovered(true), (receipts, gas, runs, known), "the same runs, gas and receipts either way");
}
