//! `report.md`: the figures as Markdown tables, readable as plain text and on a forge.

use std::fmt::Write;

use super::tables::{self, Layout, Table};
use super::{capacity, reading, sweep};
use crate::compare::report::Report;

/// The whole report as Markdown: settings, the comparison with ratios, latency per
/// operation, CPU and memory per process, and the failure drill in figures and words.
pub fn markdown(report: &Report) -> String {
    let mut md = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        md,
        "# cleave compare: {}\n",
        escape(&reading::title(report))
    );
    md.push_str("## Verdict\n\n");
    for sentence in super::verdict(report) {
        let _ = writeln!(md, "- {}", escape(&sentence));
    }
    let warnings = super::warnings(report);
    if !warnings.is_empty() {
        md.push('\n');
        for warning in &warnings {
            let _ = writeln!(md, "> **Warning:** {}", escape(warning));
            md.push_str(">\n");
        }
    }
    md.push('\n');
    for (label, value) in reading::settings(report) {
        let _ = writeln!(md, "- **{label}**: {}", escape(&value));
    }

    md.push_str("\n## Comparison\n\n");
    let first = report
        .topologies
        .first()
        .map(|t| t.label())
        .unwrap_or_default();
    let layout = Layout {
        arrows: false,
        ranges: true,
    };
    let comparison = tables::comparison(report, |name| format!("{name} / {first}"), layout);
    md.push_str(&table(&comparison));
    if report.topologies.len() > 1 {
        let _ = writeln!(
            md,
            "\nRatios divide a topology's figure by {}'s; rounds gives the lowest and \
             highest ratio over the rounds. Per request and per process are the fair \
             comparison; totals depend on how much each topology served.",
            escape(&first)
        );
    }

    if let Some(errors) = tables::errors_by_kind(report) {
        md.push_str("\nFailed answers by kind:\n\n");
        md.push_str(&table(&errors));
    }

    md.push_str("\n## How sure\n\n");
    md.push_str(
        "The rounds interleave the topologies, so each round's ratio compares them on the \
         same machine at the same time; where the lowest and highest include 1, the rounds \
         disagree on which is better.\n\n",
    );
    if let Some(spreads) = tables::spreads(report) {
        md.push_str(&table(&spreads));
        md.push('\n');
    }
    md.push_str(&table(&tables::rounds(report)));

    if let Some(knees) = sweep::knees(report) {
        md.push_str("\n## Where each shape breaks\n\n");
        if let Some(objective) = sweep::objective(report) {
            let _ = writeln!(md, "{}\n", escape(&objective));
        }
        md.push_str(&table(&knees));
        if let Some(steps) = sweep::steps(report) {
            md.push('\n');
            md.push_str(&table(&steps));
        }
    }
    if let Some(capacity) = capacity::table(report) {
        let rate = report.settings.target_rate.unwrap_or_default();
        let _ = writeln!(md, "\n## Cores for {} req/s\n", super::format::short(rate));
        md.push_str(&table(&capacity));
        if let Some(assumptions) = capacity::assumptions(report) {
            let _ = writeln!(md, "\n{}", escape(&assumptions));
        }
    }

    md.push_str("\n## Latency by operation\n");
    for name in tables::operation_names(report) {
        let _ = writeln!(md, "\n### {}\n", escape(name));
        md.push_str(&table(&tables::operation(report, name)));
    }

    md.push_str("\n## Processes\n\n");
    md.push_str(&table(&tables::processes(report)));

    md.push_str("\n## Failure drill\n\n");
    let (summary, per_topology) = reading::drill(report);
    let _ = writeln!(md, "{}\n", escape(&summary));
    for sentence in &per_topology {
        let _ = writeln!(md, "- {}", escape(sentence));
    }
    if let Some(drill) = tables::drill(report) {
        if !per_topology.is_empty() {
            md.push('\n');
        }
        md.push_str(&table(&drill));
    }
    md
}

fn table(table: &Table) -> String {
    let row = |cells: &[String]| {
        let cells: Vec<String> = cells.iter().map(|c| escape(c)).collect();
        format!("| {} |\n", cells.join(" | "))
    };
    let mut out = row(&table.head);
    let rule: Vec<&str> = (0..table.head.len())
        .map(|c| if c < table.word_columns { ":--" } else { "--:" })
        .collect();
    let _ = writeln!(out, "|{}|", rule.join("|"));
    for cells in &table.rows {
        out.push_str(&row(cells));
    }
    out
}

/// Topology and operation names are user input: a `|` would split a table cell, and `<`,
/// `*` or `_` would turn into markup. A backslash makes any of them literal.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '&' | '~' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
