//! Asset methods: an asset's definition and totals, an account's holding, and the issuer's
//! reserve attestations. The native asset (`FMC`) answers from the account records.

use crate::backend::Backend;
use crate::error::invalid_params;
use crate::types::codec;
use commonware_codec::{DecodeExt, FixedSize, Read};
use formica_types::{AccountId, Amount, AssetRecord, Attestation, Hash, Height, Holding, Module, Symbol};
use jsonrpsee::types::ErrorObjectOwned;
use serde::{Deserialize, Serialize};

/// An asset as of the latest finalized block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetView {
    pub symbol: Symbol,
    /// Whether this is the native asset (its supply is fixed at genesis; it has no issuer).
    pub native: bool,
    pub decimals: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<AccountId>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "codec::option_amount")]
    pub cap: Option<Amount>,
    pub allow_list: bool,
    pub paused: bool,
    #[serde(with = "codec::amount")]
    pub supply: Amount,
    #[serde(with = "codec::amount")]
    pub minted: Amount,
    #[serde(with = "codec::amount")]
    pub burned: Amount,
    /// The reserves of the latest attestation.
    #[serde(with = "codec::amount")]
    pub reserves: Amount,
    pub attestations: u64,
    pub height: Height,
}

/// One account's holding of one asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldingView {
    pub symbol: Symbol,
    pub account: AccountId,
    #[serde(with = "codec::amount")]
    pub balance: Amount,
    pub frozen: bool,
    /// Whether the issuer allowed the account to hold an allow-listed asset.
    pub allowed: bool,
    pub height: Height,
}

/// A reserve attestation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationView {
    pub symbol: Symbol,
    pub index: u64,
    #[serde(with = "codec::amount")]
    pub reserves: Amount,
    /// The hash of the reserve report, `0x` hex.
    #[serde(with = "codec::hash")]
    pub reference: Hash,
    /// The height of the block that recorded it.
    pub recorded_at: Height,
    pub height: Height,
}

pub(crate) fn parse_symbol(text: &str) -> Result<Symbol, ErrorObjectOwned> {
    Symbol::new(text).map_err(|error| invalid_params("asset symbol", error))
}

/// A module record, decoded; a record that does not decode is a storage fault, not the caller's.
pub(crate) async fn record<B: Backend, R: Read<Cfg = ()> + FixedSize>(
    backend: &B,
    module: Module,
    key: Vec<u8>,
) -> Result<(Option<R>, Height), ErrorObjectOwned> {
    let (bytes, height) = backend.module_record(module, key, R::SIZE).await?;
    let record = match bytes {
        Some(bytes) => Some(R::decode(bytes).map_err(|error| {
            ErrorObjectOwned::from(crate::BackendError::Storage { reason: format!("a {module} record: {error}") })
        })?),
        None => None,
    };
    Ok((record, height))
}

pub(crate) async fn get_asset<B: Backend>(backend: &B, symbol: Symbol) -> Result<Option<AssetView>, ErrorObjectOwned> {
    if symbol.is_native() {
        let (supply, height) = backend.native_supply().await?;
        return Ok(Some(AssetView {
            symbol,
            native: true,
            decimals: 0,
            issuer: None,
            cap: None,
            allow_list: false,
            paused: false,
            supply,
            minted: supply,
            burned: Amount::ZERO,
            reserves: Amount::ZERO,
            attestations: 0,
            height,
        }));
    }
    let (asset, height) = record::<B, AssetRecord>(backend, Module::Assets, AssetRecord::key(&symbol)).await?;
    Ok(asset.map(|asset| AssetView {
        symbol,
        native: false,
        decimals: asset.decimals,
        issuer: Some(asset.issuer),
        cap: asset.cap,
        allow_list: asset.allow_list,
        paused: asset.paused,
        supply: asset.supply,
        minted: asset.minted,
        burned: asset.burned,
        reserves: asset.reserves,
        attestations: asset.attestations,
        height,
    }))
}

pub(crate) async fn get_holding<B: Backend>(
    backend: &B,
    symbol: Symbol,
    account: AccountId,
) -> Result<HoldingView, ErrorObjectOwned> {
    if symbol.is_native() {
        let found = backend.account(account).await?;
        let (balance, frozen, height) = match found {
            Some((details, height)) => (details.account.balance, details.account.frozen, height),
            None => (Amount::ZERO, false, backend.status().await?.height),
        };
        return Ok(HoldingView { symbol, account, balance, frozen, allowed: false, height });
    }
    let (holding, height) = record::<B, Holding>(backend, Module::Assets, Holding::key(&symbol, &account)).await?;
    let holding = holding.unwrap_or_default();
    Ok(HoldingView {
        symbol,
        account,
        balance: holding.balance,
        frozen: holding.frozen,
        allowed: holding.allowed,
        height,
    })
}

pub(crate) async fn get_attestation<B: Backend>(
    backend: &B,
    symbol: Symbol,
    index: u64,
) -> Result<Option<AttestationView>, ErrorObjectOwned> {
    let (attestation, height) =
        record::<B, Attestation>(backend, Module::Assets, Attestation::key(&symbol, index)).await?;
    Ok(attestation.map(|attestation| AttestationView {
        symbol,
        index,
        reserves: attestation.reserves,
        reference: attestation.reference,
        recorded_at: attestation.height,
        height,
    }))
}
