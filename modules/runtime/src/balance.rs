//! Spreading calls to a peer over every address its URLs resolve to: a Kubernetes headless
//! service or `docker compose --scale` gives one name several addresses, one per replica.
//!
//! This is the bottom of a peer's [`policy`](crate::policy) stack, under the peer's
//! breaker and retries. Each call goes to the next address in turn (`http://<ip>:<port>`
//! with the path unchanged and `Host` the name from the URL), skipping addresses that
//! failed recently: an address whose call got no answer is left alone for the breaker's
//! open time, then gets calls again, and is back for good at its first answer. A call
//! whose connection was refused goes on at once to another address that has not failed
//! (nothing was sent, so this holds for a POST too); the retry of a GET that failed
//! otherwise lands on another replica as well. When every address has
//! failed, calls still go out (to the one left alone longest), so the peer's breaker sees
//! the failures and opens: a peer with no replica left answers 503 at once, as before.
//!
//! The names are resolved again, at most every resolve interval, when a call finds the
//! last answer older than that: replicas that come and go are picked up, an idle peer
//! asks nothing of DNS, and no task outlives the peer. A failed or empty lookup keeps the
//! addresses already known, so a DNS hiccup does not take a healthy peer away.
//!
//! This is plain round robin rather than tower's power-of-two-choices balancer: p2c needs
//! a buffer in front (it is not `Clone`) and turns errors into boxed ones, which would hide
//! the transport error the breaker and retries classify, and it has no notion of leaving
//! a failed endpoint alone for a while and trying it again.
//!
//! Only `http` URLs are balanced: with TLS the name in the URL is also the name the
//! certificate is checked against, so such URLs are left for the client to resolve.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::header::{HeaderValue, HOST};
use tower::Service;

/// A name and port to resolve, and the `Host` header calls to its addresses carry.
#[derive(Debug, Clone)]
struct Target {
    host: String,
    port: u16,
    header: HeaderValue,
}

impl Target {
    fn parse(base: &str) -> Option<Self> {
        let url = reqwest::Url::parse(base).ok()?;
        if url.scheme() != "http" {
            return None;
        }
        let host = url.host_str()?.to_owned();
        let port = url.port_or_known_default()?;
        // What the client itself would send: the port only when the URL names one.
        let header = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        Some(Self {
            // `lookup_host` wants an IPv6 literal without its brackets.
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port,
            header: HeaderValue::from_str(&header).ok()?,
        })
    }

    async fn resolve(&self) -> Vec<SocketAddr> {
        match tokio::net::lookup_host((self.host.as_str(), self.port)).await {
            Ok(addrs) => addrs.collect(),
            Err(err) => {
                tracing::warn!(host = %self.host, error = %err, "peer name does not resolve");
                Vec::new()
            }
        }
    }
}

#[derive(Debug)]
struct Endpoint {
    addr: SocketAddr,
    host: HeaderValue,
    /// Until when calls avoid this address, after a call to it got no answer.
    left_until: Option<Instant>,
}

#[derive(Debug, Default)]
struct State {
    endpoints: Vec<Endpoint>,
    resolved_at: Option<Instant>,
    resolving: bool,
}

#[derive(Debug)]
struct Shared {
    peer: &'static str,
    targets: Vec<Target>,
    resolve_every: Duration,
    leave_for: Duration,
    next: AtomicUsize,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding the lock: every
        // change to it is a single assignment.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Resolves every target and replaces the known addresses, keeping what is known
    /// about those still there.
    async fn resolve(&self) {
        let mut found: Vec<(SocketAddr, HeaderValue)> = Vec::new();
        for target in &self.targets {
            for addr in target.resolve().await {
                if !found.iter().any(|(known, _)| *known == addr) {
                    found.push((addr, target.header.clone()));
                }
            }
        }
        let mut state = self.state();
        state.resolving = false;
        state.resolved_at = Some(Instant::now());
        if found.is_empty() {
            return;
        }
        let mut old = std::mem::take(&mut state.endpoints);
        state.endpoints = found
            .into_iter()
            .map(|(addr, host)| {
                let left_until = old
                    .iter_mut()
                    .find(|e| e.addr == addr)
                    .and_then(|e| e.left_until.take());
                Endpoint {
                    addr,
                    host,
                    left_until,
                }
            })
            .collect();
    }

    /// Whether the addresses are older than the resolve interval, marking a lookup as
    /// under way if so, so that concurrent calls start only one.
    fn claim_refresh(&self) -> bool {
        let mut state = self.state();
        let stale = state
            .resolved_at
            .is_none_or(|at| at.elapsed() >= self.resolve_every);
        let claimed = stale && !state.resolving;
        if claimed {
            state.resolving = true;
        }
        claimed
    }

    /// The next address in turn, other than those `tried`, that has not failed recently;
    /// for a first try, if every address has failed, the one left alone the longest.
    fn pick(&self, tried: &[SocketAddr]) -> Option<(SocketAddr, HeaderValue)> {
        let state = self.state();
        let count = state.endpoints.len();
        if count == 0 {
            return None;
        }
        let now = Instant::now();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let endpoint = (0..count)
            .map(|i| &state.endpoints[(start + i) % count])
            .filter(|e| !tried.contains(&e.addr))
            .find(|e| e.left_until.is_none_or(|until| until <= now))
            .or_else(|| {
                tried
                    .is_empty()
                    .then(|| state.endpoints.iter().min_by_key(|e| e.left_until))
                    .flatten()
            })?;
        Some((endpoint.addr, endpoint.host.clone()))
    }

    fn record(&self, addr: SocketAddr, answered: bool) {
        let mut state = self.state();
        let Some(endpoint) = state.endpoints.iter_mut().find(|e| e.addr == addr) else {
            return;
        };
        if answered {
            endpoint.left_until = None;
        } else {
            if endpoint.left_until.is_none() {
                tracing::warn!(peer = self.peer, %addr, "peer address failed; calls avoid it for a while");
            }
            endpoint.left_until = Some(Instant::now() + self.leave_for);
        }
    }
}

/// The HTTP client of one peer, sending each call to one of the peer's addresses. Clones
/// share the addresses and what is known about them.
#[derive(Debug, Clone)]
pub(crate) struct Balanced {
    http: reqwest::Client,
    shared: Arc<Shared>,
}

impl Balanced {
    /// Calls to the peer at `bases` (one base URL or several, comma-separated, differing
    /// only in host and port). Addresses are resolved again at most every `resolve_every`;
    /// one that got no answer is avoided for `leave_for`.
    pub(crate) fn new(
        peer: &'static str,
        bases: &str,
        http: reqwest::Client,
        resolve_every: Duration,
        leave_for: Duration,
    ) -> Self {
        Self {
            http,
            shared: Arc::new(Shared {
                peer,
                targets: bases
                    .split(',')
                    .map(str::trim)
                    .filter_map(Target::parse)
                    .collect(),
                resolve_every,
                leave_for,
                next: AtomicUsize::new(0),
                state: Mutex::new(State::default()),
            }),
        }
    }
}

impl Service<reqwest::Request> for Balanced {
    type Response = reqwest::Response;
    type Error = reqwest::Error;
    type Future = Pin<Box<dyn Future<Output = Result<reqwest::Response, reqwest::Error>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: reqwest::Request) -> Self::Future {
        let (http, shared) = (self.http.clone(), Arc::clone(&self.shared));
        Box::pin(async move {
            if shared.targets.is_empty() {
                return http.execute(request).await;
            }
            if shared.claim_refresh() {
                let known = shared.state().endpoints.len();
                if known == 0 {
                    // The first call waits for the addresses it needs.
                    shared.resolve().await;
                } else {
                    let shared = Arc::clone(&shared);
                    tokio::spawn(async move { shared.resolve().await });
                }
            }
            // With no address known (the names do not resolve) the request goes out as
            // it is, and fails as the client reports it.
            let Some(mut endpoint) = shared.pick(&[]) else {
                return http.execute(request).await;
            };
            let mut tried = Vec::new();
            loop {
                let (addr, host) = endpoint;
                let spare = request.try_clone();
                let result = http.execute(addressed(request, addr, host)).await;
                shared.record(addr, result.is_ok());
                tried.push(addr);
                // A connection that was never made carried nothing, so any request, even
                // a POST, may go to another address — as the client itself would do with
                // the several addresses of one name (a dual-stack `localhost`). A timeout
                // is not tried elsewhere: it would multiply the wait it bounds.
                let refused = matches!(&result, Err(err) if err.is_connect() && !err.is_timeout());
                // Picked only when needed: a pick moves the turn on.
                let other = refused.then(|| shared.pick(&tried)).flatten();
                match (spare, other) {
                    (Some(spare), Some(other)) => (request, endpoint) = (spare, other),
                    _ => return result,
                }
            }
        })
    }
}

/// `request` sent to `addr`, with the path unchanged and `host` as its `Host` header.
fn addressed(
    mut request: reqwest::Request,
    addr: SocketAddr,
    host: HeaderValue,
) -> reqwest::Request {
    let url = request.url_mut();
    // Setting an IP address and a port on an http URL cannot fail.
    let _ = url.set_ip_host(addr.ip());
    let _ = url.set_port(Some(addr.port()));
    request.headers_mut().insert(HOST, host);
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_resolves_to_the_addresses_calls_go_to() {
        let balanced = Balanced::new(
            "users",
            "http://localhost:8080",
            reqwest::Client::new(),
            Duration::from_secs(5),
            Duration::from_secs(2),
        );
        balanced.shared.resolve().await;
        let (addr, host) = balanced.shared.pick(&[]).expect("localhost resolves");
        assert!(addr.ip().is_loopback(), "{addr}");
        assert_eq!(addr.port(), 8080);
        assert_eq!(host, "localhost:8080");
    }

    #[tokio::test]
    async fn calls_take_turns_and_avoid_an_address_that_failed() {
        let balanced = Balanced::new(
            "users",
            "http://127.0.0.2:8080, http://127.0.0.3:8080,http://127.0.0.2:8080",
            reqwest::Client::new(),
            Duration::from_secs(5),
            Duration::from_secs(60),
        );
        let shared = &balanced.shared;
        shared.resolve().await;
        let second: SocketAddr = "127.0.0.2:8080".parse().unwrap();
        let third: SocketAddr = "127.0.0.3:8080".parse().unwrap();
        let picked: Vec<SocketAddr> = (0..4).map(|_| shared.pick(&[]).unwrap().0).collect();
        assert_eq!(picked, [second, third, second, third], "each in turn, once");

        shared.record(second, false);
        assert!((0..4).all(|_| shared.pick(&[]).unwrap().0 == third));
        // Another address for a call refused by the third: none that has not failed.
        assert!(shared.pick(&[third]).is_none());

        // With every address failed, calls still go out, to the one failed longest ago.
        shared.record(third, false);
        assert_eq!(shared.pick(&[]).unwrap().0, second);

        // An answer brings an address back at once.
        shared.record(second, true);
        assert!((0..4).all(|_| shared.pick(&[]).unwrap().0 == second));
    }

    #[test]
    fn only_http_urls_are_balanced() {
        assert!(Target::parse("https://users:8443").is_none());
        let target = Target::parse("http://users").expect("an http URL");
        assert_eq!((target.host.as_str(), target.port), ("users", 80));
        assert_eq!(target.header, "users");
        let v6 = Target::parse("http://[::1]:8080").expect("an http URL");
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.header, "[::1]:8080");
    }
}
