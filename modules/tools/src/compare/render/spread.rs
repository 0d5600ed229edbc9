//! How sure a ratio is: the same ratio taken round by round. The rounds interleave the
//! topologies, so round *i* of one and round *i* of another met the same machine; the
//! spread of their ratios is the noise a difference must stand out from.

use crate::compare::report::{RoundReport, TopologyReport};

/// A figure of one round.
pub(super) type RoundFigure = fn(&RoundReport) -> Option<f64>;

/// The ratios of `t`'s rounds to `first`'s, round by round.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Spread {
    pub(super) ratios: Vec<f64>,
    pub(super) median: f64,
    pub(super) low: f64,
    pub(super) high: f64,
}

impl Spread {
    /// `None` unless at least one round of each has the figure.
    pub(super) fn of(
        first: &TopologyReport,
        t: &TopologyReport,
        figure: RoundFigure,
    ) -> Option<Self> {
        let ratios: Vec<f64> = first
            .rounds
            .iter()
            .zip(&t.rounds)
            .filter_map(|(a, b)| {
                let (a, b) = (figure(a)?, figure(b)?);
                (a > 0.0 && a.is_finite() && b.is_finite()).then(|| b / a)
            })
            .collect();
        Self::from_ratios(ratios)
    }

    pub(super) fn from_ratios(mut ratios: Vec<f64>) -> Option<Self> {
        if ratios.is_empty() {
            return None;
        }
        let mut sorted = ratios.clone();
        sorted.sort_by(f64::total_cmp);
        let middle = sorted.len() / 2;
        let median = if sorted.len().is_multiple_of(2) {
            (sorted[middle - 1] + sorted[middle]) / 2.0
        } else {
            sorted[middle]
        };
        let (low, high) = (sorted[0], sorted[sorted.len() - 1]);
        ratios.shrink_to_fit();
        Some(Self {
            ratios,
            median,
            low,
            high,
        })
    }

    /// Whether the rounds disagree on which side of 1 the ratio is: some had the second
    /// topology ahead, some behind. One round has no spread to tell.
    pub(super) fn spans_one(&self) -> bool {
        self.ratios.len() >= 2 && self.low <= 1.0 && self.high >= 1.0
    }
}

/// The per-round figures that have a spread, with their labels.
pub(super) fn figures() -> [(&'static str, RoundFigure); 4] {
    [
        ("throughput", |r| Some(r.throughput_rps)),
        ("CPU per request", |r| r.cpu_ms_per_request),
        ("median latency", |r| (r.ok > 0).then_some(r.p50_ms)),
        ("p99 latency", |r| (r.ok > 0).then_some(r.p99_ms)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_range_of_the_rounds() {
        let spread = Spread::from_ratios(vec![0.8, 0.7, 0.9, 0.75]).unwrap();
        assert!((spread.median - 0.775).abs() < 1e-9);
        assert_eq!((spread.low, spread.high), (0.7, 0.9));
        assert!(!spread.spans_one());
        assert!(Spread::from_ratios(vec![0.9, 1.1, 1.0])
            .unwrap()
            .spans_one());
        assert!(
            !Spread::from_ratios(vec![1.0]).unwrap().spans_one(),
            "one round tells nothing"
        );
        assert_eq!(Spread::from_ratios(Vec::new()), None);
    }
}
