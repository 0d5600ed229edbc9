//! A gateway whose users URL names two replicas (two users processes on one PostgreSQL
//! database, at 127.0.0.2 and 127.0.0.3 on the same port, as a headless service's
//! addresses would be) spreads calls over both, keeps answering when one is killed, and
//! sends it calls again once it is back.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use tempfile::TempDir;

use crate::postgres;
use crate::support::{free_addr, http_client, id, poll_until, Process, Reply};

/// How long the gateway leaves a replica that got no answer alone.
const LEAVE_FOR: Duration = Duration::from_millis(1_500);

/// Requests for `/users…` routes a process answered with 200, from its `/metrics`.
async fn users_served(process: &Process) -> u64 {
    let text = http_client()
        .get(format!("{}/metrics", process.url()))
        .send()
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("/metrics reads");
    text.lines()
        .filter(|line| {
            line.starts_with("cleave_http_requests_total{")
                && line.contains("route=\"/users")
                && line.contains("status=\"200\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_spread_over_replicas_and_avoid_one_that_died() {
    let Some(cluster) = postgres::cluster() else {
        return;
    };
    let database = cluster.create_database();
    let dir = TempDir::new().expect("a temporary directory");
    let port = free_addr().port();
    let replica = |last: u8| SocketAddr::from(([127, 0, 0, last], port));
    let start = |label: &'static str, addr: SocketAddr, extra: Vec<String>| {
        let mut args = vec!["--database-url".to_owned(), database.url()];
        args.extend(extra);
        Process::start(label, addr, args, dir.path().join(format!("{label}.log")))
    };
    let first = start("users-1", replica(2), vec!["--role=users".to_owned()]).await;
    let second = start("users-2", replica(3), vec!["--role=users".to_owned()]).await;
    let gateway = start(
        "gateway",
        free_addr(),
        vec![
            "--role=gateway".to_owned(),
            "--users-url".to_owned(),
            format!("http://{},http://{}", replica(2), replica(3)),
            "--breaker-open-ms".to_owned(),
            LEAVE_FOR.as_millis().to_string(),
        ],
    )
    .await;

    let http = http_client();
    let get_user = |user: uuid::Uuid| {
        let http = &http;
        let url = format!("{}/users/{user}", gateway.url());
        async move {
            let response = http.get(url).send().await.expect("the gateway answers");
            Reply::read(response).await.expect("a reply")
        }
    };
    let create_user = |email: String| {
        let http = &http;
        let url = format!("{}/users", gateway.url());
        async move {
            let response = http
                .post(url)
                .json(&json!({"email": email, "name": "Ada"}))
                .send()
                .await
                .expect("the gateway answers");
            Reply::read(response).await.expect("a reply")
        }
    };

    let created = create_user("ada@example.com".to_owned()).await;
    created.assert_status(StatusCode::CREATED);
    let ada = id(&created.body);
    for _ in 0..20 {
        get_user(ada).await.assert_status(StatusCode::OK);
    }
    let (by_first, by_second) = (users_served(&first).await, users_served(&second).await);
    assert_eq!(by_first + by_second, 20, "reads served by the replicas");
    assert!(
        by_first >= 5 && by_second >= 5,
        "reads not spread: {by_first} by the first replica, {by_second} by the second"
    );

    // A call whose connection the dead replica refuses goes on to the other one, even a
    // write (which is never retried); after it, calls avoid the dead replica.
    first.kill();
    for n in 0..10 {
        create_user(format!("user-{n}@example.com"))
            .await
            .assert_status(StatusCode::CREATED);
    }
    for _ in 0..20 {
        get_user(ada).await.assert_status(StatusCode::OK);
    }
    assert_eq!(
        users_served(&second).await,
        by_second + 20,
        "the surviving replica served every read"
    );

    // Back on its address, the replica gets calls again once it has been left alone long
    // enough.
    first.restart().await;
    tokio::time::sleep(LEAVE_FOR).await;
    poll_until(
        "the restarted replica to serve reads again",
        Duration::from_secs(10),
        || async {
            get_user(ada).await.assert_status(StatusCode::OK);
            match users_served(&first).await {
                0 => Err("no read served".to_owned()),
                served => Ok(served),
            }
        },
    )
    .await;
}
