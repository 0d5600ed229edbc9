//! Events through RabbitMQ: a real `rabbitmq-server` node of the test's own. Everything
//! that would make it share state with another node on the machine is its own: its node
//! name, data and log directories, AMQP and distribution ports, configuration file, the
//! `HOME` holding its Erlang cookie, and an `epmd` (the Erlang port mapper) on a port of its
//! own, started by the test as its child. Everything listens on loopback.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Connection, ConnectionProperties};

use crate::daemon::Daemon;
use crate::support::{free_addr, poll_until};

/// An Erlang node takes seconds to boot, more on a loaded machine.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Debian's script that runs the node in the foreground.
const SERVER: &str = "/usr/lib/rabbitmq/bin/rabbitmq-server";

/// `epmd`: on `PATH`, or where Debian's `erlang-base` puts it.
fn epmd() -> Option<PathBuf> {
    crate::support::installed("epmd", "/usr/bin")
}

/// Whether `rabbitmq-server` is installed. Where `CLEAVE_REQUIRE_RABBITMQ` is set (CI), a
/// missing one is a failure; elsewhere the RabbitMQ tests are skipped.
pub(crate) fn available() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    let found = *FOUND.get_or_init(|| Path::new(SERVER).is_file() && epmd().is_some());
    crate::support::found_or_skipped(
        found,
        "CLEAVE_REQUIRE_RABBITMQ",
        "rabbitmq-server is not installed",
    )
}

/// A RabbitMQ node that can be killed and started again on the same ports and store.
pub(crate) struct Server {
    dir: PathBuf,
    addr: SocketAddr,
    dist_port: u16,
    epmd_port: u16,
    /// Declared before `epmd`, so that it is stopped first.
    node: Daemon,
    epmd: Daemon,
}

impl Server {
    /// Starts a node keeping its store and logs under `dir`; waits until it accepts AMQP
    /// connections.
    pub(crate) async fn start(dir: PathBuf) -> Self {
        for sub in ["home", "mnesia", "log"] {
            std::fs::create_dir_all(dir.join(sub)).expect("the node's directories are made");
        }
        let cookie = dir.join("home/.erlang.cookie");
        std::fs::write(&cookie, "cleave-acceptance-cookie").expect("the cookie is written");
        // Erlang refuses a cookie others may read.
        std::fs::set_permissions(&cookie, std::fs::Permissions::from_mode(0o400))
            .expect("the cookie is made private");
        let addr = free_addr();
        std::fs::write(
            dir.join("rabbitmq.conf"),
            // The node logs to its standard output, which goes to the test's log file.
            format!("listeners.tcp.default = {addr}\nlog.file = false\nlog.console = true\n"),
        )
        .expect("the node's configuration is written");
        let server = Self {
            node: Daemon::new(
                format!("rabbitmq-server ({addr})"),
                dir.join("rabbitmq-server.log"),
            ),
            epmd: Daemon::new(format!("epmd of {addr}"), dir.join("epmd.log")),
            addr,
            dist_port: free_addr().port(),
            epmd_port: free_addr().port(),
            dir,
        };
        server.start_epmd();
        server.launch().await;
        server
    }

    pub(crate) fn url(&self) -> String {
        format!("amqp://guest:guest@{}/%2f", self.addr)
    }

    /// The port mapper the node registers with; it outlives restarts of the node.
    fn start_epmd(&self) {
        self.epmd.spawn(
            Command::new(epmd().expect("epmd is installed"))
                .env("ERL_EPMD_PORT", self.epmd_port.to_string())
                .env("ERL_EPMD_ADDRESS", "127.0.0.1"),
        );
    }

    async fn launch(&self) {
        let dir = |sub: &str| self.dir.join(sub);
        self.node.spawn(
            Command::new(SERVER)
                .env("HOME", dir("home"))
                .env("ERL_EPMD_PORT", self.epmd_port.to_string())
                .env(
                    "RABBITMQ_NODENAME",
                    format!("cleave-{}@localhost", self.addr.port()),
                )
                .env("RABBITMQ_MNESIA_BASE", dir("mnesia"))
                .env("RABBITMQ_LOG_BASE", dir("log"))
                .env("RABBITMQ_NODE_PORT", self.addr.port().to_string())
                .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
                .env("RABBITMQ_CONFIG_FILE", dir("rabbitmq.conf"))
                .env("RABBITMQ_ENABLED_PLUGINS_FILE", dir("enabled_plugins"))
                .env("RABBITMQ_PID_FILE", dir("rabbitmq.pid"))
                .env(
                    "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                    "-kernel inet_dist_use_interface {127,0,0,1}",
                )
                // The script then replaces itself with the Erlang VM instead of running it as a
                // child: the process the test kills is the broker itself.
                .env("RUNNING_UNDER_SYSTEMD", "1"),
        );
        poll_until("RabbitMQ to accept connections", READY_TIMEOUT, || async {
            let connection = self.connection().await?;
            connection
                .close(0, "ready".into())
                .await
                .map_err(|err| err.to_string())
        })
        .await;
    }

    /// A connection of the test's own. A node that is still booting may accept the TCP
    /// connection and answer nothing: the attempt is then given up, to try again.
    async fn connection(&self) -> Result<Connection, String> {
        let url = self.url();
        let connect = Connection::connect(&url, ConnectionProperties::default());
        match tokio::time::timeout(Duration::from_secs(5), connect).await {
            Ok(connected) => connected.map_err(|err| err.to_string()),
            Err(_) => Err("no answer within 5 s".to_owned()),
        }
    }

    /// SIGKILL, as in a crash.
    pub(crate) fn kill(&self) {
        self.node.kill();
    }

    /// Starts the node again, same ports and store.
    pub(crate) async fn restart(&self) {
        self.launch().await;
    }

    /// Publishes a message that is no envelope where payments reads orders' events.
    pub(crate) async fn add_undecodable(&self) {
        let connection = self.connection().await.expect("the test connects");
        let channel = connection.create_channel().await.expect("a channel opens");
        channel
            .confirm_select(lapin::options::ConfirmSelectOptions::default())
            .await
            .expect("confirm mode");
        let confirm = channel
            .basic_publish(
                "cleave.events".into(),
                "payments.orders.order_placed".into(),
                BasicPublishOptions {
                    mandatory: true,
                    ..BasicPublishOptions::default()
                },
                b"not an envelope",
                BasicProperties::default().with_delivery_mode(2),
            )
            .await
            .expect("the message is sent")
            .await
            .expect("the broker answers");
        assert!(
            matches!(confirm, lapin::Confirmation::Ack(None)),
            "the queue did not take the message: {confirm:?}"
        );
        let _closed = connection.close(0, "done".into()).await;
    }
}
