//! Serving a composed process until it is told to stop.
//!
//! - `connections`: the accept loop, hyper on each connection, and their bounds.
//! - `deadlines`: how long a client may keep its connection waiting.
//! - `open_files`: the process's limit on open files, raised at start.

mod connections;
mod deadlines;
mod open_files;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::{middleware, Extension, Router};
use http::StatusCode;
use runtime::extract::BodyReadTimeout;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use vocab::Problem;

use crate::cli::ServeArgs;
use crate::compose::Composition;

pub use connections::ConnectionLimits;
pub use deadlines::Deadlines;

/// How a process serves its requests.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Largest request body of the public API, in bytes.
    pub max_body_bytes: usize,
    /// How long a request's body may take to arrive once its head has.
    pub body_read_timeout: Duration,
    pub connections: ConnectionLimits,
    /// On shutdown, how long requests in flight may take to finish.
    pub grace: Duration,
}

impl Settings {
    /// The settings the flags of `args` give.
    pub fn of(args: &ServeArgs) -> Self {
        Self {
            max_body_bytes: args.max_body_bytes,
            body_read_timeout: Duration::from_millis(args.body_read_timeout_ms),
            connections: ConnectionLimits {
                max_connections: args.max_connections,
                max_header_bytes: args.max_header_bytes,
                deadlines: Deadlines {
                    header_read: Duration::from_millis(args.header_read_timeout_ms),
                    idle: Duration::from_millis(args.idle_timeout_ms),
                },
            },
            grace: Duration::from_millis(args.shutdown_grace_ms),
        }
    }
}

/// Serves `composition` on `listener` and runs its relays and event consumers until
/// `shutdown` is cancelled; then stops accepting, closes idle connections, lets in-flight
/// requests finish (for at most `settings.grace`), lets each relay finish the batch it is
/// delivering and each consumer the batch it is applying, and closes the databases.
pub async fn serve(
    listener: TcpListener,
    composition: Composition,
    settings: Settings,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    open_files::raise_limit(settings.connections.max_connections);
    let Composition {
        router,
        grpc,
        relays,
        consumers,
        dbs,
    } = composition;
    let relays: Vec<_> = relays
        .into_iter()
        .map(|relay| tokio::spawn(relay.run(shutdown.clone())))
        .collect();
    let consumers: Vec<_> = consumers
        .into_iter()
        .map(|consumer| tokio::spawn(consumer.run(shutdown.clone())))
        .collect();

    let app = public(router, &settings);
    connections::serve(
        listener,
        app,
        grpc,
        settings.connections,
        settings.grace,
        shutdown,
    )
    .await;
    for task in relays.into_iter().chain(consumers) {
        task.await?;
    }
    for db in dbs {
        db.close().await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// The layers every process puts around its routes.
fn public(router: Router, settings: &Settings) -> Router {
    let router = router
        .fallback(|| async {
            Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found")
                .with_detail("no such route")
        })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            )
        })
        .merge(runtime::metrics::router())
        .layer(middleware::from_fn(runtime::metrics::track))
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(Extension(BodyReadTimeout(settings.body_read_timeout)))
        // A bug must cost one request a 500, not the connection and the client's guesswork.
        .layer(CatchPanicLayer::custom(|_| {
            Problem::internal(&"a request handler panicked").into_response()
        }));
    runtime::request_id::layer(router)
}
