//! Events through NATS JetStream: a real `nats-server -js` of the test's own, on a free
//! loopback port with its store in the test's directory. The `nats_split::<scenario>`
//! tests run every topology scenario with it, `buses` what every broker is held to; here,
//! the broker comes back on a new store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::daemon::Daemon;
use crate::support::{free_addr, id, poll_until, Shape, Topology};

const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// The `nats-server` binary: on `PATH`, or where Debian's package puts it.
fn binary() -> Option<PathBuf> {
    crate::support::installed("nats-server", "/usr/sbin")
}

/// Whether `nats-server` is installed. Where `CLEAVE_REQUIRE_NATS` is set (CI), a missing
/// one is a failure; elsewhere the NATS tests are skipped.
pub(crate) fn available() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    let found = *FOUND.get_or_init(|| binary().is_some());
    crate::support::found_or_skipped(found, "CLEAVE_REQUIRE_NATS", "nats-server is not installed")
}

/// A `nats-server -js` that can be killed and started again on the same port and store.
pub(crate) struct Broker {
    addr: SocketAddr,
    store: PathBuf,
    /// The configuration file, written anew at every start.
    config: PathBuf,
    server: Daemon,
}

impl Broker {
    /// Starts a broker keeping its store and log under `dir`, its JetStream store bounded
    /// by `max_file_store` bytes if given; waits until it accepts connections.
    pub(crate) async fn start(dir: PathBuf, max_file_store: Option<u64>) -> Self {
        std::fs::create_dir_all(&dir).expect("the broker's directory is created");
        let addr = free_addr();
        let broker = Self {
            addr,
            store: dir.join("store"),
            config: dir.join("nats-server.conf"),
            server: Daemon::new(format!("nats-server ({addr})"), dir.join("nats-server.log")),
        };
        broker.launch(max_file_store).await;
        broker
    }

    pub(crate) fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// The broker's log so far.
    pub(crate) fn log_text(&self) -> String {
        self.server.log_text()
    }

    /// Writes the configuration file: the server's limits have no command-line flag.
    fn configure(&self, max_file_store: Option<u64>) {
        let limit = max_file_store.map_or(String::new(), |bytes| {
            format!("  max_file_store: {bytes}\n")
        });
        let config = format!(
            "listen: \"{}\"\njetstream {{\n  store_dir: {:?}\n{limit}}}\n",
            self.addr,
            self.store.to_str().expect("temporary paths are UTF-8"),
        );
        std::fs::write(&self.config, config).expect("the broker's configuration is written");
    }

    async fn launch(&self, max_file_store: Option<u64>) {
        self.configure(max_file_store);
        self.server.spawn(
            Command::new(binary().expect("nats-server is installed"))
                .arg("-c")
                .arg(&self.config),
        );
        poll_until(
            "nats-server to accept connections",
            READY_TIMEOUT,
            || async {
                tokio::net::TcpStream::connect(self.addr)
                    .await
                    .map(drop)
                    .map_err(|err| err.to_string())
            },
        )
        .await;
    }

    /// SIGKILL, as in a crash: whatever the broker had not written is lost with it.
    pub(crate) fn kill(&self) {
        self.server.kill();
    }

    /// Deletes the broker's store, as when it is moved to a new volume; only while it is down.
    pub(crate) fn remove_store(&self) {
        assert!(!self.server.running(), "the broker is running");
        std::fs::remove_dir_all(&self.store).expect("the broker's store is removed");
    }

    /// Starts the broker again, same port and store, its store unbounded.
    pub(crate) async fn restart(&self) {
        self.launch(None).await;
    }

    /// Publishes a message that is no envelope on the subject payments consumes.
    pub(crate) async fn add_undecodable(&self) {
        let client = async_nats::connect(self.url())
            .await
            .expect("the test connects to the broker");
        async_nats::jetstream::new(client)
            .publish(
                "cleave.events.payments.orders.order_placed",
                "not an envelope".into(),
            )
            .await
            .expect("the message is sent")
            .await
            .expect("the stream stores it");
    }

    /// Starts the broker again, same port and store, its store bounded by `max_file_store`.
    pub(crate) async fn restart_with_store_limit(&self, max_file_store: u64) {
        self.launch(Some(max_file_store)).await;
    }
}

/// The value of a series (a counter or a gauge) in a Prometheus exposition, 0 when absent.
pub(crate) fn series_value(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .filter_map(|line| line.strip_prefix(series))
        .filter_map(|rest| rest.trim().parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn nats_split_broker_on_a_new_store_gets_the_stream_again() {
    if !available() {
        return;
    }
    let app = Topology::start(Shape::NatsSplit).await;
    let ada = app.create_user("ada@example.com").await;
    let first = id(&app.place_order(ada, &[("BOOK-1", 1, 1999)]).await);
    app.assert_all_paid_once(&[first]).await;

    // Every event was consumed: the new store lacks nothing but the stream and consumers.
    app.broker().kill();
    app.broker().remove_store();
    app.broker().restart().await;

    let second = id(&app.place_order(ada, &[("BOOK-2", 1, 1999)]).await);
    app.assert_all_paid_once(&[first, second]).await;
}
