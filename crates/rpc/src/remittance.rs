//! Remittance methods: a corridor by name, a remittance by id (its status, quote and the
//! reason of a rejection), and whether a corridor's compliance account lists an account as
//! sanctioned.

use crate::assets::record;
use crate::backend::Backend;
use crate::error::invalid_params;
use crate::types::codec;
use formica_types::{
    AccountId, Amount, CorridorId, CorridorRecord, CorridorTerms, Height, RejectReason, RemittanceId, RemittanceRecord,
    RemittanceStatus, SanctionEntry, Symbol,
};
use jsonrpsee::types::ErrorObjectOwned;
use serde::{Deserialize, Serialize};

/// One recipient of a corridor's fees and its share in basis points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeShareView {
    pub account: AccountId,
    pub share_bps: u16,
}

/// What a corridor states: its name, assets, participants, fee and limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorridorTermsView {
    pub id: CorridorId,
    pub source: Symbol,
    pub destination: Symbol,
    pub sending_wallet: AccountId,
    pub receiving_wallet: AccountId,
    pub settlement: AccountId,
    pub fx_provider: AccountId,
    pub compliance: AccountId,
    #[serde(with = "codec::amount")]
    pub fee_flat: Amount,
    pub fee_bps: u16,
    pub fee_shares: Vec<FeeShareView>,
    #[serde(with = "codec::amount")]
    pub per_transfer_max: Amount,
    #[serde(with = "codec::amount")]
    pub daily_max: Amount,
}

impl From<CorridorTerms> for CorridorTermsView {
    fn from(terms: CorridorTerms) -> Self {
        Self {
            id: terms.id,
            source: terms.source,
            destination: terms.destination,
            sending_wallet: terms.sending_wallet,
            receiving_wallet: terms.receiving_wallet,
            settlement: terms.settlement,
            fx_provider: terms.fx_provider,
            compliance: terms.compliance,
            fee_flat: terms.fee_flat,
            fee_bps: terms.fee_bps,
            fee_shares: terms
                .fee_shares
                .0
                .into_iter()
                .map(|(account, share_bps)| FeeShareView { account, share_bps })
                .collect(),
            per_transfer_max: terms.per_transfer_max,
            daily_max: terms.daily_max,
        }
    }
}

/// A corridor as of the latest finalized block: its terms (flattened into this object) and
/// state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorridorView {
    #[serde(flatten)]
    pub terms: CorridorTermsView,
    pub active: bool,
    pub regulator: AccountId,
    pub defined_at: Height,
    pub updated_at: Height,
    pub height: Height,
}

/// A remittance's quote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteView {
    /// Destination units per 10^8 source units, a decimal string.
    #[serde(with = "codec::amount")]
    pub rate: Amount,
    #[serde(with = "codec::amount")]
    pub fee: Amount,
    #[serde(with = "codec::amount")]
    pub destination_amount: Amount,
    pub expires_ms: u64,
    pub quoted_at: Height,
}

/// A remittance as of the latest finalized block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemittanceView {
    #[serde(with = "codec::hash")]
    pub id: RemittanceId,
    pub corridor: CorridorId,
    pub wallet: AccountId,
    pub reference: u64,
    pub sender: AccountId,
    pub recipient: AccountId,
    #[serde(with = "codec::amount")]
    pub amount: Amount,
    pub status: RemittanceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<QuoteView>,
    /// Why it was rejected (only when rejected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RejectReason>,
    pub requested_at: Height,
    pub updated_at: Height,
    pub height: Height,
}

/// Whether a corridor's compliance account lists an account as sanctioned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SanctionView {
    pub corridor: CorridorId,
    pub compliance: AccountId,
    pub account: AccountId,
    pub sanctioned: bool,
    /// When it was listed (if it is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed_at: Option<Height>,
    pub height: Height,
}

pub(crate) fn parse_corridor(text: &str) -> Result<CorridorId, ErrorObjectOwned> {
    CorridorId::new(text).map_err(|error| invalid_params("corridor", error))
}

fn corridor_view(corridor: CorridorRecord, height: Height) -> CorridorView {
    CorridorView {
        terms: corridor.terms.into(),
        active: corridor.active,
        regulator: corridor.regulator,
        defined_at: corridor.defined_at,
        updated_at: corridor.updated_at,
        height,
    }
}

fn remittance_view(remittance: RemittanceRecord, height: Height) -> RemittanceView {
    RemittanceView {
        id: remittance.id,
        corridor: remittance.corridor,
        wallet: remittance.wallet,
        reference: remittance.reference,
        sender: remittance.sender,
        recipient: remittance.recipient,
        amount: remittance.amount,
        status: remittance.status,
        quote: remittance.quote.map(|quote| QuoteView {
            rate: Amount(quote.rate),
            fee: quote.fee,
            destination_amount: quote.destination_amount,
            expires_ms: quote.expires_ms,
            quoted_at: quote.quoted_at,
        }),
        reason: remittance.reason,
        requested_at: remittance.requested_at,
        updated_at: remittance.updated_at,
        height,
    }
}

pub(crate) async fn get_corridor<B: Backend>(
    backend: &B,
    id: CorridorId,
) -> Result<Option<CorridorView>, ErrorObjectOwned> {
    let (corridor, height) =
        record::<B, CorridorRecord>(backend, formica_types::Module::Remittance, CorridorRecord::key(&id)).await?;
    Ok(corridor.map(|corridor| corridor_view(corridor, height)))
}

pub(crate) async fn get_remittance<B: Backend>(
    backend: &B,
    id: RemittanceId,
) -> Result<Option<RemittanceView>, ErrorObjectOwned> {
    let (remittance, height) =
        record::<B, RemittanceRecord>(backend, formica_types::Module::Remittance, RemittanceRecord::key(&id)).await?;
    Ok(remittance.map(|remittance| remittance_view(remittance, height)))
}

/// `null` if the corridor does not exist.
pub(crate) async fn get_sanctioned<B: Backend>(
    backend: &B,
    corridor: CorridorId,
    account: AccountId,
) -> Result<Option<SanctionView>, ErrorObjectOwned> {
    let Some(view) = get_corridor(backend, corridor).await? else { return Ok(None) };
    let compliance = view.terms.compliance;
    let key = SanctionEntry::key(&compliance, &account);
    let (entry, height) = record::<B, SanctionEntry>(backend, formica_types::Module::Remittance, key).await?;
    Ok(Some(SanctionView {
        corridor,
        compliance,
        account,
        sanctioned: entry.is_some(),
        listed_at: entry.map(|entry| entry.listed_at),
        height,
    }))
}
