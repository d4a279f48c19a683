//! The server's own accept loop: one TCP connection per permit of `max_connections`, each
//! served by hyper with a deadline on request heads and on whole requests, and each request
//! tagged with the client's address for the rate limiter ([`crate::rate_limit`]).
//!
//! jsonrpsee's own loop counts requests in flight rather than sockets, keeps a silent socket
//! open for a minute, and does not tell middleware who the client is; this loop does all three.

use futures::FutureExt as _;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse, StopHandle};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The IP address of the client a request came from (in the request's extensions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ClientAddress(pub(crate) IpAddr);

/// How long a client may take.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadlines {
    /// From the moment the server waits for a request head (a new connection, or an idle
    /// keep-alive one) until the head is complete; the connection is closed after it.
    pub(crate) head: Duration,
    /// From a complete head until the response is ready (reading the body included); answered
    /// with HTTP 408 after it. Not applied to WebSocket upgrades, whose messages are bounded by
    /// size instead.
    pub(crate) request: Duration,
}

/// A socket that holds its connection permit for as long as it lives, which for an upgraded
/// WebSocket is the WebSocket's life.
struct CountedStream {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for CountedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Accepts connections until `stop`; `make_service` builds the jsonrpsee service of one
/// connection. A connection over `max_connections` is closed at once, unread.
pub(crate) async fn accept_loop<S, M>(
    listener: TcpListener,
    max_connections: u32,
    deadlines: Deadlines,
    stop: StopHandle,
    make_service: M,
) where
    M: Fn() -> S + Send + 'static,
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    let permits = Arc::new(Semaphore::new(max_connections as usize));
    let stopped = stop.clone().shutdown();
    tokio::pin!(stopped);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stopped => return,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::debug!(%error, "rpc accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::debug!(client = %remote, max_connections, "rpc connection refused: at the connection limit");
            continue;
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on an rpc connection");
        }
        let stream = CountedStream { stream, _permit: permit };
        tokio::spawn(serve_connection(stream, remote, make_service(), deadlines, stop.clone()));
    }
}

async fn serve_connection<S>(
    stream: CountedStream,
    remote: SocketAddr,
    service: S,
    deadlines: Deadlines,
    stop: StopHandle,
) where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    // hyper's head deadline starts only once it has told HTTP/1 from HTTP/2 by the first
    // bytes, so a client that never sends one is timed here.
    let mut first = [0u8; 1];
    match tokio::time::timeout(deadlines.head, stream.stream.peek(&mut first)).await {
        Ok(Ok(read)) if read > 0 => {}
        _ => {
            tracing::debug!(client = %remote, "rpc connection closed: nothing sent before the head timeout");
            return;
        }
    }
    let per_request = PerRequest { service, client: ClientAddress(remote.ip()), deadlines };
    let mut builder = ConnectionBuilder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(deadlines.head);
    builder.http2().timer(TokioTimer::new()).keep_alive_interval(None);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), per_request);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stop.shutdown() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(client = %remote, %error, "rpc connection ended");
    }
}

/// One connection's requests, each tagged with the client's address and given its deadline.
#[derive(Clone)]
struct PerRequest<S> {
    service: S,
    client: ClientAddress,
    deadlines: Deadlines,
}

impl<S> hyper::service::Service<http::Request<hyper::body::Incoming>> for PerRequest<S>
where
    S: tower::Service<HttpRequest, Response = HttpResponse, Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

    fn call(&self, request: http::Request<hyper::body::Incoming>) -> Self::Future {
        let mut request = request.map(HttpBody::new);
        request.extensions_mut().insert(self.client);
        let upgrade = jsonrpsee::server::ws::is_upgrade_request(&request);
        let call = tower::ServiceExt::oneshot(self.service.clone(), request);
        within(self.deadlines.request, upgrade, call)
    }
}

/// `call`, answered with 408 if it is not done within `limit` (unless it is an upgrade).
fn within(
    limit: Duration,
    upgrade: bool,
    call: impl Future<Output = Result<HttpResponse, BoxError>> + Send + 'static,
) -> Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>> {
    if upgrade {
        return call.boxed();
    }
    async move {
        match tokio::time::timeout(limit, call).await {
            Ok(response) => response,
            Err(_) => Ok(request_timeout(limit)),
        }
    }
    .boxed()
}

fn request_timeout(limit: Duration) -> HttpResponse {
    let body = format!("the request was not received and answered within {} ms\n", limit.as_millis());
    let mut response = HttpResponse::new(HttpBody::from(body));
    *response.status_mut() = http::StatusCode::REQUEST_TIMEOUT;
    response.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    response
}
