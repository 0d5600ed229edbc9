//! The transport under every gRPC client of a module: each call is one HTTP/2 request
//! sent through the peer's [`policy`](crate::policy) stack — the breaker, the retries of
//! idempotent calls, the balancing over the peer's replicas — on a client whose timeout
//! is the peer timeout, exactly as an HTTP/JSON call is. It carries the request id, the
//! trace context, the internal token and the deadline (`grpc-timeout`).
//!
//! Calls are unary and small, so a call's message and its answer are read whole: the
//! answer's bytes are counted like an HTTP answer's, and a retried call is sent again
//! from the bytes kept.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::stream;
use http::{header, HeaderValue, Method};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use tonic::Status;
use tower::{Service, ServiceExt};

use crate::peer::Peer;
use crate::policy::{CallError, IDEMPOTENT};

/// A call's answer, read whole: its message, then its trailers (where gRPC puts the
/// status).
pub type Answer = StreamBody<stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

/// Marks a call that changes nothing, so that it may be retried like an HTTP GET: set it
/// in the extensions of a `tonic::Request`.
#[derive(Debug, Clone, Copy)]
pub struct Idempotent;

/// A call of `message` that changes nothing, and may be retried.
pub fn idempotent<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.extensions_mut().insert(Idempotent);
    request
}

/// A peer as the transport of tonic's generated clients. Clones share the peer.
#[derive(Debug, Clone)]
pub struct Channel {
    peer: Peer,
}

impl Channel {
    pub fn new(peer: Peer) -> Self {
        Self { peer }
    }
}

impl Service<http::Request<tonic::body::Body>> for Channel {
    type Response = http::Response<Answer>;
    type Error = Status;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Status>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        let peer = self.peer.clone();
        Box::pin(async move { call(&peer, request).await })
    }
}

async fn call(
    peer: &Peer,
    request: http::Request<tonic::body::Body>,
) -> Result<http::Response<Answer>, Status> {
    let (parts, body) = request.into_parts();
    let message = body
        .collect()
        .await
        .map_err(|err| Status::internal(format!("encoding the call: {err}")))?
        .to_bytes();
    let sent = message.len();
    let mut builder = peer
        .request(Method::POST, parts.uri.path())
        .headers(parts.headers)
        .body(message);
    if let Some(token) = peer.token() {
        builder = builder.header(header::AUTHORIZATION, token.authorization());
    }
    if let Some(deadline) = peer.deadline() {
        builder = builder.header("grpc-timeout", grpc_timeout(deadline));
    }
    if parts.extensions.get::<Idempotent>().is_some() {
        builder = builder.header(IDEMPOTENT, HeaderValue::from_static("1"));
    }
    let request = builder
        .build()
        .map_err(|err| crate::grpc::status::bare(&peer.unreachable(&err)))?;
    let response = match peer.calls().oneshot(request).await {
        Ok(response) => response,
        Err(CallError::Refused) => {
            peer.count("refused");
            return Err(crate::grpc::status::bare(&peer.refused()));
        }
        Err(CallError::Transport(err)) => {
            peer.sent(sent);
            peer.count("unreachable");
            return Err(crate::grpc::status::bare(&peer.unreachable(&err)));
        }
    };
    peer.sent(sent);
    let response: http::Response<reqwest::Body> = response.into();
    let (parts, body) = response.into_parts();
    let collected = body.collect().await.map_err(|err| {
        peer.count("unreachable");
        crate::grpc::status::bare(&peer.unreachable(&err))
    })?;
    let trailers = collected.trailers().cloned();
    let message = collected.to_bytes();
    peer.received(message.len());
    let status = trailers
        .as_ref()
        .and_then(|t| t.get("grpc-status"))
        .or_else(|| parts.headers.get("grpc-status"));
    let answered = parts.status.is_success() && status.is_some_and(|s| s == "0");
    peer.count(if answered { "ok" } else { "error" });
    let mut frames = vec![Ok(Frame::data(message))];
    frames.extend(trailers.map(|t| Ok(Frame::trailers(t))));
    Ok(http::Response::from_parts(
        parts,
        StreamBody::new(stream::iter(frames)),
    ))
}

/// A deadline as the `grpc-timeout` header writes it: at most eight digits and a unit.
fn grpc_timeout(deadline: Duration) -> String {
    let millis = deadline.as_millis();
    if millis < 100_000_000 {
        format!("{millis}m")
    } else {
        format!("{}S", deadline.as_secs().min(99_999_999))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_fit_the_header() {
        assert_eq!(grpc_timeout(Duration::from_secs(10)), "10000m");
        assert_eq!(grpc_timeout(Duration::from_secs(1_000_000)), "1000000S");
    }
}
