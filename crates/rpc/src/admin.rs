//! The administrative API: what an operator asks a node about itself, on its own listener.
//!
//! It is separate from the public API so that it can stay on loopback: [`serve_admin`] refuses an
//! address that is not loopback unless a secret is configured, and when a secret is configured
//! every call must carry `Authorization: Bearer <secret>` (compared in constant time). Calls
//! without it are refused with [`codes::ADMIN_UNAUTHORISED`].
//!
//! Methods: `admin_nodeInfo` (identity, role in the current epoch, addresses, height, uptime),
//! `admin_peers` (the current epoch's registry with addresses and roles, and how many peers are
//! connected) and `admin_mempool` (pending transactions and the pool's limits).

use crate::backend::BackendError;
use crate::error::codes;
use crate::server::{AuthorizationHeader, RunningServer, ServeError, bearer_credential, carry_authorization};
use formica_types::{Height, PublicKey};
use jsonrpsee::Extensions;
use jsonrpsee::server::{RpcModule, Server, ServerConfig as TransportConfig};
use jsonrpsee::types::ErrorObjectOwned;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// The shortest secret accepted.
pub const SECRET_MIN_BYTES: usize = 16;

/// Where the administrative API listens and the secret it requires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdminConfig {
    pub listen_address: SocketAddr,
    /// Required (at least [`SECRET_MIN_BYTES`]) unless `listen_address` is loopback.
    pub secret: Option<String>,
}

/// What a node tells its operator about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfoView {
    pub name: String,
    pub version: String,
    #[serde(with = "crate::types::codec::public_key")]
    pub public_key: PublicKey,
    pub epoch: u64,
    /// `validator` (in the current committee), `observer` (registered, not in the committee) or
    /// `unregistered`.
    pub role: String,
    pub height: Height,
    pub uptime_secs: u64,
    pub p2p_listen: String,
    pub rpc_listen: String,
    pub metrics_listen: String,
    pub data_dir: String,
}

/// A registered node of the current epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerView {
    #[serde(with = "crate::types::codec::public_key")]
    pub public_key: PublicKey,
    pub org: u32,
    pub address: String,
    pub role: String,
}

/// The peers this node knows and how many it is connected to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeersView {
    pub epoch: u64,
    pub connected: u32,
    pub registered: Vec<PeerView>,
}

/// The mempool's size and limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MempoolView {
    pub pending: u64,
    pub capacity: u64,
    pub per_sender_max: u64,
}

/// What the administrative API needs from a node.
pub trait AdminBackend: Send + Sync + 'static {
    fn node_info(&self) -> impl Future<Output = Result<NodeInfoView, BackendError>> + Send;
    fn peers(&self) -> impl Future<Output = Result<PeersView, BackendError>> + Send;
    fn mempool(&self) -> impl Future<Output = Result<MempoolView, BackendError>> + Send;
}

/// Why the administrative API may not start with a config.
pub fn check_config(config: &AdminConfig) -> Result<(), String> {
    match &config.secret {
        Some(secret) if secret.len() < SECRET_MIN_BYTES => {
            Err(format!("the admin secret must be at least {SECRET_MIN_BYTES} bytes"))
        }
        None if !config.listen_address.ip().is_loopback() => {
            Err(format!("the admin API on {} (not loopback) needs a secret (admin_secret_file)", config.listen_address))
        }
        _ => Ok(()),
    }
}

/// Starts the administrative API on its own listener.
pub async fn serve_admin<B: AdminBackend>(backend: Arc<B>, config: AdminConfig) -> Result<RunningServer, ServeError> {
    check_config(&config).map_err(ServeError::Config)?;
    let transport = TransportConfig::builder()
        .max_request_body_size(64 * 1024)
        .max_response_body_size(4 * 1024 * 1024)
        .max_connections(16)
        .build();
    let server = Server::builder()
        .set_config(transport)
        .set_http_middleware(tower::ServiceBuilder::new().map_request(carry_authorization))
        .build(config.listen_address)
        .await
        .map_err(|source| ServeError::Bind { address: config.listen_address, source })?;
    let local_address =
        server.local_addr().map_err(|source| ServeError::Bind { address: config.listen_address, source })?;
    let secret = Arc::new(config.secret);
    let mut module = RpcModule::new(backend);
    register(&mut module, "admin_nodeInfo", secret.clone(), |backend| async move { backend.node_info().await })?;
    register(&mut module, "admin_peers", secret.clone(), |backend| async move { backend.peers().await })?;
    register(&mut module, "admin_mempool", secret, |backend| async move { backend.mempool().await })?;
    let handle = server.start(module);
    tracing::info!(address = %local_address, "admin rpc server listening");
    Ok(RunningServer { handle, local_address })
}

fn register<B, F, Fut, T>(
    module: &mut RpcModule<Arc<B>>,
    name: &'static str,
    secret: Arc<Option<String>>,
    call: F,
) -> Result<(), ServeError>
where
    B: AdminBackend,
    F: Fn(Arc<B>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<T, BackendError>> + Send,
    T: Serialize + Clone + Send + 'static,
{
    module
        .register_async_method(name, move |_params, backend, extensions| {
            let secret = secret.clone();
            let call = call.clone();
            async move {
                authorised(&extensions, secret.as_ref().as_deref())?;
                call(backend.as_ref().clone()).await.map_err(ErrorObjectOwned::from)
            }
        })
        .map(|_| ())
        .map_err(|error| ServeError::Register(error.to_string()))
}

/// Whether the request carries the secret (always, when there is none).
fn authorised(extensions: &Extensions, secret: Option<&str>) -> Result<(), ErrorObjectOwned> {
    let Some(secret) = secret else {
        return Ok(());
    };
    let presented =
        extensions.get::<AuthorizationHeader>().map(|header| bearer_credential(&header.0).as_bytes().to_vec());
    match presented {
        Some(presented) if constant_time_eq(&presented, secret.as_bytes()) => Ok(()),
        Some(_) => Err(refused("the admin secret is wrong")),
        None => Err(refused("the admin API needs `Authorization: Bearer <secret>`")),
    }
}

fn refused(message: &str) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(codes::ADMIN_UNAUTHORISED, message.to_string(), None::<()>)
}

/// Equal lengths and bytes, taking the same time whichever byte differs.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |difference, (x, y)| difference | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_required_off_loopback_and_compared_exactly() {
        let loopback = AdminConfig { listen_address: "127.0.0.1:1".parse().expect("address"), secret: None };
        assert_eq!(check_config(&loopback), Ok(()));
        let open = AdminConfig { listen_address: "0.0.0.0:1".parse().expect("address"), secret: None };
        assert!(check_config(&open).is_err());
        let short = AdminConfig { secret: Some("short".into()), ..open.clone() };
        assert!(check_config(&short).is_err());
        let guarded = AdminConfig { secret: Some("a-long-enough-secret".into()), ..open };
        assert_eq!(check_config(&guarded), Ok(()));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
