//! What the gateway shows of the whole deployment: `GET /health/deployment`, every
//! module's readiness as the gateway reaches it, and `GET /dashboard`, a live page of the
//! processes, the calls and events between them, their outboxes and breakers, and the
//! recent requests with their traces across processes.
//!
//! - `deployment`: where each module runs, as the gateway sees it, and its readiness.
//! - `gather`: one look at every process: readiness, metrics and recent spans.
//! - `traffic`: the calls and events between processes, and the recent requests, from spans.
//! - `prometheus`: the few series the page shows, read from a process's `/metrics`.
//! - `page.html`: the page itself, with its style and script inline.

mod deployment;
mod gather;
mod prometheus;
mod traffic;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};

pub use deployment::{Deployment, Site};

const PAGE: &str = include_str!("page.html");

/// The gateway's routes over `deployment`.
pub fn router(deployment: Deployment) -> Router {
    Router::new()
        .route("/health/deployment", get(health))
        .route("/dashboard", get(|| async { Html(PAGE) }))
        .route("/dashboard/state", get(state))
        .with_state(deployment)
}

/// 200 when every module is ready as the gateway reaches it, 503 naming those that are not.
async fn health(
    axum::extract::State(deployment): axum::extract::State<Deployment>,
) -> impl IntoResponse {
    let health = deployment.health().await;
    let status = if health.ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health))
}

async fn state(
    axum::extract::State(deployment): axum::extract::State<Deployment>,
) -> impl IntoResponse {
    Json(gather::state(&deployment).await)
}
