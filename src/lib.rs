//! The `cleave` binary's library: the command line, the composition root and the server.
//!
//! # Layout
//! - [`cli`]: flags and subcommands; every flag is also a `CLEAVE_…` variable.
//! - [`modules`]: the binary's one list of modules, which everything else derives from.
//! - [`roles`]: the role set of a process (`--role=users,orders`).
//! - [`compose`]: the composition root, the only code that knows which module is local.
//! - [`dashboard`]: the gateway's view of the whole deployment: its health and a live page.
//! - [`faults`]: the internal switch that makes one module fail for a failure drill.
//! - [`limits`]: what bounds the requests a process takes in: in flight, and per client.
//! - [`probe`]: `cleave probe`, a health check that needs only the binary.
//! - [`openapi`]: the API's OpenAPI document, `/openapi.json` and the `/docs` page.
//! - [`server`]: serving a composed process, and graceful shutdown.
//!
//! `cleave up` and `cleave compare` live in the `tools` crate, and get the list from here.

pub mod cli;
pub mod compose;
pub mod dashboard;
pub mod faults;
pub mod limits;
pub mod modules;
pub mod openapi;
pub mod probe;
pub mod roles;
pub mod server;

use std::net::SocketAddr;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;

/// Composes the process described by `args` and serves it until SIGTERM or Ctrl-C.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    runtime::metrics::install();
    runtime::metrics::build_info(env!("CARGO_PKG_VERSION"), env!("CLEAVE_COMMIT"));
    let composition = compose::build(&args).await?;
    let listener = bind(args.listen).await?;
    tracing::info!(
        address = %listener.local_addr()?,
        role = %args.modules.role,
        data_dir = %args.modules.data_dir.display(),
        "listening"
    );
    let shutdown = CancellationToken::new();
    tokio::spawn(runtime::shutdown::cancel_on_signal(shutdown.clone()));
    if args.exit_on_stdin_eof {
        tokio::spawn(runtime::shutdown::cancel_on_stdin_eof(shutdown.clone()));
    }
    server::serve(listener, composition, server::Settings::of(&args), shutdown).await
}

/// Binds `addr`, saying what to check when another process has it.
async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(addr).await {
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => Err(anyhow::anyhow!(
            "cannot listen on {addr}: another process has that port (`ss -ltnp 'sport = :{port}'` \
             names it); stop it, or give this one another port with --listen",
            port = addr.port()
        )),
        result => result.with_context(|| format!("binding {addr}")),
    }
}
