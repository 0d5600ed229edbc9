//! The report's tables as plain-text cells. The terminal, Markdown and HTML all show the
//! same figures; only the markup around the cells differs.

use std::collections::BTreeSet;

use super::format::{count, mib, number, percent, ratio, MISSING};
use super::spread::{RoundFigure, Spread};
use crate::compare::report::{DrillReport, Latency, Report, TopologyReport};

pub(super) struct Table {
    pub(super) head: Vec<String>,
    pub(super) rows: Vec<Vec<String>>,
    /// The leading columns hold words and align left; the rest are figures.
    pub(super) word_columns: usize,
}

/// Which way a figure is better, shown beside it.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Better {
    Higher,
    Lower,
    /// A total or a count, which depends on more than the shape (how much it served).
    Neither,
}

impl Better {
    pub(super) fn word(self) -> &'static str {
        match self {
            Better::Higher => "higher",
            Better::Lower => "lower",
            Better::Neither => "",
        }
    }

    pub(super) fn arrow(self) -> &'static str {
        match self {
            Better::Higher => " ↑",
            Better::Lower => " ↓",
            Better::Neither => "",
        }
    }
}

enum Metric {
    Figure {
        label: &'static str,
        value: fn(&TopologyReport) -> Option<f64>,
        show: fn(f64) -> String,
        better: Better,
        /// The same figure round by round, for the spread of its ratio.
        rounds: Option<RoundFigure>,
    },
    /// A figure with no meaningful ratio.
    Words {
        label: &'static str,
        text: fn(&TopologyReport) -> String,
    },
}

fn metrics() -> Vec<Metric> {
    use Metric::{Figure, Words};
    vec![
        Figure {
            label: "throughput req/s",
            value: |t| Some(t.load.throughput_rps),
            show: number,
            better: Better::Higher,
            rounds: Some(|r| Some(r.throughput_rps)),
        },
        Figure {
            label: "latency p50 ms",
            value: |t| measured(&t.load.latency).map(|l| l.p50_ms),
            show: number,
            better: Better::Lower,
            rounds: Some(|r| (r.ok > 0).then_some(r.p50_ms)),
        },
        Figure {
            label: "latency p90 ms",
            value: |t| measured(&t.load.latency).map(|l| l.p90_ms),
            show: number,
            better: Better::Lower,
            rounds: None,
        },
        Figure {
            label: "latency p99 ms",
            value: |t| measured(&t.load.latency).map(|l| l.p99_ms),
            show: number,
            better: Better::Lower,
            rounds: Some(|r| (r.ok > 0).then_some(r.p99_ms)),
        },
        Figure {
            label: "latency p99.9 ms",
            value: |t| measured(&t.load.latency).map(|l| l.p999_ms),
            show: number,
            better: Better::Lower,
            rounds: None,
        },
        Figure {
            label: "latency max ms",
            value: |t| measured(&t.load.latency).map(|l| l.max_ms),
            show: number,
            better: Better::Lower,
            rounds: None,
        },
        Figure {
            label: "errors",
            value: |t| Some(errors(t) as f64),
            show: |x| count(x as u64),
            better: Better::Lower,
            rounds: None,
        },
        Figure {
            label: "placed→paid p50 ms",
            value: |t| measured(&t.settle.latency).map(|l| l.p50_ms),
            show: number,
            better: Better::Lower,
            rounds: None,
        },
        Figure {
            label: "placed→paid p99 ms",
            value: |t| measured(&t.settle.latency).map(|l| l.p99_ms),
            show: number,
            better: Better::Lower,
            rounds: None,
        },
        Figure {
            label: "CPU ms / request",
            value: TopologyReport::cpu_ms_per_request,
            show: number,
            better: Better::Lower,
            rounds: Some(|r| r.cpu_ms_per_request),
        },
        Figure {
            label: "CPU seconds total",
            value: |t| has_processes(t).then(|| t.cpu_secs_total()),
            show: number,
            better: Better::Neither,
            rounds: None,
        },
        Figure {
            label: "peak RSS MiB total",
            value: |t| has_processes(t).then(|| mib(t.peak_rss_bytes_total())),
            show: number,
            better: Better::Neither,
            rounds: None,
        },
        Figure {
            label: "RSS MiB / process",
            value: |t| t.rss_bytes_per_process().map(|b| b / MIB),
            show: number,
            better: Better::Lower,
            rounds: None,
        },
        Figure {
            label: "RSS MiB / 1,000 req/s",
            value: |t| t.rss_bytes_per_krps().map(|b| b / MIB),
            show: number,
            better: Better::Lower,
            rounds: None,
        },
        Figure {
            label: "processes",
            value: |t| has_processes(t).then_some(t.processes.len() as f64),
            show: |x| count(x as u64),
            better: Better::Neither,
            rounds: None,
        },
        Figure {
            label: "internal calls / request",
            value: |t| t.internal.as_ref().map(|i| i.calls_per_request),
            show: number,
            better: Better::Lower,
            rounds: None,
        },
        Figure {
            label: "internal bytes / request",
            value: |t| t.internal.as_ref().map(|i| i.bytes_per_request),
            show: number,
            better: Better::Lower,
            rounds: None,
        },
        Figure {
            label: "drill availability %",
            value: |t| t.drill.as_ref().map(|d| d.availability * 100.0),
            show: |x| percent(x / 100.0),
            better: Better::Higher,
            rounds: None,
        },
        Figure {
            label: "drill recovery s",
            value: |t| t.drill.as_ref().and_then(|d| d.recovery_secs),
            show: number,
            better: Better::Lower,
            rounds: None,
        },
        Words {
            label: "drill settled exactly once",
            text: |t| {
                t.drill
                    .as_ref()
                    .map_or_else(|| MISSING.to_owned(), settled_once)
            },
        },
    ]
}

const MIB: f64 = 1024.0 * 1024.0;

/// Percentiles of nothing are zeros, which would read as "instant".
fn measured(latency: &Latency) -> Option<&Latency> {
    (latency.count > 0).then_some(latency)
}

/// A target given by URL runs outside cleave's control: nothing to measure per process.
fn has_processes(t: &TopologyReport) -> bool {
    !t.processes.is_empty()
}

pub(super) fn errors(t: &TopologyReport) -> u64 {
    t.load.errors.values().sum()
}

/// `yes 812/812`, or `no 809/812` when an order went unsettled or was charged twice;
/// no brackets, to keep three topologies within a terminal's hundred columns.
fn settled_once(drill: &DrillReport) -> String {
    if drill.orders == 0 {
        return MISSING.to_owned();
    }
    let verdict = if exactly_once(drill) { "yes" } else { "no" };
    format!(
        "{verdict} {}/{}",
        count(drill.settled_once),
        count(drill.orders)
    )
}

pub(super) fn exactly_once(drill: &DrillReport) -> bool {
    drill.settled_once == drill.orders && drill.unsettled == 0 && drill.charged_twice == 0
}

/// How the comparison table marks which way is better and the spread over rounds.
pub(super) struct Layout {
    /// The terminal marks the direction with an arrow after the label (`↑`, `↓`) to stay
    /// narrow; the files give it a column of words.
    pub(super) arrows: bool,
    /// A column after each ratio with its range over the rounds (`0.75–0.82`).
    pub(super) ranges: bool,
}

/// The headline figures, one column per topology, each topology after the first followed
/// by its ratio to the first; `ratio_head` names that column.
pub(super) fn comparison(
    report: &Report,
    ratio_head: impl Fn(&str) -> String,
    layout: Layout,
) -> Table {
    let mut head = vec!["".to_owned()];
    if !layout.arrows {
        head.push("better".to_owned());
    }
    for (i, t) in report.topologies.iter().enumerate() {
        head.push(t.label());
        if i > 0 {
            head.push(ratio_head(&t.label()));
            if layout.ranges {
                head.push("rounds".to_owned());
            }
        }
    }
    let first = report.topologies.first();
    let rows = metrics()
        .into_iter()
        .map(|metric| {
            let mut row = Vec::with_capacity(head.len());
            match metric {
                Metric::Figure {
                    label,
                    value,
                    show,
                    better,
                    rounds,
                } => {
                    if layout.arrows {
                        row.push(format!("{label}{}", better.arrow()));
                    } else {
                        row.push(label.to_owned());
                        row.push(better.word().to_owned());
                    }
                    let first_value = first.and_then(value);
                    for (i, t) in report.topologies.iter().enumerate() {
                        let this = value(t);
                        row.push(this.map_or_else(|| MISSING.to_owned(), show));
                        if i > 0 {
                            row.push(ratio(this, first_value));
                            if layout.ranges {
                                let spread = rounds
                                    .zip(first)
                                    .and_then(|(figure, first)| Spread::of(first, t, figure));
                                row.push(range(spread.as_ref()));
                            }
                        }
                    }
                }
                Metric::Words { label, text } => {
                    row.push(label.to_owned());
                    if !layout.arrows {
                        row.push(String::new());
                    }
                    for (i, t) in report.topologies.iter().enumerate() {
                        row.push(text(t));
                        if i > 0 {
                            row.push(String::new());
                            if layout.ranges {
                                row.push(String::new());
                            }
                        }
                    }
                }
            }
            row
        })
        .collect();
    Table {
        head,
        rows,
        word_columns: if layout.arrows { 1 } else { 2 },
    }
}

/// `0.75–0.82`: the lowest and highest ratio over the rounds; empty without two rounds.
fn range(spread: Option<&Spread>) -> String {
    match spread {
        Some(s) if s.ratios.len() >= 2 => format!("{:.2}–{:.2}", s.low, s.high),
        _ => String::new(),
    }
}

/// Every ratio that has rounds: its median, its range, and each round's value.
pub(super) fn spreads(report: &Report) -> Option<Table> {
    let (first, others) = report.topologies.split_first()?;
    let mut rows = Vec::new();
    for t in others {
        for (name, figure) in super::spread::figures() {
            let Some(spread) = Spread::of(first, t, figure) else {
                continue;
            };
            let rounds: Vec<String> = spread.ratios.iter().map(|r| format!("{r:.2}")).collect();
            rows.push(vec![
                format!("{} / {}", t.label(), first.label()),
                name.to_owned(),
                format!("{:.2}×", spread.median),
                format!("{:.2}×", spread.low),
                format!("{:.2}×", spread.high),
                if spread.spans_one() { "yes" } else { "no" }.to_owned(),
                rounds.join(" "),
            ]);
        }
    }
    (!rows.is_empty()).then(|| Table {
        head: [
            "ratio",
            "figure",
            "median",
            "lowest",
            "highest",
            "range holds 1",
            "per round",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
        word_columns: 2,
    })
}

/// Every round of every topology, in the order they ran.
pub(super) fn rounds(report: &Report) -> Table {
    let most = report
        .topologies
        .iter()
        .map(|t| t.rounds.len())
        .max()
        .unwrap_or(0);
    let mut rows = Vec::new();
    for i in 0..most {
        for t in &report.topologies {
            let Some(r) = t.rounds.get(i) else { continue };
            rows.push(vec![
                (i + 1).to_string(),
                t.label(),
                number(r.secs),
                count(r.requests),
                number(r.throughput_rps),
                number(r.p50_ms),
                number(r.p99_ms),
                r.cpu_secs.map_or_else(|| MISSING.to_owned(), number),
                r.cpu_ms_per_request
                    .map_or_else(|| MISSING.to_owned(), number),
            ]);
        }
    }
    Table {
        head: [
            "round",
            "topology",
            "s",
            "requests",
            "req/s",
            "p50 ms",
            "p99 ms",
            "CPU s",
            "CPU ms / request",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
        word_columns: 2,
    }
}

/// Failed answers by kind (`503`, `transport`), one column per topology; `None` when every
/// request succeeded everywhere.
pub(super) fn errors_by_kind(report: &Report) -> Option<Table> {
    let kinds: BTreeSet<&String> = report
        .topologies
        .iter()
        .flat_map(|t| t.load.errors.keys())
        .collect();
    if kinds.is_empty() {
        return None;
    }
    let mut head = vec!["error".to_owned()];
    head.extend(report.topologies.iter().map(|t| t.label()));
    let rows = kinds
        .into_iter()
        .map(|kind| {
            let mut row = vec![kind.clone()];
            row.extend(
                report
                    .topologies
                    .iter()
                    .map(|t| count(t.load.errors.get(kind).copied().unwrap_or(0))),
            );
            row
        })
        .collect();
    Some(Table {
        head,
        rows,
        word_columns: 1,
    })
}

/// Operation names in the order the topologies first mention them.
pub(super) fn operation_names(report: &Report) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for op in report.topologies.iter().flat_map(|t| &t.load.operations) {
        if !names.contains(&op.name.as_str()) {
            names.push(&op.name);
        }
    }
    names
}

/// One operation's latency, a row per topology that ran it.
pub(super) fn operation(report: &Report, name: &str) -> Table {
    let head = [
        "topology", "requests", "errors", "mean ms", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms",
        "max ms",
    ];
    let rows = report
        .topologies
        .iter()
        .flat_map(|t| {
            t.load
                .operations
                .iter()
                .filter(|op| op.name == name)
                .map(|op| {
                    let mut row = vec![t.label(), count(op.requests), count(op.errors)];
                    row.extend(latency_cells(&op.latency));
                    row
                })
        })
        .collect();
    Table {
        head: head.map(str::to_owned).to_vec(),
        rows,
        word_columns: 1,
    }
}

fn latency_cells(latency: &Latency) -> Vec<String> {
    let figures = [
        latency.mean_ms,
        latency.p50_ms,
        latency.p90_ms,
        latency.p99_ms,
        latency.p999_ms,
        latency.max_ms,
    ];
    figures
        .iter()
        .map(|&ms| {
            if latency.count > 0 {
                number(ms)
            } else {
                MISSING.to_owned()
            }
        })
        .collect()
}

/// CPU and memory of each process; a target without processes gets one row of dashes so
/// that its absence is visible rather than silent.
pub(super) fn processes(report: &Report) -> Table {
    let head = ["topology", "process (roles)", "CPU s", "peak RSS MiB"];
    let rows = report
        .topologies
        .iter()
        .flat_map(|t| {
            if t.processes.is_empty() {
                return vec![vec![
                    t.label(),
                    "not measured (external target)".to_owned(),
                    MISSING.to_owned(),
                    MISSING.to_owned(),
                ]];
            }
            t.processes
                .iter()
                .map(|p| {
                    vec![
                        t.label(),
                        p.roles.clone(),
                        number(p.cpu_secs),
                        number(mib(p.peak_rss_bytes)),
                    ]
                })
                .collect()
        })
        .collect();
    Table {
        head: head.map(str::to_owned).to_vec(),
        rows,
        word_columns: 2,
    }
}

/// A row label of the drill table and how to fill it in.
type DrillLine = (&'static str, fn(&DrillReport) -> String);

/// The failure drill in full, a column per topology that ran it; `None` when none did.
pub(super) fn drill(report: &Report) -> Option<Table> {
    let drilled = report.drilled();
    if drilled.is_empty() {
        return None;
    }
    let lines: [DrillLine; 12] = [
        ("payments down s", |d| number(d.outage_secs)),
        ("what failed", |d| {
            match (d.kind.as_str(), &d.killed_roles) {
                ("module", _) => "payments module (fault switch)".to_owned(),
                (_, Some(roles)) if d.killed_every_module => {
                    format!("process {roles}: every module")
                }
                (_, Some(roles)) => format!("process {roles}"),
                _ => "payments' process".to_owned(),
            }
        }),
        ("requests during outage", |d| {
            count(d.requests_during_outage)
        }),
        ("answered during outage", |d| count(d.ok_during_outage)),
        ("availability %", |d| percent(d.availability)),
        ("recovery s", |d| {
            d.recovery_secs
                .map_or_else(|| "not within the drill".to_owned(), number)
        }),
        ("orders examined", |d| count(d.orders)),
        ("exactly one payment", |d| count(d.settled_once)),
        ("unsettled", |d| count(d.unsettled)),
        ("charged twice", |d| count(d.charged_twice)),
        ("payments failed at s", |d| number(d.killed_at_secs)),
        ("payments back at s", |d| number(d.restarted_at_secs)),
    ];
    let mut head = vec!["".to_owned()];
    head.extend(drilled.iter().map(|(t, _)| t.label()));
    let mut rows: Vec<Vec<String>> = lines
        .iter()
        .map(|(label, show)| {
            let mut row = vec![(*label).to_owned()];
            row.extend(drilled.iter().map(|(_, d)| show(d)));
            row
        })
        .collect();
    // Availability per operation: which requests a payments fault reaches, in each shape.
    let mut names: Vec<&str> = Vec::new();
    for op in drilled.iter().flat_map(|(_, d)| &d.operations) {
        if !names.contains(&op.name.as_str()) {
            names.push(&op.name);
        }
    }
    for name in names {
        let mut row = vec![format!("{name} answered %")];
        row.extend(drilled.iter().map(|(_, d)| {
            d.operations
                .iter()
                .find(|op| op.name == name && op.requests > 0)
                .map_or_else(
                    || MISSING.to_owned(),
                    |op| {
                        format!(
                            "{} ({}/{})",
                            percent(op.ok as f64 / op.requests as f64),
                            count(op.ok),
                            count(op.requests)
                        )
                    },
                )
        }));
        rows.insert(5 + rows.len() - lines.len(), row);
    }
    Some(Table {
        head,
        rows,
        word_columns: 1,
    })
}
