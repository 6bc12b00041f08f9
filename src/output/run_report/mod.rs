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

use crate::charts::{ChartError, render_files};
use crate::metrics::summary::column as S;
use crate::output::IoError;
use crate::output::page::{ChartRef, write_html, write_markdown};
use crate::scenario::{Scenario, ScenarioError};

pub use read::{Tables, TimeAxis};

/// Why a run report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A table could not be read, or a page written.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A chart could not be drawn or written.
    #[error("drawing chart {stem}: {source}")]
    Chart {
        /// The chart's file stem.
        stem: &'static str,
        /// Why.
        #[source]
        source: ChartError,
    },
    /// The folder is not a run folder.
    #[error("{} is not a run folder (no readable scenario.toml): {source}", dir.display())]
    NotARunFolder {
        /// The folder.
        dir: std::path::PathBuf,
        /// Why its scenario could not be read.
        #[source]
        source: ScenarioError,
    },
}

/// Folder of the charts inside a run folder.
pub const CHART_DIR: &str = "charts";

/// Writes charts and report pages of a run into `dir` (which holds the run's tables); returns
/// the files written, relative to `dir`.
pub fn write_report(dir: &Path, s: &Scenario) -> Result<Vec<String>, ReportError> {
    let t = Tables::load(dir)?;
    let axis = TimeAxis::for_duration(t.headline(S::duration_ms));
    let mut files = Vec::new();
    let mut rendered = Vec::new();
    for fig in charts::figures(&t, axis) {
        let r = render_files(&fig.chart, dir.join(CHART_DIR), fig.stem)
            .map_err(|source| ReportError::Chart { stem: fig.stem, source })?;
        files.push(format!("{CHART_DIR}/{}.png", fig.stem));
        files.push(format!("{CHART_DIR}/{}.svg", fig.stem));
        rendered.push((fig.place, ChartRef::from_rendered(&r, CHART_DIR, fig.caption)));
    }
    let report = text::report(s, &t, rendered);
    write_html(&report, dir.join("report.html"))?;
    write_markdown(&report, dir.join("report.md"))?;
    files.push("report.html".into());
    files.push("report.md".into());
    Ok(files)
}

/// Rebuilds charts and report of a run folder from its tables and `scenario.toml`.
pub fn rebuild(dir: &Path) -> Result<Vec<String>, ReportError> {
    let s = Scenario::load(dir.join("scenario.toml"))
        .map_err(|source| ReportError::NotARunFolder { dir: dir.to_path_buf(), source })?;
    write_report(dir, &s)
}
