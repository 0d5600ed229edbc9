//! Prometheus metrics at `/metrics`: what each process served, and what it asked of other
//! processes — the numbers that show what a split costs in calls and bytes.
//!
//! Every family is described, so that it comes with `# HELP` and `# TYPE` lines; the
//! counters of a process's peers, subscribers and consumers are created at zero when they
//! are, so that a rate over them is defined before the first call or event; and the
//! `process_*` families operators' dashboards expect come from `/proc` ([`process`]).

mod process;

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::header;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Inbound requests, by method, route template and status.
pub const HTTP_REQUESTS: &str = "cleave_http_requests_total";
/// Inbound request latency, by method and route template.
pub const HTTP_DURATION: &str = "cleave_http_request_duration_seconds";
/// Calls to other modules' processes, by peer and outcome (`ok`, `error`, `unreachable`, or
/// `refused` by an open circuit breaker without being attempted).
pub const PEER_REQUESTS: &str = "cleave_peer_requests_total";
/// Bytes of request bodies sent to other processes, by peer.
pub const PEER_SENT_BYTES: &str = "cleave_peer_sent_bytes_total";
/// Bytes of response bodies received from other processes, by peer.
pub const PEER_RECEIVED_BYTES: &str = "cleave_peer_received_bytes_total";
/// Events applied by a subscriber, by subscriber (counted by the producer's relay).
pub const EVENTS_DELIVERED: &str = "cleave_events_delivered_total";
/// Of those, events delivered again after an attempt that failed, by subscriber.
pub const EVENTS_REDELIVERED: &str = "cleave_events_redelivered_total";
/// Events a consumer received again and skipped, as its inbox had them, by consumer.
pub const EVENTS_DEDUPLICATED: &str = "cleave_events_deduplicated_total";
/// Batches of events a consumer's route refused as undecodable, and undecodable messages a
/// consumer handed back to its broker, by consumer.
pub const EVENTS_REJECTED: &str = "cleave_events_rejected_total";
/// Events in the outbox not yet delivered to a subscriber, by subscriber (a gauge).
pub const OUTBOX_BACKLOG: &str = "cleave_outbox_backlog";
/// Age of the oldest of those, in seconds; 0 when there is none (a gauge).
pub const OUTBOX_OLDEST_AGE: &str = "cleave_outbox_oldest_age_seconds";

/// Always 1, labelled with the version and the commit the binary was built from.
pub const BUILD_INFO: &str = "cleave_build_info";

/// What each outcome of a call to a peer is counted as (see [`PEER_REQUESTS`]).
pub const PEER_OUTCOMES: [&str; 4] = ["ok", "error", "unreachable", "refused"];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder and describes every family; later calls reuse the
/// first one.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(HTTP_DURATION.to_owned()),
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            )
            .expect("the bucket list is not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed");
        describe();
        handle
    })
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "Requests served, by method, route template and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        "Time to answer a request, in seconds, by method and route template."
    );
    describe_counter!(PEER_REQUESTS, "Calls to modules in other processes, by peer and outcome (ok, error, unreachable, refused by an open breaker).");
    describe_counter!(
        PEER_SENT_BYTES,
        "Bytes of request bodies sent to other processes, by peer."
    );
    describe_counter!(
        PEER_RECEIVED_BYTES,
        "Bytes of response bodies received from other processes, by peer."
    );
    describe_counter!(
        EVENTS_DELIVERED,
        "Events a subscriber applied, by subscriber, counted by the producer's relay."
    );
    describe_counter!(
        EVENTS_REDELIVERED,
        "Events delivered again after an attempt that failed, by subscriber."
    );
    describe_counter!(
        EVENTS_DEDUPLICATED,
        "Events a consumer received again and skipped, as its inbox had them, by consumer."
    );
    describe_counter!(
        EVENTS_REJECTED,
        "Batches of events a consumer refused as undecodable, by consumer."
    );
    describe_gauge!(
        OUTBOX_BACKLOG,
        "Events in the outbox not yet delivered, by subscriber."
    );
    describe_gauge!(
        OUTBOX_OLDEST_AGE,
        "Age of the oldest event not yet delivered, in seconds (0 when none), by subscriber."
    );
    describe_gauge!(
        crate::policy::PEER_BREAKER_STATE,
        "State of the circuit breaker of each peer: 0 closed, 1 half-open, 2 open."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1: the version and commit of the running binary, as labels."
    );
}

/// Publishes the build of the running binary as [`BUILD_INFO`].
pub fn build_info(version: &'static str, commit: &'static str) {
    metrics::gauge!(BUILD_INFO, "version" => version, "commit" => commit).set(1.0);
}

/// The counters of calls to `peer`, at zero.
pub(crate) fn peer_at_zero(peer: &'static str) {
    for outcome in PEER_OUTCOMES {
        metrics::counter!(PEER_REQUESTS, "peer" => peer, "outcome" => outcome).increment(0);
    }
    metrics::counter!(PEER_SENT_BYTES, "peer" => peer).increment(0);
    metrics::counter!(PEER_RECEIVED_BYTES, "peer" => peer).increment(0);
}

/// The counters of the events delivered to `subscriber`, at zero.
pub(crate) fn subscriber_at_zero(subscriber: &'static str) {
    metrics::counter!(EVENTS_DELIVERED, "subscriber" => subscriber).increment(0);
    metrics::counter!(EVENTS_REDELIVERED, "subscriber" => subscriber).increment(0);
}

/// The counters of the events `consumer` received, at zero.
pub(crate) fn consumer_at_zero(consumer: &'static str) {
    metrics::counter!(EVENTS_DEDUPLICATED, "consumer" => consumer).increment(0);
    metrics::counter!(EVENTS_REJECTED, "consumer" => consumer).increment(0);
}

/// What `GET /metrics` answers: every family of this process, in the text format.
pub fn page() -> String {
    let mut body = HANDLE
        .get()
        .map(PrometheusHandle::render)
        .unwrap_or_default();
    process::render(&mut body);
    body
}

/// `GET /metrics` in the Prometheus text format.
pub fn router() -> Router {
    Router::new().route(
        "/metrics",
        get(|| async {
            (
                [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                page(),
            )
                .into_response()
        }),
    )
}

/// Middleware counting every request by route template (not raw path: ids would make
/// one series per order).
pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
