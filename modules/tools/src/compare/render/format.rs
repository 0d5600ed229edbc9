//! Figures as people read them: a few significant digits, thousands grouped, ratios as
//! `0.78×`, and one dash for anything that was not measured.

/// Shown for a figure that does not exist (no processes to measure, no drill, no orders).
pub(super) const MISSING: &str = "–";

/// Three significant digits or so: enough to compare topologies, few enough to scan.
/// A non-finite figure (a rate over zero seconds) reads as missing rather than `NaN`.
pub(super) fn number(x: f64) -> String {
    if !x.is_finite() {
        return MISSING.to_owned();
    }
    let magnitude = x.abs();
    if magnitude >= 1000.0 {
        let sign = if x < 0.0 { "-" } else { "" };
        format!("{sign}{}", count(magnitude.round() as u64))
    } else if magnitude >= 100.0 {
        format!("{x:.0}")
    } else if magnitude >= 10.0 {
        format!("{x:.1}")
    } else if magnitude >= 1.0 {
        format!("{x:.2}")
    } else if magnitude == 0.0 {
        "0".to_owned()
    } else {
        format!("{x:.3}")
    }
}

/// [`number`] without trailing zeros, for figures in a sentence: `10 s`, `1.2 s`.
pub(super) fn short(x: f64) -> String {
    let text = number(x);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// `1234567` → `1,234,567`.
pub(super) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// A fraction as a percentage without the sign. Rounded down, so that 99.96% of requests
/// answered never reads as 100%, and anything above zero never reads as 0.
pub(super) fn percent(fraction: f64) -> String {
    if !fraction.is_finite() {
        return MISSING.to_owned();
    }
    // The epsilon keeps 0.57 (stored as 0.5699…) from flooring to 56.9.
    let tenths = (fraction * 1000.0 + 1e-9).floor() / 10.0;
    if fraction > 0.0 && tenths == 0.0 {
        "<0.1".to_owned()
    } else if tenths.fract() == 0.0 {
        format!("{tenths:.0}")
    } else {
        format!("{tenths:.1}")
    }
}

pub(super) fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// How a topology's figure compares with the first topology's: `0.78×`. A ratio to zero or
/// to a missing figure means nothing, so it is a dash.
pub(super) fn ratio(this: Option<f64>, first: Option<f64>) -> String {
    match (this, first) {
        (Some(this), Some(first)) if this.is_finite() && first.is_finite() && first > 0.0 => {
            let r = this / first;
            if r >= 100.0 {
                format!("{r:.0}×")
            } else if r >= 10.0 {
                format!("{r:.1}×")
            } else {
                format!("{r:.2}×")
            }
        }
        _ => MISSING.to_owned(),
    }
}

/// Axis labels: round values, so no trailing zeros (`0.5`, `10`, `2,500`).
pub(super) fn tick(x: f64) -> String {
    if x >= 1000.0 {
        count(x.round() as u64)
    } else if x > 0.0 && x < 0.001 {
        format!("{x:e}")
    } else {
        let fixed = format!("{x:.3}");
        fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// A run's wall time: seconds while short, minutes once seconds get hard to picture.
pub(super) fn duration(secs: f64) -> String {
    if !secs.is_finite() {
        MISSING.to_owned()
    } else if secs < 120.0 {
        format!("{} s", short(secs))
    } else {
        let whole = secs.round() as u64;
        format!("{} min {} s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_about_three_significant_digits() {
        assert_eq!(number(12345.4), "12,345");
        assert_eq!(number(412.4), "412");
        assert_eq!(number(41.24), "41.2");
        assert_eq!(number(4.124), "4.12");
        assert_eq!(number(0.4124), "0.412");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(f64::NAN), MISSING);
        assert_eq!(number(f64::INFINITY), MISSING);
        assert_eq!(short(10.0), "10");
        assert_eq!(short(1.20), "1.2");
        assert_eq!(short(1500.0), "1,500");
    }

    #[test]
    fn percentages_round_down_but_never_to_zero() {
        assert_eq!(percent(0.0), "0");
        assert_eq!(percent(1.0), "100");
        assert_eq!(percent(0.9996), "99.9");
        assert_eq!(percent(0.97), "97");
        assert_eq!(percent(0.57), "57");
        assert_eq!(percent(0.0004), "<0.1");
    }

    #[test]
    fn ratios_to_nothing_are_missing() {
        assert_eq!(ratio(Some(780.0), Some(1000.0)), "0.78×");
        assert_eq!(ratio(Some(4.0), Some(1.0)), "4.00×");
        assert_eq!(ratio(Some(1.0), Some(0.0)), MISSING);
        assert_eq!(ratio(None, Some(1.0)), MISSING);
        assert_eq!(ratio(Some(f64::NAN), Some(1.0)), MISSING);
    }

    #[test]
    fn ticks_have_no_trailing_zeros() {
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(10.0), "10");
        assert_eq!(tick(2500.0), "2,500");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(count(999), "999");
    }
}
