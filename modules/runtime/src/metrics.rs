//! Prometheus metrics at `/metrics`: what each process served, and what it asked of other
//! processes — the numbers that show what a split costs in calls and bytes.

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

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder; later calls reuse the first one.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(HTTP_DURATION.to_owned()),
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ],
            )
            .expect("the bucket list is not empty")
            .install_recorder()
            .expect("no other metrics recorder is installed")
    })
}

/// `GET /metrics` in the Prometheus text format.
pub fn router() -> Router {
    Router::new().route(
        "/metrics",
        get(|| async {
            let body = HANDLE
                .get()
                .map(PrometheusHandle::render)
                .unwrap_or_default();
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
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
