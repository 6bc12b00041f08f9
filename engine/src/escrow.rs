//! Escrow and task-assignment records and their state machines (§4, §5, §6).
//!
//! **Task**: `Assigned → InProgress → Completed | SlaViolated`, or `Assigned | InProgress →
//! Failed` when a start or completion deadline (plus grace) passes.
//!
//! **Escrow**: `Created → Funded` at the match (both steps are recorded), then
//! `Funded → Completed` when the task completes, `Completed → Released` on authorised release (or
//! review-window silence, or the time lock), `Funded → Refunded` when the task fails,
//! `Completed → Refunded` when an audit voids the payment, `Funded → Expired` when the task has not
//! completed by the escrow timeout, `Funded | Completed → Disputed` when a party disputes, and
//! `Disputed → Resolved` by a panel majority or the dispute timeout once the task has completed.
//! The facts outrank a dispute: `Disputed → Refunded` when the task fails or the audit voids the
//! payment, `Disputed → Expired` when the task has not completed by the escrow timeout (a disputed
//! escrow still holds the task's tokens; the task keeps running while it is disputed). Every change
//! is appended to the market's escrow audit trail; [`EscrowState::can_become`] is the only table
//! of legal moves.

use serde::{Deserialize, Serialize};

use crate::config::MultiSigType;
use crate::ids::{AccountId, AssignmentId, EscrowId, OrderId, PeerId, SimTime, TaskTypeId};
use crate::order::{PrivacyLevel, QualityValues, SlaSpec};

/// Task lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Matched, not started.
    Assigned,
    /// Started.
    InProgress,
    /// Completed without SLA violation.
    Completed,
    /// Completed with at least one SLA violation.
    SlaViolated,
    /// Never started, or never completed, by the deadline plus grace.
    Failed,
}

crate::named!(TaskStatus, FailureKind, EscrowState, Vote);

/// Why a task failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Not started by the response deadline plus grace.
    NoShow,
    /// Not completed by the duration deadline plus grace.
    Abandoned,
}

/// SLA breaches found at completion.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Violations {
    /// Started after `max_response_time`.
    pub response: bool,
    /// Ran longer than `max_duration`.
    pub duration: bool,
    /// Uptime below the requirement.
    pub uptime: bool,
    /// Quality metrics below their minimum or missing.
    pub quality: u8,
}

impl Violations {
    /// Number of violations (each quality metric counts once).
    pub fn count(&self) -> u32 {
        self.response as u32 + self.duration as u32 + self.uptime as u32 + self.quality as u32
    }
}

/// A match between a request and an offer, and the work it stands for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskAssignment {
    /// Id (equal to its escrow's number).
    pub id: AssignmentId,
    /// The request.
    pub request: OrderId,
    /// The offer.
    pub offer: OrderId,
    /// Who pays.
    pub requester: PeerId,
    /// Who works.
    pub provider: PeerId,
    /// Task type.
    pub task_type: TaskTypeId,
    /// Units assigned.
    pub units: u64,
    /// Trade price per unit.
    pub price_per_unit: u64,
    /// The request's bid.
    pub bid: u64,
    /// The offer's ask.
    pub ask: u64,
    /// Privacy level of the task.
    pub privacy: PrivacyLevel,
    /// The provider's reputation when matched.
    pub provider_reputation: f64,
    /// SLA of the request.
    pub sla: Option<SlaSpec>,
    /// Longest response time in force (SLA or market default).
    pub max_response_ms: u64,
    /// Longest duration in force (SLA, task spec or market default).
    pub max_duration_ms: u64,
    /// When matched.
    pub assigned_at: SimTime,
    /// When started.
    pub started_at: Option<SimTime>,
    /// When completed or failed.
    pub finished_at: Option<SimTime>,
    /// Status.
    pub status: TaskStatus,
    /// Failure reason, when failed.
    pub failure: Option<FailureKind>,
    /// Breaches found at completion.
    pub violations: Violations,
    /// Penalty owed to the requester (≤ escrow amount).
    pub penalty: u64,
    /// Quality reported at completion.
    pub quality: QualityValues,
    /// Uptime reported at completion.
    pub uptime: f64,
    /// Account named on the execution receipt.
    pub receipt_account: Option<AccountId>,
    /// Whether the receipt was audited.
    pub audited: bool,
    /// Feedback given by the requester (index 0) and the provider (index 1).
    pub feedback: [Option<u8>; 2],
}

impl TaskAssignment {
    /// Escrow amount `price × units`.
    pub fn amount(&self) -> u64 {
        self.price_per_unit * self.units
    }

    /// The escrow of this assignment.
    pub fn escrow(&self) -> EscrowId {
        EscrowId(self.id.0)
    }
}

/// Escrow states (§5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EscrowState {
    /// Opened, not yet funded.
    Created,
    /// Holds the amount; task running.
    Funded,
    /// Task completed; awaiting release.
    Completed,
    /// Paid out to the provider (minus penalty and fee).
    Released,
    /// Returned to the requester.
    Refunded,
    /// Frozen by a dispute.
    Disputed,
    /// Paid out by a dispute decision.
    Resolved,
    /// Refunded because the task never completed by the escrow timeout.
    Expired,
}

impl EscrowState {
    /// The table of legal transitions.
    pub fn can_become(self, to: EscrowState) -> bool {
        use EscrowState::*;
        matches!(
            (self, to),
            (Created, Funded)
                | (Funded, Completed)
                | (Funded, Refunded)
                | (Funded, Expired)
                | (Funded, Disputed)
                | (Completed, Released)
                | (Completed, Refunded)
                | (Completed, Disputed)
                | (Disputed, Resolved)
                | (Disputed, Refunded)
                | (Disputed, Expired)
        )
    }

    /// True once no more tokens can move.
    pub fn is_settled(self) -> bool {
        matches!(self, EscrowState::Released | EscrowState::Refunded | EscrowState::Resolved | EscrowState::Expired)
    }

    /// True while the escrow holds tokens.
    pub fn holds_funds(self) -> bool {
        matches!(self, EscrowState::Funded | EscrowState::Completed | EscrowState::Disputed)
    }
}

/// An arbitrator's vote, and the outcome of a dispute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Vote {
    /// Settle as a normal release (penalty and fee apply). Named `release`.
    #[serde(rename = "release")]
    ReleaseToProvider,
    /// Refund the requester in full. Named `refund`.
    #[serde(rename = "refund")]
    RefundToRequester,
    /// Named `split` (tables write `split_<provider_bps>`). The provider gets `provider_bps` of `amount − penalty` (fee charged on it), the requester
    /// the rest.
    Split {
        /// Provider's share in basis points.
        provider_bps: u32,
    },
}

/// A dispute on an escrow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dispute {
    /// Who raised it.
    pub raised_by: PeerId,
    /// When.
    pub raised_at: SimTime,
    /// Arbitrators on the panel, drawn deterministically.
    pub panel: Vec<PeerId>,
    /// Matching votes needed.
    pub required: u8,
    /// Votes cast.
    pub votes: Vec<(PeerId, Vote)>,
    /// The state the escrow was in when disputed.
    pub disputed_from: EscrowState,
    /// The decision, once resolved.
    pub outcome: Option<Vote>,
    /// True when the outcome came from the timeout default.
    pub by_timeout: bool,
}

/// The escrow of one assignment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Escrow {
    /// Id (equal to the assignment's number).
    pub id: EscrowId,
    /// The assignment.
    pub assignment: AssignmentId,
    /// Payer.
    pub requester: PeerId,
    /// Payee.
    pub provider: PeerId,
    /// Tokens escrowed: `price × units`.
    pub amount: u64,
    /// Release authorisation.
    pub multisig: MultiSigType,
    /// State.
    pub state: EscrowState,
    /// When funded.
    pub funded_at: SimTime,
    /// When the task completed.
    pub completed_at: Option<SimTime>,
    /// When settled.
    pub settled_at: Option<SimTime>,
    /// Requester approved.
    pub requester_approved: bool,
    /// Provider approved.
    pub provider_approved: bool,
    /// Arbitrators of an `Arbitrators` escrow.
    pub arbitrators: Vec<PeerId>,
    /// Arbitrators that approved.
    pub arbitrator_approvals: Vec<PeerId>,
    /// The dispute, if any.
    pub dispute: Option<Dispute>,
    /// Paid to the provider at settlement.
    pub paid_provider: u64,
    /// Paid back to the requester at settlement (refund or penalty).
    pub paid_requester: u64,
    /// Fee paid to the treasury.
    pub fee: u64,
}

/// One line of the escrow audit trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscrowTransition {
    /// The escrow.
    pub escrow: EscrowId,
    /// When.
    pub time: SimTime,
    /// Previous state.
    pub from: EscrowState,
    /// New state.
    pub to: EscrowState,
    /// Who caused it (`None`: the market's clock or rules).
    pub actor: Option<PeerId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_table() {
        use EscrowState::*;
        assert!(Created.can_become(Funded));
        assert!(Completed.can_become(Released));
        assert!(Disputed.can_become(Resolved));
        assert!(!Released.can_become(Refunded));
        assert!(!Funded.can_become(Released));
        assert!(!Disputed.can_become(Released));
        assert!(Disputed.can_become(Refunded) && Disputed.can_become(Expired));
        for s in [Released, Refunded, Resolved, Expired] {
            assert!(s.is_settled());
            for t in [Created, Funded, Completed, Released, Refunded, Disputed, Resolved, Expired] {
                assert!(!s.can_become(t), "{s:?} -> {t:?}");
            }
        }
    }

    #[test]
    fn violation_count() {
        let v = Violations { response: true, duration: false, uptime: true, quality: 2 };
        assert_eq!(v.count(), 4);
    }
}
