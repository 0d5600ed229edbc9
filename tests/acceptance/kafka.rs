//! Events through Kafka: a real Kafka-protocol broker of the test's own, `tansu` (a broker
//! written in Rust, `cargo install tansu --locked --features libsql`), on a free loopback
//! port, its store a SQLite file in the test's directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rskafka::client::partition::{Compression, OffsetAt, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::Record;

use crate::daemon::Daemon;
use crate::support::{free_addr, poll_until};

const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Where payments reads what orders publishes.
const ORDERS_TO_PAYMENTS: &str = "cleave.events.orders.payments";

/// The `tansu` binary: on `PATH`, or where `cargo install` puts it.
fn binary() -> Option<PathBuf> {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .map(|home| home.join("bin"))
        .unwrap_or_default();
    crate::support::installed("tansu", &cargo_bin.to_string_lossy())
}

/// Whether `tansu` is installed. Where `CLEAVE_REQUIRE_KAFKA` is set (CI), a missing one is
/// a failure; elsewhere the Kafka tests are skipped.
pub(crate) fn available() -> bool {
    static FOUND: OnceLock<bool> = OnceLock::new();
    let found = *FOUND.get_or_init(|| binary().is_some());
    crate::support::found_or_skipped(
        found,
        "CLEAVE_REQUIRE_KAFKA",
        "tansu (a Kafka-protocol broker) is not installed",
    )
}

/// A broker that can be killed and started again on the same port and store.
pub(crate) struct Server {
    addr: SocketAddr,
    dir: PathBuf,
    server: Daemon,
}

impl Server {
    /// Starts a broker keeping its store and log under `dir`; waits until it answers.
    pub(crate) async fn start(dir: PathBuf) -> Self {
        std::fs::create_dir_all(&dir).expect("the broker's directory is created");
        let addr = free_addr();
        let server = Self {
            addr,
            server: Daemon::new(format!("tansu ({addr})"), dir.join("tansu.log")),
            dir,
        };
        server.launch().await;
        server
    }

    pub(crate) fn url(&self) -> String {
        format!("kafka://{}", self.addr)
    }

    async fn launch(&self) {
        let listener = format!("tcp://{}", self.addr);
        // The store's path is taken from the working directory.
        self.server.spawn(
            Command::new(binary().expect("tansu is installed"))
                .current_dir(&self.dir)
                .arg("broker")
                .args(["--listener-url", &listener])
                .args(["--advertised-listener-url", &listener])
                .args(["--storage-engine", "sqlite://tansu.db"]),
        );
        poll_until("tansu to answer", READY_TIMEOUT, || async {
            let client = self.client().await?;
            client.list_topics().await.map_err(|err| err.to_string())
        })
        .await;
    }

    /// A client of the test's own.
    async fn client(&self) -> Result<Arc<Client>, String> {
        ClientBuilder::new(vec![self.addr.to_string()])
            .build()
            .await
            .map(Arc::new)
            .map_err(|err| err.to_string())
    }

    /// SIGKILL, as in a crash.
    pub(crate) fn kill(&self) {
        self.server.kill();
    }

    /// Starts the broker again, same port and store.
    pub(crate) async fn restart(&self) {
        self.launch().await;
    }

    /// Produces a record that is no envelope where payments reads orders' events.
    pub(crate) async fn add_undecodable(&self) {
        let client = self.client().await.expect("the test connects");
        let partition = client
            .partition_client(ORDERS_TO_PAYMENTS, 0, UnknownTopicHandling::Retry)
            .await
            .expect("the topic exists");
        let record = Record {
            key: None,
            value: Some(b"not an envelope".to_vec()),
            headers: Default::default(),
            timestamp: rskafka::chrono::Utc::now(),
        };
        partition
            .produce(vec![record], Compression::NoCompression)
            .await
            .expect("the record is produced");
    }

    /// The values of the records moved to the dead letters of what payments reads from
    /// orders.
    pub(crate) async fn dead_letters(&self) -> Result<Vec<Vec<u8>>, String> {
        let client = self.client().await?;
        let partition = client
            .partition_client(
                format!("{ORDERS_TO_PAYMENTS}.undecodable"),
                0,
                UnknownTopicHandling::Error,
            )
            .await
            .map_err(|err| err.to_string())?;
        let start = partition
            .get_offset(OffsetAt::Earliest)
            .await
            .map_err(|err| err.to_string())?;
        let (records, _) = partition
            .fetch_records(start, 1..1_000_000, 100)
            .await
            .map_err(|err| err.to_string())?;
        Ok(records
            .into_iter()
            .map(|record| record.record.value.unwrap_or_default())
            .collect())
    }
}

/// Payments, SIGKILLed and started again, resumes from the place its database keeps: it
/// applies the next order's event and reads none of those it had applied again.
#[tokio::test(flavor = "multi_thread")]
async fn kafka_split_a_restarted_consumer_resumes_from_its_place() {
    use crate::nats::series_value;
    use crate::support::{id, Module, Shape, Topology};

    if !available() {
        return;
    }
    let app = Topology::start(Shape::KafkaSplit).await;
    let ada = app.create_user("ada@example.com").await;
    let mut orders = Vec::new();
    for n in 0..5 {
        let sku = format!("BOOK-{n}");
        orders.push(id(&app.place_order(ada, &[(&sku, 1, 1999)]).await));
    }
    app.assert_all_paid_once(&orders).await;

    app.kill(Module::Payments);
    app.restart(Module::Payments).await;
    orders.push(id(&app.place_order(ada, &[("BOOK-5", 1, 1999)]).await));
    app.assert_all_paid_once(&orders).await;

    let metrics = app.process_of(Module::Payments).metrics().await;
    let applied = series_value(
        &metrics,
        "cleave_events_delivered_total{subscriber=\"payments\"}",
    );
    let again = series_value(
        &metrics,
        "cleave_events_deduplicated_total{consumer=\"payments\"}",
    );
    assert_eq!(applied, 1.0, "{metrics}");
    assert_eq!(again, 0.0, "{metrics}");
}
