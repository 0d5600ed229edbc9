//! Two processes of a module on one PostgreSQL database: both serve, both run a relay, and
//! one of each killed with SIGKILL mid-stream loses nothing and doubles nothing, however
//! many writers commit at once.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use tempfile::TempDir;
use uuid::Uuid;

use crate::support::{
    free_addr, http_client, id, order_body, poll_until, Module, Process, Reply, Shape, Topology,
};
use crate::{audit, postgres};

const CLIENTS: usize = 4;
const RUN_FOR: Duration = Duration::from_secs(4);
const KILL_AFTER: Duration = Duration::from_millis(1_200);
const PACE: Duration = Duration::from_millis(20);
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the clients saw.
#[derive(Default)]
struct Outcome {
    accepted: Vec<Uuid>,
    accepted_by_first: usize,
    unexpected: Vec<String>,
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_killed_mid_stream_settle_every_order_once() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let database = cluster.create_database();
    let dir = TempDir::new().expect("a temporary directory");
    let [users, orders_1, orders_2, payments_1, payments_2, gateway]: [SocketAddr; 6] =
        std::array::from_fn(|_| free_addr());
    let url = |addr: SocketAddr| format!("http://{addr}");

    // Each orders process delivers OrderPlaced to "its" payments process, and each payments
    // process its outcomes to "its" orders process: whichever replica holds a cursor
    // delivers, and the pair killed together leaves the other pair to take over.
    let start = |label: &'static str,
                 role: &str,
                 addr: SocketAddr,
                 orders: SocketAddr,
                 payments: SocketAddr| {
        let args = vec![
            format!("--role={role}"),
            "--database-url".to_owned(),
            database.url(),
            "--users-url".to_owned(),
            url(users),
            "--orders-url".to_owned(),
            url(orders),
            "--payments-url".to_owned(),
            url(payments),
        ];
        Process::start(label, addr, args, dir.path().join(format!("{label}.log")))
    };
    let _users = start("users", "users", users, orders_2, payments_2).await;
    let first_orders = start("orders-1", "orders", orders_1, orders_1, payments_1).await;
    let _second_orders = start("orders-2", "orders", orders_2, orders_2, payments_2).await;
    let first_payments = start("payments-1", "payments", payments_1, orders_1, payments_1).await;
    let _second_payments = start("payments-2", "payments", payments_2, orders_2, payments_2).await;
    let gateway_process = start("gateway", "gateway", gateway, orders_2, payments_2).await;

    let http = http_client();
    let user = http
        .post(format!("{}/users", gateway_process.url()))
        .json(&json!({"email": "ada@example.com", "name": "Ada"}))
        .send()
        .await
        .expect("the gateway answers");
    let user = Reply::read(user).await.expect("a reply");
    user.assert_status(StatusCode::CREATED);
    let ada = id(&user.body);

    let killed = AtomicBool::new(false);
    let started = Instant::now();
    let client = |n: usize| {
        let (http, killed) = (&http, &killed);
        let (first, second) = (url(orders_1), url(orders_2));
        async move {
            let mut outcome = Outcome::default();
            let sku = format!("CLIENT-{n}");
            let mut turn = n;
            while started.elapsed() < RUN_FOR {
                turn += 1;
                // Alternate between the replicas while both live.
                let to_first = turn.is_multiple_of(2) && !killed.load(Ordering::SeqCst);
                let base = if to_first { &first } else { &second };
                let sent = http
                    .post(format!("{base}/orders"))
                    .json(&order_body(ada, &[(&sku, 1, 500)]))
                    .send()
                    .await;
                let reply = match sent {
                    Ok(response) => Reply::read(response).await,
                    Err(err) => Err(err),
                };
                match reply {
                    Ok(reply) if reply.status == StatusCode::CREATED => {
                        outcome.accepted.push(id(&reply.body));
                        outcome.accepted_by_first += usize::from(to_first);
                    }
                    Ok(reply) => outcome.unexpected.push(reply.to_string()),
                    // The replica was killed under this request: the order may or may not
                    // exist, and the next one goes to the other replica.
                    Err(_) if to_first => {}
                    Err(err) => outcome.unexpected.push(err.to_string()),
                }
                tokio::time::sleep(PACE).await;
            }
            outcome
        }
    };
    let crash = async {
        tokio::time::sleep(KILL_AFTER).await;
        killed.store(true, Ordering::SeqCst);
        first_orders.kill();
        first_payments.kill();
    };
    let (outcomes, ()) = futures::join!(join_all((0..CLIENTS).map(client)), crash);

    let unexpected: Vec<&String> = outcomes.iter().flat_map(|o| &o.unexpected).collect();
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:#?}");
    let by_first: usize = outcomes.iter().map(|o| o.accepted_by_first).sum();
    assert!(by_first > 0, "the first orders replica placed no order");
    let accepted: HashSet<Uuid> = outcomes.iter().flat_map(|o| o.accepted.clone()).collect();

    // Every order in the database, including any whose answer the kill cut off, settles
    // paid with exactly one payment.
    let listed: HashSet<Uuid> = database
        .query("SELECT id FROM orders.orders")
        .lines()
        .map(|line| Uuid::parse_str(line).expect("an order id"))
        .collect();
    assert!(
        accepted.is_subset(&listed),
        "an order got a 201, then was lost"
    );
    poll_until("every order to be paid", SETTLE_TIMEOUT, || async {
        let pending = database.query("SELECT count(*) FROM orders.orders WHERE status <> 'paid'");
        match pending.as_str() {
            "0" => Ok(()),
            _ => Err(format!("{pending} of {} orders not paid", listed.len())),
        }
    })
    .await;
    let count = listed.len();
    let payments = database.query(
        "SELECT count(*), count(DISTINCT order_id), count(*) FILTER (WHERE status = 'authorized') \
         FROM payments.payments",
    );
    assert_eq!(
        payments,
        format!("{count}|{count}|{count}"),
        "payments of {count} orders"
    );
    // Each OrderPlaced applied once, each outcome applied once.
    let applied = database.query(
        "SELECT (SELECT count(*) FROM payments.inbox) || '|' || (SELECT count(*) FROM orders.inbox)",
    );
    assert_eq!(applied, format!("{count}|{count}"), "events applied");

    // The public API tells the same story through the surviving processes.
    for order_id in listed.iter().take(20) {
        let reply = http
            .get(format!(
                "{}/payments?order_id={order_id}",
                gateway_process.url()
            ))
            .send()
            .await
            .expect("the gateway answers");
        let reply = Reply::read(reply).await.expect("a reply");
        reply.assert_status(StatusCode::OK);
        let data = reply.body["data"].as_array().expect("a list");
        assert_eq!(data.len(), 1, "payments of {order_id}: {reply}");
    }
}

const WRITERS: usize = 16;
const ORDERS_PER_WRITER: usize = 60;
const WRITE_FOR: Duration = Duration::from_secs(10);
const KILLS: usize = 2;
const KILL_EVERY: Duration = Duration::from_millis(1_000);
const DOWN_FOR: Duration = Duration::from_millis(300);

/// Many writers at once on two orders replicas sharing one PostgreSQL schema, with no lock
/// between their transactions, both relays racing for the cursor, and one replica
/// SIGKILLed twice mid-stream and started again. A relay that passed a transaction still
/// open would leave its order pending for good: the audit finds every order settled, each
/// `OrderPlaced` applied once.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writers_on_two_replicas_skip_no_event() {
    if postgres::cluster().is_none() {
        return;
    }
    let app = Topology::start(Shape::PostgresSplit).await;
    let first = app.process_of(Module::Orders);
    let second = first.replica("orders-2", free_addr()).await;
    let ada = app.create_user("ada@example.com").await;

    let http = http_client();
    let killed = AtomicBool::new(false);
    let started = Instant::now();
    let writer = |n: usize| {
        let (http, killed, first, second) = (&http, &killed, first.url(), second.url());
        async move {
            let mut outcome = Outcome::default();
            let sku = format!("WRITER-{n}");
            for turn in 0..ORDERS_PER_WRITER {
                if started.elapsed() >= WRITE_FOR {
                    break;
                }
                let to_first = (n + turn).is_multiple_of(2) && !killed.load(Ordering::SeqCst);
                let base = if to_first { &first } else { &second };
                let sent = http
                    .post(format!("{base}/orders"))
                    .json(&order_body(ada, &[(&sku, 1, 500)]))
                    .send()
                    .await;
                let reply = match sent {
                    Ok(response) => Reply::read(response).await,
                    Err(err) => Err(err),
                };
                match reply {
                    Ok(reply) if reply.status == StatusCode::CREATED => {
                        outcome.accepted.push(id(&reply.body));
                        outcome.accepted_by_first += usize::from(to_first);
                    }
                    Ok(reply) => outcome.unexpected.push(reply.to_string()),
                    // Killed under this request: the order may or may not exist; the audit
                    // settles it either way.
                    Err(_) if to_first => {}
                    Err(err) => outcome.unexpected.push(err.to_string()),
                }
            }
            outcome
        }
    };
    let crash = async {
        for _ in 0..KILLS {
            tokio::time::sleep(KILL_EVERY).await;
            killed.store(true, Ordering::SeqCst);
            first.kill();
            tokio::time::sleep(DOWN_FOR).await;
            first.restart().await;
            killed.store(false, Ordering::SeqCst);
        }
    };
    let (outcomes, ()) = futures::join!(join_all((0..WRITERS).map(writer)), crash);

    let unexpected: Vec<&String> = outcomes.iter().flat_map(|o| &o.unexpected).collect();
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:#?}");
    let by_first: usize = outcomes.iter().map(|o| o.accepted_by_first).sum();
    assert!(by_first > 0, "the first orders replica placed no order");
    let accepted: Vec<Uuid> = outcomes.iter().flat_map(|o| o.accepted.clone()).collect();
    assert!(
        accepted.len() > by_first,
        "the second orders replica placed no order"
    );
    let audited = audit::assert_exactly_once(&app, &accepted).await;
    println!("{} acknowledged: {audited}", accepted.len());
}
