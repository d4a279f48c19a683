//! Round-trip, limit and golden tests for every encoding.

use super::*;
use commonware_codec::{Decode, DecodeExt, Encode, EncodeSize, FixedSize};
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
        Payload::CreateAccount { public_key: key(seed + 1).public_key().into(), initial_balance: Amount(amount) }
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
        next_nodes: NodeSet::default(),
        epoch_timeouts: Default::default(),
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
        let receipt = Receipt::plain(hash_tagged(b"t", &[b"x"]), outcome, Amount(fee));
        let decoded = Receipt::decode(receipt.encode()).expect("decodes");
        prop_assert_eq!(decoded, receipt);
    }

    #[test]
    fn account_round_trips(
        seed in 0u64..1000,
        nonce: u64,
        balance: u128,
        weight in 1u16..,
        key_count in 1u8..=ACCOUNT_KEYS_MAX,
        threshold in 1u16..,
        flags in prop::array::uniform3(any::<bool>()),
    ) {
        let mut account = Account::new(key(seed).public_key().into(), Amount(balance));
        account.nonce = Nonce(nonce);
        account.first_key.weight = weight;
        account.key_count = key_count;
        account.threshold = threshold;
        [account.frozen, account.has_recovery, account.recovering] = flags;
        prop_assert_eq!(account.encode().len(), Account::SIZE);
        prop_assert_eq!(Account::decode(account.encode()).expect("decodes"), account);
    }

    #[test]
    fn payloads_round_trip(tag in 0u8..24, weight: u16, delay: u32, seed in 0u64..100) {
        let key: AccountKey = key(seed).public_key().into();
        let payload = match tag {
            0 => Payload::CreateAccount { public_key: key, initial_balance: Amount(u128::from(weight)) },
            1 => Payload::Transfer { to: key.account_id(), amount: Amount(u128::from(delay)) },
            2 => Payload::AddKey { key, weight },
            3 => Payload::RemoveKey { key },
            4 => Payload::SetKeyWeight { key, weight },
            5 => Payload::SetThreshold { threshold: weight },
            6 => Payload::SetRecovery { key, delay_blocks: delay },
            7 => Payload::RemoveRecovery,
            8 => Payload::StartRecovery { new_key: key },
            9 => Payload::CancelRecovery,
            10 => Payload::CompleteRecovery,
            11 => Payload::Freeze { account: key.account_id() },
            12 => Payload::Unfreeze { account: key.account_id() },
            13 => Payload::Approve { proposal: u64::from(delay) },
            tag => {
                let org = OrgId(delay);
                let account = key.account_id();
                let action = match tag {
                    14 => GovernanceAction::AddOrganisation { name: OrgName::new("logistics-d").expect("short"), admin: account },
                    15 => GovernanceAction::RemoveOrganisation { org },
                    16 => GovernanceAction::AddAdmin { org, account },
                    17 => GovernanceAction::RemoveAdmin { org, account },
                    18 => GovernanceAction::SetAdminThreshold { org, threshold: weight as u8 },
                    19 => GovernanceAction::GrantRole { account, role: Role::Issuer },
                    20 => GovernanceAction::RevokeRole { account, role: Role::Regulator },
                    21 => GovernanceAction::SetAccountCreation { members_only: weight % 2 == 0 },
                    _ => GovernanceAction::SetFee { fee: Amount(u128::from(delay)) },
                };
                prop_assert!(action.encode_size() <= GovernanceAction::SIZE_MAX);
                Payload::Propose { action: Box::new(action), expiry_blocks: delay }
            }
        };
        prop_assert_eq!(payload.encode().len(), payload.encode_size());
        prop_assert_eq!(Payload::decode(payload.encode()).expect("decodes"), payload);
    }

    #[test]
    fn contract_payloads_round_trip(
        tag in 0u8..8,
        code in proptest::collection::vec(any::<u8>(), 0..300),
        method in "[a-z_]{1,64}",
        value: u128,
        gas: u64,
        frozen: bool,
    ) {
        let contract = AccountId([3; 32]);
        let payload = match tag {
            0 => Payload::Deploy {
                code: code.clone(),
                input: code.clone(),
                admin: ContractAdmin::Organisation(OrgId(gas as u32)),
                value: Amount(value),
                gas_limit: gas,
            },
            1 => Payload::Call { contract, method, input: code, value: Amount(value), gas_limit: gas },
            2 => Payload::Upgrade { contract, code, gas_limit: gas },
            3 => Payload::SetContractFrozen { contract, frozen },
            4 => Payload::Deploy {
                code: code.clone(),
                input: code,
                admin: ContractAdmin::Governance,
                value: Amount(value),
                gas_limit: gas,
            },
            5 => Payload::Propose {
                action: Box::new(GovernanceAction::UpgradeContract { contract, code_hash: [value as u8; 32] }),
                expiry_blocks: 1,
            },
            6 => Payload::Propose {
                action: Box::new(GovernanceAction::SetContractFrozen { contract, frozen }),
                expiry_blocks: 1,
            },
            _ => Payload::Propose {
                action: Box::new(GovernanceAction::SetGasSchedule {
                    price: Amount(value),
                    tx_gas_max: gas,
                    block_gas_max: gas / 2,
                }),
                expiry_blocks: 1,
            },
        };
        prop_assert_eq!(payload.encode().len(), payload.encode_size());
        prop_assert_eq!(Payload::decode(payload.encode()).expect("decodes"), payload);
    }

    #[test]
    fn receipts_with_events_round_trip(gas: u64, topics in 0usize..=4, data in proptest::collection::vec(any::<u8>(), 0..=1024)) {
        let event = ContractEvent { contract: AccountId([1; 32]), topics: vec![[9; 32]; topics], data };
        let receipt = Receipt {
            transaction_hash: hash_tagged(b"t", &[b"x"]),
            outcome: Outcome::Failure { code: FailureCode::OutOfGas, message: "out of gas".into() },
            fee_paid: Amount(5),
            gas_used: gas,
            events: vec![event; 3],
        };
        prop_assert_eq!(Receipt::decode(receipt.encode()).expect("decodes"), receipt);
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
fn contract_fields_are_bounded_while_decoding() {
    let deploy = |code_bytes: usize| Payload::Deploy {
        code: vec![0; code_bytes],
        input: Vec::new(),
        admin: ContractAdmin::None,
        value: Amount::ZERO,
        gas_limit: 1,
    };
    assert!(Payload::decode(deploy(CONTRACT_CODE_BYTES_MAX).encode()).is_ok());
    assert!(Payload::decode(deploy(CONTRACT_CODE_BYTES_MAX + 1).encode()).is_err());
    let call = |method: &str, input_bytes: usize| Payload::Call {
        contract: AccountId([1; 32]),
        method: method.into(),
        input: vec![0; input_bytes],
        value: Amount::ZERO,
        gas_limit: 1,
    };
    assert!(Payload::decode(call("run", CONTRACT_INPUT_BYTES_MAX).encode()).is_ok());
    assert!(Payload::decode(call("run", CONTRACT_INPUT_BYTES_MAX + 1).encode()).is_err());
    assert!(Payload::decode(call("", 0).encode()).is_err(), "a method has a name");
    assert!(Payload::decode(call(&"m".repeat(CONTRACT_METHOD_BYTES_MAX + 1), 0).encode()).is_err());
    let too_many_events = Receipt {
        events: vec![ContractEvent { contract: AccountId([1; 32]), topics: Vec::new(), data: Vec::new() }; 65],
        ..Receipt::plain(hash_tagged(b"t", &[b"x"]), Outcome::Success, Amount(1))
    };
    assert!(Receipt::decode(too_many_events.encode()).is_err());

    // The largest deployment, signed sixteen times, fits the default transaction limit, and one
    // fits a block of the default size.
    let mut body = body(1, 0, 0, false);
    body.payload = Payload::Deploy {
        code: vec![0; CONTRACT_CODE_BYTES_MAX],
        input: vec![0; CONTRACT_INPUT_BYTES_MAX],
        admin: ContractAdmin::Account(AccountId([1; 32])),
        value: Amount(u128::MAX),
        gas_limit: u64::MAX,
    };
    let keys: Vec<PrivateKey> = (0..16).map(key).collect();
    let signed = body.sign(&keys.iter().collect::<Vec<_>>());
    let limits = TransactionLimits::default();
    assert!(signed.encode_size() <= limits.encoded_bytes_max);
    assert!(Transaction::decode_cfg(signed.encode(), &limits).is_ok());
    let block = Block::new(header(1), vec![signed; 2]);
    assert!(Block::decode_cfg(block.encode(), &BlockLimits::default()).is_ok());
    let small = BlockLimits { bytes_max: block.encode_size() - 1, ..BlockLimits::default() };
    assert!(Block::decode_cfg(block.encode(), &small).is_err(), "the block byte limit holds");
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
fn account_keys_parse_print_and_check_their_shape() {
    let ed: AccountKey = key(3).public_key().into();
    assert_eq!(AccountKey::parse(&ed.to_string()), Ok(ed));
    assert_eq!(AccountKey::parse(&public_key_to_hex(&key(3).public_key())), Ok(ed), "bare hex is ed25519");
    assert!(ed.to_string().starts_with("ed25519:0x"));
    let compressed = format!("sm2:0x02{}", "11".repeat(32));
    let sm2 = AccountKey::parse(&compressed).expect("an SM2 key of the right shape");
    assert_eq!(sm2.scheme(), KeyScheme::Sm2);
    assert_eq!(sm2.to_string(), compressed);
    assert_ne!(
        sm2.account_id(),
        AccountKey::parse(&compressed.replace("sm2", "secp256k1")).expect("shape").account_id()
    );
    assert!(matches!(AccountKey::parse(&format!("sm2:0x04{}", "11".repeat(32))), Err(ParseError::PublicKey)));
    assert!(matches!(AccountKey::parse("rsa:0x00"), Err(ParseError::Scheme(_))));
    assert!(matches!(AccountKey::parse("secp256k1:0x0211"), Err(ParseError::Length { .. })));
    // The decoder refuses what the parser refuses: ed25519 padding and uncompressed points.
    let mut padded = ed.encode().to_vec();
    padded[33] = 1;
    assert!(AccountKey::decode(padded).is_err());
    let mut uncompressed = sm2.encode().to_vec();
    uncompressed[1] = 4;
    assert!(AccountKey::decode(uncompressed).is_err());
    let json = serde_json::to_string(&KeyEntry { key: sm2, weight: 3 }).expect("serialises");
    assert_eq!(serde_json::from_str::<KeyEntry>(&json).expect("parses"), KeyEntry { key: sm2, weight: 3 });
}

#[test]
fn organisation_names_are_short_and_printable() {
    assert_eq!(OrgName::new("bank-a").expect("valid").as_str(), "bank-a");
    assert!(OrgName::new("").is_err());
    assert!(OrgName::new(&"x".repeat(32)).is_err());
    assert!(OrgName::new("tab\there").is_err());
    let name = OrgName::new("银行").expect("UTF-8 is fine");
    assert_eq!(OrgName::decode(name.encode()).expect("decodes"), name);
    let mut padded = name.encode().to_vec();
    padded[31] = 1;
    assert!(OrgName::decode(padded).is_err(), "non-zero padding");
    let rule = ApprovalRule::TWO_THIRDS;
    assert!(!rule.passes(2, 3) && rule.passes(3, 3) && !rule.passes(2, 4) && rule.passes(3, 4) && rule.passes(1, 1));
}

#[test]
fn account_decoder_refuses_impossible_records() {
    let account = Account::new(key(1).public_key().into(), Amount(5));
    let encoded = account.encode().to_vec();
    let at = |field: usize, value: u8| {
        let mut bytes = encoded.clone();
        bytes[field] = value;
        Account::decode(bytes)
    };
    let key_count = 1 + 8 + 16 + KeyEntry::SIZE;
    assert!(at(0, 1).is_err(), "unknown version");
    assert!(at(key_count, 0).is_err(), "no keys");
    assert!(at(key_count, ACCOUNT_KEYS_MAX + 1).is_err(), "too many keys");
    assert!(at(key_count + 1, 0).is_ok_and(|decoded| decoded.threshold == 1), "threshold high byte");
    assert!(at(key_count + 2, 0).is_err(), "zero threshold");
    assert!(at(Account::SIZE - 1, 8).is_err(), "unknown flag");
}

/// Golden hashes: these change only with a deliberate format change (and a migration note).
#[test]
fn golden_hashes() {
    let transaction = body(42, 7, 1_000, false).sign(&[&key(42)]);
    assert_eq!(hash_to_hex(&transaction.hash()), "0xe55466e9755fd1dd31181e5329d1e4bb3eef07708a010ae38c2d7b0f3374a4bf");
    let create = body(42, 7, 1_000, true);
    assert_eq!(hash_to_hex(&create.hash()), "0x254660053db3f8d007086dc979f1fe807e4a393902ed3707c322426f98dc4a1a");
    assert_eq!(hash_to_hex(&header(5).digest()), "0xec776f7905022286d70a26e02056ca6dc243e602c2ae74025d1a979ea89bcd22");
    assert_eq!(
        AccountId::from_public_key(&key(42).public_key()).to_hex(),
        "0xeabdf35b17d2d487918b7cca02a2bef70ba78509022c5a31796d29029e23790e"
    );
    let mut call = body(42, 7, 0, false);
    call.payload = Payload::Call {
        contract: AccountId([3; 32]),
        method: "transfer".into(),
        input: vec![1, 2, 3],
        value: Amount(5),
        gas_limit: 1_000_000,
    };
    assert_eq!(hash_to_hex(&call.hash()), "0x867de08152c1b8efc2a1a2e90ae03c7c485320a64734bdf868815a4af8916781");
    let receipt = Receipt {
        transaction_hash: call.hash(),
        outcome: Outcome::Success,
        fee_paid: Amount(1_001),
        gas_used: 1_000,
        events: vec![ContractEvent { contract: AccountId([3; 32]), topics: vec![[4; 32]], data: vec![5] }],
    };
    assert_eq!(hash_to_hex(&receipt.hash()), "0xcc43b752852736759a7f5f7738554f13bcfcec037d965f61e73d039ab3f811dd");
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
        roles: vec![],
        recovery_delay_min_blocks: Genesis::RECOVERY_DELAY_MIN_BLOCKS_DEFAULT,
        frozen_accounts_receive: true,
        organisations: vec![],
        approval_rule: ApprovalRule::TWO_THIRDS,
        proposal_expiry_blocks_max: Genesis::PROPOSAL_EXPIRY_BLOCKS_MAX_DEFAULT,
        account_creation_members_only: false,
        epoch_blocks: Genesis::EPOCH_BLOCKS_DEFAULT,
        consensus_timeouts: Default::default(),
        api_members_only: false,
        gas_price: crate::Amount::ZERO,
        tx_gas_max: Genesis::TX_GAS_MAX_DEFAULT,
        block_gas_max: Genesis::BLOCK_GAS_MAX_DEFAULT,
        block_bytes_max: Genesis::BLOCK_BYTES_MAX_DEFAULT,
    };
    assert_eq!(genesis.validate(), Err(GenesisError::NoValidators));
    let mut with_validator = genesis.clone();
    with_validator.validators.push(GenesisValidator {
        name: "a".into(),
        public_key: Genesis::key_to_hex(&key(1).public_key()),
        p2p_address: "127.0.0.1:1".into(),
    });
    assert_eq!(with_validator.validate(), Err(GenesisError::FeeCollectorMissing(AccountId([0; 32]))));
    let funded: AccountKey = key(2).public_key().into();
    with_validator.accounts.push(GenesisAccount { public_key: funded.to_string(), balance: Amount(10) });
    with_validator.fee_collector = funded.account_id();
    assert!(with_validator.validate().is_ok());
    let grant = GenesisRole { account: funded.account_id(), role: Role::Regulator };
    with_validator.roles = vec![grant.clone(), grant];
    assert!(matches!(with_validator.validate(), Err(GenesisError::DuplicateRole { .. })));
    with_validator.roles.pop();
    let member = |name: &str, admins: Vec<AccountId>, admin_threshold| GenesisOrganisation {
        name: OrgName::new(name).expect("short name"),
        admins,
        admin_threshold,
    };
    with_validator.organisations = vec![member("bank-a", vec![AccountId([1; 32])], 1)];
    assert!(with_validator.validate().is_ok());
    with_validator.organisations.push(member("bank-b", vec![AccountId([1; 32])], 1));
    assert!(matches!(with_validator.validate(), Err(GenesisError::Organisation { .. })), "one admin, two members");
    with_validator.organisations[1] = member("bank-b", vec![AccountId([2; 32])], 2);
    assert!(matches!(with_validator.validate(), Err(GenesisError::Organisation { .. })), "threshold above admins");
    with_validator.organisations[1] = member("bank-a", vec![AccountId([2; 32])], 1);
    assert!(matches!(with_validator.validate(), Err(GenesisError::Organisation { .. })), "name used twice");
    with_validator.organisations.pop();
    with_validator.approval_rule = ApprovalRule { numerator: 3, denominator: 3 };
    assert_eq!(with_validator.validate(), Err(GenesisError::ApprovalRule));
    with_validator.approval_rule = ApprovalRule::TWO_THIRDS;
    with_validator.validators.push(with_validator.validators[0].clone());
    assert!(matches!(with_validator.validate(), Err(GenesisError::DuplicateValidator(_))));
}

#[test]
fn asset_operations_and_records_round_trip_and_symbols_are_checked() {
    let symbol = Symbol::new("HKD").expect("valid");
    let account = AccountId([9; 32]);
    let ops = [
        AssetOp::Define { symbol, decimals: 2, cap: Some(Amount(5)), allow_list: true },
        AssetOp::Define { symbol, decimals: 0, cap: None, allow_list: false },
        AssetOp::Attest { symbol, reserves: Amount(7), reference: hash_tagged(b"t", &[]) },
        AssetOp::Mint { symbol, to: account, amount: Amount(1) },
        AssetOp::Burn { symbol, amount: Amount(2) },
        AssetOp::Transfer { symbol: Symbol::NATIVE, to: account, amount: Amount(3) },
        AssetOp::SetPaused { symbol, paused: true },
        AssetOp::SetHoldingFrozen { symbol, account, frozen: false },
        AssetOp::SetAllowed { symbol, account, allowed: true },
    ];
    for op in ops {
        let payload = Payload::Asset(op);
        let bytes = payload.encode();
        assert_eq!(bytes.len(), payload.encode_size());
        assert_eq!(Payload::decode(bytes).expect("decodes"), payload);
    }
    let record = AssetRecord {
        symbol,
        decimals: 2,
        issuer: account,
        cap: None,
        allow_list: false,
        paused: true,
        supply: Amount(4),
        minted: Amount(6),
        burned: Amount(2),
        reserves: Amount(10),
        attestations: 3,
        defined_at: Height(8),
    };
    assert_eq!(record.encode().len(), AssetRecord::SIZE);
    assert_eq!(AssetRecord::decode(record.encode()).expect("decodes"), record);
    let holding = Holding { balance: Amount(1), frozen: true, allowed: false };
    assert_eq!(Holding::decode(holding.encode()).expect("decodes"), holding);

    for bad in ["", "hkd", "1HKD", "HKD$", "ABCDEFGHIJKLM"] {
        assert!(Symbol::new(bad).is_err(), "{bad:?} is refused");
    }
    assert_eq!(Symbol::new("RCV-2026.A").expect("valid").as_str(), "RCV-2026.A");
    // A decoder refuses a lowercase symbol and junk after the used length.
    let mut lower = Symbol::new("HKD").expect("valid").encode().to_vec();
    lower[1] = b'h';
    assert!(Symbol::decode(lower).is_err());
    let mut padded = Symbol::new("HKD").expect("valid").encode().to_vec();
    padded[5] = b'X';
    assert!(Symbol::decode(padded).is_err());
    // A record with a cap of zero but no cap flag is fine; a cap value without its flag is not.
    let mut capless = record.encode().to_vec();
    let cap_at = Symbol::SIZE + 1 + AccountId::SIZE + 1;
    capless[cap_at + Amount::SIZE - 1] = 1;
    assert!(AssetRecord::decode(capless).is_err());
}

fn corridor_terms() -> CorridorTerms {
    CorridorTerms {
        id: CorridorId::new("HKD-PHP").expect("valid"),
        source: Symbol::new("HKD").expect("valid"),
        destination: Symbol::new("PHP").expect("valid"),
        sending_wallet: AccountId([1; 32]),
        receiving_wallet: AccountId([2; 32]),
        settlement: AccountId([3; 32]),
        fx_provider: AccountId([4; 32]),
        compliance: AccountId([5; 32]),
        fee_flat: Amount(500),
        fee_bps: 50,
        fee_shares: FeeShares(vec![(AccountId([1; 32]), 7_000), (AccountId([3; 32]), 3_000)]),
        per_transfer_max: Amount(1_000_000),
        daily_max: Amount(2_000_000),
    }
}

#[test]
fn remittance_operations_and_records_round_trip_and_bad_bytes_are_refused() {
    let corridor = corridor_terms().id;
    let id = remittance_id(&AccountId([1; 32]), 42);
    assert_ne!(id, remittance_id(&AccountId([1; 32]), 43), "a reference names one remittance");
    assert_ne!(id, remittance_id(&AccountId([2; 32]), 42), "references are per wallet");
    let ops = [
        RemittanceOp::DefineCorridor(corridor_terms()),
        RemittanceOp::DefineCorridor(CorridorTerms { fee_shares: FeeShares::default(), ..corridor_terms() }),
        RemittanceOp::SetCorridorActive { corridor, active: false },
        RemittanceOp::SetLimits { corridor, per_transfer_max: Amount(1), daily_max: Amount(2) },
        RemittanceOp::SetSanctioned { corridor, account: AccountId([9; 32]), sanctioned: true },
        RemittanceOp::Request {
            corridor,
            reference: 42,
            sender: AccountId([6; 32]),
            recipient: AccountId([7; 32]),
            amount: Amount(10_000),
        },
        RemittanceOp::Quote { id, rate: 725_000_000, expires_ms: 1_700_000_060_000 },
        RemittanceOp::Accept { id },
        RemittanceOp::Refund { id },
    ];
    for op in ops {
        let payload = Payload::Remittance(op);
        let bytes = payload.encode();
        assert_eq!(bytes.len(), payload.encode_size());
        assert_eq!(Payload::decode(bytes).expect("decodes"), payload);
    }
    let quote = Quote {
        rate: 725_000_000,
        fee: Amount(550),
        destination_amount: Amount(72_500),
        expires_ms: 9,
        quoted_at: Height(3),
    };
    let record = RemittanceRecord {
        id,
        corridor,
        wallet: AccountId([1; 32]),
        reference: 42,
        sender: AccountId([6; 32]),
        recipient: AccountId([7; 32]),
        amount: Amount(10_000),
        status: RemittanceStatus::Rejected,
        quote: Some(quote),
        reason: Some(RejectReason::OverDailyLimit),
        requested_at: Height(2),
        updated_at: Height(4),
    };
    assert_eq!(record.encode().len(), RemittanceRecord::SIZE);
    assert_eq!(RemittanceRecord::decode(record.encode()).expect("decodes"), record);
    let requested = RemittanceRecord { status: RemittanceStatus::Requested, quote: None, reason: None, ..record };
    assert_eq!(RemittanceRecord::decode(requested.encode()).expect("decodes"), requested);
    // A reason on a remittance that is not rejected, or a rejection without one, is refused.
    let settled_with_reason = RemittanceRecord { status: RemittanceStatus::Settled, ..record };
    assert!(RemittanceRecord::decode(settled_with_reason.encode()).is_err());
    let mut unknown_status = record.encode().to_vec();
    let status_at = Hash::SIZE + CorridorId::SIZE + AccountId::SIZE + 8 + 2 * AccountId::SIZE + Amount::SIZE;
    unknown_status[status_at] = 9;
    assert!(RemittanceRecord::decode(unknown_status).is_err());
    // A quote's bytes without its flag are refused.
    let mut stray_quote = requested.encode().to_vec();
    stray_quote[status_at + 2] = 1;
    assert!(RemittanceRecord::decode(stray_quote).is_err());

    let corridor_record = CorridorRecord {
        terms: corridor_terms(),
        active: true,
        regulator: AccountId([8; 32]),
        defined_at: Height(1),
        updated_at: Height(5),
    };
    assert_eq!(corridor_record.encode().len(), CorridorRecord::SIZE);
    assert_eq!(CorridorRecord::decode(corridor_record.encode()).expect("decodes"), corridor_record);
    let entry = SanctionEntry { corridor, listed_at: Height(6) };
    assert_eq!(SanctionEntry::decode(entry.encode()).expect("decodes"), entry);
    let usage = DailyUsage { day: 19_675, sent: Amount(77) };
    assert_eq!(DailyUsage::decode(usage.encode()).expect("decodes"), usage);
    assert_eq!(usage.sent_on(19_675), Amount(77));
    assert_eq!(usage.sent_on(19_676), Amount::ZERO);

    // Fee shares: more than four, or junk in an unused slot, are refused on decode.
    let mut shares = FeeShares(vec![(AccountId([1; 32]), 10_000)]).encode().to_vec();
    shares[0] = 5;
    assert!(FeeShares::decode(shares.clone()).is_err());
    shares[0] = 1;
    shares[1 + 34] = 1;
    assert!(FeeShares::decode(shares).is_err());

    for bad in ["", "hkd-php", "1HKD", "HKD PHP", "ABCDEFGHIJKLMNOPQ"] {
        assert!(CorridorId::new(bad).is_err(), "{bad:?} is refused");
    }
    let mut lower = corridor.encode().to_vec();
    lower[1] = b'h';
    assert!(CorridorId::decode(lower).is_err());
    let mut padded = corridor.encode().to_vec();
    padded[10] = b'X';
    assert!(CorridorId::decode(padded).is_err());
    // An operation with an unknown tag, or cut short, is refused.
    let mut bytes = Payload::Remittance(RemittanceOp::Accept { id }).encode().to_vec();
    bytes[1] = 8;
    assert!(Payload::decode(bytes).is_err());
    let short = Payload::Remittance(RemittanceOp::Refund { id }).encode();
    assert!(Payload::decode(short[..short.len() - 1].to_vec()).is_err());
}

#[test]
fn remittance_fees_and_rates_round_down_and_shares_add_up() {
    let terms = corridor_terms();
    // 500 flat + 0.5% of 10_001 = 50.005, rounded down.
    assert_eq!(terms.fee(Amount(10_001)), Some(Amount(550)));
    assert_eq!(terms.fee(Amount(u128::MAX)), None, "overflow is refused, not wrapped");
    assert_eq!(Quote::destination_amount(Amount(10_000), 725_000_000), Some(Amount(72_500)));
    assert_eq!(Quote::destination_amount(Amount(1), 99_999_999), Some(Amount(0)));
    assert_eq!(Quote::destination_amount(Amount(u128::MAX), 2), None);
    assert!(terms.fee_shares.valid());
    assert!(FeeShares::default().valid());
    assert!(!FeeShares(vec![(AccountId([1; 32]), 5_000), (AccountId([1; 32]), 5_000)]).valid(), "distinct");
    assert!(!FeeShares(vec![(AccountId([1; 32]), 9_999)]).valid(), "sums to the whole");
    assert!(!FeeShares(vec![(AccountId([1; 32]), 10_000), (AccountId([2; 32]), 0)]).valid(), "no zero share");
    let three = FeeShares(vec![(AccountId([1; 32]), 3_334), (AccountId([2; 32]), 3_333), (AccountId([3; 32]), 3_333)]);
    assert!(three.valid());
    assert!(FeeShares(vec![]).split(Amount(5)).is_empty());
}

fn finance_op() -> impl Strategy<Value = FinanceOp> {
    let account = any::<[u8; 32]>().prop_map(AccountId);
    let id = any::<[u8; 32]>().prop_map(|bytes| hash_tagged(b"test/receivable", &[&bytes]));
    let share = (account.clone(), any::<u128>()).prop_map(|(holder, amount)| Share { holder, amount: Amount(amount) });
    (
        0u8..6,
        (account.clone(), account, id),
        (any::<u16>(), any::<u128>(), any::<u64>(), any::<bool>()),
        proptest::collection::vec(share, 2..=SPLIT_PARTS_MAX),
    )
        .prop_map(|(tag, (one, two, receivable), (part, amount, maturity_ms, linked), shares)| {
            let reference = InvoiceNumber::new("PO-2026/77").expect("valid");
            match tag {
                0 => FinanceOp::Acknowledge(ReceivableTerms {
                    reference,
                    supplier: one,
                    currency: Symbol::new("CNH").expect("valid"),
                    amount: Amount(amount),
                    maturity_ms,
                    invoice: linked.then(|| InvoiceNumber::new("INV-9").expect("valid")),
                }),
                1 => FinanceOp::Split { receivable, part, shares },
                2 => FinanceOp::Transfer { receivable, part, to: two },
                3 => FinanceOp::Offer { receivable, part, bank: two, price: Amount(amount) },
                4 => FinanceOp::Finance { receivable, part },
                _ => FinanceOp::Settle { receivable, part },
            }
        })
}

proptest! {
    #[test]
    fn fee_splits_pay_out_exactly_the_fee(fee in any::<u128>(), first in 1u16..10_000) {
        let shares = FeeShares(vec![(AccountId([1; 32]), first), (AccountId([2; 32]), 10_000 - first)]);
        let parts = shares.split(Amount(fee));
        let paid = parts.iter().try_fold(0u128, |sum, (_, part)| sum.checked_add(part.get()));
        prop_assert_eq!(paid, Some(fee));
    }

    #[test]
    fn remittance_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut tagged = vec![20u8];
        tagged.extend_from_slice(&bytes);
        let _ = Payload::decode(tagged);
        let _ = RemittanceRecord::decode(bytes.clone());
        let _ = CorridorRecord::decode(bytes);
    }

    #[test]
    fn finance_operations_round_trip(op in finance_op()) {
        let payload = Payload::Finance(op);
        let bytes = payload.encode();
        prop_assert_eq!(bytes.len(), payload.encode_size());
        prop_assert_eq!(Payload::decode(bytes).expect("decodes"), payload);
    }

    #[test]
    fn finance_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let mut tagged = vec![22u8];
        tagged.extend_from_slice(&bytes);
        let _ = Payload::decode(tagged);
    }
}

#[test]
fn remittance_golden_hashes() {
    let mut request = body(42, 7, 0, false);
    request.payload = Payload::Remittance(RemittanceOp::Request {
        corridor: CorridorId::new("HKD-PHP").expect("valid"),
        reference: 42,
        sender: AccountId([6; 32]),
        recipient: AccountId([7; 32]),
        amount: Amount(10_000),
    });
    assert_eq!(hash_to_hex(&request.hash()), "0x4c0bbd08461fb5ab4272543bd4ab0288fd92b04dcf30e7435b66ffd189fcba66");
    let mut define = body(42, 7, 0, false);
    define.payload = Payload::Remittance(RemittanceOp::DefineCorridor(corridor_terms()));
    assert_eq!(hash_to_hex(&define.hash()), "0xd87b7647169e68aa7a814b8cd9528638fe58120133eeb430c434071315f84f83");
    assert_eq!(
        hash_to_hex(&remittance_id(&AccountId([1; 32]), 42)),
        "0xfb97ea8cea0987ffe045b9586e18e92211d820cb6e0dddc606e049d472cc08bc"
    );
}

#[test]
fn finance_records_round_trip_and_bad_encodings_are_refused() {
    let debtor = AccountId([3; 32]);
    let reference = InvoiceNumber::new("PO-1").expect("valid");
    let terms = ReceivableTerms {
        reference,
        supplier: AccountId([4; 32]),
        currency: Symbol::NATIVE,
        amount: Amount(1_000),
        maturity_ms: 1_800_000_000_000,
        invoice: None,
    };
    let receivable = Receivable {
        debtor,
        terms,
        parts: 3,
        settled_parts: 1,
        settled: Amount(400),
        acknowledged_at: Height(2),
        updated_at: Height(9),
    };
    assert_eq!(receivable.encode().len(), Receivable::SIZE);
    assert_eq!(Receivable::decode(receivable.encode()).expect("decodes"), receivable);
    assert_eq!(receivable.id(), receivable_id(&debtor, &reference));
    assert_ne!(receivable.id(), receivable_id(&AccountId([5; 32]), &reference), "ids are per debtor");
    // Settled beyond the total, or no part at all, is refused.
    for bad in [
        Receivable { settled: Amount(1_001), ..receivable },
        Receivable { parts: 0, settled_parts: 0, ..receivable },
        Receivable { parts: RECEIVABLE_PARTS_MAX + 1, ..receivable },
        Receivable { settled_parts: 4, ..receivable },
    ] {
        assert!(Receivable::decode(bad.encode()).is_err(), "{bad:?}");
    }
    let part = Part {
        holder: AccountId([6; 32]),
        amount: Amount(600),
        parent: Some(0),
        status: PartStatus::Held,
        offer: Some(Discount { bank: AccountId([7; 32]), price: Amount(570) }),
        financed: None,
        created_at: Height(3),
        updated_at: Height(4),
    };
    assert_eq!(part.encode().len(), Part::SIZE);
    assert_eq!(Part::decode(part.encode()).expect("decodes"), part);
    let root = Part { parent: None, status: PartStatus::Split, offer: None, financed: part.offer, ..part };
    assert_eq!(Part::decode(root.encode()).expect("decodes"), root);
    // A parent number or a discount without its flag, and an unknown status, are refused.
    let mut orphan = root.encode().to_vec();
    orphan[AccountId::SIZE + Amount::SIZE + 2] = 1;
    assert!(Part::decode(orphan).is_err());
    let mut ghost_offer = root.encode().to_vec();
    ghost_offer[AccountId::SIZE + Amount::SIZE + 4 + 1] = 1;
    assert!(Part::decode(ghost_offer).is_err());
    let mut status = part.encode().to_vec();
    status[AccountId::SIZE + Amount::SIZE + 3] = 3;
    assert!(Part::decode(status).is_err());
    let index = ReceivableInvoice { receivable: receivable.id() };
    assert_eq!(ReceivableInvoice::decode(index.encode()).expect("decodes"), index);

    // A split of one part, or of more than SPLIT_PARTS_MAX, does not decode.
    let share = Share { holder: debtor, amount: Amount(1) };
    for count in [1usize, SPLIT_PARTS_MAX + 1] {
        let mut bytes = vec![22u8, 1];
        bytes.extend_from_slice(receivable.id().as_ref());
        bytes.extend_from_slice(&0u16.to_be_bytes());
        bytes.push(count as u8);
        for _ in 0..count {
            bytes.extend_from_slice(&share.encode());
        }
        assert!(Payload::decode(bytes).is_err(), "{count} shares");
    }
    // An invoice number without its flag is refused.
    let mut unlinked = terms.encode().to_vec();
    *unlinked.last_mut().expect("bytes") = b'X';
    assert!(ReceivableTerms::decode(unlinked).is_err());
}

#[test]
fn finance_golden_encoding() {
    let terms = ReceivableTerms {
        reference: InvoiceNumber::new("PO-1").expect("valid"),
        supplier: AccountId([4; 32]),
        currency: Symbol::NATIVE,
        amount: Amount(1_000),
        maturity_ms: 1_800_000_000_000,
        invoice: Some(InvoiceNumber::new("INV-1").expect("valid")),
    };
    let id = receivable_id(&AccountId([3; 32]), &terms.reference);
    let shares = vec![Share { holder: AccountId([8; 32]), amount: Amount(1) }; 2];
    let ops = [FinanceOp::Acknowledge(terms), FinanceOp::Split { receivable: id, part: 0, shares }];
    let bytes: Vec<u8> = ops.iter().flat_map(|op| Payload::Finance(op.clone()).encode().to_vec()).collect();
    assert_eq!(hash_to_hex(&id), "0xc7543a9200dac5caf321ac6caf5e4065c852f2ee4ee76c96a11457b6e493c52e");
    assert_eq!(
        hash_to_hex(&hash_tagged(b"test/golden", &[&bytes])),
        "0x27f7695306b41776d1a5ff3b6cf66a29a6dbd00b4eacac62a7aeed083648f8c7"
    );
}
