//! The request id: taken from `x-request-id` or made up at the edge, recorded on the
//! request's log span, returned to the client, and sent on every call and event the
//! request causes, so one id finds a request in the logs of every process.

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use http::HeaderName;
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, OnResponse, TraceLayer};
use tracing::Level;

use crate::trace;

pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being served by this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Wraps a router with request ids and request logging.
pub fn layer(router: Router) -> Router {
    let header = HeaderName::from_static(HEADER);
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(header.clone(), MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request| {
                        let id = req.headers().get(HEADER).and_then(|v| v.to_str().ok());
                        trace::request_span(req, id.unwrap_or(""))
                    })
                    // One line per request at info costs more CPU than the request itself
                    // on fast routes; failures (5xx) are still logged as errors.
                    .on_response(|response: &Response, latency, span: &tracing::Span| {
                        // The status, for the dashboard's recent requests ([`crate::spans`]).
                        span.record("status", response.status().as_u16());
                        DefaultOnResponse::new()
                            .level(Level::DEBUG)
                            .on_response(response, latency, span);
                    }),
            )
            .layer(PropagateRequestIdLayer::new(header))
            .layer(middleware::from_fn(in_scope)),
    )
}

async fn in_scope(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match id {
        Some(id) => CURRENT.scope(id, next.run(req)).await,
        None => next.run(req).await,
    }
}
