//! The dashboard and the API explorer in a real browser: Playwright (from PyPI) driving the
//! machine's Chromium through `tests/acceptance/browser/drive.py`. An order placed with the
//! explorer's "Try it" shows in the dashboard's recent requests with its trace across
//! processes; payments killed shows on the dashboard and in `/health/deployment` within
//! seconds; no request leaves the origin. Screenshots go to `target/browser/<test>/`,
//! and a failing step leaves one of the page as it was.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::support::{Module, Shape, Topology};

const DRIVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/acceptance/browser/drive.py"
);
const CHROMIUM: &str = "/usr/bin/chromium";

/// Whether Playwright's Python package and the machine's Chromium are there. Where
/// `CLEAVE_REQUIRE_BROWSER` is set (CI), a missing one is a failure; elsewhere the browser
/// tests are skipped, saying so.
fn browser_available() -> bool {
    let playwright = Command::new("python3")
        .args(["-c", "import playwright.sync_api"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    crate::support::found_or_skipped(
        playwright && std::path::Path::new(CHROMIUM).is_file(),
        "CLEAVE_REQUIRE_BROWSER",
        &format!(
            "playwright (pip, the version .ci/run pins) or {CHROMIUM} (apt-get install chromium) is missing"
        ),
    )
}

fn screenshots(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/browser")
        .join(test)
}

/// Runs one step of the driver against `app`'s gateway; fails with what it printed.
fn drive(app: &Topology, test: &str, step: &str, expected_processes: &str) {
    let mut command = Command::new("python3");
    command
        .arg(DRIVER)
        .args([step, &app.gateway_url()])
        .arg(screenshots(test))
        .arg(expected_processes)
        .stdin(Stdio::null());
    // The pages are on loopback: a proxy of the machine must not be in the way.
    for (key, _) in std::env::vars_os() {
        if key
            .to_string_lossy()
            .to_ascii_lowercase()
            .ends_with("_proxy")
        {
            command.env_remove(&key);
        }
    }
    let output = tokio::task::block_in_place(|| command.output()).expect("python3 runs");
    assert!(
        output.status.success(),
        "the browser step {step} failed (screenshots in {}):\n{}{}",
        screenshots(test).display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_order_from_the_explorer_shows_on_the_dashboard_of_an_all_in_one() {
    if !browser_available() {
        return;
    }
    let app = Topology::start(Shape::AllInOne).await;
    drive(&app, "all_in_one", "order-from-explorer", "all");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_of_a_split_traces_an_order_and_sees_payments_killed() {
    if !browser_available() {
        return;
    }
    let app = Topology::start(Shape::Split).await;
    drive(
        &app,
        "split",
        "order-from-explorer",
        "gateway,users,orders,payments,shipping",
    );
    app.kill(Module::Payments);
    drive(&app, "split", "payments-down", "");
}
