//! Per-client rate limits: a token bucket per client IP address, charged one token per HTTP
//! request or WebSocket message (a call, a notification or a whole batch), refilled at a steady
//! rate up to a burst. A client without tokens gets [`codes::RATE_LIMITED`] until it has one.
//!
//! Requests, not calls, are counted so that batching stays the cheap way to submit many
//! transactions (`formica bench` sends batches of 64): a batch is bounded by
//! `batch_requests_max` anyway.

use crate::error::codes;
use crate::transport::ClientAddress;
use jsonrpsee::MethodResponse;
use jsonrpsee::core::middleware::{Batch, Notification, RpcServiceT};
use jsonrpsee::types::{ErrorObjectOwned, Id, Request};
use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A rate: `per_second` tokens a second, at most `burst` saved up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

/// Clients tracked at once; when full, clients whose buckets are full again are forgotten
/// (and if none is, all of them: a flood from that many addresses resets the buckets rather
/// than growing memory).
const CLIENTS_MAX: usize = 65_536;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Thousandths of a token, so slow rates refill smoothly without floats.
    milli_tokens: u64,
    updated: Instant,
}

/// The buckets of every client of one server.
#[derive(Debug)]
pub(crate) struct Buckets {
    limit: RateLimit,
    clients: Mutex<BTreeMap<IpAddr, Bucket>>,
}

impl Buckets {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self { limit, clients: Mutex::new(BTreeMap::new()) }
    }

    fn full(&self) -> u64 {
        u64::from(self.limit.burst) * 1_000
    }

    /// Takes a token from `client`'s bucket; `false` if it has none.
    pub(crate) fn take(&self, client: IpAddr, now: Instant) -> bool {
        let full = self.full();
        let mut clients = self.clients.lock().expect("no code panics while holding the bucket lock");
        if clients.len() >= CLIENTS_MAX && !clients.contains_key(&client) {
            let per_second = u64::from(self.limit.per_second);
            clients.retain(|_, bucket| refilled(bucket, now, per_second, full) < full);
            if clients.len() >= CLIENTS_MAX {
                clients.clear();
            }
        }
        let bucket = clients.entry(client).or_insert(Bucket { milli_tokens: full, updated: now });
        let tokens = refilled(bucket, now, u64::from(self.limit.per_second), full);
        bucket.updated = now;
        if tokens < 1_000 {
            bucket.milli_tokens = tokens;
            return false;
        }
        bucket.milli_tokens = tokens - 1_000;
        true
    }
}

/// The bucket's tokens (in thousandths) at `now`.
fn refilled(bucket: &Bucket, now: Instant, per_second: u64, full: u64) -> u64 {
    let elapsed_ms = u64::try_from(now.saturating_duration_since(bucket.updated).as_millis()).unwrap_or(u64::MAX);
    // Thousandths of a token per millisecond equal tokens per second.
    bucket.milli_tokens.saturating_add(elapsed_ms.saturating_mul(per_second)).min(full)
}

/// The RPC middleware layer; `None` disables limiting.
#[derive(Clone, Debug)]
pub(crate) struct RateLimitLayer(pub(crate) Option<Arc<Buckets>>);

impl<S> tower::Layer<S> for RateLimitLayer {
    type Service = RateLimited<S>;

    fn layer(&self, service: S) -> Self::Service {
        RateLimited { service, buckets: self.0.clone() }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct RateLimited<S> {
    service: S,
    buckets: Option<Arc<Buckets>>,
}

impl<S> RateLimited<S> {
    /// Whether the request may go on; requests without a client address (none reach the server
    /// that way) are not limited.
    fn admit(&self, extensions: &jsonrpsee::Extensions) -> bool {
        let (Some(buckets), Some(ClientAddress(client))) = (&self.buckets, extensions.get::<ClientAddress>()) else {
            return true;
        };
        let admitted = buckets.take(*client, Instant::now());
        if !admitted {
            tracing::debug!(%client, "rpc request refused: rate limit");
        }
        admitted
    }

    fn refusal(&self) -> ErrorObjectOwned {
        let limit = self.buckets.as_ref().map(|buckets| buckets.limit);
        let (per_second, burst) = limit.map_or((0, 0), |limit| (limit.per_second, limit.burst));
        ErrorObjectOwned::owned(
            codes::RATE_LIMITED,
            format!(
                "too many requests from this address: at most {per_second} a second (bursts of {burst}); \
                 batch calls to send more"
            ),
            None::<()>,
        )
    }
}

impl<S> RpcServiceT for RateLimited<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        let admitted = self.admit(request.extensions());
        let refusal = (!admitted).then(|| (request.id().into_owned(), self.refusal()));
        let service = self.service.clone();
        async move {
            match refusal {
                Some((id, error)) => MethodResponse::error(id, error),
                None => service.call(request).await,
            }
        }
    }

    fn batch<'a>(&self, mut batch: Batch<'a>) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        let admitted = self.admit(batch.extensions());
        let refusal = (!admitted).then(|| self.refusal());
        let service = self.service.clone();
        async move {
            match refusal {
                Some(error) => MethodResponse::error(Id::Null, error),
                None => service.batch(batch).await,
            }
        }
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        let admitted = self.admit(notification.extensions());
        let service = self.service.clone();
        async move { if admitted { service.notification(notification).await } else { MethodResponse::notification() } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let buckets = Buckets::new(RateLimit { per_second: 10, burst: 3 });
        let client = IpAddr::from([10, 0, 0, 1]);
        let start = Instant::now();
        assert!((0..3).all(|_| buckets.take(client, start)), "the burst");
        assert!(!buckets.take(client, start), "then nothing");
        assert!(!buckets.take(client, start + Duration::from_millis(99)), "a token takes 100 ms");
        assert!(buckets.take(client, start + Duration::from_millis(100)));
        assert!(buckets.take(IpAddr::from([10, 0, 0, 2]), start), "other clients have their own");
        assert!(!buckets.take(client, start + Duration::from_millis(150)));
        let later = start + Duration::from_secs(60);
        assert!((0..3).all(|_| buckets.take(client, later)), "refilled up to the burst only");
        assert!(!buckets.take(client, later));
    }
}
