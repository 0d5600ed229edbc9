//! The line charts of `report.html`: the latency distribution of each topology as an HDR
//! percentile curve, and the sweep's latency against offered load. Both axes of both are
//! logarithmic: the tail and the knee are what they are for.

use super::charts::{legend_items, topology_color, MARGIN, TITLE, WIDTH};
use super::format::{number, short, tick};
use super::svg::{Anchor, Font, Scale, Svg, GRID, INK};
use crate::compare::report::Report;

/// The percentiles marked on the HDR chart's axis.
const MARKS: [(f64, &str); 7] = [
    (0.0, "0%"),
    (90.0, "90%"),
    (99.0, "99%"),
    (99.9, "99.9%"),
    (99.99, "99.99%"),
    (99.999, "99.999%"),
    (50.0, "50%"),
];
/// How far right the axis runs: 1 / (1 − 99.999 %) is 10⁵.
const NINES: f64 = 5.0;

/// Where a percentile sits on the HDR axis: the number of nines, log₁₀(1 / (1 − p)).
fn nines(percentile: f64) -> f64 {
    let rest = (1.0 - percentile / 100.0).max(10f64.powf(-NINES));
    (-rest.log10()).clamp(0.0, NINES)
}

fn y_rows(svg: &mut Svg, scale: &Scale, left: f64, right: f64, top: f64, bottom: f64) {
    for (value, label) in scale.ticks() {
        let y = bottom - scale.fraction(value) * (bottom - top);
        svg.line((left, y), (right, y), GRID, false);
        svg.text(
            left - 6.0,
            y + 4.0,
            Font::plain(11.0, Anchor::End).muted(),
            &label,
        );
    }
}

/// The latency at every percentile of all requests, one curve per topology; `None` when no
/// topology recorded a distribution.
pub(super) fn hdr(report: &Report) -> Option<String> {
    let measured: Vec<_> = report
        .topologies
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.load.distribution.is_empty())
        .collect();
    if measured.is_empty() {
        return None;
    }
    let scale = Scale::log(
        measured
            .iter()
            .flat_map(|(_, t)| t.load.distribution.iter().map(|q| q.ms)),
    );
    let mut svg = Svg::new(WIDTH);
    svg.text(MARGIN, 22.0, TITLE, "Latency by percentile (HDR)");
    let top = svg.legend(&legend_items(report), MARGIN, 48.0, WIDTH - MARGIN) + 28.0;
    let (left, right, bottom) = (64.0, WIDTH - MARGIN - 8.0, top + 280.0);
    svg.text(
        MARGIN,
        top - 12.0,
        Font::plain(11.0, Anchor::Start).muted(),
        "ms (log scale)",
    );
    y_rows(&mut svg, &scale, left, right, top, bottom);
    let x = |p: f64| left + nines(p) / NINES * (right - left);
    for (p, label) in MARKS {
        svg.line((x(p), top), (x(p), bottom), GRID, false);
        svg.text(
            x(p),
            bottom + 16.0,
            Font::plain(11.0, Anchor::Middle).muted(),
            label,
        );
    }
    for (i, t) in measured {
        let y = |ms: f64| bottom - scale.fraction(ms) * (bottom - top);
        let points: Vec<(f64, f64)> = t
            .load
            .distribution
            .iter()
            .filter(|q| q.percentile < 100.0)
            .map(|q| (x(q.percentile), y(q.ms)))
            .collect();
        svg.polyline(&points, topology_color(i), false, &t.label());
        for q in t.load.distribution.iter().filter(|q| q.percentile < 100.0) {
            let tip = format!(
                "{}: p{} = {} ms",
                t.label(),
                short(q.percentile),
                number(q.ms)
            );
            svg.dot(x(q.percentile), y(q.ms), topology_color(i), &tip);
        }
    }
    svg.line((left, bottom), (right, bottom), INK, false);
    svg.text(
        right,
        bottom + 34.0,
        Font::plain(11.0, Anchor::End).muted(),
        "percentile (log scale of 1 / (1 − p))",
    );
    Some(svg.finish(
        bottom + 44.0,
        "Latency at each percentile per topology, milliseconds, log scales",
    ))
}

/// p50 (dashed) and p99 (solid) against the offered rate, one colour per topology, the
/// objective as a line and each knee marked; `None` without a sweep.
pub(super) fn sweep(report: &Report) -> Option<String> {
    let sweep = report.sweep.as_ref()?;
    let points = || sweep.curves.iter().flat_map(|c| &c.points);
    points().next()?;
    let rates = Scale::log(points().map(|p| p.offered_rps));
    let latency = Scale::log(
        points()
            .flat_map(|p| [p.latency.p50_ms, p.latency.p99_ms])
            .chain([sweep.slo_p99_ms]),
    );
    let mut svg = Svg::new(WIDTH);
    svg.text(MARGIN, 22.0, TITLE, "Latency against offered load");
    let items: Vec<(String, &str)> = sweep
        .curves
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.clone(), topology_color(i)))
        .collect();
    let top = svg.legend(&items, MARGIN, 48.0, WIDTH - MARGIN) + 28.0;
    let (left, right, bottom) = (64.0, WIDTH - MARGIN - 8.0, top + 280.0);
    svg.text(
        MARGIN,
        top - 12.0,
        Font::plain(11.0, Anchor::Start).muted(),
        "ms (log scale) — solid p99, dashed p50",
    );
    y_rows(&mut svg, &latency, left, right, top, bottom);
    let x = |rate: f64| left + rates.fraction(rate) * (right - left);
    let y = |ms: f64| bottom - latency.fraction(ms) * (bottom - top);
    for (rate, label) in rates.ticks() {
        svg.line((x(rate), top), (x(rate), bottom), GRID, false);
        svg.text(
            x(rate),
            bottom + 16.0,
            Font::plain(11.0, Anchor::Middle).muted(),
            &label,
        );
    }
    let slo = y(sweep.slo_p99_ms);
    svg.line((left, slo), (right, slo), INK, true);
    svg.text(
        right,
        slo - 5.0,
        Font::plain(11.0, Anchor::End),
        &format!("objective: p99 ≤ {} ms", short(sweep.slo_p99_ms)),
    );
    for (i, curve) in sweep.curves.iter().enumerate() {
        let color = topology_color(i);
        for (get, dashed, name) in [
            (
                (|p: &crate::compare::report::SweepPoint| p.latency.p99_ms) as fn(&_) -> f64,
                false,
                "p99",
            ),
            (|p| p.latency.p50_ms, true, "p50"),
        ] {
            let line: Vec<(f64, f64)> = curve
                .points
                .iter()
                .map(|p| (x(p.offered_rps), y(get(p))))
                .collect();
            svg.polyline(&line, color, dashed, &format!("{} {name}", curve.name));
        }
        for p in &curve.points {
            let tip = format!(
                "{}: {} req/s offered, {} served, p50 {} ms, p99 {} ms",
                curve.name,
                number(p.offered_rps),
                number(p.achieved_rps),
                number(p.latency.p50_ms),
                number(p.latency.p99_ms)
            );
            svg.dot(x(p.offered_rps), y(p.latency.p99_ms), color, &tip);
        }
        if let Some(knee) = curve.knee_rps {
            svg.line((x(knee), top), (x(knee), bottom), color, true);
            svg.text(
                x(knee) + 4.0,
                top + 14.0 + 14.0 * i as f64,
                Font::plain(11.0, Anchor::Start),
                &format!("knee {}", tick(knee)),
            );
        }
    }
    svg.line((left, bottom), (right, bottom), INK, false);
    svg.text(
        right,
        bottom + 34.0,
        Font::plain(11.0, Anchor::End).muted(),
        "offered requests per second (log scale)",
    );
    Some(svg.finish(
        bottom + 44.0,
        "p50 and p99 latency against offered load per topology",
    ))
}
