//! What `cleave compare` prints when it is done: the verdict, the side-by-side table, and
//! the warnings.

use super::tables::{self, Layout, Table};
use super::{capacity, sweep};
use crate::compare::report::Report;

const GAP: &str = "  ";

/// The verdict, then the headline figures, a column per topology and, after each topology
/// but the first, its ratio to the first (`0.78×`) and, with two topologies, the range of
/// that ratio over the rounds. Missing figures are `–`. Then the warnings.
pub fn terminal_table(report: &Report) -> String {
    let (short, variants) = short_names(report);
    let report = &short;
    let mut out = String::new();
    for line in variants {
        out.push_str(&wrap(&line, 96));
    }
    for sentence in super::verdict(report) {
        out.push_str(&wrap(&sentence, 96));
    }
    out.push('\n');
    let layout = Layout {
        arrows: true,
        ranges: report.topologies.len() <= 2,
    };
    let table = tables::comparison(report, |_| "x/first".to_owned(), layout);
    out.push_str(&aligned(&table));
    let mut legend = "↑ higher is better, ↓ lower is better".to_owned();
    if report.topologies.len() > 1 {
        legend.push_str(&format!(
            "; x/first: the topology's figure divided by {}'s",
            report.topologies[0].label()
        ));
        if report.topologies.len() <= 2 {
            legend.push_str("; rounds: the lowest and highest of that ratio over the rounds");
        }
    }
    out.push_str(&wrap(&legend, 96));
    if let Some(table) = sweep::knees(report) {
        out.push('\n');
        out.push_str(&aligned(&table));
    }
    if let Some(table) = capacity::table(report) {
        out.push('\n');
        out.push_str(&aligned(&table));
        if let Some(assumptions) = capacity::assumptions(report) {
            out.push_str(&wrap(&assumptions, 96));
        }
    }
    let warnings = super::warnings(report);
    if !warnings.is_empty() {
        out.push('\n');
        for warning in warnings {
            out.push_str(&wrap(&format!("warning: {warning}"), 96));
        }
    }
    out
}

/// The report with each variant's settings out of its name, `microservices #2`, so that
/// columns stay narrow; and the lines that say what each such name stands for.
fn short_names(report: &Report) -> (Report, Vec<String>) {
    let mut short = report.clone();
    let mut lines = Vec::new();
    for (i, t) in short.topologies.iter_mut().enumerate() {
        if t.variant.is_empty() {
            continue;
        }
        let (long, name) = (t.label(), format!("{} #{}", t.name, i + 1));
        if let Some(curve) = short
            .sweep
            .as_mut()
            .and_then(|s| s.curves.iter_mut().find(|c| c.name == long))
        {
            curve.name = name.clone();
        }
        lines.push(format!("{name} is {long}"));
        t.name = name;
        t.variant.clear();
    }
    (short, lines)
}

/// `text` cut at spaces into lines of at most `width` characters, the lines after the
/// first indented.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = "  ".to_owned();
        }
        if !line.trim().is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// Columns padded to their widest cell, counted in characters since `×` and `–` are one
/// column wide but several bytes long.
pub(super) fn aligned(table: &Table) -> String {
    let columns = table.head.len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            std::iter::once(&table.head)
                .chain(&table.rows)
                .filter_map(|row| row.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |row: &[String]| {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, &width))| {
                if c < table.word_columns {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        format!("{}\n", cells.join(GAP).trim_end())
    };
    let rule_width = widths.iter().sum::<usize>() + GAP.len() * columns.saturating_sub(1);
    let mut out = line(&table.head);
    out.push_str(&"─".repeat(rule_width));
    out.push('\n');
    for row in &table.rows {
        out.push_str(&line(row));
    }
    out
}
