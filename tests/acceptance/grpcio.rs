//! The gRPC side of a module, as a client written by nobody here sees it: Python's
//! `grpcio` with `grpcio-reflection` learns the services from the server's reflection,
//! checks its health and calls the users module, with and without the internal token.

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{Module, Options, Shape, Topology};

const CLIENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/acceptance/grpcio/reflection_client.py"
);
const TOKEN: &str = "a-token-only-the-modules-know";
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Whether Python's `grpcio` and `grpcio-reflection` are installed. Where
/// `CLEAVE_REQUIRE_GRPCIO=1` (CI), missing ones fail the test instead of skipping it.
fn grpcio_installed() -> bool {
    let found = std::process::Command::new("python3")
        .args(["-c", "import grpc, grpc_reflection"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        assert!(
            std::env::var("CLEAVE_REQUIRE_GRPCIO").as_deref() != Ok("1"),
            "grpcio is not installed and CLEAVE_REQUIRE_GRPCIO=1; \
             `pip install grpcio grpcio-reflection` (the versions .ci/run pins)"
        );
        eprintln!("skipped: Python's grpcio and grpcio-reflection are not installed");
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generic_grpc_client_lists_and_calls_a_module_through_reflection() {
    if !grpcio_installed() {
        return;
    }
    let options = Options {
        internal_token: Some(TOKEN.to_owned()),
        ..Options::default()
    };
    let app = Topology::start_with(Shape::GrpcSplit, &options).await;
    let users = app.process_of(Module::Users).addr().to_string();
    let email = "grace@example.com";
    let run = tokio::process::Command::new("python3")
        .args([CLIENT, &users, TOKEN, email])
        .stdin(Stdio::null())
        // grpcio would go through a proxy named in the environment, even to loopback.
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(CLIENT_TIMEOUT, run)
        .await
        .expect("the client finishes in time")
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the client failed:\n{stderr}");
    let seen: Value = serde_json::from_slice(&output.stdout).expect("the client prints JSON");

    let services: Vec<&str> = seen["services"]
        .as_array()
        .expect("a list of services")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for service in ["cleave.users.v1.Users", "grpc.health.v1.Health"] {
        assert!(
            services.contains(&service),
            "{service} is not listed: {services:?}"
        );
    }
    assert_eq!(
        seen["health"], "0801",
        "the health check does not say SERVING"
    );
    assert_eq!(seen["without_token"], "UNAUTHENTICATED", "{seen}");
    assert_eq!(seen["stranger"], "NOT_FOUND", "{seen}");
    let created = &seen["created"];
    assert_eq!(created["email"], email, "{seen}");
    assert_eq!(&seen["read_back"], created, "{seen}");

    // What the generic client created is the module's: the public API finds it.
    let id = created["id"].as_str().expect("the user has an id");
    let user = app.get(&format!("/users/{id}")).await;
    user.assert_status(StatusCode::OK);
    assert_eq!(user.body["email"], email, "{user}");
}
