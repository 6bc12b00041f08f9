//! The legend strip under a chart: entries (a small swatch and a label) flowed into rows inside
//! a light box with a border. It lives outside the plot, so it never hides data; labels that do
//! not fit are cut with "…", and entries beyond the row limit collapse into "… and N more".

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::style::{self, LEGEND_BG, LEGEND_BORDER, MARK};
use super::{ChartError, draw_err};

/// What the swatch in front of a legend label looks like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Swatch {
    Line {
        color: RGBColor,
        dashed: bool,
    },
    Band(RGBColor),
    ErrorBar(RGBColor),
    Dot(RGBColor),
    Bar(RGBColor),
    /// A short dotted vertical line (an [`super::XMark`]).
    Mark,
    /// No swatch (the "… and N more" note).
    None,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LegendEntry {
    pub swatch: Swatch,
    pub label: String,
}

/// Entries placed in rows; offsets are relative to the inside of the legend box.
#[derive(Debug, Clone)]
pub(crate) struct LegendLayout {
    entries: Vec<LegendEntry>,
    /// Per row: (entry index, x offset).
    rows: Vec<Vec<(usize, u32)>>,
    pub box_w: u32,
    pub box_h: u32,
    px: u32,
}

const PAD: u32 = 10;
const SWATCH_W: u32 = 32;
const GAP: u32 = 8;
const SPACING: u32 = 26;
/// Space between the legend box and what is above and below it.
pub(crate) const OUTER_PAD: u32 = 8;

fn row_h(px: u32) -> u32 {
    px + 12
}

/// Pixel width of `s` in the legend font, measured with the embedded font.
fn measurer<'a, DB: DrawingBackend>(area: &'a DrawingArea<DB, Shift>, px: u32) -> impl Fn(&str) -> u32 + 'a {
    let font = style::text(px);
    move |s: &str| {
        area.estimate_text_size(s, &font).map(|(w, _)| w).unwrap_or_else(|_| (s.chars().count() as u32) * px * 6 / 10)
    }
}

fn flow(entries: &[LegendEntry], widths: &[u32], max_inner_w: u32) -> (Vec<Vec<(usize, u32)>>, u32) {
    let mut rows: Vec<Vec<(usize, u32)>> = Vec::new();
    let mut row: Vec<(usize, u32)> = Vec::new();
    let mut x = 0u32;
    let mut widest = 0u32;
    for (i, w) in widths.iter().enumerate().take(entries.len()) {
        let start = if row.is_empty() { 0 } else { x + SPACING };
        if !row.is_empty() && start + w > max_inner_w {
            widest = widest.max(x);
            rows.push(std::mem::take(&mut row));
            row.push((i, 0));
            x = *w;
        } else {
            row.push((i, start));
            x = start + w;
        }
    }
    if !row.is_empty() {
        widest = widest.max(x);
        rows.push(row);
    }
    (rows, widest)
}

/// Lays out `entries` in at most `max_rows` rows of at most `max_w` pixels (box included).
/// Returns `None` when there is nothing to show.
pub(crate) fn layout<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: Vec<LegendEntry>,
    max_w: u32,
    px: u32,
    max_rows: usize,
) -> Option<LegendLayout> {
    let entries: Vec<LegendEntry> = entries.into_iter().filter(|e| !e.label.trim().is_empty()).collect();
    if entries.is_empty() {
        return None;
    }
    let measure = measurer(area, px);
    let max_inner_w = max_w.saturating_sub(2 * PAD).max(SWATCH_W + GAP + 40);
    let max_label_w = (max_inner_w - SWATCH_W - GAP).min(560);
    let fitted: Vec<LegendEntry> = entries
        .iter()
        .map(|e| LegendEntry { swatch: e.swatch, label: style::fit_text(e.label.trim(), max_label_w, &measure) })
        .collect();
    let width_of = |e: &LegendEntry| match e.swatch {
        Swatch::None => measure(&e.label),
        _ => SWATCH_W + GAP + measure(&e.label),
    };
    let total = fitted.len();
    let mut kept = total;
    loop {
        let mut candidate: Vec<LegendEntry> = fitted[..kept].to_vec();
        if kept < total {
            candidate.push(LegendEntry { swatch: Swatch::None, label: format!("… and {} more", total - kept) });
        }
        let widths: Vec<u32> = candidate.iter().map(width_of).collect();
        let (rows, widest) = flow(&candidate, &widths, max_inner_w);
        if rows.len() <= max_rows.max(1) || kept == 0 {
            return Some(LegendLayout {
                box_w: widest + 2 * PAD,
                box_h: rows.len() as u32 * row_h(px) + 2 * PAD - 4,
                entries: candidate,
                rows,
                px,
            });
        }
        kept -= 1;
    }
}

impl LegendLayout {
    /// Height of the strip needed under a chart, including outer padding.
    pub(crate) fn strip_height(&self) -> u32 {
        self.box_h + 2 * OUTER_PAD
    }

    /// Draws the box centred horizontally in `area`, starting `OUTER_PAD` below its top.
    pub(crate) fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), ChartError> {
        let (w, _) = area.dim_in_pixel();
        let x0 = (w.saturating_sub(self.box_w) / 2) as i32;
        let y0 = OUTER_PAD as i32;
        let (x1, y1) = (x0 + self.box_w as i32, y0 + self.box_h as i32);
        area.draw(&Rectangle::new([(x0, y0), (x1, y1)], LEGEND_BG.filled())).map_err(draw_err)?;
        area.draw(&Rectangle::new([(x0, y0), (x1, y1)], ShapeStyle::from(&LEGEND_BORDER).stroke_width(1)))
            .map_err(draw_err)?;
        let font = style::anchored(style::text(self.px), HPos::Left, VPos::Center);
        for (r, row) in self.rows.iter().enumerate() {
            let cy = y0 + PAD as i32 + (r as u32 * row_h(self.px) + row_h(self.px) / 2) as i32 - 2;
            for &(i, off) in row {
                let Some(entry) = self.entries.get(i) else {
                    continue;
                };
                let x = x0 + (PAD + off) as i32;
                let text_x = match entry.swatch {
                    Swatch::None => x,
                    swatch => {
                        draw_swatch(area, swatch, x, cy)?;
                        x + (SWATCH_W + GAP) as i32
                    }
                };
                area.draw_text(&entry.label, &font, (text_x, cy)).map_err(draw_err)?;
            }
        }
        Ok(())
    }
}

fn draw_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    swatch: Swatch,
    x: i32,
    cy: i32,
) -> Result<(), ChartError> {
    let w = SWATCH_W as i32;
    match swatch {
        Swatch::Line { color, dashed } => {
            let style = color.stroke_width(3);
            if dashed {
                for k in 0..3 {
                    let sx = x + k * 12;
                    area.draw(&PathElement::new(vec![(sx, cy), (sx + 7, cy)], style)).map_err(draw_err)?;
                }
            } else {
                area.draw(&PathElement::new(vec![(x, cy), (x + w, cy)], style)).map_err(draw_err)?;
            }
        }
        Swatch::Band(color) => {
            area.draw(&Rectangle::new([(x, cy - 8), (x + w, cy + 8)], color.mix(0.25).filled())).map_err(draw_err)?;
        }
        Swatch::ErrorBar(color) => {
            let mid = x + w / 2;
            let style = color.stroke_width(2);
            for path in [
                vec![(mid, cy - 8), (mid, cy + 8)],
                vec![(mid - 6, cy - 8), (mid + 6, cy - 8)],
                vec![(mid - 6, cy + 8), (mid + 6, cy + 8)],
            ] {
                area.draw(&PathElement::new(path, style)).map_err(draw_err)?;
            }
        }
        Swatch::Dot(color) => {
            area.draw(&Circle::new((x + w / 2, cy), 5, color.mix(0.7).filled())).map_err(draw_err)?;
        }
        Swatch::Bar(color) => {
            area.draw(&Rectangle::new([(x + 4, cy - 8), (x + w - 4, cy + 8)], color.filled())).map_err(draw_err)?;
        }
        Swatch::Mark => {
            let mid = x + w / 2;
            for k in 0..4 {
                let y0 = cy - 9 + k * 5;
                area.draw(&PathElement::new(vec![(mid, y0), (mid, y0 + 3)], MARK.stroke_width(2))).map_err(draw_err)?;
            }
        }
        Swatch::None => {}
    }
    Ok(())
}

/// Appends `entry` unless an entry with the same label and swatch kind is already present.
pub(crate) fn push_unique(entries: &mut Vec<LegendEntry>, entry: LegendEntry) {
    if !entries.iter().any(|e| e == &entry) {
        entries.push(entry);
    }
}
