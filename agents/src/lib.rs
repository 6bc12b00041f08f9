//! # synmarket-agents
//!
//! Agent behaviours, population specs and the discrete-event kernel that lets seeded agent
//! populations trade on the [`synmarket_engine`] market.
//!
//! - [`spec`]: validated descriptions of task types and populations (what a scenario becomes).
//! - [`params`]: the strategy set and the strategy-specific parameters.
//! - [`stream`]: the seed-derivation contract: one ChaCha stream per agent from (root seed,
//!   population name, index).
//! - [`agent`]: the `Agent` trait (observe → decide → actions).
//! - [`strategies`]: the behaviours: zero intelligence, ZIP, Roth–Erev, VWAP tracking,
//!   reputation builders and exploiters, unreliable providers, and the adversaries (key sharers,
//!   relays, resellers, Sybils, colluders, dispute abusers, forgers, leakers, corrupt arbitrators).
//! - [`kernel`]: the event queue, arrivals, task execution, sampling, periods, Sybil re-entry and
//!   the ground truth of attempted violations.
//!
//! `agents/README.md` documents every strategy, its parameters and the rule or paper it follows.

pub mod agent;
pub mod kernel;
pub mod params;
pub mod spec;
pub mod strategies;
pub mod stream;

pub use agent::{Action, Agent, Observation, Profile, TaskTypeInfo, Wake};
pub use kernel::{
    AgentRecord, GroundTruth, GroundTruthKind, Identity, KernelStats, MarketSample, Observer, SimError, SimResult,
    Simulation, SimulationSpec, TypeSample,
};
pub use params::StrategyParams;
pub use spec::{Dist, PopulationSpec, PrivacyMix, Reliability, Role, SlaTerms, Strategy, TaskTypeSpec};
