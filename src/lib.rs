//! The `cleave` binary's library: the command line, the composition root and the server.
//!
//! # Layout
//! - [`cli`]: flags and subcommands; every flag is also a `CLEAVE_…` variable.
//! - [`roles`]: the role set of a process (`--role=users,orders`).
//! - [`compose`]: the composition root, the only code that knows which module is local.
//! - [`limits`]: what bounds the requests a process takes in: in flight, and per client.
//! - [`launch`]: a topology as child processes (for `up` and `compare`).
//! - [`up`]: `cleave up`, a topology on this machine with prefixed logs.
//! - [`compare`]: `cleave compare`, the measured comparison of topologies.
//! - [`probe`]: `cleave probe`, a health check that needs only the binary.
//! - [`openapi`]: the API's OpenAPI document, `/openapi.json` and the `/docs` page.
//! - [`server`]: serving a composed process, and graceful shutdown.
//! - [`topology`]: the topology language (`monolith`, `microservices`, `users+orders,payments`).

pub mod cli;
pub mod compare;
pub mod compose;
pub mod launch;
pub mod limits;
pub mod openapi;
pub mod probe;
pub mod roles;
pub mod server;
pub mod topology;
pub mod up;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;

/// Composes the process described by `args` and serves it until SIGTERM or Ctrl-C.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    runtime::metrics::install();
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
    if args.exit_on_stdin_eof {
        tokio::spawn(server::cancel_on_stdin_eof(shutdown.clone()));
    }
    server::serve(listener, composition, args.serving(), shutdown).await
}
