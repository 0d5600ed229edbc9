//! A client generated from the served OpenAPI document by `openapi-python-client`, as a
//! user of the API would make one, places an order through the split's gateway and reads it
//! back as `Order` objects.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

use crate::support::{Shape, Topology};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/acceptance/client/place_order.py"
);

/// Whether `openapi-python-client` is installed. Where `CLEAVE_REQUIRE_OPENAPI_CLIENT` is
/// set (CI), a missing one is a failure; elsewhere the test is skipped, saying so.
fn generator_installed() -> bool {
    crate::support::found_or_skipped(
        crate::support::answers_version("openapi-python-client"),
        "CLEAVE_REQUIRE_OPENAPI_CLIENT",
        "openapi-python-client is not installed (the version .ci/run pins)",
    )
}

/// `program` with `args` in `dir`, with no proxy of the machine in the way of loopback.
fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    let mut command = Command::new(program);
    command.args(args).current_dir(dir).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key
            .to_string_lossy()
            .to_ascii_lowercase()
            .ends_with("_proxy")
        {
            command.env_remove(&key);
        }
    }
    command.env("PYTHONPATH", dir);
    command
        .output()
        .unwrap_or_else(|err| panic!("{program} runs: {err}"))
}

fn said(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_python_client_places_an_order_and_reads_it_back() {
    if !generator_installed() {
        return;
    }
    let app = Topology::start(Shape::Split).await;
    let dir = TempDir::new().expect("a temporary directory");
    let document = format!("{}/openapi.json", app.gateway_url());
    let generated = tokio::task::block_in_place(|| {
        run(
            "openapi-python-client",
            &[
                "generate",
                "--url",
                &document,
                "--meta",
                "none",
                "--output-path",
                "cleave_client",
            ],
            dir.path(),
        )
    });
    assert!(
        generated.status.success(),
        "generation failed:\n{}",
        said(&generated)
    );
    let models = dir.path().join("cleave_client/models");
    assert!(
        models.join("order.py").is_file(),
        "no Order model:\n{}",
        said(&generated)
    );
    let inline_copies: Vec<_> = std::fs::read_dir(&models)
        .expect("the models are there")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.contains("data_item"))
        .collect();
    assert!(
        inline_copies.is_empty(),
        "lists got models of their own: {inline_copies:?}"
    );

    let placed =
        tokio::task::block_in_place(|| run("python3", &[SCRIPT, &app.gateway_url()], dir.path()));
    assert!(
        placed.status.success(),
        "the generated client failed:\n{}",
        said(&placed)
    );
    assert!(
        said(&placed).contains("as Order objects"),
        "{}",
        said(&placed)
    );
}
