//! When a process stops: on SIGTERM or Ctrl-C, or when the parent that started it is gone.

use tokio_util::sync::CancellationToken;

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
