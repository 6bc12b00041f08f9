//! After the match: task lifecycle and SLA (§4), escrow release and settlement (§5), disputes
//! (§6), reputation events (§7), compliance audits and bans (§9) and feedback.
//!
//! Settlement of a release with penalty `P ≤ A` and fee rate `fee_bps`: the provider receives
//! `A − P − F`, the requester `P`, the treasury `F = (A − P) × fee_bps / 10000` (rounded down).
//! A refund returns `A` to the requester. A dispute split of `s` basis points gives the provider
//! `G = (A − P) × s / 10000` minus the fee on `G`, and the requester `A − G`. Every split rounds
//! down on the provider's side, so the remainder stays with the payer and tokens are conserved.

use crate::bank::{Account, EntryKind};
use crate::config::{DisputeDefault, MultiSigType};
use crate::error::MarketError;
use crate::escrow::{Dispute, EscrowState, EscrowTransition, FailureKind, TaskStatus, Violations, Vote};
use crate::events::{MarketEvent, ViolationKind};
use crate::ids::{AccountId, AssignmentId, EscrowId, PeerId, SimTime};
use crate::market::{Market, TimerKind, unit_sample};
use crate::order::{OrderType, QualityValues, SignatureBytes};
use crate::reputation::ReputationEvent;
use crate::signing;

/// What a provider reports when it completes a task.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Completion {
    /// Named quality scores in [0, 1].
    pub quality: QualityValues,
    /// Fraction of the task's time the provider was reachable, in [0, 1].
    pub uptime: f64,
    /// The account that ran the task (the execution receipt).
    pub receipt_account: AccountId,
}

impl Completion {
    /// A completion with full uptime and no quality scores, executed on `account`.
    pub fn on(account: AccountId) -> Self {
        Completion { quality: QualityValues::EMPTY, uptime: 1.0, receipt_account: account }
    }
}

const AUDIT_STREAM: u64 = 0xA0D1;
const PANEL_STREAM: u64 = 0xD15B;

impl Market {
    pub(crate) fn transition(&mut self, eid: EscrowId, to: EscrowState, actor: Option<PeerId>, now: SimTime) {
        let e = &mut self.escrows[eid.index()];
        let from = e.state;
        debug_assert!(from.can_become(to), "illegal escrow transition {from:?} -> {to:?}");
        e.state = to;
        self.trail.push(EscrowTransition { escrow: eid, time: now, from, to, actor });
        self.events.push(MarketEvent::EscrowChanged { time: now, escrow: eid, from, to });
    }

    fn rep(&mut self, peer: PeerId, event: ReputationEvent, times: u32, now: SimTime) {
        if times == 0 {
            return;
        }
        let score = self.reputation.apply(peer, event, times);
        self.events.push(MarketEvent::ReputationChanged { time: now, peer, event, score });
        self.rekey_offers(peer);
    }

    pub(crate) fn fire_lifecycle(&mut self, kind: TimerKind, id: u64, t: SimTime) {
        match kind {
            TimerKind::StartDeadline => {
                if self.assignments[id as usize].status == TaskStatus::Assigned {
                    self.fail_task(AssignmentId(id), FailureKind::NoShow, t);
                }
            }
            TimerKind::FinishDeadline => {
                if self.assignments[id as usize].status == TaskStatus::InProgress {
                    self.fail_task(AssignmentId(id), FailureKind::Abandoned, t);
                }
            }
            TimerKind::ReviewEnd | TimerKind::TimeLock => {
                if self.escrows[id as usize].state == EscrowState::Completed {
                    self.release(EscrowId(id), None, t);
                }
            }
            TimerKind::EscrowTimeout => {
                let eid = EscrowId(id);
                if self.escrows[eid.index()].state == EscrowState::Funded {
                    let a = &mut self.assignments[eid.index()];
                    if matches!(a.status, TaskStatus::Assigned | TaskStatus::InProgress) {
                        a.status = TaskStatus::Failed;
                        a.failure = Some(FailureKind::Abandoned);
                        a.finished_at = Some(t);
                        self.events.push(MarketEvent::TaskFailed {
                            time: t,
                            assignment: AssignmentId(id),
                            kind: FailureKind::Abandoned,
                        });
                    }
                    self.refund(eid, EscrowState::Expired, EntryKind::Refund, None, t);
                }
            }
            TimerKind::DisputeTimeout => {
                let eid = EscrowId(id);
                if self.escrows[eid.index()].state == EscrowState::Disputed {
                    let outcome = match self.config.dispute_default {
                        DisputeDefault::ReleaseToProvider => Vote::ReleaseToProvider,
                        DisputeDefault::RefundToRequester => Vote::RefundToRequester,
                        DisputeDefault::SplitEvenly => Vote::Split { provider_bps: 5000 },
                    };
                    self.resolve(eid, outcome, true, t);
                }
            }
            TimerKind::OrderExpiry | TimerKind::AuctionClose | TimerKind::Decay => {}
        }
    }

    fn fail_task(&mut self, aid: AssignmentId, kind: FailureKind, t: SimTime) {
        let a = &mut self.assignments[aid.index()];
        a.status = TaskStatus::Failed;
        a.failure = Some(kind);
        a.finished_at = Some(t);
        let provider = a.provider;
        self.events.push(MarketEvent::TaskFailed { time: t, assignment: aid, kind });
        self.rep(provider, ReputationEvent::TradeFailed, 1, t);
        let eid = EscrowId(aid.0);
        if self.escrows[eid.index()].state == EscrowState::Funded {
            self.refund(eid, EscrowState::Refunded, EntryKind::Refund, None, t);
        }
    }

    /// Returns the whole escrow to the requester and settles it in state `to`.
    fn refund(&mut self, eid: EscrowId, to: EscrowState, kind: EntryKind, actor: Option<PeerId>, t: SimTime) {
        let e = &self.escrows[eid.index()];
        let (requester, amount) = (e.requester, self.bank.escrow_balance(eid));
        let _ = self.bank.transfer(kind, Account::Escrow(eid), Account::Available(requester), amount, eid.0, t);
        let e = &mut self.escrows[eid.index()];
        e.paid_requester += amount;
        e.settled_at = Some(t);
        self.transition(eid, to, actor, t);
    }

    /// Pays out provider share `gross` (fee charged on it) and the rest to the requester, with the
    /// penalty part booked as `Penalty`.
    fn pay_out(&mut self, eid: EscrowId, gross: u64, penalty: u64, t: SimTime) {
        let e = &self.escrows[eid.index()];
        let (requester, provider) = (e.requester, e.provider);
        let amount = self.bank.escrow_balance(eid);
        let fee = (gross as u128 * self.config.fee_bps as u128 / 10_000) as u64;
        let back = amount - gross;
        let penalty = penalty.min(back);
        let _ = self.bank.transfer(
            EntryKind::Release,
            Account::Escrow(eid),
            Account::Available(provider),
            gross - fee,
            eid.0,
            t,
        );
        let _ = self.bank.transfer(
            EntryKind::Penalty,
            Account::Escrow(eid),
            Account::Available(requester),
            penalty,
            eid.0,
            t,
        );
        let _ = self.bank.transfer(
            EntryKind::Refund,
            Account::Escrow(eid),
            Account::Available(requester),
            back - penalty,
            eid.0,
            t,
        );
        let _ = self.bank.transfer(EntryKind::Fee, Account::Escrow(eid), Account::Treasury, fee, eid.0, t);
        let e = &mut self.escrows[eid.index()];
        e.paid_provider = gross - fee;
        e.paid_requester = back;
        e.fee = fee;
        e.settled_at = Some(t);
    }

    /// Normal release of a completed escrow.
    fn release(&mut self, eid: EscrowId, actor: Option<PeerId>, t: SimTime) {
        let penalty = self.assignments[eid.index()].penalty;
        let amount = self.escrows[eid.index()].amount;
        self.pay_out(eid, amount - penalty, penalty, t);
        self.transition(eid, EscrowState::Released, actor, t);
        let provider = self.escrows[eid.index()].provider;
        self.rep(provider, ReputationEvent::TradeCompleted, 1, t);
    }

    fn resolve(&mut self, eid: EscrowId, outcome: Vote, by_timeout: bool, t: SimTime) {
        let penalty = self.assignments[eid.index()].penalty;
        let e = &self.escrows[eid.index()];
        let (amount, requester, provider) = (e.amount, e.requester, e.provider);
        let net = amount - penalty;
        let gross = match outcome {
            Vote::ReleaseToProvider => net,
            Vote::RefundToRequester => 0,
            Vote::Split { provider_bps } => (net as u128 * provider_bps as u128 / 10_000) as u64,
        };
        self.pay_out(eid, gross, if gross == 0 { 0 } else { penalty }, t);
        if let Some(d) = self.escrows[eid.index()].dispute.as_mut() {
            d.outcome = Some(outcome);
            d.by_timeout = by_timeout;
        }
        self.transition(eid, EscrowState::Resolved, None, t);
        self.events.push(MarketEvent::DisputeResolved { time: t, escrow: eid, outcome, by_timeout });
        // The winner is the party that receives the larger share of the net amount.
        let provider_share = gross as u128 * 2;
        let winner = if provider_share > net as u128 {
            Some(provider)
        } else if provider_share < net as u128 {
            Some(requester)
        } else {
            None
        };
        if let Some(w) = winner {
            let raised_by = self.escrows[eid.index()].dispute.as_ref().map(|d| d.raised_by);
            let loser = if w == provider { requester } else { provider };
            self.rep(w, ReputationEvent::DisputeWon, 1, t);
            if raised_by == Some(loser) {
                self.rep(loser, ReputationEvent::DisputeLost, 1, t);
            }
        }
        let a = &self.assignments[eid.index()];
        if a.status == TaskStatus::Completed || a.status == TaskStatus::SlaViolated {
            // Reputation for the work itself was given at completion; nothing more here.
        }
    }

    fn assignment_checked(&self, aid: AssignmentId) -> Result<&crate::escrow::TaskAssignment, MarketError> {
        self.assignments.get(aid.index()).ok_or(MarketError::UnknownAssignment(aid))
    }

    /// The assigned provider starts the task (only from `Assigned`).
    pub fn start_task(&mut self, aid: AssignmentId, provider: PeerId, now: SimTime) -> Result<(), MarketError> {
        self.advance_to(now)?;
        let a = self.assignment_checked(aid)?;
        if a.provider != provider {
            return Err(self.refuse(
                provider,
                MarketError::NotAuthorized { caller: provider, action: "start a task assigned to another peer" },
            ));
        }
        if a.status != TaskStatus::Assigned {
            return Err(MarketError::WrongState { action: "start", state: a.status.name() });
        }
        let response = now - a.assigned_at;
        let max_duration = a.max_duration_ms;
        let a = &mut self.assignments[aid.index()];
        a.status = TaskStatus::InProgress;
        a.started_at = Some(now);
        self.reputation.observe_response(provider, response);
        self.events.push(MarketEvent::TaskStarted { time: now, assignment: aid, response_ms: response });
        let rc = self.config.reputation.clone();
        if response <= rc.fast_response_ms {
            self.rep(provider, ReputationEvent::FastResponse, 1, now);
        } else if response > rc.slow_response_ms {
            self.rep(provider, ReputationEvent::SlowResponse, 1, now);
        }
        self.schedule(now + max_duration + self.config.deadline_grace_ms, TimerKind::FinishDeadline, aid.0);
        Ok(())
    }

    /// The assigned provider completes the task (only from `InProgress`) with its quality scores,
    /// uptime and execution receipt. SLA penalties are computed here and paid at settlement; the
    /// receipt is audited with probability `audit_rate`.
    pub fn complete_task(
        &mut self,
        aid: AssignmentId,
        provider: PeerId,
        completion: Completion,
        now: SimTime,
    ) -> Result<(), MarketError> {
        self.advance_to(now)?;
        let a = self.assignment_checked(aid)?;
        if a.provider != provider {
            return Err(self.refuse(
                provider,
                MarketError::NotAuthorized { caller: provider, action: "complete a task assigned to another peer" },
            ));
        }
        if a.status != TaskStatus::InProgress {
            return Err(MarketError::WrongState { action: "complete", state: a.status.name() });
        }
        if !(0.0..=1.0).contains(&completion.uptime) {
            return Err(MarketError::InvalidFraction { what: "uptime", value: completion.uptime });
        }
        let started = a.started_at.unwrap_or(a.assigned_at);
        let mut v = Violations::default();
        let mut penalty: u64 = 0;
        if let Some(sla) = a.sla {
            v.response = started - a.assigned_at > sla.max_response_time_ms;
            v.duration = now - started > a.max_duration_ms;
            v.uptime = completion.uptime < sla.uptime_requirement;
            for (metric, min) in sla.quality_minimums.iter() {
                if completion.quality.get(metric).is_none_or(|q| q < min) {
                    v.quality += 1;
                }
            }
            let full = sla.violation_penalty as u128;
            let total =
                full * (v.response as u128 + v.duration as u128 + v.uptime as u128) + (full / 2) * v.quality as u128;
            penalty = total.min(a.amount() as u128) as u64;
        }
        let status = if v.count() > 0 { TaskStatus::SlaViolated } else { TaskStatus::Completed };
        let a = &mut self.assignments[aid.index()];
        a.status = status;
        a.finished_at = Some(now);
        a.violations = v;
        a.penalty = penalty;
        a.quality = completion.quality;
        a.uptime = completion.uptime;
        a.receipt_account = Some(completion.receipt_account);
        self.events.push(MarketEvent::TaskCompleted { time: now, assignment: aid, violations: v, penalty });
        self.rep(provider, ReputationEvent::SlaViolation, v.count(), now);

        let eid = EscrowId(aid.0);
        let state = self.escrows[eid.index()].state;
        if state == EscrowState::Funded {
            self.escrows[eid.index()].completed_at = Some(now);
            self.transition(eid, EscrowState::Completed, Some(provider), now);
        }
        // Compliance audit (§9).
        let audited = self.config.audit_rate >= 1.0
            || unit_sample(self.config.market_seed, AUDIT_STREAM, aid.0) < self.config.audit_rate;
        let mut violation = None;
        if audited {
            self.assignments[aid.index()].audited = true;
            let own = self.peers[provider.index()].account;
            if own != Some(completion.receipt_account) {
                violation = Some(ViolationKind::ReceiptMismatch);
            } else if own.is_some_and(|acc| self.account_holders.get(&acc).copied().unwrap_or(0) > 1) {
                violation = Some(ViolationKind::SharedAccount);
            }
        }
        self.events.push(MarketEvent::ComplianceChecked { time: now, assignment: aid, provider, audited, violation });
        if let Some(kind) = violation {
            if self.escrows[eid.index()].state == EscrowState::Completed {
                self.refund(eid, EscrowState::Refunded, EntryKind::Forfeit, None, now);
            }
            self.ban(provider, kind, now);
            return Ok(());
        }
        if self.escrows[eid.index()].state == EscrowState::Completed {
            self.schedule(now + self.config.review_window_ms, TimerKind::ReviewEnd, eid.0);
            if let MultiSigType::TimeLocked { release_after_ms } = self.escrows[eid.index()].multisig {
                self.schedule(now + release_after_ms, TimerKind::TimeLock, eid.0);
            }
        }
        Ok(())
    }

    fn ban(&mut self, peer: PeerId, violation: ViolationKind, now: SimTime) {
        if self.peers[peer.index()].banned {
            return;
        }
        self.peers[peer.index()].banned = true;
        self.close_open_orders(peer, None::<OrderType>);
        self.events.push(MarketEvent::PeerBanned { time: now, peer, violation });
    }

    /// Approves the release of a completed escrow (§5). Who may approve depends on the escrow's
    /// [`MultiSigType`]; the approval that completes the required set releases at once.
    pub fn approve_release(
        &mut self,
        eid: EscrowId,
        approver: PeerId,
        signature: Option<SignatureBytes>,
        now: SimTime,
    ) -> Result<(), MarketError> {
        self.advance_to(now)?;
        let e = self.escrows.get(eid.index()).ok_or(MarketError::UnknownEscrow(eid))?;
        if self.peers.get(approver.index()).is_none() {
            return Err(MarketError::UnknownPeer(approver));
        }
        if self.config.verify_signatures {
            let msg = signing::approval_message(eid, approver);
            let ok = match (self.peers[approver.index()].key.as_ref(), signature.as_ref()) {
                (Some(k), Some(sig)) => signing::verify(k, &msg, sig),
                _ => false,
            };
            if !ok {
                return Err(self.refuse(approver, MarketError::BadSignature(approver)));
            }
        }
        let not_allowed = MarketError::NotAuthorized { caller: approver, action: "approve this escrow's release" };
        let authorized = match e.multisig {
            MultiSigType::Single => approver == e.requester,
            MultiSigType::BothParties => approver == e.requester || approver == e.provider,
            MultiSigType::Arbitrators { .. } => e.arbitrators.contains(&approver),
            MultiSigType::TimeLocked { .. } => false,
        };
        if !authorized {
            return Err(self.refuse(approver, not_allowed));
        }
        if e.state != EscrowState::Completed {
            return Err(MarketError::WrongState { action: "approve release", state: e.state.name() });
        }
        let duplicate = match e.multisig {
            MultiSigType::BothParties => {
                (approver == e.requester && e.requester_approved) || (approver == e.provider && e.provider_approved)
            }
            MultiSigType::Arbitrators { .. } => e.arbitrator_approvals.contains(&approver),
            _ => false,
        };
        if duplicate {
            return Err(MarketError::Duplicate(approver));
        }
        let e = &mut self.escrows[eid.index()];
        let release = match e.multisig {
            MultiSigType::Single => {
                e.requester_approved = true;
                true
            }
            MultiSigType::BothParties => {
                if approver == e.requester {
                    e.requester_approved = true;
                } else {
                    e.provider_approved = true;
                }
                e.requester_approved && e.provider_approved
            }
            MultiSigType::Arbitrators { required, .. } => {
                e.arbitrator_approvals.push(approver);
                e.arbitrator_approvals.len() >= (required as usize).min(e.arbitrators.len().max(1))
            }
            MultiSigType::TimeLocked { .. } => false,
        };
        if release {
            self.release(eid, Some(approver), now);
        }
        Ok(())
    }

    /// A party disputes a funded or completed escrow (§6): the escrow freezes and a panel is drawn.
    pub fn dispute(&mut self, eid: EscrowId, by: PeerId, now: SimTime) -> Result<(), MarketError> {
        self.advance_to(now)?;
        let e = self.escrows.get(eid.index()).ok_or(MarketError::UnknownEscrow(eid))?;
        if by != e.requester && by != e.provider {
            return Err(self.refuse(
                by,
                MarketError::NotAuthorized { caller: by, action: "dispute an escrow it is not party to" },
            ));
        }
        if !matches!(e.state, EscrowState::Funded | EscrowState::Completed) {
            return Err(MarketError::WrongState { action: "dispute", state: e.state.name() });
        }
        let (requester, provider, from) = (e.requester, e.provider, e.state);
        let (panel, required) = match e.multisig {
            MultiSigType::Arbitrators { required, .. } if !e.arbitrators.is_empty() => {
                (e.arbitrators.clone(), required)
            }
            _ => (
                self.draw_panel(eid, requester, provider, self.config.dispute_panel_total as usize, PANEL_STREAM),
                self.config.dispute_panel_required,
            ),
        };
        if panel.is_empty() {
            return Err(MarketError::NoArbitrators);
        }
        let required = required.min(panel.len() as u8);
        self.escrows[eid.index()].dispute = Some(Dispute {
            raised_by: by,
            raised_at: now,
            panel,
            required,
            votes: Vec::new(),
            disputed_from: from,
            outcome: None,
            by_timeout: false,
        });
        self.transition(eid, EscrowState::Disputed, Some(by), now);
        self.events.push(MarketEvent::DisputeRaised { time: now, escrow: eid, by });
        let accused = if by == requester { provider } else { requester };
        self.reputation.count_dispute(by);
        self.rep(accused, ReputationEvent::TradeDisputed, 1, now);
        self.schedule(now + self.config.dispute_timeout_ms, TimerKind::DisputeTimeout, eid.0);
        Ok(())
    }

    /// A panel arbitrator votes on a disputed escrow; `required` matching votes decide it.
    pub fn vote(&mut self, eid: EscrowId, arbitrator: PeerId, vote: Vote, now: SimTime) -> Result<(), MarketError> {
        self.advance_to(now)?;
        let e = self.escrows.get(eid.index()).ok_or(MarketError::UnknownEscrow(eid))?;
        if let Vote::Split { provider_bps } = vote
            && provider_bps > 10_000
        {
            return Err(MarketError::InvalidSplit(provider_bps));
        }
        let Some(d) = e.dispute.as_ref() else {
            return Err(MarketError::WrongState { action: "vote", state: e.state.name() });
        };
        if !d.panel.contains(&arbitrator) {
            return Err(self.refuse(
                arbitrator,
                MarketError::NotAuthorized { caller: arbitrator, action: "vote on a panel it is not on" },
            ));
        }
        if e.state != EscrowState::Disputed {
            return Err(MarketError::WrongState { action: "vote", state: e.state.name() });
        }
        if d.votes.iter().any(|(p, _)| *p == arbitrator) {
            return Err(MarketError::Duplicate(arbitrator));
        }
        let required = d.required as usize;
        let d = self.escrows[eid.index()].dispute.as_mut().expect("checked above");
        d.votes.push((arbitrator, vote));
        let matching = d.votes.iter().filter(|(_, v)| *v == vote).count();
        self.events.push(MarketEvent::VoteCast { time: now, escrow: eid, arbitrator, vote });
        if matching >= required {
            self.resolve(eid, vote, false, now);
        }
        Ok(())
    }

    /// Feedback (rating 1–5) from one party of a settled assignment about the other; once per side.
    pub fn leave_feedback(
        &mut self,
        aid: AssignmentId,
        from: PeerId,
        rating: u8,
        now: SimTime,
    ) -> Result<(), MarketError> {
        self.advance_to(now)?;
        let a = self.assignment_checked(aid)?;
        let side = if from == a.requester {
            0
        } else if from == a.provider {
            1
        } else {
            return Err(self.refuse(
                from,
                MarketError::NotAuthorized { caller: from, action: "leave feedback on another pair's trade" },
            ));
        };
        if !(1..=5).contains(&rating) {
            return Err(MarketError::InvalidRating(rating));
        }
        let state = self.escrows[aid.index()].state;
        if !state.is_settled() {
            return Err(MarketError::WrongState { action: "leave feedback", state: state.name() });
        }
        if a.feedback[side].is_some() {
            return Err(MarketError::Duplicate(from));
        }
        let other = if side == 0 { a.provider } else { a.requester };
        self.assignments[aid.index()].feedback[side] = Some(rating);
        if rating >= 4 {
            self.rep(other, ReputationEvent::PositiveFeedback, 1, now);
        } else if rating <= 2 {
            self.rep(other, ReputationEvent::NegativeFeedback, 1, now);
        }
        Ok(())
    }
}
