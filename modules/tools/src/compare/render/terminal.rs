//! The side-by-side table `cleave compare` prints when it is done.

use super::tables::{self, Table};
use crate::compare::report::Report;

const GAP: &str = "  ";

/// The headline figures, a column per topology and, after each topology but the first, its
/// ratio to the first (`0.78×`). Missing figures are `–`.
pub fn terminal_table(report: &Report) -> String {
    let table = tables::comparison(report, |_| "x/first".to_owned());
    let mut out = aligned(&table);
    if report.topologies.len() > 1 {
        out.push_str(&format!(
            "x/first: the topology's figure divided by {}'s\n",
            report.topologies[0].name
        ));
    }
    out
}

/// Columns padded to their widest cell, counted in characters since `×` and `–` are one
/// column wide but several bytes long.
fn aligned(table: &Table) -> String {
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
