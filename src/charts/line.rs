//! Drawing of line plots (a whole line chart, or one panel of a grid): colour assignment by
//! series name, axis ranges and tick formats, bands, scatter dots, reference lines, series
//! lines with markers for sparse data, and the "no data" frame.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::geometry::{
    Extent, Span, TickedAxis, clip_polygon, clip_polyline, nice_ticks, ticks_with_ends, x_span, y_span,
};
use super::legend::{LegendEntry, Swatch, push_unique};
use super::model::{BandStyle, LineChart};
use super::style::{self, AXIS, GRID, MARK, NOTE, Sizes, TickFormat, drawable};
use super::{ChartError, MAX_SCATTER_POINTS, draw_err};

/// Series drawn with point markers when they have at most this many points.
const MARKER_LIMIT: usize = 25;

/// Colour of every named line and scatter series, shared by all panels of one image so that
/// a name keeps its colour. Keys are (kind, name); unnamed series get their own key.
#[derive(Debug, Default)]
pub(crate) struct ColorMap {
    by_key: BTreeMap<(u8, String), usize>,
    next: usize,
}

const KIND_LINE: u8 = 0;
const KIND_DOT: u8 = 1;

impl ColorMap {
    pub(crate) fn for_charts<'a>(charts: impl IntoIterator<Item = &'a LineChart>) -> Self {
        let mut map = ColorMap::default();
        for (c, chart) in charts.into_iter().enumerate() {
            for (i, s) in chart.series.iter().enumerate() {
                map.assign(KIND_LINE, &s.name, (c, i), s.color);
            }
            for (i, s) in chart.scatter.iter().enumerate() {
                map.assign(KIND_DOT, &s.name, (c, i), s.color);
            }
        }
        map
    }

    fn key(kind: u8, name: &str, pos: (usize, usize)) -> (u8, String) {
        if name.trim().is_empty() { (kind, format!("\u{0}{}:{}", pos.0, pos.1)) } else { (kind, name.to_owned()) }
    }

    fn assign(&mut self, kind: u8, name: &str, pos: (usize, usize), explicit: Option<usize>) {
        let key = Self::key(kind, name, pos);
        if self.by_key.contains_key(&key) {
            return;
        }
        let index = match explicit {
            Some(i) => i,
            None => {
                self.next += 1;
                self.next - 1
            }
        };
        self.by_key.insert(key, index);
    }

    fn get(&self, kind: u8, name: &str, pos: (usize, usize)) -> RGBColor {
        style::palette(self.by_key.get(&Self::key(kind, name, pos)).copied().unwrap_or(0))
    }

    pub(crate) fn line(&self, chart: usize, chart_ref: &LineChart, i: usize) -> RGBColor {
        let name = chart_ref.series.get(i).map_or("", |s| s.name.as_str());
        self.get(KIND_LINE, name, (chart, i))
    }

    pub(crate) fn dot(&self, chart: usize, chart_ref: &LineChart, i: usize) -> RGBColor {
        let name = chart_ref.scatter.get(i).map_or("", |s| s.name.as_str());
        self.get(KIND_DOT, name, (chart, i))
    }
}

/// Every `stride`-th point so that at most [`MAX_SCATTER_POINTS`] remain; (points, stride).
fn thin(points: &[(f64, f64)]) -> (Vec<(f64, f64)>, usize) {
    let finite: Vec<(f64, f64)> = points.iter().copied().filter(|(x, y)| drawable(*x) && drawable(*y)).collect();
    let stride = finite.len().div_ceil(MAX_SCATTER_POINTS).max(1);
    (finite.into_iter().step_by(stride).collect(), stride)
}

/// Whether a band is wide enough to see: at least a tenth of its drawable points have
/// `upper > lower`. A band that is a single line almost everywhere (the equilibrium range when
/// supply and demand cross at one price) stays out of the legend, so no entry names something
/// the reader cannot find.
fn band_is_visible(band: &super::model::Band) -> bool {
    let drawn: Vec<f64> = band
        .points
        .iter()
        .filter(|(x, lo, hi)| drawable(*x) && drawable(*lo) && drawable(*hi))
        .map(|(_, lo, hi)| (hi - lo).abs())
        .collect();
    let wide = drawn.iter().filter(|w| **w > 0.0).count();
    !drawn.is_empty() && wide * 10 >= drawn.len()
}

/// Appends the legend entries of `chart` (drawn as chart number `index` of a ColorMap).
pub(crate) fn legend_entries(chart: &LineChart, index: usize, colors: &ColorMap, out: &mut Vec<LegendEntry>) {
    if chart.note.is_some() {
        // A panel showing a note draws none of its series.
        return;
    }
    for (i, s) in chart.series.iter().enumerate() {
        let color = colors.line(index, chart, i);
        push_unique(out, LegendEntry { swatch: Swatch::Line { color, dashed: s.dashed }, label: s.name.clone() });
        if let Some(band) = &s.band
            && let Some(label) = &band.label
            && band_is_visible(band)
        {
            let swatch = match band.style {
                BandStyle::Shaded => Swatch::Band(color),
                BandStyle::ErrorBars => Swatch::ErrorBar(color),
            };
            push_unique(out, LegendEntry { swatch, label: label.clone() });
        }
    }
    for (i, s) in chart.scatter.iter().enumerate() {
        let (_, stride) = thin(&s.points);
        let label = if stride > 1 && !s.name.trim().is_empty() {
            format!("{} (1 in {} shown)", s.name, stride)
        } else {
            s.name.clone()
        };
        push_unique(out, LegendEntry { swatch: Swatch::Dot(colors.dot(index, chart, i)), label });
    }
    for m in &chart.x_marks {
        if !m.label.trim().is_empty() {
            push_unique(out, LegendEntry { swatch: Swatch::Mark, label: m.label.clone() });
        }
    }
    for (i, r) in chart.ref_lines.iter().enumerate() {
        push_unique(
            out,
            LegendEntry {
                swatch: Swatch::Line { color: style::ref_color(r.color, i), dashed: true },
                label: r.label.clone(),
            },
        );
    }
}

/// Data extents of a chart, or `None` when it holds no drawable data point.
fn extents(chart: &LineChart) -> Option<((f64, f64), (f64, f64))> {
    let (mut xe, mut ye) = (Extent::default(), Extent::default());
    let mut add = |x: f64, y: f64| {
        if drawable(x) && drawable(y) {
            xe.add(x);
            ye.add(y);
        }
    };
    for s in &chart.series {
        for &(x, y) in &s.points {
            add(x, y);
        }
        if let Some(band) = &s.band {
            for &(x, lo, hi) in &band.points {
                if drawable(lo) && drawable(hi) {
                    add(x, lo);
                    add(x, hi);
                }
            }
        }
    }
    for s in &chart.scatter {
        for &(x, y) in &s.points {
            add(x, y);
        }
    }
    let x = xe.get()?;
    for r in &chart.ref_lines {
        ye.add(r.y);
    }
    Some((x, ye.get()?))
}

/// Title line of a plot (cut to the width), returns the remaining area below it.
/// The plot's frame shared by line and bar charts: fixed top and bottom margins, the given side
/// margins and label areas, and f64 coordinates over `xs` × `ys`.
pub(crate) fn plot_frame<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    (margin_l, margin_r): (u32, u32),
    (x_area, y_area): (u32, u32),
    x: TickedAxis,
    y: TickedAxis,
) -> Result<ChartContext<'a, DB, Cartesian2d<TickedAxis, TickedAxis>>, ChartError> {
    ChartBuilder::on(area)
        .margin_top(12)
        .margin_bottom(4)
        .margin_left(margin_l)
        .margin_right(margin_r)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x, y)
        .map_err(draw_err)
}

pub(crate) fn draw_title<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    px: u32,
) -> Result<DrawingArea<DB, Shift>, ChartError> {
    if title.trim().is_empty() {
        return Ok(area.clone());
    }
    let (w, _) = area.dim_in_pixel();
    let font = style::text(px);
    let measure = |s: &str| area.estimate_text_size(s, &font).map_or(u32::MAX, |(w, _)| w);
    let fitted = style::fit_text(title.trim(), w.saturating_sub(24), &measure);
    let height = px + px / 2 + 8;
    let (top, rest) = area.split_vertically(height);
    let anchored = style::anchored(font.clone(), HPos::Center, VPos::Center);
    top.draw_text(&fitted, &anchored, ((w / 2) as i32, (height / 2 + 3) as i32)).map_err(draw_err)?;
    Ok(rest)
}

/// Pixel width of the widest of `labels`.
fn widest_label<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, labels: &[String], px: u32) -> u32 {
    let font = style::text(px);
    labels.iter().map(|l| area.estimate_text_size(l, &font).map_or(px * 4, |(w, _)| w)).max().unwrap_or(0)
}

/// Explicit ticks inside `xs`, each labelled with the digits it needs, or `None` when their
/// labels would collide on a plot `plot_w` pixels wide.
fn fixed_x_ticks<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    xs: Span,
    ticks: &[f64],
    plot_w: u32,
    px: u32,
) -> Option<(Vec<f64>, Vec<String>)> {
    let mut ticks: Vec<f64> = ticks.iter().copied().filter(|t| drawable(*t) && xs.contains(*t)).collect();
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    if ticks.is_empty() {
        return None;
    }
    let fmt = TickFormat::for_axis(xs.lo, xs.hi, ticks.len().max(2));
    let labels: Vec<String> = ticks.iter().map(|t| fmt.format_exact(*t)).collect();
    let widest = widest_label(area, &labels, px) + 12;
    let fits = ticks.windows(2).all(|w| (w[1] - w[0]) / (xs.hi - xs.lo) * f64::from(plot_w) >= f64::from(widest));
    fits.then_some((ticks, labels))
}

/// The x ticks of a plot `plot_w` pixels wide, with both ends labelled, as many as fit: (ticks,
/// their labels). Interior ticks use the axis format; the ends as many decimals as they need.
fn x_ticks<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    xs: Span,
    (max_ticks, ends): (usize, bool),
    plot_w: u32,
    px: u32,
) -> (Vec<f64>, Vec<String>) {
    let mut n = max_ticks;
    loop {
        let fmt = TickFormat::for_axis(xs.lo, xs.hi, n.max(1));
        let label = |t: f64| if ends && (t == xs.lo || t == xs.hi) { fmt.format_exact(t) } else { fmt.format(t) };
        let interior: Vec<String> = nice_ticks(xs, n).into_iter().map(label).collect();
        let end_labels = if ends { vec![label(xs.lo), label(xs.hi)] } else { Vec::new() };
        let widest = widest_label(area, &interior, px).max(widest_label(area, &end_labels, px));
        let gap = f64::from(widest + 24) / f64::from(plot_w.max(1)) * (xs.hi - xs.lo);
        let ticks = if ends { ticks_with_ends(xs, n, gap) } else { nice_ticks(xs, n) };
        if n <= 2 || ticks.len() as u32 * (widest + 24) <= plot_w {
            let labels = ticks.iter().map(|t| label(*t)).collect();
            return (ticks, labels);
        }
        n -= 1;
    }
}

/// Draws one line plot with its title into `area` (legend drawn elsewhere); `x_title`: draw the
/// x axis title (a grid leaves it to the panel below when that repeats it).
pub(crate) fn draw_line_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &LineChart,
    index: usize,
    colors: &ColorMap,
    sizes: Sizes,
    x_title: bool,
) -> Result<(), ChartError> {
    let area = draw_title(area, &chart.title, sizes.title_px)?;
    let (w, h) = area.dim_in_pixel();
    let label_font = style::text(sizes.label_px);
    let measure_label = |s: &str| area.estimate_text_size(s, &label_font).map_or(u32::MAX, |(w, _)| w);

    let data = extents(chart).filter(|_| chart.note.is_none());
    let (xs, ys) = match data {
        Some((x, y)) => (x_span(x, chart.x_range), y_span(y, chart.y_range, chart.y_includes_zero)),
        None => (x_span((0.0, 1.0), chart.x_range), Span { lo: 0.0, hi: 1.0 }),
    };
    let y_ticks = if data.is_some() { sizes.y_ticks } else { 0 };
    let y_fmt = TickFormat::for_axis(ys.lo, ys.hi, y_ticks.max(1));
    let y_tick_values = nice_ticks(ys, y_ticks);
    let y_labels: Vec<String> = y_tick_values.iter().map(|v| y_fmt.format(*v)).collect();
    let y_desc_w = if chart.y_label.trim().is_empty() { 0 } else { sizes.label_px + 16 };
    let y_area = widest_label(&area, &y_labels, sizes.tick_px) + 14 + y_desc_w;
    let (margin_l, margin_r) = (10u32, 34u32);
    let plot_w = w.saturating_sub(y_area + margin_l + margin_r).max(50);
    // A note keeps a fixed x range's ticks (the time axis of an empty panel still reads 0 … 7).
    let x_max_ticks =
        if data.is_some() || (chart.note.is_some() && chart.x_range.is_some()) { sizes.x_ticks } else { 0 };
    let explicit = chart
        .x_ticks
        .as_deref()
        .filter(|_| x_max_ticks > 0)
        .and_then(|t| fixed_x_ticks(&area, xs, t, plot_w, sizes.tick_px));
    let (x_tick_values, x_labels) = match explicit {
        Some(ticks) => ticks,
        None => x_ticks(&area, xs, (x_max_ticks, chart.x_ends_labelled), plot_w, sizes.tick_px),
    };
    let x_label = if x_title { chart.x_label.trim() } else { "" };
    let x_desc_h = if x_label.is_empty() { 0 } else { sizes.label_px + 14 };
    let x_area = sizes.tick_px + 16 + x_desc_h;
    let plot_h = h.saturating_sub(x_area + 16).max(50);
    let x_desc = style::fit_text(x_label, plot_w, &measure_label);
    let y_desc = style::fit_text(chart.y_label.trim(), plot_h, &measure_label);

    let x_axis = TickedAxis::new(xs, x_tick_values.clone());
    let mut ctx =
        plot_frame(&area, (margin_l, margin_r), (x_area, y_area), x_axis, TickedAxis::new(ys, y_tick_values))?;
    let x_formatter =
        |v: &f64| x_tick_values.iter().position(|t| t == v).and_then(|i| x_labels.get(i).cloned()).unwrap_or_default();
    let y_formatter = |v: &f64| y_fmt.format(*v);
    ctx.configure_mesh()
        .x_labels(x_max_ticks + 2)
        .y_labels(y_ticks)
        .x_label_formatter(&x_formatter)
        .y_label_formatter(&y_formatter)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(style::text(sizes.tick_px))
        .axis_desc_style(style::text(sizes.label_px))
        .bold_line_style(GRID.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .axis_style(AXIS.stroke_width(1))
        .draw()
        .map_err(draw_err)?;

    if data.is_none() {
        let text = chart.note.as_deref().unwrap_or("no data");
        let note = style::anchored(style::text_colored(sizes.label_px + 2, &NOTE), HPos::Center, VPos::Center);
        let measure_note = |s: &str| area.estimate_text_size(s, &note).map_or(u32::MAX, |(w, _)| w);
        let fitted = style::fit_text(text, plot_w.saturating_sub(16), &measure_note);
        let centre = ((xs.lo + xs.hi) / 2.0, 0.5);
        ctx.plotting_area().draw(&Text::new(fitted, centre, note)).map_err(draw_err)?;
        return Ok(());
    }

    // Vertical marks (period boundaries), under the data.
    for m in &chart.x_marks {
        if drawable(m.x) && xs.contains(m.x) {
            ctx.draw_series(DashedLineSeries::new(vec![(m.x, ys.lo), (m.x, ys.hi)], 3, 4, MARK.stroke_width(2)))
                .map_err(draw_err)?;
        }
    }

    // Bands first, under everything else.
    for (i, s) in chart.series.iter().enumerate() {
        let Some(band) = &s.band else { continue };
        let color = colors.line(index, chart, i);
        let mut pts: Vec<(f64, f64, f64)> = band
            .points
            .iter()
            .filter(|(x, lo, hi)| drawable(*x) && drawable(*lo) && drawable(*hi))
            .map(|&(x, lo, hi)| (x, lo.min(hi), lo.max(hi)))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        if band.style == BandStyle::Shaded && pts.len() >= 2 {
            let mut outline: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.2)).collect();
            outline.extend(pts.iter().rev().map(|p| (p.0, p.1)));
            let clipped = clip_polygon(&outline, xs, ys);
            if clipped.len() >= 3 {
                ctx.draw_series(std::iter::once(Polygon::new(clipped, color.mix(0.2).filled()))).map_err(draw_err)?;
            }
        } else {
            let cap = (xs.hi - xs.lo) * 0.006;
            let style = color.mix(0.8).stroke_width(2);
            for (x, lo, hi) in pts {
                if !xs.contains(x) || hi < ys.lo || lo > ys.hi {
                    continue;
                }
                let (lo, hi) = (ys.clamp(lo), ys.clamp(hi));
                let paths = [
                    vec![(x, lo), (x, hi)],
                    vec![(xs.clamp(x - cap), lo), (xs.clamp(x + cap), lo)],
                    vec![(xs.clamp(x - cap), hi), (xs.clamp(x + cap), hi)],
                ];
                ctx.draw_series(paths.into_iter().map(|p| PathElement::new(p, style))).map_err(draw_err)?;
            }
        }
    }

    // Scatter dots, under the lines.
    let dot_radius = if sizes.line_px >= 3 { 3 } else { 2 };
    for (i, s) in chart.scatter.iter().enumerate() {
        let color = colors.dot(index, chart, i);
        let (pts, _) = thin(&s.points);
        ctx.draw_series(
            pts.into_iter()
                .filter(|(x, y)| xs.contains(*x) && ys.contains(*y))
                .map(|p| Circle::new(p, dot_radius, color.mix(0.35).filled())),
        )
        .map_err(draw_err)?;
    }

    // Reference lines.
    for (i, r) in chart.ref_lines.iter().enumerate() {
        if !drawable(r.y) || !ys.contains(r.y) {
            continue;
        }
        let color = style::ref_color(r.color, i);
        ctx.draw_series(DashedLineSeries::new(vec![(xs.lo, r.y), (xs.hi, r.y)], 10, 7, color.stroke_width(2)))
            .map_err(draw_err)?;
    }

    // Series lines, with markers when sparse.
    for (i, s) in chart.series.iter().enumerate() {
        let color = colors.line(index, chart, i);
        let line_style = color.stroke_width(sizes.line_px);
        let runs = clip_polyline(&s.points, xs, ys);
        for run in &runs {
            if run.len() < 2 {
                continue;
            }
            if s.dashed {
                ctx.draw_series(DashedLineSeries::new(run.iter().copied(), 12, 8, line_style)).map_err(draw_err)?;
            } else {
                ctx.draw_series(LineSeries::new(run.iter().copied(), line_style)).map_err(draw_err)?;
            }
        }
        let finite = s.points.iter().filter(|(x, y)| drawable(*x) && drawable(*y)).count();
        if finite <= MARKER_LIMIT {
            ctx.draw_series(
                s.points
                    .iter()
                    .copied()
                    .filter(|(x, y)| xs.contains(*x) && ys.contains(*y))
                    .map(|p| Circle::new(p, sizes.line_px + 2, color.filled())),
            )
            .map_err(draw_err)?;
        }
    }
    Ok(())
}
