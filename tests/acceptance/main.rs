//! Acceptance tests: the built `cleave` binary, started as real OS processes on loopback
//! ports, driven only through its public HTTP API, its signals and its command line.
//!
//! Most scenarios run against seven topologies, one test each: `all_in_one::<scenario>`
//! (one process), `split::<scenario>` (gateway, users, orders, payments and shipping
//! processes), `mixed::<scenario>` (`gateway,users,orders` + `payments,shipping`) and
//! `containers::<scenario>` (the split shape as a container of the image per process,
//! talking by name on a bridge network; run where a Docker engine answers), `postgres_all_in_one::<scenario>` and
//! `postgres_split::<scenario>` (the first two with every module in a PostgreSQL database
//! of a throwaway cluster; run where PostgreSQL 15 is installed),
//! `nats_split::<scenario>`, `redis_split::<scenario>`, `rabbitmq_split::<scenario>` and
//! `kafka_split::<scenario>` (the split shape with events carried by a real
//! `nats-server -js`, `redis-server`, RabbitMQ node or `tansu` Kafka broker the test
//! starts; run where it is installed) and `grpc_split::<scenario>`
//! (the split shape with modules calling each other and delivering events over gRPC,
//! `--transport grpc`). The product promises the same behaviour in every shape, so the
//! same scenario must pass in all eleven.

mod audit;
mod balance;
mod broker_full;
mod browser;
mod buses;
mod chaos;
mod cli;
mod committed;
mod contract;
mod daemon;
mod deployment;
mod docker;
mod fault_switch;
mod faults;
mod flows;
mod generated_client;
mod grpcio;
mod hops;
mod hostile;
mod image;
mod inputs;
mod internal;
mod kafka;
mod load;
mod manifests;
mod metrics;
mod nats;
mod partition;
mod postgres;
mod rabbitmq;
mod redis;
mod replicas;
mod storage;
mod stub;
mod support;
mod telemetry;

/// Generates `all_in_one::$scenario`, `split::$scenario`, `mixed::$scenario`,
/// `containers::$scenario`, `postgres_all_in_one::$scenario`, `postgres_split::$scenario`,
/// `nats_split::$scenario`, `redis_split::$scenario`, `rabbitmq_split::$scenario`,
/// `kafka_split::$scenario` and `grpc_split::$scenario`, each calling `$theme::$scenario(Shape::…)`.
macro_rules! in_every_topology {
    ($($theme:ident::$scenario:ident),+ $(,)?) => {
        in_every_topology!(@shape all_in_one, AllInOne, $($theme::$scenario),+);
        in_every_topology!(@shape split, Split, $($theme::$scenario),+);
        in_every_topology!(@shape mixed, Mixed, $($theme::$scenario),+);
        in_every_topology!(@shape containers, Containers, $($theme::$scenario),+);
        in_every_topology!(@shape postgres_all_in_one, PostgresAllInOne, $($theme::$scenario),+);
        in_every_topology!(@shape postgres_split, PostgresSplit, $($theme::$scenario),+);
        in_every_topology!(@shape nats_split, NatsSplit, $($theme::$scenario),+);
        in_every_topology!(@shape grpc_split, GrpcSplit, $($theme::$scenario),+);
        in_every_topology!(@shape redis_split, RedisSplit, $($theme::$scenario),+);
        in_every_topology!(@shape rabbitmq_split, RabbitmqSplit, $($theme::$scenario),+);
        in_every_topology!(@shape kafka_split, KafkaSplit, $($theme::$scenario),+);
    };
    (@shape $module:ident, $shape:ident, $($theme:ident::$scenario:ident),+) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $scenario() {
                    use crate::support::Shape;
                    let shape = Shape::$shape;
                    let runs_here = match shape {
                        Shape::Containers => crate::docker::available(),
                        _ if shape.on_postgres() => crate::postgres::cluster().is_some(),
                        _ => crate::buses::available(shape),
                    };
                    if runs_here {
                        crate::$theme::$scenario(shape).await;
                    }
                }
            )+
        }
    };
}

in_every_topology!(
    flows::order_is_paid,
    flows::order_over_the_limit_fails,
    flows::idempotency_key_places_one_order,
    flows::users_are_paged_with_a_cursor,
    inputs::bad_inputs_are_problems,
    inputs::missing_fields_are_named,
    faults::payments_killed_while_orders_keep_coming,
    faults::orders_killed_mid_stream,
);
