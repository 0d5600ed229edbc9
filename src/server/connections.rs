//! The accept loop: each connection served over HTTP/1 by hyper, within bounds that keep
//! hostile clients from taking the process's memory or sockets — how many connections are
//! open, how large a request's head may be, and how long a client may keep one waiting.
//!
//! A process that speaks gRPC to its peers (`--transport grpc`) also serves HTTP/2 without
//! TLS on the same port (told from HTTP/1 by its first bytes), and sends each request of
//! type `application/grpc` to its gRPC routes, any other to its HTTP ones.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::deadlines::{Deadlines, Requests, Watched};

/// How long the accept loop pauses when accepting fails for want of a resource (file
/// descriptors, memory): trying again at once would spin, and only connections closing
/// can free what is missing.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The smallest buffer size hyper accepts for a connection.
const SMALLEST_BUFFER: usize = 8 * 1024;

/// The bounds on the connections of a process.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once; one more waits in the listen backlog until one closes.
    pub max_connections: usize,
    /// Largest request head (request line and headers), in bytes; a larger one is
    /// answered 431 and its connection closed.
    pub max_header_bytes: usize,
    pub deadlines: Deadlines,
}

/// Serves `app` on `listener` until `shutdown` is cancelled; then stops accepting, closes
/// idle connections, lets requests in flight finish for at most `grace`, and drops the
/// connections still open after that.
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    grpc: Option<Router>,
    limits: ConnectionLimits,
    grace: Duration,
    shutdown: CancellationToken,
) {
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let open = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = shutdown.cancelled() => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => break,
        };
        // Reap the tasks of closed connections, so that the set holds only open ones.
        while let Some(ended) = connections.try_join_next() {
            if let Err(err) = ended {
                tracing::error!(error = %err, "a connection's task failed");
            }
        }
        match accepted {
            Ok((stream, remote)) => {
                let connection = Connection {
                    app: app.clone(),
                    grpc: grpc.clone(),
                    limits,
                    remote,
                    accepted: Instant::now(),
                    _permit: permit,
                };
                let watcher = graceful.watcher();
                connections.spawn(connection.serve(stream, watcher, shutdown.clone()));
            }
            Err(err) if is_connection_error(&err) => {}
            Err(err) => {
                tracing::warn!(error = %err, "cannot accept connections; pausing");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    () = shutdown.cancelled() => break,
                }
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?grace,
            "in-flight requests did not finish in time; dropping them"
        );
    }
    connections.shutdown().await;
}

/// An error of one connection that failed before it was accepted: the next is unaffected.
fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// One accepted connection and what it is served with.
struct Connection {
    app: Router,
    /// The gRPC routes, in a process that speaks gRPC to its peers.
    grpc: Option<Router>,
    limits: ConnectionLimits,
    remote: SocketAddr,
    accepted: Instant,
    /// Its place among `max_connections`, given back when the connection closes.
    _permit: OwnedSemaphorePermit,
}

impl Connection {
    async fn serve(self, stream: TcpStream, watcher: Watcher, shutdown: CancellationToken) {
        let Connection {
            app,
            grpc,
            limits,
            remote,
            accepted,
            _permit,
        } = self;
        // hyper gives a connection a read buffer as soon as it serves it: until its client
        // sends something, a connection waits without one, so that idle ones cost little.
        // (`readable` may wake before there is anything to read; a peek waits for a byte.)
        let first_byte = accepted + limits.deadlines.header_read;
        let mut byte = [0; 1];
        tokio::select! {
            peeked = tokio::time::timeout_at(first_byte, stream.peek(&mut byte)) => {
                if !matches!(peeked, Ok(Ok(1))) {
                    return;
                }
            }
            () = shutdown.cancelled() => return,
        }
        let requests = Requests::default();
        let speaks_grpc = grpc.is_some();
        let io = Watched::new(stream, limits.deadlines, accepted, requests.clone());
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            // The client's address keys the gateway's rate limit.
            request.extensions_mut().insert(ConnectInfo(remote));
            let serving = requests.start();
            let routes = match &grpc {
                Some(grpc) if runtime::grpc::is_grpc(&request) => grpc,
                _ => &app,
            };
            let response = routes.clone().oneshot(request);
            async move {
                let response = response.await;
                drop(serving);
                response
            }
        });
        let mut http1 = http1::Builder::new();
        // `Watched` keeps the deadlines: hyper's header timer would also close idle
        // kept-alive connections at the header's deadline.
        http1
            .header_read_timeout(None)
            .max_header_size(limits.max_header_bytes)
            // The read buffer needs no more room than a head: left to grow, it would double
            // for a client that sends a long head in pieces.
            .max_buf_size(limits.max_header_bytes.max(SMALLEST_BUFFER));
        let served = if speaks_grpc {
            let mut both = auto::Builder::new(TokioExecutor::new());
            // hyper-util's builder for both versions has no bound on the head alone: the
            // bound on the read buffer is what keeps a long head out (431 all the same).
            both.http1()
                .header_read_timeout(None)
                .max_buf_size(limits.max_header_bytes.max(SMALLEST_BUFFER));
            both.http2()
                .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
            watcher
                .watch(both.serve_connection(TokioIo::new(io), service))
                .await
        } else {
            watcher
                .watch(http1.serve_connection(TokioIo::new(io), service))
                .await
                .map_err(Into::into)
        };
        if let Err(err) = served {
            tracing::debug!(%remote, error = %err, "connection closed on an error");
        }
    }
}
