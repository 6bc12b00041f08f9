//! Charts for run and sweep reports: a small declarative model ([`Chart`]: line, bar and
//! multi-panel charts) and one renderer: the chart is drawn once as a 1200×800 SVG (plotters' SVG
//! backend) and the PNG is that SVG rasterised by resvg, so the two always agree. No system font
//! is used.
//!
//! * `model`    – the data a caller fills in (series, bands, scatter, reference lines, bars).
//! * `render`   – backends, layout of title / plot / legend, the multi-panel grid, file output.
//! * `line`, `bar` – drawing of one line plot / bar plot; `legend` – the legend strip.
//! * `geometry` – ranges and clipping; `style` – palette, font sizes, tick formatting.
//!
//! Text uses DejaVu Sans embedded with `include_bytes!` and registered once as "sans-serif".
//! Rendering never panics on data: empty series give a "no data" frame, NaN/inf values are
//! skipped, degenerate ranges are padded; a failure is a [`ChartError`]. SVG output is a pure
//! function of the description (same input, same bytes).

mod bar;
mod geometry;
mod legend;
mod line;
mod model;
mod render;
mod style;

use std::sync::OnceLock;

use plotters::style::FontStyle;

use crate::output::IoError;

pub use model::{
    Band, BandStyle, BarChart, BarSeries, Chart, LineChart, LineSeries, PanelChart, RefLine, ScatterSeries, XMark,
};
pub use render::{RenderedChart, TextBox, rasterize, render_files, render_png, render_svg, text_boxes};
pub use style::PALETTE;

/// Image width in pixels of every chart.
pub const WIDTH: u32 = 1200;
/// Image height in pixels of every chart.
pub const HEIGHT: u32 = 800;
/// Scatter series with more points are thinned to every k-th point (deterministically).
pub const MAX_SCATTER_POINTS: usize = 4000;

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/LICENSE-DejaVu.txt`).
pub(crate) static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The family name inside the embedded font file.
pub(crate) const FONT_FAMILY_NAME: &str = "DejaVu Sans";

/// Why a chart could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The embedded font could not be registered with plotters.
    #[error("cannot register the embedded chart font")]
    Font,
    /// A plotters backend reported an error while drawing.
    #[error("chart drawing failed: {0}")]
    Draw(String),
    /// The drawing code panicked; the message is kept so a sweep can carry on.
    #[error("chart drawing panicked: {0}")]
    Panicked(String),
    /// Writing the PNG or SVG file failed.
    #[error(transparent)]
    Io(#[from] IoError),
}

/// Maps any plotters error to [`ChartError::Draw`].
pub(crate) fn draw_err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError::Draw(e.to_string())
}

/// Registers the embedded font as "sans-serif" (normal style; other styles fall back to it).
/// Runs once per process; later calls return the first outcome.
pub fn ensure_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(style::FAMILY, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

#[cfg(test)]
mod tests;
