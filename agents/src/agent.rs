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

use crate::spec::TaskTypeSpec;

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
        violation: Option<GroundTruthKind>,
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

/// The kinds of attempted policy violation the kernel records as ground truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroundTruthKind {
    /// A task's receipt names a foreign account (a relay kept a cut). `detail`: the account.
    Relay,
    /// A task executed on the account backing a reseller's capacity. `detail`: the account.
    Resale,
    /// A task executed on an account that several peers registered. `detail`: the account.
    KeySharing,
    /// An identity abandoned for a new peer. `peer`: the old id; `detail`: the new peer id.
    SybilReentry,
    /// Positive feedback between members of one ring. `detail`: the rated peer.
    CollusionFeedback,
    /// A requester disputed work that was delivered. `detail`: the provider.
    DisputeAbuse,
    /// An order placed in another peer's name. `detail`: the victim peer.
    Forgery,
    /// A private (`detail` = 1) or confidential (2) payload leaked: a privacy incident.
    Leak,
    /// An arbitrator voted against the evidence. `detail`: 0 refund, 1 release, 2 split (the vote cast).
    CorruptVote,
}

synmarket_engine::named!(GroundTruthKind);

impl GroundTruthKind {
    /// What several of them are called in sentences ("relayed tasks", "Sybil re-entries").
    pub fn plural(self) -> &'static str {
        match self {
            GroundTruthKind::Relay => "relayed tasks",
            GroundTruthKind::Resale => "resold tasks",
            GroundTruthKind::KeySharing => "tasks on shared keys",
            GroundTruthKind::SybilReentry => "Sybil re-entries",
            GroundTruthKind::CollusionFeedback => "ring ratings",
            GroundTruthKind::DisputeAbuse => "abusive disputes",
            GroundTruthKind::Forgery => "forged orders",
            GroundTruthKind::Leak => "payload leaks",
            GroundTruthKind::CorruptVote => "corrupt votes",
        }
    }

    /// The kind named `name` (its `as_str`).
    pub fn from_name(name: &str) -> Option<GroundTruthKind> {
        GroundTruthKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Every kind, in table order.
    pub const ALL: [GroundTruthKind; 9] = [
        GroundTruthKind::Relay,
        GroundTruthKind::Resale,
        GroundTruthKind::KeySharing,
        GroundTruthKind::SybilReentry,
        GroundTruthKind::CollusionFeedback,
        GroundTruthKind::DisputeAbuse,
        GroundTruthKind::Forgery,
        GroundTruthKind::Leak,
        GroundTruthKind::CorruptVote,
    ];
}
