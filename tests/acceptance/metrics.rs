//! `/metrics` as an operator's tools read it: `promtool check metrics` accepts every
//! process's page, the `process_*` families and the build are there, counters exist at zero
//! before anything happened, and breakers exist only for the peers a process calls.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::{Module, Process, Shape, Topology};

/// Whether `promtool` is installed. Where `CLEAVE_REQUIRE_PROMTOOL` is set (CI), a missing
/// one is a failure; elsewhere the check is skipped, saying so.
fn promtool_installed() -> bool {
    crate::support::found_or_skipped(
        crate::support::answers_version("promtool"),
        "CLEAVE_REQUIRE_PROMTOOL",
        "promtool is not installed (apt-get install prometheus)",
    )
}

/// Feeds `page` to `promtool check metrics`, which exits non-zero on any problem or lint.
fn promtool_accepts(label: &str, page: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .expect("promtool's stdin")
        .write_all(page.as_bytes())
        .expect("promtool reads the page");
    let output = child.wait_with_output().expect("promtool exits");
    assert!(
        output.status.success(),
        "promtool refuses the metrics of {label} ({}):\n{}{}\n{page}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
}

/// The value of the series `series` (name and labels, as written) on `page`.
fn value(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

/// What every process's page holds, before any request but the scrape itself.
async fn check_process(process: &Process) -> String {
    let page = process.metrics().await;
    if promtool_installed() {
        promtool_accepts(process.label(), &page);
    }
    for family in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_start_time_seconds",
        "cleave_build_info",
    ] {
        assert!(
            page.contains(&format!("# HELP {family} "))
                && page.contains(&format!("# TYPE {family} ")),
            "{family} is not described on the page of {}:\n{page}",
            process.label()
        );
    }
    assert!(
        page.lines()
            .any(|line| line.starts_with("cleave_build_info{version=\"")
                && line.contains(",commit=\"")
                && line.ends_with("} 1")),
        "{page}"
    );
    page
}

#[tokio::test(flavor = "multi_thread")]
async fn an_all_in_one_exports_what_operators_expect() {
    let app = Topology::start(Shape::AllInOne).await;
    let page = check_process(app.gateway()).await;
    // Nothing happened yet: the counters of every event path are there, at zero.
    for series in [
        "cleave_events_delivered_total{subscriber=\"payments\"}",
        "cleave_events_delivered_total{subscriber=\"shipping\"}",
        "cleave_events_deduplicated_total{consumer=\"orders\"}",
        "cleave_events_rejected_total{consumer=\"payments\"}",
    ] {
        assert_eq!(value(&page, series), Some(0.0), "{series}:\n{page}");
    }
    // One process calls no other: no peer, no breaker.
    assert!(!page.contains("cleave_peer_breaker_state{"), "{page}");
    assert!(!page.contains("cleave_peer_requests_total{"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_split_exports_what_operators_expect() {
    let app = Topology::start(Shape::Split).await;
    for process in app.processes() {
        check_process(process).await;
    }
    let orders = check_process(app.process_of(Module::Orders)).await;
    // Orders calls users (is the buyer real?) and posts its events to payments.
    for peer in ["users", "payments"] {
        for outcome in ["ok", "error", "unreachable", "refused"] {
            let series =
                format!("cleave_peer_requests_total{{peer=\"{peer}\",outcome=\"{outcome}\"}}");
            assert_eq!(value(&orders, &series), Some(0.0), "{series}:\n{orders}");
        }
        let breaker = format!("cleave_peer_breaker_state{{peer=\"{peer}\"}}");
        assert_eq!(value(&orders, &breaker), Some(0.0), "{breaker}:\n{orders}");
    }
    // Never itself, nor shipping, which it neither calls nor sends events to.
    for other in ["orders", "shipping"] {
        assert!(
            !orders.contains(&format!("cleave_peer_breaker_state{{peer=\"{other}\"}}")),
            "orders has a breaker for {other}:\n{orders}"
        );
    }
}
