//! Pool admission, ordering and pruning.

use crate::{AdmissionError, Config, Pool, SenderState};
use commonware_cryptography::{Signer, ed25519::PrivateKey};
use formica_crypto::KeySet;
use formica_types::*;
use std::collections::BTreeMap;

fn key(seed: u64) -> PrivateKey {
    PrivateKey::from_seed(seed)
}

fn account(seed: u64, nonce: u64, balance: u128) -> SenderState {
    let public_key = AccountKey::ed25519(&key(seed).public_key());
    let mut account = Account::new(public_key, Amount(balance));
    account.nonce = Nonce(nonce);
    SenderState { account, keys: KeySet::single(public_key), fee: FEE, gas: GAS }
}

fn transfer(seed: u64, nonce: u64, amount: u128, expiry: u64) -> Transaction {
    TransactionBody {
        chain_id: ChainId(1),
        sender: AccountId::from_public_key(&key(seed).public_key()),
        nonce: Nonce(nonce),
        expiry_height: Height(expiry),
        fee_limit: Amount(1),
        payload: Payload::Transfer { to: AccountId([9; 32]), amount: Amount(amount) },
    }
    .sign(&[&key(seed)])
}

const FEE: Amount = Amount(1);
const GAS: GasParameters = GasParameters { price: Amount(2), tx_gas_max: 1_000, block_gas_max: 10_000 };

fn call(seed: u64, nonce: u64, gas_limit: u64, fee_limit: u128) -> Transaction {
    TransactionBody {
        chain_id: ChainId(1),
        sender: AccountId::from_public_key(&key(seed).public_key()),
        nonce: Nonce(nonce),
        expiry_height: Height(99),
        fee_limit: Amount(fee_limit),
        payload: Payload::Call {
            contract: AccountId([9; 32]),
            method: "run".into(),
            input: Vec::new(),
            value: Amount(10),
            gas_limit,
        },
    }
    .sign(&[&key(seed)])
}

#[test]
fn admission_refuses_contract_calls_over_the_gas_limit_or_unable_to_pay_for_their_gas() {
    let mut pool = Pool::new(Config::default());
    let at = Height(1);
    // 1,000 gas at price 2 plus the flat fee: 2,001; plus the 10 the call moves.
    assert_eq!(
        pool.insert(call(1, 0, 1_001, 10_000), Some(&account(1, 0, 10_000)), at, FEE),
        Err(AdmissionError::GasLimitTooHigh { limit: 1_001, max: 1_000 })
    );
    assert_eq!(
        pool.insert(call(1, 0, 1_000, 2_000), Some(&account(1, 0, 10_000)), at, FEE),
        Err(AdmissionError::FeeTooLow { fee: Amount(2_001), limit: Amount(2_000) })
    );
    assert_eq!(
        pool.insert(call(1, 0, 1_000, 2_001), Some(&account(1, 0, 2_010)), at, FEE),
        Err(AdmissionError::InsufficientBalance { needed: Amount(2_011), available: Amount(2_010) })
    );
    pool.insert(call(1, 0, 1_000, 2_001), Some(&account(1, 0, 2_011)), at, FEE).expect("admitted");
}

#[test]
fn admission_refuses_each_bad_case_with_its_own_error() {
    let mut pool = Pool::new(Config { transactions_max: 3, per_sender_max: 2, nonce_window: 4 });
    let sender = account(1, 5, 100);
    let at = Height(10);
    assert!(matches!(
        pool.insert(transfer(1, 4, 1, 99), Some(&sender), at, FEE),
        Err(AdmissionError::NonceTooLow { .. })
    ));
    assert!(matches!(
        pool.insert(transfer(1, 9, 1, 99), Some(&sender), at, FEE),
        Err(AdmissionError::NonceTooFarAhead { .. })
    ));
    assert!(matches!(pool.insert(transfer(1, 5, 1, 10), Some(&sender), at, FEE), Err(AdmissionError::Expired { .. })));
    assert!(matches!(
        pool.insert(transfer(1, 5, 100, 99), Some(&sender), at, FEE),
        Err(AdmissionError::InsufficientBalance { .. })
    ));
    assert!(matches!(pool.insert(transfer(1, 5, 1, 99), None, at, FEE), Err(AdmissionError::UnknownSender(_))));
    assert!(matches!(
        pool.insert(transfer(1, 5, 1, 99), Some(&sender), at, Amount(2)),
        Err(AdmissionError::FeeTooLow { .. })
    ));
    assert!(matches!(
        pool.insert(transfer(1, 5, 1, 99), Some(&account(2, 5, 100)), at, FEE),
        Err(AdmissionError::Unauthorised(_))
    ));
    pool.insert(transfer(1, 5, 1, 99), Some(&sender), at, FEE).expect("admitted");
    assert_eq!(pool.insert(transfer(1, 5, 2, 99), Some(&sender), at, FEE), Err(AdmissionError::Duplicate));
    pool.insert(transfer(1, 6, 1, 99), Some(&sender), at, FEE).expect("admitted");
    assert!(matches!(
        pool.insert(transfer(1, 7, 1, 99), Some(&sender), at, FEE),
        Err(AdmissionError::SenderFull { .. })
    ));
    pool.insert(transfer(2, 0, 1, 99), Some(&account(2, 0, 100)), at, FEE).expect("admitted");
    assert!(matches!(
        pool.insert(transfer(3, 0, 1, 99), Some(&account(3, 0, 100)), at, FEE),
        Err(AdmissionError::Full { .. })
    ));
    assert_eq!(pool.len(), 3);
}

#[test]
fn candidates_take_consecutive_nonces_round_robin_and_skip_gaps() {
    let mut pool = Pool::new(Config::default());
    let at = Height(1);
    for nonce in [0, 1, 3] {
        pool.insert(transfer(1, nonce, 1, 99), Some(&account(1, 0, 100)), at, FEE).expect("admitted");
    }
    for nonce in [0, 1] {
        pool.insert(transfer(2, nonce, 1, 99), Some(&account(2, 0, 100)), at, FEE).expect("admitted");
    }
    let order: Vec<(u64, u64)> = pool
        .candidates(10, &BTreeMap::new())
        .iter()
        .map(|transaction| (transaction.body.sender.0[0] as u64, transaction.body.nonce.get()))
        .collect();
    let first = AccountId::from_public_key(&key(1).public_key()).0[0] as u64;
    let second = AccountId::from_public_key(&key(2).public_key()).0[0] as u64;
    assert_eq!(order, vec![(first, 0), (second, 0), (first, 1), (second, 1)], "nonce 3 waits for 2");
    assert_eq!(pool.candidates(3, &BTreeMap::new()).len(), 3);
}

#[test]
fn candidates_skip_what_pending_blocks_already_carry() {
    let mut pool = Pool::new(Config::default());
    let at = Height(1);
    for nonce in 0..4 {
        pool.insert(transfer(1, nonce, 1, 99), Some(&account(1, 0, 100)), at, FEE).expect("admitted");
    }
    for nonce in 0..2 {
        pool.insert(transfer(2, nonce, 1, 99), Some(&account(2, 0, 100)), at, FEE).expect("admitted");
    }
    let first = AccountId::from_public_key(&key(1).public_key());
    let second = AccountId::from_public_key(&key(2).public_key());
    // A block not yet finalized carries sender 1's nonces 0..3 and sender 2's nonce 0.
    let pending = BTreeMap::from([(first, Nonce(3)), (second, Nonce(1))]);
    let order: Vec<(AccountId, u64)> = pool
        .candidates(10, &pending)
        .iter()
        .map(|transaction| (transaction.body.sender, transaction.body.nonce.get()))
        .collect();
    assert_eq!(order, vec![(first, 3), (second, 1)]);
    // A pending nonce below the finalized one changes nothing.
    pool.finalized(Height(2), &BTreeMap::from([(second, Nonce(2))]));
    let stale = BTreeMap::from([(first, Nonce(0)), (second, Nonce(1))]);
    assert_eq!(pool.candidates(10, &stale).len(), 4, "sender 1's four; sender 2 has nothing left");
}

#[test]
fn holds_only_the_exact_transaction_signatures_included() {
    let mut pool = Pool::new(Config::default());
    let admitted = transfer(1, 0, 1, 99);
    pool.insert(admitted.clone(), Some(&account(1, 0, 100)), Height(1), FEE).expect("admitted");
    assert!(pool.holds(&admitted));
    // The same body (same hash) under another signature: its signature was never checked here.
    let resigned = admitted.body.clone().sign(&[&key(2)]);
    assert_eq!(resigned.hash(), admitted.hash());
    assert!(!pool.holds(&resigned));
    assert!(!pool.holds(&transfer(1, 1, 1, 99)), "not pending");
}

#[test]
fn finalized_blocks_remove_spent_and_expired_transactions() {
    let mut pool = Pool::new(Config::default());
    let at = Height(1);
    for nonce in 0..3 {
        pool.insert(transfer(1, nonce, 1, 99), Some(&account(1, 0, 100)), at, FEE).expect("admitted");
    }
    pool.insert(transfer(2, 0, 1, 5), Some(&account(2, 0, 100)), at, FEE).expect("admitted");
    let sender = AccountId::from_public_key(&key(1).public_key());
    let removed = pool.finalized(Height(2), &BTreeMap::from([(sender, Nonce(2))]));
    assert_eq!(removed, 2);
    assert_eq!(pool.candidates(10, &BTreeMap::new()).len(), 2, "nonce 2 of sender 1 and sender 2's transaction remain");
    let removed = pool.finalized(Height(5), &BTreeMap::new());
    assert_eq!(removed, 1, "sender 2's transaction expired at 5; the next block is 6");
    assert_eq!(pool.len(), 1);
    assert_eq!(pool.candidates(10, &BTreeMap::new())[0].body.nonce, Nonce(2));
}

#[test]
fn frozen_senders_and_underweight_signatures_are_refused() {
    let mut pool = Pool::new(Config::default());
    let at = Height(1);
    let mut frozen = account(1, 0, 100);
    frozen.account.frozen = true;
    assert!(matches!(pool.insert(transfer(1, 0, 1, 99), Some(&frozen), at, FEE), Err(AdmissionError::SenderFrozen(_))));

    // Two keys of weight 1, threshold 2: one signature is not enough, both are.
    let mut multisig = account(1, 0, 100);
    let second = AccountKey::ed25519(&key(2).public_key());
    multisig.keys.keys.push(KeyEntry { key: second, weight: 1 });
    multisig.keys.threshold = 2;
    assert!(matches!(
        pool.insert(transfer(1, 0, 1, 99), Some(&multisig), at, FEE),
        Err(AdmissionError::Unauthorised(formica_crypto::AuthorisationError::InsufficientWeight { have: 1, need: 2 }))
    ));
    let both = TransactionBody {
        chain_id: ChainId(1),
        sender: AccountId::from_public_key(&key(1).public_key()),
        nonce: Nonce(0),
        expiry_height: Height(99),
        fee_limit: Amount(1),
        payload: Payload::Transfer { to: AccountId([9; 32]), amount: Amount(1) },
    }
    .sign(&[&key(1), &key(2)]);
    pool.insert(both, Some(&multisig), at, FEE).expect("two keys reach the threshold");
}

/// Finalized accounts held in memory.
#[derive(Clone)]
struct Accounts(std::sync::Arc<BTreeMap<AccountId, SenderState>>);

impl crate::AccountReader for Accounts {
    async fn account(&self, id: AccountId) -> Result<Option<SenderState>, String> {
        Ok(self.0.get(&id).cloned())
    }
}

#[test]
fn a_batch_of_gossiped_transactions_gets_the_verdicts_of_one_by_one_admission() {
    let senders: BTreeMap<AccountId, SenderState> =
        (0..4).map(|seed| (AccountId::from_public_key(&key(seed).public_key()), account(seed, 0, 1_000))).collect();
    let reader = Accounts(std::sync::Arc::new(senders));
    let mut tampered = transfer(1, 0, 5, 100);
    tampered.signatures[0].signature.0[5] ^= 1;
    let mut other_chain = transfer(2, 0, 5, 100);
    other_chain.body.chain_id = ChainId(2);
    let batch = vec![transfer(0, 0, 5, 100), tampered, other_chain, transfer(3, 0, 5, 100), transfer(0, 0, 5, 100)];
    let limits = TransactionLimits::default();
    let mempool = |reader: Accounts| crate::Mempool::new(Config::default(), reader, ChainId(1), FEE, limits, 16).0;

    let batched = mempool(reader.clone());
    let mut rng = commonware_utils::test_rng();
    let verdicts = futures::executor::block_on(batched.admit_batch(&mut rng, batch.clone()));
    let one_by_one = mempool(reader);
    let expected: Vec<_> =
        batch.iter().map(|transaction| futures::executor::block_on(one_by_one.admit(transaction.clone()))).collect();
    assert_eq!(verdicts, expected);
    assert!(verdicts[0].is_ok() && verdicts[3].is_ok());
    assert_eq!(verdicts[1], Err(AdmissionError::BadSignature));
    assert!(matches!(verdicts[2], Err(AdmissionError::WrongChainId { .. })));
    assert_eq!(verdicts[4], Err(AdmissionError::Duplicate));
    assert_eq!(batched.len(), 2);
}

#[test]
fn a_bulk_submission_gets_the_verdicts_of_one_by_one_submissions_and_is_gossiped() {
    // More than one signature batch, with every kind of refusal a batch can decide, and a second
    // transaction of a sender that only an earlier one in the same submission makes valid.
    let count = crate::SIGNATURE_BATCH_MAX as u64 + 40;
    let senders: BTreeMap<AccountId, SenderState> =
        (0..count).map(|seed| (AccountId::from_public_key(&key(seed).public_key()), account(seed, 0, 1_000))).collect();
    let reader = Accounts(std::sync::Arc::new(senders));
    let limits = TransactionLimits::default();
    let mut submissions: Vec<Transaction> = (0..count).map(|seed| transfer(seed, 0, 5, 100)).collect();
    for index in [0, 3, 255, 256, 290] {
        submissions[index].signatures[0].signature.0[9] ^= 1;
    }
    submissions[10].body.chain_id = ChainId(2);
    submissions.push(transfer(20, 1, 5, 100));
    submissions.push(transfer(21, 0, 5, 100));
    submissions.push(transfer(21, 5_000, 5, 100));
    for checked in [false, true] {
        let (bulk, mut gossip) = crate::Mempool::new(Config::default(), reader.clone(), ChainId(1), FEE, limits, 1_024);
        let bulk = if checked { bulk.with_signature_checks(3) } else { bulk };
        let (one_by_one, _) = crate::Mempool::new(Config::default(), reader.clone(), ChainId(1), FEE, limits, 1_024);
        let expected: Vec<_> = submissions
            .iter()
            .map(|transaction| futures::executor::block_on(one_by_one.submit(transaction.clone())))
            .collect();
        let verdicts = futures::executor::block_on(bulk.submit_many(submissions.clone()));
        assert_eq!(verdicts, expected, "signature checks batched across submitters: {checked}");
        for index in [0, 3, 255, 256, 290] {
            assert_eq!(verdicts[index], Err(AdmissionError::BadSignature));
        }
        assert!(matches!(verdicts[10], Err(AdmissionError::WrongChainId { .. })));
        let count = count as usize;
        assert!(verdicts[count].is_ok(), "nonce 1 after nonce 0 of the same submission");
        assert_eq!(verdicts[count + 1], Err(AdmissionError::Duplicate));
        assert!(matches!(verdicts[count + 2], Err(AdmissionError::NonceTooFarAhead { .. })));
        let admitted = verdicts.iter().filter(|verdict| verdict.is_ok()).count();
        assert_eq!(bulk.len(), admitted);
        let mut gossiped = 0;
        while gossip.0.try_recv().is_ok() {
            gossiped += 1;
        }
        assert_eq!(gossiped, admitted, "every admitted transaction, and only those, is queued for gossip");
    }
}

#[test]
fn clients_checked_in_batches_get_the_verdicts_of_one_by_one_checks() {
    let senders: BTreeMap<AccountId, SenderState> =
        (0..64).map(|seed| (AccountId::from_public_key(&key(seed).public_key()), account(seed, 0, 1_000))).collect();
    let reader = Accounts(std::sync::Arc::new(senders));
    let limits = TransactionLimits::default();
    let batched =
        crate::Mempool::new(Config::default(), reader.clone(), ChainId(1), FEE, limits, 128).0.with_signature_checks(7);
    let mut submissions: Vec<Transaction> = (0..64).map(|seed| transfer(seed, 0, 5, 100)).collect();
    for index in [2, 17, 40] {
        submissions[index].signatures[0].signature.0[7] ^= 1;
    }
    let one_by_one = crate::Mempool::new(Config::default(), reader, ChainId(1), FEE, limits, 128).0;
    let expected: Vec<_> = submissions
        .iter()
        .map(|transaction| futures::executor::block_on(one_by_one.admit(transaction.clone())))
        .collect();
    // Submitted from eight threads at once, so some wait for a batch and take the role over.
    let verdicts: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = submissions
            .chunks(8)
            .map(|chunk| {
                let batched = batched.clone();
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|transaction| futures::executor::block_on(batched.submit(transaction.clone())))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|handle| handle.join().expect("no panic")).collect()
    });
    assert_eq!(verdicts, expected);
    assert_eq!(batched.len(), 61);
}
