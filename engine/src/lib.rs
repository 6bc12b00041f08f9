//! # synmarket-engine
//!
//! The market of a peer compute federation, as a pure, deterministic, in-memory engine: no I/O,
//! no randomness, no clock, no threads. Callers pass simulated time (`SimTime`, milliseconds) into
//! every call and drain typed [`MarketEvent`]s. The rules are those of the project's
//! `docs/mechanisms.md`; this crate's module docs say where each is implemented and what was decided
//! where the rules are silent; "§N" is a section of `docs/mechanisms.md`.
//!
//! ## State machines in brief
//! - **Order**: `Active → PartiallyFilled → Filled`, or `→ Cancelled | Expired` ([`order`]).
//! - **Request**: locks `bid × units` at placement; takes resting offers best weighted ask first;
//!   its remainder opens a first-accept auction that closes on fill, on the last provider slot,
//!   at the window's end, at expiry or on cancel; what it did not spend is unlocked ([`market`]).
//! - **Task**: `Assigned → InProgress → Completed | SlaViolated`, or `→ Failed` when a deadline
//!   plus grace (or the escrow timeout) passes ([`escrow`], [`lifecycle`]).
//! - **Escrow**: `Created → Funded → Completed → Released`, `Funded → Refunded | Expired`,
//!   `Completed → Refunded` (voided by an audit), `Funded | Completed → Disputed → Resolved`,
//!   `Disputed → Refunded | Expired` (the task failed or the audit voided it)
//!   ([`escrow::EscrowState::can_become`]).
//! - **Dispute**: a deterministic panel votes; `required` matching votes decide (never fewer);
//!   the dispute timeout applies the configured default; neither decides before the task has
//!   completed or a time lock has ended.
//!
//! ## Rules that hold against adversaries
//! Where each is written: thresholds never lowered, facts before disputes, time locks, failure
//! bookkeeping ([`lifecycle`]); signatures over every field with per-peer sequence numbers
//! ([`signing`]); no time arithmetic wraps, durations limited ([`config`], [`market`]); closed-form
//! reputation decay and finite bounds ([`reputation`], [`config`]); validated small inputs
//! ([`order::QualityValues`], [`capability::CapabilitySet`], [`reputation::Tier::of`]). Every
//! public call answers `Ok` or a typed [`MarketError`] (or [`ConfigError`]) and never panics; the
//! property tests in `tests/hostile.rs` feed it arbitrary values, and `tests/differential.rs`
//! compares the engine step by step with a naive reference model written from these rules
//! (`tests/reference/`).
//!
//! ## Quick start
//! ```
//! use synmarket_engine::*;
//! let mut m = Market::new(MarketConfig::default()).unwrap();
//! let tt = m.register_task_type("code_generation").unwrap();
//! let rust = m.capabilities(["rust"]).unwrap();
//! let alice = m.register_peer(PeerSpec { endowment: 10_000, ..Default::default() }, 0).unwrap();
//! let bob = m.register_peer(PeerSpec { account: Some(AccountId(1)), ..Default::default() }, 0).unwrap();
//! m.place_order(NewOrder::sell(bob, 45, 200, ComputeTaskSpec::new(tt, rust)), 0).unwrap();
//! let mut spec = ComputeTaskSpec::new(tt, rust);
//! spec.min_reputation = 50.0;
//! m.place_order(NewOrder::buy(alice, 50, 100, spec), 1).unwrap();
//! assert_eq!(m.assignments()[0].units, 100);
//! assert_eq!(m.assignments()[0].price_per_unit, 45);
//! m.check_invariants().unwrap();
//! ```

pub mod bank;
mod book;
pub mod capability;
pub mod config;
pub mod duration;
pub mod error;
pub mod escrow;
pub mod events;
pub mod explain;
mod forest;
pub mod ids;
mod invariants;
pub mod lifecycle;
pub mod market;
mod matching;
pub mod names;
mod open_list;
pub mod order;
pub mod price;
mod queries;
pub mod reputation;
pub mod seed;
pub mod signing;
mod timers;
pub mod workload;

pub use bank::{Account, EntryKind, LedgerEntry, Wallet};
pub use capability::{CapabilitySet, Vocabulary};
pub use config::{
    DisputeDefault, Institution, MAX_DURATION_MS, MAX_REPUTATION_MAGNITUDE, MarketConfig, MultiSigType, PriceRule,
    ReputationConfig, SealedBidPrice,
};
pub use error::{ConfigError, InvariantError, MarketError};
pub use escrow::{
    Dispute, Escrow, EscrowState, EscrowTransition, FailureKind, TaskAssignment, TaskStatus, Violations, Vote,
};
pub use events::{CloseReason, MarketEvent, ViolationKind};
pub use explain::Disqualified;
pub use ids::{
    AccountId, AssignmentId, DAY, DurationMs, EscrowId, HOUR, MINUTE, OrderId, PeerId, SECOND, SimTime, TaskTypeId,
};
pub use lifecycle::Completion;
pub use market::{Market, MarketCounters, PeerSpec, PeerState};
pub use open_list::{OpenOrders, OpenOrdersIter};
pub use order::{
    ComputeTaskSpec, NewOrder, Order, OrderStatus, PrivacyLevel, QualityValues, Side, SignatureBytes, SlaSpec,
};
pub use price::PriceStats;
pub use reputation::{ReputationEvent, ReputationRecord, Tier};
pub use signing::Signed;
