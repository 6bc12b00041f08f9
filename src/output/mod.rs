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

pub mod atomic;
pub mod page;
pub mod parquet;
pub mod raw_tables;
pub mod run_report;
pub mod sweep_report;

pub use atomic::{IoError, check_output_dir, existing_folder, write_atomic, write_atomic_with, write_json_atomic};
pub use parquet::{Frame, read_parquet, write_parquet_atomic, write_parquet_serial_atomic};
