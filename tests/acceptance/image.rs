//! The image on its own: a module per container, its data in a volume, and the repository's
//! compose.yaml. (The scenarios every topology passes run in containers too, as
//! `containers::<scenario>`.)

use reqwest::StatusCode;
use serde_json::json;

use crate::docker::{self, docker, Containers, Scope};
use crate::support::{http_client, id, Topology};

#[tokio::test(flavor = "multi_thread")]
async fn one_module_per_container_starts_and_reports_ready() {
    if !docker::available() {
        return;
    }
    let scope = Scope::new();
    let network = scope.name("net");
    docker(&["network", "create", &network]).unwrap();
    let orders = docker::run_module(&scope, &network, "orders", &[]).unwrap();
    docker::wait_healthy(&orders).await;

    let user = docker(&["exec", &orders, "id", "-u"]).unwrap();
    assert_eq!(user, "10001", "the container runs as root");
    let probe = docker(&["exec", &orders, "cleave", "probe"]).unwrap();
    assert!(probe.contains("/readyz: 200"), "{probe}");
}

#[tokio::test(flavor = "multi_thread")]
async fn module_data_survives_its_container_through_the_volume() {
    if !docker::available() {
        return;
    }
    let scope = Scope::new();
    let network = scope.name("net");
    docker(&["network", "create", &network]).unwrap();
    let publish = ["--publish", "127.0.0.1::8080"];
    let users = docker::run_module(&scope, &network, "users", &publish).unwrap();
    docker::wait_healthy(&users).await;
    let http = http_client();
    let created = http
        .post(format!("{}/users", docker::published_url(&users)))
        .json(&json!({"email": "ada@example.com", "name": "Ada"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let ada = id(&created.json().await.unwrap());

    docker(&["rm", "--force", &users]).unwrap();
    let users = docker::run_module(&scope, &network, "users", &publish).unwrap();
    docker::wait_healthy(&users).await;
    let fetched = http
        .get(format!("{}/users/{ada}", docker::published_url(&users)))
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    let fetched: serde_json::Value = fetched.json().await.unwrap();
    assert_eq!(fetched["email"], "ada@example.com", "{fetched}");
}

/// Registers a buyer, places an order and waits until it is paid, exactly once.
async fn smoke(app: &Topology) {
    let ada = app.create_user("ada@example.com").await;
    let order = id(&app.place_order(ada, &[("BOOK-1", 2, 1999)]).await);
    app.assert_all_paid_once(&[order]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn compose_runs_the_split_topology() {
    if !docker::available() {
        return;
    }
    smoke(&Topology::in_containers(Containers::compose(None).await)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn compose_monolith_profile_runs_one_container() {
    if !docker::available() {
        return;
    }
    smoke(&Topology::in_containers(
        Containers::compose(Some("monolith")).await,
    ))
    .await;
}
