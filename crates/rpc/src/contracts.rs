//! Contract methods: a contract's record, read-only queries, and events (in receipts and as a
//! WebSocket subscription filtered by contract and topics).

use crate::backend::{Backend, ContractQuery, FinalizedBlock};
use crate::error::invalid_params;
use crate::types::codec;
use formica_types::{
    AccountId, Amount, CONTRACT_INPUT_BYTES_MAX, CONTRACT_METHOD_BYTES_MAX, ContractAdmin, ContractEvent,
    EVENT_TOPICS_MAX, Hash, Height,
};
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::server::PendingSubscriptionSink;
use jsonrpsee::types::ErrorObjectOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

/// The most gas one `formica_queryContract` may use (a query asking for more gets this much).
pub const QUERY_GAS_MAX: u64 = 50_000_000;

/// A deployed contract as of the latest finalized block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractView {
    pub address: AccountId,
    /// SHA-256 of the module, `0x` hex.
    pub code_hash: String,
    pub code_bytes: u32,
    pub frozen: bool,
    #[serde(with = "codec::amount")]
    pub balance: Amount,
    /// Who may upgrade or freeze it.
    pub admin: ContractAdmin,
    pub height: Height,
}

/// The gas price and limits in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GasView {
    #[serde(with = "codec::amount")]
    pub price: Amount,
    pub tx_gas_max: u64,
    pub block_gas_max: u64,
    pub height: Height,
}

pub(crate) async fn get_gas<B: Backend>(backend: &B) -> Result<GasView, ErrorObjectOwned> {
    let (gas, height) = backend.gas_parameters().await?;
    Ok(GasView { price: gas.price, tx_gas_max: gas.tx_gas_max, block_gas_max: gas.block_gas_max, height })
}

/// What a read-only query returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryView {
    /// Whether the entry point returned (`false`: it reverted, trapped or ran out of gas).
    pub success: bool,
    /// The encoded return value, `0x` hex (empty on failure).
    pub output: String,
    /// A [`formica_types::FailureCode`] and the VM's message when `success` is false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    pub gas_used: u64,
    /// The finalized height the query ran against.
    pub height: Height,
}

/// An event in a receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventView {
    pub contract: AccountId,
    /// 32-byte topics, `0x` hex.
    pub topics: Vec<String>,
    /// `0x` hex.
    pub data: String,
}

impl From<&ContractEvent> for EventView {
    fn from(event: &ContractEvent) -> Self {
        Self {
            contract: event.contract,
            topics: event.topics.iter().map(|topic| codec::to_hex(topic)).collect(),
            data: codec::to_hex(&event.data),
        }
    }
}

/// An event as a subscription delivers it: where it comes from, then the event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventNotification {
    pub block_height: Height,
    #[serde(with = "codec::hash")]
    pub block_hash: Hash,
    #[serde(with = "codec::hash")]
    pub transaction_hash: Hash,
    /// Position of the transaction in the block, and of the event in the transaction.
    pub transaction_index: u32,
    pub event_index: u32,
    #[serde(flatten)]
    pub event: EventView,
}

/// Which events a subscriber wants: from `contract` (any if absent), with topic `i` equal to
/// `topics[i]` wherever that is not `null`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFilter {
    #[serde(default)]
    pub contract: Option<AccountId>,
    #[serde(default)]
    pub topics: Vec<Option<String>>,
}

/// A checked [`EventFilter`].
struct Matcher {
    contract: Option<AccountId>,
    topics: Vec<Option<[u8; 32]>>,
}

impl Matcher {
    fn new(filter: EventFilter) -> Result<Self, ErrorObjectOwned> {
        if filter.topics.len() > EVENT_TOPICS_MAX {
            return Err(invalid_params("topics", format!("at most {EVENT_TOPICS_MAX}")));
        }
        let topics = filter
            .topics
            .iter()
            .map(|topic| {
                topic
                    .as_deref()
                    .map(|text| parse_topic(text).map_err(|error| invalid_params("topic", error)))
                    .transpose()
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { contract: filter.contract, topics })
    }

    fn matches(&self, event: &ContractEvent) -> bool {
        self.contract.is_none_or(|contract| contract == event.contract)
            && self.topics.iter().enumerate().all(|(index, wanted)| {
                wanted.is_none_or(|wanted| event.topics.get(index).is_some_and(|topic| *topic == wanted))
            })
    }
}

/// A 32-byte topic from `0x` hex (shorter input is zero-padded on the right, as the SDK pads names).
fn parse_topic(text: &str) -> Result<[u8; 32], String> {
    let bytes = codec::from_hex(text.strip_prefix("0x").unwrap_or(text)).map_err(|error| error.to_string())?;
    if bytes.len() > 32 {
        return Err(format!("a topic is at most 32 bytes, got {}", bytes.len()));
    }
    let mut topic = [0u8; 32];
    topic[..bytes.len()].copy_from_slice(&bytes);
    Ok(topic)
}

pub(crate) async fn get_contract<B: Backend>(
    backend: &B,
    address: AccountId,
) -> Result<Option<ContractView>, ErrorObjectOwned> {
    let found = backend.contract(address).await?;
    Ok(found.map(|details| ContractView {
        address,
        code_hash: codec::to_hex(&details.record.code_hash),
        code_bytes: details.code_bytes,
        frozen: details.record.frozen,
        balance: details.record.balance,
        admin: details.admin,
        height: details.height,
    }))
}

/// Checks a query's parameters (bounded before anything is decoded or run) and runs it.
pub(crate) async fn query_contract<B: Backend>(
    backend: &B,
    contract: AccountId,
    method: String,
    input: String,
    caller: Option<AccountId>,
    gas_limit: Option<u64>,
) -> Result<QueryView, ErrorObjectOwned> {
    if method.is_empty() || method.len() > CONTRACT_METHOD_BYTES_MAX {
        return Err(invalid_params("method", format!("1 to {CONTRACT_METHOD_BYTES_MAX} bytes")));
    }
    let digits = input.strip_prefix("0x").unwrap_or(&input);
    if digits.len().div_ceil(2) > CONTRACT_INPUT_BYTES_MAX {
        return Err(invalid_params("input", format!("at most {CONTRACT_INPUT_BYTES_MAX} bytes")));
    }
    let input = codec::from_hex(digits).map_err(|error| invalid_params("input", error))?;
    let query = ContractQuery {
        caller: caller.unwrap_or(AccountId([0; 32])),
        contract,
        method,
        input,
        gas_limit: gas_limit.unwrap_or(QUERY_GAS_MAX).min(QUERY_GAS_MAX),
    };
    let result = backend.query_contract(query).await?;
    let (success, output, failure_code, failure_message) = match result.result {
        Ok(output) => (true, codec::to_hex(&output), None, None),
        Err((code, message)) => (false, String::new(), Some(code as u16), Some(message)),
    };
    Ok(QueryView { success, output, failure_code, failure_message, gas_used: result.gas_used, height: result.height })
}

/// Streams the events of finalized blocks that match `filter`.
pub(crate) async fn subscribe_events<B: Backend>(
    backend: &B,
    pending: PendingSubscriptionSink,
    filter: EventFilter,
) -> SubscriptionResult {
    let matcher = match Matcher::new(filter) {
        Ok(matcher) => matcher,
        Err(error) => {
            pending.reject(error).await;
            return Ok(());
        }
    };
    let mut blocks = backend.finalized_blocks();
    let sink = pending.accept().await?;
    loop {
        let block: Arc<FinalizedBlock> = tokio::select! {
            _ = sink.closed() => return Ok(()),
            received = blocks.recv() => match received {
                Ok(block) => block,
                Err(RecvError::Lagged(missed)) => {
                    return Err(format!(
                        "subscriber fell {missed} blocks behind; resubscribe and read the gap's receipts"
                    )
                    .into());
                }
                Err(RecvError::Closed) => return Err("the node stopped publishing finalized blocks".into()),
            },
        };
        for notification in notifications(&block, &matcher) {
            if sink.send(serde_json::value::to_raw_value(&notification)?).await.is_err() {
                return Ok(());
            }
        }
    }
}

fn notifications(block: &FinalizedBlock, matcher: &Matcher) -> Vec<EventNotification> {
    let block_hash = block.block.hash();
    let mut found = Vec::new();
    for (transaction_index, receipt) in block.receipts.iter().enumerate() {
        for (event_index, event) in receipt.events.iter().enumerate() {
            if matcher.matches(event) {
                found.push(EventNotification {
                    block_height: block.block.header.height,
                    block_hash,
                    transaction_hash: receipt.transaction_hash,
                    transaction_index: u32::try_from(transaction_index).expect("far fewer than 2^32 transactions"),
                    event_index: u32::try_from(event_index).expect("at most 64 events"),
                    event: EventView::from(event),
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(contract: u8, topics: &[[u8; 32]]) -> ContractEvent {
        ContractEvent { contract: AccountId([contract; 32]), topics: topics.to_vec(), data: vec![1, 2] }
    }

    #[test]
    fn filters_match_by_contract_and_by_each_given_topic() {
        let name = parse_topic(&codec::to_hex(b"Transfer")).expect("short topics pad");
        let from = [7u8; 32];
        let matcher = |contract: Option<u8>, topics: Vec<Option<String>>| {
            Matcher::new(EventFilter { contract: contract.map(|byte| AccountId([byte; 32])), topics }).expect("valid")
        };
        let transfer = event(1, &[name, from]);
        assert!(matcher(None, vec![]).matches(&transfer));
        assert!(matcher(Some(1), vec![]).matches(&transfer));
        assert!(!matcher(Some(2), vec![]).matches(&transfer));
        assert!(matcher(Some(1), vec![Some(codec::to_hex(b"Transfer")), None]).matches(&transfer));
        assert!(matcher(None, vec![None, Some(codec::to_hex(&from))]).matches(&transfer));
        assert!(!matcher(None, vec![None, Some(codec::to_hex(&[8u8; 32]))]).matches(&transfer));
        assert!(!matcher(None, vec![None, None, Some(codec::to_hex(&from))]).matches(&transfer), "no third topic");
        assert!(Matcher::new(EventFilter { contract: None, topics: vec![None; 5] }).is_err());
        assert!(parse_topic(&codec::to_hex(&[0u8; 33])).is_err());
    }
}
