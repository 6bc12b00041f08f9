//! Pure geometry for the renderer: data ranges with padding, tick positions (with labelled axis
//! ends), and clipping of lines, polygons and points to a fixed plot range (plotters draws outside
//! its plot area otherwise).

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;

use super::style::drawable;

/// An f64 axis whose ticks (grid lines and labels) are chosen here, not by plotters: the same
/// mapping as plotters' `RangedCoordf64`, with `ticks` as its key points.
#[derive(Debug, Clone)]
pub(crate) struct TickedAxis {
    span: Span,
    ticks: Vec<f64>,
}

impl TickedAxis {
    /// An axis over `span` with grid lines and labels at `ticks` (values outside are dropped).
    pub(crate) fn new(span: Span, ticks: Vec<f64>) -> Self {
        let ticks = ticks.into_iter().filter(|t| span.contains(*t)).collect();
        Self { span, ticks }
    }
}

impl Ranged for TickedAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.span.lo..self.span.hi).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.max_num_points() == 0 || hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> Range<f64> {
        self.span.lo..self.span.hi
    }
}

/// Plotters' "nice" tick values over `span` (at most `max_ticks`).
pub(crate) fn nice_ticks(span: Span, max_ticks: usize) -> Vec<f64> {
    if max_ticks == 0 {
        return Vec::new();
    }
    RangedCoordf64::from(span.lo..span.hi).key_points(max_ticks)
}

/// Nice ticks plus both ends of the axis, so that a reader sees where the axis starts and stops
/// (a 7-day run reads 0 … 7, not 2, 4, 6). An interior tick closer to an end than `min_gap` (axis
/// units: the room one label needs) gives way to the end.
pub(crate) fn ticks_with_ends(span: Span, max_ticks: usize, min_gap: f64) -> Vec<f64> {
    if max_ticks == 0 {
        return Vec::new();
    }
    let gap = min_gap.max(0.0);
    let mut ticks = vec![span.lo];
    ticks.extend(nice_ticks(span, max_ticks).into_iter().filter(|t| *t - span.lo >= gap && span.hi - *t >= gap));
    if span.hi - span.lo >= gap {
        ticks.push(span.hi);
    }
    ticks
}

/// A closed numeric interval `lo < hi`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Span {
    pub lo: f64,
    pub hi: f64,
}

impl Span {
    pub(crate) fn contains(&self, v: f64) -> bool {
        v >= self.lo && v <= self.hi
    }

    pub(crate) fn clamp(&self, v: f64) -> f64 {
        v.clamp(self.lo, self.hi)
    }
}

/// Running min/max over drawable values.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Extent {
    min_max: Option<(f64, f64)>,
}

impl Extent {
    pub(crate) fn add(&mut self, v: f64) {
        if !drawable(v) {
            return;
        }
        self.min_max = Some(match self.min_max {
            None => (v, v),
            Some((lo, hi)) => (lo.min(v), hi.max(v)),
        });
    }

    pub(crate) fn get(&self) -> Option<(f64, f64)> {
        self.min_max
    }
}

/// Widens a degenerate interval (`lo == hi`) to a visible one around the value.
fn widen_degenerate(v: f64) -> (f64, f64) {
    let pad = if v == 0.0 { 1.0 } else { v.abs() * 0.05 };
    (v - pad, v + pad)
}

/// The x span: data extent without padding (lines start at the axis), degenerate widened.
pub(crate) fn x_span(data: (f64, f64), fixed: Option<(f64, f64)>) -> Span {
    let (lo, hi) = fixed.and_then(valid_fixed).unwrap_or(data);
    finish(lo, hi)
}

/// The y span: data extent padded by 5 % at both ends (not below zero when all data are
/// non-negative and zero is included), optionally including zero; degenerate widened.
pub(crate) fn y_span(data: (f64, f64), fixed: Option<(f64, f64)>, include_zero: bool) -> Span {
    if let Some((lo, hi)) = fixed.and_then(valid_fixed) {
        return finish(lo, hi);
    }
    let (mut lo, mut hi) = data;
    if include_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    if lo == hi {
        let (a, b) = widen_degenerate(lo);
        return finish(a, b);
    }
    let pad = (hi - lo) * 0.05;
    let padded_lo = if include_zero && lo == 0.0 { 0.0 } else { lo - pad };
    let padded_hi = if include_zero && hi == 0.0 { 0.0 } else { hi + pad };
    finish(padded_lo, padded_hi)
}

fn valid_fixed((a, b): (f64, f64)) -> Option<(f64, f64)> {
    (drawable(a) && drawable(b)).then_some((a.min(b), a.max(b)))
}

fn finish(lo: f64, hi: f64) -> Span {
    if lo < hi && (hi - lo).is_finite() {
        Span { lo, hi }
    } else {
        let (lo, hi) = widen_degenerate(lo);
        Span { lo, hi }
    }
}

/// Clips one segment to the box (Liang–Barsky). `None` when it lies outside.
fn clip_segment((x0, y0): (f64, f64), (x1, y1): (f64, f64), xs: Span, ys: Span) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (x1 - x0, y1 - y0);
    let mut t0 = 0.0f64;
    let mut t1 = 1.0f64;
    for (p, q) in [(-dx, x0 - xs.lo), (dx, xs.hi - x0), (-dy, y0 - ys.lo), (dy, ys.hi - y0)] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                if r > t1 {
                    return None;
                }
                t0 = t0.max(r);
            } else {
                if r < t0 {
                    return None;
                }
                t1 = t1.min(r);
            }
        }
    }
    Some(((x0 + t0 * dx, y0 + t0 * dy), (x0 + t1 * dx, y0 + t1 * dy)))
}

/// Clips a polyline (drawable points only) to the box, returning the visible runs. A lone
/// point inside the box is a run of one.
pub(crate) fn clip_polyline(points: &[(f64, f64)], xs: Span, ys: Span) -> Vec<Vec<(f64, f64)>> {
    let pts: Vec<(f64, f64)> = points.iter().copied().filter(|(x, y)| drawable(*x) && drawable(*y)).collect();
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    if pts.len() == 1 {
        if xs.contains(pts[0].0) && ys.contains(pts[0].1) {
            runs.push(pts);
        }
        return runs;
    }
    let mut current: Vec<(f64, f64)> = Vec::new();
    for w in pts.windows(2) {
        match clip_segment(w[0], w[1], xs, ys) {
            Some((a, b)) => {
                if current.last() != Some(&a) {
                    if !current.is_empty() {
                        runs.push(std::mem::take(&mut current));
                    }
                    current.push(a);
                }
                current.push(b);
            }
            None => {
                if !current.is_empty() {
                    runs.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// Clips a polygon to the box (Sutherland–Hodgman).
pub(crate) fn clip_polygon(points: &[(f64, f64)], xs: Span, ys: Span) -> Vec<(f64, f64)> {
    #[derive(Clone, Copy)]
    enum Edge {
        Left(f64),
        Right(f64),
        Bottom(f64),
        Top(f64),
    }
    fn inside(e: Edge, (x, y): (f64, f64)) -> bool {
        match e {
            Edge::Left(v) => x >= v,
            Edge::Right(v) => x <= v,
            Edge::Bottom(v) => y >= v,
            Edge::Top(v) => y <= v,
        }
    }
    fn cross(e: Edge, (x0, y0): (f64, f64), (x1, y1): (f64, f64)) -> (f64, f64) {
        match e {
            Edge::Left(v) | Edge::Right(v) => {
                let t = if x1 == x0 { 0.0 } else { (v - x0) / (x1 - x0) };
                (v, y0 + t * (y1 - y0))
            }
            Edge::Bottom(v) | Edge::Top(v) => {
                let t = if y1 == y0 { 0.0 } else { (v - y0) / (y1 - y0) };
                (x0 + t * (x1 - x0), v)
            }
        }
    }
    let mut out: Vec<(f64, f64)> = points.to_vec();
    for edge in [Edge::Left(xs.lo), Edge::Right(xs.hi), Edge::Bottom(ys.lo), Edge::Top(ys.hi)] {
        let input = std::mem::take(&mut out);
        let Some(&last) = input.last() else {
            break;
        };
        let mut prev = last;
        for &cur in &input {
            match (inside(edge, prev), inside(edge, cur)) {
                (true, true) => out.push(cur),
                (true, false) => out.push(cross(edge, prev, cur)),
                (false, true) => {
                    out.push(cross(edge, prev, cur));
                    out.push(cur);
                }
                (false, false) => {}
            }
            prev = cur;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNIT: Span = Span { lo: 0.0, hi: 1.0 };

    #[test]
    fn spans_pad_and_widen() {
        let s = y_span((5.0, 5.0), None, false);
        assert!(s.lo < 5.0 && s.hi > 5.0);
        let s = y_span((0.0, 0.0), None, false);
        assert_eq!((s.lo, s.hi), (-1.0, 1.0));
        let s = y_span((0.2, 0.8), None, true);
        assert_eq!(s.lo, 0.0);
        assert!(s.hi > 0.8);
        let s = x_span((3.0, 3.0), None);
        assert!(s.lo < 3.0 && s.hi > 3.0);
        let s = x_span((0.0, 10.0), Some((8.0, 2.0)));
        assert_eq!((s.lo, s.hi), (2.0, 8.0));
        let s = x_span((0.0, 10.0), Some((f64::NAN, 2.0)));
        assert_eq!((s.lo, s.hi), (0.0, 10.0));
    }

    #[test]
    fn axis_ends_are_ticks() {
        let week = Span { lo: 0.0, hi: 7.0 };
        let t = ticks_with_ends(week, 5, 0.5);
        assert_eq!(t.first(), Some(&0.0));
        assert_eq!(t.last(), Some(&7.0));
        assert!(t.windows(2).all(|w| w[1] - w[0] >= 0.5), "{t:?}");
        // An interior tick too close to an end gives way to it.
        let t = ticks_with_ends(Span { lo: 0.0, hi: 6.1 }, 4, 0.5);
        assert!(!t.contains(&6.0) && t.contains(&6.1), "{t:?}");
        assert!(ticks_with_ends(week, 0, 0.5).is_empty());
        let axis = TickedAxis::new(week, vec![-1.0, 0.0, 3.5, 7.0, 8.0]);
        assert_eq!(axis.key_points(plotters::coord::ranged1d::BoldPoints(5)), vec![0.0, 3.5, 7.0]);
        assert!(axis.key_points(5usize).is_empty(), "no light grid lines");
        assert_eq!(axis.map(&3.5, (0, 700)), 350);
    }

    #[test]
    fn polyline_clipping() {
        let runs = clip_polyline(&[(-1.0, 0.5), (0.5, 0.5), (2.0, 0.5)], UNIT, UNIT);
        assert_eq!(runs, vec![vec![(0.0, 0.5), (0.5, 0.5), (1.0, 0.5)]]);
        let runs = clip_polyline(&[(0.1, 0.5), (0.2, 5.0), (0.3, 0.5), (f64::NAN, 1.0)], UNIT, UNIT);
        assert_eq!(runs.len(), 2);
        assert_eq!(clip_polyline(&[(0.5, 0.5)], UNIT, UNIT).len(), 1);
        assert!(clip_polyline(&[(5.0, 0.5)], UNIT, UNIT).is_empty());
        assert!(clip_polyline(&[], UNIT, UNIT).is_empty());
    }

    #[test]
    fn polygon_clipping() {
        let poly = clip_polygon(&[(-1.0, 0.25), (2.0, 0.25), (2.0, 0.75), (-1.0, 0.75)], UNIT, UNIT);
        assert!(poly.iter().all(|(x, y)| UNIT.contains(*x) && UNIT.contains(*y)));
        assert_eq!(poly.len(), 4);
        assert!(clip_polygon(&[(5.0, 5.0), (6.0, 5.0), (6.0, 6.0)], UNIT, UNIT).is_empty());
    }
}
