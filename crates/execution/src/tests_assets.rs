//! Assets module tests: who may define, attest, mint, burn, pause, freeze and allow; the reserve
//! and cap limits; the native asset as one asset among these; and, under random histories,
//! `supply = minted - burned = sum of holdings` after every block.

use super::{World, failure, signer};
use crate::modules::{decode_record, event_topic, record_keys};
use formica_crypto::AccountSigner;
use formica_types::{
    AccountId, Amount, AssetOp, AssetRecord, Attestation, FailureCode, Holding, KeyScheme, Module, Outcome, Payload,
    Role, Symbol, hash_tagged,
};
use proptest::prelude::*;

fn hkd() -> Symbol {
    Symbol::new("HKD").expect("valid symbol")
}

impl World {
    pub(super) fn module_record<R: crate::modules::ModuleRecord>(&self, key: &[u8]) -> Option<R> {
        let keys = record_keys::<R>(Module::Assets, key);
        let chunks: Vec<_> = keys.iter().map(|key| self.records.get(key)).collect();
        decode_record(&chunks)
    }

    pub(super) fn asset(&self, symbol: Symbol) -> Option<AssetRecord> {
        self.module_record(&AssetRecord::key(&symbol))
    }

    pub(super) fn holding(&self, symbol: Symbol, account: &AccountId) -> Holding {
        self.module_record(&Holding::key(&symbol, account)).unwrap_or_default()
    }

    /// The asset invariant over the accounts that can hold it.
    pub(super) fn check_asset(&self, symbol: Symbol, holders: &[AccountId]) {
        let Some(asset) = self.asset(symbol) else { return };
        assert_eq!(asset.supply.get(), asset.minted.get() - asset.burned.get(), "supply = minted - burned");
        let held: u128 = holders.iter().map(|id| self.holding(symbol, id).balance.get()).sum();
        assert_eq!(held, asset.supply.get(), "the holdings sum to the supply");
        if let Some(cap) = asset.cap {
            assert!(asset.supply <= cap, "the supply stays within the cap");
        }
    }

    /// An issuer (and regulator) funded at genesis, and `holders` funded too.
    pub(super) fn with_issuer(holders: &[&AccountSigner]) -> (World, AccountSigner) {
        let issuer = signer(KeyScheme::Ed25519, 7_000);
        let mut funded: Vec<&AccountSigner> = vec![&issuer];
        funded.extend_from_slice(holders);
        let mut world = World::new(&funded, None, false);
        world.parameters.genesis_roles.push((issuer.account_id(), Role::Issuer));
        world.parameters.genesis_roles.push((issuer.account_id(), Role::Regulator));
        // The roles take effect in the first block; rebuild the world from genesis with them.
        let mut rebuilt = World {
            parameters: world.parameters.clone(),
            records: Default::default(),
            height: Default::default(),
            timestamp_ms: super::TIMESTAMP_MS,
        };
        rebuilt.block(&[]).expect("the genesis block applies");
        world = rebuilt;
        (world, issuer)
    }
}

fn asset(op: AssetOp) -> Payload {
    Payload::Asset(op)
}

fn reference(n: u8) -> formica_types::Hash {
    hash_tagged(b"test/reserve-report", &[&[n]])
}

#[test]
fn issuers_define_attest_and_mint_within_reserves_and_cap() {
    let holder = signer(KeyScheme::Sm2, 7_001);
    let (mut world, issuer) = World::with_issuer(&[&holder]);
    let define = |cap| asset(AssetOp::Define { symbol: hkd(), decimals: 2, cap, allow_list: false });

    world.fails(world.by(&holder, define(None)), FailureCode::NotPermitted);
    world.fails(
        world.by(&issuer, asset(AssetOp::Define { symbol: Symbol::NATIVE, decimals: 0, cap: None, allow_list: false })),
        FailureCode::InvalidAsset,
    );
    world.fails(
        world.by(&issuer, asset(AssetOp::Define { symbol: hkd(), decimals: 19, cap: None, allow_list: false })),
        FailureCode::InvalidAsset,
    );
    world.ok(world.by(&issuer, define(Some(Amount(1_000_000)))));
    world.fails(world.by(&issuer, define(None)), FailureCode::AssetExists);
    let defined = world.asset(hkd()).expect("defined");
    assert_eq!((defined.issuer, defined.decimals, defined.cap), (issuer.account_id(), 2, Some(Amount(1_000_000))));

    let mint = |amount| asset(AssetOp::Mint { symbol: hkd(), to: holder.account_id(), amount: Amount(amount) });
    world.fails(world.by(&issuer, mint(1)), FailureCode::ReservesExceeded);
    world
        .ok(world
            .by(&issuer, asset(AssetOp::Attest { symbol: hkd(), reserves: Amount(500_000), reference: reference(0) })));
    let receipt = world.run(world.by(&issuer, mint(400_000))).expect("admissible");
    assert_eq!(receipt.outcome, Outcome::Success);
    assert_eq!(receipt.events.len(), 1);
    assert_eq!(receipt.events[0].contract, Module::Assets.address());
    assert_eq!(receipt.events[0].topics[0], event_topic("asset.minted"));
    assert_eq!(receipt.events[0].topics[2], holder.account_id().0);
    assert_eq!(receipt.events[0].data, 400_000u128.to_be_bytes().to_vec());
    world.fails(world.by(&issuer, mint(100_001)), FailureCode::ReservesExceeded);
    world.fails(world.by(&holder, mint(1)), FailureCode::NotPermitted);
    world.fails(world.by(&issuer, mint(0)), FailureCode::InvalidAsset);
    let stranger = signer(KeyScheme::Ed25519, 7_999).account_id();
    world.fails(
        world.by(&issuer, asset(AssetOp::Mint { symbol: hkd(), to: stranger, amount: Amount(1) })),
        FailureCode::RecipientMissing,
    );
    world.ok(world
        .by(&issuer, asset(AssetOp::Attest { symbol: hkd(), reserves: Amount(2_000_000), reference: reference(1) })));
    world.fails(world.by(&issuer, mint(600_001)), FailureCode::CapExceeded);
    world.ok(world.by(&issuer, mint(600_000)));

    let minted = world.asset(hkd()).expect("defined");
    assert_eq!(
        (minted.supply, minted.minted, minted.reserves, minted.attestations),
        (Amount(1_000_000), Amount(1_000_000), Amount(2_000_000), 2)
    );
    assert_eq!(world.holding(hkd(), &holder.account_id()).balance, Amount(1_000_000));
    let first: Attestation = world.module_record(&Attestation::key(&hkd(), 0)).expect("attestation 0 is kept");
    assert_eq!((first.reserves, first.reference), (Amount(500_000), reference(0)));
    let second: Attestation = world.module_record(&Attestation::key(&hkd(), 1)).expect("attestation 1 is kept");
    assert_eq!(second.reserves, Amount(2_000_000));
    world.check_asset(hkd(), &[issuer.account_id(), holder.account_id()]);
}

#[test]
fn transfers_burns_pauses_and_frozen_holdings() {
    let alice = signer(KeyScheme::Ed25519, 7_101);
    let bob = signer(KeyScheme::Secp256k1, 7_102);
    let (mut world, issuer) = World::with_issuer(&[&alice, &bob]);
    let holders = [issuer.account_id(), alice.account_id(), bob.account_id()];
    world.ok(world.by(&issuer, asset(AssetOp::Define { symbol: hkd(), decimals: 2, cap: None, allow_list: false })));
    world
        .ok(world
            .by(&issuer, asset(AssetOp::Attest { symbol: hkd(), reserves: Amount(10_000), reference: reference(0) })));
    world.ok(world.by(&issuer, asset(AssetOp::Mint { symbol: hkd(), to: alice.account_id(), amount: Amount(10_000) })));
    let transfer = |to: &AccountSigner, amount| {
        asset(AssetOp::Transfer { symbol: hkd(), to: to.account_id(), amount: Amount(amount) })
    };

    world.ok(world.by(&alice, transfer(&bob, 3_000)));
    world.fails(world.by(&bob, transfer(&alice, 3_001)), FailureCode::InsufficientBalance);
    world.fails(
        world.by(
            &bob,
            asset(AssetOp::Transfer {
                symbol: Symbol::new("EUR").expect("valid"),
                to: alice.account_id(),
                amount: Amount(1),
            }),
        ),
        FailureCode::AssetMissing,
    );
    assert_eq!(world.holding(hkd(), &bob.account_id()).balance, Amount(3_000));
    world.check_asset(hkd(), &holders);

    // Paused: nothing moves, and only the issuer pauses or resumes.
    world.fails(world.by(&alice, asset(AssetOp::SetPaused { symbol: hkd(), paused: true })), FailureCode::NotPermitted);
    world.ok(world.by(&issuer, asset(AssetOp::SetPaused { symbol: hkd(), paused: true })));
    world
        .fails(world.by(&issuer, asset(AssetOp::SetPaused { symbol: hkd(), paused: true })), FailureCode::InvalidAsset);
    world.fails(world.by(&alice, transfer(&bob, 1)), FailureCode::AssetPaused);
    world.fails(
        world.by(&issuer, asset(AssetOp::Mint { symbol: hkd(), to: bob.account_id(), amount: Amount(1) })),
        FailureCode::AssetPaused,
    );
    world.ok(world.by(&issuer, asset(AssetOp::SetPaused { symbol: hkd(), paused: false })));

    // A frozen holding neither sends nor receives; only a regulator freezes.
    let freeze = |frozen| asset(AssetOp::SetHoldingFrozen { symbol: hkd(), account: bob.account_id(), frozen });
    world.fails(world.by(&alice, freeze(true)), FailureCode::NotPermitted);
    world.ok(world.by(&issuer, freeze(true)));
    world.fails(world.by(&issuer, freeze(true)), FailureCode::FreezeUnchanged);
    world.fails(world.by(&bob, transfer(&alice, 1)), FailureCode::HoldingFrozen);
    world.fails(world.by(&alice, transfer(&bob, 1)), FailureCode::HoldingFrozen);
    world.ok(world.by(&issuer, freeze(false)));
    world.ok(world.by(&bob, transfer(&alice, 1)));

    // Redemption: the holder returns the asset to the issuer, who burns it.
    world.ok(world.by(&bob, transfer(&issuer, 2_999)));
    world.fails(world.by(&bob, asset(AssetOp::Burn { symbol: hkd(), amount: Amount(1) })), FailureCode::NotPermitted);
    world.fails(
        world.by(&issuer, asset(AssetOp::Burn { symbol: hkd(), amount: Amount(3_000) })),
        FailureCode::InsufficientBalance,
    );
    world.ok(world.by(&issuer, asset(AssetOp::Burn { symbol: hkd(), amount: Amount(2_999) })));
    let burned = world.asset(hkd()).expect("defined");
    assert_eq!((burned.supply, burned.burned), (Amount(7_001), Amount(2_999)));
    // Bob's holding carries nothing any more: its record is gone.
    assert!(world.module_record::<Holding>(&Holding::key(&hkd(), &bob.account_id())).is_none());
    world.check_asset(hkd(), &holders);
}

#[test]
fn allow_listed_assets_reach_only_allowed_accounts() {
    let alice = signer(KeyScheme::Ed25519, 7_201);
    let bob = signer(KeyScheme::Ed25519, 7_202);
    let (mut world, issuer) = World::with_issuer(&[&alice, &bob]);
    let symbol = Symbol::new("RCV-2026").expect("valid");
    world.ok(world.by(&issuer, asset(AssetOp::Define { symbol, decimals: 0, cap: None, allow_list: true })));
    world.ok(world.by(&issuer, asset(AssetOp::Attest { symbol, reserves: Amount(100), reference: reference(0) })));
    let mint = |to: &AccountSigner| asset(AssetOp::Mint { symbol, to: to.account_id(), amount: Amount(10) });
    world.fails(world.by(&issuer, mint(&alice)), FailureCode::NotAllowListed);
    // The issuer may always hold its own asset.
    world.ok(world.by(&issuer, asset(AssetOp::Mint { symbol, to: issuer.account_id(), amount: Amount(10) })));
    let allow =
        |who: &AccountSigner, allowed| asset(AssetOp::SetAllowed { symbol, account: who.account_id(), allowed });
    world.fails(world.by(&alice, allow(&alice, true)), FailureCode::NotPermitted);
    world.ok(world.by(&issuer, allow(&alice, true)));
    world.ok(world.by(&issuer, mint(&alice)));
    let transfer = |to: &AccountSigner| asset(AssetOp::Transfer { symbol, to: to.account_id(), amount: Amount(5) });
    world.fails(world.by(&alice, transfer(&bob)), FailureCode::NotAllowListed);
    world.ok(world.by(&issuer, allow(&alice, false)));
    world.fails(world.by(&issuer, transfer(&alice)), FailureCode::NotAllowListed);
    // No longer allowed, Alice can still hand back what she holds.
    world.ok(world.by(&alice, transfer(&issuer)));
    assert!(world.holding(symbol, &alice.account_id()).balance == Amount(5));
    // Allow-listing applies only to assets that ask for it.
    world.ok(world.by(&issuer, asset(AssetOp::Define { symbol: hkd(), decimals: 2, cap: None, allow_list: false })));
    world.fails(
        world.by(&issuer, asset(AssetOp::SetAllowed { symbol: hkd(), account: alice.account_id(), allowed: true })),
        FailureCode::InvalidAsset,
    );
    world.check_asset(symbol, &[issuer.account_id(), alice.account_id(), bob.account_id()]);
}

#[test]
fn the_native_asset_is_an_asset_that_only_transfers() {
    let alice = signer(KeyScheme::Ed25519, 7_301);
    let bob = signer(KeyScheme::Ed25519, 7_302);
    let (mut world, issuer) = World::with_issuer(&[&alice, &bob]);
    let before = world.account(&bob.account_id()).expect("funded").balance;
    world.ok(world
        .by(&alice, asset(AssetOp::Transfer { symbol: Symbol::NATIVE, to: bob.account_id(), amount: Amount(250) })));
    assert_eq!(world.account(&bob.account_id()).expect("funded").balance, Amount(before.get() + 250));
    let stranger = signer(KeyScheme::Ed25519, 7_399).account_id();
    world.fails(
        world.by(&alice, asset(AssetOp::Transfer { symbol: Symbol::NATIVE, to: stranger, amount: Amount(1) })),
        FailureCode::RecipientMissing,
    );
    for op in [
        AssetOp::Mint { symbol: Symbol::NATIVE, to: alice.account_id(), amount: Amount(1) },
        AssetOp::Burn { symbol: Symbol::NATIVE, amount: Amount(1) },
        AssetOp::SetPaused { symbol: Symbol::NATIVE, paused: true },
        AssetOp::SetHoldingFrozen { symbol: Symbol::NATIVE, account: alice.account_id(), frozen: true },
    ] {
        let receipt = world.run(world.by(&issuer, asset(op))).expect("admissible");
        assert_eq!(failure(&receipt), Some(FailureCode::InvalidAsset));
    }
}

#[derive(Clone, Debug)]
enum AssetStep {
    Attest { reserves: u32 },
    Mint { to: usize, amount: u32 },
    Burn { amount: u32 },
    Transfer { from: usize, to: usize, amount: u32 },
    Pause { paused: bool },
    Freeze { account: usize, frozen: bool },
}

fn asset_step() -> impl Strategy<Value = AssetStep> {
    prop_oneof![
        1 => (0..2_000_000u32).prop_map(|reserves| AssetStep::Attest { reserves }),
        3 => (0..4usize, 0..300_000u32).prop_map(|(to, amount)| AssetStep::Mint { to, amount }),
        1 => (0..300_000u32).prop_map(|amount| AssetStep::Burn { amount }),
        5 => (0..4usize, 0..4usize, 0..300_000u32).prop_map(|(from, to, amount)| AssetStep::Transfer { from, to, amount }),
        1 => any::<bool>().prop_map(|paused| AssetStep::Pause { paused }),
        1 => (0..4usize, any::<bool>()).prop_map(|(account, frozen)| AssetStep::Freeze { account, frozen }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Whatever the history (several operations per block, many of them failing), the supply is
    /// minted minus burned, the holdings sum to it, it stays within the cap, and execution over
    /// the reads matches execution over the whole state (checked by `World::block`).
    #[test]
    fn asset_supply_always_equals_minted_minus_burned_and_the_holdings(
        blocks in prop::collection::vec(prop::collection::vec(asset_step(), 1..5), 1..20),
    ) {
        let others: Vec<AccountSigner> = (0..3u64).map(|n| signer(KeyScheme::ALL[(n % 3) as usize], 7_400 + n)).collect();
        let references: Vec<&AccountSigner> = others.iter().collect();
        let (mut world, issuer) = World::with_issuer(&references);
        let everyone: Vec<&AccountSigner> = std::iter::once(&issuer).chain(others.iter()).collect();
        let ids: Vec<AccountId> = everyone.iter().map(|signer| signer.account_id()).collect();
        world.ok(world.by(&issuer, asset(AssetOp::Define { symbol: hkd(), decimals: 2, cap: Some(Amount(1_500_000)), allow_list: false })));
        for steps in blocks {
            // One transaction per sender per block keeps nonces simple.
            let mut used = [false; 4];
            let mut transactions = Vec::new();
            for step in steps {
                let (sender, op) = match step {
                    AssetStep::Attest { reserves } => (0, AssetOp::Attest { symbol: hkd(), reserves: Amount(reserves.into()), reference: reference(1) }),
                    AssetStep::Mint { to, amount } => (0, AssetOp::Mint { symbol: hkd(), to: ids[to], amount: Amount(amount.into()) }),
                    AssetStep::Burn { amount } => (0, AssetOp::Burn { symbol: hkd(), amount: Amount(amount.into()) }),
                    AssetStep::Transfer { from, to, amount } => (from, AssetOp::Transfer { symbol: hkd(), to: ids[to], amount: Amount(amount.into()) }),
                    AssetStep::Pause { paused } => (0, AssetOp::SetPaused { symbol: hkd(), paused }),
                    AssetStep::Freeze { account, frozen } => (0, AssetOp::SetHoldingFrozen { symbol: hkd(), account: ids[account], frozen }),
                };
                if std::mem::replace(&mut used[sender], true) {
                    continue;
                }
                transactions.push(world.by(everyone[sender], asset(op)));
            }
            world.block(&transactions).expect("every transaction is admissible");
            world.check_asset(hkd(), &ids);
        }
    }
}
