//! The market: peers, orders, matching, and the clock that drives deadlines.
//!
//! [`Market`] is synchronous and in memory. Every call takes the caller's simulated time `now`;
//! the market first advances its clock to `now` (running expiries, auction closes, deadlines and
//! escrow timers that fall due, in `(time, timer class, id)` order), then performs the call. A
//! refused call returns a [`MarketError`] and changes nothing (time passing is not a change made by
//! the call). What happened is reported as [`MarketEvent`]s that the caller drains.
//!
//! Matching (§3) is in this file; the task lifecycle, escrow, disputes, compliance and feedback are
//! in `lifecycle.rs`; the invariant checker in `invariants.rs`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};

use ed25519_dalek::VerifyingKey;

use crate::bank::{Account, Bank, EntryKind, Wallet};
use crate::book::{AuctionKey, OfferBook, OfferKey, REP_BUCKETS, bucket_ceiling_reputation, bucket_floor, rep_bucket};
use crate::capability::{CapabilitySet, Vocabulary};
use crate::config::{MarketConfig, PriceRule};
use crate::error::{ConfigError, MarketError};
use crate::escrow::{Escrow, EscrowState, EscrowTransition, TaskAssignment, TaskStatus, Violations};
use crate::events::{CloseReason, MarketEvent};
use crate::ids::{AccountId, AssignmentId, EscrowId, OrderId, PeerId, SimTime, TaskTypeId};
use crate::order::{
    ComputeTaskSpec, Order, OrderStatus, OrderType, PrivacyLevel, QualityValues, SignatureBytes, SlaSpec,
};
use crate::price::{PriceStats, PriceWindow};
use crate::reputation::{ReputationBook, ReputationRecord};
use crate::signing;

/// How a peer joins the market.
#[derive(Clone, Debug, Default)]
pub struct PeerSpec {
    /// Tokens endowed at registration.
    pub endowment: u64,
    /// The provider's own model subscription; `None` for peers that never offer compute.
    pub account: Option<AccountId>,
    /// Declared usage cap in units per `usage_cap_window_ms`; `None` = no cap.
    pub usage_cap_units: Option<u64>,
    /// Starting reputation; `None` = the configured initial value.
    pub initial_reputation: Option<f64>,
    /// Sits on dispute panels and arbitrated escrows.
    pub arbitrator: bool,
    /// Verifying key; `None` with `verify_signatures` derives it from `key_seed` and the id.
    pub verifying_key: Option<VerifyingKey>,
}

/// A peer as the market keeps it.
#[derive(Clone, Debug)]
pub struct PeerState {
    /// Provider account.
    pub account: Option<AccountId>,
    /// Usage cap.
    pub usage_cap_units: Option<u64>,
    /// Arbitrator.
    pub arbitrator: bool,
    /// Banned for a compliance violation.
    pub banned: bool,
    /// Paused: no new offers.
    pub paused: bool,
    pub(crate) key: Option<VerifyingKey>,
    pub(crate) open_orders: Vec<OrderId>,
    pub(crate) usage: VecDeque<(SimTime, u64)>,
    pub(crate) usage_sum: u64,
}

pub(crate) use crate::timers::TimerKind;
use crate::timers::Timers;

/// A position in one reputation bucket of one class book during a request's walk.
#[derive(Clone, Copy, Debug)]
struct Cursor {
    key: OfferKey,
    class: u32,
    bucket: u8,
    /// Stop once the weighted ask exceeds this (no later offer of the bucket can trade).
    limit: f64,
}

#[derive(Clone, Copy, Debug)]
struct Pick {
    offer: OrderId,
    provider: PeerId,
    units: u64,
}

/// Running totals the market keeps for reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MarketCounters {
    /// Orders accepted.
    pub orders_placed: u64,
    /// Placements refused.
    pub orders_rejected: u64,
    /// Other calls refused (wrong peer, wrong state, bad signature).
    pub calls_refused: u64,
    /// Refusals for a bad signature.
    pub bad_signatures: u64,
    /// Assignments made.
    pub matches: u64,
}

/// The market engine.
#[derive(Clone, Debug)]
pub struct Market {
    pub(crate) config: MarketConfig,
    pub(crate) vocabulary: Vocabulary,
    pub(crate) clock: SimTime,
    pub(crate) peers: Vec<PeerState>,
    pub(crate) orders: Vec<Order>,
    pub(crate) rank_keys: Vec<u64>,
    /// Offers: the reputation bucket they rest in.
    pub(crate) rank_buckets: Vec<u8>,
    pub(crate) assignments: Vec<TaskAssignment>,
    pub(crate) escrows: Vec<Escrow>,
    pub(crate) trail: Vec<EscrowTransition>,
    pub(crate) book: OfferBook,
    pub(crate) bank: Bank,
    pub(crate) reputation: ReputationBook,
    pub(crate) prices: Vec<PriceWindow>,
    pub(crate) timers: Timers,
    pub(crate) events: Vec<MarketEvent>,
    pub(crate) arbitrators: Vec<PeerId>,
    pub(crate) account_holders: BTreeMap<AccountId, u32>,
    pub(crate) counters: MarketCounters,
    cursors: Vec<Cursor>,
    /// Per reputation bucket: `floor(b)^k` and the ceiling reputation (precomputed: k is fixed).
    bucket_floor_k: [f64; REP_BUCKETS],
    bucket_ceiling: [f64; REP_BUCKETS],
    auction_cursors: Vec<(AuctionKey, usize)>,
    picks: Vec<Pick>,
    changed: Vec<PeerId>,
}

/// `ask / f(rep)^k` with `f(rep) = clamp(rep / 100, 0.5, 2.0)`, as ordered bits.
#[inline]
pub(crate) fn weighted_ask_bits(ask: u64, reputation: f64, k: f64) -> u64 {
    if k == 0.0 {
        return (ask as f64).to_bits();
    }
    let f = (reputation / 100.0).clamp(0.5, 2.0);
    let factor = if k == 1.0 { f } else { f.powf(k) };
    (ask as f64 / factor).to_bits()
}

/// Deterministic uniform in [0, 1) from the market seed, a stream tag and an id.
#[inline]
pub(crate) fn unit_sample(seed: u64, stream: u64, id: u64) -> f64 {
    let h = mix64(seed ^ mix64(stream.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ mix64(id)));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Market {
    /// A market with `config` (checked), at time 0, with no peers and no task types.
    pub fn new(config: MarketConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let config_k = config.reputation_weight;
        let mut m = Market {
            reputation: ReputationBook::new(config.reputation.clone()),
            bank: Bank::new(config.retain_ledger),
            config,
            vocabulary: Vocabulary::new(),
            clock: 0,
            peers: Vec::new(),
            orders: Vec::new(),
            rank_keys: Vec::new(),
            rank_buckets: Vec::new(),
            assignments: Vec::new(),
            escrows: Vec::new(),
            trail: Vec::new(),
            book: OfferBook::default(),
            prices: Vec::new(),
            timers: Timers::default(),
            events: Vec::new(),
            arbitrators: Vec::new(),
            account_holders: BTreeMap::new(),
            counters: MarketCounters::default(),
            cursors: Vec::new(),
            bucket_floor_k: std::array::from_fn(|b| {
                if config_k == 0.0 { 1.0 } else { bucket_floor(b as u8).powf(config_k) }
            }),
            bucket_ceiling: std::array::from_fn(|b| bucket_ceiling_reputation(b as u8)),
            auction_cursors: Vec::new(),
            picks: Vec::new(),
            changed: Vec::new(),
        };
        if m.config.reputation.decay_half_life_ms > 0 {
            m.timers.push(m.config.reputation.decay_step_ms, TimerKind::Decay, 0);
        }
        Ok(m)
    }

    // ----- vocabulary and peers -------------------------------------------------------------

    /// Registers (or finds) a task type.
    pub fn register_task_type(&mut self, name: &str) -> Result<TaskTypeId, MarketError> {
        let id = self.vocabulary.task_type(name)?;
        self.book.ensure(id);
        while self.prices.len() < self.vocabulary.task_type_count() {
            self.prices.push(PriceWindow::new(self.config.price_window_ms));
        }
        Ok(id)
    }

    /// Interns a capability name.
    pub fn capability(&mut self, name: &str) -> Result<u8, MarketError> {
        self.vocabulary.capability(name)
    }

    /// Interns capability names into a set.
    pub fn capabilities<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> Result<CapabilitySet, MarketError> {
        self.vocabulary.capability_set(names)
    }

    /// The vocabulary.
    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    /// Registers a peer, endows it and returns its id.
    pub fn register_peer(&mut self, spec: PeerSpec, now: SimTime) -> Result<PeerId, MarketError> {
        self.advance_to(now)?;
        if let Some(r) = spec.initial_reputation
            && !r.is_finite()
        {
            return Err(MarketError::InvalidMinReputation(r));
        }
        if self.bank.supply().checked_add(spec.endowment).is_none() {
            return Err(MarketError::SupplyOverflow);
        }
        let id = PeerId(self.peers.len() as u32);
        let key = match spec.verifying_key {
            Some(k) => Some(k),
            None if self.config.verify_signatures => Some(signing::derive_verifying_key(self.config.market_seed, id)),
            None => None,
        };
        self.peers.push(PeerState {
            account: spec.account,
            usage_cap_units: spec.usage_cap_units,
            arbitrator: spec.arbitrator,
            banned: false,
            paused: false,
            key,
            open_orders: Vec::new(),
            usage: VecDeque::new(),
            usage_sum: 0,
        });
        if let Some(a) = spec.account {
            *self.account_holders.entry(a).or_insert(0) += 1;
        }
        if spec.arbitrator {
            self.arbitrators.push(id);
        }
        self.bank.add_wallet();
        self.reputation.add_peer(spec.initial_reputation);
        self.bank.transfer(
            EntryKind::Endowment,
            Account::Mint,
            Account::Available(id),
            spec.endowment,
            id.0 as u64,
            now,
        )?;
        Ok(id)
    }

    /// Adds tokens to a peer's available balance.
    pub fn endow(&mut self, peer: PeerId, amount: u64, now: SimTime) -> Result<(), MarketError> {
        self.advance_to(now)?;
        self.peer(peer)?;
        self.bank.transfer(EntryKind::Endowment, Account::Mint, Account::Available(peer), amount, peer.0 as u64, now)
    }

    /// Removes tokens from a peer's available balance (period resets).
    pub fn withdraw(&mut self, peer: PeerId, amount: u64, now: SimTime) -> Result<(), MarketError> {
        self.advance_to(now)?;
        self.peer(peer)?;
        self.bank.transfer(EntryKind::Withdrawal, Account::Available(peer), Account::Mint, amount, peer.0 as u64, now)
    }

    /// Pauses (cancelling the peer's open offers; new offers are refused) or resumes a peer.
    /// Assigned work continues.
    pub fn set_paused(&mut self, peer: PeerId, paused: bool, now: SimTime) -> Result<(), MarketError> {
        self.advance_to(now)?;
        self.peer(peer)?;
        self.peers[peer.index()].paused = paused;
        if paused {
            self.close_open_orders(peer, Some(OrderType::OfferCompute));
        }
        Ok(())
    }

    pub(crate) fn peer(&self, peer: PeerId) -> Result<&PeerState, MarketError> {
        self.peers.get(peer.index()).ok_or(MarketError::UnknownPeer(peer))
    }

    // ----- the clock --------------------------------------------------------------------------

    /// The market's clock.
    pub fn now(&self) -> SimTime {
        self.clock
    }

    /// Advances the clock to `now`, running every timer that falls due on the way.
    pub fn advance_to(&mut self, now: SimTime) -> Result<(), MarketError> {
        if now < self.clock {
            return Err(MarketError::TimeWentBackwards { now, clock: self.clock });
        }
        if now == self.clock && self.timers.peek().is_none_or(|t| t.0 > now) {
            return Ok(());
        }
        while let Some((t, kind, id)) = self.timers.pop_due(now) {
            self.clock = t;
            self.fire(kind, id, t);
        }
        self.clock = now;
        for w in &mut self.prices {
            w.evict(now);
        }
        Ok(())
    }

    pub(crate) fn schedule(&mut self, time: SimTime, kind: TimerKind, id: u64) {
        self.timers.push(time, kind, id);
    }

    fn fire(&mut self, kind: TimerKind, id: u64, t: SimTime) {
        match kind {
            TimerKind::OrderExpiry => {
                let oid = OrderId(id);
                if self.orders[oid.index()].status.is_open() {
                    self.close_order(oid, OrderStatus::Expired, CloseReason::Expired, t);
                }
            }
            TimerKind::AuctionClose => {
                let oid = OrderId(id);
                if self.orders[oid.index()].status.is_open() {
                    self.close_order(oid, OrderStatus::Expired, CloseReason::WindowEnded, t);
                }
            }
            TimerKind::Decay => {
                let mut changed = std::mem::take(&mut self.changed);
                changed.clear();
                self.reputation.decay_step(&mut changed);
                for &p in &changed {
                    self.rekey_offers(p);
                }
                self.changed = changed;
                let next = t + self.config.reputation.decay_step_ms;
                self.schedule(next, TimerKind::Decay, 0);
            }
            other => self.fire_lifecycle(other, id, t),
        }
    }

    // ----- placement --------------------------------------------------------------------------

    /// Places an order (§2) and matches it at once (§3). Returns the order id, or refuses with a
    /// typed error and changes nothing.
    #[allow(clippy::too_many_arguments)]
    pub fn place_order(
        &mut self,
        order_type: OrderType,
        trader: PeerId,
        price_per_unit: u64,
        total_units: u64,
        task_spec: ComputeTaskSpec,
        sla_spec: Option<SlaSpec>,
        expires_at: Option<SimTime>,
        signature: Option<SignatureBytes>,
        now: SimTime,
    ) -> Result<OrderId, MarketError> {
        self.advance_to(now)?;
        match self.validate_order(
            order_type,
            trader,
            price_per_unit,
            total_units,
            &task_spec,
            sla_spec.as_ref(),
            expires_at,
            signature.as_ref(),
        ) {
            Ok(()) => {}
            Err(e) => {
                self.counters.orders_rejected += 1;
                if matches!(e, MarketError::BadSignature(_)) {
                    self.counters.bad_signatures += 1;
                }
                self.events.push(MarketEvent::OrderRejected { time: now, trader, order_type, reason: e.code() });
                return Err(e);
            }
        }
        let id = OrderId(self.orders.len() as u64);
        let max_providers = match order_type {
            OrderType::RequestCompute => self.config.max_providers(total_units) as u32,
            OrderType::OfferCompute => 0,
        };
        self.orders.push(Order {
            id,
            order_type,
            trader,
            price_per_unit,
            total_units,
            filled_units: 0,
            spec: task_spec,
            sla: sla_spec,
            placed_at: now,
            expires_at,
            status: OrderStatus::Active,
            max_providers,
            providers_used: 0,
            first_fill_at: None,
        });
        self.rank_keys.push(0);
        self.rank_buckets.push(0);
        self.counters.orders_placed += 1;
        self.events.push(MarketEvent::OrderPlaced {
            time: now,
            order: id,
            order_type,
            trader,
            task_type: task_spec.task_type,
            price_per_unit,
            units: total_units,
        });
        if let Some(exp) = expires_at {
            self.schedule(exp, TimerKind::OrderExpiry, id.0);
        }
        match order_type {
            OrderType::RequestCompute => {
                // Validation proved the lock cannot fail.
                let amount = price_per_unit * total_units;
                self.bank.transfer(
                    EntryKind::Lock,
                    Account::Available(trader),
                    Account::Locked(trader),
                    amount,
                    id.0,
                    now,
                )?;
                self.match_request(id, now);
                let o = &self.orders[id.index()];
                if o.remaining() == 0 {
                    self.close_order(id, OrderStatus::Filled, CloseReason::Filled, now);
                } else if o.providers_used >= o.max_providers {
                    self.close_order(id, OrderStatus::Expired, CloseReason::SlotsUsed, now);
                } else {
                    let closes_at = now + self.config.auction_window_ms;
                    self.book
                        .get_mut(task_spec.task_type)
                        .insert_auction(task_spec.capabilities, (Reverse(price_per_unit), id));
                    self.peers[trader.index()].open_orders.push(id);
                    self.schedule(closes_at, TimerKind::AuctionClose, id.0);
                    self.events.push(MarketEvent::AuctionOpened { time: now, request: id, closes_at });
                }
            }
            OrderType::OfferCompute => {
                self.match_offer(id, now);
                let remaining = self.orders[id.index()].remaining();
                if remaining == 0 {
                    self.orders[id.index()].status = OrderStatus::Filled;
                } else {
                    let rep = self.reputation.score(trader);
                    let bits = weighted_ask_bits(price_per_unit, rep, self.config.reputation_weight);
                    let bucket = self.bucket_of(rep);
                    self.rank_keys[id.index()] = bits;
                    self.rank_buckets[id.index()] = bucket;
                    let tb = self.book.get_mut(task_spec.task_type);
                    let class = tb.class_of(task_spec.capabilities);
                    tb.classes[class].insert(bucket, OfferKey { weighted_bits: bits, id });
                    tb.resting_units += remaining;
                    tb.resting_offers += 1;
                    self.peers[trader.index()].open_orders.push(id);
                }
            }
        }
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    fn validate_order(
        &self,
        order_type: OrderType,
        trader: PeerId,
        price_per_unit: u64,
        total_units: u64,
        spec: &ComputeTaskSpec,
        sla: Option<&SlaSpec>,
        expires_at: Option<SimTime>,
        signature: Option<&SignatureBytes>,
    ) -> Result<(), MarketError> {
        if total_units == 0 {
            return Err(MarketError::ZeroUnits);
        }
        if price_per_unit == 0 {
            return Err(MarketError::ZeroPrice);
        }
        let Some(amount) = price_per_unit.checked_mul(total_units) else {
            return Err(MarketError::Overflow { price_per_unit, units: total_units });
        };
        if spec.task_type.index() >= self.vocabulary.task_type_count() {
            return Err(MarketError::UnknownTaskType(spec.task_type));
        }
        if !spec.min_reputation.is_finite() || spec.min_reputation < 0.0 {
            return Err(MarketError::InvalidMinReputation(spec.min_reputation));
        }
        if let Some(s) = sla
            && !(0.0..=1.0).contains(&s.uptime_requirement)
        {
            return Err(MarketError::InvalidFraction { what: "uptime_requirement", value: s.uptime_requirement });
        }
        if let Some(exp) = expires_at
            && exp <= self.clock
        {
            return Err(MarketError::WrongState {
                action: "place an order that has already expired",
                state: "expired",
            });
        }
        let peer = self.peer(trader)?;
        if peer.banned {
            return Err(MarketError::Banned(trader));
        }
        if self.config.verify_signatures {
            let msg = signing::order_message(order_type, trader, price_per_unit, total_units, spec, expires_at);
            let ok = match (peer.key.as_ref(), signature) {
                (Some(k), Some(sig)) => signing::verify(k, &msg, sig),
                _ => false,
            };
            if !ok {
                return Err(MarketError::BadSignature(trader));
            }
        }
        match order_type {
            OrderType::RequestCompute => {
                let available = self.bank.wallet(trader).available;
                if available < amount {
                    return Err(MarketError::InsufficientFunds { peer: trader, available, needed: amount });
                }
            }
            OrderType::OfferCompute => {
                if peer.paused {
                    return Err(MarketError::Paused(trader));
                }
                if peer.account.is_none() {
                    return Err(MarketError::NoAccount(trader));
                }
                if let Some(cap) = peer.usage_cap_units
                    && total_units > cap
                {
                    return Err(MarketError::ExceedsUsageCap { units: total_units, cap });
                }
            }
        }
        Ok(())
    }

    // ----- matching ---------------------------------------------------------------------------

    /// Units the provider may still be assigned in the cap window ending now.
    pub(crate) fn cap_room(&mut self, provider: PeerId, now: SimTime) -> u64 {
        let window = self.config.usage_cap_window_ms;
        let p = &mut self.peers[provider.index()];
        let Some(cap) = p.usage_cap_units else {
            return u64::MAX;
        };
        while let Some(&(t, u)) = p.usage.front() {
            if t + window > now {
                break;
            }
            p.usage.pop_front();
            p.usage_sum -= u;
        }
        cap.saturating_sub(p.usage_sum)
    }

    /// The reputation bucket an offer of a provider with reputation `rep` rests in (always 0
    /// when reputation does not weigh).
    #[inline]
    pub(crate) fn bucket_of(&self, rep: f64) -> u8 {
        if self.config.reputation_weight == 0.0 { 0 } else { rep_bucket((rep / 100.0).clamp(0.5, 2.0)) }
    }

    /// True when the provider (reputation `rep`, offer capabilities `caps`) may serve a request
    /// with these needs.
    #[inline]
    pub(crate) fn privacy_ok(&self, level: PrivacyLevel, rep: f64, caps: CapabilitySet) -> bool {
        match level {
            PrivacyLevel::Public => true,
            PrivacyLevel::Private => rep >= self.config.private_min_reputation,
            PrivacyLevel::Confidential => caps.contains(0) && rep >= self.config.confidential_min_reputation,
        }
    }

    fn trade_price(&self, bid: u64, ask: u64, offer_was_resting: bool) -> u64 {
        match self.config.pricing {
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
        }
    }

    /// An incoming request takes qualifying resting offers, best weighted ask first.
    fn match_request(&mut self, rid: OrderId, now: SimTime) {
        let r = &self.orders[rid.index()];
        let (tt, needs, min_rep, privacy, bid, requester) = (
            r.spec.task_type,
            r.spec.capabilities,
            r.spec.min_reputation,
            r.spec.privacy_level,
            r.price_per_unit,
            r.trader,
        );
        let mut remaining = r.remaining();
        let mut slots = (r.max_providers - r.providers_used) as u64;
        let k = self.config.reputation_weight;
        // The lowest reputation that can serve: buckets whose providers all fall below it are
        // skipped whole (buckets follow current reputation when it weighs, k > 0).
        let rep_floor = match privacy {
            PrivacyLevel::Public => min_rep,
            PrivacyLevel::Private => min_rep.max(self.config.private_min_reputation),
            PrivacyLevel::Confidential => min_rep.max(self.config.confidential_min_reputation),
        };
        let mut cursors = std::mem::take(&mut self.cursors);
        let mut picks = std::mem::take(&mut self.picks);
        cursors.clear();
        picks.clear();
        {
            let tb = self.book.get(tt);
            for (ci, class) in tb.classes.iter().enumerate() {
                if !needs.is_subset_of(class.capabilities) {
                    continue;
                }
                let mut bits = class.nonempty;
                while bits != 0 {
                    let b = bits.trailing_zeros() as u8;
                    bits &= bits - 1;
                    if k != 0.0 && self.bucket_ceiling[b as usize] < rep_floor {
                        continue;
                    }
                    if let Some(first) = class.buckets[b as usize].first() {
                        // In bucket b, ask >= weighted * floor(b)^k: stop once that exceeds the bid.
                        let limit = bid as f64 * (1.0 + 1e-9) / self.bucket_floor_k[b as usize];
                        cursors.push(Cursor { key: *first, class: ci as u32, bucket: b, limit });
                    }
                }
            }
        }
        while remaining > 0 && slots > 0 && !cursors.is_empty() {
            let mut best = 0;
            for i in 1..cursors.len() {
                if cursors[i].key < cursors[best].key {
                    best = i;
                }
            }
            let Cursor { key, class: ci, bucket, limit } = cursors[best];
            if key.weighted() > limit {
                cursors.swap_remove(best);
                continue;
            }
            let o = &self.orders[key.id.index()];
            let (ask, provider, caps, offer_left) = (o.price_per_unit, o.trader, o.spec.capabilities, o.remaining());
            let rep = self.reputation.score(provider);
            let qualifies = ask <= bid
                && provider != requester
                && rep >= min_rep
                && self.privacy_ok(privacy, rep, caps)
                && !self.peers[provider.index()].banned;
            if qualifies {
                let used: u64 = picks.iter().filter(|p| p.provider == provider).map(|p| p.units).sum();
                let room = self.cap_room(provider, now).saturating_sub(used);
                let units = remaining.min(offer_left).min(room);
                if units > 0 {
                    picks.push(Pick { offer: key.id, provider, units });
                    remaining -= units;
                    slots -= 1;
                }
            }
            match self.book.get(tt).next_in_class(ci as usize, bucket, Some(key)) {
                Some(next) => cursors[best].key = next,
                None => {
                    cursors.swap_remove(best);
                }
            }
        }
        for &p in &picks {
            self.execute_match(rid, p.offer, p.units, true, now);
            if self.orders[p.offer.index()].remaining() == 0 {
                self.remove_resting_offer(p.offer);
                self.orders[p.offer.index()].status = OrderStatus::Filled;
            }
        }
        self.cursors = cursors;
        self.picks = picks;
    }

    /// An incoming offer serves open auctions of its task type: highest bid, earliest, lowest id,
    /// merged over the need classes its capabilities cover.
    fn match_offer(&mut self, oid: OrderId, now: SimTime) {
        let o = &self.orders[oid.index()];
        let (tt, caps, ask, provider) = (o.spec.task_type, o.spec.capabilities, o.price_per_unit, o.trader);
        let rep = self.reputation.score(provider);
        let mut cursors = std::mem::take(&mut self.auction_cursors);
        cursors.clear();
        {
            let tb = self.book.get(tt);
            for (ci, class) in tb.auction_classes.iter().enumerate() {
                if class.needs.is_subset_of(caps)
                    && let Some(first) = class.auctions.first()
                {
                    cursors.push((*first, ci));
                }
            }
        }
        while !cursors.is_empty() {
            let remaining = self.orders[oid.index()].remaining();
            if remaining == 0 {
                break;
            }
            let mut best = 0;
            for i in 1..cursors.len() {
                if cursors[i].0 < cursors[best].0 {
                    best = i;
                }
            }
            let (key, ci) = cursors[best];
            let (Reverse(bid), rid) = key;
            if bid < ask {
                break; // the highest remaining bid of every class is below the ask
            }
            let r = &self.orders[rid.index()];
            let qualifies = r.trader != provider
                && rep >= r.spec.min_reputation
                && self.privacy_ok(r.spec.privacy_level, rep, caps)
                && r.providers_used < r.max_providers;
            if qualifies {
                let request_left = r.remaining();
                let room = self.cap_room(provider, now);
                if room == 0 {
                    break;
                }
                let units = remaining.min(request_left).min(room);
                self.execute_match(rid, oid, units, false, now);
                let r = &self.orders[rid.index()];
                if r.remaining() == 0 {
                    self.close_order(rid, OrderStatus::Filled, CloseReason::Filled, now);
                } else if r.providers_used >= r.max_providers {
                    self.close_order(rid, OrderStatus::Expired, CloseReason::SlotsUsed, now);
                }
            }
            match self.book.get(tt).next_auction_in(ci, Some(key)) {
                Some(next) => cursors[best].0 = next,
                None => {
                    cursors.swap_remove(best);
                }
            }
        }
        self.auction_cursors = cursors;
    }

    /// Creates the assignment and its funded escrow, moves the tokens and updates both orders.
    fn execute_match(&mut self, rid: OrderId, oid: OrderId, units: u64, offer_was_resting: bool, now: SimTime) {
        let (r, o) = (&self.orders[rid.index()], &self.orders[oid.index()]);
        let bid = r.price_per_unit;
        let ask = o.price_per_unit;
        let price = self.trade_price(bid, ask, offer_was_resting);
        let requester = r.trader;
        let provider = o.trader;
        let tt = r.spec.task_type;
        let sla = r.sla;
        let privacy = r.spec.privacy_level;
        let max_response_ms = sla.map(|s| s.max_response_time_ms).unwrap_or(self.config.default_max_response_ms);
        let max_duration_ms = match sla {
            Some(s) if s.max_duration_ms > 0 => s.max_duration_ms,
            _ if r.spec.max_duration_ms > 0 => r.spec.max_duration_ms,
            _ => self.config.default_max_duration_ms,
        };
        let aid = AssignmentId(self.assignments.len() as u64);
        let eid = EscrowId(aid.0);
        let amount = price * units;
        self.bank.add_escrow();
        // The request's lock covers bid × units ≥ price × units: these cannot fail.
        let _ = self.bank.transfer(
            EntryKind::EscrowFund,
            Account::Locked(requester),
            Account::Escrow(eid),
            amount,
            eid.0,
            now,
        );
        let _ = self.bank.transfer(
            EntryKind::Unlock,
            Account::Locked(requester),
            Account::Available(requester),
            (bid - price) * units,
            rid.0,
            now,
        );
        self.assignments.push(TaskAssignment {
            id: aid,
            request: rid,
            offer: oid,
            requester,
            provider,
            task_type: tt,
            units,
            price_per_unit: price,
            bid,
            ask,
            privacy,
            provider_reputation: self.reputation.score(provider),
            sla,
            max_response_ms,
            max_duration_ms,
            assigned_at: now,
            started_at: None,
            finished_at: None,
            status: TaskStatus::Assigned,
            failure: None,
            violations: Violations::default(),
            penalty: 0,
            quality: QualityValues::EMPTY,
            uptime: 1.0,
            receipt_account: None,
            audited: false,
            feedback: [None, None],
        });
        let arbitrators = match self.config.escrow {
            crate::config::MultiSigType::Arbitrators { total, .. } => {
                self.draw_panel(eid, requester, provider, total as usize, 0xA5B1)
            }
            _ => Vec::new(),
        };
        self.escrows.push(Escrow {
            id: eid,
            assignment: aid,
            requester,
            provider,
            amount,
            multisig: self.config.escrow,
            state: EscrowState::Created,
            funded_at: now,
            completed_at: None,
            settled_at: None,
            requester_approved: false,
            provider_approved: false,
            arbitrators,
            arbitrator_approvals: Vec::new(),
            dispute: None,
            paid_provider: 0,
            paid_requester: 0,
            fee: 0,
        });
        self.trail.push(EscrowTransition {
            escrow: eid,
            time: now,
            from: EscrowState::Created,
            to: EscrowState::Created,
            actor: None,
        });
        self.transition(eid, EscrowState::Funded, None, now);
        for (id, is_request) in [(rid, true), (oid, false)] {
            let order = &mut self.orders[id.index()];
            order.filled_units += units;
            if order.first_fill_at.is_none() {
                order.first_fill_at = Some(now);
            }
            if order.filled_units < order.total_units && order.status == OrderStatus::Active {
                order.status = OrderStatus::PartiallyFilled;
            }
            if is_request {
                order.providers_used += 1;
            }
        }
        if offer_was_resting {
            self.book.get_mut(tt).resting_units -= units;
        }
        let p = &mut self.peers[provider.index()];
        if p.usage_cap_units.is_some() {
            p.usage.push_back((now, units));
            p.usage_sum += units;
        }
        self.prices[tt.index()].record(now, price, units);
        self.counters.matches += 1;
        self.schedule(now + max_response_ms + self.config.deadline_grace_ms, TimerKind::StartDeadline, aid.0);
        self.schedule(now + self.config.escrow_timeout_ms, TimerKind::EscrowTimeout, eid.0);
        self.events.push(MarketEvent::Matched {
            time: now,
            assignment: aid,
            request: rid,
            offer: oid,
            requester,
            provider,
            task_type: tt,
            units,
            price_per_unit: price,
            offer_was_resting,
        });
    }

    /// Removes a resting offer from its class book (not from its owner's open list).
    fn remove_resting_offer(&mut self, oid: OrderId) {
        let o = &self.orders[oid.index()];
        let (tt, caps, remaining, trader) = (o.spec.task_type, o.spec.capabilities, o.remaining(), o.trader);
        let key = OfferKey { weighted_bits: self.rank_keys[oid.index()], id: oid };
        let bucket = self.rank_buckets[oid.index()];
        let tb = self.book.get_mut(tt);
        let class = tb.class_of(caps);
        if tb.classes[class].remove(bucket, &key) {
            tb.resting_units -= remaining;
            tb.resting_offers -= 1;
        }
        let open = &mut self.peers[trader.index()].open_orders;
        if let Some(pos) = open.iter().position(|&x| x == oid) {
            open.swap_remove(pos);
        }
    }

    /// Re-sorts a provider's resting offers after its reputation changed.
    pub(crate) fn rekey_offers(&mut self, peer: PeerId) {
        let k = self.config.reputation_weight;
        if k == 0.0 {
            return;
        }
        let rep = self.reputation.score(peer);
        for i in 0..self.peers[peer.index()].open_orders.len() {
            let oid = self.peers[peer.index()].open_orders[i];
            let o = &self.orders[oid.index()];
            if o.order_type != OrderType::OfferCompute {
                continue;
            }
            let (tt, caps, ask) = (o.spec.task_type, o.spec.capabilities, o.price_per_unit);
            let old = OfferKey { weighted_bits: self.rank_keys[oid.index()], id: oid };
            let old_bucket = self.rank_buckets[oid.index()];
            let new_bits = weighted_ask_bits(ask, rep, k);
            let new_bucket = self.bucket_of(rep);
            if new_bits == old.weighted_bits && new_bucket == old_bucket {
                continue;
            }
            let tb = self.book.get_mut(tt);
            let class = tb.class_of(caps);
            tb.classes[class].remove(old_bucket, &old);
            tb.classes[class].insert(new_bucket, OfferKey { weighted_bits: new_bits, id: oid });
            self.rank_keys[oid.index()] = new_bits;
            self.rank_buckets[oid.index()] = new_bucket;
        }
    }

    /// Closes an open order: withdraws its remainder from the book or auction list, unlocks a
    /// request's unspent tokens, sets the final status and reports it.
    pub(crate) fn close_order(&mut self, id: OrderId, status: OrderStatus, reason: CloseReason, now: SimTime) {
        let o = &self.orders[id.index()];
        let (order_type, trader, remaining, bid, tt, filled, needs) = (
            o.order_type,
            o.trader,
            o.remaining(),
            o.price_per_unit,
            o.spec.task_type,
            o.filled_units,
            o.spec.capabilities,
        );
        match order_type {
            OrderType::RequestCompute => {
                self.book.get_mut(tt).remove_auction(needs, (Reverse(bid), id));
                let open = &mut self.peers[trader.index()].open_orders;
                if let Some(pos) = open.iter().position(|&x| x == id) {
                    open.swap_remove(pos);
                }
                let _ = self.bank.transfer(
                    EntryKind::Unlock,
                    Account::Locked(trader),
                    Account::Available(trader),
                    remaining * bid,
                    id.0,
                    now,
                );
                self.events.push(MarketEvent::AuctionClosed { time: now, request: id, reason, filled_units: filled });
            }
            OrderType::OfferCompute => self.remove_resting_offer(id),
        }
        self.orders[id.index()].status = status;
        if remaining > 0 {
            match status {
                OrderStatus::Cancelled => {
                    self.events.push(MarketEvent::OrderCancelled { time: now, order: id, unfilled_units: remaining })
                }
                OrderStatus::Expired => {
                    self.events.push(MarketEvent::OrderExpired { time: now, order: id, unfilled_units: remaining })
                }
                _ => {}
            }
        }
    }

    /// Cancels the unfilled remainder of an order. Only its owner may; assigned work continues.
    pub fn cancel_order(&mut self, id: OrderId, trader: PeerId, now: SimTime) -> Result<(), MarketError> {
        self.advance_to(now)?;
        let o = self.orders.get(id.index()).ok_or(MarketError::UnknownOrder(id))?;
        if o.trader != trader {
            return Err(self
                .refuse(trader, MarketError::NotAuthorized { caller: trader, action: "cancel another peer's order" }));
        }
        if !o.status.is_open() {
            return Err(MarketError::WrongState { action: "cancel", state: o.status.name() });
        }
        self.close_order(id, OrderStatus::Cancelled, CloseReason::Cancelled, now);
        Ok(())
    }

    pub(crate) fn close_open_orders(&mut self, peer: PeerId, only: Option<OrderType>) {
        let now = self.clock;
        let mut i = 0;
        while i < self.peers[peer.index()].open_orders.len() {
            let oid = self.peers[peer.index()].open_orders[i];
            if only.is_none_or(|t| self.orders[oid.index()].order_type == t) {
                self.close_order(oid, OrderStatus::Cancelled, CloseReason::Cancelled, now);
            } else {
                i += 1;
            }
        }
    }

    /// Counts and reports a refused call, and hands the error back.
    pub(crate) fn refuse(&mut self, caller: PeerId, e: MarketError) -> MarketError {
        self.counters.calls_refused += 1;
        if matches!(e, MarketError::BadSignature(_)) {
            self.counters.bad_signatures += 1;
        }
        self.events.push(MarketEvent::CallRefused { time: self.clock, caller, reason: e.code() });
        e
    }

    /// Draws `n` arbitrators (not the parties, not banned) by rendezvous hashing on the escrow id.
    pub(crate) fn draw_panel(&self, eid: EscrowId, a: PeerId, b: PeerId, n: usize, stream: u64) -> Vec<PeerId> {
        let mut scored: Vec<(u64, PeerId)> = self
            .arbitrators
            .iter()
            .filter(|&&p| p != a && p != b && !self.peers[p.index()].banned)
            .map(|&p| (mix64(self.config.market_seed ^ mix64(stream ^ mix64(eid.0 ^ ((p.0 as u64) << 40)))), p))
            .collect();
        scored.sort_unstable();
        scored.into_iter().take(n).map(|(_, p)| p).collect()
    }

    // ----- queries ----------------------------------------------------------------------------

    /// When the next timer (expiry, auction close, deadline, escrow timer) falls due, if any.
    /// A driver that advances the clock to it sees every consequence at its exact time.
    pub fn next_timer_time(&self) -> Option<SimTime> {
        self.timers.peek().map(|t| t.0)
    }

    /// A peer's open orders (requests with open auctions and resting offers).
    pub fn open_orders(&self, peer: PeerId) -> &[OrderId] {
        self.peers.get(peer.index()).map_or(&[], |p| &p.open_orders)
    }

    /// The configuration.
    pub fn config(&self) -> &MarketConfig {
        &self.config
    }

    /// An order.
    pub fn order(&self, id: OrderId) -> Option<&Order> {
        self.orders.get(id.index())
    }

    /// Every order ever placed, by id.
    pub fn orders(&self) -> &[Order] {
        &self.orders
    }

    /// Every assignment, by id.
    pub fn get_assignments(&self) -> &[TaskAssignment] {
        &self.assignments
    }

    /// One assignment.
    pub fn assignment(&self, id: AssignmentId) -> Option<&TaskAssignment> {
        self.assignments.get(id.index())
    }

    /// Every escrow, by id.
    pub fn escrows(&self) -> &[Escrow] {
        &self.escrows
    }

    /// One escrow.
    pub fn escrow(&self, id: EscrowId) -> Option<&Escrow> {
        self.escrows.get(id.index())
    }

    /// The audit trail of one escrow.
    pub fn escrow_trail(&self, id: EscrowId) -> impl Iterator<Item = &EscrowTransition> {
        self.trail.iter().filter(move |t| t.escrow == id)
    }

    /// The whole escrow audit trail, in order.
    pub fn escrow_transitions(&self) -> &[EscrowTransition] {
        &self.trail
    }

    /// A peer's wallet.
    pub fn wallet(&self, peer: PeerId) -> Wallet {
        self.bank.wallet(peer)
    }

    /// A peer's state.
    pub fn peer_state(&self, peer: PeerId) -> Option<&PeerState> {
        self.peers.get(peer.index())
    }

    /// Number of peers.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// A peer's reputation score.
    pub fn reputation(&self, peer: PeerId) -> f64 {
        self.reputation.score(peer)
    }

    /// A peer's reputation record.
    pub fn reputation_record(&self, peer: PeerId) -> Option<&ReputationRecord> {
        self.reputation.record(peer)
    }

    /// Price discovery for a task type over the window ending `now` (§11).
    pub fn get_price_discovery(
        &mut self,
        task_type: TaskTypeId,
        now: SimTime,
    ) -> Result<Option<PriceStats>, MarketError> {
        self.advance_to(now)?;
        let w = self.prices.get(task_type.index()).ok_or(MarketError::UnknownTaskType(task_type))?;
        Ok(w.stats())
    }

    /// Price discovery as of the market's clock, without advancing it.
    pub fn price_stats(&self, task_type: TaskTypeId) -> Option<PriceStats> {
        self.prices.get(task_type.index()).and_then(PriceWindow::stats)
    }

    /// Treasury balance.
    pub fn treasury(&self) -> u64 {
        self.bank.treasury()
    }

    /// The bank (wallets, escrows, ledger).
    pub fn bank(&self) -> &Bank {
        &self.bank
    }

    /// The ledger's hash-chain digest (32 hex digits).
    pub fn ledger_digest(&self) -> String {
        self.bank.digest()
    }

    /// Running counters.
    pub fn counters(&self) -> MarketCounters {
        self.counters
    }

    /// Takes the events recorded since the last drain.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, MarketEvent> {
        self.events.drain(..)
    }

    /// Events recorded since the last drain.
    pub fn pending_events(&self) -> &[MarketEvent] {
        &self.events
    }

    /// Offer units resting in a task type's book.
    pub fn resting_units(&self, task_type: TaskTypeId) -> u64 {
        self.book.types.get(task_type.index()).map_or(0, |t| t.resting_units)
    }

    /// Resting offers in a task type's book.
    pub fn resting_offers(&self, task_type: TaskTypeId) -> u64 {
        self.book.types.get(task_type.index()).map_or(0, |t| t.resting_offers)
    }

    /// Lowest resting ask of a task type. Walks the class books (a metrics query, not the hot path).
    pub fn best_ask(&self, task_type: TaskTypeId) -> Option<u64> {
        let tb = self.book.types.get(task_type.index())?;
        let mut best: Option<u64> = None;
        for class in &tb.classes {
            for (b, set) in class.buckets.iter().enumerate() {
                // In bucket b, ask >= weighted * floor(b)^k: once that exceeds the best, stop.
                let floor = self.bucket_floor_k[b];
                for key in set {
                    if let Some(best) = best
                        && key.weighted() * floor > best as f64 * (1.0 + 1e-9)
                    {
                        break;
                    }
                    let ask = self.orders[key.id.index()].price_per_unit;
                    best = Some(best.map_or(ask, |x| x.min(ask)));
                }
            }
        }
        best
    }

    /// Highest open bid of a task type.
    pub fn best_bid(&self, task_type: TaskTypeId) -> Option<u64> {
        self.book.types.get(task_type.index())?.best_bid()
    }

    /// Number of open auctions of a task type.
    pub fn open_auctions(&self, task_type: TaskTypeId) -> usize {
        self.book.types.get(task_type.index()).map_or(0, |t| t.open_auctions)
    }
}
