//! The sweep in tables: each topology's knee, and every step.

use super::format::{count, number, percent, short};
use super::tables::Table;
use crate::compare::report::Report;

/// A row per topology: its knee and where it broke; `None` without a sweep.
pub(super) fn knees(report: &Report) -> Option<Table> {
    let sweep = report.sweep.as_ref()?;
    let rows = sweep
        .curves
        .iter()
        .map(|curve| {
            let at_knee = curve
                .knee_rps
                .and_then(|rate| curve.points.iter().find(|p| p.offered_rps == rate));
            vec![
                curve.name.clone(),
                curve
                    .knee_rps
                    .map_or_else(|| "below the first step".to_owned(), number),
                at_knee.map_or_else(|| "–".to_owned(), |p| number(p.latency.p99_ms)),
                curve
                    .broke_at_rps
                    .map_or_else(|| "not within the sweep".to_owned(), number),
            ]
        })
        .collect();
    Some(Table {
        head: vec![
            "topology".to_owned(),
            format!("knee req/s (p99 ≤ {} ms)", short(sweep.slo_p99_ms)),
            "p99 ms at the knee".to_owned(),
            "missed at req/s".to_owned(),
        ],
        rows,
        word_columns: 1,
    })
}

/// Every step of every topology.
pub(super) fn steps(report: &Report) -> Option<Table> {
    let sweep = report.sweep.as_ref()?;
    let rows = sweep
        .curves
        .iter()
        .flat_map(|curve| {
            curve.points.iter().map(|p| {
                vec![
                    curve.name.clone(),
                    number(p.offered_rps),
                    number(p.achieved_rps),
                    count(p.errors),
                    number(p.latency.p50_ms),
                    number(p.latency.p99_ms),
                    p.cpu_ms_per_request.map_or_else(|| "–".to_owned(), number),
                    if p.met_slo { "yes" } else { "no" }.to_owned(),
                ]
            })
        })
        .collect();
    Some(Table {
        head: [
            "topology",
            "offered req/s",
            "served req/s",
            "errors",
            "p50 ms",
            "p99 ms",
            "CPU ms / request",
            "met the objective",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
        word_columns: 1,
    })
}

/// The objective in words.
pub(super) fn objective(report: &Report) -> Option<String> {
    let sweep = report.sweep.as_ref()?;
    Some(format!(
        "Open loop, {} s per step, each step offering 1.5 times the last, the topologies \
         taking turns. A step meets the objective when its p99 is at most {} ms (from each \
         request's intended send time), under {}% of its requests fail, and it serves at \
         least 90% of the offered rate. The knee is the highest rate that met it before the \
         first that did not.",
        short(sweep.step_secs),
        short(sweep.slo_p99_ms),
        percent(0.01)
    ))
}
