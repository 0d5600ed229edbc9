//! Calls to a module in another process. Every call carries the current request id and
//! trace context, goes through the peer's [`policy`](crate::policy) stack (retries, circuit
//! breaker), is bounded by the client's timeout, and fails as a [`Problem`]: the peer's own
//! problem when it answered with one, 503 when it could not be reached or its breaker is
//! open.

use std::time::Duration;

use http::{header, Method};
use serde::de::DeserializeOwned;
use tower::ServiceExt;

use crate::balance::Balanced;
use crate::internal::InternalToken;
use crate::metrics::{PEER_RECEIVED_BYTES, PEER_REQUESTS, PEER_SENT_BYTES};
use crate::policy::{self, CallError, CallPolicy, Calls};
use crate::{request_id, trace};
use vocab::problem::Problem;

/// How long a peer may take to accept a connection, or to acknowledge what was sent to it
/// on one, before it is taken for gone: far more than a round trip between the processes of
/// one deployment, and time enough for a lost SYN or a few lost segments to be sent again.
/// A peer cut off the network (a partition, a host gone) answers nothing, not even a reset:
/// without this bound a call on a kept-alive connection to it would wait out the whole
/// timeout. A peer that is merely slow to answer has acknowledged the request, so it is
/// not held to this bound, only to the timeout.
const GONE_AFTER: Duration = Duration::from_secs(2);

/// The HTTP client shared by every peer of a process (one connection pool).
pub fn http_client(timeout: Duration) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(GONE_AFTER))
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true);
    // TCP_USER_TIMEOUT is Linux's (what the image runs); elsewhere a peer cut off the
    // network costs the calls on kept-alive connections the whole timeout.
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    let builder = builder.tcp_user_timeout(timeout.min(GONE_AFTER));
    builder.build().expect("the TLS-less client builds")
}

/// The HTTP/2 client shared by every peer of a process that speaks gRPC to its peers:
/// the same bounds as [`http_client`], HTTP/2 from the first byte (gRPC without TLS).
pub fn grpc_client(timeout: Duration) -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .http2_prior_knowledge()
        .timeout(timeout)
        .connect_timeout(timeout.min(GONE_AFTER))
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true);
    #[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
    let builder = builder.tcp_user_timeout(timeout.min(GONE_AFTER));
    builder.build().expect("the TLS-less client builds")
}

/// A module in another process, at a base URL such as `http://users:8080`, or several,
/// comma-separated, that differ only in host and port. Calls are spread over every address
/// the URLs resolve to ([`balance`](crate::balance)). Clones share the connection pool, the
/// addresses and the circuit breaker.
#[derive(Clone)]
pub struct Peer {
    name: &'static str,
    base: String,
    http: reqwest::Client,
    calls: Calls,
    breaker_open: Duration,
    token: Option<InternalToken>,
    /// The deadline a gRPC call tells the peer (`grpc-timeout`): the client's timeout.
    deadline: Option<Duration>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("name", &self.name)
            .field("base", &self.base)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Peer {
    /// A peer called with the default [`CallPolicy`].
    pub fn new(name: &'static str, base: &str, http: reqwest::Client) -> Self {
        Self::with_policy(name, base, http, &CallPolicy::default())
    }

    pub fn with_policy(
        name: &'static str,
        base: &str,
        http: reqwest::Client,
        policy: &CallPolicy,
    ) -> Self {
        // Paths are put after the first URL; the balancer swaps its host and port for an
        // address of any of them.
        let first = base.split(',').next().unwrap_or_default().trim();
        crate::metrics::peer_at_zero(name);
        let balanced = Balanced::new(
            name,
            base,
            http.clone(),
            policy.resolve_every,
            policy.breaker_open,
        );
        Self {
            name,
            base: first.trim_end_matches('/').to_owned(),
            calls: policy::calls(name, balanced, policy),
            http,
            breaker_open: policy.breaker_open,
            token: None,
            deadline: None,
        }
    }

    /// Sends `token` on requests to the peer's internal routes.
    pub fn with_internal_token(mut self, token: Option<InternalToken>) -> Self {
        self.token = token;
        self
    }

    /// Tells gRPC calls' receivers that the caller waits `deadline` for their answer.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    pub(crate) fn token(&self) -> Option<&InternalToken> {
        self.token.as_ref()
    }

    pub(crate) fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// The stack a call to the peer goes through.
    pub(crate) fn calls(&self) -> Calls {
        self.calls.clone()
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    /// A request to `path` on this peer, carrying the current request id and trace context.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let builder = trace::inject(self.http.request(method, self.url(path)));
        match request_id::current() {
            Some(id) => builder.header(request_id::HEADER, id),
            None => builder,
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.request(Method::POST, path)
    }

    /// A POST to one of the peer's internal routes, carrying the internal token if this
    /// process has one. Public routes never get the token: it goes only where it is needed.
    pub fn internal_post(&self, path: &str) -> reqwest::RequestBuilder {
        let builder = self.post(path);
        match &self.token {
            Some(token) => builder.header(header::AUTHORIZATION, token.authorization()),
            None => builder,
        }
    }

    /// Sends the request; a non-success answer becomes the peer's problem.
    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Problem> {
        let request = request.build().map_err(|err| self.unreachable(&err))?;
        let sent = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .map_or(0, <[u8]>::len);
        let response = match self.calls.clone().oneshot(request).await {
            Ok(response) => response,
            // Not attempted: nothing was sent.
            Err(CallError::Refused) => {
                self.count("refused");
                return Err(self.refused());
            }
            Err(CallError::Transport(err)) => {
                self.sent(sent);
                self.count("unreachable");
                return Err(self.unreachable(&err));
            }
        };
        self.sent(sent);
        if response.status().is_success() {
            self.count("ok");
            Ok(response)
        } else {
            self.count("error");
            Err(self.problem_from(response).await)
        }
    }

    /// Sends the request and decodes a JSON answer.
    pub async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, Problem> {
        let body = self
            .send(request)
            .await?
            .bytes()
            .await
            .map_err(|err| self.unreachable(&err))?;
        self.received(body.len());
        serde_json::from_slice(&body).map_err(|err| {
            tracing::warn!(peer = self.name, error = %err, "peer answered with an undecodable body");
            Problem::unavailable(format!("the {} module answered with a body that does not decode", self.name))
        })
    }

    pub(crate) fn count(&self, outcome: &'static str) {
        metrics::counter!(PEER_REQUESTS, "peer" => self.name, "outcome" => outcome).increment(1);
    }

    pub(crate) fn sent(&self, bytes: usize) {
        metrics::counter!(PEER_SENT_BYTES, "peer" => self.name).increment(bytes as u64);
    }

    pub(crate) fn received(&self, bytes: usize) {
        metrics::counter!(PEER_RECEIVED_BYTES, "peer" => self.name).increment(bytes as u64);
    }

    pub(crate) fn unreachable(&self, err: &reqwest::Error) -> Problem {
        tracing::warn!(peer = self.name, error = %err, "peer call failed");
        let what = if err.is_timeout() {
            "did not answer in time"
        } else {
            "cannot be reached"
        };
        Problem::unavailable(format!("the {} module {what}", self.name))
    }

    /// The breaker is open: the peer failed repeatedly and is left alone for a while.
    pub(crate) fn refused(&self) -> Problem {
        Problem::unavailable(format!(
            "the {} module failed repeatedly; calls to it are paused",
            self.name
        ))
        .with_retry_after(self.breaker_open)
    }

    async fn problem_from(&self, response: reqwest::Response) -> Problem {
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        self.received(body.len());
        match serde_json::from_slice::<Problem>(&body) {
            Ok(problem) => problem,
            Err(_) if status.is_server_error() => {
                Problem::unavailable(format!("the {} module answered {status}", self.name))
            }
            Err(_) => Problem::new(status, "peer-error", "Unexpected answer from a module")
                .with_detail(format!("the {} module answered {status}", self.name)),
        }
    }
}
