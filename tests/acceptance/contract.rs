//! The published contract: the OpenAPI document that every process serves, its committed
//! copy at the repository's root, the `/docs` page, and schemathesis fuzzing the live API
//! of two topologies against the document.

use std::fs::File;
use std::process::Stdio;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tempfile::TempDir;

use crate::committed;
use crate::support::{cleave_command, http_client, Shape, Topology};

/// The committed copy of the document.
const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
const SCHEMATHESIS_CONFIG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/acceptance/schemathesis/schemathesis.toml"
);
const SCHEMATHESIS_HOOKS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/acceptance/schemathesis/hooks.py"
);
/// Test cases per operation and phase: enough to walk every rule of the document and the
/// links between operations, few enough to finish in well under a minute per topology.
const MAX_EXAMPLES: &str = "50";
/// A run takes under a minute here; this only stops a hung one.
const FUZZ_TIMEOUT: Duration = Duration::from_secs(240);

fn committed() -> String {
    std::fs::read_to_string(COMMITTED).expect("openapi.json is at the repository's root")
}

/// `cleave openapi` prints the committed copy.
#[test]
fn the_committed_document_is_the_one_the_binary_prints() {
    let output = cleave_command()
        .arg("openapi")
        .stdin(Stdio::null())
        .output()
        .expect("the cleave binary runs");
    assert!(
        output.status.success(),
        "`cleave openapi` failed: {output:?}"
    );
    let printed = String::from_utf8(output.stdout).expect("the document is UTF-8");
    committed::check(
        "openapi.json",
        &printed,
        "contract::",
        "cargo run -q -- openapi > openapi.json",
    );
}

/// The gateway and every module process serve the same document: the product's one contract.
#[tokio::test(flavor = "multi_thread")]
async fn every_process_serves_the_committed_document() {
    let expected: Value = serde_json::from_str(&committed()).expect("openapi.json is JSON");
    let app = Topology::start(Shape::Split).await;
    let http = http_client();
    for process in app.processes() {
        let response = http
            .get(format!("{}/openapi.json", process.url()))
            .send()
            .await
            .expect("the process answers");
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(content_type, "application/json");
        let served: Value = response.json().await.expect("the document is JSON");
        assert!(
            served == expected,
            "{} serves another document",
            process.url()
        );
    }
}

/// `/docs` lists every operation and schema, and needs nothing from elsewhere to display
/// (the browser tests, `browser.rs`, use it).
#[tokio::test(flavor = "multi_thread")]
async fn the_reference_page_is_self_contained() {
    let doc: Value = serde_json::from_str(&committed()).expect("openapi.json is JSON");
    let app = Topology::start(Shape::AllInOne).await;
    let page = app.send(app.request(Method::GET, "/docs")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type.starts_with("text/html"), "{page}");
    let operations = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values());
    for operation in operations {
        let id = operation["operationId"].as_str().unwrap();
        assert!(
            page.text.contains(&format!("id=\"{id}\"")),
            "{id} is not on the page"
        );
    }
    for schema in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(
            page.text.contains(&format!("id=\"schema-{schema}\"")),
            "{schema} is not on the page"
        );
    }
    // Its script and style are inline: nothing is fetched from anywhere.
    for remote in ["src=", "href=\"http", "@import", "url("] {
        assert!(
            !page.text.contains(remote),
            "the page loads something: {remote}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_all_in_one() {
    fuzz(Shape::AllInOne).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_split() {
    fuzz(Shape::Split).await;
}

/// Runs schemathesis (every check, every phase, links followed) against the gateway of
/// `shape`. Skipped, saying so, when schemathesis is not installed, unless
/// `CLEAVE_REQUIRE_SCHEMATHESIS=1` (as in CI).
async fn fuzz(shape: Shape) {
    if !schemathesis_installed() {
        assert!(
            std::env::var("CLEAVE_REQUIRE_SCHEMATHESIS").as_deref() != Ok("1"),
            "schemathesis is not installed and CLEAVE_REQUIRE_SCHEMATHESIS=1; \
             `pip install schemathesis` (the version .ci/run pins)"
        );
        eprintln!("skipped: schemathesis is not installed (`pip install schemathesis`)");
        return;
    }
    let app = Topology::start(shape).await;
    let dir = TempDir::new().expect("a temporary directory");
    let log_path = dir.path().join("schemathesis.log");
    let log = File::create(&log_path).expect("the log file opens");
    let mut command = tokio::process::Command::new("schemathesis");
    command
        .args(["--config-file", SCHEMATHESIS_CONFIG, "run"])
        .arg(format!("{}/openapi.json", app.gateway_url()))
        .args(["--max-examples", MAX_EXAMPLES, "--request-timeout", "10"])
        .args(["--generation-database", "none", "--no-color"])
        // Hypothesis's warning that generating data is slow speaks of this machine's
        // load, not of the API.
        .args(["--suppress-health-check", "too_slow"])
        .env("SCHEMATHESIS_HOOKS", SCHEMATHESIS_HOOKS)
        // Hypothesis keeps its files in the working directory.
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("the log handle clones"))
        .stderr(log)
        .kill_on_drop(true);
    without_proxies(&mut command);
    let status = tokio::time::timeout(FUZZ_TIMEOUT, command.status()).await;
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    match status {
        Err(_) => panic!("schemathesis did not finish within {FUZZ_TIMEOUT:?}:\n{output}"),
        Ok(status) => {
            let status = status.expect("schemathesis runs");
            assert!(
                status.success(),
                "schemathesis against {shape:?} exited with {status}:\n{output}"
            );
            eprintln!("{output}");
        }
    }
}

fn schemathesis_installed() -> bool {
    std::process::Command::new("schemathesis")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The API is on loopback: a proxy of the machine running the tests must not be in the way.
fn without_proxies(command: &mut tokio::process::Command) {
    for (key, _) in std::env::vars_os() {
        if key
            .to_string_lossy()
            .to_ascii_lowercase()
            .ends_with("_proxy")
        {
            command.env_remove(&key);
        }
    }
}
