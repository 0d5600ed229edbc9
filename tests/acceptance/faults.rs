//! Processes that die, hard or gently: nothing committed is lost, nothing is charged
//! twice, and a module that is away makes requests fail fast with 503.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use uuid::Uuid;

use crate::audit;
use crate::support::{id, order_body, Module, Shape, Topology};

/// A refused connection is known at once; this is far below the 5 s peer timeout.
const PROMPT: Duration = Duration::from_secs(2);
/// How long orders stays dead in `orders_killed_mid_stream`: longer than the 2 s a call
/// may wait to connect.
const DOWN_FOR: Duration = Duration::from_millis(2500);

pub(crate) async fn payments_killed_while_orders_keep_coming(shape: Shape) {
    let app = Topology::start(shape).await;
    let ada = app.create_user("ada@example.com").await;
    let books = [("BOOK-1", 2, 1999)];

    let mut orders = Vec::new();
    if shape.one_process() {
        // One process: kill it with the last order just committed and its payments in flight.
        for _ in 0..20 {
            orders.push(id(&app.place_order(ada, &books).await));
        }
        app.kill(Module::Payments);
    } else {
        app.kill(Module::Payments);
        // Placing an order needs only users and orders.
        for _ in 0..20 {
            orders.push(id(&app.place_order(ada, &books).await));
        }
        let payments = app.get(&format!("/payments?order_id={}", orders[0])).await;
        payments.assert_problem(StatusCode::SERVICE_UNAVAILABLE, None);
        // Give the relay time to try, and fail, to deliver.
        tokio::time::sleep(Duration::from_millis(500)).await;
        for &order_id in &orders {
            let order = app.order(order_id).await;
            assert_eq!(
                order["status"], "pending",
                "settled without payments: {order}"
            );
        }
    }
    app.restart(Module::Payments).await;

    app.assert_all_paid_once(&orders).await;
}

/// What one client saw while placing orders through a crash.
#[derive(Default)]
struct Outcome {
    accepted: Vec<Uuid>,
    accepted_after_restart: usize,
    refused: usize,
    unexpected: Vec<String>,
}

pub(crate) async fn orders_killed_mid_stream(shape: Shape) {
    const CLIENTS: usize = 4;
    const MAX_REQUESTS: usize = 200;
    const MAX_DURATION: Duration = Duration::from_secs(10);
    const PACE: Duration = Duration::from_millis(40);
    const BACKOFF: Duration = Duration::from_millis(100);

    let app = Topology::start(shape).await;
    let ada = app.create_user("ada@example.com").await;
    let sent = AtomicUsize::new(0);
    let restarted = AtomicBool::new(false);
    let started = Instant::now();

    let client = |n: usize| {
        let (app, sent, restarted) = (&app, &sent, &restarted);
        async move {
            let mut outcome = Outcome::default();
            let sku = format!("CLIENT-{n}");
            while sent.fetch_add(1, Ordering::SeqCst) < MAX_REQUESTS
                && started.elapsed() < MAX_DURATION
            {
                let after_restart = restarted.load(Ordering::SeqCst);
                let request = app
                    .request(Method::POST, "/orders")
                    .json(&order_body(ada, &[(&sku, 1, 500)]));
                // A connection error or a 503 means "not accepted": the client goes on.
                match app.try_send(request).await {
                    Ok(reply) if reply.status == StatusCode::CREATED => {
                        outcome.accepted.push(id(&reply.body));
                        outcome.accepted_after_restart += usize::from(after_restart);
                        tokio::time::sleep(PACE).await;
                    }
                    Ok(reply) if reply.status != StatusCode::SERVICE_UNAVAILABLE => {
                        outcome.unexpected.push(reply.to_string());
                    }
                    Ok(_) | Err(_) => {
                        outcome.refused += 1;
                        tokio::time::sleep(BACKOFF).await;
                    }
                }
            }
            outcome
        }
    };
    let crash = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        app.kill(Module::Orders);
        // Longer than a connection to a container that is gone may wait: a container
        // started again sooner takes the calls that waited, and nothing is refused.
        tokio::time::sleep(DOWN_FOR).await;
        app.restart(Module::Orders).await;
        restarted.store(true, Ordering::SeqCst);
    };
    let (outcomes, ()) = futures::join!(join_all((0..CLIENTS).map(client)), crash);

    let unexpected: Vec<&String> = outcomes.iter().flat_map(|o| &o.unexpected).collect();
    assert!(unexpected.is_empty(), "unexpected answers: {unexpected:#?}");
    let refused: usize = outcomes.iter().map(|o| o.refused).sum();
    assert!(refused > 0, "no request noticed that orders was down");
    let after_restart: usize = outcomes.iter().map(|o| o.accepted_after_restart).sum();
    assert!(after_restart > 0, "no order was accepted after the restart");

    // Orders committed by a request whose answer was cut off by the crash settle too.
    let accepted: Vec<Uuid> = outcomes.iter().flat_map(|o| o.accepted.clone()).collect();
    audit::assert_exactly_once(&app, &accepted).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn split_peer_down_is_a_prompt_503() {
    peer_down_is_a_prompt_503(Shape::Split).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_split_peer_down_is_a_prompt_503() {
    peer_down_is_a_prompt_503(Shape::GrpcSplit).await;
}

async fn peer_down_is_a_prompt_503(shape: Shape) {
    let app = Topology::start(shape).await;
    let ada = app.create_user("ada@example.com").await;
    let books = [("BOOK-1", 2, 1999)];
    let first = id(&app.place_order(ada, &books).await);

    app.kill(Module::Users);
    let started = Instant::now();
    let order = app.post("/orders", &order_body(ada, &books)).await;
    order.assert_problem(StatusCode::SERVICE_UNAVAILABLE, None);
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());
    let started = Instant::now();
    let user = app.get(&format!("/users/{ada}")).await;
    user.assert_problem(StatusCode::SERVICE_UNAVAILABLE, None);
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());

    app.kill(Module::Orders);
    let started = Instant::now();
    let order = app.get(&format!("/orders/{first}")).await;
    order.assert_problem(StatusCode::SERVICE_UNAVAILABLE, None);
    assert!(started.elapsed() < PROMPT, "took {:?}", started.elapsed());

    app.restart(Module::Users).await;
    app.restart(Module::Orders).await;
    let second = id(&app.place_order(ada, &books).await);
    app.assert_all_paid_once(&[first, second]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn all_in_one_stops_gracefully_on_sigterm() {
    let app = Topology::start(Shape::AllInOne).await;
    let ada = app.create_user("ada@example.com").await;
    let order = id(&app.place_order(ada, &[("BOOK-1", 2, 1999)]).await);
    app.assert_all_paid_once(&[order]).await;

    let process = app.process_of(Module::Users);
    let status = process.terminate(Duration::from_secs(10)).await;
    assert!(status.success(), "SIGTERM ended cleave with {status}");

    process.restart().await;
    let user = app.get(&format!("/users/{ada}")).await;
    user.assert_status(StatusCode::OK);
    assert_eq!(user.body["email"], "ada@example.com", "{user}");
    app.assert_all_paid_once(&[order]).await;
}
