//! The declarative chart description: what to draw, never how. Plain data that metrics code
//! fills in and the renderer turns into PNG and SVG. Builders (`new`, `with_*`) keep call sites
//! short; every field is public so a caller may also build the structs directly.
//!
//! Values are `f64`; non-finite values (NaN, ±inf) and absurd magnitudes (beyond ±1e150) are
//! skipped by the renderer, never drawn and never an error. Colours are indices into
//! [`super::PALETTE`]; `None` means "next palette colour by order of appearance".

/// Any chart the renderer can draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    /// Named series over a numeric x axis.
    Line(LineChart),
    /// Categories × named series as (grouped) bars.
    Bar(BarChart),
    /// A grid of line charts in one image, with one shared legend.
    Panels(PanelChart),
}

impl From<LineChart> for Chart {
    fn from(c: LineChart) -> Self {
        Chart::Line(c)
    }
}

impl From<BarChart> for Chart {
    fn from(c: BarChart) -> Self {
        Chart::Bar(c)
    }
}

impl From<PanelChart> for Chart {
    fn from(c: PanelChart) -> Self {
        Chart::Panels(c)
    }
}

/// A line chart: series (each with an optional band), scatter dots and horizontal reference
/// lines, over numeric x and y axes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineChart {
    /// Drawn above the plot (the panel heading inside a [`PanelChart`]).
    pub title: String,
    /// X axis description, with its unit, e.g. "time (s)".
    pub x_label: String,
    /// Y axis description, with its unit, e.g. "price per unit (credits)".
    pub y_label: String,
    pub series: Vec<LineSeries>,
    pub scatter: Vec<ScatterSeries>,
    pub ref_lines: Vec<RefLine>,
    /// Fixed x range; `None` fits the data.
    pub x_range: Option<(f64, f64)>,
    /// Fixed y range; `None` fits the data (with padding).
    pub y_range: Option<(f64, f64)>,
    /// When fitting the y range, extend it to include zero (rates, counts).
    pub y_includes_zero: bool,
}

impl LineChart {
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self { title: title.into(), x_label: x_label.into(), y_label: y_label.into(), ..Self::default() }
    }

    pub fn with_series(mut self, series: LineSeries) -> Self {
        self.series.push(series);
        self
    }

    pub fn with_scatter(mut self, scatter: ScatterSeries) -> Self {
        self.scatter.push(scatter);
        self
    }

    pub fn with_ref_line(mut self, line: RefLine) -> Self {
        self.ref_lines.push(line);
        self
    }

    pub fn with_x_range(mut self, lo: f64, hi: f64) -> Self {
        self.x_range = Some((lo, hi));
        self
    }

    pub fn with_y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    /// Fit the y range so that it includes zero.
    pub fn y_from_zero(mut self) -> Self {
        self.y_includes_zero = true;
        self
    }
}

/// One named line of (x, y) points, drawn in the order given (sort by x first).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineSeries {
    /// Legend label; an empty name is left out of the legend.
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Optional lower/upper band drawn under the line in the same colour.
    pub band: Option<Band>,
    /// Draw the line dashed (e.g. a model prediction next to observed data).
    pub dashed: bool,
    /// Palette index; `None` picks the next colour.
    pub color: Option<usize>,
}

impl LineSeries {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self { name: name.into(), points, ..Self::default() }
    }

    pub fn with_band(mut self, band: Band) -> Self {
        self.band = Some(band);
        self
    }

    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    pub fn with_color(mut self, palette_index: usize) -> Self {
        self.color = Some(palette_index);
        self
    }
}

/// How a band is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BandStyle {
    /// A translucent area between lower and upper (a band with one point becomes an error bar).
    #[default]
    Shaded,
    /// A vertical error bar at each x (for few, spaced points such as sweep results).
    ErrorBars,
}

/// A lower/upper envelope, e.g. the equilibrium price range or a confidence interval.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Band {
    /// Legend label for the band itself; `None` leaves it out of the legend.
    pub label: Option<String>,
    /// (x, lower, upper); lower and upper are swapped if given the wrong way round.
    pub points: Vec<(f64, f64, f64)>,
    pub style: BandStyle,
}

impl Band {
    pub fn new(points: Vec<(f64, f64, f64)>) -> Self {
        Self { points, ..Self::default() }
    }

    pub fn labelled(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn error_bars(mut self) -> Self {
        self.style = BandStyle::ErrorBars;
        self
    }
}

/// Unconnected small translucent dots, e.g. individual trade prices.
///
/// Above [`super::MAX_SCATTER_POINTS`] points a deterministic stride subset is drawn, and the
/// legend says so.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScatterSeries {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: Option<usize>,
}

impl ScatterSeries {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self { name: name.into(), points, color: None }
    }

    pub fn with_color(mut self, palette_index: usize) -> Self {
        self.color = Some(palette_index);
        self
    }
}

/// A dashed horizontal line across the whole plot, named in the legend (e.g. "P* = 100").
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RefLine {
    pub label: String,
    pub y: f64,
    /// Palette index; `None` uses black, then dark grey, then palette colours.
    pub color: Option<usize>,
}

impl RefLine {
    pub fn new(label: impl Into<String>, y: f64) -> Self {
        Self { label: label.into(), y, color: None }
    }

    pub fn with_color(mut self, palette_index: usize) -> Self {
        self.color = Some(palette_index);
        self
    }
}

/// Bars: one group per category, one bar per series within a group. A single series gives a
/// simple bar chart (and no legend).
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub title: String,
    /// Description under the category labels (may be empty).
    pub x_label: String,
    pub y_label: String,
    pub categories: Vec<String>,
    pub series: Vec<BarSeries>,
    pub ref_lines: Vec<RefLine>,
    /// Print each bar's value above it (when there is room).
    pub show_values: bool,
    /// Fixed y range; `None` fits the data and always includes zero.
    pub y_range: Option<(f64, f64)>,
}

impl BarChart {
    pub fn new(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
        categories: Vec<String>,
    ) -> Self {
        Self {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            categories,
            series: Vec::new(),
            ref_lines: Vec::new(),
            show_values: true,
            y_range: None,
        }
    }

    pub fn with_series(mut self, series: BarSeries) -> Self {
        self.series.push(series);
        self
    }

    pub fn with_ref_line(mut self, line: RefLine) -> Self {
        self.ref_lines.push(line);
        self
    }

    pub fn with_y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    pub fn without_values(mut self) -> Self {
        self.show_values = false;
        self
    }
}

/// One named set of bar heights; `values[i]` belongs to `categories[i]`. Missing or non-finite
/// values draw no bar.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BarSeries {
    pub name: String,
    pub values: Vec<f64>,
    pub color: Option<usize>,
}

impl BarSeries {
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self { name: name.into(), values, color: None }
    }

    pub fn with_color(mut self, palette_index: usize) -> Self {
        self.color = Some(palette_index);
        self
    }
}

/// Several line charts in a grid, one image. Series with the same name share a colour across
/// panels and appear once in the shared legend under the grid.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PanelChart {
    pub title: String,
    /// Panels per row; 0 picks a near-square grid.
    pub columns: usize,
    pub panels: Vec<LineChart>,
}

impl PanelChart {
    pub fn new(title: impl Into<String>) -> Self {
        Self { title: title.into(), ..Self::default() }
    }

    pub fn with_panel(mut self, panel: LineChart) -> Self {
        self.panels.push(panel);
        self
    }

    pub fn with_columns(mut self, columns: usize) -> Self {
        self.columns = columns;
        self
    }
}
