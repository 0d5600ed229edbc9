//! The verdict: what the figures say, in a few plain sentences at the top of every report,
//! and the warnings that say how far to trust them. Each sentence is computed from the
//! figures. A difference whose rounds disagree on its direction is called noise rather
//! than a win; a difference under [`TIE`] is called a tie.

use super::format::{number, percent, short};
use super::spread::Spread;
use crate::compare::report::{DrillReport, Report, TopologyReport};

/// Ratios closer to 1 than this are the same figure.
const TIE: f64 = 0.05;

/// How a ratio between two topologies reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Judgement {
    /// Within [`TIE`] of 1.
    Tie,
    /// The rounds disagree on its direction: the difference is within the noise.
    Noise,
    /// A difference every round agrees on (or the only round showed).
    Differs,
}

/// Judges `ratio`, the second topology's figure over the first's, given its rounds.
pub(super) fn judge(ratio: f64, spread: Option<&Spread>) -> Judgement {
    let tie = (ratio - 1.0).abs() < TIE;
    match spread {
        _ if tie => Judgement::Tie,
        Some(spread) if spread.spans_one() => Judgement::Noise,
        _ => Judgement::Differs,
    }
}

/// `0.79×`, or `1.9×` for ratios far from 1.
fn times(ratio: f64) -> String {
    if ratio >= 10.0 {
        format!("{ratio:.0}×")
    } else if ratio >= 1.95 {
        format!("{ratio:.1}×")
    } else {
        format!("{ratio:.2}×")
    }
}

/// `; 0.75–0.82× over 4 rounds` when there were rounds to spread.
fn rounds(spread: Option<&Spread>) -> String {
    match spread {
        Some(s) if s.ratios.len() >= 2 => format!(
            "; {}–{} over {} rounds",
            times(s.low).trim_end_matches('×'),
            times(s.high),
            s.ratios.len()
        ),
        _ => String::new(),
    }
}

/// One comparison in words. `figure` names what is compared ("throughput"), `better_high`
/// whether more of it is better, `values` the two figures as shown with their unit.
pub(super) fn compare(
    first: &str,
    second: &str,
    figure: &str,
    better_high: bool,
    ratio: f64,
    spread: Option<&Spread>,
    values: (String, String),
) -> String {
    let (a, b) = values;
    match judge(ratio, spread) {
        Judgement::Tie => format!(
            "{second} and {first} are even on {figure}: {b} against {a}, within {}% ({}{}).",
            short(TIE * 100.0),
            times(ratio),
            rounds(spread)
        ),
        Judgement::Noise => format!(
            "On {figure} the difference is within the noise: {second} had {b} against {a} \
             ({}{}), but the rounds did not agree on its direction, so neither wins here.",
            times(ratio),
            rounds(spread)
        ),
        Judgement::Differs => {
            let second_wins = (ratio > 1.0) == better_high;
            let winner = if second_wins { second } else { first };
            format!(
                "{winner} is better on {figure}: {second} had {} {first}'s ({b} against {a}{}).",
                times(ratio),
                rounds(spread)
            )
        }
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    let (a, b) = (a?, b?);
    (a > 0.0 && a.is_finite() && b.is_finite()).then(|| b / a)
}

/// Three to six sentences per topology compared with the first; one sentence when there is
/// nothing to compare.
pub fn verdict(report: &Report) -> Vec<String> {
    let Some((first, others)) = report.topologies.split_first() else {
        return vec!["Nothing was measured.".to_owned()];
    };
    if others.is_empty() {
        return vec![format!(
            "{} served {} requests per second with a median latency of {} ms; give a second \
             topology to compare it with.",
            first.label(),
            number(first.load.throughput_rps),
            number(first.load.latency.p50_ms)
        )];
    }
    let mut sentences = Vec::new();
    for t in others {
        sentences.extend(against(report, first, t));
    }
    sentences.extend(drill(report));
    sentences
}

/// What `t` showed against `first`.
fn against(report: &Report, first: &TopologyReport, t: &TopologyReport) -> Vec<String> {
    let (a, b) = (first.label(), t.label());
    let spread = |i: usize| Spread::of(first, t, super::spread::figures()[i].1);
    let mut out = Vec::new();
    if let Some(r) = ratio(Some(first.load.throughput_rps), Some(t.load.throughput_rps)) {
        let spread = spread(0);
        let values = (
            format!("{} req/s", number(first.load.throughput_rps)),
            format!("{} req/s", number(t.load.throughput_rps)),
        );
        out.push(compare(
            &a,
            &b,
            "throughput",
            true,
            r,
            spread.as_ref(),
            values,
        ));
    }
    if let Some(r) = ratio(first.cpu_ms_per_request(), t.cpu_ms_per_request()) {
        let spread = spread(1);
        let values = (
            format!("{} ms", number(first.cpu_ms_per_request().unwrap_or(0.0))),
            format!("{} ms", number(t.cpu_ms_per_request().unwrap_or(0.0))),
        );
        let mut sentence = compare(&a, &b, "CPU per request", false, r, spread.as_ref(), values);
        if let Some(memory) = ratio(first.rss_bytes_per_krps(), t.rss_bytes_per_krps()) {
            sentence.pop();
            sentence.push_str(&format!(
                "; it held {} the memory per 1,000 req/s.",
                times(memory)
            ));
        }
        out.push(sentence);
    }
    let p50 = |t: &TopologyReport| (t.load.latency.count > 0).then_some(t.load.latency.p50_ms);
    if let Some(r) = ratio(p50(first), p50(t)) {
        let spread = spread(2);
        let values = (
            format!("{} ms", number(first.load.latency.p50_ms)),
            format!("{} ms", number(t.load.latency.p50_ms)),
        );
        out.push(compare(
            &a,
            &b,
            "median latency",
            false,
            r,
            spread.as_ref(),
            values,
        ));
    }
    if let Some(internal) = t.internal.as_ref().filter(|i| i.calls > 0) {
        out.push(format!(
            "Each public request of {b} crossed between its {} processes {} times on average, \
             carrying {} KB, where one process makes a function call.",
            t.processes.len(),
            short(internal.calls_per_request),
            short(internal.bytes_per_request / 1000.0)
        ));
    }
    if report.machine.busy {
        out.push(
            "The machine was busy while it ran (see the warnings): the ratios hold, as the \
             topologies took turns, but a small difference may be the machine's."
                .to_owned(),
        );
    }
    out
}

/// The drill in one sentence: availability of each topology, and what it means.
fn drill(report: &Report) -> Option<String> {
    let drilled = report.drilled();
    let (_, first) = drilled.first()?;
    let during = if first.kind == "module" {
        format!(
            "While the payments module alone was failing ({} s)",
            short(first.outage_secs)
        )
    } else {
        format!(
            "While the process holding payments was down ({} s)",
            short(first.outage_secs)
        )
    };
    let answered: Vec<String> = drilled
        .iter()
        .map(|(t, d)| format!("{} answered {}%", t.label(), percent(d.availability)))
        .collect();
    let mut sentence = format!("{during}, {}", join(&answered));
    let whole: Vec<String> = drilled
        .iter()
        .filter(|(_, d)| is_whole_process(d))
        .map(|(t, _)| t.label())
        .collect();
    let hit = affected(
        drilled
            .iter()
            .filter(|(_, d)| !is_whole_process(d))
            .map(|(_, d)| *d),
    );
    if !whole.is_empty() {
        sentence.push_str(&format!(
            ": in {} that process is every module, so killing it stops everything",
            join(&whole)
        ));
        if !hit.is_empty() && whole.len() < drilled.len() {
            sentence.push_str(&format!(", where elsewhere only {} failed", join(&hit)));
        }
    } else if !hit.is_empty() {
        sentence.push_str(&format!("; the requests that failed were {}", join(&hit)));
    } else {
        sentence.push_str("; no kind of request failed");
    }
    sentence.push('.');
    Some(sentence)
}

/// The killed process held every module: the monolith.
pub(super) fn is_whole_process(drill: &DrillReport) -> bool {
    drill.kind == "process" && drill.killed_every_module
}

/// Operations that lost more than 1 % of their answers in any of `drills`.
fn affected<'a>(drills: impl Iterator<Item = &'a DrillReport>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for d in drills {
        for op in &d.operations {
            if op.requests > 0
                && (op.ok as f64) < 0.99 * op.requests as f64
                && !names.contains(&op.name)
            {
                names.push(op.name.clone());
            }
        }
    }
    names
}

fn join(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Reasons to distrust a figure: noise in a ratio, too few rounds, a busy machine.
pub fn warnings(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    let m = &report.machine;
    if m.busy {
        let others = m
            .other_cpu_share
            .map(|share| {
                format!(
                    ", and other processes used {}% of the cores during it",
                    percent(share)
                )
            })
            .unwrap_or_default();
        out.push(format!(
            "The machine was busy: load average {} on {} cores before the run{others}.",
            short(m.load_before[0]),
            report.host.cores
        ));
    }
    if report.settings.rounds < 2 && report.topologies.len() > 1 {
        out.push(
            "One round only: nothing shows how much the ratios move; use --rounds 4 or more."
                .to_owned(),
        );
    }
    if let Some((first, others)) = report.topologies.split_first() {
        for t in others {
            for (name, figure) in super::spread::figures() {
                let Some(spread) = Spread::of(first, t, figure) else {
                    continue;
                };
                if spread.spans_one() && judge(spread.median, Some(&spread)) == Judgement::Noise {
                    out.push(format!(
                        "{} / {} {name}: the rounds ranged {}–{}, which includes 1: that \
                         difference is within the noise.",
                        t.label(),
                        first.label(),
                        times(spread.low).trim_end_matches('×'),
                        times(spread.high)
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spread(ratios: &[f64]) -> Option<Spread> {
        Spread::from_ratios(ratios.to_vec())
    }

    fn values() -> (String, String) {
        ("100 req/s".to_owned(), "79 req/s".to_owned())
    }

    #[test]
    fn a_difference_every_round_agrees_on_names_a_winner() {
        let s = spread(&[0.75, 0.82, 0.79]);
        assert_eq!(judge(0.79, s.as_ref()), Judgement::Differs);
        let text = compare(
            "monolith",
            "split",
            "throughput",
            true,
            0.79,
            s.as_ref(),
            values(),
        );
        assert_eq!(
            text,
            "monolith is better on throughput: split had 0.79× monolith's \
             (79 req/s against 100 req/s; 0.75–0.82× over 3 rounds)."
        );
        // Less is better for CPU: the second topology wins with a ratio under 1.
        let text = compare(
            "monolith",
            "split",
            "CPU per request",
            false,
            0.79,
            s.as_ref(),
            values(),
        );
        assert!(
            text.starts_with("split is better on CPU per request"),
            "{text}"
        );
    }

    #[test]
    fn rounds_that_disagree_make_it_noise_and_name_no_winner() {
        let s = spread(&[0.89, 1.03, 0.92]);
        assert_eq!(judge(0.92, s.as_ref()), Judgement::Noise);
        let text = compare(
            "monolith",
            "split",
            "p99 latency",
            false,
            0.92,
            s.as_ref(),
            values(),
        );
        assert!(text.contains("within the noise"), "{text}");
        assert!(text.contains("neither wins"), "{text}");
        assert!(!text.contains("is better"), "{text}");
    }

    #[test]
    fn a_ratio_near_one_is_a_tie_even_when_the_rounds_agree() {
        let s = spread(&[1.02, 1.03, 1.04]);
        assert_eq!(judge(1.03, s.as_ref()), Judgement::Tie);
        let text = compare(
            "monolith",
            "split",
            "throughput",
            true,
            1.03,
            s.as_ref(),
            values(),
        );
        assert!(
            text.starts_with("split and monolith are even on throughput"),
            "{text}"
        );
        assert_eq!(judge(0.97, None), Judgement::Tie);
        assert_eq!(
            judge(0.5, None),
            Judgement::Differs,
            "one round: the only evidence"
        );
    }
}
