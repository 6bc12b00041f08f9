//! The output layer: everything a run or a sweep writes, and reading it back.
//!
//! | module | owns |
//! |---|---|
//! | [`atomic`] | atomic writes (temporary sibling, then rename), output-folder checks, [`IoError`] |
//! | [`parquet`] | Parquet tables written atomically and read back ([`Frame`]) |
//! | [`raw_tables`] | the raw tables of a run: `orders`, `assignments`, `ledger`, `agents` |
//! | [`page`] | the report page model and its HTML and Markdown writers |
//! | [`run_report`] | the charts and pages of a run folder, built from its tables alone |
//! | [`sweep_report`] | the charts and pages of a merged sweep |
//!
//! Table and column names are defined once, beside the code that writes them (the metric tables
//! in [`crate::metrics`], the raw tables in [`raw_tables`]), and the readers use the same
//! constants, so a misspelt column does not compile.

/// The table names of a run folder (files are `<name>.parquet`), written and read under these
/// names.
#[allow(missing_docs)]
pub mod table {
    pub const ORDERS: &str = "orders";
    pub const ASSIGNMENTS: &str = "assignments";
    pub const LEDGER: &str = "ledger";
    pub const AGENTS: &str = "agents";
    pub const TIMESERIES: &str = "timeseries";
    pub const PRICE_DISCOVERY: &str = "price_discovery";
    pub const ESCROWS: &str = "escrows";
    pub const SLA: &str = "sla";
    pub const COMPLIANCE: &str = "compliance";
    pub const WELFARE: &str = "welfare";
    pub const SUMMARY: &str = "summary";
    pub const EFFECTS: &str = "effects";
}

pub mod atomic;
pub mod page;
pub mod parquet;
pub mod raw_tables;
pub mod run_report;
pub mod sweep_report;

/// Building a table's frame failed (a polars error: a bug or memory exhaustion, never bad input).
#[derive(Debug, thiserror::Error)]
#[error("building table {table}: {source}")]
pub struct TableError {
    /// The table.
    pub table: &'static str,
    /// What polars said.
    #[source]
    pub source: polars::prelude::PolarsError,
}

impl TableError {
    /// A closure that wraps a polars error of `table`.
    pub fn of(table: &'static str) -> impl Fn(polars::prelude::PolarsError) -> TableError {
        move |source| TableError { table, source }
    }
}

pub use atomic::{IoError, check_output_dir, existing_folder, write_atomic, write_atomic_with, write_json_atomic};
pub use parquet::{Frame, read_parquet, write_parquet_atomic, write_parquet_serial_atomic};
