//! Events through Redis Streams: a real `redis-server` of the test's own, on a free
//! loopback port, its append-only file in the test's directory, written to disk before
//! every answer (`appendfsync always`), as the README asks of a production server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use redis::AsyncCommands;

use crate::daemon::Daemon;
use crate::support::{free_addr, poll_until};

const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// The `redis-server` binary: on `PATH`, or where Debian's package puts it.
fn binary() -> Option<PathBuf> {
    crate::support::installed("redis-server", "/usr/bin")
}

/// Whether `redis-server` is installed. Where `CLEAVE_REQUIRE_REDIS` is set (CI), a missing
/// one is a failure; elsewhere the Redis tests are skipped.
pub(crate) fn available() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    let found = *FOUND.get_or_init(|| binary().is_some());
    crate::support::found_or_skipped(
        found,
        "CLEAVE_REQUIRE_REDIS",
        "redis-server is not installed",
    )
}

/// A `redis-server` that can be killed and started again on the same port and store.
pub(crate) struct Server {
    addr: SocketAddr,
    store: PathBuf,
    server: Daemon,
}

impl Server {
    /// Starts a server keeping its store and log under `dir`; waits until it answers.
    pub(crate) async fn start(dir: PathBuf) -> Self {
        let store = dir.join("store");
        std::fs::create_dir_all(&store).expect("the server's directory is created");
        let addr = free_addr();
        let server = Self {
            addr,
            store,
            server: Daemon::new(
                format!("redis-server ({addr})"),
                dir.join("redis-server.log"),
            ),
        };
        server.launch().await;
        server
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    async fn launch(&self) {
        self.server.spawn(
            Command::new(binary().expect("redis-server is installed"))
                .args(["--bind", "127.0.0.1", "--port"])
                .arg(self.addr.port().to_string())
                .arg("--dir")
                .arg(&self.store)
                .args([
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "always",
                    "--save",
                    "",
                ]),
        );
        poll_until("redis-server to answer", READY_TIMEOUT, || async {
            let mut connection = self.connection().await?;
            let pong: String = redis::cmd("PING")
                .query_async(&mut connection)
                .await
                .map_err(|err| err.to_string())?;
            Ok(pong)
        })
        .await;
    }

    /// A connection of the test's own.
    pub(crate) async fn connection(&self) -> Result<redis::aio::MultiplexedConnection, String> {
        let client = redis::Client::open(self.url()).map_err(|err| err.to_string())?;
        client
            .get_multiplexed_async_connection()
            .await
            .map_err(|err| err.to_string())
    }

    /// SIGKILL, as in a crash.
    pub(crate) fn kill(&self) {
        self.server.kill();
    }

    /// Starts the server again, same port and store.
    pub(crate) async fn restart(&self) {
        self.launch().await;
    }

    /// Adds an entry that is no envelope to the stream payments reads orders' events from.
    pub(crate) async fn add_undecodable(&self) {
        let mut connection = self.connection().await.expect("the test connects");
        let _id: String = connection
            .xadd(
                "cleave:events:orders:payments",
                "*",
                &[("envelope", "not an envelope")],
            )
            .await
            .expect("the entry is added");
    }
}
