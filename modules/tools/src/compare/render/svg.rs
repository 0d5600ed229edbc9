//! A small SVG writer and the axis scales the charts share. Coordinates go through one
//! function that turns anything non-finite into 0 and text through one escape, so odd
//! figures (zero, NaN, a name like `a<b&c`) cannot break the document.

use std::fmt::Write;

use super::format::tick;

pub(super) const FONT: &str = "system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif";
pub(super) const INK: &str = "#24292f";
pub(super) const MUTED: &str = "#57606a";
pub(super) const GRID: &str = "#d8dee4";

#[derive(Clone, Copy)]
pub(super) enum Anchor {
    Start,
    Middle,
    End,
}

#[derive(Clone, Copy)]
pub(super) struct Font {
    pub(super) size: f64,
    pub(super) anchor: Anchor,
    pub(super) bold: bool,
    pub(super) fill: &'static str,
}

impl Font {
    pub(super) const fn plain(size: f64, anchor: Anchor) -> Self {
        Self {
            size,
            anchor,
            bold: false,
            fill: INK,
        }
    }

    pub(super) const fn bold(self) -> Self {
        Self { bold: true, ..self }
    }

    pub(super) const fn muted(self) -> Self {
        Self {
            fill: MUTED,
            ..self
        }
    }
}

pub(super) struct Svg {
    width: f64,
    body: String,
}

// Writing to a String cannot fail, hence the ignored `write!` results.
impl Svg {
    pub(super) fn new(width: f64) -> Self {
        Self {
            width,
            body: String::new(),
        }
    }

    /// A filled rectangle; `tip` shows on hover, the only interaction a script-free file has.
    pub(super) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, tip: Option<&str>) {
        let _ = write!(
            self.body,
            r#"<rect x="{}" y="{}" width="{}" height="{}" fill="{fill}">"#,
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0))
        );
        if let Some(tip) = tip {
            let _ = write!(self.body, "<title>{}</title>", escape(tip));
        }
        self.body.push_str("</rect>");
    }

    pub(super) fn line(&mut self, from: (f64, f64), to: (f64, f64), stroke: &str, dashed: bool) {
        let dash = if dashed {
            r#" stroke-dasharray="5 4""#
        } else {
            ""
        };
        let _ = write!(
            self.body,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{stroke}" stroke-width="1"{dash}/>"#,
            n(from.0),
            n(from.1),
            n(to.0),
            n(to.1)
        );
    }

    /// A line through `points`, with a tooltip.
    pub(super) fn polyline(
        &mut self,
        points: &[(f64, f64)],
        stroke: &str,
        dashed: bool,
        tip: &str,
    ) {
        let dash = if dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let points: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", n(*x), n(*y)))
            .collect();
        let _ = write!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="2"{dash}><title>{}</title></polyline>"#,
            points.join(" "),
            escape(tip)
        );
    }

    /// A dot at a point, with a tooltip.
    pub(super) fn dot(&mut self, x: f64, y: f64, fill: &str, tip: &str) {
        let _ = write!(
            self.body,
            r#"<circle cx="{}" cy="{}" r="3.5" fill="{fill}"><title>{}</title></circle>"#,
            n(x),
            n(y),
            escape(tip)
        );
    }

    pub(super) fn text(&mut self, x: f64, y: f64, font: Font, text: &str) {
        let anchor = match font.anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let weight = if font.bold {
            r#" font-weight="600""#
        } else {
            ""
        };
        let _ = write!(
            self.body,
            r#"<text x="{}" y="{}" font-size="{}" text-anchor="{anchor}" fill="{}"{weight}>{}</text>"#,
            n(x),
            n(y),
            n(font.size),
            font.fill,
            escape(text)
        );
    }

    /// Items as coloured squares and names, wrapped onto more lines when they do not fit
    /// between `x` and `right`. Returns the y below the legend.
    pub(super) fn legend(&mut self, items: &[(String, &str)], x: f64, y: f64, right: f64) -> f64 {
        let font = Font::plain(13.0, Anchor::Start);
        let (mut cx, mut cy) = (x, y);
        for (name, color) in items {
            let name = truncate(name, 48);
            let width = 18.0 + text_width(&name, font.size) + 22.0;
            if cx > x && cx + width > right {
                cx = x;
                cy += 20.0;
            }
            self.rect(cx, cy - 11.0, 12.0, 12.0, color, None);
            self.text(cx + 18.0, cy, font, &name);
            cx += width;
        }
        cy + 12.0
    }

    /// `label` names the chart for screen readers, since the figures are only drawn.
    pub(super) fn finish(self, height: f64, label: &str) -> String {
        format!(
            r#"<svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{}" font-family="{FONT}">{}</svg>"#,
            escape(label),
            self.body,
            w = n(self.width),
            h = n(height.max(1.0)),
        )
    }
}

/// Coordinates with one decimal, which is finer than a pixel; non-finite becomes 0.
fn n(x: f64) -> String {
    let x = if x.is_finite() { x } else { 0.0 };
    let text = format!("{x:.1}");
    match text.strip_suffix(".0") {
        Some(whole) if whole != "-0" => whole.to_owned(),
        Some(_) => "0".to_owned(),
        None => text,
    }
}

/// For text content and attribute values alike.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Rough width of a label in the chart font: SVG has no text measurement without a script,
/// and layout only needs to reserve enough room.
pub(super) fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.56
}

/// Long names (a URL, a many-process grouping) are cut to keep labels inside the chart;
/// the full name stays in the tooltip and the tables.
pub(super) fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
        format!("{kept}…")
    }
}

/// Maps figures onto `0.0..=1.0` of an axis.
pub(super) enum Scale {
    /// From 0 to `top`, with gridlines every `step`.
    Linear { top: f64, step: f64 },
    /// Powers of ten from `10^low` to `10^high`.
    Log { low: i32, high: i32 },
}

impl Scale {
    /// Ends at the lowest round number at or above `max` that splits into three to six
    /// round steps; an axis of nothing still spans 0..1.
    pub(super) fn linear(max: f64) -> Self {
        let max = if max.is_finite() && max > 0.0 {
            max
        } else {
            1.0
        };
        let magnitude = 10f64.powf(max.log10().floor());
        // The epsilon keeps 0.30000000000000004 / 0.1 from counting as four steps.
        let steps = |step: f64| (max / step - 1e-9).ceil().max(1.0);
        let (top, step) = [0.01, 0.1, 1.0]
            .iter()
            .flat_map(|decade| [1.0, 2.0, 2.5, 5.0].map(|m| m * decade * magnitude))
            .filter(|&step| (3.0..=6.0).contains(&steps(step)))
            .map(|step| (steps(step) * step, step))
            // Lowest top first; of equal tops, fewer gridlines.
            .min_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)))
            .unwrap_or((steps(magnitude) * magnitude, magnitude));
        Self::Linear { top, step }
    }

    /// Logarithmic when the figures span more than a factor of 20 — latency percentiles
    /// often do, and on a linear axis p50 would vanish next to p99.9.
    pub(super) fn fitting(values: impl IntoIterator<Item = f64>) -> Self {
        let positive: Vec<f64> = values
            .into_iter()
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let min = positive.iter().copied().fold(f64::INFINITY, f64::min);
        let max = positive.iter().copied().fold(0.0, f64::max);
        if positive.is_empty() || max / min < 20.0 {
            return Self::linear(max);
        }
        // Halving the minimum first keeps the smallest bar visible above the axis.
        let low = (min / 2.0).log10().floor() as i32;
        let high = (max.log10().ceil() as i32).max(low + 1);
        Self::Log { low, high }
    }

    /// Logarithmic whatever the spread, from the power of ten at or below the smallest
    /// figure to the one at or above the largest: for distributions, whose tail is the point.
    pub(super) fn log(values: impl IntoIterator<Item = f64>) -> Self {
        let positive: Vec<f64> = values
            .into_iter()
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let min = positive.iter().copied().fold(f64::INFINITY, f64::min);
        let max = positive.iter().copied().fold(0.0, f64::max);
        if positive.is_empty() {
            return Self::Log { low: 0, high: 1 };
        }
        let low = min.log10().floor() as i32;
        let high = (max.log10().ceil() as i32).max(low + 1);
        Self::Log { low, high }
    }

    pub(super) fn is_log(&self) -> bool {
        matches!(self, Self::Log { .. })
    }

    pub(super) fn fraction(&self, value: f64) -> f64 {
        if !value.is_finite() || value <= 0.0 {
            return 0.0;
        }
        let fraction = match *self {
            Self::Linear { top, .. } => value / top,
            Self::Log { low, high } => (value.log10() - f64::from(low)) / f64::from(high - low),
        };
        fraction.clamp(0.0, 1.0)
    }

    /// Gridline values with their labels.
    pub(super) fn ticks(&self) -> Vec<(f64, String)> {
        let values: Vec<f64> = match *self {
            Self::Linear { top, step } => {
                let steps = (top / step).round() as usize;
                (0..=steps).map(|i| i as f64 * step).collect()
            }
            Self::Log { low, high } => (low..=high).map(|e| 10f64.powi(e)).collect(),
        };
        values.into_iter().map(|v| (v, tick(v))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_scales_end_on_round_numbers() {
        let Scale::Linear { top, step } = Scale::linear(9630.0) else {
            panic!("linear")
        };
        assert_eq!((top, step), (10_000.0, 2500.0));
        let Scale::Linear { top, step } = Scale::linear(41.3) else {
            panic!("linear")
        };
        assert_eq!((top, step), (50.0, 10.0));
        let Scale::Linear { top, step } = Scale::linear(400.0) else {
            panic!("linear")
        };
        assert_eq!((top, step), (400.0, 100.0));
        let Scale::Linear { top, .. } = Scale::linear(0.0) else {
            panic!("linear")
        };
        assert_eq!(top, 1.0);
        assert_eq!(Scale::linear(f64::NAN).fraction(f64::NAN), 0.0);
    }

    #[test]
    fn wide_spreads_get_a_log_scale_that_shows_the_smallest_bar() {
        let scale = Scale::fitting([1.0, 4.0, 30.0, 120.0]);
        assert!(scale.is_log());
        assert!(scale.fraction(1.0) > 0.0);
        assert!(scale.fraction(120.0) <= 1.0 && scale.fraction(120.0) > scale.fraction(30.0));
        assert!(!Scale::fitting([0.0, 3.0, 5.0]).is_log());
        assert!(!Scale::fitting([]).is_log());
    }

    #[test]
    fn coordinates_are_always_numbers() {
        assert_eq!(n(f64::NAN), "0");
        assert_eq!(n(f64::NEG_INFINITY), "0");
        assert_eq!(n(-0.01), "0");
        assert_eq!(n(12.0), "12");
        assert_eq!(n(12.26), "12.3");
    }
}
