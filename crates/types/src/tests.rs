//! Round-trip, limit and golden tests for every encoding.

use super::*;
use commonware_codec::{Decode, DecodeExt, Encode};
use commonware_consensus::types::{Epoch, Round, View};
use commonware_cryptography::{Signer, ed25519::PrivateKey};
use commonware_utils::range::NonEmptyRange;
use proptest::prelude::*;

fn key(seed: u64) -> PrivateKey {
    PrivateKey::from_seed(seed)
}

fn body(seed: u64, nonce: u64, amount: u128, create: bool) -> TransactionBody {
    let sender = AccountId::from_public_key(&key(seed).public_key());
    let payload = if create {
        Payload::CreateAccount { public_key: key(seed + 1).public_key(), initial_balance: Amount(amount) }
    } else {
        Payload::Transfer { to: AccountId([7; 32]), amount: Amount(amount) }
    };
    TransactionBody {
        chain_id: ChainId(1),
        sender,
        nonce: Nonce(nonce),
        expiry_height: Height(100),
        fee_limit: Amount(10),
        payload,
    }
}

fn header(height: u64) -> Header {
    Header {
        context: BlockContext {
            round: Round::new(Epoch::new(0), View::new(height)),
            leader: key(9).public_key(),
            parent: (View::new(height.saturating_sub(1)), hash_tagged(b"t", &[b"parent"])),
        },
        parent: hash_tagged(b"t", &[b"parent"]),
        height: Height(height),
        timestamp_ms: 1_700_000_000_000 + height,
        transactions_root: hash_tagged(b"t", &[b"txs"]),
        state_root: hash_tagged(b"t", &[b"state"]),
        state_ops_root: hash_tagged(b"t", &[b"ops"]),
        state_range: NonEmptyRange::new(0..height + 1).expect("non-empty"),
        receipts_root: hash_tagged(b"t", &[b"receipts"]),
    }
}

proptest! {
    #[test]
    fn transaction_round_trips(seed in 0u64..1000, nonce: u64, amount: u128, create: bool) {
        let transaction = body(seed, nonce, amount, create).sign(&[&key(seed)]);
        let bytes = transaction.encode();
        let decoded = Transaction::decode_cfg(bytes.clone(), &TransactionLimits::default()).expect("decodes");
        prop_assert_eq!(&decoded, &transaction);
        prop_assert_eq!(decoded.encode(), bytes);
        prop_assert!(decoded.verify_signatures_individually());
    }

    #[test]
    fn transaction_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Transaction::decode_cfg(bytes.clone(), &TransactionLimits::default());
    }

    #[test]
    fn receipt_round_trips(success: bool, message in "[a-z ]{0,200}", fee: u128) {
        let outcome = if success {
            Outcome::Success
        } else {
            Outcome::Failure { code: FailureCode::InsufficientBalance, message }
        };
        let receipt = Receipt { transaction_hash: hash_tagged(b"t", &[b"x"]), outcome, fee_paid: Amount(fee) };
        let decoded = Receipt::decode(receipt.encode()).expect("decodes");
        prop_assert_eq!(decoded, receipt);
    }

    #[test]
    fn account_round_trips(seed in 0u64..1000, nonce: u64, balance: u128) {
        let account = Account { public_key: key(seed).public_key(), nonce: Nonce(nonce), balance: Amount(balance) };
        prop_assert_eq!(Account::decode(account.encode()).expect("decodes"), account);
    }

    #[test]
    fn checked_amounts_never_wrap(a: u128, b: u128) {
        let sum = Amount(a).checked_add(Amount(b));
        prop_assert_eq!(sum.map(|s| s.0), a.checked_add(b));
        let difference = Amount(a).checked_sub(Amount(b));
        prop_assert_eq!(difference.map(|d| d.0), a.checked_sub(b));
    }
}

#[test]
fn block_round_trips_and_checks_its_roots() {
    let transactions: Vec<Transaction> = (0..5).map(|n| body(1, n, 5, false).sign(&[&key(1)])).collect();
    let mut header = header(3);
    header.transactions_root = transactions_root(&transactions);
    let block = Block::new(header, transactions);
    assert!(block.transactions_root_matches());
    let decoded = Block::decode_cfg(block.encode(), &BlockLimits::default()).expect("decodes");
    assert_eq!(decoded, block);
    assert_eq!(decoded.hash(), block.hash());

    let mut tampered = decoded.clone();
    tampered.transactions.pop();
    assert!(!tampered.transactions_root_matches());
}

#[test]
fn block_decoder_enforces_the_transaction_limit() {
    let transactions: Vec<Transaction> = (0..3).map(|n| body(1, n, 5, false).sign(&[&key(1)])).collect();
    let block = Block::new(header(1), transactions);
    let limits = BlockLimits { transactions_max: 2, ..BlockLimits::default() };
    assert!(Block::decode_cfg(block.encode(), &limits).is_err());
}

#[test]
fn transaction_without_signatures_is_rejected_by_the_decoder() {
    let unsigned = Transaction { body: body(1, 0, 1, false), signatures: vec![] };
    assert!(Transaction::decode_cfg(unsigned.encode(), &TransactionLimits::default()).is_err());
}

#[test]
fn signature_is_bound_to_chain_id() {
    let mut transaction = body(2, 0, 1, false).sign(&[&key(2)]);
    transaction.body.chain_id = ChainId(2);
    assert!(!transaction.verify_signatures_individually());
}

/// Golden hashes: these change only with a deliberate format change (and a migration note).
#[test]
fn golden_hashes() {
    let transaction = body(42, 7, 1_000, false).sign(&[&key(42)]);
    assert_eq!(hash_to_hex(&transaction.hash()), "0xe55466e9755fd1dd31181e5329d1e4bb3eef07708a010ae38c2d7b0f3374a4bf");
    assert_eq!(hash_to_hex(&header(5).digest()), "0x24a613bfdc1d41ad8a67060958cba9708c033032471e671619ebf9cabb202903");
    assert_eq!(
        AccountId::from_public_key(&key(42).public_key()).to_hex(),
        "0xeabdf35b17d2d487918b7cca02a2bef70ba78509022c5a31796d29029e23790e"
    );
}

#[test]
fn genesis_validation_rejects_bad_files() {
    let genesis = Genesis {
        chain_id: ChainId(1),
        timestamp_ms: 0,
        validators: vec![],
        accounts: vec![],
        fee_per_transaction: Amount(1),
        fee_collector: AccountId([0; 32]),
        block_transactions_max: 100,
    };
    assert_eq!(genesis.validate(), Err(GenesisError::NoValidators));
    let mut with_validator = genesis.clone();
    with_validator.validators.push(GenesisValidator {
        name: "a".into(),
        public_key: Genesis::key_to_hex(&key(1).public_key()),
        p2p_address: "127.0.0.1:1".into(),
    });
    assert_eq!(with_validator.validate(), Err(GenesisError::FeeCollectorMissing(AccountId([0; 32]))));
    with_validator.validators.push(with_validator.validators[0].clone());
    assert!(matches!(with_validator.validate(), Err(GenesisError::DuplicateValidator(_))));
}
