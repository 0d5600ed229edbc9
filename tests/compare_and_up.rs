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
            "--outage=1s",
            "--warmup=0s",
            "--users=4",
        ])
        .arg(format!("--out={}", out.display()))
        .arg(format!("--data-dir={}", dir.path().join("data").display()))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "compare failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("throughput req/s ↑") && stdout.contains("x/first"),
        "{stdout}"
    );
    assert!(
        stdout.contains("CPU ms / request ↓") && stdout.contains("RSS MiB / 1,000 req/s ↓"),
        "costs per request beside the totals: {stdout}"
    );
    assert!(
        stdout.contains("While the process holding payments was down")
            && stdout.contains("in monolith that process is every module"),
        "the verdict says what the drill took down: {stdout}"
    );
    progress_lines_tell_the_time_and_the_rest(&stderr);

    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    follows_the_schema(&report);
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
        assert_eq!(drill["kind"], "process", "{name}");
        assert_eq!(topology["rounds"].as_array().unwrap().len(), 2, "{name}");
        assert!(
            topology["rounds"][1]["cpu_ms_per_request"]
                .as_f64()
                .unwrap()
                > 0.0,
            "{name}"
        );
    }
    assert_eq!(topologies[0]["drill"]["killed_every_module"], true);
    assert_eq!(topologies[1]["drill"]["killed_every_module"], false);
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

/// Piped, compare prints a line per phase and round with the time so far and an estimate
/// of the rest, and a last line when it is done.
fn progress_lines_tell_the_time_and_the_rest(stderr: &str) {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("cleave compare ["))
        .collect();
    for phase in [
        "] starting",
        "] round 1/2: monolith",
        "] round 1/2: microservices",
        "] round 2/2: monolith",
        "] round 2/2: microservices",
        "] failure drill (process): microservices",
        "] stopping",
    ] {
        let line = lines.iter().find(|l| l.contains(phase));
        assert!(
            line.is_some_and(|l| l.ends_with(" left)")),
            "no line for {phase:?} with the time left in:\n{stderr}"
        );
    }
    let last = lines.last().unwrap();
    assert!(last.contains("] done in "), "{stderr}");
    let elapsed = |line: &str| -> f64 {
        let inside = &line[line.find('[').unwrap() + 1..line.find(']').unwrap()];
        inside.trim().trim_end_matches(" s").parse().unwrap()
    };
    let times: Vec<f64> = lines.iter().map(|l| elapsed(l)).collect();
    assert!(
        times.windows(2).all(|pair| pair[0] <= pair[1]),
        "lines come as the run goes, not all at its end:\n{stderr}"
    );
    assert!(times[0] < times[times.len() - 1] - 2.0, "{stderr}");
}

/// `report.json` is what docs/compare-report.schema.json describes.
fn follows_the_schema(report: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/compare-report.schema.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(report["schema_version"], 2);
}

#[test]
fn compare_fails_payments_alone_sweeps_and_sizes_for_a_rate() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("report");
    let output = Command::new(CLEAVE)
        .args([
            "compare",
            "--topology=monolith",
            "--topology=microservices",
            "--with=CLEAVE_LOG_FORMAT=json",
            "--duration=1s",
            "--rounds=2",
            "--drill=module",
            "--outage=3s",
            "--warmup=0s",
            "--users=4",
            "--sweep",
            "--sweep-from=50",
            "--sweep-step=500ms",
            "--slo-p99-ms=25",
            "--target-rate=10000",
        ])
        .arg(format!("--out={}", out.display()))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "compare failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    follows_the_schema(&report);
    let topologies = report["topologies"].as_array().unwrap();
    assert_eq!(
        topologies[1]["variant"],
        serde_json::json!({"CLEAVE_LOG_FORMAT": "json"}),
        "--with belongs to the topology before it"
    );
    assert_eq!(topologies[0]["variant"], serde_json::json!({}));
    assert!(stdout.contains("microservices #2 is microservices (CLEAVE_LOG_FORMAT=json)"));

    // Payments alone failing: in both shapes everything but payments keeps answering.
    let mut payment_reads = 0;
    for topology in topologies {
        let name = topology["name"].as_str().unwrap();
        let drill = &topology["drill"];
        assert_eq!(drill["kind"], "module", "{name}");
        let operation = |op: &str| {
            drill["operations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["name"] == op)
                .unwrap()
                .clone()
        };
        for op in ["place_order", "read_order", "list_orders"] {
            let o = operation(op);
            assert!(o["requests"].as_u64().unwrap() > 0, "{name} {op}");
            assert_eq!(o["ok"], o["requests"], "{name}: {op} did not need payments");
        }
        let payments = operation("read_payments");
        let asked = payments["requests"].as_u64().unwrap();
        assert!(
            asked == 0 || payments["ok"].as_u64().unwrap() < asked,
            "{name}: reading payments failed while payments did: {payments}"
        );
        payment_reads += asked;
        assert_eq!(drill["charged_twice"], 0, "{name}");
        assert_eq!(drill["unsettled"], 0, "{name}: the events came again");
    }
    assert!(payment_reads > 0, "payments were read while failing");
    assert!(
        stdout.contains("the payments module alone was failing"),
        "{stdout}"
    );

    let sweep = &report["sweep"];
    for curve in sweep["curves"].as_array().unwrap() {
        let points = curve["points"].as_array().unwrap();
        assert!(!points.is_empty(), "{curve}");
        // Upwards until a rate misses, or, when the first rate misses already, downwards
        // until one meets it: either way the curve holds the rate it broke at, above its knee.
        let broke_at = curve["broke_at_rps"].as_f64().expect("a rate it broke at");
        assert!(
            points
                .iter()
                .any(|p| p["met_slo"] == false && p["offered_rps"].as_f64() == Some(broke_at)),
            "each topology swept until it missed: {curve}"
        );
        if let Some(knee) = curve["knee_rps"].as_f64() {
            assert!(knee < broke_at, "{curve}");
        }
    }
    assert!(stdout.contains("knee req/s (p99 ≤ 25 ms)"), "{stdout}");
    assert!(stdout.contains("cores at 10,000 req/s"), "{stdout}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Latency against offered load"));
    assert!(html.contains("Latency by percentile (HDR)"));
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
