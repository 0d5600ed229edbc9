//! `report.html` in a real browser: headless Chromium opens the file with every host name
//! unresolvable, so the page must hold everything it shows. Where `CLEAVE_REQUIRE_CHROMIUM`
//! is set (CI), a missing browser is a failure; elsewhere the test is skipped.

use std::path::PathBuf;
use std::process::Command;

use super::tests::swept;
use super::write_all;

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CLEAVE_REQUIRE_CHROMIUM").is_none(),
            "CLEAVE_REQUIRE_CHROMIUM is set, but no chromium is installed"
        );
        eprintln!("chromium is not installed: browser test skipped");
    }
    found
}

/// Runs headless Chromium offline with `args` on the page at `url`.
fn headless(browser: &std::path::Path, args: &[&str], url: &str) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap()
}

#[test]
fn the_page_renders_offline_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    write_all(&swept(), dir.path()).unwrap();
    let url = format!("file://{}", dir.path().join("report.html").display());

    let dom = headless(&browser, &["--dump-dom"], &url);
    let text = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    assert!(text.contains("class=\"verdict\""), "{text}");
    // Latency, its HDR curve, throughput, the sweep, the processes and the drill.
    assert_eq!(text.matches("<svg").count(), 6, "{text}");
    assert!(text.contains("Latency by percentile (HDR)"));

    let png = dir.path().join("report.png");
    let shot = headless(
        &browser,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1000,6000",
        ],
        &url,
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 50_000,
        "{} bytes",
        bytes.len()
    );
}
