//! The run report: charts (`charts/*.png` and `*.svg`) and pages (`report.html`, `report.md`)
//! of one run folder, built ONLY from the folder's Parquet tables and `scenario.toml`, so that
//! `synmarket report <RUN_DIR>` ([`rebuild`]) regenerates them from the tables alone and gives
//! byte-identical SVGs and pages.
//!
//! * `read.rs` – reading the tables back; the time axis.
//! * `charts.rs` – one function per chart.
//! * `text.rs` – the scenario summary, headline table and the sentences generated from the
//!   numbers (never hard-coded claims).

mod charts;
mod read;
mod text;

use std::path::Path;

use anyhow::{Context, Result};

use crate::charts::render_files;
use crate::output::page::{ChartRef, write_html, write_markdown};
use crate::scenario::Scenario;

pub use read::{Tables, TimeAxis};

/// Folder of the charts inside a run folder.
pub const CHART_DIR: &str = "charts";

/// Writes charts and report pages of a run into `dir` (which holds the run's tables); returns
/// the files written, relative to `dir`.
pub fn write_report(dir: &Path, s: &Scenario) -> Result<Vec<String>> {
    let t = Tables::load(dir)?;
    let axis = TimeAxis::for_duration(t.headline("duration_ms"));
    let mut files = Vec::new();
    let mut rendered = Vec::new();
    for fig in charts::figures(&t, axis) {
        let r = render_files(&fig.chart, dir.join(CHART_DIR), fig.stem)
            .with_context(|| format!("drawing chart {}", fig.stem))?;
        files.push(format!("{CHART_DIR}/{}.png", fig.stem));
        files.push(format!("{CHART_DIR}/{}.svg", fig.stem));
        rendered.push((fig.stem, ChartRef::from_rendered(&r, CHART_DIR, fig.caption)));
    }
    let report = text::report(s, &t, rendered);
    write_html(&report, dir.join("report.html")).context("writing report.html")?;
    write_markdown(&report, dir.join("report.md")).context("writing report.md")?;
    files.push("report.html".into());
    files.push("report.md".into());
    Ok(files)
}

/// Rebuilds charts and report of a run folder from its tables and `scenario.toml`.
pub fn rebuild(dir: &Path) -> Result<Vec<String>> {
    let s = Scenario::load(dir.join("scenario.toml"))
        .with_context(|| format!("{} is not a run folder (no readable scenario.toml)", dir.display()))?;
    write_report(dir, &s)
}
