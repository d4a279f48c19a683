//! Index round trips.

use crate::{Indexes, TransactionLocation};
use commonware_consensus::types::{Epoch, Round, View};
use commonware_cryptography::{Signer, ed25519::PrivateKey};
use commonware_utils::range::NonEmptyRange;
use formica_types::*;

fn block(height: u64, transactions: Vec<Transaction>) -> Block {
    let header = Header {
        context: BlockContext {
            round: Round::new(Epoch::new(0), View::new(height)),
            leader: PrivateKey::from_seed(0).public_key(),
            parent: (View::new(height - 1), hash_tagged(b"t", &[&height.to_be_bytes()])),
        },
        parent: hash_tagged(b"t", &[&height.to_be_bytes()]),
        height: Height(height),
        timestamp_ms: height,
        transactions_root: transactions_root(&transactions),
        state_root: hash_tagged(b"s", &[]),
        state_ops_root: hash_tagged(b"o", &[]),
        state_range: NonEmptyRange::new(0..1).expect("non-empty"),
        receipts_root: hash_tagged(b"r", &[]),
        next_nodes: formica_types::NodeSet::default(),
        epoch_timeouts: Default::default(),
    };
    Block::new(header, transactions)
}

fn transfer(nonce: u64) -> Transaction {
    let key = PrivateKey::from_seed(1);
    TransactionBody {
        chain_id: ChainId(1),
        sender: AccountId::from_public_key(&key.public_key()),
        nonce: Nonce(nonce),
        expiry_height: Height(9),
        fee_limit: Amount(1),
        payload: Payload::Transfer { to: AccountId([2; 32]), amount: Amount(5) },
    }
    .sign(&[&key])
}

#[test]
fn indexes_find_blocks_transactions_and_receipts_after_reopening() {
    let directory = tempfile::tempdir().expect("temp dir");
    let transactions = vec![transfer(0), transfer(1)];
    let receipts: Vec<Receipt> = transactions
        .iter()
        .map(|transaction| Receipt {
            transaction_hash: transaction.hash(),
            outcome: Outcome::Success,
            fee_paid: Amount(1),
            gas_used: 0,
            events: Vec::new(),
        })
        .collect();
    let first = block(1, vec![]);
    let second = block(2, transactions.clone());
    {
        let indexes = Indexes::open(directory.path(), BlockLimits::default()).expect("opens");
        assert_eq!(indexes.head().expect("reads"), None);
        indexes.insert_finalized(&first, &[], None).expect("writes");
        indexes.insert_finalized(&second, &receipts, Some(&[7; 100])).expect("writes");
        // Replaying a block after a crash writes the same entries again.
        indexes.insert_finalized(&second, &receipts, Some(&[7; 100])).expect("writes");
        // A certificate that arrives after its block was indexed.
        indexes.insert_finalization(Height(1), &[9; 80]).expect("writes");
    }
    let indexes = Indexes::open(directory.path(), BlockLimits::default()).expect("reopens");
    assert_eq!(indexes.head().expect("reads"), Some(Height(2)));
    assert_eq!(indexes.block_by_height(Height(2)).expect("reads"), Some(second.clone()));
    assert_eq!(indexes.block_by_hash(&first.hash()).expect("reads"), Some(first));
    let (transaction, location, receipt) =
        indexes.transaction(&transactions[1].hash()).expect("reads").expect("indexed");
    assert_eq!(transaction, transactions[1]);
    assert_eq!(location, TransactionLocation { height: Height(2), index: 1 });
    assert_eq!(receipt, receipts[1]);
    assert_eq!(indexes.receipts(Height(2)).expect("reads"), receipts);
    assert_eq!(indexes.transaction(&hash_tagged(b"none", &[])).expect("reads"), None);
    assert_eq!(indexes.finalization(Height(2)).expect("reads"), Some(vec![7; 100]));
    assert_eq!(indexes.finalization(Height(1)).expect("reads"), Some(vec![9; 80]));
    assert_eq!(indexes.finalization(Height(3)).expect("reads"), None);
}

#[test]
fn contract_records_round_trip_at_the_fixed_value_size() {
    use crate::{CHUNK_BYTES, StateKey, StateValue};
    use commonware_codec::{DecodeExt, Encode, FixedSize};
    let values = [
        StateValue::Contract(ContractRecord { code_hash: [1; 32], frozen: true, balance: Amount(u128::MAX) }),
        StateValue::ContractAdmin(ContractAdmin::None),
        StateValue::ContractAdmin(ContractAdmin::Account(AccountId([2; 32]))),
        StateValue::ContractAdmin(ContractAdmin::Organisation(OrgId(3))),
        StateValue::ContractAdmin(ContractAdmin::Governance),
        StateValue::ApprovedCode([9; 32]),
        StateValue::KeyNode { children: [0xa5; 32], terminal: true },
        StateValue::ProposalAction(GovernanceAction::UpgradeContract {
            contract: AccountId([4; 32]),
            code_hash: [5; 32],
        }),
        StateValue::ProposalAction(GovernanceAction::SetContractFrozen { contract: AccountId([4; 32]), frozen: true }),
        StateValue::CodeLength(262_144),
        StateValue::Chunk([7; CHUNK_BYTES]),
        StateValue::GasParameters(GasParameters { price: Amount(1), tx_gas_max: 2, block_gas_max: 3 }),
    ];
    for value in values {
        let bytes = value.encode();
        assert_eq!(bytes.len(), StateValue::SIZE);
        assert_eq!(StateValue::decode(bytes).expect("decodes"), value);
    }
    // Distinct records never share a key.
    let keys = [
        StateKey::Contract(AccountId([1; 32])),
        StateKey::ContractAdmin(AccountId([1; 32])),
        StateKey::CodeLength([1; 32]),
        StateKey::Code([1; 32], 0),
        StateKey::Code([1; 32], 1),
        StateKey::ContractStorage(AccountId([1; 32]), [1; 32], 0),
        StateKey::ContractStorage(AccountId([1; 32]), [1; 32], 1),
        StateKey::GasParameters,
        StateKey::ModuleRecord(formica_types::Module::Assets, [1; 32], 0),
        StateKey::ModuleRecord(formica_types::Module::Assets, [1; 32], 1),
        StateKey::ContractUpgrade(AccountId([1; 32])),
        StateKey::ContractKeyNode(AccountId([1; 32]), [1; 32]),
    ];
    let hashes: std::collections::BTreeSet<_> = keys.iter().map(StateKey::hash).collect();
    assert_eq!(hashes.len(), keys.len());
}
