//! The report in words: how the run was set up, and what the failure drill showed. Every
//! claim is computed from the figures, so a run that turns out differently reads differently.

use super::format::{count, duration, percent, short};
use super::tables::exactly_once;
use crate::compare::report::{DrillReport, Report, TopologyReport};

/// `monolith vs microservices`.
pub(super) fn title(report: &Report) -> String {
    let names: Vec<String> = report.topologies.iter().map(|t| t.label()).collect();
    if names.is_empty() {
        "no topology".to_owned()
    } else {
        names.join(" vs ")
    }
}

/// Label and value of each setting that shapes the figures.
pub(super) fn settings(report: &Report) -> Vec<(&'static str, String)> {
    let s = &report.settings;
    let load = match s.rate {
        Some(rate) if s.mode == "open" => format!(
            "open loop: {} req/s offered, at most {} in flight",
            short(rate),
            s.concurrency
        ),
        _ if s.mode == "closed" => format!(
            "closed loop: {} clients, each sending its next request once answered",
            s.concurrency
        ),
        _ => format!("{}: concurrency {}", s.mode, s.concurrency),
    };
    let drill = match s.drill.as_str() {
        _ if s.drill_secs <= 0.0 => "skipped".to_owned(),
        "module" => format!(
            "the payments module alone failing for {} s, through its fault switch (module)",
            short(s.drill_secs)
        ),
        _ => format!(
            "the process holding payments killed for {} s (process)",
            short(s.drill_secs)
        ),
    };
    let m = &report.machine;
    let mut machine = format!(
        "load average {} before the run, up to {} during it",
        short(m.load_before[0]),
        short(m.load_during)
    );
    if let Some(share) = m.other_cpu_share {
        machine.push_str(&format!(
            "; other processes used {}% of the cores",
            percent(share)
        ));
    }
    if let Some(secs) = m.generator_cpu_secs {
        machine.push_str(&format!("; the load generator used {} CPU s", short(secs)));
    }
    if m.busy {
        machine.push_str(" (busy)");
    }
    vec![
        (
            "started",
            report
                .started_at
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
        ),
        ("whole run", duration(report.elapsed_secs)),
        (
            "host",
            format!(
                "{} cores{}, {}, cleave {}",
                report.host.cores,
                report
                    .host
                    .cpu_model
                    .as_deref()
                    .map(|model| format!(" ({model})"))
                    .unwrap_or_default(),
                report.host.os,
                report.host.cleave_version
            ),
        ),
        ("machine", machine),
        ("load", load),
        (
            "load time",
            format!(
                "{} per topology, in {} interleaved round{}",
                duration(s.duration_secs),
                s.rounds,
                if s.rounds == 1 { "" } else { "s" }
            ),
        ),
        ("request mix", mix(report)),
        ("failure drill", drill),
    ]
}

/// Weights as shares of the mix, which is what they mean: `get_order 50%, place_order 30%`.
fn mix(report: &Report) -> String {
    let mix = &report.settings.mix;
    let total: u64 = mix.values().map(|&w| u64::from(w)).sum();
    if total == 0 {
        return "none".to_owned();
    }
    mix.iter()
        .map(|(name, &weight)| {
            format!(
                "{name} {}%",
                short(f64::from(weight) * 100.0 / total as f64)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The drill in words: a summary comparing availability, then a sentence per topology
/// on how it recovered and whether every order was paid exactly once.
pub(super) fn drill(report: &Report) -> (String, Vec<String>) {
    let drilled = report.drilled();
    if drilled.is_empty() {
        let summary = if report.settings.drill_secs > 0.0 {
            "No topology ran the failure drill."
        } else {
            "The failure drill was skipped."
        };
        return (summary.to_owned(), Vec::new());
    }
    let per_topology = drilled.iter().map(|(t, d)| aftermath(t, d)).collect();
    (availability(&drilled), per_topology)
}

/// `While payments was down (10 s), monolith answered 0% of requests (0 of 1,180); …`,
/// and what was down: in a monolith, the process holding payments is every module.
fn availability(drilled: &[(&TopologyReport, &DrillReport)]) -> String {
    let first_outage = drilled[0].1.outage_secs;
    let same_outage = drilled
        .iter()
        .all(|(_, d)| (d.outage_secs - first_outage).abs() < 0.05);
    let what = if drilled[0].1.kind == "module" {
        "the payments module was failing"
    } else {
        "payments was down"
    };
    let during = if same_outage && first_outage.is_finite() {
        format!("While {what} ({} s),", short(first_outage))
    } else {
        format!("While {what},")
    };
    let clauses: Vec<String> = drilled
        .iter()
        .enumerate()
        .map(|(i, (t, d))| {
            if d.requests_during_outage == 0 {
                return format!("{} received no requests", t.label());
            }
            let of_requests = if i == 0 { " of requests" } else { "" };
            format!(
                "{} answered {}%{of_requests} ({} of {})",
                t.label(),
                percent(d.availability),
                count(d.ok_during_outage),
                count(d.requests_during_outage)
            )
        })
        .collect();
    let mut text = format!("{during} {}.", clauses.join("; "));
    for (t, d) in drilled {
        if d.kind == "module" {
            continue;
        }
        if super::verdict::is_whole_process(d) {
            text.push_str(&format!(
                " In {} the process holding payments is the whole application, so killing \
                 it took every module down, not payments alone; the module drill (--drill \
                 module) fails payments alone in any shape.",
                t.label()
            ));
        }
    }
    text
}

/// `microservices: every order placed so far had settled 1.2 s after payments came back;
/// each of the 1,020 orders examined had exactly one payment.`
fn aftermath(t: &TopologyReport, d: &DrillReport) -> String {
    let recovery = match d.recovery_secs {
        Some(secs) => format!(
            "every order placed so far had settled {} s after payments came back",
            short(secs)
        ),
        None => "orders placed had not all settled by the end of the drill".to_owned(),
    };
    let payments = if d.orders == 0 {
        "no orders were examined".to_owned()
    } else if exactly_once(d) {
        format!(
            "each of the {} orders examined had exactly one payment",
            count(d.orders)
        )
    } else {
        let mut flaws = Vec::new();
        if d.unsettled > 0 {
            flaws.push(format!("{} had none", count(d.unsettled)));
        }
        if d.charged_twice > 0 {
            flaws.push(format!("{} were charged twice", count(d.charged_twice)));
        }
        let mut text = format!(
            "only {} of the {} orders examined had exactly one payment",
            count(d.settled_once),
            count(d.orders)
        );
        if !flaws.is_empty() {
            text.push_str(&format!(" ({})", flaws.join(", ")));
        }
        text
    };
    format!("{}: {recovery}; {payments}.", t.label())
}
