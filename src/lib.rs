//! The `cleave` binary's library: the command line, the composition root and the server.
//!
//! # Layout
//! - [`cli`]: flags and subcommands; every flag is also a `CLEAVE_…` variable.
//! - [`roles`]: the role set of a process (`--role=users,orders`).
//! - [`compose`]: the composition root, the only code that knows which module is local.
//! - [`server`]: serving a composed process, and graceful shutdown.

pub mod cli;
pub mod compose;
pub mod roles;
pub mod server;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;

/// Composes the process described by `args` and serves it until SIGTERM or Ctrl-C.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let composition = compose::build(&args).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(
        address = %listener.local_addr()?,
        role = %args.modules.role,
        data_dir = %args.modules.data_dir.display(),
        "listening"
    );
    let shutdown = CancellationToken::new();
    tokio::spawn(server::cancel_on_signal(shutdown.clone()));
    server::serve(
        listener,
        composition,
        args.max_body_bytes,
        args.shutdown_grace(),
        shutdown,
    )
    .await
}
