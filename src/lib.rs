//! # synmarket
//!
//! The research framework around the market engine: TOML scenarios ([`scenario`]), runs
//! ([`run`]), raw and metric tables ([`tables`], [`metrics`]), charts ([`charts`]), report pages
//! ([`report`], [`report_run`]) and atomic output ([`io`]). The CLI is `src/main.rs`.

pub mod build_id;
pub mod charts;
pub mod io;
pub mod metrics;
pub mod narrate;
pub mod report;
pub mod report_run;
pub mod run;
pub mod scenario;
pub mod sweep;
pub mod tables;
pub mod versus;

pub use synmarket_agents as agents;
pub use synmarket_engine as engine;
