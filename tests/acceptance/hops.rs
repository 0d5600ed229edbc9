//! The policies on every hop, against real processes and a real slow or dead peer: a
//! bounded wait, then a breaker that answers at once, recovery without a restart, retries
//! for reads only, load shed instead of queued, and a rate per client at the gateway.

use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tempfile::TempDir;
use uuid::Uuid;

use crate::stub::{Answer, Stub};
use crate::support::{
    free_addr, http_client, poll_until, Module, Options, Process, Reply, Shape, Topology,
};

/// What a slow peer takes to answer: far beyond every bound asserted below.
const SLOW: Duration = Duration::from_secs(6);
/// The peer timeout the tests set.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Slack for a loaded machine on top of a bound the product promises.
const MARGIN: Duration = Duration::from_secs(1);
/// An answer that did not wait for the peer at all: well below `TIMEOUT`.
const PROMPT: Duration = Duration::from_millis(500);
/// How long the tests give a breaker to let a call through again and close.
const RECOVERY: Duration = Duration::from_secs(10);

/// A `--role=gateway` process whose users module is at `users_url`.
async fn gateway(dir: &TempDir, users_url: &str, extra: &[&str]) -> Process {
    let nowhere = format!("http://{}", free_addr());
    let mut args: Vec<String> = [
        "--role=gateway",
        "--data-dir",
        dir.path().join("gateway").to_str().expect("UTF-8 path"),
        "--users-url",
        users_url,
        "--orders-url",
        &nowhere,
        "--payments-url",
        &nowhere,
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    Process::start("gateway", free_addr(), args, dir.path().join("gateway.log")).await
}

async fn get(process: &Process, path: &str) -> (Reply, Duration) {
    let started = Instant::now();
    let response = http_client()
        .get(format!("{}{path}", process.url()))
        .send()
        .await
        .unwrap_or_else(|err| panic!("GET {path} failed: {err}"));
    let reply = Reply::read(response).await.expect("the answer reads");
    (reply, started.elapsed())
}

async fn breaker_state(process: &Process, peer: &str) -> Option<f64> {
    let (metrics, _) = get(process, "/metrics").await;
    let series = format!("cleave_peer_breaker_state{{peer=\"{peer}\"}} ");
    metrics
        .text
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|value| value.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_peer_costs_a_bounded_wait_then_nothing_until_it_recovers() {
    let users = Stub::slow(SLOW).await;
    let dir = TempDir::new().unwrap();
    let timeout = TIMEOUT.as_millis().to_string();
    let app = gateway(
        &dir,
        &users.url(),
        &[
            "--peer-timeout-ms",
            &timeout,
            "--breaker-failures",
            "3",
            "--breaker-open-ms",
            "2000",
        ],
    )
    .await;
    let path = format!("/users/{}", Uuid::now_v7());

    // Each call waits for the timeout, not for the peer, and is not retried after it.
    for _ in 0..3 {
        let (reply, took) = get(&app, &path).await;
        reply.assert_problem(StatusCode::SERVICE_UNAVAILABLE, None);
        assert!(took < TIMEOUT + MARGIN, "took {took:?}: {reply}");
    }
    assert_eq!(users.count("GET"), 3, "{:?}", users.requests());

    // Three timeouts in a row opened the breaker: the peer is not called any more.
    for _ in 0..5 {
        let (reply, took) = get(&app, &path).await;
        reply.assert_come_back_later(StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            took < PROMPT,
            "took {took:?} with the breaker open: {reply}"
        );
    }
    assert_eq!(users.count("GET"), 3, "{:?}", users.requests());
    assert_eq!(breaker_state(&app, "users").await, Some(2.0));

    // The peer gets fast again; the breaker lets a call through and closes on its own.
    users.set_delay(Duration::ZERO);
    let user = poll_until("the breaker to close", RECOVERY, || async {
        let (reply, _) = get(&app, &path).await;
        match reply.status {
            StatusCode::OK => Ok(reply),
            _ => Err(reply.to_string()),
        }
    })
    .await;
    assert_eq!(user.body["name"], "Ada", "{user}");
    assert_eq!(breaker_state(&app, "users").await, Some(0.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_peer_is_refused_at_once_and_found_again_when_back() {
    let options = Options {
        args: ["--breaker-failures", "3", "--breaker-open-ms", "500"]
            .map(str::to_owned)
            .to_vec(),
        ..Options::default()
    };
    let app = Topology::start_with(Shape::Split, &options).await;
    let ada = app.create_user("ada@example.com").await;
    let path = format!("/users/{ada}");

    app.kill(Module::Users);
    // Refused connections: prompt even before the breaker opens (a GET is tried three
    // times, so the first request alone opens it).
    let (first, took) = get(app.gateway(), &path).await;
    first.assert_problem(StatusCode::SERVICE_UNAVAILABLE, None);
    assert!(took < TIMEOUT + MARGIN, "took {took:?}: {first}");
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let (reply, took) = get(app.gateway(), &path).await;
        reply.assert_come_back_later(StatusCode::SERVICE_UNAVAILABLE);
        slowest = slowest.max(took);
    }
    assert!(
        slowest < PROMPT,
        "slowest answer with the breaker open: {slowest:?}"
    );

    app.restart(Module::Users).await;
    poll_until("the users module to be found again", RECOVERY, || async {
        let reply = app.get(&path).await;
        match reply.status {
            StatusCode::OK => Ok(()),
            _ => Err(reply.to_string()),
        }
    })
    .await;
    let order = app.place_order(ada, &[("BOOK-1", 1, 1999)]).await;
    app.assert_settled_once(crate::support::id(&order), "paid", "authorized")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_is_retried_and_a_write_never() {
    // The first GET and every POST lose their connection before an answer.
    let users = Stub::start(Duration::ZERO, |method, nth| match (method, nth) {
        ("GET", 0) | ("POST", _) => Answer::Cut,
        _ => Answer::User,
    })
    .await;
    let dir = TempDir::new().unwrap();
    let app = gateway(&dir, &users.url(), &[]).await;

    let (reply, _) = get(&app, &format!("/users/{}", Uuid::now_v7())).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(users.count("GET"), 2, "{:?}", users.requests());

    let response = http_client()
        .post(format!("{}/users", app.url()))
        .json(&json!({"email": "ada@example.com", "name": "Ada"}))
        .send()
        .await
        .expect("the gateway answers");
    let reply = Reply::read(response).await.expect("the answer reads");
    reply.assert_problem(StatusCode::SERVICE_UNAVAILABLE, None);
    assert_eq!(users.count("POST"), 1, "{:?}", users.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_beyond_the_limit_are_shed_not_queued() {
    const CONCURRENT: usize = 12;
    let users = Stub::slow(Duration::from_millis(1500)).await;
    let dir = TempDir::new().unwrap();
    let app = gateway(
        &dir,
        &users.url(),
        &["--max-in-flight", "2", "--breaker-failures", "0"],
    )
    .await;
    let path = format!("/users/{}", Uuid::now_v7());

    let started = Instant::now();
    let replies = join_all((0..CONCURRENT).map(|_| get(&app, &path))).await;
    let elapsed = started.elapsed();

    let served = replies
        .iter()
        .filter(|(r, _)| r.status == StatusCode::OK)
        .count();
    let shed: Vec<&Reply> = replies
        .iter()
        .map(|(r, _)| r)
        .filter(|r| r.status != StatusCode::OK)
        .collect();
    assert!(served >= 1, "none served: {:?}", shed.first());
    assert!(
        served <= CONCURRENT / 2,
        "{served} of {CONCURRENT} served with 2 allowed at once"
    );
    for reply in &shed {
        reply.assert_come_back_later(StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(reply.body["code"], "overloaded", "{reply}");
    }
    // The shed ones were not queued behind the slow ones.
    let quickest_shed = replies
        .iter()
        .filter(|(r, _)| r.status != StatusCode::OK)
        .map(|(_, took)| *took)
        .min()
        .expect("some were shed");
    assert!(quickest_shed < PROMPT, "shed after {quickest_shed:?}");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?} in all");

    // Health is not behind the limit.
    let (health, _) = get(&app, "/healthz").await;
    health.assert_status(StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_over_its_rate_gets_429() {
    let options = Options {
        args: ["--rate-limit", "5"].map(str::to_owned).to_vec(),
        ..Options::default()
    };
    let app = Topology::start_with(Shape::AllInOne, &options).await;
    let mut limited = None;
    for _ in 0..50 {
        let reply = app.send(app.request(Method::GET, "/users")).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(reply);
            break;
        }
        reply.assert_status(StatusCode::OK);
    }
    let limited = limited.expect("50 requests at once never hit a limit of 5 per second");
    limited.assert_come_back_later(StatusCode::TOO_MANY_REQUESTS);
    // Health and metrics answer whatever the client's rate.
    app.get("/healthz").await.assert_status(StatusCode::OK);

    // The limit refills: a client that waits is served again.
    let retry_after: u64 = limited.retry_after.as_deref().unwrap().parse().unwrap();
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    app.get("/users").await.assert_status(StatusCode::OK);
}
