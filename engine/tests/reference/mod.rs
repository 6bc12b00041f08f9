//! An executable reference model of the market's rules: a second, deliberately simple
//! implementation written from the rules in the engine's module docs (docs/mechanisms.md as refined
//! there), not from the engine's code. Plain vectors and scans everywhere: no order book, no
//! timer queue (every step searches all orders, tasks and escrows for the earliest condition that
//! falls due), no reputation buckets, reputation kept as a base plus the closed-form decay.
//!
//! Every institution of docs/mechanisms.md §14 is modelled: first-accept (price rules `ask`,
//! `bid`, `midpoint`, `resting`); the continuous double auction (the improvement rule on the
//! public quotes, trade at the resting order's price, `clear_book_after_trade`); the sealed-bid
//! reverse auction (no matching on arrival, the award at the window's end, `first_price` and
//! `second_price` from the best qualifying offer of a provider that did not win); the call market
//! (a pending call at the next whole multiple of `call_interval` while a request is open, run
//! after expiries and before auction closes at the same instant; one uniform price per task type
//! by volume, imbalance and the middle of the tied range, scored over the price ranges where both
//! curves are constant).
//!
//! It shares only vocabulary with the engine: the public value types (ids, specs, events,
//! errors, the configuration) and the ed25519 primitive. The signed bytes, the panel and audit
//! draws, matching priority, settlement arithmetic and timer order are all recomputed here.
//!
//! `Snap` is a comparable picture of either implementation after a step.
#![allow(dead_code)]

use std::cmp::Reverse;

use ed25519_dalek::VerifyingKey;
use synmarket_engine::*;

// ----- small rules ---------------------------------------------------------------------------

/// The splitmix64 finaliser of `z + golden`, as the docs define `mix`.
pub fn mix(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn audit_sample(seed: u64, aid: u64) -> f64 {
    let h = mix(seed ^ mix(0xA0D1u64.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ mix(aid)));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// `ask / f(rep)^k`, `f(rep) = clamp(rep / 100, 0.5, 2)`.
fn weighted_ask(ask: u64, rep: f64, k: f64) -> f64 {
    ask as f64 / (rep / 100.0).clamp(0.5, 2.0).powf(k)
}

/// The canonical order bytes, from the layout in the signing docs.
#[allow(clippy::too_many_arguments)]
pub fn order_bytes(
    t: Side,
    trader: PeerId,
    price: u64,
    units: u64,
    spec: &ComputeTaskSpec,
    sla: Option<&SlaSpec>,
    expires_at: Option<u64>,
    seq: u64,
) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(b"order\0\0\0");
    m.extend_from_slice(&seq.to_le_bytes());
    m.push(if t == Side::Buy { 1 } else { 2 });
    m.extend_from_slice(&trader.0.to_le_bytes());
    m.extend_from_slice(&price.to_le_bytes());
    m.extend_from_slice(&units.to_le_bytes());
    m.extend_from_slice(&spec.task_type.0.to_le_bytes());
    m.extend_from_slice(&spec.compute_units.to_le_bytes());
    m.extend_from_slice(&spec.max_duration_ms.to_le_bytes());
    m.extend_from_slice(&spec.capabilities.0.to_le_bytes());
    m.extend_from_slice(&spec.min_reputation.to_bits().to_le_bytes());
    m.push(match spec.privacy_level {
        PrivacyLevel::Public => 0,
        PrivacyLevel::Private => 1,
        PrivacyLevel::Confidential => 2,
    });
    m.extend_from_slice(&spec.payload_bytes.to_le_bytes());
    m.push(expires_at.is_some() as u8);
    m.extend_from_slice(&expires_at.unwrap_or(0).to_le_bytes());
    m.push(sla.is_some() as u8);
    let mut tail = Vec::new();
    if let Some(s) = sla {
        tail.extend_from_slice(&s.max_response_time_ms.to_le_bytes());
        tail.extend_from_slice(&s.max_duration_ms.to_le_bytes());
        tail.extend_from_slice(&s.uptime_requirement.to_bits().to_le_bytes());
        tail.extend_from_slice(&s.violation_penalty.to_le_bytes());
        tail.push(s.quality_minimums.len() as u8);
        for (metric, min) in s.quality_minimums.iter() {
            tail.push(metric);
            tail.extend_from_slice(&(min as f32).to_bits().to_le_bytes());
        }
    }
    tail.resize(33 + 5 * 4, 0);
    m.extend_from_slice(&tail);
    m
}

/// The canonical approval bytes.
pub fn approval_bytes(escrow: EscrowId, approver: PeerId, seq: u64) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(b"approve\0");
    m.extend_from_slice(&seq.to_le_bytes());
    m.extend_from_slice(&escrow.0.to_le_bytes());
    m.extend_from_slice(&approver.0.to_le_bytes());
    m
}

// ----- state ----------------------------------------------------------------------------------

#[derive(Clone, Debug)]
pub struct RPeer {
    pub account: Option<AccountId>,
    pub cap: Option<u64>,
    pub arbitrator: bool,
    pub banned: bool,
    pub paused: bool,
    pub key: Option<VerifyingKey>,
    pub last_seq: Option<u64>,
    pub available: u64,
    pub locked: u64,
    /// Score left by the last event, and the decay boundaries passed then.
    pub base: f64,
    pub base_at: u64,
    pub trades: u64,
    pub successes: u64,
    pub failures: u64,
    pub disputes: u64,
    pub ema: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct ROrder {
    pub side: Side,
    pub trader: PeerId,
    pub price: u64,
    pub units: u64,
    pub filled: u64,
    pub spec: ComputeTaskSpec,
    pub sla: Option<SlaSpec>,
    pub placed_at: u64,
    pub expires_at: Option<u64>,
    pub status: OrderStatus,
    pub max_providers: u64,
    pub providers_used: u64,
}

impl ROrder {
    fn open(&self) -> bool {
        matches!(self.status, OrderStatus::Active | OrderStatus::PartiallyFilled)
    }
}

#[derive(Clone, Debug)]
pub struct RAsg {
    pub requester: PeerId,
    pub provider: PeerId,
    pub task_type: TaskTypeId,
    pub units: u64,
    pub price: u64,
    pub sla: Option<SlaSpec>,
    pub max_response: u64,
    pub max_duration: u64,
    pub assigned_at: u64,
    pub started_at: Option<u64>,
    pub finished_at: Option<u64>,
    pub status: TaskStatus,
    pub failure: Option<FailureKind>,
    pub violations: Violations,
    pub penalty: u64,
    pub audited: bool,
    pub receipt: Option<AccountId>,
    pub feedback: [Option<u8>; 2],
}

impl RAsg {
    fn finished_ok(&self) -> bool {
        matches!(self.status, TaskStatus::Completed | TaskStatus::SlaViolated)
    }
    fn running(&self) -> bool {
        matches!(self.status, TaskStatus::Assigned | TaskStatus::InProgress)
    }
}

#[derive(Clone, Debug)]
pub struct RDispute {
    pub raised_by: PeerId,
    pub raised_at: u64,
    pub panel: Vec<PeerId>,
    pub required: u8,
    pub votes: Vec<(PeerId, Vote)>,
    pub outcome: Option<Vote>,
    pub by_timeout: bool,
}

#[derive(Clone, Debug)]
pub struct REsc {
    pub amount: u64,
    pub state: EscrowState,
    pub funded_at: u64,
    pub completed_at: Option<u64>,
    pub settled_at: Option<u64>,
    pub requester_approved: bool,
    pub provider_approved: bool,
    pub arbitrators: Vec<PeerId>,
    pub approvals: Vec<PeerId>,
    pub dispute: Option<RDispute>,
    pub paid_provider: u64,
    pub paid_requester: u64,
    pub fee: u64,
}

/// The reference market.
pub struct Ref {
    pub cfg: MarketConfig,
    pub clock: u64,
    pub task_types: usize,
    pub peers: Vec<RPeer>,
    pub orders: Vec<ROrder>,
    pub asg: Vec<RAsg>,
    pub esc: Vec<REsc>,
    pub treasury: u64,
    pub supply: u64,
    /// Decay boundaries applied.
    pub boundaries: u64,
    pub events: Vec<MarketEvent>,
    pub counters: MarketCounters,
    /// Call market: the time of the pending call, if one is scheduled.
    pub next_call: Option<u64>,
}

/// The picks of one walk: `(offer index, provider, units)`.
type Picks = Vec<(usize, PeerId, u64)>;

type R<T> = Result<T, MarketError>;

impl Ref {
    pub fn new(cfg: MarketConfig) -> Ref {
        Ref {
            cfg,
            clock: 0,
            task_types: 0,
            peers: Vec::new(),
            orders: Vec::new(),
            asg: Vec::new(),
            esc: Vec::new(),
            treasury: 0,
            supply: 0,
            boundaries: 0,
            events: Vec::new(),
            counters: MarketCounters::default(),
            next_call: None,
        }
    }

    pub fn register_task_type(&mut self) -> TaskTypeId {
        self.task_types += 1;
        TaskTypeId((self.task_types - 1) as u16)
    }

    // ----- reputation ---------------------------------------------------------------------

    fn decay_on(&self) -> bool {
        self.cfg.reputation.decay_half_life_ms > 0
    }

    pub fn score(&self, p: PeerId) -> f64 {
        let r = &self.peers[p.index()];
        let c = &self.cfg.reputation;
        let steps = self.boundaries - r.base_at;
        if steps == 0 || !self.decay_on() {
            return r.base;
        }
        let keep = 0.5f64.powf(steps as f64 * c.decay_step_ms as f64 / c.decay_half_life_ms as f64);
        (c.initial + (r.base - c.initial) * keep).clamp(c.min, c.max)
    }

    fn rep(&mut self, p: PeerId, event: ReputationEvent, times: u32) {
        if times == 0 {
            return;
        }
        let c = &self.cfg.reputation;
        let delta = match event {
            ReputationEvent::TradeCompleted => c.trade_completed,
            ReputationEvent::TradeFailed => c.trade_failed,
            ReputationEvent::SlaViolation => c.sla_violation,
            ReputationEvent::TradeDisputed => c.trade_disputed,
            ReputationEvent::DisputeWon => c.dispute_won,
            ReputationEvent::DisputeLost => c.dispute_lost,
            ReputationEvent::FastResponse => c.fast_response,
            ReputationEvent::SlowResponse => c.slow_response,
            ReputationEvent::PositiveFeedback => c.positive_feedback,
            ReputationEvent::NegativeFeedback => c.negative_feedback,
        } * times as f64;
        let score = (self.score(p) + delta).clamp(c.min, c.max);
        let b = self.boundaries;
        let r = &mut self.peers[p.index()];
        r.base = score;
        r.base_at = b;
        match event {
            ReputationEvent::TradeCompleted => {
                r.trades += 1;
                r.successes += 1;
            }
            ReputationEvent::TradeFailed => {
                r.trades += 1;
                r.failures += 1;
            }
            ReputationEvent::TradeDisputed => r.disputes += 1,
            _ => {}
        }
        self.events.push(MarketEvent::ReputationChanged { time: self.clock, peer: p, event, score });
    }

    // ----- the clock ------------------------------------------------------------------------

    /// The earliest condition due at or before `target`: `(time, class, id)`.
    fn next_due(&self, target: u64) -> Option<(u64, u8, usize)> {
        let c = &self.cfg;
        let mut due: Vec<(u64, u8, usize)> = Vec::new();
        for (i, o) in self.orders.iter().enumerate() {
            if o.open() {
                if let Some(x) = o.expires_at {
                    due.push((x, 0, i));
                }
                if o.side == Side::Buy {
                    due.push((o.placed_at.saturating_add(c.auction_window_ms), 1, i));
                }
            }
        }
        for (i, a) in self.asg.iter().enumerate() {
            match a.status {
                TaskStatus::Assigned => {
                    due.push((a.assigned_at.saturating_add(a.max_response).saturating_add(c.deadline_grace_ms), 2, i))
                }
                TaskStatus::InProgress => due.push((
                    a.started_at.unwrap().saturating_add(a.max_duration).saturating_add(c.deadline_grace_ms),
                    3,
                    i,
                )),
                _ => {}
            }
        }
        for (i, e) in self.esc.iter().enumerate() {
            let a = &self.asg[i];
            let lock = match c.escrow {
                MultiSigType::TimeLocked { release_after_ms } => Some(release_after_ms),
                _ => None,
            };
            match e.state {
                EscrowState::Completed => match lock {
                    Some(l) => due.push((e.completed_at.unwrap().saturating_add(l), 5, i)),
                    None => due.push((e.completed_at.unwrap().saturating_add(c.review_window_ms), 4, i)),
                },
                EscrowState::Funded | EscrowState::Disputed if a.running() => {
                    due.push((e.funded_at.saturating_add(c.escrow_timeout_ms), 6, i))
                }
                EscrowState::Disputed if a.finished_ok() => {
                    let d = e.dispute.as_ref().unwrap();
                    let lock_end = lock.map_or(0, |l| e.completed_at.unwrap().saturating_add(l));
                    let when = if self.votes_decide(d).is_some() {
                        lock_end
                    } else {
                        lock_end.max(d.raised_at.saturating_add(c.dispute_timeout_ms))
                    };
                    let class = if lock.is_some() && when == lock_end { 5 } else { 7 };
                    due.push((when, class, i));
                }
                _ => {}
            }
        }
        if let Some(t) = self.next_call {
            // After every expiry at that instant (class 0, order ids), before auction closes.
            due.push((t, 0, usize::MAX));
        }
        due.into_iter().filter(|d| d.0 <= target).min()
    }

    fn set_boundaries_before(&mut self, t: u64, inclusive: bool) {
        if !self.decay_on() {
            return;
        }
        let step = self.cfg.reputation.decay_step_ms;
        let upto = if inclusive { t } else { t.saturating_sub(1) };
        if !inclusive && t == 0 {
            return;
        }
        self.boundaries = self.boundaries.max(upto / step);
    }

    pub fn advance(&mut self, now: u64) -> R<()> {
        if now < self.clock {
            return Err(MarketError::TimeWentBackwards { now, clock: self.clock });
        }
        while let Some((t, class, i)) = self.next_due(now) {
            self.set_boundaries_before(t, false);
            self.clock = t;
            match class {
                0 if i == usize::MAX => self.call(),
                0 => self.close_order(i, OrderStatus::Expired, CloseReason::Expired),
                1 => {
                    if self.cfg.institution == Institution::SealedBidReverse {
                        self.award(i);
                    }
                    if self.cfg.institution != Institution::SealedBidReverse || !self.close_if_done(i) {
                        self.close_order(i, OrderStatus::Expired, CloseReason::WindowEnded)
                    }
                }
                2 => self.fail(i, FailureKind::NoShow, EscrowState::Refunded),
                3 => self.fail(i, FailureKind::Abandoned, EscrowState::Refunded),
                4 => self.release(i, None),
                5 => {
                    if self.esc[i].state == EscrowState::Completed {
                        self.release(i, None)
                    } else {
                        self.try_decide(i)
                    }
                }
                6 => {
                    let kind = if self.asg[i].status == TaskStatus::Assigned {
                        FailureKind::NoShow
                    } else {
                        FailureKind::Abandoned
                    };
                    self.fail(i, kind, EscrowState::Expired)
                }
                _ => self.try_decide(i),
            }
        }
        self.set_boundaries_before(now, true);
        self.clock = now;
        Ok(())
    }

    // ----- peers and money ------------------------------------------------------------------

    pub fn register_peer(&mut self, spec: PeerSpec, now: u64) -> R<PeerId> {
        self.advance(now)?;
        if let Some(r) = spec.initial_reputation
            && !r.is_finite()
        {
            return Err(MarketError::InvalidReputation(r));
        }
        if self.supply.checked_add(spec.endowment).is_none() {
            return Err(MarketError::SupplyOverflow);
        }
        let id = PeerId(self.peers.len() as u32);
        let c = &self.cfg.reputation;
        let key = match spec.verifying_key {
            Some(k) => Some(k),
            None if self.cfg.verify_signatures => Some(signing::derive_verifying_key(self.cfg.market_seed, id)),
            None => None,
        };
        self.peers.push(RPeer {
            account: spec.account,
            cap: spec.usage_cap_units,
            arbitrator: spec.arbitrator,
            banned: false,
            paused: false,
            key,
            last_seq: None,
            available: spec.endowment,
            locked: 0,
            base: spec.initial_reputation.unwrap_or(c.initial).clamp(c.min, c.max),
            base_at: self.boundaries,
            trades: 0,
            successes: 0,
            failures: 0,
            disputes: 0,
            ema: None,
        });
        self.supply += spec.endowment;
        Ok(id)
    }

    fn known(&self, p: PeerId) -> R<()> {
        if p.index() < self.peers.len() { Ok(()) } else { Err(MarketError::UnknownPeer(p)) }
    }

    pub fn endow(&mut self, p: PeerId, amount: u64, now: u64) -> R<()> {
        self.advance(now)?;
        self.known(p)?;
        if self.supply.checked_add(amount).is_none() || self.peers[p.index()].available.checked_add(amount).is_none() {
            return Err(MarketError::SupplyOverflow);
        }
        self.supply += amount;
        self.peers[p.index()].available += amount;
        Ok(())
    }

    pub fn withdraw(&mut self, p: PeerId, amount: u64, now: u64) -> R<()> {
        self.advance(now)?;
        self.known(p)?;
        let have = self.peers[p.index()].available;
        if have < amount {
            return Err(MarketError::InsufficientFunds { peer: p, available: have, needed: amount });
        }
        self.supply -= amount;
        self.peers[p.index()].available -= amount;
        Ok(())
    }

    pub fn set_paused(&mut self, p: PeerId, paused: bool, now: u64) -> R<()> {
        self.advance(now)?;
        self.known(p)?;
        self.peers[p.index()].paused = paused;
        if paused {
            self.close_all(p, Some(Side::Sell));
        }
        Ok(())
    }

    fn close_all(&mut self, p: PeerId, only: Option<Side>) {
        for i in 0..self.orders.len() {
            let o = &self.orders[i];
            if o.trader == p && o.open() && only.is_none_or(|t| t == o.side) {
                self.close_order(i, OrderStatus::Cancelled, CloseReason::Cancelled);
            }
        }
    }

    fn refuse(&mut self, caller: PeerId, e: MarketError) -> MarketError {
        self.counters.calls_refused += 1;
        self.count_sig(&e);
        self.events.push(MarketEvent::CallRefused { time: self.clock, caller, reason: e.code() });
        e
    }

    fn count_sig(&mut self, e: &MarketError) {
        match e {
            MarketError::BadSignature(_) => self.counters.bad_signatures += 1,
            MarketError::Replayed { .. } => self.counters.replayed_signatures += 1,
            _ => {}
        }
    }

    fn cap_room(&self, p: PeerId) -> u64 {
        let Some(cap) = self.peers[p.index()].cap else { return u64::MAX };
        let w = self.cfg.usage_cap_window_ms;
        let used: u64 =
            self.asg.iter().filter(|a| a.provider == p && self.clock - a.assigned_at < w).map(|a| a.units).sum();
        cap.saturating_sub(used)
    }

    fn privacy_ok(&self, level: PrivacyLevel, rep: f64, caps: CapabilitySet) -> bool {
        match level {
            PrivacyLevel::Public => true,
            PrivacyLevel::Private => rep >= self.cfg.private_min_reputation,
            PrivacyLevel::Confidential => caps.contains(0) && rep >= self.cfg.confidential_min_reputation,
        }
    }

    fn draw(&self, eid: usize, a: PeerId, b: PeerId, n: usize, stream: u64) -> Vec<PeerId> {
        let mut scored: Vec<(u64, PeerId)> = (0..self.peers.len())
            .map(|i| PeerId(i as u32))
            .filter(|&p| self.peers[p.index()].arbitrator && p != a && p != b && !self.peers[p.index()].banned)
            .map(|p| (mix(self.cfg.market_seed ^ mix(stream ^ mix(eid as u64 ^ ((p.0 as u64) << 40)))), p))
            .collect();
        scored.sort();
        scored.into_iter().take(n).map(|x| x.1).collect()
    }

    /// The arbitrators of an escrow, drawn at the match: draw `j` takes the arbitrator at
    /// index `⌊A · w_j / 2^64⌋` of the A registered ones, `w_j` the SplitMix64 sequence from
    /// `keyed(seed, stream, escrow)`, skipping ineligible and repeated ones, for `4 n + 32` draws;
    /// then the eligible ones not drawn, by the dispute panels' score.
    fn draw_sampled(&self, eid: usize, a: PeerId, b: PeerId, n: usize, stream: u64) -> Vec<PeerId> {
        let registered: Vec<PeerId> =
            (0..self.peers.len()).map(|i| PeerId(i as u32)).filter(|p| self.peers[p.index()].arbitrator).collect();
        let eligible = |p: PeerId| p != a && p != b && !self.peers[p.index()].banned;
        let mut panel = Vec::new();
        if n == 0 || registered.is_empty() {
            return panel;
        }
        let seed = self.cfg.market_seed;
        let keyed = mix(seed ^ mix(stream.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ mix(eid as u64)));
        for j in 0..(4 * n as u64 + 32) {
            if panel.len() == n {
                break;
            }
            let w = mix(keyed.wrapping_add(j.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
            let p = registered[((w as u128 * registered.len() as u128) >> 64) as usize];
            if eligible(p) && !panel.contains(&p) {
                panel.push(p);
            }
        }
        let missing = n - panel.len();
        let rest: Vec<PeerId> =
            self.draw(eid, a, b, usize::MAX, stream).into_iter().filter(|p| !panel.contains(p)).take(missing).collect();
        panel.extend(rest);
        panel
    }

    // ----- orders ---------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn validate(
        &self,
        t: Side,
        trader: PeerId,
        price: u64,
        units: u64,
        spec: &ComputeTaskSpec,
        sla: Option<&SlaSpec>,
        expires_at: Option<u64>,
        sig: Option<&Signed>,
    ) -> R<()> {
        if units == 0 {
            return Err(MarketError::ZeroUnits);
        }
        if price == 0 {
            return Err(MarketError::ZeroPrice);
        }
        let Some(amount) = price.checked_mul(units) else {
            return Err(MarketError::Overflow { price_per_unit: price, units });
        };
        if spec.task_type.index() >= self.task_types {
            return Err(MarketError::UnknownTaskType(spec.task_type));
        }
        if !(spec.min_reputation >= 0.0 && spec.min_reputation.is_finite()) {
            return Err(MarketError::InvalidMinReputation(spec.min_reputation));
        }
        let long = |what, v: u64| {
            if v > MAX_DURATION_MS {
                Err(MarketError::DurationTooLong { what, value_ms: v, max_ms: MAX_DURATION_MS })
            } else {
                Ok(())
            }
        };
        long("task_spec.max_duration_ms", spec.max_duration_ms)?;
        if let Some(s) = sla {
            if !(s.uptime_requirement >= 0.0 && s.uptime_requirement <= 1.0) {
                return Err(MarketError::InvalidFraction { what: "uptime_requirement", value: s.uptime_requirement });
            }
            long("sla.max_response_time_ms", s.max_response_time_ms)?;
            long("sla.max_duration_ms", s.max_duration_ms)?;
        }
        if expires_at.is_some_and(|x| x <= self.clock) {
            return Err(MarketError::WrongState {
                action: "place an order that has already expired",
                state: "expired",
            });
        }
        self.known(trader)?;
        let p = &self.peers[trader.index()];
        if p.banned {
            return Err(MarketError::Banned(trader));
        }
        if self.cfg.verify_signatures {
            let (Some(k), Some(s)) = (p.key.as_ref(), sig) else {
                return Err(MarketError::BadSignature(trader));
            };
            let msg = order_bytes(t, trader, price, units, spec, sla, expires_at, s.seq);
            if !signing::verify(k, &msg, &s.bytes) {
                return Err(MarketError::BadSignature(trader));
            }
            if p.last_seq.is_some_and(|l| s.seq <= l) {
                return Err(MarketError::Replayed { peer: trader, seq: s.seq });
            }
        }
        match t {
            Side::Buy => {
                if p.available < amount {
                    return Err(MarketError::InsufficientFunds {
                        peer: trader,
                        available: p.available,
                        needed: amount,
                    });
                }
            }
            Side::Sell => {
                if p.paused {
                    return Err(MarketError::Paused(trader));
                }
                if p.account.is_none() {
                    return Err(MarketError::NoAccount(trader));
                }
                if let Some(cap) = p.cap
                    && units > cap
                {
                    return Err(MarketError::ExceedsUsageCap { units, cap });
                }
            }
        }
        if self.cfg.institution == Institution::ContinuousDoubleAuction {
            // The improvement rule (§14): raw prices of the task type, across capability classes.
            // An order that does not reach the other side must beat its own side's best quote.
            let (best_bid, best_ask) = self.quotes(spec.task_type);
            let refused = match t {
                Side::Buy => best_bid.filter(|&b| price <= b && best_ask.is_none_or(|a| price < a)),
                Side::Sell => best_ask.filter(|&a| price >= a && best_bid.is_none_or(|b| price > b)),
            };
            if let Some(best) = refused {
                return Err(MarketError::NotImproving { side: t, price_per_unit: price, best });
            }
        }
        Ok(())
    }

    /// The public quotes of a task type: the highest open bid and the lowest open ask.
    fn quotes(&self, tt: TaskTypeId) -> (Option<u64>, Option<u64>) {
        let open = |side| self.orders.iter().filter(move |o| o.open() && o.side == side && o.spec.task_type == tt);
        (open(Side::Buy).map(|o| o.price).max(), open(Side::Sell).map(|o| o.price).min())
    }

    /// Continuous double auction with `clear_book_after_trade`: every open order of the task
    /// type is cancelled, requests first (highest bid, then earliest), then offers (lowest ask,
    /// then earliest), with `BookCleared`.
    fn clear_book(&mut self, tt: TaskTypeId) {
        let of = |side| {
            (0..self.orders.len())
                .filter(|&i| {
                    let o = &self.orders[i];
                    o.open() && o.side == side && o.spec.task_type == tt
                })
                .collect::<Vec<usize>>()
        };
        let mut bids = of(Side::Buy);
        bids.sort_by_key(|&i| (Reverse(self.orders[i].price), i));
        let mut asks = of(Side::Sell);
        asks.sort_by_key(|&i| (self.orders[i].price, i));
        for i in bids.into_iter().chain(asks) {
            self.close_order(i, OrderStatus::Cancelled, CloseReason::BookCleared);
        }
    }

    pub fn place_order(&mut self, order: NewOrder, now: u64) -> R<OrderId> {
        let NewOrder {
            side: t,
            trader,
            price_per_unit: price,
            total_units: units,
            spec,
            sla,
            expires_at,
            signature: sig,
        } = order;
        self.advance(now)?;
        if let Err(e) = self.validate(t, trader, price, units, &spec, sla.as_ref(), expires_at, sig.as_ref()) {
            self.counters.orders_rejected += 1;
            self.count_sig(&e);
            self.events.push(MarketEvent::OrderRejected { time: now, trader, side: t, reason: e.code() });
            return Err(e);
        }
        if self.cfg.verify_signatures {
            self.peers[trader.index()].last_seq = Some(sig.unwrap().seq);
        }
        let id = self.orders.len();
        let max_providers = match t {
            Side::Buy => (units / self.cfg.slot_divisor).clamp(1, self.cfg.slot_cap),
            Side::Sell => 0,
        };
        self.orders.push(ROrder {
            side: t,
            trader,
            price,
            units,
            filled: 0,
            spec,
            sla,
            placed_at: now,
            expires_at,
            status: OrderStatus::Active,
            max_providers,
            providers_used: 0,
        });
        self.counters.orders_placed += 1;
        let matches_before = self.counters.matches;
        self.events.push(MarketEvent::OrderPlaced {
            time: now,
            order: OrderId(id as u64),
            side: t,
            trader,
            task_type: spec.task_type,
            price_per_unit: price,
            units,
        });
        match t {
            Side::Buy => {
                let p = &mut self.peers[trader.index()];
                p.available -= price * units;
                p.locked += price * units;
                if self.matches_on_arrival() {
                    self.match_request(id);
                }
                if !self.close_if_done(id) {
                    if self.cfg.institution == Institution::CallMarket {
                        self.arm_call();
                    }
                    let closes_at = now.saturating_add(self.cfg.auction_window_ms);
                    self.events.push(MarketEvent::AuctionOpened { time: now, request: OrderId(id as u64), closes_at });
                }
            }
            Side::Sell => {
                if self.matches_on_arrival() {
                    self.match_offer(id);
                }
                if self.orders[id].filled == units {
                    self.orders[id].status = OrderStatus::Filled;
                }
            }
        }
        if self.cfg.clear_book_after_trade && self.counters.matches > matches_before {
            self.clear_book(spec.task_type);
        }
        Ok(OrderId(id as u64))
    }

    fn match_request(&mut self, rid: usize) {
        let r = self.orders[rid].clone();
        let k = self.cfg.reputation_weight;
        let mut offers: Vec<(f64, usize)> = (0..self.orders.len())
            .filter(|&i| {
                let o = &self.orders[i];
                o.side == Side::Sell
                    && o.open()
                    && o.spec.task_type == r.spec.task_type
                    && r.spec.capabilities.is_subset_of(o.spec.capabilities)
            })
            .map(|i| (weighted_ask(self.orders[i].price, self.score(self.orders[i].trader), k), i))
            .collect();
        offers.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut remaining = r.units - r.filled;
        let mut slots = r.max_providers - r.providers_used;
        let mut picks: Vec<(usize, PeerId, u64)> = Vec::new();
        for (_, oi) in offers {
            if remaining == 0 || slots == 0 {
                break;
            }
            let o = &self.orders[oi];
            let rep = self.score(o.trader);
            let ok = o.price <= r.price
                && o.trader != r.trader
                && rep >= r.spec.min_reputation
                && self.privacy_ok(r.spec.privacy_level, rep, o.spec.capabilities)
                && !self.peers[o.trader.index()].banned;
            if ok {
                let used: u64 = picks.iter().filter(|p| p.1 == o.trader).map(|p| p.2).sum();
                let room = self.cap_room(o.trader).saturating_sub(used);
                let units = remaining.min(o.units - o.filled).min(room);
                if units > 0 {
                    picks.push((oi, o.trader, units));
                    remaining -= units;
                    slots -= 1;
                }
            }
        }
        for (oi, _, units) in picks {
            self.execute(rid, oi, units, true, None);
            if self.orders[oi].filled == self.orders[oi].units {
                self.orders[oi].status = OrderStatus::Filled;
            }
        }
    }

    fn matches_on_arrival(&self) -> bool {
        matches!(self.cfg.institution, Institution::FirstAccept | Institution::ContinuousDoubleAuction)
    }

    /// Whether resting offer `oi` qualifies for request `r` on price and every filter but
    /// slots and usage caps (§3).
    fn qualifies(&self, r: &ROrder, oi: usize, limit: u64) -> bool {
        let o = &self.orders[oi];
        let rep = self.score(o.trader);
        o.side == Side::Sell
            && o.open()
            && o.spec.task_type == r.spec.task_type
            && r.spec.capabilities.is_subset_of(o.spec.capabilities)
            && o.price <= limit
            && o.trader != r.trader
            && rep >= r.spec.min_reputation
            && self.privacy_ok(r.spec.privacy_level, rep, o.spec.capabilities)
            && !self.peers[o.trader.index()].banned
    }

    /// A §3 walk of request `rid` over the qualifying offers asking at most `limit`: the
    /// offers in priority order, and the picks `(offer, provider, units)`.
    fn walk(&self, rid: usize, limit: u64) -> (Vec<(f64, usize)>, Picks) {
        let r = &self.orders[rid];
        let k = self.cfg.reputation_weight;
        let mut offers: Vec<(f64, usize)> = (0..self.orders.len())
            .filter(|&i| self.qualifies(r, i, limit))
            .map(|i| (weighted_ask(self.orders[i].price, self.score(self.orders[i].trader), k), i))
            .collect();
        offers.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut remaining = r.units - r.filled;
        let mut slots = r.max_providers - r.providers_used;
        let mut picks: Picks = Vec::new();
        for &(_, oi) in &offers {
            if remaining == 0 || slots == 0 {
                break;
            }
            let o = &self.orders[oi];
            let used: u64 = picks.iter().filter(|p| p.1 == o.trader).map(|p| p.2).sum();
            let units = remaining.min(o.units - o.filled).min(self.cap_room(o.trader).saturating_sub(used));
            if units > 0 {
                picks.push((oi, o.trader, units));
                remaining -= units;
                slots -= 1;
            }
        }
        (offers, picks)
    }

    /// Call market: schedules the next call at the first whole multiple of `call_interval`
    /// after now, unless one is pending (none past the end of time).
    fn arm_call(&mut self) {
        let iv = self.cfg.call_interval_ms;
        if self.next_call.is_none() {
            self.next_call = (self.clock / iv).checked_add(1).and_then(|k| k.checked_mul(iv));
        }
    }

    /// A call (§14), run only while some request is open: each task type with an open request
    /// clears at one uniform price, then the next call is scheduled if a request is still open.
    fn call(&mut self) {
        self.next_call = None;
        let any_open = |me: &Self| me.orders.iter().any(|o| o.open() && o.side == Side::Buy);
        if !any_open(self) {
            return;
        }
        self.counters.calls += 1;
        for tt in 0..self.task_types {
            let tt = TaskTypeId(tt as u16);
            if self.orders.iter().any(|o| o.open() && o.side == Side::Buy && o.spec.task_type == tt) {
                self.clear_call(tt);
            }
        }
        if any_open(self) {
            self.arm_call();
        }
    }

    /// The uniform call price of a task type from the crossing part of its book, or `None`.
    fn call_price(&self, tt: TaskTypeId) -> Option<u64> {
        let (Some(best_bid), Some(best_ask)) = self.quotes(tt) else { return None };
        if best_bid < best_ask {
            return None;
        }
        let open = |side| self.orders.iter().filter(move |o| o.open() && o.side == side && o.spec.task_type == tt);
        let bids: Vec<(u64, u128)> =
            open(Side::Buy).filter(|o| o.price >= best_ask).map(|o| (o.price, (o.units - o.filled) as u128)).collect();
        let asks: Vec<(u64, u128)> =
            open(Side::Sell).filter(|o| o.price <= best_bid).map(|o| (o.price, (o.units - o.filled) as u128)).collect();
        let demand = |p: u64| bids.iter().filter(|b| b.0 >= p).map(|b| b.1).sum::<u128>();
        let supply = |p: u64| asks.iter().filter(|a| a.0 <= p).map(|a| a.1).sum::<u128>();
        // The curves only step at order prices: each price range [from, to] where both are
        // constant is scored once (volume, then minus imbalance).
        let mut steps: Vec<u64> = bids.iter().map(|b| b.0).chain(asks.iter().map(|a| a.0)).collect();
        steps.sort_unstable();
        steps.dedup();
        let mut ranges: Vec<(u64, u64, u128, u128)> = Vec::new();
        for (j, &p) in steps.iter().enumerate() {
            let d = demand(p);
            let s = supply(p);
            ranges.push((p, p, d.min(s), d.abs_diff(s)));
            if let Some(&q) = steps.get(j + 1)
                && q > p + 1
            {
                let (d, s) = (demand(q), supply(p));
                ranges.push((p + 1, q - 1, d.min(s), d.abs_diff(s)));
            }
        }
        let best = ranges.iter().map(|r| (r.2, Reverse(r.3))).max()?;
        let tied: Vec<(u64, u64)> = ranges.iter().filter(|r| (r.2, Reverse(r.3)) == best).map(|r| (r.0, r.1)).collect();
        let lo = tied.iter().map(|r| r.0).min()?;
        let hi = tied.iter().map(|r| r.1).max()?;
        let mid = lo + (hi - lo) / 2;
        // The tied price nearest the middle, the lower on a tie (the middle itself if tied).
        tied.iter().map(|&(a, b)| mid.clamp(a, b)).min_by_key(|&p| (p.abs_diff(mid), p))
    }

    /// One call for one task type: the requests bidding at least the price, highest bid then
    /// earliest, each take qualifying offers asking at most it, as a §3 walk, every unit at it.
    fn clear_call(&mut self, tt: TaskTypeId) {
        let Some(p) = self.call_price(tt) else { return };
        let mut requests: Vec<usize> = (0..self.orders.len())
            .filter(|&i| {
                let o = &self.orders[i];
                o.open() && o.side == Side::Buy && o.spec.task_type == tt && o.price >= p
            })
            .collect();
        requests.sort_by_key(|&i| (Reverse(self.orders[i].price), i));
        for rid in requests {
            let (_, picks) = self.walk(rid, p);
            for (oi, _, units) in picks {
                self.execute(rid, oi, units, true, Some(p));
                if self.orders[oi].filled == self.orders[oi].units {
                    self.orders[oi].status = OrderStatus::Filled;
                }
            }
            self.close_if_done(rid);
        }
    }

    /// Sealed-bid reverse auction (§14): at the end of its window request `rid` takes the best
    /// qualifying resting offers (lowest weighted ask, then id; slots and usage caps as in §3),
    /// paid the ask (`first_price`) or the Vickrey/scoring price set by the best qualifying
    /// offer of a provider that did not win and has cap room (`second_price`; the bid if none).
    fn award(&mut self, rid: usize) {
        let r = self.orders[rid].clone();
        let k = self.cfg.reputation_weight;
        let (offers, picks) = self.walk(rid, r.price);
        let runner_up = offers
            .iter()
            .find(|&&(_, oi)| {
                let p = self.orders[oi].trader;
                !picks.iter().any(|x| x.1 == p) && self.cap_room(p) > 0
            })
            .map(|x| x.0);
        for (oi, provider, units) in picks {
            let ask = self.orders[oi].price;
            let price = match (self.cfg.sealed_bid_price, runner_up) {
                (SealedBidPrice::FirstPrice, _) => ask,
                (SealedBidPrice::SecondPrice, None) => r.price,
                (SealedBidPrice::SecondPrice, Some(w)) => {
                    let f = (self.score(provider) / 100.0).clamp(0.5, 2.0).powf(k);
                    // A product that is a whole number in exact arithmetic may land just below it in
                    // floating point: a relative nudge of 1e-12 keeps it whole.
                    let threshold = (w * f * (1.0 + 1e-12)).floor();
                    if threshold >= r.price as f64 { r.price } else { (threshold as u64).clamp(ask, r.price) }
                }
            };
            self.execute(rid, oi, units, true, Some(price));
            if self.orders[oi].filled == self.orders[oi].units {
                self.orders[oi].status = OrderStatus::Filled;
            }
        }
    }

    fn match_offer(&mut self, oid: usize) {
        let o = self.orders[oid].clone();
        let rep = self.score(o.trader);
        let mut requests: Vec<usize> = (0..self.orders.len())
            .filter(|&i| {
                let r = &self.orders[i];
                r.side == Side::Buy
                    && r.open()
                    && r.spec.task_type == o.spec.task_type
                    && r.spec.capabilities.is_subset_of(o.spec.capabilities)
            })
            .collect();
        requests.sort_by_key(|&i| (Reverse(self.orders[i].price), i));
        for ri in requests {
            let remaining = self.orders[oid].units - self.orders[oid].filled;
            if remaining == 0 {
                break;
            }
            let r = &self.orders[ri];
            if r.price < o.price {
                break;
            }
            let ok = r.trader != o.trader
                && rep >= r.spec.min_reputation
                && self.privacy_ok(r.spec.privacy_level, rep, o.spec.capabilities)
                && r.providers_used < r.max_providers;
            if ok {
                let room = self.cap_room(o.trader);
                if room == 0 {
                    break;
                }
                let units = remaining.min(r.units - r.filled).min(room);
                self.execute(ri, oid, units, false, None);
                self.close_if_done(ri);
            }
        }
    }

    fn close_if_done(&mut self, rid: usize) -> bool {
        let r = &self.orders[rid];
        if r.filled == r.units {
            self.close_order(rid, OrderStatus::Filled, CloseReason::Filled);
        } else if r.providers_used >= r.max_providers {
            self.close_order(rid, OrderStatus::Expired, CloseReason::SlotsUsed);
        } else {
            return false;
        }
        true
    }

    fn execute(&mut self, rid: usize, oid: usize, units: u64, offer_was_resting: bool, fixed: Option<u64>) {
        let (r, o) = (self.orders[rid].clone(), self.orders[oid].clone());
        let (bid, ask) = (r.price, o.price);
        let pricing = match self.cfg.institution {
            // The continuous double auction trades at the resting order's price.
            Institution::ContinuousDoubleAuction => PriceRule::Resting,
            _ => self.cfg.pricing,
        };
        let price = match pricing {
            _ if fixed.is_some() => fixed.unwrap(),
            PriceRule::Ask => ask,
            PriceRule::Bid => bid,
            PriceRule::Midpoint => ask + (bid - ask) / 2,
            PriceRule::Resting => {
                if offer_was_resting {
                    ask
                } else {
                    bid
                }
            }
        };
        let now = self.clock;
        let eid = self.esc.len();
        let amount = price * units;
        let req = &mut self.peers[r.trader.index()];
        req.locked -= bid * units;
        req.available += (bid - price) * units;
        let max_duration = match r.sla {
            Some(s) if s.max_duration_ms > 0 => s.max_duration_ms,
            _ if r.spec.max_duration_ms > 0 => r.spec.max_duration_ms,
            _ => self.cfg.default_max_duration_ms,
        };
        self.asg.push(RAsg {
            requester: r.trader,
            provider: o.trader,
            task_type: r.spec.task_type,
            units,
            price,
            sla: r.sla,
            max_response: r.sla.map_or(self.cfg.default_max_response_ms, |s| s.max_response_time_ms),
            max_duration,
            assigned_at: now,
            started_at: None,
            finished_at: None,
            status: TaskStatus::Assigned,
            failure: None,
            violations: Violations::default(),
            penalty: 0,
            audited: false,
            receipt: None,
            feedback: [None, None],
        });
        let arbitrators = match self.cfg.escrow {
            MultiSigType::Arbitrators { total, .. } => {
                self.draw_sampled(eid, r.trader, o.trader, total as usize, 0xA5B1)
            }
            _ => Vec::new(),
        };
        self.esc.push(REsc {
            amount,
            state: EscrowState::Funded,
            funded_at: now,
            completed_at: None,
            settled_at: None,
            requester_approved: false,
            provider_approved: false,
            arbitrators,
            approvals: Vec::new(),
            dispute: None,
            paid_provider: 0,
            paid_requester: 0,
            fee: 0,
        });
        self.events.push(MarketEvent::EscrowChanged {
            time: now,
            escrow: EscrowId(eid as u64),
            from: EscrowState::Created,
            to: EscrowState::Funded,
        });
        for (i, is_request) in [(rid, true), (oid, false)] {
            let x = &mut self.orders[i];
            x.filled += units;
            if x.filled < x.units && x.status == OrderStatus::Active {
                x.status = OrderStatus::PartiallyFilled;
            }
            if is_request {
                x.providers_used += 1;
            }
        }
        self.counters.matches += 1;
        self.events.push(MarketEvent::Assigned {
            time: now,
            assignment: AssignmentId(eid as u64),
            request: OrderId(rid as u64),
            offer: OrderId(oid as u64),
            requester: r.trader,
            provider: o.trader,
            task_type: r.spec.task_type,
            units,
            price_per_unit: price,
            offer_was_resting,
        });
    }

    fn close_order(&mut self, i: usize, status: OrderStatus, reason: CloseReason) {
        let now = self.clock;
        let o = self.orders[i].clone();
        let remaining = o.units - o.filled;
        if o.side == Side::Buy {
            let p = &mut self.peers[o.trader.index()];
            p.locked -= remaining * o.price;
            p.available += remaining * o.price;
            self.events.push(MarketEvent::AuctionClosed {
                time: now,
                request: OrderId(i as u64),
                reason,
                filled_units: o.filled,
            });
        }
        self.orders[i].status = status;
        if remaining > 0 {
            let order = OrderId(i as u64);
            match status {
                OrderStatus::Cancelled => {
                    self.events.push(MarketEvent::OrderCancelled { time: now, order, unfilled_units: remaining })
                }
                OrderStatus::Expired => {
                    self.events.push(MarketEvent::OrderExpired { time: now, order, unfilled_units: remaining })
                }
                _ => {}
            }
        }
    }

    pub fn cancel_order(&mut self, id: OrderId, trader: PeerId, now: u64) -> R<()> {
        self.advance(now)?;
        let Some(o) = self.orders.get(id.index()) else { return Err(MarketError::UnknownOrder(id)) };
        if o.trader != trader {
            return Err(self
                .refuse(trader, MarketError::NotAuthorized { caller: trader, action: "cancel another peer's order" }));
        }
        if !o.open() {
            return Err(MarketError::WrongState { action: "cancel", state: o.status.as_str() });
        }
        self.close_order(id.index(), OrderStatus::Cancelled, CloseReason::Cancelled);
        Ok(())
    }

    // ----- tasks ------------------------------------------------------------------------------

    pub fn start_task(&mut self, aid: AssignmentId, by: PeerId, now: u64) -> R<()> {
        self.advance(now)?;
        let Some(a) = self.asg.get(aid.index()) else { return Err(MarketError::UnknownAssignment(aid)) };
        if a.provider != by {
            return Err(self.refuse(
                by,
                MarketError::NotAuthorized { caller: by, action: "start a task assigned to another peer" },
            ));
        }
        if a.status != TaskStatus::Assigned {
            return Err(MarketError::WrongState { action: "start", state: a.status.as_str() });
        }
        let response = now - a.assigned_at;
        let a = &mut self.asg[aid.index()];
        a.status = TaskStatus::InProgress;
        a.started_at = Some(now);
        let p = &mut self.peers[by.index()];
        p.ema = Some(match p.ema {
            None => response as f64,
            Some(old) => 0.9 * old + 0.1 * response as f64,
        });
        self.events.push(MarketEvent::TaskStarted { time: now, assignment: aid, response_ms: response });
        if response <= self.cfg.reputation.fast_response_ms {
            self.rep(by, ReputationEvent::FastResponse, 1);
        } else if response > self.cfg.reputation.slow_response_ms {
            self.rep(by, ReputationEvent::SlowResponse, 1);
        }
        Ok(())
    }

    pub fn complete_task(&mut self, aid: AssignmentId, by: PeerId, c: Completion, now: u64) -> R<()> {
        self.advance(now)?;
        let Some(a) = self.asg.get(aid.index()) else { return Err(MarketError::UnknownAssignment(aid)) };
        if a.provider != by {
            return Err(self.refuse(
                by,
                MarketError::NotAuthorized { caller: by, action: "complete a task assigned to another peer" },
            ));
        }
        if a.status != TaskStatus::InProgress {
            return Err(MarketError::WrongState { action: "complete", state: a.status.as_str() });
        }
        if !(c.uptime >= 0.0 && c.uptime <= 1.0) {
            return Err(MarketError::InvalidFraction { what: "uptime", value: c.uptime });
        }
        let i = aid.index();
        let started = a.started_at.unwrap();
        let mut v = Violations::default();
        let mut penalty = 0u64;
        if let Some(s) = a.sla {
            v.response = started - a.assigned_at > s.max_response_time_ms;
            v.duration = now - started > a.max_duration;
            v.uptime = c.uptime < s.uptime_requirement;
            for (metric, min) in s.quality_minimums.iter() {
                let met = matches!(c.quality.get(metric), Some(q) if q >= min);
                if !met {
                    v.quality += 1;
                }
            }
            let full = s.violation_penalty as u128;
            let n_full = v.response as u128 + v.duration as u128 + v.uptime as u128;
            penalty = (full * n_full + full / 2 * v.quality as u128).min(self.esc[i].amount as u128) as u64;
        }
        let a = &mut self.asg[i];
        a.status = if v.count() > 0 { TaskStatus::SlaViolated } else { TaskStatus::Completed };
        a.finished_at = Some(now);
        a.violations = v;
        a.penalty = penalty;
        a.receipt = Some(c.receipt_account);
        self.events.push(MarketEvent::TaskCompleted { time: now, assignment: aid, violations: v, penalty });
        self.rep(by, ReputationEvent::SlaViolation, v.count());
        let state = self.esc[i].state;
        if matches!(state, EscrowState::Funded | EscrowState::Disputed) {
            self.esc[i].completed_at = Some(now);
        }
        if state == EscrowState::Funded {
            self.transition(i, EscrowState::Completed);
        }
        let audited = self.cfg.audit_rate >= 1.0 || audit_sample(self.cfg.market_seed, i as u64) < self.cfg.audit_rate;
        let mut violation = None;
        if audited {
            self.asg[i].audited = true;
            let own = self.peers[by.index()].account;
            if own != Some(c.receipt_account) {
                violation = Some(ViolationKind::ReceiptMismatch);
            } else if own.is_some_and(|acc| self.peers.iter().filter(|p| p.account == Some(acc)).count() > 1) {
                violation = Some(ViolationKind::SharedAccount);
            }
        }
        self.events.push(MarketEvent::ComplianceChecked {
            time: now,
            assignment: aid,
            provider: by,
            audited,
            violation,
        });
        if let Some(kind) = violation {
            if matches!(self.esc[i].state, EscrowState::Completed | EscrowState::Disputed) {
                self.refund(i, EscrowState::Refunded);
            }
            if !self.peers[by.index()].banned {
                self.peers[by.index()].banned = true;
                self.close_all(by, None);
                self.events.push(MarketEvent::PeerBanned { time: now, peer: by, violation: kind });
            }
            return Ok(());
        }
        if self.esc[i].state == EscrowState::Disputed {
            self.try_decide(i);
        }
        Ok(())
    }

    fn fail(&mut self, i: usize, kind: FailureKind, escrow_to: EscrowState) {
        let now = self.clock;
        let a = &mut self.asg[i];
        a.status = TaskStatus::Failed;
        a.failure = Some(kind);
        a.finished_at = Some(now);
        match kind {
            FailureKind::NoShow => a.violations.response = true,
            FailureKind::Abandoned => a.violations.duration = true,
        }
        let provider = a.provider;
        self.events.push(MarketEvent::TaskFailed { time: now, assignment: AssignmentId(i as u64), kind });
        self.rep(provider, ReputationEvent::TradeFailed, 1);
        if matches!(self.esc[i].state, EscrowState::Funded | EscrowState::Disputed) {
            self.refund(i, escrow_to);
        }
    }

    // ----- escrow -----------------------------------------------------------------------------

    fn transition(&mut self, i: usize, to: EscrowState) {
        let from = self.esc[i].state;
        self.esc[i].state = to;
        self.events.push(MarketEvent::EscrowChanged { time: self.clock, escrow: EscrowId(i as u64), from, to });
    }

    fn refund(&mut self, i: usize, to: EscrowState) {
        let requester = self.asg[i].requester;
        let e = &mut self.esc[i];
        let amount = e.amount;
        e.paid_requester += amount;
        e.settled_at = Some(self.clock);
        self.peers[requester.index()].available += amount;
        self.transition(i, to);
    }

    fn pay_out(&mut self, i: usize, gross: u64, penalty: u64) {
        let (requester, provider) = (self.asg[i].requester, self.asg[i].provider);
        let amount = self.esc[i].amount;
        let fee = (gross as u128 * self.cfg.fee_bps as u128 / 10_000) as u64;
        let back = amount - gross;
        let _ = penalty;
        self.peers[provider.index()].available += gross - fee;
        self.peers[requester.index()].available += back;
        self.treasury += fee;
        let e = &mut self.esc[i];
        e.paid_provider = gross - fee;
        e.paid_requester = back;
        e.fee = fee;
        e.settled_at = Some(self.clock);
    }

    fn release(&mut self, i: usize, _actor: Option<PeerId>) {
        let p = self.asg[i].penalty;
        let amount = self.esc[i].amount;
        self.pay_out(i, amount - p, p);
        self.transition(i, EscrowState::Released);
        let provider = self.asg[i].provider;
        self.rep(provider, ReputationEvent::TradeCompleted, 1);
    }

    fn votes_decide(&self, d: &RDispute) -> Option<Vote> {
        for i in 0..d.votes.len() {
            let v = d.votes[i].1;
            if d.votes[..=i].iter().filter(|x| x.1 == v).count() >= d.required as usize {
                return Some(v);
            }
        }
        None
    }

    fn try_decide(&mut self, i: usize) {
        let e = &self.esc[i];
        if e.state != EscrowState::Disputed || !self.asg[i].finished_ok() {
            return;
        }
        if let MultiSigType::TimeLocked { release_after_ms } = self.cfg.escrow
            && self.clock < e.completed_at.unwrap().saturating_add(release_after_ms)
        {
            return;
        }
        let d = e.dispute.as_ref().unwrap();
        if let Some(v) = self.votes_decide(d) {
            self.resolve(i, v, false);
        } else if self.clock >= d.raised_at.saturating_add(self.cfg.dispute_timeout_ms) {
            let v = match self.cfg.dispute_default {
                DisputeDefault::ReleaseToProvider => Vote::ReleaseToProvider,
                DisputeDefault::RefundToRequester => Vote::RefundToRequester,
                DisputeDefault::SplitEvenly => Vote::Split { provider_bps: 5000 },
            };
            self.resolve(i, v, true);
        }
    }

    fn resolve(&mut self, i: usize, outcome: Vote, by_timeout: bool) {
        let p = self.asg[i].penalty;
        let net = self.esc[i].amount - p;
        let gross = match outcome {
            Vote::ReleaseToProvider => net,
            Vote::RefundToRequester => 0,
            Vote::Split { provider_bps } => (net as u128 * provider_bps as u128 / 10_000) as u64,
        };
        self.pay_out(i, gross, if gross == 0 { 0 } else { p });
        let d = self.esc[i].dispute.as_mut().unwrap();
        d.outcome = Some(outcome);
        d.by_timeout = by_timeout;
        let raised_by = d.raised_by;
        self.transition(i, EscrowState::Resolved);
        self.events.push(MarketEvent::DisputeResolved {
            time: self.clock,
            escrow: EscrowId(i as u64),
            outcome,
            by_timeout,
        });
        let (requester, provider) = (self.asg[i].requester, self.asg[i].provider);
        let winner = match (gross as u128 * 2).cmp(&(net as u128)) {
            std::cmp::Ordering::Greater => Some(provider),
            std::cmp::Ordering::Less => Some(requester),
            std::cmp::Ordering::Equal => None,
        };
        if let Some(w) = winner {
            let loser = if w == provider { requester } else { provider };
            self.rep(w, ReputationEvent::DisputeWon, 1);
            if raised_by == loser {
                self.rep(loser, ReputationEvent::DisputeLost, 1);
            }
        }
    }

    pub fn approve_release(&mut self, eid: EscrowId, by: PeerId, sig: Option<Signed>, now: u64) -> R<()> {
        self.advance(now)?;
        if eid.index() >= self.esc.len() {
            return Err(MarketError::UnknownEscrow(eid));
        }
        self.known(by)?;
        let i = eid.index();
        if self.cfg.verify_signatures {
            let ok = match (self.peers[by.index()].key.as_ref(), sig.as_ref()) {
                (Some(k), Some(s)) => signing::verify(k, &approval_bytes(eid, by, s.seq), &s.bytes),
                _ => false,
            };
            if !ok {
                return Err(self.refuse(by, MarketError::BadSignature(by)));
            }
            let seq = sig.unwrap().seq;
            if self.peers[by.index()].last_seq.is_some_and(|l| seq <= l) {
                return Err(self.refuse(by, MarketError::Replayed { peer: by, seq }));
            }
        }
        let (requester, provider) = (self.asg[i].requester, self.asg[i].provider);
        let e = &self.esc[i];
        let allowed = match self.cfg.escrow {
            MultiSigType::Single => by == requester,
            MultiSigType::BothParties => by == requester || by == provider,
            // Rule: a banned arbitrator may not approve (its seat stays; its voice goes).
            MultiSigType::Arbitrators { .. } => e.arbitrators.contains(&by) && !self.peers[by.index()].banned,
            MultiSigType::TimeLocked { .. } => false,
        };
        if !allowed {
            return Err(
                self.refuse(by, MarketError::NotAuthorized { caller: by, action: "approve this escrow's release" })
            );
        }
        if e.state != EscrowState::Completed {
            return Err(MarketError::WrongState { action: "approve release", state: e.state.as_str() });
        }
        let duplicate = match self.cfg.escrow {
            MultiSigType::BothParties => {
                (by == requester && e.requester_approved) || (by == provider && e.provider_approved)
            }
            MultiSigType::Arbitrators { .. } => e.approvals.contains(&by),
            _ => false,
        };
        if duplicate {
            return Err(MarketError::Duplicate(by));
        }
        if self.cfg.verify_signatures {
            self.peers[by.index()].last_seq = Some(sig.unwrap().seq);
        }
        let e = &mut self.esc[i];
        let release = match self.cfg.escrow {
            MultiSigType::Single => {
                e.requester_approved = true;
                true
            }
            MultiSigType::BothParties => {
                if by == requester {
                    e.requester_approved = true;
                } else {
                    e.provider_approved = true;
                }
                e.requester_approved && e.provider_approved
            }
            MultiSigType::Arbitrators { required, .. } => {
                e.approvals.push(by);
                e.approvals.len() >= required as usize
            }
            MultiSigType::TimeLocked { .. } => false,
        };
        if release {
            self.release(i, Some(by));
        }
        Ok(())
    }

    pub fn dispute(&mut self, eid: EscrowId, by: PeerId, now: u64) -> R<()> {
        self.advance(now)?;
        if eid.index() >= self.esc.len() {
            return Err(MarketError::UnknownEscrow(eid));
        }
        let i = eid.index();
        let (requester, provider) = (self.asg[i].requester, self.asg[i].provider);
        if by != requester && by != provider {
            return Err(self.refuse(
                by,
                MarketError::NotAuthorized { caller: by, action: "dispute an escrow it is not party to" },
            ));
        }
        let state = self.esc[i].state;
        if !matches!(state, EscrowState::Funded | EscrowState::Completed) {
            return Err(MarketError::WrongState { action: "dispute", state: state.as_str() });
        }
        let (panel, required) = match self.cfg.escrow {
            MultiSigType::Arbitrators { required, .. } => (self.esc[i].arbitrators.clone(), required),
            _ => (
                self.draw(i, requester, provider, self.cfg.dispute_panel_total as usize, 0xD15B),
                self.cfg.dispute_panel_required,
            ),
        };
        if panel.len() < required as usize {
            return Err(MarketError::PanelUnstaffed { available: panel.len(), required });
        }
        self.esc[i].dispute = Some(RDispute {
            raised_by: by,
            raised_at: now,
            panel,
            required,
            votes: Vec::new(),
            outcome: None,
            by_timeout: false,
        });
        self.transition(i, EscrowState::Disputed);
        self.events.push(MarketEvent::DisputeRaised { time: now, escrow: eid, by });
        self.peers[by.index()].disputes += 1;
        let accused = if by == requester { provider } else { requester };
        self.rep(accused, ReputationEvent::TradeDisputed, 1);
        Ok(())
    }

    pub fn vote(&mut self, eid: EscrowId, by: PeerId, vote: Vote, now: u64) -> R<()> {
        self.advance(now)?;
        if eid.index() >= self.esc.len() {
            return Err(MarketError::UnknownEscrow(eid));
        }
        if let Vote::Split { provider_bps } = vote
            && provider_bps > 10_000
        {
            return Err(MarketError::InvalidSplit(provider_bps));
        }
        let i = eid.index();
        let e = &self.esc[i];
        let Some(d) = e.dispute.as_ref() else {
            return Err(MarketError::WrongState { action: "vote", state: e.state.as_str() });
        };
        if !d.panel.contains(&by) {
            return Err(
                self.refuse(by, MarketError::NotAuthorized { caller: by, action: "vote on a panel it is not on" })
            );
        }
        // Rule: a banned arbitrator may not vote.
        if self.peers[by.index()].banned {
            return Err(self.refuse(by, MarketError::NotAuthorized { caller: by, action: "vote after being banned" }));
        }
        if e.state != EscrowState::Disputed {
            return Err(MarketError::WrongState { action: "vote", state: e.state.as_str() });
        }
        if d.votes.iter().any(|v| v.0 == by) {
            return Err(MarketError::Duplicate(by));
        }
        self.esc[i].dispute.as_mut().unwrap().votes.push((by, vote));
        self.events.push(MarketEvent::VoteCast { time: now, escrow: eid, arbitrator: by, vote });
        self.try_decide(i);
        Ok(())
    }

    pub fn leave_feedback(&mut self, aid: AssignmentId, by: PeerId, rating: u8, now: u64) -> R<()> {
        self.advance(now)?;
        let Some(a) = self.asg.get(aid.index()) else { return Err(MarketError::UnknownAssignment(aid)) };
        let side = if by == a.requester {
            0
        } else if by == a.provider {
            1
        } else {
            return Err(self.refuse(
                by,
                MarketError::NotAuthorized { caller: by, action: "leave feedback on another pair's trade" },
            ));
        };
        if !(1..=5).contains(&rating) {
            return Err(MarketError::InvalidRating(rating));
        }
        let state = self.esc[aid.index()].state;
        if !matches!(
            state,
            EscrowState::Released | EscrowState::Refunded | EscrowState::Resolved | EscrowState::Expired
        ) {
            return Err(MarketError::WrongState { action: "leave feedback", state: state.as_str() });
        }
        let settled = self.esc[aid.index()].settled_at.unwrap_or(0);
        if self.cfg.feedback_window_ms > 0 && now > settled.saturating_add(self.cfg.feedback_window_ms) {
            return Err(MarketError::WrongState {
                action: "leave feedback after the feedback window",
                state: state.as_str(),
            });
        }
        if a.feedback[side].is_some() {
            return Err(MarketError::Duplicate(by));
        }
        let other = if side == 0 { a.provider } else { a.requester };
        self.asg[aid.index()].feedback[side] = Some(rating);
        if rating >= 4 {
            self.rep(other, ReputationEvent::PositiveFeedback, 1);
        } else if rating <= 2 {
            self.rep(other, ReputationEvent::NegativeFeedback, 1);
        }
        Ok(())
    }

    // ----- price discovery --------------------------------------------------------------------

    fn price_stats(&self, tt: TaskTypeId) -> Option<PriceStats> {
        let w = self.cfg.price_window_ms;
        let live: Vec<&RAsg> = self
            .asg
            .iter()
            .filter(|a| a.task_type == tt && (self.clock < w || a.assigned_at > self.clock - w))
            .collect();
        if live.is_empty() {
            return None;
        }
        let count = live.len() as u64;
        let sum_price: u128 = live.iter().map(|a| a.price as u128).sum();
        let sum_units: u128 = live.iter().map(|a| a.units as u128).sum();
        let sum_value: u128 = live.iter().map(|a| a.price as u128 * a.units as u128).sum();
        Some(PriceStats {
            count,
            mean_price: sum_price as f64 / count as f64,
            vwap: sum_value as f64 / sum_units as f64,
            min_price: live.iter().map(|a| a.price).min().unwrap(),
            max_price: live.iter().map(|a| a.price).max().unwrap(),
            volume_units: sum_units as u64,
            turnover: sum_value,
        })
    }

    // ----- comparison -------------------------------------------------------------------------

    pub fn snap(&self) -> Snap {
        Snap {
            clock: self.clock,
            treasury: self.treasury,
            supply: self.supply,
            counters: self.counters,
            peers: (0..self.peers.len())
                .map(|i| {
                    let p = &self.peers[i];
                    SnapPeer {
                        banned: p.banned,
                        paused: p.paused,
                        wallet: (p.available, p.locked),
                        score: self.score(PeerId(i as u32)).to_bits(),
                        counts: (p.trades, p.successes, p.failures, p.disputes),
                        ema: p.ema.map(f64::to_bits),
                        next_seq: p.last_seq.map_or(0, |s| s.saturating_add(1)),
                    }
                })
                .collect(),
            orders: self.orders.iter().map(|o| (o.status, o.filled, o.providers_used)).collect(),
            assignments: self
                .asg
                .iter()
                .map(|a| SnapAsg {
                    parties: (a.requester, a.provider),
                    trade: (a.units, a.price, a.penalty),
                    times: (a.assigned_at, a.started_at, a.finished_at),
                    status: (a.status, a.failure, a.violations),
                    audit: (a.audited, a.receipt),
                    feedback: a.feedback,
                })
                .collect(),
            escrows: self
                .esc
                .iter()
                .map(|e| SnapEsc {
                    state: e.state,
                    paid: (e.amount, e.paid_provider, e.paid_requester, e.fee),
                    times: (e.funded_at, e.completed_at, e.settled_at),
                    approvals: (e.requester_approved, e.provider_approved, e.arbitrators.clone(), e.approvals.clone()),
                    dispute: e.dispute.as_ref().map(|d| SnapDispute {
                        raised: (d.raised_by, d.raised_at),
                        panel: (d.panel.clone(), d.required),
                        votes: d.votes.clone(),
                        outcome: (d.outcome, d.by_timeout),
                    }),
                })
                .collect(),
            prices: (0..self.task_types).map(|t| self.price_stats(TaskTypeId(t as u16)).map(SnapPrice::of)).collect(),
        }
    }
}

// ----- the comparable picture ----------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
pub struct SnapPeer {
    pub banned: bool,
    pub paused: bool,
    pub wallet: (u64, u64),
    pub score: u64,
    pub counts: (u64, u64, u64, u64),
    pub ema: Option<u64>,
    pub next_seq: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SnapAsg {
    pub parties: (PeerId, PeerId),
    pub trade: (u64, u64, u64),
    pub times: (u64, Option<u64>, Option<u64>),
    pub status: (TaskStatus, Option<FailureKind>, Violations),
    pub audit: (bool, Option<AccountId>),
    pub feedback: [Option<u8>; 2],
}

#[derive(Clone, Debug, PartialEq)]
pub struct SnapDispute {
    pub raised: (PeerId, u64),
    pub panel: (Vec<PeerId>, u8),
    pub votes: Vec<(PeerId, Vote)>,
    pub outcome: (Option<Vote>, bool),
}

#[derive(Clone, Debug, PartialEq)]
pub struct SnapEsc {
    pub state: EscrowState,
    pub paid: (u64, u64, u64, u64),
    pub times: (u64, Option<u64>, Option<u64>),
    pub approvals: (bool, bool, Vec<PeerId>, Vec<PeerId>),
    pub dispute: Option<SnapDispute>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SnapPrice {
    pub count: u64,
    pub mean: u64,
    pub vwap: u64,
    pub range: (u64, u64),
    pub volume: u64,
    pub turnover: u128,
}

impl SnapPrice {
    pub fn of(s: PriceStats) -> SnapPrice {
        SnapPrice {
            count: s.count,
            mean: s.mean_price.to_bits(),
            vwap: s.vwap.to_bits(),
            range: (s.min_price, s.max_price),
            volume: s.volume_units,
            turnover: s.turnover,
        }
    }
}

/// Everything the two implementations must agree on after a step.
#[derive(Clone, Debug, PartialEq)]
pub struct Snap {
    pub clock: u64,
    pub treasury: u64,
    pub supply: u64,
    pub counters: MarketCounters,
    pub peers: Vec<SnapPeer>,
    pub orders: Vec<(OrderStatus, u64, u64)>,
    pub assignments: Vec<SnapAsg>,
    pub escrows: Vec<SnapEsc>,
    pub prices: Vec<Option<SnapPrice>>,
}

/// The same picture of the engine, through its public queries only.
pub fn snap_market(m: &Market) -> Snap {
    Snap {
        clock: m.now(),
        treasury: m.treasury(),
        supply: m.bank().supply(),
        counters: m.counters(),
        peers: (0..m.peer_count())
            .map(|i| {
                let p = PeerId(i as u32);
                let s = m.peer_state(p).unwrap();
                let r = m.reputation_record(p).unwrap();
                let w = m.wallet(p);
                SnapPeer {
                    banned: s.banned,
                    paused: s.paused,
                    wallet: (w.available, w.locked),
                    score: m.reputation(p).to_bits(),
                    counts: (r.trades, r.successes, r.failures, r.disputes),
                    ema: r.response_ema_ms.map(f64::to_bits),
                    next_seq: m.next_signature_seq(p),
                }
            })
            .collect(),
        orders: m.orders().iter().map(|o| (o.status, o.filled_units, o.providers_used as u64)).collect(),
        assignments: m
            .assignments()
            .iter()
            .map(|a| SnapAsg {
                parties: (a.requester, a.provider),
                trade: (a.units, a.price_per_unit, a.penalty),
                times: (a.assigned_at, a.started_at, a.finished_at),
                status: (a.status, a.failure, a.violations),
                audit: (a.audited, a.receipt_account),
                feedback: a.feedback,
            })
            .collect(),
        escrows: m
            .escrows()
            .iter()
            .map(|e| SnapEsc {
                state: e.state,
                paid: (e.amount, e.paid_provider, e.paid_requester, e.fee),
                times: (e.funded_at, e.completed_at, e.settled_at),
                approvals: (
                    e.requester_approved,
                    e.provider_approved,
                    e.arbitrators.clone(),
                    e.arbitrator_approvals.clone(),
                ),
                dispute: e.dispute.as_ref().map(|d| SnapDispute {
                    raised: (d.raised_by, d.raised_at),
                    panel: (d.panel.clone(), d.required),
                    votes: d.votes.clone(),
                    outcome: (d.outcome, d.by_timeout),
                }),
            })
            .collect(),
        prices: (0..m.vocabulary().task_type_count())
            .map(|t| m.price_stats(TaskTypeId(t as u16)).map(SnapPrice::of))
            .collect(),
    }
}
