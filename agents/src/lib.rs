//! # synmarket-agents
//!
//! Agent behaviours, population specs and the discrete-event kernel that lets seeded agent
//! populations trade on the [`synmarket_engine`] market.
//!
//! - [`spec`]: validated descriptions of task types and populations (what a scenario becomes).
//! - [`stream`]: the seed-derivation contract: one ChaCha stream per agent from (root seed,
//!   population name, index).
//! - [`agent`]: the `Agent` trait (observe → decide → actions).
//! - [`behaviours`]: the strategy set (ZI-C, ZI-U, truthful, fixed markup, honest arbitrators).
//! - [`kernel`]: the event queue, arrivals, task execution, sampling and periods.

pub mod agent;
pub mod behaviours;
pub mod kernel;
pub mod spec;
pub mod stream;

pub use agent::{Action, Agent, Observation, Profile, TaskTypeInfo, Wake};
pub use kernel::{AgentRecord, KernelStats, MarketSample, SimError, SimResult, Simulation, SimulationSpec, TypeSample};
pub use spec::{Dist, PopulationSpec, PrivacyMix, Reliability, Role, SlaTerms, Strategy, TaskTypeSpec};
