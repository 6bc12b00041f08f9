//! Applying agents' actions to the market, and recording the ground truth of the violations
//! they attempt.
//!
//! Ground truth is derived from what the agent did, not from what the market saw:
//! - relay / resale / key sharing: a completion the market accepted whose receipt names an
//!   account other than the provider's own (relay, or resale for a `reseller`), or that ran on an
//!   account several peers registered (key sharing);
//! - dispute abuse: a requester disputing work that was delivered (completed, with or without SLA
//!   violations); honest requesters never dispute;
//! - collusion feedback: a rating of 4 or 5 between two members of one ring;
//! - forgery: every `ForgeOrder`, accepted or not;
//! - leak: every `Leak` of a private or confidential task;
//! - corrupt vote: a vote the market accepted that differs from the evidence;
//! - Sybil re-entry: every `ReEnter`.
//!
//! Escrow actions (approve, dispute, feedback) are taken by whichever of the agent's identities
//! is party to the escrow, so a Sybil still settles the work of an identity it abandoned.

use synmarket_engine::{
    AccountId, AssignmentId, NewOrder, PeerId, PeerSpec, PrivacyLevel, Side, SimTime, TaskStatus, Vote, signing,
};

use super::{GroundTruth, GroundTruthKind, Identity, KEvent, Simulation};
use crate::agent::Action;
use crate::roles::evidence_vote;
use crate::spec::Role;

impl Simulation {
    fn record(
        &mut self,
        time: SimTime,
        peer: PeerId,
        kind: GroundTruthKind,
        assignment: Option<AssignmentId>,
        detail: u64,
    ) {
        self.ground_truth.push(GroundTruth { time, peer, kind, assignment, detail });
    }

    /// The agent's identity that is party to assignment `a` (its current one otherwise).
    fn party(&self, agent: u32, a: AssignmentId) -> PeerId {
        if let Some(asg) = self.market.assignment(a) {
            for p in [asg.requester, asg.provider] {
                if self.slot_of(p) == Some(agent) {
                    return p;
                }
            }
        }
        self.slots[agent as usize].peer
    }

    pub(super) fn apply(&mut self, agent: u32, action: Action, now: SimTime) {
        self.stats.actions += 1;
        let me = self.slots[agent as usize].peer;
        match action {
            Action::PlaceOrder { side, price_per_unit, units, spec, sla, ttl_ms } => {
                let slot = &mut self.slots[agent as usize];
                if slot.max_orders.is_some_and(|m| slot.orders_placed >= m) {
                    return;
                }
                slot.orders_placed += 1;
                let expires_at = ttl_ms.map(|t| now + t.max(1));
                let seq = self.market.next_signature_seq(me);
                let signature = slot.key.as_ref().map(|k| {
                    let msg = signing::order_message(
                        &NewOrder { sla, expires_at, ..NewOrder::new(side, me, price_per_unit, units, spec) },
                        seq,
                    );
                    signing::sign_seq(k, seq, &msg)
                });
                let _ = self.market.place_order(
                    NewOrder { sla, expires_at, signature, ..NewOrder::new(side, me, price_per_unit, units, spec) },
                    now,
                );
            }
            Action::ForgeOrder { victim, side, price_per_unit, units, spec } => {
                self.forge(agent, victim, side, price_per_unit, units, spec, now)
            }
            Action::Cancel(id) => {
                let _ = self.market.cancel_order(id, me, now);
            }
            Action::StartAfter { assignment, delay_ms } => self.push(now + delay_ms, KEvent::Start(assignment.0)),
            Action::CompleteAfter { assignment, delay_ms, completion, violation } => {
                let i = assignment.index();
                if self.completions.len() <= i {
                    self.completions.resize(i + 1, None);
                }
                self.completions[i] = Some((completion, violation));
                self.push(now + delay_ms, KEvent::Complete(assignment.0));
            }
            Action::Approve(e) => {
                let who = if self.records[agent as usize].role == Role::Arbitrator {
                    me
                } else {
                    self.party(agent, AssignmentId(e.0))
                };
                let seq = self.market.next_signature_seq(who);
                let signature = self
                    .key_of(agent, who)
                    .map(|k| signing::sign_seq(&k, seq, &signing::approval_message(e, who, seq)));
                let _ = self.market.approve_release(e, who, signature, now);
            }
            Action::Dispute(e) => {
                let a = AssignmentId(e.0);
                let who = self.party(agent, a);
                let (requester, provider, delivered) = match self.market.assignment(a) {
                    Some(x) => {
                        (x.requester, x.provider, matches!(x.status, TaskStatus::Completed | TaskStatus::SlaViolated))
                    }
                    None => return,
                };
                if self.market.dispute(e, who, now).is_ok() && who == requester && delivered {
                    self.record(now, who, GroundTruthKind::DisputeAbuse, Some(a), provider.0 as u64);
                }
            }
            Action::Vote(e, v) => {
                let evidence = evidence_vote(&self.market, e);
                if self.market.vote(e, me, v, now).is_ok() && v != evidence {
                    let code = match v {
                        Vote::RefundToRequester => 0,
                        Vote::ReleaseToProvider => 1,
                        Vote::Split { .. } => 2,
                    };
                    self.record(now, me, GroundTruthKind::CorruptVote, Some(AssignmentId(e.0)), code);
                }
            }
            Action::Feedback(a, rating) => {
                let who = self.party(agent, a);
                let Some(asg) = self.market.assignment(a) else { return };
                let other = if asg.requester == who { asg.provider } else { asg.requester };
                let ring = self.slots[agent as usize].ring;
                let same_ring =
                    ring.is_some() && self.slot_of(other).map(|s| self.slots[s as usize].ring) == Some(ring);
                if self.market.leave_feedback(a, who, rating, now).is_ok() && rating >= 4 && same_ring {
                    self.record(now, who, GroundTruthKind::CollusionFeedback, Some(a), other.0 as u64);
                }
            }
            Action::Leak(a) => {
                let Some(asg) = self.market.assignment(a) else { return };
                let level = match asg.privacy {
                    PrivacyLevel::Public => return,
                    PrivacyLevel::Private => 1,
                    PrivacyLevel::Confidential => 2,
                };
                let provider = asg.provider;
                if self.slot_of(provider) == Some(agent) {
                    self.record(now, provider, GroundTruthKind::Leak, Some(a), level);
                }
            }
            Action::ReEnter => self.re_enter(agent, now),
        }
    }

    /// The signing key of one of the agent's identities (`None` without signatures).
    fn key_of(&self, agent: u32, peer: PeerId) -> Option<ed25519_dalek::SigningKey> {
        let slot = &self.slots[agent as usize];
        slot.key.as_ref()?;
        if peer == slot.peer {
            slot.key.clone()
        } else {
            Some(signing::derive_signing_key(self.spec.market.market_seed, peer))
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn forge(
        &mut self,
        agent: u32,
        victim: PeerId,
        side: Side,
        price_per_unit: u64,
        units: u64,
        spec: synmarket_engine::ComputeTaskSpec,
        now: SimTime,
    ) {
        let me = self.slots[agent as usize].peer;
        // Signed with the forger's own key (or, without signatures, an unsigned claim).
        let key = signing::derive_signing_key(self.spec.market.market_seed, me);
        let seq = self.market.next_signature_seq(victim);
        let msg = signing::order_message(&NewOrder::new(side, victim, price_per_unit, units, spec), seq);
        let signature = Some(signing::sign_seq(&key, seq, &msg));
        self.record(now, me, GroundTruthKind::Forgery, None, victim.0 as u64);
        let _ = self
            .market
            .place_order(NewOrder { signature, ..NewOrder::new(side, victim, price_per_unit, units, spec) }, now);
    }

    /// Submits a scheduled completion and records relay, resale and key-sharing ground truth.
    pub(super) fn complete(&mut self, a: AssignmentId, t: SimTime) {
        let provider = self.market.assignment(a).map(|x| x.provider);
        let completion = self.completions.get_mut(a.index()).and_then(Option::take);
        let (Some(p), Some((c, violation))) = (provider, completion) else { return };
        if self.market.complete_task(a, p, c, t).is_err() {
            return;
        }
        let own = self.market.peer_state(p).and_then(|s| s.account);
        if own != Some(c.receipt_account) {
            // A foreign receipt is the violation the provider's conduct declared (a relay if none).
            self.record(t, p, violation.unwrap_or(GroundTruthKind::Relay), Some(a), c.receipt_account.0);
        } else if let Some(acc) = own
            && self.account_holders.get(&acc).copied().unwrap_or(0) > 1
        {
            self.record(t, p, GroundTruthKind::KeySharing, Some(a), acc.0);
        }
        self.dispatch_market_events();
    }

    /// A Sybil abandons its identity: its orders are cancelled, its available tokens move to a
    /// new peer (new account, the market's new-peer reputation), and it acts as that peer from now.
    fn re_enter(&mut self, agent: u32, now: SimTime) {
        let old = self.slots[agent as usize].peer;
        self.cancel_all(old, now);
        let available = self.market.wallet(old).available;
        let new = PeerId(self.market.peer_count() as u32);
        let record = &self.records[agent as usize];
        let account = (record.role == Role::Provider).then_some(AccountId(new.0 as u64 + 1));
        let spec = PeerSpec {
            endowment: available,
            account,
            usage_cap_units: record.usage_cap_units,
            initial_reputation: None,
            arbitrator: record.role == Role::Arbitrator,
            verifying_key: None,
        };
        if self.market.withdraw(old, available, now).is_err() {
            *self.stats.refusals.entry("reenter_failed").or_insert(0) += 1;
            return;
        }
        match self.market.register_peer(spec, now) {
            Ok(id) if id == new => {}
            _ => {
                // Give the tokens back; nothing else changed.
                let _ = self.market.endow(old, available, now);
                *self.stats.refusals.entry("reenter_failed").or_insert(0) += 1;
                return;
            }
        }
        if let Some(acc) = account {
            *self.account_holders.entry(acc).or_insert(0) += 1;
        }
        self.peer_slot.push(agent);
        let slot = &mut self.slots[agent as usize];
        slot.peer = new;
        if slot.key.is_some() {
            slot.key = Some(signing::derive_signing_key(self.spec.market.market_seed, new));
        }
        let initial_reputation = self.market.reputation(new);
        self.records[agent as usize].identities.push(Identity { peer: new, account, since: now, initial_reputation });
        self.record(now, old, GroundTruthKind::SybilReentry, None, new.0 as u64);
        self.dispatch_market_events();
    }
}
