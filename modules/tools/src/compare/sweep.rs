//! Where each shape breaks: the offered rate steps up, open loop, each step visiting the
//! topologies in turn, until every topology has missed the latency objective. The knee is
//! the highest rate that still met it. A topology that misses it at the first rate is
//! offered half as much, and half again, until it meets it, so that a slow machine still
//! gets a knee.

use std::time::Duration;

use super::load::{self, Mix, Plan};
use super::progress::Progress;
use super::report::{SweepCurve, SweepPoint, SweepReport};
use super::{cpu, latency, rss, CompareArgs, Subject};

/// Each step offers this many times the last.
const GROWTH: f64 = 1.5;
/// No sweep goes on past this many steps (100 req/s × 1.5¹⁹ ≈ 220,000 req/s).
const MAX_STEPS: usize = 20;
/// The lowest rate a sweep going down offers.
const MIN_RATE: f64 = 5.0;
/// Steps a sweep is expected to take, for the progress estimate.
pub(super) const EXPECTED_STEPS: u32 = 8;
/// Requests in flight the open loop allows before it waits (and counts the wait).
const IN_FLIGHT: usize = 512;
/// A step fails when more than this share of its requests fail…
const MAX_ERROR_SHARE: f64 = 0.01;
/// …or when it served less than this share of the offered rate.
const MIN_SERVED_SHARE: f64 = 0.9;

/// Whether a step met the objective.
pub fn meets(point: &SweepPoint, slo_p99_ms: f64) -> bool {
    point.requests > 0
        && point.latency.p99_ms <= slo_p99_ms
        && (point.errors as f64) <= MAX_ERROR_SHARE * point.requests as f64
        && point.achieved_rps >= MIN_SERVED_SHARE * point.offered_rps
}

/// The knee of a curve: the highest offered rate that met the objective before the first
/// that did not, and that first failing rate. Steps after a failure do not count, as a
/// lucky step past saturation says nothing about what the shape sustains.
pub fn knee(points: &[SweepPoint]) -> (Option<f64>, Option<f64>) {
    let mut sorted: Vec<&SweepPoint> = points.iter().collect();
    sorted.sort_by(|a, b| a.offered_rps.total_cmp(&b.offered_rps));
    let mut knee = None;
    for point in sorted {
        if !point.met_slo {
            return (knee, Some(point.offered_rps));
        }
        knee = Some(point.offered_rps);
    }
    (knee, None)
}

/// Sweeps every launched subject; subjects without processes are left out.
pub(super) async fn run(
    subjects: &mut [Subject],
    args: &CompareArgs,
    mix: Mix,
    progress: &mut Progress,
) -> SweepReport {
    let mut curves: Vec<SweepCurve> = subjects
        .iter()
        .map(|s| SweepCurve {
            name: s
                .report
                .as_ref()
                .map_or_else(|| s.name.clone(), |r| r.label()),
            points: Vec::new(),
            knee_rps: None,
            broke_at_rps: None,
        })
        .collect();
    // The next rate to offer each topology; `None` once its sweep is over.
    let mut next: Vec<Option<f64>> = subjects
        .iter()
        .map(|s| s.launched.is_some().then_some(args.sweep_from))
        .collect();
    for step in 1..=MAX_STEPS {
        if next.iter().all(Option::is_none) {
            break;
        }
        for ((subject, curve), next) in subjects.iter_mut().zip(&mut curves).zip(&mut next) {
            let Some(rate) = *next else { continue };
            progress.phase(
                &format!(
                    "sweep step {step}: {} req/s offered to {}",
                    rate.round(),
                    subject.name
                ),
                args.sweep_step,
            );
            let point = measure(subject, args, mix, rate).await;
            curve.points.push(point);
            *next = next_rate(&curve.points);
            // A backlog of events left by a step past the knee must not weigh on the next.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    for curve in &mut curves {
        (curve.knee_rps, curve.broke_at_rps) = knee(&curve.points);
    }
    SweepReport {
        slo_p99_ms: args.slo_p99_ms,
        step_secs: args.sweep_step.as_secs_f64(),
        curves,
    }
}

/// The rate to offer after `points` (in the order offered), or `None` when the sweep of
/// that topology is over: up while it meets the objective; down, halving, while it has
/// never met it; over once it met it and missed it both.
fn next_rate(points: &[SweepPoint]) -> Option<f64> {
    let last = points.last()?;
    let ever_met = points.iter().any(|p| p.met_slo);
    let ever_missed = points.iter().any(|p| !p.met_slo);
    match (last.met_slo, ever_met, ever_missed) {
        (true, _, true) | (false, true, _) => None,
        (true, _, false) => Some(last.offered_rps * GROWTH),
        (false, false, _) => Some(last.offered_rps / 2.0).filter(|r| *r >= MIN_RATE),
    }
}

/// Offers `rate` to `subject` for a step and measures what it served.
async fn measure(subject: &Subject, args: &CompareArgs, mix: Mix, rate: f64) -> SweepPoint {
    let plan = Plan {
        mix,
        concurrency: IN_FLIGHT,
        rate: Some(rate),
        duration: args.sweep_step,
    };
    let before = cpu(subject.launched.as_ref());
    let recording = load::run(&subject.target, plan, None).await;
    let used: f64 = cpu(subject.launched.as_ref())
        .iter()
        .zip(&before)
        .map(|(a, b)| a - b)
        .sum();
    let secs = recording.elapsed.as_secs_f64();
    let mut point = SweepPoint {
        offered_rps: rate,
        achieved_rps: if secs > 0.0 {
            recording.ok as f64 / secs
        } else {
            0.0
        },
        requests: recording.requests,
        errors: recording.requests - recording.ok,
        latency: latency(&recording.latency),
        cpu_ms_per_request: (recording.ok > 0).then(|| used * 1000.0 / recording.ok as f64),
        rss_bytes: rss(subject.launched.as_ref()),
        met_slo: false,
    };
    point.met_slo = meets(&point, args.slo_p99_ms);
    point
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::report::Latency;

    /// A shape that holds its latency until 1,000 req/s, then queues: p99 grows tenfold
    /// each step, and past 1,500 req/s it serves no more than that.
    fn hockey_stick(rate: f64) -> SweepPoint {
        let p99 = if rate <= 1000.0 {
            5.0 + rate / 1000.0
        } else {
            5.0 * 10f64.powf(rate / 1000.0)
        };
        let mut point = SweepPoint {
            offered_rps: rate,
            achieved_rps: rate.min(1500.0),
            requests: (rate * 3.0) as u64,
            errors: 0,
            latency: Latency {
                count: (rate * 3.0) as u64,
                p99_ms: p99,
                ..Latency::default()
            },
            cpu_ms_per_request: Some(0.5),
            rss_bytes: Some(30 << 20),
            met_slo: false,
        };
        point.met_slo = meets(&point, 100.0);
        point
    }

    fn profile(rates: &[f64]) -> Vec<SweepPoint> {
        rates.iter().map(|&r| hockey_stick(r)).collect()
    }

    #[test]
    fn the_knee_is_the_last_rate_within_the_objective() {
        let points = profile(&[100.0, 400.0, 900.0, 1000.0, 1200.0, 2000.0]);
        // 1,200 req/s: p99 = 5 × 10^1.2 ≈ 79 ms, still within 100 ms; 2,000: 500 ms.
        assert_eq!(knee(&points), (Some(1200.0), Some(2000.0)));
    }

    #[test]
    fn failures_and_a_short_rate_count_as_missing_the_objective() {
        let mut erring = hockey_stick(500.0);
        erring.errors = erring.requests / 50;
        assert!(!meets(&erring, 100.0), "2 % failed");
        let mut starved = hockey_stick(500.0);
        starved.achieved_rps = 400.0;
        assert!(!meets(&starved, 100.0), "80 % served");
        let mut idle = hockey_stick(500.0);
        idle.requests = 0;
        assert!(!meets(&idle, 100.0), "nothing measured");
    }

    #[test]
    fn a_lucky_step_past_the_knee_does_not_move_it() {
        let mut points = profile(&[100.0, 1200.0, 2000.0]);
        let mut lucky = hockey_stick(3000.0);
        lucky.met_slo = true;
        points.push(lucky);
        assert_eq!(knee(&points), (Some(1200.0), Some(2000.0)));
    }

    #[test]
    fn it_goes_up_until_it_misses_and_down_until_it_meets() {
        assert_eq!(next_rate(&profile(&[100.0, 150.0])), Some(225.0));
        assert_eq!(next_rate(&profile(&[1000.0, 1500.0, 2250.0])), None);
        assert_eq!(next_rate(&profile(&[4000.0])), Some(2000.0));
        assert_eq!(next_rate(&profile(&[4000.0, 2000.0])), Some(1000.0));
        let found = profile(&[4000.0, 2000.0, 1000.0]);
        assert_eq!(next_rate(&found), None);
        assert_eq!(knee(&found), (Some(1000.0), Some(2000.0)));
        let mut hopeless = hockey_stick(8.0);
        hopeless.met_slo = false;
        assert_eq!(
            next_rate(&[hopeless]),
            None,
            "no lower than {MIN_RATE} req/s"
        );
        assert_eq!(next_rate(&[]), None);
    }

    #[test]
    fn a_curve_that_never_or_always_meets_it() {
        assert_eq!(knee(&profile(&[2000.0, 3000.0])), (None, Some(2000.0)));
        assert_eq!(knee(&profile(&[100.0, 150.0, 225.0])), (Some(225.0), None));
        assert_eq!(knee(&[]), (None, None));
    }
}
