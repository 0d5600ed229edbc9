//! What protects a process from more requests than it can serve: a bound on requests in
//! flight, beyond which requests are refused at once (503) rather than queued until
//! everything is slow, and — at the gateway — a rate per client (429).
//!
//! Both apply to the public API only: health and metrics must answer under load (a
//! liveness probe refused under load would restart a busy process), and event deliveries
//! come one batch at a time from each producer's relay, so they cannot pile up.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use http::StatusCode;
use tokio::sync::Semaphore;
use vocab::Problem;

/// When a client refused for load may try again: requests in flight on a fast path finish
/// within milliseconds, so a second is plenty for room to have been made.
const SHED_RETRY_AFTER: Duration = Duration::from_secs(1);
/// How often the rate limiter forgets clients that have been quiet, so that its memory is
/// bounded by recent clients, not by every client ever seen.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// The inbound limits of a process.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests served at once; 0: no bound.
    pub max_in_flight: usize,
    /// Requests per second per client address at the gateway; 0: no limit.
    pub rate_per_client: u32,
}

/// Wraps the public API of a process; `gateway` says whether it faces clients directly.
pub fn public(router: Router, limits: Limits, gateway: bool) -> Router {
    let router = match limits.max_in_flight {
        0 => router,
        // One count for every route. A permit is taken with `try_acquire`, never by polling
        // an acquisition: that is subject to tokio's cooperative budget, and a task that
        // has spent its budget would see a free permit as none and shed a request on an
        // idle server.
        max => router.layer(middleware::from_fn_with_state(
            Arc::new(Semaphore::new(max)),
            shed_beyond,
        )),
    };
    match NonZeroU32::new(limits.rate_per_client) {
        Some(rate) if gateway => {
            let limiter = Arc::new(RateLimiter::keyed(Quota::per_second(rate)));
            tokio::spawn(forget_quiet_clients(Arc::downgrade(&limiter)));
            router.layer(middleware::from_fn_with_state(limiter, rate_limit))
        }
        _ => router,
    }
}

async fn shed_beyond(
    State(in_flight): State<Arc<Semaphore>>,
    req: Request,
    next: Next,
) -> Response {
    let Ok(_permit) = in_flight.try_acquire() else {
        return Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "The server is busy",
        )
        .with_detail("too many requests in flight; try again shortly")
        .with_retry_after(SHED_RETRY_AFTER)
        .into_response();
    };
    next.run(req).await
}

type Limiter = DefaultKeyedRateLimiter<IpAddr>;

/// Keyed by the connection's address: headers such as `X-Forwarded-For` are the client's
/// to write, so trusting them would let any client pick its own bucket.
async fn rate_limit(State(limiter): State<Arc<Limiter>>, req: Request, next: Next) -> Response {
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(client) = client {
        if let Err(not_until) = limiter.check_key(&client) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
            )
            .with_detail("this client sends more requests per second than the gateway allows")
            .with_retry_after(wait)
            .into_response();
        }
    }
    next.run(req).await
}

async fn forget_quiet_clients(limiter: std::sync::Weak<Limiter>) {
    let mut every = tokio::time::interval(FORGET_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        let Some(limiter) = limiter.upgrade() else {
            return;
        };
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
}
