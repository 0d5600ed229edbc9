//! The broker runs out of room: the NATS server's JetStream store is bounded
//! (`max_file_store`) and fills while payments, the consumer of orders' events, is away.
//! The stream then refuses orders' publishes; orders are still accepted, their events wait
//! in the outbox, and they flow once there is room again: when the consumer is back and
//! drains the stream, or when the broker comes back with a larger store.

use std::time::Duration;

use crate::load::{self, Load, Phase, Window};
use crate::nats::{self, series_value};
use crate::support::{poll_until, Module, Options, Shape, Topology};

/// Room for a few dozen events: the stream fills within a second of payments going away.
const SMALL_STORE: u64 = 16 * 1024;
const LARGE_STORE: u64 = 64 * 1024 * 1024;
const LOAD: Load = Load {
    clients: 4,
    max_requests: 1_500,
    max_duration: Duration::from_secs(40),
    pace: Duration::from_millis(50),
    read_payments: false,
};
/// How long the stream stays full, orders coming in all the while.
const FULL_FOR: Duration = Duration::from_secs(3);
const FILLS_WITHIN: Duration = Duration::from_secs(20);

/// Publishes of orders' relay that the broker did not confirm, so far.
async fn refused_publishes(app: &Topology) -> f64 {
    let metrics = app.process_of(Module::Orders).metrics().await;
    series_value(
        &metrics,
        "cleave_peer_requests_total{peer=\"nats\",outcome=\"unreachable\"}",
    )
}

/// Events of orders' outbox that the stream has not confirmed, as orders last counted them.
async fn waiting_in_the_outbox(app: &Topology) -> f64 {
    let metrics = app.process_of(Module::Orders).metrics().await;
    series_value(&metrics, "cleave_outbox_backlog{subscriber=\"payments\"}")
}

/// How room comes back.
#[derive(Debug, Clone, Copy)]
enum Room {
    /// Payments comes back and drains the stream, which keeps its small store.
    ConsumerBack,
    /// The broker is restarted with a larger store, the same store directory; payments
    /// comes back once orders' backlog is in the stream.
    LargerStore,
}

impl Room {
    async fn make(self, app: &Topology) {
        if let Room::LargerStore = self {
            app.broker().kill();
            app.broker().restart_with_store_limit(LARGE_STORE).await;
            poll_until(
                "orders' outbox to empty into the larger stream",
                Duration::from_secs(20),
                || async {
                    let waiting = waiting_in_the_outbox(app).await;
                    if waiting > 0.0 {
                        Err(format!("{waiting} events wait"))
                    } else {
                        Ok(())
                    }
                },
            )
            .await;
        }
        app.restart(Module::Payments).await;
    }
}

/// Starts the split on a broker with a small store and puts the load on it; takes payments
/// away until the stream is full and has stayed full for a while; then makes room. Prints
/// the row and audits.
async fn fill_the_stream_then(fault: &str, room: Room) {
    let options = Options {
        broker_max_file_store: Some(SMALL_STORE),
        ..Options::default()
    };
    let app = Topology::start_with(Shape::NatsSplit, &options).await;
    let ada = app.create_user("ada@example.com").await;

    let window = Window::default();
    let script = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        window.begins();
        app.kill(Module::Payments);
        poll_until(
            "the full stream to refuse orders' events",
            FILLS_WITHIN,
            || async {
                if refused_publishes(&app).await > 0.0 {
                    Ok(())
                } else {
                    Err("every publish confirmed".to_owned())
                }
            },
        )
        .await;
        tokio::time::sleep(FULL_FOR).await;
        let waiting = waiting_in_the_outbox(&app).await;
        room.make(&app).await;
        window.ends();
        waiting
    };
    let (tally, waiting) = LOAD.run(&app, ada, &window, script).await;

    load::audit(&app, fault, &tally).await;
    assert!(
        waiting > 0.0,
        "nothing waited in orders' outbox while the stream was full"
    );
    assert!(
        tally.succeeded(Some(Phase::During)) > 0,
        "no order was accepted while the stream was full"
    );
    assert!(
        tally.succeeded(Some(Phase::After)) > 0,
        "no order was accepted once there was room"
    );
    assert!(
        app.broker().log_text().contains("resource limits exceeded"),
        "the broker never said its store was full"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn nats_split_broker_full_drains_when_the_consumer_is_back() {
    if nats::available() {
        fill_the_stream_then("broker full, consumer back", Room::ConsumerBack).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn nats_split_broker_full_flows_once_restarted_with_room() {
    if nats::available() {
        fill_the_stream_then("broker full, restarted larger", Room::LargerStore).await;
    }
}
