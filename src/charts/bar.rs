//! Drawing of bar charts: one group per category, one bar per series, value labels above the
//! bars when they fit, category names under the groups (wrapped to two lines, cut with "…"),
//! a zero line for negative values and dashed reference lines.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::geometry::{Extent, Span, TickedAxis, nice_ticks, y_span};
use super::legend::{LegendEntry, Swatch};
use super::line::{draw_title, plot_frame};
use super::model::BarChart;
use super::style::{self, AXIS, GRID, NOTE, Sizes, TickFormat, drawable};
use super::{ChartError, draw_err};

/// Share of a category's width taken by its group of bars.
const GROUP_W: f64 = 0.8;

/// Palette colour of series `i`.
fn series_color(chart: &BarChart, i: usize) -> RGBColor {
    style::palette(chart.series.get(i).and_then(|s| s.color).unwrap_or(i))
}

/// Legend entries: one per series (none for a single series), plus reference lines.
pub(crate) fn legend_entries(chart: &BarChart) -> Vec<LegendEntry> {
    let mut out = Vec::new();
    if chart.note.is_some() {
        // A chart showing a note draws no bars.
        return out;
    }
    if chart.series.len() > 1 {
        for (i, s) in chart.series.iter().enumerate() {
            out.push(LegendEntry { swatch: Swatch::Bar(series_color(chart, i)), label: s.name.clone() });
        }
    }
    for (i, r) in chart.ref_lines.iter().enumerate() {
        out.push(LegendEntry {
            swatch: Swatch::Line { color: style::ref_color(r.color, i), dashed: true },
            label: r.label.clone(),
        });
    }
    out
}

/// Draws the bar chart with its title into `area` (legend drawn elsewhere).
pub(crate) fn draw_bar_plot<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &BarChart,
    sizes: Sizes,
) -> Result<(), ChartError> {
    let area = draw_title(area, &chart.title, sizes.title_px)?;
    let (w, h) = area.dim_in_pixel();
    let n_cat = chart.categories.len();
    let n_ser = chart.series.len();

    let mut extent = Extent::default();
    for s in &chart.series {
        for v in s.values.iter().take(n_cat) {
            extent.add(*v);
        }
    }
    let has_data = n_cat > 0 && extent.get().is_some() && chart.note.is_none();
    for r in &chart.ref_lines {
        extent.add(r.y);
    }
    let ys = match extent.get() {
        Some(data) if has_data => {
            let mut s = y_span(data, chart.y_range, true);
            if chart.show_values && chart.y_range.is_none() {
                // Headroom for the value labels.
                let room = (s.hi - s.lo) * 0.06;
                if s.hi > 0.0 {
                    s.hi += room;
                }
                if s.lo < 0.0 {
                    s.lo -= room;
                }
            }
            s
        }
        _ => Span { lo: 0.0, hi: 1.0 },
    };
    let xs = Span { lo: 0.0, hi: n_cat.max(1) as f64 };

    let y_ticks = if has_data { sizes.y_ticks } else { 0 };
    let y_fmt = TickFormat::for_axis(ys.lo, ys.hi, y_ticks.max(1));
    let tick_font = style::text(sizes.tick_px);
    let measure_tick = |s: &str| area.estimate_text_size(s, &tick_font).map_or(u32::MAX, |(w, _)| w);
    let label_font = style::text(sizes.label_px);
    let measure_label = |s: &str| area.estimate_text_size(s, &label_font).map_or(u32::MAX, |(w, _)| w);
    let y_tick_values = nice_ticks(ys, y_ticks);
    let widest_y = y_tick_values.iter().map(|v| measure_tick(&y_fmt.format(*v))).max().unwrap_or(0);
    let y_desc_w = if chart.y_label.trim().is_empty() { 0 } else { sizes.label_px + 16 };
    let y_area = widest_y + 14 + y_desc_w;
    let line_h = sizes.tick_px + 5;
    let x_desc_h = if chart.x_label.trim().is_empty() { 0 } else { sizes.label_px + 14 };
    // As many lines under the groups as the longest category name needs (at most five).
    let group_guess = (w.saturating_sub(120) / n_cat.max(1) as u32).saturating_sub(6).max(20);
    let cat_lines = category_lines(chart, group_guess, &measure_tick);
    let x_area = 10 + cat_lines as u32 * line_h + 10 + x_desc_h;
    let (margin_l, margin_r) = (10u32, 34u32);
    let plot_w = w.saturating_sub(y_area + margin_l + margin_r).max(50);
    let plot_h = h.saturating_sub(x_area + 16).max(50);
    let x_desc = style::fit_text(chart.x_label.trim(), plot_w, &measure_label);
    let y_desc = style::fit_text(chart.y_label.trim(), plot_h, &measure_label);

    let axes = (TickedAxis::new(xs, Vec::new()), TickedAxis::new(ys, y_tick_values));
    let mut ctx = plot_frame(&area, (margin_l, margin_r), (x_area, y_area), axes.0, axes.1)?;
    let y_formatter = |v: &f64| y_fmt.format(*v);
    ctx.configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_labels(y_ticks)
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

    if !has_data {
        let text = chart.note.as_deref().unwrap_or("no data");
        let note = style::anchored(style::text_colored(sizes.label_px + 2, &NOTE), HPos::Center, VPos::Center);
        let measure_note = |s: &str| area.estimate_text_size(s, &note).map_or(u32::MAX, |(w, _)| w);
        let fitted = style::fit_text(text, plot_w.saturating_sub(16), &measure_note);
        ctx.plotting_area().draw(&Text::new(fitted, (xs.hi / 2.0, 0.5), note)).map_err(draw_err)?;
        if chart.note.is_none() {
            return Ok(());
        }
        return draw_category_names(&area, &ctx, chart, ys, &measure_tick, sizes);
    }

    // Bars.
    // A disjoint chart draws one bar per category, in the slot of a single series.
    let slots = if chart.disjoint { 1 } else { n_ser.max(1) };
    let slot = |j: usize| if chart.disjoint { 0 } else { j };
    let bar_w = GROUP_W / slots as f64;
    let base = ys.clamp(0.0);
    let bar_px = {
        let a = ctx.backend_coord(&(0.0, base));
        let b = ctx.backend_coord(&(bar_w, base));
        (b.0 - a.0).unsigned_abs()
    };
    for (j, s) in chart.series.iter().enumerate() {
        let color = series_color(chart, j);
        let bars = s.values.iter().take(n_cat).enumerate().filter(|(_, v)| drawable(**v)).map(|(c, &v)| {
            let x0 = c as f64 + (1.0 - GROUP_W) / 2.0 + slot(j) as f64 * bar_w;
            let x1 = x0 + bar_w * 0.92;
            Rectangle::new([(x0, base), (x1, ys.clamp(v))], color.filled())
        });
        ctx.draw_series(bars).map_err(draw_err)?;
    }
    if ys.lo < 0.0 && ys.hi > 0.0 {
        ctx.draw_series(std::iter::once(PathElement::new(vec![(xs.lo, 0.0), (xs.hi, 0.0)], AXIS.stroke_width(1))))
            .map_err(draw_err)?;
    }

    // Value labels, only if every label fits over its bar.
    if chart.show_values {
        let value_px = sizes.tick_px.saturating_sub(2).max(10);
        let value_font = style::text(value_px);
        // (x, value, text, missing): a missing or non-finite value is marked "n/a" at the base.
        let max_abs = chart
            .series
            .iter()
            .flat_map(|s| s.values.iter().take(n_cat))
            .filter(|v| drawable(**v))
            .fold(0.0f64, |m, v| m.max(v.abs()));
        let decimals = y_fmt.value_decimals(max_abs);
        let labels: Vec<(f64, f64, String, bool)> = chart
            .series
            .iter()
            .enumerate()
            .flat_map(|(j, s)| {
                let slot = &slot;
                let y_fmt = &y_fmt;
                (0..n_cat).filter_map(move |c| {
                    let x = c as f64 + (1.0 - GROUP_W) / 2.0 + (slot(j) as f64 + 0.46) * bar_w;
                    match s.values.get(c).copied().filter(|v| drawable(*v)) {
                        Some(v) => Some((x, v, y_fmt.format_value(v, decimals), false)),
                        // In a disjoint chart the other series' gaps are expected, not missing.
                        None if chart.disjoint => None,
                        None => Some((x, base, "n/a".to_owned(), true)),
                    }
                })
            })
            .collect();
        let fits = labels
            .iter()
            .all(|(_, _, t, _)| area.estimate_text_size(t, &value_font).is_ok_and(|(tw, _)| tw <= bar_px + 8));
        if fits {
            let (bx, by) = area.get_base_pixel();
            for (x, v, t, missing) in labels {
                let (anchor, dy) = if v >= 0.0 { (VPos::Bottom, -4) } else { (VPos::Top, 4) };
                let (px, py) = ctx.backend_coord(&(x, ys.clamp(v)));
                let font = if missing { style::text_colored(value_px, &NOTE) } else { value_font.clone() };
                let font = style::anchored(font, HPos::Center, anchor);
                area.draw_text(&t, &font, (px - bx, py - by + dy)).map_err(draw_err)?;
            }
        }
    }

    // Reference lines.
    for (i, r) in chart.ref_lines.iter().enumerate() {
        if !drawable(r.y) || !ys.contains(r.y) {
            continue;
        }
        ctx.draw_series(DashedLineSeries::new(
            vec![(xs.lo, r.y), (xs.hi, r.y)],
            10,
            7,
            style::ref_color(r.color, i).stroke_width(2),
        ))
        .map_err(draw_err)?;
    }

    draw_category_names(&area, &ctx, chart, ys, &measure_tick, sizes)
}

/// Most lines a category name may wrap to under its group.
const MAX_CATEGORY_LINES: usize = 5;

/// Lines the longest category name needs at `group_px` (2 at least, [`MAX_CATEGORY_LINES`] at most).
fn category_lines(chart: &BarChart, group_px: u32, measure: &dyn Fn(&str) -> u32) -> usize {
    chart
        .categories
        .iter()
        .map(|c| style::wrap_text(c, group_px, MAX_CATEGORY_LINES, measure).len())
        .max()
        .unwrap_or(1)
        .clamp(2, MAX_CATEGORY_LINES)
}

/// Category names under the groups (wrapped to two lines, cut with "…").
fn draw_category_names<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    ctx: &ChartContext<'_, DB, Cartesian2d<TickedAxis, TickedAxis>>,
    chart: &BarChart,
    ys: Span,
    measure_tick: &dyn Fn(&str) -> u32,
    sizes: Sizes,
) -> Result<(), ChartError> {
    let line_h = sizes.tick_px + 5;
    let group_px = {
        let a = ctx.backend_coord(&(0.0, ys.lo));
        let b = ctx.backend_coord(&(1.0, ys.lo));
        (b.0 - a.0).unsigned_abs().saturating_sub(6)
    };
    let cat_font = style::anchored(style::text(sizes.tick_px), HPos::Center, VPos::Top);
    let (bx, by) = area.get_base_pixel();
    for (c, name) in chart.categories.iter().enumerate() {
        let (px, py) = ctx.backend_coord(&(c as f64 + 0.5, ys.lo));
        let lines = style::wrap_text(name, group_px.max(20), MAX_CATEGORY_LINES, measure_tick);
        for (k, line) in lines.iter().enumerate() {
            let y = py - by + 8 + (k as u32 * line_h) as i32;
            area.draw_text(line, &cat_font, (px - bx, y)).map_err(draw_err)?;
        }
    }
    Ok(())
}
