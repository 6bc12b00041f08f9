//! # synmarket-agents
//!
//! Agent behaviours, population specs and the discrete-event kernel that lets seeded agent
//! populations trade on the [`synmarket_engine`] market.
//!
//! - [`config`]: what the typed configurations share (TOML paths, checks, field introspection).
//! - [`dist`]: fixed values and distributions, and their file format.
//! - [`spec`]: typed descriptions of task types and populations (their file format, defaults and
//!   checks).
//! - [`stream`]: the seed-derivation contract: one ChaCha stream per agent from (root seed,
//!   population name, index).
//! - [`agent`]: the `Agent` trait (observe → decide → actions).
//! - [`strategies`]: one module per strategy (zero intelligence, ZIP, Roth–Erev, VWAP tracking,
//!   reputation builders and exploiters, unreliable providers, and the adversaries: key sharers,
//!   relays, resellers, Sybils, colluders, dispute abusers, forgers, leakers, corrupt
//!   arbitrators), each owning its parameters, price rule and conduct, and the role agents.
//! - [`kernel`]: the event queue, arrivals, task execution, sampling, periods, Sybil re-entry and
//!   the ground truth of attempted violations.
//!
//! `agents/README.md` documents every strategy, its parameters and the rule or paper it follows;
//! "§N" in this crate is a section of `docs/mechanisms.md`.

pub mod agent;
pub mod config;
pub mod dist;
pub mod kernel;
pub mod population;
pub mod roles;
pub mod spec;
pub mod strategies;
pub mod stream;

pub use agent::{Action, GroundTruthKind, Observation, Profile, TaskTypeInfo, Wake};
pub use dist::{Dist, DurationDist, UnitValues};
pub use kernel::{
    AgentRecord, GroundTruth, Identity, KernelStats, MarketSample, Observer, SimError, SimResult, Simulation,
    SimulationSpec, Step, TypeSample,
};
pub use population::{Common, PopulationSpec, Providing, Requesting, Trading};
pub use roles::Agent;
pub use spec::{PrivacyMix, Reliability, Role, SlaTerms, TaskTypeSpec};
pub use strategies::{Strategy, StrategySpec};
