//! What every call to another process goes through, as one tower stack per peer: bounded
//! retries for idempotent requests, then a circuit breaker, then the HTTP client (whose
//! timeout bounds each attempt) spreading calls over the peer's addresses
//! ([`balance`](crate::balance)).
//!
//! The breaker counts only transport failures — no connection, a timeout, a connection
//! cut — because those are what make a peer expensive to call. A peer that answers, even
//! with a 5xx, is alive and answers fast; and its 503 may only relay that a module behind
//! it is away, which says nothing about the peer itself.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::balance::Balanced;
use http::Method;
use tower::retry::{Policy, RetryLayer};
use tower::util::BoxCloneSyncService;
use tower::ServiceBuilder;
use tower_resilience_circuitbreaker::{
    CircuitBreakerError, CircuitBreakerHandle, CircuitBreakerLayer, CircuitState, FnClassifier,
};

/// State of each peer's circuit breaker: 0 closed, 1 half-open (one probe in flight),
/// 2 open (calls refused without being attempted).
pub const PEER_BREAKER_STATE: &str = "cleave_peer_breaker_state";

/// Marks a gRPC call that changes nothing (a `get` or a `list`). gRPC calls are all
/// POSTs, so the method cannot say it: the [`channel`](crate::grpc::channel) sets this
/// header on them, and they are retried as a GET is.
pub const IDEMPOTENT: &str = "cleave-idempotent";

/// How calls to a peer are retried and when they stop being attempted.
#[derive(Debug, Clone)]
pub struct CallPolicy {
    /// Attempts after the first, for idempotent requests that failed without an answer.
    pub retries: u32,
    /// Wait before the first retry; doubled for each next one, with jitter.
    pub retry_backoff: Duration,
    /// Transport failures in a row that open the breaker; 0 disables the breaker.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before letting one probe through; also how
    /// long one address of the peer that got no answer is left alone.
    pub breaker_open: Duration,
    /// How often the names in the peer's URLs are resolved again, at most.
    pub resolve_every: Duration,
}

impl Default for CallPolicy {
    fn default() -> Self {
        Self {
            retries: 2,
            retry_backoff: Duration::from_millis(50),
            breaker_failures: 5,
            breaker_open: Duration::from_secs(2),
            resolve_every: Duration::from_secs(5),
        }
    }
}

/// Why a call got no answer.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The breaker is open: the call was not attempted.
    Refused,
    Transport(reqwest::Error),
}

impl From<CircuitBreakerError<reqwest::Error>> for CallError {
    fn from(err: CircuitBreakerError<reqwest::Error>) -> Self {
        match err {
            CircuitBreakerError::OpenCircuit => Self::Refused,
            CircuitBreakerError::Inner(err) => Self::Transport(err),
        }
    }
}

/// The stack calls to one peer go through. Clones share the breaker.
pub(crate) type Calls = BoxCloneSyncService<reqwest::Request, reqwest::Response, CallError>;

/// What the breaker counts as a failure: no answer at all.
type Classifier = FnClassifier<fn(&Result<reqwest::Response, reqwest::Error>) -> bool>;

fn unanswered(result: &Result<reqwest::Response, reqwest::Error>) -> bool {
    result.is_err()
}

/// Builds the stack for calls to `peer` over `http`.
pub(crate) fn calls(peer: &'static str, http: Balanced, policy: &CallPolicy) -> Calls {
    if policy.breaker_failures == 0 {
        let attempt = ServiceBuilder::new()
            .map_err(CallError::Transport)
            .service(http);
        return BoxCloneSyncService::new(
            ServiceBuilder::new()
                .layer(RetryLayer::new(Idempotent::new(policy, None)))
                .service(attempt),
        );
    }
    metrics::gauge!(PEER_BREAKER_STATE, "peer" => peer).set(gauge_value(CircuitState::Closed));
    let (breaker, handle) = CircuitBreakerLayer::builder()
        .name(peer)
        .consecutive_failures(policy.breaker_failures as usize)
        .wait_duration_in_open(policy.breaker_open)
        .permitted_calls_in_half_open(1)
        .failure_classifier(unanswered as fn(&_) -> bool)
        .on_state_transition(move |from, to| {
            tracing::warn!(peer, ?from, ?to, "circuit breaker changed state");
            metrics::gauge!(PEER_BREAKER_STATE, "peer" => peer).set(gauge_value(to));
        })
        .build_with_handle()
        .expect("a breaker with at least one failure and one probe is valid");
    let attempt = ServiceBuilder::new()
        .map_err(CallError::from)
        .layer(breaker)
        .service(http);
    BoxCloneSyncService::new(
        ServiceBuilder::new()
            .layer(RetryLayer::new(Idempotent::new(policy, Some(handle))))
            .service(attempt),
    )
}

fn gauge_value(state: CircuitState) -> f64 {
    match state {
        CircuitState::Closed => 0.0,
        CircuitState::HalfOpen => 1.0,
        CircuitState::Open => 2.0,
    }
}

/// Retries GET and HEAD, and gRPC calls marked [`IDEMPOTENT`] — requests that change nothing, so a second attempt is harmless —
/// when the first got no answer for a reason other than a timeout: a retry after a timeout
/// would double the wait the timeout exists to bound. Never retries once the breaker is no
/// longer closed (the retry would only be refused, after a wait), and never any other method.
#[derive(Clone)]
struct Idempotent {
    left: u32,
    next_delay: Duration,
    breaker: Option<CircuitBreakerHandle<Classifier>>,
}

impl Idempotent {
    /// The longest single wait between attempts, whatever the backoff has grown to.
    const MAX_DELAY: Duration = Duration::from_secs(1);

    fn new(policy: &CallPolicy, breaker: Option<CircuitBreakerHandle<Classifier>>) -> Self {
        Self {
            left: policy.retries,
            next_delay: policy.retry_backoff,
            breaker,
        }
    }

    fn breaker_closed(&self) -> bool {
        self.breaker
            .as_ref()
            .is_none_or(|breaker| breaker.state() == CircuitState::Closed)
    }

    /// "Equal jitter": half the delay, plus a random part of the other half, so that
    /// callers that failed together do not come back together.
    fn jittered(&mut self) -> Duration {
        let delay = self.next_delay.min(Self::MAX_DELAY);
        self.next_delay = delay.saturating_mul(2);
        delay / 2 + (delay / 2).mul_f64(fastrand::f64())
    }
}

impl Policy<reqwest::Request, reqwest::Response, CallError> for Idempotent {
    type Future = Pin<Box<dyn Future<Output = ()> + Send + Sync>>;

    fn retry(
        &mut self,
        _request: &mut reqwest::Request,
        result: &mut Result<reqwest::Response, CallError>,
    ) -> Option<Self::Future> {
        let retriable = matches!(result, Err(CallError::Transport(err)) if !err.is_timeout());
        if !retriable || self.left == 0 || !self.breaker_closed() {
            return None;
        }
        self.left -= 1;
        Some(Box::pin(tokio::time::sleep(self.jittered())))
    }

    fn clone_request(&mut self, request: &reqwest::Request) -> Option<reqwest::Request> {
        let idempotent = *request.method() == Method::GET
            || *request.method() == Method::HEAD
            || request.headers().contains_key(IDEMPOTENT);
        (idempotent && self.left > 0)
            .then(|| request.try_clone())
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let mut policy = Idempotent::new(
            &CallPolicy {
                retries: 10,
                retry_backoff: Duration::from_millis(100),
                ..CallPolicy::default()
            },
            None,
        );
        let bounds = [
            (50, 100),
            (100, 200),
            (200, 400),
            (400, 800),
            (500, 1000),
            (500, 1000),
        ];
        for (low, high) in bounds {
            let delay = policy.jittered();
            assert!(
                delay >= Duration::from_millis(low) && delay <= Duration::from_millis(high),
                "{delay:?} not in [{low}, {high}] ms"
            );
        }
    }

    #[test]
    fn only_idempotent_requests_are_cloned_for_a_retry() {
        let mut policy = Idempotent::new(&CallPolicy::default(), None);
        let url = reqwest::Url::parse("http://users:8080/users").unwrap();
        let get = reqwest::Request::new(Method::GET, url.clone());
        let post = reqwest::Request::new(Method::POST, url.clone());
        let mut marked = reqwest::Request::new(Method::POST, url);
        marked
            .headers_mut()
            .insert(IDEMPOTENT, http::HeaderValue::from_static("1"));
        assert!(policy.clone_request(&get).is_some());
        assert!(policy.clone_request(&post).is_none());
        assert!(policy.clone_request(&marked).is_some());
        let mut spent = Idempotent::new(
            &CallPolicy {
                retries: 0,
                ..CallPolicy::default()
            },
            None,
        );
        assert!(spent.clone_request(&get).is_none());
    }
}
