//! The agent interface: the kernel wakes an agent with a reason and a read-only view of the
//! market; the agent answers with actions into a reusable buffer; the kernel applies them.
//!
//! Agents never mutate the market themselves (docs/architecture.md: "Agents return decisions; the kernel
//! applies them"), and draw randomness only from the stream the kernel hands them, which is their
//! own (see [`crate::stream`]).

use synmarket_engine::{
    AssignmentId, CapabilitySet, Completion, ComputeTaskSpec, DurationMs, EscrowId, Market, OrderId, PeerId, Side,
    SimTime, SlaSpec, TaskTypeId, Vote,
};

use crate::spec::{Role, Strategy, TaskTypeSpec};
use crate::stream::AgentRng;

/// Why an agent is woken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Its Poisson clock rang: time to trade.
    Arrival,
    /// An assignment names the agent: a provider has a task to run, a requester's request
    /// matched. Both parties are woken, the provider first.
    Assigned(AssignmentId),
    /// Provider: its start of the task took effect.
    Started(AssignmentId),
    /// A task completed and its escrow awaits release (requester, approving provider or
    /// arbitrator of the escrow).
    Completed(AssignmentId),
    /// The escrow of one of its trades settled.
    Settled(AssignmentId),
    /// Arbitrator: it sits on the panel of a disputed escrow.
    Disputed(EscrowId),
    /// A new trading period began (endowments were reset, open orders cancelled).
    PeriodStart(u32),
}

/// What an agent asks the kernel to do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Action {
    /// Place an order now.
    PlaceOrder {
        /// Side.
        side: Side,
        /// Bid or ask per unit.
        price_per_unit: u64,
        /// Units.
        units: u64,
        /// Task spec.
        spec: ComputeTaskSpec,
        /// SLA (requests).
        sla: Option<SlaSpec>,
        /// Time to live; `None` = no expiry.
        ttl_ms: Option<DurationMs>,
    },
    /// Cancel one of its orders.
    Cancel(OrderId),
    /// Start an assigned task after a delay.
    StartAfter {
        /// Task.
        assignment: AssignmentId,
        /// Delay.
        delay_ms: DurationMs,
    },
    /// Complete a started task after a delay, reporting this.
    CompleteAfter {
        /// Task.
        assignment: AssignmentId,
        /// Delay.
        delay_ms: DurationMs,
        /// The report.
        completion: Completion,
        /// The violation a foreign receipt account is (relay or resale), for the ground truth.
        violation: Option<crate::kernel::GroundTruthKind>,
    },
    /// Approve an escrow's release.
    Approve(EscrowId),
    /// Dispute an escrow.
    Dispute(EscrowId),
    /// Vote on a dispute.
    Vote(EscrowId, Vote),
    /// Rate the counterparty of a settled trade (1–5).
    Feedback(AssignmentId, u8),
    /// Place an order in `victim`'s name, signed with the agent's own key (a forgery, §10).
    ForgeOrder {
        /// The peer named as trader.
        victim: PeerId,
        /// Side.
        side: Side,
        /// Bid or ask per unit.
        price_per_unit: u64,
        /// Units.
        units: u64,
        /// Task spec.
        spec: ComputeTaskSpec,
    },
    /// Leak the payload of an assigned task (a privacy incident when the task is not public).
    Leak(AssignmentId),
    /// Abandon the current identity and re-enter the market as a new peer (a Sybil). The kernel
    /// cancels the old identity's orders, moves its available tokens to the new peer and wakes
    /// the agent under the new id from then on; work already assigned to the old id continues.
    ReEnter,
}

/// What the kernel knows of a task type, in engine terms.
#[derive(Clone, Debug)]
pub struct TaskTypeInfo {
    /// Engine id.
    pub id: TaskTypeId,
    /// Capability indices of its vocabulary.
    pub capabilities: Vec<u8>,
    /// How many of them a request needs (the spec's value or its default).
    pub capabilities_needed: crate::dist::Dist,
    /// The scenario's description.
    pub spec: TaskTypeSpec,
}

/// The read-only view an agent decides on.
pub struct Observation<'a> {
    /// Simulated time.
    pub now: SimTime,
    /// The agent's peer id.
    pub me: PeerId,
    /// The market (public API only; agents cannot mutate it).
    pub market: &'a Market,
    /// Task types of the scenario, by index.
    pub task_types: &'a [TaskTypeInfo],
    /// Quality metric indices every completion reports.
    pub quality_metrics: &'a [u8],
}

/// The private parameters of an agent that the market does not know (for metrics).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Profile {
    /// Requesters: value per unit.
    pub value_per_unit: Option<f64>,
    /// Providers: cost per unit.
    pub cost_per_unit: Option<f64>,
    /// Tokens per period.
    pub budget: u64,
    /// Providers: capabilities held (besides the per-task-type vocabulary sample).
    pub capabilities: CapabilitySet,
}

/// An agent: observe → decide → actions.
pub trait Agent: Send {
    /// Reacts to `wake`, pushing actions into `out`.
    fn wake(&mut self, wake: Wake, obs: &Observation<'_>, rng: &mut AgentRng, out: &mut Vec<Action>);
    /// Role.
    fn role(&self) -> Role;
    /// Strategy.
    fn strategy(&self) -> Strategy;
    /// Private parameters.
    fn profile(&self) -> Profile;
}
