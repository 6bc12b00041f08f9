//! After the match: task lifecycle and SLA (§4), escrow release and settlement (§5), disputes
//! (§6), reputation events (§7), compliance audits and bans (§9) and feedback.
//!
//! Settlement of a release with penalty `P ≤ A` and fee rate `fee_bps`: the provider receives
//! `A − P − F`, the requester `P`, the treasury `F = (A − P) × fee_bps / 10000` (rounded down).
//! A refund returns `A` to the requester. A dispute split of `s` basis points gives the provider
//! `G = (A − P) × s / 10000` minus the fee on `G`, and the requester `A − G`. Every split rounds
//! down on the provider's side, so the remainder stays with the payer and tokens are conserved.
//!
//! # Rules that hold against adversaries
//!
//! **Thresholds are never lowered.** An `Arbitrators { required, total }` escrow draws a panel of
//! up to `total` arbitrators at the match (registered, not banned, not a party; drawn uniformly
//! without replacement, `Market::draw_escrow_arbitrators`). Its release needs `required` distinct approvals from that panel, whatever
//! the panel's size: a panel smaller than `required` can never approve, and such an escrow
//! settles by the other rules only (review-window silence releases it, a failure refunds it, a
//! dispute decides it if a dispute panel can be staffed). A dispute's panel is the escrow's own
//! panel with its `required` for arbitrated escrows, otherwise `dispute_panel_total` arbitrators
//! drawn when the dispute is raised, needing `dispute_panel_required` matching votes. A dispute
//! whose panel has fewer members than the votes it needs is refused
//! ([`MarketError::PanelUnstaffed`]) and nothing changes. An arbitrator banned after the draw
//! keeps its seat but loses its voice: its approvals and votes are refused (`NotAuthorized`), so
//! the threshold must be reached without it or the escrow settles by the other rules. Scenario
//! validation refuses worlds with fewer arbitrators than `total`.
//!
//! **The facts outrank a dispute.** Either party may dispute a `Funded` or `Completed` escrow.
//! - A task that fails (not started by its response deadline plus grace: `NoShow`; not completed
//!   by its duration deadline plus grace: `Abandoned`; or not completed by the escrow timeout) is
//!   refunded in full whatever dispute is open: `Disputed → Refunded` (`→ Expired` at the escrow
//!   timeout), and the dispute closes without an outcome.
//! - A violation found by the completion audit voids the payment in every state that still holds
//!   tokens: `Completed → Refunded` and `Disputed → Refunded` (a forfeit), the provider is banned.
//! - A dispute is decided only once the task has completed (`Completed` or `SlaViolated`): by the
//!   first outcome to gather `required` matching votes (in the order the votes were cast), or,
//!   once the dispute timeout has passed, by `dispute_default`. Votes cast while the task is still
//!   running are recorded and count when it completes; a dispute whose timeout passes while the
//!   task runs is decided (by its votes, else the default) at the completion.
//!
//! **Time locks.** Nothing pays out a `TimeLocked { release_after_ms }` escrow before
//! `completed_at + release_after_ms`: its lock alone releases it (the review-window timer does not;
//! no party can approve it), and a dispute on it is decided no earlier than the lock's end. A
//! refund (failure, audit) is not a payment to the provider and happens at once. The one exception
//! is the end of simulated time: a lock whose end would pass `u64::MAX` ms falls due at
//! `u64::MAX` (deadlines saturate, `config.rs`), about 584 million years into a run.
//!
//! **Failures** are booked one way whatever detects them: the task becomes `Failed`, its
//! `violations` record the missed deadline (`response` for a no-show, `duration` for an abandoned
//! task), the provider takes `TradeFailed` (which counts a trade and a failure), and the escrow
//! is refunded. Events, in order: `TaskFailed`, `ReputationChanged`, `EscrowChanged`.
//!
//! **Deterministic draws.** With `mix(z)` the splitmix64 finaliser of `z + 0x9e3779b97f4a7c15`
//! (all arithmetic wrapping), a panel for escrow `e` from stream `s` takes the `n` eligible
//! arbitrators `p` with the smallest `(mix(seed ^ mix(s ^ mix(e ^ (p << 40)))), p)`, where `seed`
//! is `market_seed`; escrow panels use stream `0xA5B1`, dispute panels `0xD15B` (a draw scores
//! the A eligible arbitrators and keeps the best `n` in a bounded heap, O(A log n); it used to
//! sort all A keys, O(A log A), for the same panel in the same order). A receipt is
//! audited when `audit_rate >= 1` or when `u < audit_rate` for
//! `u = (mix(seed ^ mix(0xA0D1 · 0x9e3779b97f4a7c15 ^ mix(assignment))) >> 11) / 2^53`.
//!
//! **Checks** run in the order listed, the first failure being the answer:
//! - `start_task`: assignment known; caller is its provider; task `Assigned`.
//! - `complete_task`: assignment known; caller is its provider; task `InProgress`; uptime in [0, 1].
//! - `approve_release`: escrow known; approver known; (with signatures) signature, then sequence
//!   number; approver allowed by the multisig type; escrow `Completed`; not a repeated approval.
//! - `dispute`: escrow known; caller a party; escrow `Funded` or `Completed`; panel staffed.
//! - `vote`: escrow known; a split within 0..=10000; a dispute exists; caller on its panel and not banned;
//!   escrow `Disputed`; no earlier vote by the caller.
//! - `leave_feedback`: assignment known; caller a party; rating in 1..=5; escrow settled, and at most `feedback_window_ms` ago when that is set; no
//!   earlier feedback from that side.
//!
//! **SLA at completion.** Each quality minimum is met only by a reported value `>=` the minimum
//! (a missing value, or one that does not compare, is a violation); each metric is listed at most
//! once in minimums and in reports ([`QualityValues`]), so it is penalised at most once.

use crate::bank::{Account, EntryKind};
use crate::config::{DisputeDefault, MultiSigType};
use crate::error::MarketError;
use crate::escrow::{Dispute, EscrowState, EscrowTransition, FailureKind, TaskStatus, Violations, Vote};
use crate::events::{MarketEvent, ViolationKind};
use crate::ids::{AccountId, AssignmentId, EscrowId, PeerId, SimTime};
use crate::market::{Market, TimerKind, unit_sample};
use crate::order::{QualityValues, Side};
use crate::reputation::ReputationEvent;
use crate::signing::{self, Signed};

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
                    self.fail_task(AssignmentId(id), FailureKind::NoShow, EscrowState::Refunded, t);
                }
            }
            TimerKind::FinishDeadline => {
                if self.assignments[id as usize].status == TaskStatus::InProgress {
                    self.fail_task(AssignmentId(id), FailureKind::Abandoned, EscrowState::Refunded, t);
                }
            }
            TimerKind::ReviewEnd => {
                let e = &self.escrows[id as usize];
                if e.state == EscrowState::Completed && !matches!(e.multisig, MultiSigType::TimeLocked { .. }) {
                    self.release(EscrowId(id), None, t);
                }
            }
            TimerKind::TimeLock => match self.escrows[id as usize].state {
                EscrowState::Completed => self.release(EscrowId(id), None, t),
                EscrowState::Disputed => self.try_decide(EscrowId(id), t),
                _ => {}
            },
            TimerKind::EscrowTimeout => {
                // The task never completed: it fails, and the escrow (funded or disputed) expires.
                let kind = match self.assignments[id as usize].status {
                    TaskStatus::Assigned => Some(FailureKind::NoShow),
                    TaskStatus::InProgress => Some(FailureKind::Abandoned),
                    _ => None,
                };
                if let Some(kind) = kind {
                    self.fail_task(AssignmentId(id), kind, EscrowState::Expired, t);
                }
            }
            TimerKind::DisputeTimeout => {
                if self.escrows[id as usize].state == EscrowState::Disputed {
                    self.try_decide(EscrowId(id), t);
                }
            }
            TimerKind::OrderExpiry | TimerKind::Call | TimerKind::AuctionClose | TimerKind::Decay => {}
        }
    }

    /// A task that missed a deadline fails: violation recorded, `TradeFailed`, full refund of the
    /// escrow into state `escrow_to` whatever dispute is open.
    fn fail_task(&mut self, aid: AssignmentId, kind: FailureKind, escrow_to: EscrowState, t: SimTime) {
        let a = &mut self.assignments[aid.index()];
        a.status = TaskStatus::Failed;
        a.failure = Some(kind);
        a.finished_at = Some(t);
        match kind {
            FailureKind::NoShow => a.violations.response = true,
            FailureKind::Abandoned => a.violations.duration = true,
        }
        let provider = a.provider;
        self.events.push(MarketEvent::TaskFailed { time: t, assignment: aid, kind });
        self.rep(provider, ReputationEvent::TradeFailed, 1, t);
        let eid = EscrowId(aid.0);
        if self.escrows[eid.index()].state.holds_funds() {
            self.refund(eid, escrow_to, EntryKind::Refund, None, t);
        }
    }

    /// Decides a disputed escrow if the facts allow it now: the task has completed, a time lock
    /// (if any) has ended, and either `required` votes match or the dispute timeout has passed.
    fn try_decide(&mut self, eid: EscrowId, t: SimTime) {
        let e = &self.escrows[eid.index()];
        if e.state != EscrowState::Disputed {
            return;
        }
        if !matches!(self.assignments[eid.index()].status, TaskStatus::Completed | TaskStatus::SlaViolated) {
            return;
        }
        if let MultiSigType::TimeLocked { release_after_ms } = e.multisig {
            let lock_end = e.completed_at.unwrap_or(t).saturating_add(release_after_ms);
            if t < lock_end {
                return;
            }
        }
        let Some(d) = e.dispute.as_ref() else { return };
        let required = d.required as usize;
        let decided = d
            .votes
            .iter()
            .enumerate()
            .find(|&(i, &(_, v))| d.votes[..=i].iter().filter(|(_, w)| *w == v).count() >= required)
            .map(|(_, &(_, v))| v);
        if let Some(outcome) = decided {
            self.resolve(eid, outcome, false, t);
        } else if t >= d.raised_at.saturating_add(self.config.dispute_timeout_ms) {
            let outcome = match self.config.dispute_default {
                DisputeDefault::ReleaseToProvider => Vote::ReleaseToProvider,
                DisputeDefault::RefundToRequester => Vote::RefundToRequester,
                DisputeDefault::SplitEvenly => Vote::Split { provider_bps: 5000 },
            };
            self.resolve(eid, outcome, true, t);
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
            return Err(MarketError::WrongState { action: "start", state: a.status.as_str() });
        }
        let response = now.saturating_sub(a.assigned_at);
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
        let deadline = now.saturating_add(max_duration).saturating_add(self.config.deadline_grace_ms);
        self.schedule(deadline, TimerKind::FinishDeadline, aid.0);
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
            return Err(MarketError::WrongState { action: "complete", state: a.status.as_str() });
        }
        if !(0.0..=1.0).contains(&completion.uptime) {
            return Err(MarketError::InvalidFraction { what: "uptime", value: completion.uptime });
        }
        let started = a.started_at.unwrap_or(a.assigned_at);
        let mut v = Violations::default();
        let mut penalty: u64 = 0;
        if let Some(sla) = a.sla {
            v.response = started.saturating_sub(a.assigned_at) > sla.max_response_time_ms;
            v.duration = now.saturating_sub(started) > a.max_duration_ms;
            v.uptime = completion.uptime < sla.uptime_requirement;
            for (metric, min) in sla.quality_minimums.iter() {
                if !completion.quality.get(metric).is_some_and(|q| q >= min) {
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
        if state.holds_funds() {
            self.escrows[eid.index()].completed_at = Some(now);
        }
        if state == EscrowState::Funded {
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
            // A detected violation voids the payment in every state that still holds tokens.
            if self.escrows[eid.index()].state.holds_funds() {
                self.refund(eid, EscrowState::Refunded, EntryKind::Forfeit, None, now);
            }
            self.ban(provider, kind, now);
            return Ok(());
        }
        let e = &self.escrows[eid.index()];
        let (state, multisig) = (e.state, e.multisig);
        if let MultiSigType::TimeLocked { release_after_ms } = multisig {
            if state.holds_funds() {
                self.schedule(now.saturating_add(release_after_ms), TimerKind::TimeLock, eid.0);
            }
        } else if state == EscrowState::Completed {
            self.schedule(now.saturating_add(self.config.review_window_ms), TimerKind::ReviewEnd, eid.0);
        }
        if state == EscrowState::Disputed {
            self.try_decide(eid, now);
        }
        Ok(())
    }

    fn ban(&mut self, peer: PeerId, violation: ViolationKind, now: SimTime) {
        if self.peers[peer.index()].banned {
            return;
        }
        self.peers[peer.index()].banned = true;
        self.close_open_orders(peer, None::<Side>);
        self.events.push(MarketEvent::PeerBanned { time: now, peer, violation });
    }

    /// Approves the release of a completed escrow (§5). Who may approve depends on the escrow's
    /// [`MultiSigType`]; the approval that completes the required set releases at once.
    pub fn approve_release(
        &mut self,
        eid: EscrowId,
        approver: PeerId,
        signature: Option<Signed>,
        now: SimTime,
    ) -> Result<(), MarketError> {
        self.advance_to(now)?;
        self.escrows.get(eid.index()).ok_or(MarketError::UnknownEscrow(eid))?;
        if self.peers.get(approver.index()).is_none() {
            return Err(MarketError::UnknownPeer(approver));
        }
        if self.config.verify_signatures {
            let ok = match (self.peers[approver.index()].key.as_ref(), signature.as_ref()) {
                (Some(k), Some(sig)) => {
                    signing::verify(k, &signing::approval_message(eid, approver, sig.seq), &sig.bytes)
                }
                _ => false,
            };
            if !ok {
                return Err(self.refuse(approver, MarketError::BadSignature(approver)));
            }
            if let Some(sig) = signature
                && let Err(e) = self.check_fresh(approver, sig.seq)
            {
                return Err(self.refuse(approver, e));
            }
        }
        let e = &self.escrows[eid.index()];
        let not_allowed = MarketError::NotAuthorized { caller: approver, action: "approve this escrow's release" };
        let authorized = match e.multisig {
            MultiSigType::Single => approver == e.requester,
            MultiSigType::BothParties => approver == e.requester || approver == e.provider,
            // A banned arbitrator keeps its seat but loses its voice: its approval would count
            // toward a threshold it may no longer help reach.
            MultiSigType::Arbitrators { .. } => {
                e.arbitrators.contains(&approver) && !self.peers[approver.index()].banned
            }
            MultiSigType::TimeLocked { .. } => false,
        };
        if !authorized {
            return Err(self.refuse(approver, not_allowed));
        }
        if e.state != EscrowState::Completed {
            return Err(MarketError::WrongState { action: "approve release", state: e.state.as_str() });
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
        if self.config.verify_signatures
            && let Some(sig) = signature
        {
            self.peers[approver.index()].last_seq = Some(sig.seq);
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
                // Never lowered: a panel smaller than `required` cannot release by approvals.
                e.arbitrator_approvals.push(approver);
                e.arbitrator_approvals.len() >= required as usize
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
            return Err(MarketError::WrongState { action: "dispute", state: e.state.as_str() });
        }
        let (requester, provider, from) = (e.requester, e.provider, e.state);
        let (panel, required) = match e.multisig {
            MultiSigType::Arbitrators { required, .. } => (e.arbitrators.clone(), required),
            _ => (
                self.draw_panel(eid, requester, provider, self.config.dispute_panel_total as usize, PANEL_STREAM),
                self.config.dispute_panel_required,
            ),
        };
        if panel.len() < required as usize {
            return Err(MarketError::PanelUnstaffed { available: panel.len(), required });
        }
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
        self.schedule(now.saturating_add(self.config.dispute_timeout_ms), TimerKind::DisputeTimeout, eid.0);
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
            return Err(MarketError::WrongState { action: "vote", state: e.state.as_str() });
        };
        if !d.panel.contains(&arbitrator) {
            return Err(self.refuse(
                arbitrator,
                MarketError::NotAuthorized { caller: arbitrator, action: "vote on a panel it is not on" },
            ));
        }
        if self.peers.get(arbitrator.index()).is_some_and(|p| p.banned) {
            return Err(self.refuse(
                arbitrator,
                MarketError::NotAuthorized { caller: arbitrator, action: "vote after being banned" },
            ));
        }
        if e.state != EscrowState::Disputed {
            return Err(MarketError::WrongState { action: "vote", state: e.state.as_str() });
        }
        if d.votes.iter().any(|(p, _)| *p == arbitrator) {
            return Err(MarketError::Duplicate(arbitrator));
        }
        if let Some(d) = self.escrows[eid.index()].dispute.as_mut() {
            d.votes.push((arbitrator, vote));
        }
        self.events.push(MarketEvent::VoteCast { time: now, escrow: eid, arbitrator, vote });
        self.try_decide(eid, now);
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
            return Err(MarketError::WrongState { action: "leave feedback", state: state.as_str() });
        }
        // Feedback closes `feedback_window_ms` after settlement (inclusive); 0 never closes it.
        let window = self.config.feedback_window_ms;
        if window > 0
            && let Some(at) = self.escrows[aid.index()].settled_at
            && now > at.saturating_add(window)
        {
            return Err(MarketError::WrongState {
                action: "leave feedback after the feedback window",
                state: state.as_str(),
            });
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
