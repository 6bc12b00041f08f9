//! From a [`Chart`] to pixels: the SVG drawing (plotters' SVG backend), its rasterisation to PNG
//! (resvg), the page layout (title, plot, legend strip at the bottom), the multi-panel grid, and
//! atomic file output. Drawing is guarded so a
//! panic inside plotters becomes a [`ChartError`] rather than ending a long sweep.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::line::{self, ColorMap};
use super::model::{Chart, LineChart, PanelChart};
use super::style::{FULL, PANEL};
use super::{ChartError, HEIGHT, WIDTH, bar, draw_err, ensure_font, legend};
use crate::output::atomic as io;

/// The files written for one chart and its SVG text (to inline into an HTML report).
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedChart {
    /// The SVG document (1200×800).
    pub svg: String,
    /// Where the PNG was written.
    pub png_path: PathBuf,
    /// Where the SVG was written.
    pub svg_path: PathBuf,
}

/// Most legend rows under a chart; further entries collapse into "… and N more".
const LEGEND_ROWS: usize = 4;

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

fn guarded<F: FnOnce() -> Result<(), ChartError>>(f: F) -> Result<(), ChartError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(ChartError::Panicked(panic_message(payload))))
}

/// Draws `chart` as an SVG document (1200×800). Same chart, same bytes.
pub fn render_svg(chart: &Chart) -> Result<String, ChartError> {
    ensure_font()?;
    let mut out = String::new();
    guarded(|| {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        draw_chart(&root, chart)?;
        root.present().map_err(draw_err)
    })?;
    Ok(out)
}

/// Rasterises an SVG document drawn by [`render_svg`] to PNG bytes with resvg. Only the
/// embedded font is known to the rasteriser (no system fonts), so the PNG is the SVG, pixel for
/// pixel, on any machine.
pub fn rasterize(svg: &str) -> Result<Vec<u8>, ChartError> {
    use resvg::tiny_skia;
    let tree = resvg::usvg::Tree::from_str(svg, usvg_options()).map_err(draw_err)?;
    let mut pixmap = tiny_skia::Pixmap::new(WIDTH, HEIGHT).ok_or_else(|| ChartError::Draw("empty image".into()))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    pixmap.encode_png().map_err(draw_err)
}

/// The parser options of [`rasterize`]: only the embedded font, as "sans-serif".
fn usvg_options() -> &'static resvg::usvg::Options<'static> {
    use resvg::usvg;
    static OPTIONS: std::sync::OnceLock<usvg::Options<'static>> = std::sync::OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut db = usvg::fontdb::Database::new();
        db.load_font_data(super::FONT_BYTES.to_vec());
        db.set_sans_serif_family(super::FONT_FAMILY_NAME);
        usvg::Options {
            font_family: super::FONT_FAMILY_NAME.to_string(),
            fontdb: std::sync::Arc::new(db),
            ..usvg::Options::default()
        }
    })
}

/// One text item of a drawn chart: its characters and the box its glyphs cover, in pixels
/// (`left, top, right, bottom`; the canvas is `0, 0, WIDTH, HEIGHT`).
#[derive(Debug, Clone, PartialEq)]
pub struct TextBox {
    /// The characters drawn.
    pub text: String,
    /// `[left, top, right, bottom]` of the laid-out glyphs, pixels.
    pub bounds: [f32; 4],
}

/// Every text item of an SVG drawn by [`render_svg`] with the box its glyphs cover, laid out
/// by resvg with the embedded font (what the PNG shows). For checks that no axis label, title or
/// legend entry is clipped: each box must lie within the canvas.
///
/// # Errors
/// [`ChartError::Draw`] when the SVG does not parse.
pub fn text_boxes(svg: &str) -> Result<Vec<TextBox>, ChartError> {
    use resvg::usvg::{Group, Node};
    fn walk(group: &Group, out: &mut Vec<TextBox>) {
        for node in group.children() {
            match node {
                Node::Group(g) => walk(g, out),
                Node::Text(t) => {
                    let b = t.abs_bounding_box();
                    let text: String = t.chunks().iter().map(|c| c.text()).collect();
                    out.push(TextBox { text, bounds: [b.left(), b.top(), b.right(), b.bottom()] });
                }
                Node::Path(_) | Node::Image(_) => {}
            }
        }
    }
    let tree = resvg::usvg::Tree::from_str(svg, usvg_options()).map_err(draw_err)?;
    let mut out = Vec::new();
    walk(tree.root(), &mut out);
    Ok(out)
}

/// Draws `chart` as a 1200×800 PNG at `path` (the SVG, rasterised), atomically.
pub fn render_png(chart: &Chart, path: impl AsRef<Path>) -> Result<(), ChartError> {
    let png = rasterize(&render_svg(chart)?)?;
    Ok(io::write_atomic(path.as_ref(), &png)?)
}

/// Writes `<dir>/<stem>.png` and `<dir>/<stem>.svg` and returns the SVG text with both paths.
/// The PNG is the SVG rasterised, so the two always show the same chart.
pub fn render_files(chart: &Chart, dir: impl AsRef<Path>, stem: &str) -> Result<RenderedChart, ChartError> {
    let dir = dir.as_ref();
    let svg = render_svg(chart)?;
    let svg_path = dir.join(format!("{stem}.svg"));
    io::write_atomic(&svg_path, svg.as_bytes())?;
    let png_path = dir.join(format!("{stem}.png"));
    io::write_atomic(&png_path, &rasterize(&svg)?)?;
    Ok(RenderedChart { svg, png_path, svg_path })
}

/// Draws any chart onto a whole image area.
fn draw_chart<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> Result<(), ChartError> {
    root.fill(&WHITE).map_err(draw_err)?;
    let root = root.margin(8, 4, 8, 8);
    match chart {
        Chart::Line(c) => {
            let colors = ColorMap::for_charts([c]);
            let mut entries = Vec::new();
            line::legend_entries(c, 0, &colors, &mut entries);
            let plot = with_legend(&root, entries)?;
            line::draw_line_plot(&plot, c, 0, &colors, FULL, true)
        }
        Chart::Bar(c) => {
            let plot = with_legend(&root, bar::legend_entries(c))?;
            bar::draw_bar_plot(&plot, c, FULL)
        }
        Chart::Panels(p) => draw_panels(&root, p),
    }
}

/// Reserves a legend strip at the bottom of `area` (when there are entries), draws the legend
/// there and returns the area left for the plot.
fn with_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: Vec<legend::LegendEntry>,
) -> Result<DrawingArea<DB, Shift>, ChartError> {
    let (w, h) = area.dim_in_pixel();
    let Some(layout) = legend::layout(area, entries, w.saturating_sub(40), FULL.legend_px, LEGEND_ROWS) else {
        return Ok(area.clone());
    };
    let strip = layout.strip_height().min(h / 3);
    let (plot, bottom) = area.split_vertically(h.saturating_sub(strip));
    layout.draw(&bottom)?;
    Ok(plot)
}

/// A grid of line plots under one title, sharing one legend.
fn draw_panels<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &PanelChart) -> Result<(), ChartError> {
    let area = line::draw_title(root, &chart.title, FULL.title_px)?;
    let n = chart.panels.len();
    if n == 0 {
        let empty = LineChart::default();
        return line::draw_line_plot(&area, &empty, 0, &ColorMap::default(), FULL, true);
    }
    let colors = ColorMap::for_charts(&chart.panels);
    let mut entries = Vec::new();
    for (i, panel) in chart.panels.iter().enumerate() {
        line::legend_entries(panel, i, &colors, &mut entries);
    }
    let plot = with_legend(&area, entries)?;
    let cols = if chart.columns > 0 { chart.columns.min(n) } else { (n as f64).sqrt().ceil() as usize }.max(1);
    let rows = n.div_ceil(cols);
    let sizes = if n == 1 { FULL } else { PANEL };
    let cells = plot.split_evenly((rows, cols));
    for (i, (cell, panel)) in cells.iter().zip(&chart.panels).enumerate() {
        let cell = cell.margin(6, 6, 4, 4);
        // An x title that the panel below repeats is left out: stacked panels then read as one
        // figure, without the same title between each pair. Y titles stay: each panel has its
        // own scale.
        let x_title_below = chart.panels.get(i + cols).is_some_and(|p| p.x_label == panel.x_label);
        line::draw_line_plot(&cell, panel, i, &colors, sizes, !x_title_below)?;
    }
    Ok(())
}
