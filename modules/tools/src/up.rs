//! `cleave up`: a topology on this machine, as child processes with prefixed logs, until
//! Ctrl-C or SIGTERM stops them all; with a table of the modules' readiness when they are
//! up and on each change (`status`).

mod status;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use runtime::module::Module;
use runtime::shutdown::cancel_on_signal;
use tokio_util::sync::CancellationToken;

use crate::launch::{LaunchOptions, Launched, Logs};
use crate::topology::Topology;

#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// How to split the modules into processes: monolith, microservices, or a grouping
    /// such as users+orders,payments+shipping (commas separate processes; the gateway rides
    /// with the first).
    #[arg(long, env = "CLEAVE_TOPOLOGY", default_value = "microservices")]
    pub topology: String,

    /// Public address of the process that carries the gateway; the others take free
    /// loopback ports.
    #[arg(long, env = "CLEAVE_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// Directory of the SQLite databases, shared by all processes (one file per module).
    #[arg(long, env = "CLEAVE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Flags for every process, after `--`: `cleave up -- --payment-limit-cents 500`.
    #[arg(last = true, value_name = "FLAGS")]
    pub flags: Vec<String>,
}

/// Runs the topology of `args` with the modules of `registry`.
pub async fn run(args: UpArgs, registry: &'static [&'static Module]) -> anyhow::Result<()> {
    let topology = Topology::parse(&args.topology, registry).map_err(anyhow::Error::msg)?;
    let options = LaunchOptions {
        public: args.listen,
        data_dir: args.data_dir.clone(),
        extra_args: args.flags,
        env: Vec::new(),
        logs: Logs::Prefixed,
    };
    let mut launched = Launched::start(topology, options).await?;
    for process in &launched.processes {
        tracing::info!(roles = %process.roles, url = %process.url(), pid = process.pid(), "started");
    }
    tracing::info!(topology = %launched.topology, api = %launched.public_url(), "up; Ctrl-C stops every process");

    let watching = tokio::spawn(status::watch(launched.public_url()));
    let stop = CancellationToken::new();
    tokio::spawn(cancel_on_signal(stop.clone()));
    let exited = tokio::select! {
        () = stop.cancelled() => None,
        exit = launched.any_exit() => Some(exit),
    };
    watching.abort();
    launched.stop().await;
    match exited {
        None => Ok(()),
        Some((roles, status)) => {
            bail!("the {roles} process exited ({status:?}); stopped the others")
        }
    }
}
