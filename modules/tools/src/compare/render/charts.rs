//! The four charts of `report.html`, as inline SVG. Each topology keeps one colour in
//! every chart so the legend of the first one serves them all.

use super::format::{count, mib, number, percent};
use super::svg::{text_width, truncate, Anchor, Font, Scale, Svg, GRID, INK};
use crate::compare::report::{DrillReport, Latency, Report, TopologyReport};

pub(super) const WIDTH: f64 = 960.0;
pub(super) const MARGIN: f64 = 16.0;

/// Okabe–Ito colours: distinguishable with the common kinds of colour blindness.
const PALETTE: [&str; 7] = [
    "#0072B2", "#E69F00", "#CC79A7", "#56B4E9", "#009E73", "#D55E00", "#999999",
];
const OK: &str = "#009E73";
const FAILED: &str = "#D55E00";
const OUTAGE: &str = "#eceff3";

pub(super) fn topology_color(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

pub(super) const TITLE: Font = Font::plain(15.0, Anchor::Start).bold();
const LABEL: Font = Font::plain(12.0, Anchor::Start);
const VALUE: Font = Font::plain(11.0, Anchor::Middle);

pub(super) fn legend_items(report: &Report) -> Vec<(String, &'static str)> {
    report
        .topologies
        .iter()
        .enumerate()
        .map(|(i, t)| (t.label(), topology_color(i)))
        .collect()
}

/// Horizontal gridlines with their values left of `left`, for vertical bars.
fn value_rows(svg: &mut Svg, scale: &Scale, left: f64, right: f64, top: f64, bottom: f64) {
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

/// Vertical gridlines with their values under `bottom`, for horizontal bars.
fn value_columns(svg: &mut Svg, scale: &Scale, left: f64, right: f64, top: f64, bottom: f64) {
    for (value, label) in scale.ticks() {
        let x = left + scale.fraction(value) * (right - left);
        svg.line((x, top), (x, bottom), GRID, false);
        svg.text(
            x,
            bottom + 14.0,
            Font::plain(11.0, Anchor::Middle).muted(),
            &label,
        );
    }
}

/// A percentile's name and how to read it.
type Percentile = (&'static str, fn(&Latency) -> f64);

/// Chart 1: p50, p90, p99 and p99.9 side by side, a bar per topology in each group.
pub(super) fn latency(report: &Report) -> String {
    let percentiles: [Percentile; 4] = [
        ("p50", |l| l.p50_ms),
        ("p90", |l| l.p90_ms),
        ("p99", |l| l.p99_ms),
        ("p99.9", |l| l.p999_ms),
    ];
    let measured = |t: &TopologyReport| (t.load.latency.count > 0).then_some(t.load.latency);
    let scale = Scale::fitting(
        report
            .topologies
            .iter()
            .filter_map(measured)
            .flat_map(|l| percentiles.map(|(_, get)| get(&l))),
    );

    let mut svg = Svg::new(WIDTH);
    svg.text(MARGIN, 22.0, TITLE, "Latency percentiles of all requests");
    let top = svg.legend(&legend_items(report), MARGIN, 48.0, WIDTH - MARGIN) + 28.0;
    let (left, right, bottom) = (64.0, WIDTH - MARGIN, top + 260.0);
    let unit = if scale.is_log() {
        "ms (log scale)"
    } else {
        "ms"
    };
    svg.text(
        MARGIN,
        top - 12.0,
        Font::plain(11.0, Anchor::Start).muted(),
        unit,
    );
    value_rows(&mut svg, &scale, left, right, top, bottom);

    let group_width = (right - left) / percentiles.len() as f64;
    let topologies = report.topologies.len().max(1) as f64;
    let bar = (group_width * 0.8 / topologies).min(64.0);
    for (g, (name, get)) in percentiles.iter().enumerate() {
        let center = left + (g as f64 + 0.5) * group_width;
        svg.text(
            center,
            bottom + 20.0,
            Font::plain(13.0, Anchor::Middle).bold(),
            name,
        );
        let start = center - bar * topologies / 2.0;
        for (i, t) in report.topologies.iter().enumerate() {
            let x = start + i as f64 * bar;
            let Some(latency) = measured(t) else {
                svg.text(x + bar / 2.0, bottom - 4.0, VALUE.muted(), "–");
                continue;
            };
            let ms = get(&latency);
            let height = scale.fraction(ms) * (bottom - top);
            let tip = format!("{}, {name}: {} ms", t.label(), number(ms));
            svg.rect(
                x + 1.0,
                bottom - height,
                bar - 2.0,
                height,
                topology_color(i),
                Some(&tip),
            );
            let label = number(ms);
            if text_width(&label, VALUE.size) <= bar + 4.0 {
                svg.text(x + bar / 2.0, bottom - height - 4.0, VALUE, &label);
            }
        }
    }
    svg.line((left, bottom), (right, bottom), INK, false);
    svg.finish(
        bottom + 34.0,
        "Latency percentiles per topology, milliseconds",
    )
}

/// Room for names left of horizontal bars: as wide as the longest, within reason.
fn label_column(names: impl IntoIterator<Item = usize>, font_size: f64) -> (f64, usize) {
    let longest = names.into_iter().max().unwrap_or(0).min(36);
    let width = (longest as f64 * font_size * 0.56 + 12.0).clamp(90.0, 260.0);
    (width, longest)
}

/// Chart 2: requests per second, a horizontal bar per topology.
pub(super) fn throughput(report: &Report) -> String {
    const ROW: f64 = 30.0;
    let (label_width, max_chars) = label_column(
        report.topologies.iter().map(|t| t.label().chars().count()),
        13.0,
    );
    let (left, right, top) = (MARGIN + label_width, WIDTH - 110.0, 40.0);
    let bottom = top + ROW * report.topologies.len().max(1) as f64;
    let scale = Scale::linear(
        report
            .topologies
            .iter()
            .map(|t| t.load.throughput_rps)
            .filter(|r| r.is_finite())
            .fold(0.0, f64::max),
    );

    let mut svg = Svg::new(WIDTH);
    svg.text(MARGIN, 22.0, TITLE, "Throughput, requests per second");
    value_columns(&mut svg, &scale, left, right, top, bottom);
    for (i, t) in report.topologies.iter().enumerate() {
        let y = top + i as f64 * ROW;
        svg.text(
            left - 8.0,
            y + ROW / 2.0 + 5.0,
            Font::plain(13.0, Anchor::End),
            &truncate(&t.label(), max_chars),
        );
        let rps = t.load.throughput_rps;
        let width = scale.fraction(rps) * (right - left);
        let tip = format!("{}: {} req/s", t.label(), number(rps));
        svg.rect(
            left,
            y + 5.0,
            width,
            ROW - 10.0,
            topology_color(i),
            Some(&tip),
        );
        svg.text(
            left + width + 6.0,
            y + ROW / 2.0 + 5.0,
            LABEL,
            &format!("{} req/s", number(rps)),
        );
    }
    svg.line((left, top), (left, bottom), INK, false);
    svg.finish(
        bottom + 26.0,
        "Throughput per topology, requests per second",
    )
}

/// Chart 3: CPU seconds and peak RSS of every process, two panels sharing the process
/// names, processes grouped under their topology. `None` when no process was measured.
pub(super) fn resources(report: &Report) -> Option<String> {
    const ROW: f64 = 24.0;
    const GAP: f64 = 64.0;
    let measured: Vec<(usize, &TopologyReport)> = report
        .topologies
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.processes.is_empty())
        .collect();
    if measured.is_empty() {
        return None;
    }
    let processes = || measured.iter().flat_map(|(_, t)| &t.processes);
    let (label_width, max_chars) = label_column(
        measured
            .iter()
            .map(|(_, t)| t.label().chars().count())
            .chain(processes().map(|p| p.roles.chars().count() + 2)),
        12.0,
    );
    let panel = (WIDTH - 2.0 * MARGIN - label_width - GAP - 56.0) / 2.0;
    let cpu_left = MARGIN + label_width;
    let rss_left = cpu_left + panel + GAP;
    let cpu = Scale::linear(processes().map(|p| p.cpu_secs).fold(0.0, finite_max));
    let rss = Scale::linear(
        processes()
            .map(|p| mib(p.peak_rss_bytes))
            .fold(0.0, finite_max),
    );

    let rows = measured.len() + processes().count();
    let top = 62.0;
    let bottom = top + rows as f64 * ROW;
    let mut svg = Svg::new(WIDTH);
    svg.text(MARGIN, 22.0, TITLE, "CPU time and peak memory per process");
    svg.text(cpu_left, top - 10.0, LABEL.bold(), "CPU seconds");
    svg.text(rss_left, top - 10.0, LABEL.bold(), "peak RSS, MiB");
    value_columns(&mut svg, &cpu, cpu_left, cpu_left + panel, top, bottom);
    value_columns(&mut svg, &rss, rss_left, rss_left + panel, top, bottom);

    let mut y = top;
    for (i, t) in measured {
        let color = topology_color(i);
        svg.rect(MARGIN, y + 7.0, 10.0, 10.0, color, None);
        svg.text(
            MARGIN + 16.0,
            y + 16.0,
            LABEL.bold(),
            &truncate(&t.label(), max_chars),
        );
        y += ROW;
        for p in &t.processes {
            svg.text(
                MARGIN + 16.0,
                y + 16.0,
                LABEL,
                &truncate(&p.roles, max_chars.saturating_sub(2)),
            );
            let bars = [
                (&cpu, cpu_left, p.cpu_secs, "CPU s"),
                (&rss, rss_left, mib(p.peak_rss_bytes), "MiB"),
            ];
            for (scale, left, value, unit) in bars {
                let width = scale.fraction(value) * panel;
                let tip = format!("{} · {}: {} {unit}", t.label(), p.roles, number(value));
                svg.rect(left, y + 4.0, width, ROW - 8.0, color, Some(&tip));
                svg.text(
                    left + width + 5.0,
                    y + 16.0,
                    Font::plain(11.0, Anchor::Start),
                    &number(value),
                );
            }
            y += ROW;
        }
    }
    svg.line((cpu_left, top), (cpu_left, bottom), INK, false);
    svg.line((rss_left, top), (rss_left, bottom), INK, false);
    Some(svg.finish(
        bottom + 26.0,
        "CPU seconds and peak resident memory per process",
    ))
}

fn finite_max(a: f64, b: f64) -> f64 {
    if b.is_finite() {
        a.max(b)
    } else {
        a
    }
}

/// Chart 4: each drill's answers over time, ok and failed stacked per slice, the outage
/// shaded between the kill and the restart. Panels share both axes so heights and
/// positions compare across topologies. `None` when no topology ran the drill.
pub(super) fn outage_timeline(report: &Report) -> Option<String> {
    const PANEL: f64 = 150.0;
    const PLOT: f64 = 96.0;
    let drilled = report.drilled();
    if drilled.is_empty() {
        return None;
    }
    let end = drilled
        .iter()
        .flat_map(|(_, d)| {
            let step = slice_secs(d);
            d.timeline
                .iter()
                .map(move |p| p.at_secs + step)
                .chain([d.killed_at_secs, d.restarted_at_secs])
        })
        .fold(0.0, finite_max);
    let time = Scale::linear(end);
    let answers = Scale::linear(
        drilled
            .iter()
            .flat_map(|(_, d)| &d.timeline)
            .map(|p| (p.ok + p.failed) as f64)
            .fold(0.0, f64::max),
    );

    let mut svg = Svg::new(WIDTH);
    svg.text(MARGIN, 22.0, TITLE, "Failure drill: answers per time slice");
    let items = [
        ("ok".to_owned(), OK),
        ("failed".to_owned(), FAILED),
        ("payments down".to_owned(), OUTAGE),
    ];
    let mut top = svg.legend(&items, MARGIN, 48.0, WIDTH - MARGIN) + 8.0;
    let (left, right) = (64.0, WIDTH - MARGIN);
    let x = |secs: f64| left + time.fraction(secs) * (right - left);
    for (t, d) in drilled {
        let (plot_top, bottom) = (top + 30.0, top + 30.0 + PLOT);
        svg.text(
            MARGIN,
            top + 16.0,
            LABEL.bold(),
            &format!(
                "{} — answered {}% while payments was down",
                truncate(&t.label(), 60),
                percent(d.availability)
            ),
        );
        let (killed, restarted) = (x(d.killed_at_secs), x(d.restarted_at_secs));
        svg.rect(
            killed,
            plot_top,
            restarted - killed,
            PLOT,
            OUTAGE,
            Some("payments down"),
        );
        value_rows(&mut svg, &answers, left, right, plot_top, bottom);

        let step = slice_secs(d);
        for p in &d.timeline {
            let (x0, x1) = (x(p.at_secs), x(p.at_secs + step));
            let width = (x1 - x0 - 1.0).max(1.0);
            let ok = answers.fraction(p.ok as f64) * PLOT;
            let failed = answers.fraction((p.ok + p.failed) as f64) * PLOT - ok;
            let tip = format!(
                "{}–{} s: {} ok, {} failed",
                number(p.at_secs),
                number(p.at_secs + step),
                count(p.ok),
                count(p.failed)
            );
            svg.rect(x0, bottom - ok, width, ok, OK, Some(&tip));
            svg.rect(x0, bottom - ok - failed, width, failed, FAILED, Some(&tip));
        }
        if d.timeline.is_empty() {
            svg.text(
                (left + right) / 2.0,
                plot_top + PLOT / 2.0,
                Font::plain(12.0, Anchor::Middle).muted(),
                "no slices recorded",
            );
        }

        let marker = Font::plain(11.0, Anchor::End).muted();
        svg.line((killed, plot_top - 6.0), (killed, bottom), INK, true);
        let (down, up) = if d.kind == "module" {
            ("payments failing", "recovered")
        } else {
            ("payments killed", "restarted")
        };
        svg.text(killed - 4.0, plot_top - 1.0, marker, down);
        svg.line((restarted, plot_top - 6.0), (restarted, bottom), INK, true);
        let back = Font {
            anchor: Anchor::Start,
            ..marker
        };
        svg.text(restarted + 4.0, plot_top - 1.0, back, up);
        svg.line((left, bottom), (right, bottom), INK, false);
        for (secs, label) in time.ticks() {
            svg.text(
                x(secs),
                bottom + 14.0,
                Font::plain(11.0, Anchor::Middle).muted(),
                &label,
            );
        }
        top += PANEL;
    }
    // Under the last panel's tick labels, which end just above `top`.
    svg.text(
        right,
        top + 8.0,
        Font::plain(11.0, Anchor::End).muted(),
        "seconds since the drill started",
    );
    Some(svg.finish(
        top + 16.0,
        "Requests answered and failed over time during the failure drill",
    ))
}

/// The slices' length: the smallest gap between them, or a second for a lone slice.
fn slice_secs(drill: &DrillReport) -> f64 {
    drill
        .timeline
        .windows(2)
        .map(|pair| pair[1].at_secs - pair[0].at_secs)
        .filter(|gap| gap.is_finite() && *gap > 0.0)
        .fold(None, |min: Option<f64>, gap| {
            Some(min.map_or(gap, |m| m.min(gap)))
        })
        .unwrap_or(1.0)
}
