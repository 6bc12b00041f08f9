//! Look of every chart: the colour palette, font sizes for full charts and panels, tick label
//! formatting and text fitting (truncation with an ellipsis). No drawing happens here.

use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Okabe–Ito colour-blind-friendly palette, ordered so that the first colours are the most
/// distinct on white. Palette indices in the chart model refer to this table (modulo its length).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
    RGBColor(240, 228, 66),  // yellow (last: low contrast on white)
];

/// Colours of reference lines without an explicit colour, in order of appearance.
const REF_COLORS: [RGBColor; 2] = [RGBColor(0, 0, 0), RGBColor(110, 110, 110)];

pub(crate) const TEXT: RGBColor = RGBColor(30, 30, 30);
pub(crate) const AXIS: RGBColor = RGBColor(90, 90, 90);
pub(crate) const GRID: RGBColor = RGBColor(226, 226, 226);
pub(crate) const NOTE: RGBColor = RGBColor(120, 120, 120);
/// Colour of x marks (period boundaries).
pub(crate) const MARK: RGBColor = RGBColor(150, 150, 150);
pub(crate) const LEGEND_BG: RGBColor = RGBColor(247, 247, 247);
pub(crate) const LEGEND_BORDER: RGBColor = RGBColor(190, 190, 190);

/// Font family registered with the embedded DejaVu Sans.
pub(crate) const FAMILY: &str = "sans-serif";

pub(crate) fn palette(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

pub(crate) fn ref_color(explicit: Option<usize>, order: usize) -> RGBColor {
    match explicit {
        Some(i) => palette(i),
        None if order < REF_COLORS.len() => REF_COLORS[order],
        None => palette(order - REF_COLORS.len()),
    }
}

/// Text sizes and tick counts for one plot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    pub title_px: u32,
    pub label_px: u32,
    pub tick_px: u32,
    pub legend_px: u32,
    pub x_ticks: usize,
    pub y_ticks: usize,
    pub line_px: u32,
}

/// A whole 1200×800 image holding one chart.
pub(crate) const FULL: Sizes =
    Sizes { title_px: 28, label_px: 20, tick_px: 17, legend_px: 18, x_ticks: 10, y_ticks: 8, line_px: 3 };

/// One panel of a grid.
pub(crate) const PANEL: Sizes =
    Sizes { title_px: 20, label_px: 16, tick_px: 14, legend_px: 18, x_ticks: 6, y_ticks: 5, line_px: 2 };

pub(crate) fn text(px: u32) -> TextStyle<'static> {
    TextStyle::from((FAMILY, px as f64).into_font()).color(&TEXT)
}

pub(crate) fn text_colored(px: u32, color: &'static RGBColor) -> TextStyle<'static> {
    TextStyle::from((FAMILY, px as f64).into_font()).color(color)
}

pub(crate) fn anchored(style: TextStyle<'static>, h: HPos, v: VPos) -> TextStyle<'static> {
    style.pos(Pos::new(h, v))
}

/// Largest magnitude the renderer accepts; beyond it a value counts as not drawable.
pub(crate) const MAX_ABS: f64 = 1e150;

pub(crate) fn drawable(v: f64) -> bool {
    v.is_finite() && v.abs() <= MAX_ABS
}

/// How tick labels of one axis are printed: a common scale suffix (k, M, G) and a fixed
/// number of decimals chosen from the actual tick step, so labels are short and distinct.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TickFormat {
    scale: f64,
    suffix: &'static str,
    decimals: usize,
    scientific: bool,
}

impl TickFormat {
    /// Format for an axis over `lo..hi` with at most `max_ticks` labels (plotters' own key
    /// points are used to learn the step).
    pub(crate) fn for_axis(lo: f64, hi: f64, max_ticks: usize) -> Self {
        let ticks = RangedCoordf64::from(lo..hi).key_points(max_ticks);
        let step = ticks.windows(2).map(|w| (w[1] - w[0]).abs()).find(|s| *s > 0.0).unwrap_or((hi - lo).abs());
        Self::for_step(lo.abs().max(hi.abs()), step)
    }

    pub(crate) fn for_step(max_abs: f64, step: f64) -> Self {
        let (scale, suffix) = if max_abs >= 1e9 {
            (1e9, "G")
        } else if max_abs >= 1e6 {
            (1e6, "M")
        } else if max_abs >= 1e5 {
            (1e3, "k")
        } else {
            (1.0, "")
        };
        let scaled_step = step / scale;
        let decimals = if scaled_step.is_finite() && scaled_step > 0.0 && scaled_step < 1.0 {
            (-scaled_step.log10() - 1e-9).ceil().max(0.0) as usize
        } else {
            0
        };
        Self { scale, suffix, decimals, scientific: decimals > 6 }
    }

    /// Like [`TickFormat::format`], with as many decimals as `v` needs up to three (an axis end
    /// such as 0.25 or 4.167 on an axis whose ticks are whole numbers).
    pub(crate) fn format_exact(&self, v: f64) -> String {
        if self.scientific {
            return self.format(v);
        }
        let scaled = v / self.scale;
        let most = self.decimals.max(3);
        let decimals = (self.decimals..=most)
            .find(|d| {
                let shown: f64 = format!("{scaled:.d$}", d = *d).parse().unwrap_or(f64::NAN);
                (shown - scaled).abs() <= 1e-9 * scaled.abs().max(1.0)
            })
            .unwrap_or(most);
        Self { decimals, ..*self }.format(v)
    }

    /// Decimals for the value labels of one chart whose largest absolute value is `max_abs`: three
    /// significant digits for that value in this axis's scale, the same for every label.
    pub(crate) fn value_decimals(&self, max_abs: f64) -> usize {
        let a = (max_abs / self.scale).abs();
        if !a.is_finite() || a == 0.0 { 0 } else { (2 - a.log10().floor() as i32).clamp(0, 4) as usize }
    }

    /// A value label (a bar's height) in this axis's scale with `decimals` decimals: the same
    /// suffix and decimals for every bar of a chart, so one chart never mixes `89601` with `504k`
    /// or `0.0737` with `0.13`.
    pub(crate) fn format_value(&self, v: f64, decimals: usize) -> String {
        if self.scientific || !v.is_finite() {
            return short_number(v);
        }
        let s = format!("{:.decimals$}", v / self.scale);
        if s.chars().all(|c| matches!(c, '0' | '.' | '-')) {
            return "0".to_owned();
        }
        format!("{s}{}", self.suffix)
    }

    pub(crate) fn format(&self, v: f64) -> String {
        if self.scientific {
            return format!("{v:.2e}");
        }
        let mut s = format!("{:.*}", self.decimals, v / self.scale);
        let is_zero = s.chars().all(|c| matches!(c, '0' | '.' | '-'));
        if is_zero && s.starts_with('-') {
            s.remove(0);
        }
        if is_zero && !self.suffix.is_empty() {
            return "0".to_owned();
        }
        s.push_str(self.suffix);
        s
    }
}

/// A value printed with about three significant digits (bar labels, legend values).
pub(crate) fn short_number(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let a = v.abs();
    if a == 0.0 {
        return "0".to_owned();
    }
    if a < 1e-3 {
        return format!("{v:.2e}");
    }
    let (scaled, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e5 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let a = scaled.abs();
    let decimals = (2 - a.log10().floor() as i32).clamp(0, 4) as usize;
    let s = format!("{scaled:.decimals$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.') } else { &s };
    format!("{s}{suffix}")
}

/// Cuts `s` so that `measure(s)` (pixel width) fits `max_px`, ending with "…" when cut.
pub(crate) fn fit_text(s: &str, max_px: u32, measure: &dyn Fn(&str) -> u32) -> String {
    if measure(s) <= max_px {
        return s.to_owned();
    }
    let chars: Vec<char> = s.chars().collect();
    // Binary search on the number of kept characters.
    let (mut lo, mut hi) = (0usize, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let candidate: String = chars[..mid].iter().chain(std::iter::once(&'…')).collect();
        if measure(&candidate) <= max_px {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut out: String = chars[..lo].iter().collect();
    out = out.trim_end().to_owned();
    out.push('…');
    out
}

/// Splits `s` into at most `max_lines` lines of width `max_px` at spaces; the last line is cut
/// with "…" if text remains.
pub(crate) fn wrap_text(s: &str, max_px: u32, max_lines: usize, measure: &dyn Fn(&str) -> u32) -> Vec<String> {
    // Tokens: words, and a word too wide for a line split after each `_` (`zip_buyers` →
    // `zip_` + `buyers`); `glued` tokens continue the previous one without a space.
    let mut tokens: Vec<(&str, bool)> = Vec::new();
    for word in s.split_whitespace() {
        if measure(word) <= max_px || !word.contains('_') {
            tokens.push((word, false));
            continue;
        }
        let mut start = 0;
        for (i, _) in word.match_indices('_') {
            if i + 1 < word.len() {
                tokens.push((&word[start..=i], start > 0));
                start = i + 1;
            }
        }
        tokens.push((&word[start..], start > 0));
    }
    // A token still too wide is hyphenated where it must be ("(colluder)" → "(collud-" + "er)").
    let mut pieces: Vec<(String, bool)> = Vec::new();
    for (token, glued) in tokens {
        if measure(token) <= max_px || token.chars().count() < 4 {
            pieces.push((token.to_owned(), glued));
            continue;
        }
        let mut chunk = String::new();
        let mut first = true;
        for c in token.chars() {
            let mut next = chunk.clone();
            next.push(c);
            if !chunk.is_empty() && measure(&format!("{next}-")) > max_px {
                pieces.push((format!("{chunk}-"), glued || !first));
                first = false;
                chunk = c.to_string();
            } else {
                chunk = next;
            }
        }
        pieces.push((chunk, glued || !first));
    }
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for (word, glued) in pieces {
        let word = word.as_str();
        if current.is_empty() {
            current = word.to_owned();
        } else {
            let candidate = if glued { format!("{current}{word}") } else { format!("{current} {word}") };
            if measure(&candidate) <= max_px {
                current = candidate;
            } else {
                lines.push(std::mem::replace(&mut current, word.to_owned()));
            }
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    let max_lines = max_lines.max(1);
    if lines.len() > max_lines {
        let rest = lines.split_off(max_lines - 1).join(" ");
        lines.push(rest);
    }
    lines.iter().map(|line| fit_text(line, max_px, measure)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_format_picks_decimals_from_step() {
        let f = TickFormat::for_axis(0.0, 1.0, 8);
        assert_eq!(f.format(0.2), "0.2");
        let f = TickFormat::for_axis(0.0, 1000.0, 8);
        assert_eq!(f.format(200.0), "200");
        let f = TickFormat::for_axis(0.0, 3_600_000.0, 8);
        assert_eq!(f.format(500_000.0), "0.5M");
        assert_eq!(f.format(0.0), "0");
        let f = TickFormat::for_axis(0.0, 250_000.0, 6);
        assert_eq!(f.format(50_000.0), "50k");
        let f = TickFormat::for_axis(99.0, 101.0, 8);
        assert_eq!(f.format(99.5), "99.5");
        let f = TickFormat::for_axis(-1.0, 1.0, 8);
        assert_eq!(f.format(-0.0), "0.0");
        let f = TickFormat::for_axis(0.0, 1e-9, 8);
        assert!(f.format(5e-10).contains('e'));
    }

    #[test]
    fn ends_and_values_share_the_axis_scale() {
        let f = TickFormat::for_step(7.0, 2.0);
        assert_eq!(f.format(2.0), "2");
        assert_eq!(f.format_exact(0.25), "0.25");
        assert_eq!(f.format_exact(7.0), "7");
        let k = TickFormat::for_step(500_000.0, 100_000.0);
        assert_eq!(k.format(500_000.0), "500k");
        let d = k.value_decimals(498_000.0);
        assert_eq!((k.format_value(85_520.0, d), k.format_value(498_000.0, d)), ("86k".into(), "498k".into()));
        assert_eq!(k.format_value(0.0, d), "0");
        let f = TickFormat::for_step(1.0, 0.2);
        let d = f.value_decimals(0.958);
        assert_eq!((f.format_value(0.0737, d), f.format_value(0.13, d)), ("0.074".into(), "0.130".into()));
        assert_eq!(f.format_value(-0.0002, d), "0");
    }

    #[test]
    fn short_numbers() {
        assert_eq!(short_number(0.0), "0");
        assert_eq!(short_number(0.9734), "0.973");
        assert_eq!(short_number(97.34), "97.3");
        assert_eq!(short_number(12345.0), "12345");
        assert_eq!(short_number(100.0), "100");
        assert_eq!(short_number(2_500_000.0), "2.5M");
        assert_eq!(short_number(-250_000.0), "-250k");
        assert_eq!(short_number(f64::NAN), "");
    }

    #[test]
    fn text_fitting() {
        let measure = |s: &str| s.chars().count() as u32 * 10;
        assert_eq!(fit_text("short", 100, &measure), "short");
        let cut = fit_text("a rather long label", 100, &measure);
        assert!(cut.ends_with('…') && measure(&cut) <= 100, "{cut}");
        let lines = wrap_text("one two three four five six", 100, 2, &measure);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| measure(l) <= 100), "{lines:?}");
        assert!(lines[1].ends_with('…'));
        assert_eq!(wrap_text("solo", 100, 2, &measure), vec!["solo"]);
        assert!(wrap_text("", 100, 2, &measure).is_empty());
    }
}
