use std::collections::BTreeMap;

use chrono::TimeZone;

use super::{html, markdown, terminal_table, write_all};
use crate::compare::report::*;

fn latency(count: u64, p50: f64, p90: f64, p99: f64, p999: f64, max: f64) -> Latency {
    Latency {
        count,
        mean_ms: p50 * 1.2,
        p50_ms: p50,
        p90_ms: p90,
        p99_ms: p99,
        p999_ms: p999,
        max_ms: max,
    }
}

fn operations(scale: f64, requests: u64) -> Vec<OperationReport> {
    [
        ("get_order", 0.5, 1.0),
        ("get_user", 0.3, 0.8),
        ("place_order", 0.2, 2.5),
    ]
    .into_iter()
    .map(|(name, share, slower)| {
        let l = scale * slower;
        OperationReport {
            name: name.to_owned(),
            requests: (requests as f64 * share) as u64,
            errors: 0,
            latency: latency(
                (requests as f64 * share) as u64,
                l,
                l * 2.2,
                l * 5.0,
                l * 11.0,
                l * 30.0,
            ),
        }
    })
    .collect()
}

/// Ten seconds of outage in a 25 s drill, one-second slices.
fn timeline(before: u64, during_ok: u64, during_failed: u64) -> Vec<TimelinePoint> {
    (0..25)
        .map(|s| {
            let down = (5..15).contains(&s);
            TimelinePoint {
                at_secs: f64::from(s),
                ok: if down { during_ok } else { before },
                failed: if down { during_failed } else { 0 },
            }
        })
        .collect()
}

fn process(roles: &str, cpu_secs: f64, rss_mib: u64) -> ProcessReport {
    ProcessReport {
        roles: roles.to_owned(),
        cpu_secs,
        peak_rss_bytes: rss_mib * 1024 * 1024,
    }
}

/// A monolith and microservices, the monolith wholly down while payments is.
fn sample() -> Report {
    let monolith = TopologyReport {
        name: "monolith".to_owned(),
        processes: vec![process("gateway,users,orders,payments", 41.3, 38)],
        load: LoadReport {
            requests: 370_350,
            secs: 30.0,
            throughput_rps: 12_345.0,
            errors: BTreeMap::new(),
            latency: latency(370_350, 1.2, 2.8, 6.5, 14.0, 38.0),
            operations: operations(1.0, 370_350),
        },
        settle: SettleReport {
            orders: 74_000,
            settled: 74_000,
            latency: latency(74_000, 3.1, 6.0, 12.0, 30.0, 80.0),
        },
        internal: Some(InternalReport {
            calls: 0,
            bytes: 0,
            calls_per_request: 0.0,
            bytes_per_request: 0.0,
        }),
        drill: Some(DrillReport {
            outage_secs: 10.0,
            requests_during_outage: 1500,
            ok_during_outage: 0,
            availability: 0.0,
            recovery_secs: Some(0.4),
            orders: 812,
            settled_once: 812,
            unsettled: 0,
            charged_twice: 0,
            timeline: timeline(400, 0, 150),
            killed_at_secs: 5.0,
            restarted_at_secs: 15.0,
        }),
    };
    let microservices = TopologyReport {
        name: "microservices".to_owned(),
        processes: vec![
            process("gateway", 22.0, 21),
            process("users", 9.5, 17),
            process("orders", 14.2, 19),
            process("payments", 6.1, 16),
        ],
        load: LoadReport {
            requests: 288_900,
            secs: 30.0,
            throughput_rps: 9630.0,
            errors: BTreeMap::from([("503".to_owned(), 12), ("transport".to_owned(), 2)]),
            latency: latency(288_900, 2.9, 6.1, 15.2, 41.0, 95.0),
            operations: operations(2.4, 288_900),
        },
        settle: SettleReport {
            orders: 57_780,
            settled: 57_779,
            latency: latency(57_779, 9.0, 18.0, 44.0, 120.0, 300.0),
        },
        internal: Some(InternalReport {
            calls: 520_020,
            bytes: 531_460_440,
            calls_per_request: 1.8,
            bytes_per_request: 1839.6,
        }),
        drill: Some(DrillReport {
            outage_secs: 10.0,
            requests_during_outage: 3090,
            ok_during_outage: 3000,
            availability: 3000.0 / 3090.0,
            recovery_secs: Some(1.2),
            orders: 1020,
            settled_once: 1020,
            unsettled: 0,
            charged_twice: 0,
            timeline: timeline(330, 300, 9),
            killed_at_secs: 5.0,
            restarted_at_secs: 15.0,
        }),
    };
    Report {
        started_at: chrono::Utc
            .with_ymd_and_hms(2025, 3, 14, 9, 26, 53)
            .unwrap(),
        elapsed_secs: 131.5,
        host: Host {
            cores: 8,
            os: "linux".to_owned(),
            cleave_version: "0.1.0".to_owned(),
        },
        settings: Settings {
            mode: "closed".to_owned(),
            concurrency: 64,
            rate: None,
            duration_secs: 30.0,
            rounds: 3,
            drill_secs: 10.0,
            mix: BTreeMap::from([
                ("get_order".to_owned(), 5),
                ("get_user".to_owned(), 3),
                ("place_order".to_owned(), 2),
            ]),
        },
        topologies: vec![monolith, microservices],
    }
}

/// Three topologies, the third a grouping with a long name.
fn three() -> Report {
    let mut report = sample();
    let mut grouped = report.topologies[1].clone();
    grouped.name = "users+orders,payments".to_owned();
    grouped.processes = vec![
        process("gateway,users,orders", 30.2, 29),
        process("payments", 6.4, 16),
    ];
    grouped.load.throughput_rps = 11_020.0;
    report.topologies.push(grouped);
    report
}

/// One external target with a name that is markup, nothing measured, no drill.
fn bare() -> Report {
    let mut report = sample();
    report.settings.drill_secs = 0.0;
    report.settings.mix.clear();
    report.topologies = vec![TopologyReport {
        name: "a<b&c".to_owned(),
        processes: Vec::new(),
        load: LoadReport {
            requests: 0,
            secs: 0.0,
            throughput_rps: 0.0,
            errors: BTreeMap::new(),
            latency: Latency::default(),
            operations: Vec::new(),
        },
        settle: SettleReport {
            orders: 0,
            settled: 0,
            latency: Latency::default(),
        },
        internal: None,
        drill: None,
    }];
    report
}

/// Figures no run should produce, but a division by a zero duration could.
fn broken() -> Report {
    let mut report = sample();
    for t in &mut report.topologies {
        t.load.throughput_rps = f64::NAN;
        t.load.latency.p99_ms = f64::INFINITY;
        t.processes[0].cpu_secs = f64::NAN;
        let drill = t.drill.as_mut().unwrap();
        drill.availability = f64::NAN;
        drill.killed_at_secs = f64::NAN;
        drill.timeline[3].at_secs = f64::NEG_INFINITY;
    }
    report
}

/// Every attribute value of the page is a word or a finite number.
fn assert_clean(html: &str) {
    assert_eq!(html.matches("<html").count(), 1, "one document");
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("<script"));
    assert!(!html.contains("NaN"));
    for (i, value) in html.split('"').enumerate() {
        if i % 2 == 1 {
            assert!(!value.contains("inf"), "attribute value {value:?}");
        }
    }
}

#[test]
fn json_round_trips() {
    let report = sample();
    let json = serde_json::to_string_pretty(&report).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&report).unwrap()
    );
}

#[test]
fn write_all_writes_three_files_into_a_new_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("runs").join("first");
    let written = write_all(&sample(), &out).unwrap();
    let names: Vec<_> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, ["report.json", "report.md", "report.html"]);
    let json = std::fs::read_to_string(out.join("report.json")).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back.topologies.len(), 2);
}

#[test]
fn terminal_table_has_a_ratio_column_and_fits_the_terminal() {
    let table = terminal_table(&sample());
    print!("{table}");
    let head = table.lines().next().unwrap();
    assert!(head.contains("monolith") && head.contains("microservices"));
    assert!(head.contains("x/first"));
    let throughput = table.lines().find(|l| l.starts_with("throughput")).unwrap();
    assert!(throughput.ends_with("0.78×"), "{throughput}");
    let settled = table.lines().find(|l| l.contains("exactly once")).unwrap();
    assert!(settled.contains("yes 812/812") && settled.contains("yes 1,020/1,020"));
    // Availability 0% on the monolith leaves nothing to divide by.
    let availability = table.lines().find(|l| l.contains("availability")).unwrap();
    assert!(availability.ends_with('–'), "{availability}");
    assert!(table.lines().all(|l| l.chars().count() <= 100));
}

#[test]
fn terminal_table_fits_three_topologies() {
    let table = terminal_table(&three());
    print!("{table}");
    assert_eq!(table.lines().next().unwrap().matches("x/first").count(), 2);
    assert!(table.lines().all(|l| l.chars().count() <= 100));
    let page = html(&three());
    assert_clean(&page);
    assert_eq!(page.matches("<svg").count(), 4);
}

#[test]
fn terminal_table_dashes_what_was_not_measured() {
    let table = terminal_table(&bare());
    print!("{table}");
    assert!(!table.contains("x/first"), "no ratio with one topology");
    for label in [
        "processes",
        "CPU seconds",
        "drill recovery",
        "placed→paid p50",
    ] {
        let line = table.lines().find(|l| l.starts_with(label)).unwrap();
        assert!(line.ends_with('–'), "{line}");
    }
}

#[test]
fn markdown_compares_and_reads_the_drill() {
    let md = markdown(&sample());
    assert!(md.starts_with("# cleave compare: monolith vs microservices\n"));
    assert!(md.contains("| microservices / monolith |"));
    for op in ["### get\\_order", "### place\\_order"] {
        assert!(md.contains(op), "{op}");
    }
    assert!(md.contains("| microservices | payments | 6.10 | 16.0 |"));
    assert!(md.contains(
        "While payments was down (10 s), monolith answered 0% of requests (0 of 1,500); \
         microservices answered 97% (3,000 of 3,090)."
    ));
    assert!(md.contains(
        "microservices: every order placed so far had settled 1.2 s after payments came back"
    ));
}

#[test]
fn markdown_words_follow_the_figures() {
    let mut report = sample();
    let drill = report.topologies[1].drill.as_mut().unwrap();
    drill.recovery_secs = None;
    drill.settled_once = 1015;
    drill.unsettled = 3;
    drill.charged_twice = 2;
    let md = markdown(&report);
    assert!(md.contains("microservices: orders placed had not all settled by the end of the drill; only 1,015 of the 1,020 orders examined had exactly one payment (3 had none, 2 were charged twice)."));
    assert!(md.contains("| drill settled exactly once | yes 812/812 | no 1,015/1,020 |"));
}

#[test]
fn markdown_escapes_names_and_says_what_is_missing() {
    let md = markdown(&bare());
    assert!(md.contains("a\\<b\\&c"));
    assert!(!md.contains("a<b&c"));
    assert!(md.contains("The failure drill was skipped."));
    assert!(md.contains("not measured (external target)"));
}

#[test]
fn html_is_one_offline_page_with_four_charts() {
    let page = html(&sample());
    assert_clean(&page);
    assert_eq!(page.matches("<svg").count(), 4);
    assert!(page.contains("<th class=\"figure\">microservices / monolith</th>"));
    assert!(page.contains("payments killed"));
}

#[test]
fn html_escapes_names_and_survives_an_empty_report() {
    let page = html(&bare());
    assert_clean(&page);
    assert!(page.contains("a&lt;b&amp;c"));
    assert!(!page.contains("a<b&c"));
    // Latency and throughput; nothing to draw for processes or a drill.
    assert_eq!(page.matches("<svg").count(), 2);
    assert!(page.contains("No process was measured"));
}

#[test]
fn html_draws_no_nan_from_broken_figures() {
    let report = broken();
    assert_clean(&html(&report));
    assert!(!terminal_table(&report).contains("NaN"));
    assert!(!markdown(&report).contains("NaN"));
}

#[test]
fn html_handles_a_drill_without_slices() {
    let mut report = sample();
    for t in &mut report.topologies {
        t.drill.as_mut().unwrap().timeline.clear();
    }
    let page = html(&report);
    assert_clean(&page);
    assert!(page.contains("no slices recorded"));
}
