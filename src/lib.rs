//! # synmarket
//!
//! The research framework around the market engine: TOML scenarios ([`scenario`]), runs
//! ([`run`]), metric tables ([`metrics`]), sweeps ([`sweep`]) and counterfactual pair studies
//! ([`versus`]), charts ([`charts`]) and the output layer ([`output`]: atomic writes, Parquet
//! tables written and read back, raw tables, report pages, run and sweep reports). The CLI is
//! `src/main.rs`, the only place that uses `anyhow`.

pub mod build_id;
pub mod charts;
pub mod metrics;
pub mod narrate;
pub mod output;
pub mod run;
pub mod scenario;
pub mod sweep;
pub mod versus;

pub use synmarket_agents as agents;
pub use synmarket_engine as engine;
