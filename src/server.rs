//! Serving a composed process until it is told to stop.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::IntoResponse;
use axum::Router;
use http::StatusCode;
use platform::Problem;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;

use crate::compose::Composition;

/// Serves `composition` on `listener` and runs its relays and event consumers until
/// `shutdown` is cancelled; then stops accepting, lets in-flight requests finish (for at
/// most `grace`), lets each relay finish the batch it is delivering and each consumer the
/// batch it is applying, and closes the databases.
pub async fn serve(
    listener: TcpListener,
    composition: Composition,
    max_body_bytes: usize,
    grace: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Composition {
        router,
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

    let app = public(router, max_body_bytes);
    // The client's address keys the gateway's rate limit.
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let server =
        axum::serve(listener, app).with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let mut served = tokio::spawn(async move { server.await });
    tokio::select! {
        result = &mut served => result??,
        () = shutdown.cancelled() => match tokio::time::timeout(grace, &mut served).await {
            Ok(result) => result??,
            Err(_) => {
                tracing::warn!(?grace, "in-flight requests did not finish in time; dropping them");
                served.abort();
            }
        },
    }
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
fn public(router: Router, max_body_bytes: usize) -> Router {
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
        .merge(platform::metrics::router())
        .layer(middleware::from_fn(platform::metrics::track))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        // A bug must cost one request a 500, not the connection and the client's guesswork.
        .layer(CatchPanicLayer::custom(|_| {
            Problem::internal(&"a request handler panicked").into_response()
        }));
    platform::request_id::layer(router)
}

/// Cancels `token` on SIGTERM or Ctrl-C.
pub async fn cancel_on_signal(token: CancellationToken) {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
    token.cancel();
}

/// Cancels `token` when standard input reaches its end (the parent process is gone).
pub async fn cancel_on_stdin_eof(token: CancellationToken) {
    let mut stdin = tokio::io::stdin();
    let mut sink = tokio::io::sink();
    let _ = tokio::io::copy(&mut stdin, &mut sink).await;
    // Cancel before logging: the parent that closed the pipe may have taken the log
    // pipes with it.
    token.cancel();
    tracing::info!("standard input closed; shutting down");
}
