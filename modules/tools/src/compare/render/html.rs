//! `report.html`: one file with its styles and charts inline and no script, so it opens
//! offline, attaches to an issue, and shows the same thing years later.

use std::fmt::Write;

use super::svg::escape;
use super::tables::{self, Layout, Table};
use super::{capacity, charts, curves, reading, sweep};
use crate::compare::report::Report;

const STYLE: &str = "
body { margin: 0; background: #fff; color: #24292f;
  font: 15px/1.5 system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 24px 24px 48px; }
h1 { font-size: 26px; margin: 0 0 2px; }
h2 { font-size: 20px; margin: 36px 0 8px; padding-bottom: 4px; border-bottom: 1px solid #d8dee4; }
h3 { font-size: 16px; margin: 20px 0 4px; }
.subtitle { color: #57606a; margin: 0 0 16px; font-size: 17px; }
.note { color: #57606a; font-size: 13px; margin: 4px 0 12px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dt { color: #57606a; }
dd { margin: 0; }
table { border-collapse: collapse; margin: 8px 0 12px; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 12px; border-bottom: 1px solid #d8dee4; text-align: left; white-space: nowrap; }
thead th { background: #f6f8fa; border-bottom: 2px solid #d0d7de; }
.figure { text-align: right; }
.verdict { font-size: 16px; background: #f6f8fa; border-left: 4px solid #0072B2; padding: 8px 16px; margin: 12px 0; }
.verdict li { margin: 4px 0; }
.warning { background: #fff8c5; border-left: 4px solid #bf8700; padding: 6px 12px; margin: 6px 0; }
svg { display: block; max-width: 100%; height: auto; margin: 12px 0 8px; }
";

/// The whole report as one self-contained HTML page: the Markdown report's tables plus
/// charts of latency, throughput, per-process resources and the failure drill.
pub fn html(report: &Report) -> String {
    let title = reading::title(report);
    let mut page = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>cleave compare: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <h1>cleave compare</h1>\n<p class=\"subtitle\">{}</p>\n",
        escape(&title),
        escape(&title)
    );

    page.push_str("<ul class=\"verdict\">\n");
    for sentence in super::verdict(report) {
        let _ = writeln!(page, "<li>{}</li>", escape(&sentence));
    }
    page.push_str("</ul>\n");
    for warning in super::warnings(report) {
        let _ = writeln!(
            page,
            "<p class=\"warning\"><strong>Warning:</strong> {}</p>",
            escape(&warning)
        );
    }

    page.push_str("<dl>\n");
    for (label, value) in reading::settings(report) {
        let _ = writeln!(page, "<dt>{label}</dt><dd>{}</dd>", escape(&value));
    }
    page.push_str("</dl>\n");

    page.push_str("<h2>Comparison</h2>\n");
    let first = report
        .topologies
        .first()
        .map(|t| t.label())
        .unwrap_or_default();
    let layout = Layout {
        arrows: false,
        ranges: true,
    };
    page.push_str(&table(&tables::comparison(
        report,
        |name| format!("{name} / {first}"),
        layout,
    )));
    if report.topologies.len() > 1 {
        let _ = writeln!(
            page,
            "<p class=\"note\">Ratios divide a topology's figure by {}'s; rounds gives the \
             lowest and highest ratio over the rounds. Per request and per process are the \
             fair comparison; totals depend on how much each topology served.</p>",
            escape(&first)
        );
    }
    if let Some(errors) = tables::errors_by_kind(report) {
        page.push_str("<h3>Failed answers by kind</h3>\n");
        page.push_str(&table(&errors));
    }
    page.push_str(&charts::throughput(report));

    page.push_str("<h2>How sure</h2>\n");
    page.push_str(
        "<p class=\"note\">The rounds interleave the topologies, so each round's ratio \
         compares them on the same machine at the same time; where the lowest and highest \
         include 1, the rounds disagree on which is better.</p>\n",
    );
    if let Some(spreads) = tables::spreads(report) {
        page.push_str(&table(&spreads));
    }
    page.push_str(&table(&tables::rounds(report)));

    page.push_str("<h2>Latency</h2>\n");
    page.push_str(&charts::latency(report));
    if let Some(chart) = curves::hdr(report) {
        page.push_str(&chart);
    }
    for name in tables::operation_names(report) {
        let _ = writeln!(page, "<h3>{}</h3>", escape(name));
        page.push_str(&table(&tables::operation(report, name)));
    }

    if let Some(knees) = sweep::knees(report) {
        page.push_str("<h2>Where each shape breaks</h2>\n");
        if let Some(objective) = sweep::objective(report) {
            let _ = writeln!(page, "<p>{}</p>", escape(&objective));
        }
        page.push_str(&table(&knees));
        if let Some(chart) = curves::sweep(report) {
            page.push_str(&chart);
        }
        if let Some(steps) = sweep::steps(report) {
            page.push_str(&table(&steps));
        }
    }
    if let Some(capacity) = capacity::table(report) {
        let rate = report.settings.target_rate.unwrap_or_default();
        let _ = writeln!(
            page,
            "<h2>Cores for {} req/s</h2>",
            super::format::short(rate)
        );
        page.push_str(&table(&capacity));
        if let Some(assumptions) = capacity::assumptions(report) {
            let _ = writeln!(page, "<p class=\"note\">{}</p>", escape(&assumptions));
        }
    }

    page.push_str("<h2>Processes</h2>\n");
    page.push_str(&table(&tables::processes(report)));
    match charts::resources(report) {
        Some(chart) => page.push_str(&chart),
        None => page.push_str(
            "<p class=\"note\">No process was measured: every topology was an external target.</p>\n",
        ),
    }

    page.push_str("<h2>Failure drill</h2>\n");
    let (summary, per_topology) = reading::drill(report);
    let _ = writeln!(page, "<p>{}</p>", escape(&summary));
    if !per_topology.is_empty() {
        page.push_str("<ul>\n");
        for sentence in &per_topology {
            let _ = writeln!(page, "<li>{}</li>", escape(sentence));
        }
        page.push_str("</ul>\n");
    }
    if let Some(drill) = tables::drill(report) {
        page.push_str(&table(&drill));
    }
    if let Some(chart) = charts::outage_timeline(report) {
        page.push_str(&chart);
    }

    page.push_str("</main>\n</body>\n</html>\n");
    page
}

fn table(table: &Table) -> String {
    let class = |c: usize| {
        if c < table.word_columns {
            ""
        } else {
            " class=\"figure\""
        }
    };
    let mut out = String::from("<table>\n<thead><tr>");
    for (c, cell) in table.head.iter().enumerate() {
        let _ = write!(out, "<th{}>{}</th>", class(c), escape(cell));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for (c, cell) in row.iter().enumerate() {
            let tag = if c == 0 { "th" } else { "td" };
            let _ = write!(out, "<{tag}{}>{}</{tag}>", class(c), escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}
