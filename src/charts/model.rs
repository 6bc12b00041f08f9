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
    /// The lines, drawn in order (later lines on top).
    pub series: Vec<LineSeries>,
    /// Unconnected dots, drawn under the lines.
    pub scatter: Vec<ScatterSeries>,
    /// Horizontal reference lines across the plot.
    pub ref_lines: Vec<RefLine>,
    /// Fixed x range; `None` fits the data.
    pub x_range: Option<(f64, f64)>,
    /// Fixed y range; `None` fits the data (with padding).
    pub y_range: Option<(f64, f64)>,
    /// When fitting the y range, extend it to include zero (rates, counts).
    pub y_includes_zero: bool,
    /// Explicit x tick positions (axis units), e.g. the values of a swept parameter, each
    /// labelled with the digits it needs; `None` (or ticks whose labels would collide) uses nice
    /// ticks.
    pub x_ticks: Option<Vec<f64>>,
    /// Label both ends of the x axis (a time axis from 0 to the run's end reads "0 … 7", not
    /// "2, 4, 6"); interior ticks too close to an end give way to it.
    pub x_ends_labelled: bool,
    /// Vertical marks across the plot (e.g. period boundaries), drawn dotted under the data.
    pub x_marks: Vec<XMark>,
    /// Drawn in place of the data, centred in an empty frame ("no disputes in this run"): for a
    /// panel whose data would be a flat zero line that looks like a measurement.
    pub note: Option<String>,
}

impl LineChart {
    /// A chart with a title and axis descriptions (each with its unit) and nothing drawn yet.
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        Self { title: title.into(), x_label: x_label.into(), y_label: y_label.into(), ..Self::default() }
    }

    /// Adds a series.
    pub fn with_series(mut self, series: LineSeries) -> Self {
        self.series.push(series);
        self
    }

    /// Adds a scatter series.
    pub fn with_scatter(mut self, scatter: ScatterSeries) -> Self {
        self.scatter.push(scatter);
        self
    }

    /// Adds a horizontal reference line.
    pub fn with_ref_line(mut self, line: RefLine) -> Self {
        self.ref_lines.push(line);
        self
    }

    /// Fixes the x range to `[lo, hi]` (axis units).
    pub fn with_x_range(mut self, lo: f64, hi: f64) -> Self {
        self.x_range = Some((lo, hi));
        self
    }

    /// Fixes the y range to `[lo, hi]` (axis units).
    pub fn with_y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    /// Fit the y range so that it includes zero.
    pub fn y_from_zero(mut self) -> Self {
        self.y_includes_zero = true;
        self
    }

    /// Ticks the x axis at `ticks` (see [`LineChart::x_ticks`]).
    pub fn with_x_ticks(mut self, ticks: Vec<f64>) -> Self {
        self.x_ticks = Some(ticks);
        self
    }

    /// Labels both ends of the x axis (see [`LineChart::x_ends_labelled`]).
    pub fn with_x_ends_labelled(mut self) -> Self {
        self.x_ends_labelled = true;
        self
    }

    /// Adds a vertical mark at `x` (axis units).
    pub fn with_x_mark(mut self, mark: XMark) -> Self {
        self.x_marks.push(mark);
        self
    }

    /// Draws `note` in place of the data (the title and axis labels stay).
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// Whether any series or scatter holds a finite value other than zero.
    pub fn has_nonzero_value(&self) -> bool {
        let nonzero = |y: f64| y.is_finite() && y != 0.0;
        self.series.iter().any(|s| s.points.iter().any(|p| nonzero(p.1)))
            || self.scatter.iter().any(|s| s.points.iter().any(|p| nonzero(p.1)))
    }
}

/// A dotted vertical line across a plot at `x`, e.g. a period boundary. Marks that share a
/// label appear once in the legend; an empty label is left out of it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct XMark {
    /// Legend label ("period boundary").
    pub label: String,
    /// Position, in x axis units.
    pub x: f64,
}

impl XMark {
    /// A mark labelled `label` at `x`.
    pub fn new(label: impl Into<String>, x: f64) -> Self {
        Self { label: label.into(), x }
    }
}

/// One named line of (x, y) points, drawn in the order given (sort by x first).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineSeries {
    /// Legend label; an empty name is left out of the legend.
    pub name: String,
    /// The `(x, y)` points in axis units; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// Optional lower/upper band drawn under the line in the same colour.
    pub band: Option<Band>,
    /// Draw the line dashed (e.g. a model prediction next to observed data).
    pub dashed: bool,
    /// Palette index; `None` picks the next colour.
    pub color: Option<usize>,
}

impl LineSeries {
    /// A series named `name` (its legend label) of `(x, y)` points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self { name: name.into(), points, ..Self::default() }
    }

    /// Adds a band drawn under the line in its colour.
    pub fn with_band(mut self, band: Band) -> Self {
        self.band = Some(band);
        self
    }

    /// Draws the line dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// Uses palette colour `palette_index` (`charts::PALETTE`, wrapping).
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
    /// Shaded area or error bars.
    pub style: BandStyle,
}

impl Band {
    /// A band of `(x, lower, upper)` points, shaded, not in the legend.
    pub fn new(points: Vec<(f64, f64, f64)>) -> Self {
        Self { points, ..Self::default() }
    }

    /// Names the band in the legend.
    pub fn labelled(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Draws the band as error bars.
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
    /// Legend label.
    pub name: String,
    /// The `(x, y)` points in axis units; non-finite points are skipped.
    pub points: Vec<(f64, f64)>,
    /// Palette index; `None` picks the next colour.
    pub color: Option<usize>,
}

impl ScatterSeries {
    /// A series named `name` (its legend label) of `(x, y)` points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self { name: name.into(), points, color: None }
    }

    /// Uses palette colour `palette_index` (`charts::PALETTE`, wrapping).
    pub fn with_color(mut self, palette_index: usize) -> Self {
        self.color = Some(palette_index);
        self
    }
}

/// A dashed horizontal line across the whole plot, named in the legend (e.g. "P* = 100").
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RefLine {
    /// Legend label, with the value where it helps ("P* = 100").
    pub label: String,
    /// Height of the line, in y axis units.
    pub y: f64,
    /// Palette index; `None` uses black, then dark grey, then palette colours.
    pub color: Option<usize>,
}

impl RefLine {
    /// A reference line labelled `label` at height `y`.
    pub fn new(label: impl Into<String>, y: f64) -> Self {
        Self { label: label.into(), y, color: None }
    }

    /// Uses palette colour `palette_index` (`charts::PALETTE`, wrapping).
    pub fn with_color(mut self, palette_index: usize) -> Self {
        self.color = Some(palette_index);
        self
    }
}

/// Bars: one group per category, one bar per series within a group. A single series gives a
/// simple bar chart (and no legend).
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Drawn above the chart.
    pub title: String,
    /// Description under the category labels (may be empty).
    pub x_label: String,
    /// Y axis description, with its unit.
    pub y_label: String,
    /// One label per group of bars, left to right.
    pub categories: Vec<String>,
    /// One bar per series in each group, in order.
    pub series: Vec<BarSeries>,
    /// Horizontal reference lines across the plot.
    pub ref_lines: Vec<RefLine>,
    /// Print each bar's value above it (when there is room).
    pub show_values: bool,
    /// Fixed y range; `None` fits the data and always includes zero.
    pub y_range: Option<(f64, f64)>,
    /// The series are disjoint (each category has a value in one series only, e.g. requesters'
    /// surplus and providers' profit): one full-width bar per category, coloured by its series.
    pub disjoint: bool,
    /// Drawn in place of the bars, centred in an empty frame ("no violations in this run").
    pub note: Option<String>,
}

impl BarChart {
    /// A bar chart with a title, axis descriptions and its categories, showing values.
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
            disjoint: false,
            note: None,
        }
    }

    /// Adds a series.
    pub fn with_series(mut self, series: BarSeries) -> Self {
        self.series.push(series);
        self
    }

    /// Adds a horizontal reference line.
    pub fn with_ref_line(mut self, line: RefLine) -> Self {
        self.ref_lines.push(line);
        self
    }

    /// Fixes the y range to `[lo, hi]` (axis units).
    pub fn with_y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    /// Does not print the bar values.
    pub fn without_values(mut self) -> Self {
        self.show_values = false;
        self
    }

    /// Marks the series as disjoint: one full-width bar per category (see [`BarChart::disjoint`]).
    pub fn disjoint(mut self) -> Self {
        self.disjoint = true;
        self
    }

    /// Draws `note` in place of the bars (the title and category names stay).
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// One named set of bar heights; `values[i]` belongs to `categories[i]`. Missing or non-finite
/// values draw no bar.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BarSeries {
    /// Legend label.
    pub name: String,
    /// Bar heights, one per category.
    pub values: Vec<f64>,
    /// Palette index; `None` picks the next colour.
    pub color: Option<usize>,
}

impl BarSeries {
    /// A series named `name` with one value per category.
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self { name: name.into(), values, color: None }
    }

    /// Uses palette colour `palette_index` (`charts::PALETTE`, wrapping).
    pub fn with_color(mut self, palette_index: usize) -> Self {
        self.color = Some(palette_index);
        self
    }
}

/// Several line charts in a grid, one image. Series with the same name share a colour across
/// panels and appear once in the shared legend under the grid.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PanelChart {
    /// Drawn above the chart.
    pub title: String,
    /// Panels per row; 0 picks a near-square grid.
    pub columns: usize,
    /// The panels, left to right then top to bottom.
    pub panels: Vec<LineChart>,
}

impl PanelChart {
    /// An empty grid titled `title`.
    pub fn new(title: impl Into<String>) -> Self {
        Self { title: title.into(), ..Self::default() }
    }

    /// Adds a panel.
    pub fn with_panel(mut self, panel: LineChart) -> Self {
        self.panels.push(panel);
        self
    }

    /// Sets the panels per row (0: a near-square grid).
    pub fn with_columns(mut self, columns: usize) -> Self {
        self.columns = columns;
        self
    }
}
