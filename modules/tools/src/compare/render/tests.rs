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

/// A round each of the given throughputs, with latency and CPU per request scaled alike.
fn rounds(rps: &[f64], p50: f64, cpu_ms: f64) -> Vec<RoundReport> {
    rps.iter()
        .map(|&rps| RoundReport {
            secs: 10.0,
            requests: (rps * 10.0) as u64,
            ok: (rps * 10.0) as u64,
            throughput_rps: rps,
            p50_ms: p50 * 10_000.0 / rps,
            p99_ms: p50 * 50_000.0 / rps,
            cpu_secs: Some(cpu_ms * rps / 100.0),
            cpu_ms_per_request: Some(cpu_ms),
        })
        .collect()
}

fn distribution(l: &Latency) -> Vec<Quantile> {
    [
        (0.0, l.p50_ms / 3.0),
        (50.0, l.p50_ms),
        (90.0, l.p90_ms),
        (99.0, l.p99_ms),
        (99.9, l.p999_ms),
        (100.0, l.max_ms),
    ]
    .map(|(percentile, ms)| Quantile { percentile, ms })
    .to_vec()
}

fn availability(ok: [u64; 5], requests: [u64; 5]) -> Vec<OperationAvailability> {
    [
        "create_user",
        "place_order",
        "read_order",
        "list_orders",
        "read_payments",
    ]
    .iter()
    .zip(ok.iter().zip(requests))
    .map(|(name, (&ok, requests))| OperationAvailability {
        name: (*name).to_owned(),
        requests,
        ok,
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
    let monolith_latency = latency(370_350, 1.2, 2.8, 6.5, 14.0, 38.0);
    let monolith = TopologyReport {
        name: "monolith".to_owned(),
        variant: BTreeMap::new(),
        processes: vec![process("gateway,users,orders,payments", 41.3, 38)],
        load: LoadReport {
            requests: 370_350,
            ok: 370_350,
            secs: 30.0,
            throughput_rps: 12_345.0,
            errors: BTreeMap::new(),
            latency: monolith_latency,
            distribution: distribution(&monolith_latency),
            operations: operations(1.0, 370_350),
        },
        rounds: rounds(&[12_000.0, 12_500.0, 12_535.0], 1.2, 0.11),
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
            kind: "process".to_owned(),
            killed_roles: Some("all".to_owned()),
            killed_every_module: true,
            outage_secs: 10.0,
            requests_during_outage: 1500,
            ok_during_outage: 0,
            availability: 0.0,
            operations: availability([0; 5], [75, 600, 450, 300, 75]),
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
    let microservices_latency = latency(288_900, 2.9, 6.1, 15.2, 41.0, 95.0);
    let microservices = TopologyReport {
        name: "microservices".to_owned(),
        variant: BTreeMap::new(),
        processes: vec![
            process("gateway", 22.0, 21),
            process("users", 9.5, 17),
            process("orders", 14.2, 19),
            process("payments", 6.1, 16),
        ],
        load: LoadReport {
            requests: 288_900,
            ok: 288_886,
            secs: 30.0,
            throughput_rps: 9630.0,
            errors: BTreeMap::from([("503".to_owned(), 12), ("transport".to_owned(), 2)]),
            latency: microservices_latency,
            distribution: distribution(&microservices_latency),
            operations: operations(2.4, 288_900),
        },
        rounds: rounds(&[9_500.0, 9_700.0, 9_690.0], 2.9, 0.18),
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
            kind: "process".to_owned(),
            killed_roles: Some("payments".to_owned()),
            killed_every_module: false,
            outage_secs: 10.0,
            requests_during_outage: 3090,
            ok_during_outage: 3000,
            availability: 3000.0 / 3090.0,
            operations: availability([155, 1236, 927, 618, 64], [155, 1236, 927, 618, 154]),
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
        schema_version: SCHEMA_VERSION,
        started_at: chrono::Utc
            .with_ymd_and_hms(2025, 3, 14, 9, 26, 53)
            .unwrap(),
        elapsed_secs: 131.5,
        machine: MachineLoad {
            load_before: [0.4, 0.5, 0.6],
            load_during: 7.1,
            other_cpu_secs: Some(3.0),
            other_cpu_share: Some(0.0125),
            generator_cpu_secs: Some(40.0),
            busy: false,
        },
        host: Host {
            cores: 8,
            cpu_model: Some("Test CPU @ 3.0GHz".to_owned()),
            os: "linux".to_owned(),
            cleave_version: "0.1.0".to_owned(),
        },
        settings: Settings {
            mode: "closed".to_owned(),
            concurrency: 64,
            rate: None,
            target_rate: Some(10_000.0),
            duration_secs: 30.0,
            rounds: 3,
            drill: "process".to_owned(),
            drill_secs: 10.0,
            mix: BTreeMap::from([
                ("get_order".to_owned(), 5),
                ("get_user".to_owned(), 3),
                ("place_order".to_owned(), 2),
            ]),
        },
        verdict: Vec::new(),
        warnings: Vec::new(),
        topologies: vec![monolith, microservices],
        sweep: None,
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
    report.settings.target_rate = None;
    report.topologies = vec![TopologyReport {
        name: "a<b&c".to_owned(),
        variant: BTreeMap::new(),
        processes: Vec::new(),
        load: LoadReport {
            requests: 0,
            ok: 0,
            secs: 0.0,
            throughput_rps: 0.0,
            errors: BTreeMap::new(),
            latency: Latency::default(),
            distribution: Vec::new(),
            operations: Vec::new(),
        },
        rounds: Vec::new(),
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
    let head = table
        .lines()
        .find(|l| l.starts_with(' ') && l.contains("x/first"))
        .unwrap();
    assert!(head.contains("monolith") && head.contains("microservices"));
    assert!(head.trim_end().ends_with("rounds"), "{head}");
    let throughput = table.lines().find(|l| l.starts_with("throughput")).unwrap();
    assert!(throughput.starts_with("throughput req/s ↑"), "{throughput}");
    assert!(throughput.ends_with("0.78×  0.77–0.79"), "{throughput}");
    let cpu = table
        .lines()
        .find(|l| l.starts_with("CPU ms / request ↓"))
        .unwrap();
    assert!(cpu.contains("0.112") && cpu.contains("1.61×"), "{cpu}");
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
    let head = table
        .lines()
        .find(|l| l.starts_with(' ') && l.contains("x/first"))
        .unwrap();
    assert_eq!(head.matches("x/first").count(), 2);
    assert!(table.lines().all(|l| l.chars().count() <= 100));
    let page = html(&three());
    assert_clean(&page);
    assert_eq!(page.matches("<svg").count(), 5);
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
    assert!(md.contains("| drill settled exactly once |  | yes 812/812 | no 1,015/1,020 |  |  |"));
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
fn html_is_one_offline_page_with_five_charts() {
    let page = html(&sample());
    assert_clean(&page);
    assert_eq!(page.matches("<svg").count(), 5);
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

/// The sample with a sweep, a capacity table scaled from its knees, a module drill and a
/// variant.
pub(super) fn swept() -> Report {
    let mut report = sample();
    let curve = |name: &str, knee: f64, slow: f64| {
        let points: Vec<SweepPoint> = [100.0, 150.0, 225.0, 337.5]
            .into_iter()
            .map(|rate| {
                let p99 = slow
                    * if rate > knee {
                        40.0
                    } else {
                        1.0 + rate / 100.0
                    };
                let mut l = latency((rate * 3.0) as u64, p99 / 4.0, p99 / 2.0, p99, p99, p99);
                l.mean_ms = p99 / 3.0;
                SweepPoint {
                    offered_rps: rate,
                    achieved_rps: rate,
                    requests: (rate * 3.0) as u64,
                    errors: 0,
                    latency: l,
                    cpu_ms_per_request: Some(slow * 0.5),
                    rss_bytes: Some(40 << 20),
                    met_slo: p99 <= 50.0,
                }
            })
            .collect();
        let (knee_rps, broke_at_rps) = crate::compare::sweep::knee(&points);
        SweepCurve {
            name: name.to_owned(),
            points,
            knee_rps,
            broke_at_rps,
        }
    };
    let variant = &mut report.topologies[1].variant;
    variant.insert(
        "CLEAVE_EVENT_BUS".to_owned(),
        "nats://127.0.0.1:4222".to_owned(),
    );
    report.sweep = Some(SweepReport {
        slo_p99_ms: 50.0,
        step_secs: 3.0,
        curves: vec![
            curve(&report.topologies[0].label(), 225.0, 2.0),
            curve(&report.topologies[1].label(), 150.0, 4.0),
        ],
    });
    report.settings.drill = "module".to_owned();
    for t in &mut report.topologies {
        let d = t.drill.as_mut().unwrap();
        d.kind = "module".to_owned();
        d.killed_roles = None;
        d.killed_every_module = false;
        d.operations = availability([10, 100, 80, 50, 0], [10, 100, 80, 50, 9]);
    }
    report
}

#[test]
fn the_json_report_follows_its_published_schema() {
    let schema: serde_json::Value = serde_json::from_str(include_str!(
        "../../../../../docs/compare-report.schema.json"
    ))
    .unwrap();
    assert_eq!(
        schema["properties"]["schema_version"]["const"], SCHEMA_VERSION,
        "the schema documents the version the code writes"
    );
    let validator = jsonschema::validator_for(&schema).unwrap();
    for report in [sample(), three(), bare(), swept()] {
        let json = serde_json::to_value(&report).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let mut stray = serde_json::to_value(sample()).unwrap();
    stray["topologies"][0]["load"]["undocumented"] = 1.into();
    assert!(
        !validator.is_valid(&stray),
        "a field the schema does not describe is refused, so the two cannot drift apart"
    );
}

#[test]
fn a_sweep_a_capacity_table_and_a_variant_show_everywhere() {
    let report = swept();
    let table = terminal_table(&report);
    print!("{table}");
    assert!(table.lines().all(|l| l.chars().count() <= 100));
    assert!(table.contains("knee req/s (p99 ≤ 50 ms)"), "{table}");
    assert!(table.starts_with(
        "microservices #2 is microservices (CLEAVE_EVENT_BUS=nats://127.0.0.1:4222)\n"
    ));
    let knees = table
        .lines()
        .find(|l| l.starts_with("microservices #2  "))
        .unwrap();
    assert!(knees.contains("150") && knees.contains("225"), "{knees}");
    let capacity = table
        .lines()
        .find(|l| l.starts_with("monolith ") && l.contains("(knee)"))
        .unwrap();
    // 10,000 req/s × 1 ms of CPU per request at the knee: 10 cores.
    assert!(capacity.contains(" 10.0 "), "{capacity}");
    assert!(
        table.contains("the payments module alone was failing"),
        "{table}"
    );
    assert!(
        table.contains("the requests that failed were read_payments"),
        "{table}"
    );

    let md = markdown(&report);
    assert!(md.contains("## Where each shape breaks"));
    assert!(md.contains("## Cores for 10,000 req/s"));
    assert!(md.contains("microservices (CLEAVE\\_EVENT\\_BUS=nats://127.0.0.1:4222)"));
    let page = html(&report);
    assert_clean(&page);
    assert!(page.contains("Latency against offered load"));
    assert!(
        page.contains("knee 225") && page.contains("knee 150"),
        "each knee is marked"
    );
    assert!(page.contains("payments failing"));
}

#[test]
fn the_verdict_opens_every_report() {
    let report = sample();
    let first = "monolith is better on throughput: microservices had 0.78× monolith's";
    assert!(terminal_table(&report).starts_with(first));
    assert_eq!(super::verdict(&report).len(), 5, "three to six sentences");
    let md = markdown(&report);
    let verdict = md.find("## Verdict").unwrap();
    assert!(verdict < md.find("## Comparison").unwrap());
    assert!(md.contains(&format!("- {first}")));
    let page = html(&report);
    assert!(page.find("class=\"verdict\"").unwrap() < page.find("<h2>Comparison").unwrap());
}

#[test]
fn a_busy_machine_and_disagreeing_rounds_are_warned_of() {
    let mut report = sample();
    report.machine.busy = true;
    report.machine.load_before = [6.5, 6.0, 5.0];
    report.machine.other_cpu_share = Some(0.31);
    let first: Vec<f64> = report.topologies[0]
        .rounds
        .iter()
        .map(|r| r.p99_ms)
        .collect();
    for ((r, p99), factor) in report.topologies[1]
        .rounds
        .iter_mut()
        .zip(first)
        .zip([0.9, 1.1, 0.95])
    {
        r.p99_ms = p99 * factor;
    }
    let warnings = super::warnings(&report);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("load average 6.5 on 8 cores") && w.contains("31% of the cores")),
        "{warnings:#?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("p99 latency") && w.contains("within the noise")),
        "{warnings:#?}"
    );
    assert!(
        !warnings.iter().any(|w| w.contains("throughput")),
        "{warnings:#?}"
    );
    assert!(terminal_table(&report).contains("warning: The machine was busy"));
}
