//! What every broker is held to, each a real server the test starts on a free loopback
//! port with its own store: killed with SIGKILL and started again on the same store while
//! orders keep coming; absent while the modules start; the modules stopped with SIGTERM;
//! and a message no module wrote, handed back without holding anything up. The
//! `<broker>_split::<scenario>` tests run each one with NATS JetStream, Redis Streams,
//! RabbitMQ and Kafka; the topology scenarios run with each in `main.rs`.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::nats::{self, series_value};
use crate::support::{http_client, id, poll_until, Module, Options, Shape, Topology};
use crate::{kafka, rabbitmq, redis};

/// The broker of a shape that carries events through one.
pub(crate) enum Server {
    Nats(nats::Broker),
    Redis(redis::Server),
    Rabbitmq(rabbitmq::Server),
    Kafka(kafka::Server),
}

/// Whether the broker of `shape`, if it has one, is installed here (see each broker's
/// `available`: in CI a missing one fails).
pub(crate) fn available(shape: Shape) -> bool {
    match shape {
        Shape::NatsSplit => nats::available(),
        Shape::RedisSplit => redis::available(),
        Shape::RabbitmqSplit => rabbitmq::available(),
        Shape::KafkaSplit => kafka::available(),
        _ => true,
    }
}

impl Server {
    /// Starts the broker of `shape`, if it has one, under `dir`.
    pub(crate) async fn start(shape: Shape, dir: &Path, options: &Options) -> Option<Self> {
        Some(match shape {
            Shape::NatsSplit => Self::Nats(
                nats::Broker::start(dir.join("nats"), options.broker_max_file_store).await,
            ),
            Shape::RedisSplit => Self::Redis(redis::Server::start(dir.join("redis")).await),
            Shape::RabbitmqSplit => {
                Self::Rabbitmq(rabbitmq::Server::start(dir.join("rabbitmq")).await)
            }
            Shape::KafkaSplit => Self::Kafka(kafka::Server::start(dir.join("kafka")).await),
            _ => return None,
        })
    }

    /// What the processes get as `--event-bus`.
    pub(crate) fn url(&self) -> String {
        match self {
            Self::Nats(broker) => broker.url(),
            Self::Redis(server) => server.url(),
            Self::Rabbitmq(server) => server.url(),
            Self::Kafka(server) => server.url(),
        }
    }

    /// SIGKILL, as in a crash.
    pub(crate) fn kill(&self) {
        match self {
            Self::Nats(broker) => broker.kill(),
            Self::Redis(server) => server.kill(),
            Self::Rabbitmq(server) => server.kill(),
            Self::Kafka(server) => server.kill(),
        }
    }

    /// Starts the broker again, same port and store.
    pub(crate) async fn restart(&self) {
        match self {
            Self::Nats(broker) => broker.restart().await,
            Self::Redis(server) => server.restart().await,
            Self::Rabbitmq(server) => server.restart().await,
            Self::Kafka(server) => server.restart().await,
        }
    }

    /// Puts a message that is no envelope where payments reads orders' events.
    async fn add_undecodable(&self) {
        match self {
            Self::Nats(broker) => broker.add_undecodable().await,
            Self::Redis(server) => server.add_undecodable().await,
            Self::Rabbitmq(server) => server.add_undecodable().await,
            Self::Kafka(server) => server.add_undecodable().await,
        }
    }
}

async fn broker_killed_while_orders_keep_coming(shape: Shape) {
    const ORDERS: usize = 60;
    const PACE: Duration = Duration::from_millis(40);
    let app = Topology::start(shape).await;
    let ada = app.create_user("ada@example.com").await;
    let placed = AtomicUsize::new(0);
    let started = Instant::now();

    let place = async {
        let mut orders = Vec::with_capacity(ORDERS);
        for n in 0..ORDERS {
            let sku = format!("BOOK-{n}");
            orders.push(id(&app.place_order(ada, &[(&sku, 1, 1999)]).await));
            placed.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(PACE).await;
        }
        orders
    };
    let crash = async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        app.bus().kill();
        let at_kill = placed.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let while_down = placed.load(Ordering::SeqCst) - at_kill;
        app.bus().restart().await;
        (while_down, Instant::now())
    };
    let (orders, (placed_while_down, back)) = futures::join!(place, crash);
    assert!(
        placed_while_down > 0,
        "no order was placed while the broker was down"
    );

    app.wait_all_settled(&orders).await;
    // Reported, not asserted: how long after the broker's return no order was pending.
    println!(
        "{shape:?}: all {ORDERS} orders settled {:.2} s after the broker was back ({:.2} s in all)",
        back.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    app.assert_all_paid_once(&orders).await;

    // The events went through the broker, not over the processes' internal routes.
    let http = http_client();
    for module in [Module::Orders, Module::Payments] {
        let url = format!("{}/metrics", app.process_of(module).url());
        let reply = http.get(&url).send().await.expect("/metrics answers");
        assert_eq!(reply.status(), StatusCode::OK);
        let text = reply.text().await.expect("/metrics reads");
        assert!(!text.contains("/internal/events"), "{text}");
        let applied = series_value(
            &text,
            &format!(
                "cleave_events_delivered_total{{subscriber=\"{}\"}}",
                module.name()
            ),
        );
        assert!(
            applied >= ORDERS as f64,
            "{} applied {applied} events for {ORDERS} orders:\n{text}",
            module.name()
        );
    }
}

async fn modules_start_while_the_broker_is_down(shape: Shape) {
    let app = Topology::start(shape).await;
    let ada = app.create_user("ada@example.com").await;
    app.bus().kill();
    for module in [Module::Orders, Module::Payments] {
        app.kill(module);
        app.restart(module).await;
    }

    let mut orders = Vec::new();
    for n in 0..5 {
        let sku = format!("BOOK-{n}");
        orders.push(id(&app.place_order(ada, &[(&sku, 1, 1999)]).await));
    }
    // Give the relay time to try, and fail, to publish.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for &order_id in &orders {
        let order = app.order(order_id).await;
        assert_eq!(
            order["status"], "pending",
            "settled without a broker: {order}"
        );
    }

    app.bus().restart().await;
    app.assert_all_paid_once(&orders).await;
}

async fn consumers_stop_gracefully_on_sigterm(shape: Shape) {
    let app = Topology::start(shape).await;
    let ada = app.create_user("ada@example.com").await;
    let first = id(&app.place_order(ada, &[("BOOK-1", 1, 1999)]).await);
    app.assert_all_paid_once(&[first]).await;

    // Both hold a consumer task (and a relay) that must end with the process.
    for module in [Module::Payments, Module::Orders] {
        let process = app.process_of(module);
        let status = process.terminate(Duration::from_secs(10)).await;
        assert!(
            status.success(),
            "SIGTERM ended {} with {status}",
            module.name()
        );
    }
    for module in [Module::Orders, Module::Payments] {
        app.restart(module).await;
    }
    let second = id(&app.place_order(ada, &[("BOOK-2", 1, 1999)]).await);
    app.assert_all_paid_once(&[first, second]).await;
}

async fn an_undecodable_event_is_kept_and_holds_up_nothing(shape: Shape) {
    let app = Topology::start(shape).await;
    let ada = app.create_user("ada@example.com").await;
    let first = id(&app.place_order(ada, &[("BOOK-1", 1, 1999)]).await);
    app.assert_all_paid_once(&[first]).await;

    app.bus().add_undecodable().await;
    let second = id(&app.place_order(ada, &[("BOOK-2", 1, 1999)]).await);
    app.assert_all_paid_once(&[first, second]).await;

    app.bus().assert_undecodable_kept(&app).await;
}

impl Server {
    /// That the message no module wrote is neither applied nor dropped.
    async fn assert_undecodable_kept(&self, app: &Topology) {
        if let Self::Kafka(server) = self {
            // A log cannot hand one record back: it is moved to the dead letters.
            poll_until(
                "the undecodable record to reach the dead letters",
                Duration::from_secs(15),
                || async {
                    let kept = server.dead_letters().await?;
                    if kept.iter().any(|value| value == b"not an envelope") {
                        Ok(())
                    } else {
                        Err(format!("dead letters: {kept:?}"))
                    }
                },
            )
            .await;
            return;
        }
        // Handed back, it keeps coming to payments.
        poll_until(
            "the undecodable event to be delivered again",
            Duration::from_secs(15),
            || async {
                let metrics = app.process_of(Module::Payments).metrics().await;
                let refused = series_value(
                    &metrics,
                    "cleave_events_rejected_total{consumer=\"payments\"}",
                );
                if refused >= 2.0 {
                    Ok(())
                } else {
                    Err(format!("refused {refused} times"))
                }
            },
        )
        .await;
    }
}

/// Generates `<broker>_split::<scenario>` for each broker, each calling `$scenario(shape)`
/// where the broker is installed.
macro_rules! with_every_broker {
    ($($scenario:ident),+ $(,)?) => {
        with_every_broker!(@shape nats_split, NatsSplit, $($scenario),+);
        with_every_broker!(@shape redis_split, RedisSplit, $($scenario),+);
        with_every_broker!(@shape rabbitmq_split, RabbitmqSplit, $($scenario),+);
        with_every_broker!(@shape kafka_split, KafkaSplit, $($scenario),+);
    };
    (@shape $module:ident, $shape:ident, $($scenario:ident),+) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    let shape = crate::support::Shape::$shape;
                    if super::available(shape) {
                        super::$scenario(shape).await;
                    }
                }
            )+
        }
    };
}

with_every_broker!(
    broker_killed_while_orders_keep_coming,
    modules_start_while_the_broker_is_down,
    consumers_stop_gracefully_on_sigterm,
    an_undecodable_event_is_kept_and_holds_up_nothing,
);
