//! `cleave compare` and `cleave up`, run as a user runs them: the real binary, real child
//! processes on loopback ports, real report files.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

const CLEAVE: &str = env!("CARGO_BIN_EXE_cleave");

#[test]
fn compare_measures_both_shapes_and_writes_its_reports() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("report");
    let output = Command::new(CLEAVE)
        .args([
            "compare",
            "--duration=2s",
            "--rounds=2",
            "--drill=1s",
            "--warmup=0s",
            "--users=4",
        ])
        .arg(format!("--out={}", out.display()))
        .arg(format!("--data-dir={}", dir.path().join("data").display()))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "compare failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("throughput req/s") && stdout.contains("x/first"),
        "{stdout}"
    );

    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let topologies = report["topologies"].as_array().unwrap();
    let names: Vec<&str> = topologies
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["monolith", "microservices"]);
    for topology in topologies {
        let name = topology["name"].as_str().unwrap();
        assert!(
            topology["load"]["throughput_rps"].as_f64().unwrap() > 0.0,
            "{name}"
        );
        assert!(
            topology["load"]["latency"]["p99_ms"].as_f64().unwrap() > 0.0,
            "{name}"
        );
        assert!(
            topology["settle"]["settled"].as_u64().unwrap() > 0,
            "{name}: orders were paid"
        );
        assert!(
            topology["processes"][0]["cpu_secs"].as_f64().unwrap() > 0.0,
            "{name}"
        );
        assert!(
            topology["processes"][0]["peak_rss_bytes"].as_u64().unwrap() > 0,
            "{name}"
        );
        let drill = &topology["drill"];
        assert_eq!(drill["charged_twice"], 0, "{name}");
        assert_eq!(
            drill["unsettled"], 0,
            "{name}: every order settled after the drill"
        );
        assert!(drill["settled_once"].as_u64().unwrap() > 0, "{name}");
    }
    assert_eq!(topologies[0]["processes"].as_array().unwrap().len(), 1);
    assert_eq!(topologies[1]["processes"].as_array().unwrap().len(), 5);
    assert_eq!(
        topologies[0]["internal"]["calls"], 0,
        "one process makes no internal calls"
    );
    assert!(
        topologies[1]["internal"]["calls_per_request"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let availability = |t: &Value| t["drill"]["availability"].as_f64().unwrap();
    assert!(
        availability(&topologies[1]) > availability(&topologies[0]),
        "with payments down the split keeps answering, the monolith cannot"
    );

    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(markdown.contains("| throughput req/s |") && markdown.contains("microservices"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.matches("<svg").count() >= 4,
        "the charts are inline SVG"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page opens offline"
    );
}

/// Processes whose command line mentions `needle` (our children carry their data dir).
fn processes_mentioning(needle: &Path) -> Vec<u32> {
    let needle = needle.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|cmdline| String::from_utf8_lossy(&cmdline).contains(&needle))
                .unwrap_or(false)
        })
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn up_runs_a_grouping_and_leaves_nothing_behind_when_killed() {
    let dir = TempDir::new().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let mut up = Command::new(CLEAVE)
        .args(["up", "--topology=users+orders,payments+shipping"])
        .arg(format!("--listen=127.0.0.1:{port}"))
        .arg(format!("--data-dir={}", data.display()))
        .stdout(std::fs::File::create(dir.path().join("up.out")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let user: Value = loop {
        assert!(Instant::now() < deadline, "cleave up did not come up");
        let created = http
            .post(format!("{base}/users"))
            .json(&serde_json::json!({"email": "up@example.com", "name": "Up"}))
            .send()
            .await;
        if let Ok(response) = created {
            assert_eq!(response.status(), 201);
            break response.json().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let order: Value = http
        .post(format!("{base}/orders"))
        .json(
            &serde_json::json!({"user_id": user["id"], "currency": "EUR",
            "items": [{"sku": "BOOK-1", "quantity": 1, "unit_price_cents": 100}]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now: Value = http
            .get(format!("{base}/orders/{}", order["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if now["status"] == "paid" {
            break;
        }
        assert!(Instant::now() < deadline, "the order was not paid: {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        processes_mentioning(&data).len(),
        3,
        "up and its two children"
    );
    // The status table: every module ready, each in the process the grouping puts it in.
    let deadline = Instant::now() + Duration::from_secs(10);
    let table = loop {
        let printed = std::fs::read_to_string(dir.path().join("up.out")).unwrap_or_default();
        if printed.contains("deployment ready") {
            break printed;
        }
        assert!(Instant::now() < deadline, "no status table: {printed}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for module in ["users", "orders", "payments", "shipping"] {
        assert!(
            table
                .lines()
                .any(|line| line.trim_start().starts_with(module) && line.contains("ready")),
            "{module} is not in the table:\n{table}"
        );
    }

    up.kill().unwrap();
    up.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !processes_mentioning(&data).is_empty() {
        assert!(
            Instant::now() < deadline,
            "children outlived a killed `cleave up`"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test]
async fn compare_measures_a_deployment_already_running() {
    let dir = TempDir::new().unwrap();
    let port = free_port();
    let mut server = Command::new(CLEAVE)
        .arg(format!("--listen=127.0.0.1:{port}"))
        .arg(format!("--data-dir={}", dir.path().join("data").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http
        .get(format!("{url}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(Instant::now() < deadline, "the server did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let out = dir.path().join("report");
    let output = Command::new(CLEAVE)
        .args([
            "compare",
            "--duration=1s",
            "--rounds=1",
            "--warmup=0s",
            "--users=2",
        ])
        .arg(format!("--target={url}"))
        .arg(format!("--out={}", out.display()))
        .output()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let measured = &report["topologies"][0];
    assert_eq!(measured["name"], url.as_str());
    assert!(measured["load"]["throughput_rps"].as_f64().unwrap() > 0.0);
    assert_eq!(
        measured["processes"],
        serde_json::json!([]),
        "nothing was started, so no /proc"
    );
    assert!(
        measured["drill"].is_null(),
        "nothing was started, so nothing was killed"
    );
}
