//! The report's tables as plain-text cells. The terminal, Markdown and HTML all show the
//! same figures; only the markup around the cells differs.

use std::collections::BTreeSet;

use super::format::{count, mib, number, percent, ratio, MISSING};
use crate::compare::report::{DrillReport, Latency, Report, TopologyReport};

pub(super) struct Table {
    pub(super) head: Vec<String>,
    pub(super) rows: Vec<Vec<String>>,
    /// The leading columns hold words and align left; the rest are figures.
    pub(super) word_columns: usize,
}

enum Metric {
    Figure {
        label: &'static str,
        value: fn(&TopologyReport) -> Option<f64>,
        show: fn(f64) -> String,
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
        },
        Figure {
            label: "latency p50 ms",
            value: |t| measured(&t.load.latency).map(|l| l.p50_ms),
            show: number,
        },
        Figure {
            label: "latency p90 ms",
            value: |t| measured(&t.load.latency).map(|l| l.p90_ms),
            show: number,
        },
        Figure {
            label: "latency p99 ms",
            value: |t| measured(&t.load.latency).map(|l| l.p99_ms),
            show: number,
        },
        Figure {
            label: "latency p99.9 ms",
            value: |t| measured(&t.load.latency).map(|l| l.p999_ms),
            show: number,
        },
        Figure {
            label: "latency max ms",
            value: |t| measured(&t.load.latency).map(|l| l.max_ms),
            show: number,
        },
        Figure {
            label: "errors",
            value: |t| Some(errors(t) as f64),
            show: |x| count(x as u64),
        },
        Figure {
            label: "placed→paid p50 ms",
            value: |t| measured(&t.settle.latency).map(|l| l.p50_ms),
            show: number,
        },
        Figure {
            label: "placed→paid p99 ms",
            value: |t| measured(&t.settle.latency).map(|l| l.p99_ms),
            show: number,
        },
        Figure {
            label: "CPU seconds total",
            value: |t| has_processes(t).then(|| t.cpu_secs_total()),
            show: number,
        },
        Figure {
            label: "peak RSS MiB total",
            value: |t| has_processes(t).then(|| mib(t.peak_rss_bytes_total())),
            show: number,
        },
        Figure {
            label: "processes",
            value: |t| has_processes(t).then_some(t.processes.len() as f64),
            show: |x| count(x as u64),
        },
        Figure {
            label: "internal calls / request",
            value: |t| t.internal.as_ref().map(|i| i.calls_per_request),
            show: number,
        },
        Figure {
            label: "internal bytes / request",
            value: |t| t.internal.as_ref().map(|i| i.bytes_per_request),
            show: number,
        },
        Figure {
            label: "drill availability %",
            value: |t| t.drill.as_ref().map(|d| d.availability * 100.0),
            show: |x| percent(x / 100.0),
        },
        Figure {
            label: "drill recovery s",
            value: |t| t.drill.as_ref().and_then(|d| d.recovery_secs),
            show: number,
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

/// The headline figures, one column per topology, each topology after the first followed
/// by its ratio to the first; `ratio_head` names that column.
pub(super) fn comparison(report: &Report, ratio_head: impl Fn(&str) -> String) -> Table {
    let mut head = vec!["".to_owned()];
    for (i, t) in report.topologies.iter().enumerate() {
        head.push(t.name.clone());
        if i > 0 {
            head.push(ratio_head(&t.name));
        }
    }
    let rows = metrics()
        .into_iter()
        .map(|metric| {
            let mut row = Vec::with_capacity(head.len());
            match metric {
                Metric::Figure { label, value, show } => {
                    row.push(label.to_owned());
                    let first = report.topologies.first().and_then(value);
                    for (i, t) in report.topologies.iter().enumerate() {
                        let this = value(t);
                        row.push(this.map_or_else(|| MISSING.to_owned(), show));
                        if i > 0 {
                            row.push(ratio(this, first));
                        }
                    }
                }
                Metric::Words { label, text } => {
                    row.push(label.to_owned());
                    for (i, t) in report.topologies.iter().enumerate() {
                        row.push(text(t));
                        if i > 0 {
                            row.push(String::new());
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
        word_columns: 1,
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
    head.extend(report.topologies.iter().map(|t| t.name.clone()));
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
                    let mut row = vec![t.name.clone(), count(op.requests), count(op.errors)];
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
                    t.name.clone(),
                    "not measured (external target)".to_owned(),
                    MISSING.to_owned(),
                    MISSING.to_owned(),
                ]];
            }
            t.processes
                .iter()
                .map(|p| {
                    vec![
                        t.name.clone(),
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
    let lines: [DrillLine; 11] = [
        ("payments down s", |d| number(d.outage_secs)),
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
        ("payments killed at s", |d| number(d.killed_at_secs)),
        ("payments restarted at s", |d| number(d.restarted_at_secs)),
    ];
    let mut head = vec!["".to_owned()];
    head.extend(drilled.iter().map(|(t, _)| t.name.clone()));
    let rows = lines
        .iter()
        .map(|(label, show)| {
            let mut row = vec![(*label).to_owned()];
            row.extend(drilled.iter().map(|(_, d)| show(d)));
            row
        })
        .collect();
    Some(Table {
        head,
        rows,
        word_columns: 1,
    })
}
