//! The typed events the market reports. Callers drain them with [`crate::Market::drain_events`];
//! the engine does no I/O. Events are `Copy` and carry only ids and numbers, so recording one
//! never allocates beyond the event buffer's amortised growth.

use serde::{Deserialize, Serialize};

use crate::escrow::{EscrowState, FailureKind, Violations, Vote};
use crate::ids::{AssignmentId, EscrowId, OrderId, PeerId, SimTime, TaskTypeId};
use crate::order::Side;
use crate::reputation::ReputationEvent;

/// Why an auction closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// Every unit was assigned.
    Filled,
    /// Every provider slot was used.
    SlotsUsed,
    /// The window ended.
    WindowEnded,
    /// The request expired.
    Expired,
    /// The requester cancelled (or was banned).
    Cancelled,
    /// A trade cleared the book (continuous double auction with `clear_book_after_trade`).
    BookCleared,
}

/// A compliance finding at an audit (§9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// The receipt names an account other than the provider's own (relay or resale).
    ReceiptMismatch,
    /// The provider's account is registered by several peers (key sharing).
    SharedAccount,
}

/// Something that happened in the market.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum MarketEvent {
    /// An order entered the market.
    OrderPlaced {
        /// Time.
        time: SimTime,
        /// Order.
        order: OrderId,
        /// Side.
        side: Side,
        /// Owner.
        trader: PeerId,
        /// Task type.
        task_type: TaskTypeId,
        /// Bid or ask per unit.
        price_per_unit: u64,
        /// Units.
        units: u64,
    },
    /// A placement was refused (nothing changed).
    OrderRejected {
        /// Time.
        time: SimTime,
        /// Would-be owner.
        trader: PeerId,
        /// Side.
        side: Side,
        /// The error's name (see [`crate::MarketError::code`]).
        reason: &'static str,
    },
    /// A request's remainder opened a first-accept auction.
    AuctionOpened {
        /// Time.
        time: SimTime,
        /// The request.
        request: OrderId,
        /// When the window ends.
        closes_at: SimTime,
    },
    /// An auction closed.
    AuctionClosed {
        /// Time.
        time: SimTime,
        /// The request.
        request: OrderId,
        /// Why.
        reason: CloseReason,
        /// Units assigned in total.
        filled_units: u64,
    },
    /// A request and an offer matched: an assignment (the matched pair, with its task and
    /// escrow) exists.
    Assigned {
        /// Time.
        time: SimTime,
        /// Assignment (and escrow) id.
        assignment: AssignmentId,
        /// Request.
        request: OrderId,
        /// Offer.
        offer: OrderId,
        /// Requester.
        requester: PeerId,
        /// Provider.
        provider: PeerId,
        /// Task type.
        task_type: TaskTypeId,
        /// Units.
        units: u64,
        /// Trade price per unit.
        price_per_unit: u64,
        /// True when the request arrived after the offer (the offer was resting).
        offer_was_resting: bool,
    },
    /// An order's unfilled remainder was withdrawn by its owner or a ban.
    OrderCancelled {
        /// Time.
        time: SimTime,
        /// Order.
        order: OrderId,
        /// Units withdrawn.
        unfilled_units: u64,
    },
    /// An order expired (or its auction window ended) with units unfilled.
    OrderExpired {
        /// Time.
        time: SimTime,
        /// Order.
        order: OrderId,
        /// Units unfilled.
        unfilled_units: u64,
    },
    /// A task started.
    TaskStarted {
        /// Time.
        time: SimTime,
        /// Assignment.
        assignment: AssignmentId,
        /// Response time in ms.
        response_ms: u64,
    },
    /// A task completed.
    TaskCompleted {
        /// Time.
        time: SimTime,
        /// Assignment.
        assignment: AssignmentId,
        /// Breaches.
        violations: Violations,
        /// Penalty owed.
        penalty: u64,
    },
    /// A task failed.
    TaskFailed {
        /// Time.
        time: SimTime,
        /// Assignment.
        assignment: AssignmentId,
        /// Why.
        kind: FailureKind,
    },
    /// An escrow changed state.
    EscrowChanged {
        /// Time.
        time: SimTime,
        /// Escrow.
        escrow: EscrowId,
        /// From.
        from: EscrowState,
        /// To.
        to: EscrowState,
    },
    /// A dispute was raised.
    DisputeRaised {
        /// Time.
        time: SimTime,
        /// Escrow.
        escrow: EscrowId,
        /// Who raised it.
        by: PeerId,
    },
    /// An arbitrator voted.
    VoteCast {
        /// Time.
        time: SimTime,
        /// Escrow.
        escrow: EscrowId,
        /// Arbitrator.
        arbitrator: PeerId,
        /// Vote.
        vote: Vote,
    },
    /// A dispute was decided.
    DisputeResolved {
        /// Time.
        time: SimTime,
        /// Escrow.
        escrow: EscrowId,
        /// Decision.
        outcome: Vote,
        /// True when decided by the timeout default.
        by_timeout: bool,
    },
    /// A receipt was (or was not) audited at completion.
    ComplianceChecked {
        /// Time.
        time: SimTime,
        /// Assignment.
        assignment: AssignmentId,
        /// Provider.
        provider: PeerId,
        /// Whether the receipt was audited.
        audited: bool,
        /// What the audit found.
        violation: Option<ViolationKind>,
    },
    /// A peer was banned.
    PeerBanned {
        /// Time.
        time: SimTime,
        /// Peer.
        peer: PeerId,
        /// Why.
        violation: ViolationKind,
    },
    /// A reputation score moved.
    ReputationChanged {
        /// Time.
        time: SimTime,
        /// Peer.
        peer: PeerId,
        /// Cause.
        event: ReputationEvent,
        /// New score.
        score: f64,
    },
    /// A call by the wrong peer or with a bad signature was refused.
    CallRefused {
        /// Time.
        time: SimTime,
        /// Caller.
        caller: PeerId,
        /// The error's name.
        reason: &'static str,
    },
}

impl MarketEvent {
    /// The time of the event.
    pub fn time(&self) -> SimTime {
        match *self {
            MarketEvent::OrderPlaced { time, .. }
            | MarketEvent::OrderRejected { time, .. }
            | MarketEvent::AuctionOpened { time, .. }
            | MarketEvent::AuctionClosed { time, .. }
            | MarketEvent::Assigned { time, .. }
            | MarketEvent::OrderCancelled { time, .. }
            | MarketEvent::OrderExpired { time, .. }
            | MarketEvent::TaskStarted { time, .. }
            | MarketEvent::TaskCompleted { time, .. }
            | MarketEvent::TaskFailed { time, .. }
            | MarketEvent::EscrowChanged { time, .. }
            | MarketEvent::DisputeRaised { time, .. }
            | MarketEvent::VoteCast { time, .. }
            | MarketEvent::DisputeResolved { time, .. }
            | MarketEvent::ComplianceChecked { time, .. }
            | MarketEvent::PeerBanned { time, .. }
            | MarketEvent::ReputationChanged { time, .. }
            | MarketEvent::CallRefused { time, .. } => time,
        }
    }
}

crate::named!(CloseReason, ViolationKind);
