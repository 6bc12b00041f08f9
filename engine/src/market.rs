//! The market: peers, orders, matching, and the clock that drives deadlines.
//!
//! [`Market`] is synchronous and in memory. Every call takes the caller's simulated time `now`;
//! the market first advances its clock to `now` (running expiries, auction closes, deadlines and
//! escrow timers that fall due, in `(time, timer class, id)` order), then performs the call. A
//! refused call returns a [`MarketError`] and changes nothing (time passing is not a change made by
//! the call). What happened is reported as [`MarketEvent`]s that the caller drains.
//!
//! Placement and the clock are in this file; matching in `matching.rs`; queries in `queries.rs`;
//! the task lifecycle, escrow, disputes, compliance and feedback in `lifecycle.rs`; the invariant
//! checker in `invariants.rs`.
//!
//! **Placement checks**, in order (the first failure is the error): units, price, `price × units`
//! overflow, task type, `min_reputation`, the task spec's `max_duration_ms` and the SLA
//! ([`crate::SlaSpec::validate`]: uptime in [0, 1], durations at most [`MAX_DURATION_MS`]), expiry not in
//! the past, trader known and not banned, then (with `verify_signatures`) the signature and its
//! sequence number ([`crate::signing`]), then the side's own checks (funds for a request; pause,
//! account and usage cap for an offer).
//!
//! **Time** is never wrapped: every deadline is `now + delay` computed with saturating arithmetic.
//!
//! **Timers** fall due in `(time, class, id)` order, classes in this order: order expiry (order
//! id), auction close (request id, at `placed_at + auction_window_ms`), start deadline and finish
//! deadline (assignment id), review end, time lock, escrow timeout, dispute timeout (escrow id),
//! then reputation decay (see [`crate::reputation`]). A timer whose condition no longer holds when
//! it falls due does nothing.
//!
//! **Events** are appended in the order things happen, with these conventions:
//! - a placement: `OrderPlaced`, then per match `EscrowChanged(Created → Funded)` and `Assigned`
//!   (a request's picks in priority order; an offer's auctions by highest bid, then earliest),
//!   with `AuctionClosed` for each request that closes (filled or out of slots, the latter
//!   followed by `OrderExpired`); a request left open ends with `AuctionOpened`. A refused
//!   placement appends only `OrderRejected`.
//! - closing a request appends `AuctionClosed` then, if units were left, `OrderCancelled` or
//!   `OrderExpired`; closing an offer appends only the latter. A filled offer appends nothing.
//! - a ban or a pause closes the peer's open orders in placement order, then (ban) `PeerBanned`.
//! - a call refused because of who called (wrong peer, bad or replayed signature) appends
//!   `CallRefused`; a call refused for its arguments or the state appends nothing.
//! - reputation changes append `ReputationChanged` right after the event that caused them.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use ed25519_dalek::VerifyingKey;

use crate::bank::{Account, Bank, EntryKind};
use crate::book::{
    AuctionKey, OfferBook, OfferKey, REP_BUCKETS, bucket_ceiling_linear, bucket_ceiling_reputation, bucket_floor,
};
use crate::capability::{CapabilitySet, Vocabulary};
use crate::config::{Institution, MAX_DURATION_MS, MarketConfig};
use crate::error::{ConfigError, MarketError};
use crate::escrow::{Escrow, EscrowTransition, TaskAssignment};
use crate::events::{CloseReason, MarketEvent};
use crate::ids::{AccountId, EscrowId, OrderId, PeerId, SimTime, TaskTypeId};
use crate::open_list::OpenLists;
use crate::order::{NewOrder, Order, OrderStatus, Side};
use crate::price::{PriceWindow, PriceWindows};
use crate::reputation::ReputationBook;
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
    /// The last signature sequence number accepted from this peer.
    pub(crate) last_seq: Option<u64>,
    pub(crate) usage: VecDeque<(SimTime, u64)>,
    pub(crate) usage_sum: u64,
    /// Its usage cap has no room left: its resting offers are out of the class books until
    /// the window frees room (`matching.rs`, "Cap-exhausted providers").
    pub(crate) cap_parked: bool,
    /// Its resting offers.
    pub(crate) resting: u64,
    /// Offers of it that walks met without room since it was last parked or returned.
    pub(crate) wasted: u64,
    /// Its resting offers rest in lanes (it has many, `matching.rs`, "Lanes"), not one by one.
    pub(crate) laned: bool,
    /// The lane `(task type, capabilities, lane)` its last offer joined: a provider that keeps
    /// offering the same class finds it without a search.
    pub(crate) last_lane: Option<(TaskTypeId, CapabilitySet, u32)>,
}

pub(crate) use crate::timers::TimerKind;
use crate::timers::Timers;

/// One reputation bucket of one class book in a request's walk (its position is in the heap).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cursor {
    /// Stop once the weighted ask exceeds this (no later offer of the bucket can trade).
    pub(crate) limit: f64,
    /// The rest of the bucket's stream: the place after the key the merge holds for it.
    pub(crate) rest: crate::forest::Pos,
}

/// One reputation bucket's stream of heads from the heads index in a request's walk (book.rs,
/// "Heads"; its key in the merge is `next`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct HeadStream {
    /// The place after `next` in the bucket's heads index.
    pub(crate) at: crate::forest::Pos,
    /// The head the merge holds for this stream: its key and class.
    pub(crate) next: crate::book::HeadKey,
    /// The bucket's limit (as [`Cursor::limit`]).
    pub(crate) limit: f64,
    /// The bucket.
    pub(crate) bucket: u8,
}

/// How a request's walk prices and limits its picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Walk {
    /// On arrival (first-accept, continuous double auction): offers up to the bid, priced by the
    /// institution's rule for a resting offer.
    Immediate,
    /// The end of a sealed-bid window: offers up to the bid, first or second price.
    Award,
    /// A call: offers up to the call's price, all at that price.
    Uniform(u64),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Pick {
    pub(crate) offer: OrderId,
    pub(crate) provider: PeerId,
    pub(crate) units: u64,
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
    /// Refusals of a replayed signed message (a valid signature whose sequence number was used).
    pub replayed_signatures: u64,
    /// Assignments made.
    pub matches: u64,
    /// Calls (clearings) run by the call market; calls fall only while a request is open.
    pub calls: u64,
}

/// The market engine.
#[derive(Clone, Debug)]
pub struct Market {
    pub(crate) config: MarketConfig,
    pub(crate) vocabulary: Vocabulary,
    pub(crate) clock: SimTime,
    pub(crate) peers: Vec<PeerState>,
    pub(crate) orders: Vec<Order>,
    /// Offers resting directly in a class book (providers with few offers): the bits of the
    /// weighted ask their key holds.
    pub(crate) rank_keys: Vec<u64>,
    /// Offers resting directly in a class book: the reputation bucket they rest in.
    pub(crate) rank_buckets: Vec<u8>,
    /// Offers resting in a lane: their lane (`book.rs`, "Lanes").
    pub(crate) lane_of: Vec<u32>,
    /// Lane thresholds ([`crate::matching::LANES_FROM`], [`crate::matching::LANES_UNTIL`]).
    pub(crate) lanes_from: u64,
    pub(crate) lanes_until: u64,
    pub(crate) assignments: Vec<TaskAssignment>,
    pub(crate) escrows: Vec<Escrow>,
    pub(crate) trail: Vec<EscrowTransition>,
    pub(crate) book: OfferBook,
    /// Each peer's open orders, in opening order.
    pub(crate) open: OpenLists,
    pub(crate) bank: Bank,
    pub(crate) reputation: ReputationBook,
    pub(crate) prices: PriceWindows,
    pub(crate) timers: Timers,
    pub(crate) events: Vec<MarketEvent>,
    pub(crate) arbitrators: Vec<PeerId>,
    pub(crate) account_holders: BTreeMap<AccountId, u32>,
    pub(crate) counters: MarketCounters,
    pub(crate) cursors: Vec<Cursor>,
    /// The request walk's heap of (key, cursor index or `HEADS`-tagged head stream), kept to
    /// reuse its allocation.
    pub(crate) cursor_heap: BinaryHeap<Reverse<(OfferKey, u32)>>,
    /// The request walk's head streams, kept to reuse the allocation.
    pub(crate) head_streams: Vec<HeadStream>,
    /// The request walk's eligible (class, buckets), kept to reuse the allocation.
    pub(crate) eligible: Vec<(u32, u32)>,
    /// Request walks that fell back from their heads streams to opening the eligible buckets
    /// directly (`matching.rs`, `HeadWalk::take`): tests only, since it depends on the book's
    /// layout, which no result may.
    #[cfg(test)]
    pub(crate) head_fallbacks: u64,
    /// Classes the request walks' pass counting eligible buckets visited (`HeadWalk::start`):
    /// tests only, for the same reason.
    #[cfg(test)]
    pub(crate) walk_classes_passed: u64,
    /// Request walks that read a need-set entry without filed heads: tests only, likewise.
    #[cfg(test)]
    pub(crate) unfiled_walks: u64,
    /// Those of them that streamed heads (more than 8 of the entry's buckets serve): likewise.
    #[cfg(test)]
    pub(crate) unfiled_streamed: u64,
    /// Per reputation bucket: `floor(b)^k` and the ceiling reputation (precomputed: k is fixed).
    pub(crate) bucket_floor_k: [f64; REP_BUCKETS],
    pub(crate) bucket_ceiling: [f64; REP_BUCKETS],
    pub(crate) auction_cursors: Vec<(AuctionKey, u32, u8)>,
    pub(crate) picks: Vec<Pick>,
    pub(crate) changed: Vec<PeerId>,
    /// Cap-exhausted (parked) providers by the time their window frees room, earliest first.
    pub(crate) cap_unpark: BinaryHeap<Reverse<(SimTime, PeerId)>>,
    /// Providers a request's walk found to be worth parking.
    pub(crate) to_park: Vec<PeerId>,
    /// Call market: the task types with an open request (the books a call may clear).
    pub(crate) call_books: std::collections::BTreeSet<TaskTypeId>,
    /// Call market: a call timer is pending. Calls are scheduled only while some request is
    /// open (a call without one clears nothing), so an idle market costs no timers.
    pub(crate) call_armed: bool,
    /// Order ids gathered by a book clearing or a call, kept to reuse the allocation.
    pub(crate) scratch_ids: Vec<OrderId>,
    /// A call's crossing bids and asks, `(price, units)`, kept to reuse the allocation.
    pub(crate) call_bids: Vec<(u64, u64)>,
    pub(crate) call_asks: Vec<(u64, u64)>,
    pub(crate) scratch_types: Vec<TaskTypeId>,
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

pub(crate) use crate::seed::{panel_index, rendezvous, splitmix64 as mix64, unit_sample};

impl Market {
    /// A market with `config` (checked), at time 0, with no peers and no task types.
    pub fn new(config: MarketConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let config_k = config.reputation_weight;
        let indexed = config.institution != Institution::FirstAccept;
        let (rep_lo, rep_hi) = (config.reputation.min, config.reputation.max);
        let bucket_ceiling: [f64; REP_BUCKETS] = std::array::from_fn(|b| {
            if config_k == 0.0 {
                bucket_ceiling_linear(b as u8, rep_lo, rep_hi)
            } else {
                bucket_ceiling_reputation(b as u8)
            }
        });
        // Walks find the buckets that can serve a floor by bisection (matching.rs).
        debug_assert!(bucket_ceiling.is_sorted(), "bucket ceilings must rise with the bucket");
        let bucket_floor_k: [f64; REP_BUCKETS] =
            std::array::from_fn(|b| if config_k == 0.0 { 1.0 } else { bucket_floor(b as u8).powf(config_k) });
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
            lane_of: Vec::new(),
            lanes_from: crate::matching::LANES_FROM,
            lanes_until: crate::matching::LANES_UNTIL,
            assignments: Vec::new(),
            escrows: Vec::new(),
            trail: Vec::new(),
            book: OfferBook {
                types: Vec::new(),
                indexed,
                heads_from: crate::book::HEADS_FROM,
                heads_until: crate::book::HEADS_UNTIL,
                ..OfferBook::default()
            },
            open: OpenLists::default(),
            prices: PriceWindows::default(),
            timers: Timers::default(),
            events: Vec::new(),
            arbitrators: Vec::new(),
            account_holders: BTreeMap::new(),
            counters: MarketCounters::default(),
            cursors: Vec::new(),
            cursor_heap: BinaryHeap::new(),
            head_streams: Vec::new(),
            eligible: Vec::new(),
            #[cfg(test)]
            head_fallbacks: 0,
            #[cfg(test)]
            walk_classes_passed: 0,
            #[cfg(test)]
            unfiled_walks: 0,
            #[cfg(test)]
            unfiled_streamed: 0,
            bucket_floor_k,
            bucket_ceiling,
            auction_cursors: Vec::new(),
            picks: Vec::new(),
            changed: Vec::new(),
            cap_unpark: BinaryHeap::new(),
            to_park: Vec::new(),
            call_books: std::collections::BTreeSet::new(),
            call_armed: false,
            scratch_ids: Vec::new(),
            call_bids: Vec::new(),
            call_asks: Vec::new(),
            scratch_types: Vec::new(),
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
            return Err(MarketError::InvalidReputation(r));
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
            last_seq: None,
            usage: VecDeque::new(),
            usage_sum: 0,
            cap_parked: false,
            resting: 0,
            wasted: 0,
            laned: false,
            last_lane: None,
        });
        if let Some(a) = spec.account {
            *self.account_holders.entry(a).or_insert(0) += 1;
        }
        if spec.arbitrator {
            self.arbitrators.push(id);
        }
        self.open.add_peer();
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
            self.close_open_orders(peer, Some(Side::Sell));
        }
        Ok(())
    }

    pub(crate) fn peer(&self, peer: PeerId) -> Result<&PeerState, MarketError> {
        self.peers.get(peer.index()).ok_or(MarketError::UnknownPeer(peer))
    }

    // ----- the clock --------------------------------------------------------------------------

    /// Sets when providers keep their offers in lanes (`book.rs`, "Lanes"): from more than
    /// `from` resting offers, back to one key per offer below `until` (clamped to `from`); by
    /// default [`crate::matching::LANES_FROM`] and [`crate::matching::LANES_UNTIL`] (256 and 64). Book layout only: no result depends on it, which the tests check by
    /// running the same streams under several thresholds. Takes effect at each provider's next
    /// placement or removal.
    #[doc(hidden)]
    pub fn set_lane_thresholds(&mut self, from: u64, until: u64) {
        self.lanes_from = from;
        self.lanes_until = until.min(from);
    }

    /// Sets when a task type's book keeps its heads index (`book.rs`, "Heads"): from `from`
    /// live capability classes on, until only `until` (clamped below `from`, except at 0) are
    /// left; by default
    /// [`crate::book::HEADS_FROM`] and [`crate::book::HEADS_UNTIL`] (8 and 2). Applies now to
    /// every book. Book layout only: no result depends on it, which the tests check by running
    /// the same streams with the index always on and always off.
    #[doc(hidden)]
    pub fn set_heads_thresholds(&mut self, from: usize, until: usize) {
        self.book.set_heads_thresholds(from, until.min(from.saturating_sub(1)));
    }

    /// Bytes of the order books' tree nodes: `(in use, held)`, where *held* adds the nodes
    /// freed by removals, which the books keep to reuse (`forest.rs`). The books' other state
    /// (class lists, lanes, handles) is not counted.
    pub fn book_node_bytes(&self) -> (usize, usize) {
        self.book.node_bytes()
    }

    /// Makes room in the history for `orders` more orders and `matches` more matches (their
    /// assignments and escrows, the escrow trail and, with `retain_ledger`, the ledger entries),
    /// in the books for `orders` more open orders, in the timer queue for their timers, and in
    /// the price windows for `matches` more trades (split evenly across the task types
    /// registered so far), so that a run of known size allocates nothing while it runs: the
    /// books reuse their nodes (`book.rs`, `forest.rs`) and the rest of the hot state keeps a
    /// steady size (BENCHMARKS.md, "Allocations"). Two things it does not cover: the event
    /// queue, which the caller must drain ([`Market::drain_events`]) as it goes, and the first
    /// nodes of classes, lanes and task types created after the call (with the capability
    /// entries, 8 KB, of a task type whose heads index first goes on after it, and a need set's
    /// entry that goes on after it: `book.rs`, "Heads per capability" and "Heads per need set").
    ///
    /// A capacity hint only, never a limit: beyond it the history grows by doubling, as without
    /// it, and a hint the allocator cannot meet (`usize::MAX`, or more than memory) is dropped
    /// rather than a panic or an abort. It costs about 600 bytes per order and 850 per match
    /// (1.1 KB with `retain_ledger`), measured on an empty market: reserve what the run will
    /// use, as the allocation test does with one match per command for its 0.54.
    pub fn reserve(&mut self, orders: usize, matches: usize) {
        // Exact and fallible: a hint the allocator cannot meet is dropped, not a panic or an
        // abort, and nothing is doubled beyond what was asked.
        let _ = self.orders.try_reserve_exact(orders);
        let _ = self.rank_keys.try_reserve_exact(orders);
        let _ = self.rank_buckets.try_reserve_exact(orders);
        let _ = self.lane_of.try_reserve_exact(orders);
        self.open.reserve_orders(orders);
        self.book.reserve(orders);
        let _ = self.assignments.try_reserve_exact(matches);
        let _ = self.escrows.try_reserve_exact(matches);
        // One transition when the escrow opens, up to three to its end (lifecycle.rs).
        let _ = self.trail.try_reserve_exact(matches.saturating_mul(4));
        // A lock and an unlock per request, up to four transfers per match.
        self.bank.reserve(matches, orders.saturating_mul(2).saturating_add(matches.saturating_mul(4)));
        self.timers.reserve(orders, matches);
        self.prices.reserve(matches);
    }

    /// The market's clock.
    pub fn now(&self) -> SimTime {
        self.clock
    }

    /// Advances the clock to `now`, running every timer that falls due on the way.
    pub fn advance_to(&mut self, now: SimTime) -> Result<(), MarketError> {
        if now < self.clock {
            return Err(MarketError::TimeWentBackwards { now, clock: self.clock });
        }
        if now == self.clock && self.timers.next_time() > now {
            return Ok(());
        }
        while let Some((t, kind, id)) = self.timers.pop_due(now) {
            self.clock = t;
            self.fire(kind, id, t, now);
        }
        self.clock = now;
        self.prices.evict_due(now);
        Ok(())
    }

    pub(crate) fn schedule(&mut self, time: SimTime, kind: TimerKind, id: u64) {
        self.timers.push(time, kind, id);
    }

    /// Schedules the call market's next call, at the first whole multiple of `call_interval`
    /// after `now`, unless one is pending. Never beyond the end of time: a call that would fall
    /// past `SimTime::MAX` is not scheduled.
    fn arm_call(&mut self, now: SimTime) {
        if self.call_armed {
            return;
        }
        let iv = self.config.call_interval_ms;
        if let Some(next) = (now / iv).checked_add(1).and_then(|k| k.checked_mul(iv)) {
            self.schedule(next, TimerKind::Call, 0);
            self.call_armed = true;
        }
    }

    /// Runs one timer due at `t`, within an advance to `target`.
    fn fire(&mut self, kind: TimerKind, id: u64, t: SimTime, target: SimTime) {
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
                    if self.config.institution == Institution::SealedBidReverse {
                        // The bidding window ends: award to the best offers resting now.
                        self.unpark_due(t);
                        self.match_request(oid, t, Walk::Award);
                        if self.close_request_if_done(oid, t) {
                            return;
                        }
                    }
                    self.close_order(oid, OrderStatus::Expired, CloseReason::WindowEnded, t);
                }
            }
            TimerKind::Call => {
                self.call_armed = false;
                if !self.call_books.is_empty() {
                    self.counters.calls += 1;
                    self.run_call(t);
                }
                if !self.call_books.is_empty() {
                    self.arm_call(t);
                }
            }
            TimerKind::Decay => {
                // Every boundary before the next other timer (and not after the target) is applied
                // in one pass: the closed form does not depend on how boundaries are grouped.
                let step = self.config.reputation.decay_step_ms;
                let limit = match self.timers.peek() {
                    Some((next, _, _)) => next.saturating_sub(1).min(target),
                    None => target,
                }
                .max(t);
                let boundary = limit / step;
                let mut changed = std::mem::take(&mut self.changed);
                changed.clear();
                self.reputation.decay_to(boundary, &mut changed);
                for &p in &changed {
                    self.rekey_offers(p);
                }
                self.changed = changed;
                if let Some(next) = boundary.checked_add(1).and_then(|b| b.checked_mul(step)) {
                    self.schedule(next, TimerKind::Decay, 0);
                }
            }
            other => self.fire_lifecycle(other, id, t),
        }
    }

    // ----- placement --------------------------------------------------------------------------

    /// Places an order (§2) and matches it at once (§3). Returns the order id, or refuses with a
    /// typed error and changes nothing.
    pub fn place_order(&mut self, order: NewOrder, now: SimTime) -> Result<OrderId, MarketError> {
        self.advance_to(now)?;
        let NewOrder {
            side,
            trader,
            price_per_unit,
            total_units,
            spec: task_spec,
            sla: sla_spec,
            expires_at,
            signature,
        } = order;
        match self.validate_order(&order) {
            Ok(()) => {}
            Err(e) => {
                self.counters.orders_rejected += 1;
                self.count_signature_refusal(&e);
                self.events.push(MarketEvent::OrderRejected { time: now, trader, side, reason: e.code() });
                return Err(e);
            }
        }
        let id = OrderId(self.orders.len() as u64);
        if self.config.verify_signatures
            && let Some(sig) = signature
        {
            self.peers[trader.index()].last_seq = Some(sig.seq);
        }
        let max_providers = match side {
            Side::Buy => self.config.max_providers(total_units) as u32,
            Side::Sell => 0,
        };
        self.orders.push(Order {
            id,
            side,
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
        self.lane_of.push(0);
        self.open.add_order();
        self.counters.orders_placed += 1;
        self.events.push(MarketEvent::OrderPlaced {
            time: now,
            order: id,
            side,
            trader,
            task_type: task_spec.task_type,
            price_per_unit,
            units: total_units,
        });
        if let Some(exp) = expires_at {
            self.schedule(exp, TimerKind::OrderExpiry, id.0);
        }
        let matches_before = self.counters.matches;
        // Providers whose cap window has freed room by now walk again (their offers rejoin the
        // book); nothing parks with a time <= now, so this holds for the whole call.
        self.unpark_due(now);
        match side {
            Side::Buy => {
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
                if self.config.institution.matches_on_arrival() {
                    self.match_request(id, now, Walk::Immediate);
                }
                if !self.close_request_if_done(id, now) {
                    let closes_at = now.saturating_add(self.config.auction_window_ms);
                    let (needs, floor_bucket) = self.auction_slot(&task_spec);
                    let (tb, nodes) = self.book.split_mut(task_spec.task_type);
                    tb.insert_auction(nodes, needs, floor_bucket, (Reverse(price_per_unit), id));
                    self.open.push(trader, id);
                    if self.config.institution == Institution::CallMarket {
                        self.call_books.insert(task_spec.task_type);
                        self.arm_call(now);
                    }
                    self.schedule(closes_at, TimerKind::AuctionClose, id.0);
                    self.events.push(MarketEvent::AuctionOpened { time: now, request: id, closes_at });
                }
            }
            Side::Sell => {
                if self.config.institution.matches_on_arrival() {
                    self.match_offer(id, now);
                }
                let remaining = self.orders[id.index()].remaining();
                if remaining == 0 {
                    self.orders[id.index()].status = OrderStatus::Filled;
                } else {
                    let tt = task_spec.task_type;
                    let (tb, nodes) = self.book.split_mut(tt);
                    tb.index_ask(nodes, price_per_unit, id);
                    if self.peers[trader.index()].laned {
                        let lane = self.lane_for(trader, tt, task_spec.capabilities);
                        self.join_lane(trader, lane, price_per_unit, id);
                    } else {
                        self.rest_plain(trader, id);
                    }
                    let tb = self.book.get_mut(tt);
                    tb.resting_units += remaining;
                    tb.resting_offers += 1;
                    self.peers[trader.index()].resting += 1;
                    self.open.push(trader, id);
                    self.lane_up_if_many(trader);
                }
            }
        }
        if self.config.clear_book_after_trade && self.counters.matches > matches_before {
            self.clear_book(task_spec.task_type, now);
        }
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    fn validate_order(&self, order: &NewOrder) -> Result<(), MarketError> {
        let NewOrder { side, trader, price_per_unit, total_units, ref spec, sla, expires_at, signature } = *order;
        let sla = sla.as_ref();
        let signature = signature.as_ref();
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
        if spec.max_duration_ms > MAX_DURATION_MS {
            return Err(MarketError::DurationTooLong {
                what: "task_spec.max_duration_ms",
                value_ms: spec.max_duration_ms,
                max_ms: MAX_DURATION_MS,
            });
        }
        if let Some(s) = sla {
            s.validate()?;
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
            let ok = match (peer.key.as_ref(), signature) {
                (Some(k), Some(sig)) => {
                    let msg = signing::order_message(order, sig.seq);
                    signing::verify(k, &msg, &sig.bytes)
                }
                _ => false,
            };
            if !ok {
                return Err(MarketError::BadSignature(trader));
            }
            if let Some(sig) = signature {
                self.check_fresh(trader, sig.seq)?;
            }
        }
        match side {
            Side::Buy => {
                let available = self.bank.wallet(trader).available;
                if available < amount {
                    return Err(MarketError::InsufficientFunds { peer: trader, available, needed: amount });
                }
            }
            Side::Sell => {
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
        if self.config.institution == Institution::ContinuousDoubleAuction
            && self.book.types.len() > spec.task_type.index()
        {
            let tt = spec.task_type;
            let (best_bid, best_ask) = (self.book.best_bid(tt), self.book.best_ask(tt));
            // The improvement rule, on raw prices per unit of the task type (the public quotes).
            let p = price_per_unit;
            let refused = match side {
                Side::Buy => best_bid.filter(|&b| p <= b && best_ask.is_none_or(|a| p < a)),
                Side::Sell => best_ask.filter(|&a| p >= a && best_bid.is_none_or(|b| p > b)),
            };
            if let Some(best) = refused {
                return Err(MarketError::NotImproving { side, price_per_unit: p, best });
            }
        }
        Ok(())
    }

    /// Refuses a sequence number that is not above the last one accepted from `peer`.
    pub(crate) fn check_fresh(&self, peer: PeerId, seq: u64) -> Result<(), MarketError> {
        match self.peers[peer.index()].last_seq {
            Some(last) if seq <= last => Err(MarketError::Replayed { peer, seq }),
            _ => Ok(()),
        }
    }

    /// The smallest signature sequence number the market accepts next from `peer` (0 for a peer
    /// that never signed, or an unknown peer; `u64::MAX` once `u64::MAX` itself was used, which
    /// then is refused as a replay).
    pub fn next_signature_seq(&self, peer: PeerId) -> u64 {
        self.peers.get(peer.index()).and_then(|p| p.last_seq).map_or(0, |s| s.saturating_add(1))
    }

    fn count_signature_refusal(&mut self, e: &MarketError) {
        match e {
            MarketError::BadSignature(_) => self.counters.bad_signatures += 1,
            MarketError::Replayed { .. } => self.counters.replayed_signatures += 1,
            _ => {}
        }
    }

    /// Counts and reports a refused call, and hands the error back.
    pub(crate) fn refuse(&mut self, caller: PeerId, e: MarketError) -> MarketError {
        self.counters.calls_refused += 1;
        self.count_signature_refusal(&e);
        self.events.push(MarketEvent::CallRefused { time: self.clock, caller, reason: e.code() });
        e
    }

    /// Draws `n` arbitrators (not the parties, not banned) by rendezvous hashing on the escrow id:
    /// the `n` smallest keys `(score, id)`, in ascending key order.
    ///
    /// Every eligible arbitrator is scored (the score depends on the escrow, so that is O(A) for
    /// A arbitrators), but only the best `n` are kept, in a max-heap of at most `n` entries:
    /// O(A log n) with one allocation of `n`, where it used to collect and sort all A keys
    /// (O(A log A)). Keys are unique (ids are), so the panel and its order are exactly those of
    /// the full sort.
    pub(crate) fn draw_panel(&self, eid: EscrowId, a: PeerId, b: PeerId, n: usize, stream: u64) -> Vec<PeerId> {
        if n == 0 {
            return Vec::new();
        }
        let mut best: BinaryHeap<(u64, PeerId)> = BinaryHeap::with_capacity(n.min(self.arbitrators.len()));
        for &p in &self.arbitrators {
            if p == a || p == b || self.peers[p.index()].banned {
                continue;
            }
            let key = (rendezvous(self.config.market_seed, stream, eid.0, p.0), p);
            if best.len() < n {
                best.push(key);
            } else if best.peek().is_some_and(|&worst| key < worst) {
                // Replace the worst kept key (the heap's top) with the better one.
                if let Some(mut top) = best.peek_mut() {
                    *top = key;
                }
            }
        }
        best.into_sorted_vec().into_iter().map(|(_, p)| p).collect()
    }
}

impl Market {
    /// Draws the `n` arbitrators of escrow `eid` at its match: uniformly, without replacement,
    /// from the registered arbitrators that are neither banned nor a party (`a`, `b`). Draw `j`
    /// takes the arbitrator at [`panel_index`]`(seed, stream, eid, j, A)` of the A registered ones
    /// (registration order) and skips it if it is ineligible or already drawn. That is O(n)
    /// expected however many arbitrators there are (it used to score all A of them). After
    /// `4 n + 32` draws without a full panel (most arbitrators ineligible, or a panel that needs
    /// nearly all of them), the panel is completed with the eligible arbitrators not yet drawn in
    /// [`rendezvous`] order, O(A log n) as [`Market::draw_panel`]: rare, and small worlds only.
    /// The result is fixed at the match, so it need not stay stable as arbitrators join later.
    pub(crate) fn draw_escrow_arbitrators(
        &self,
        eid: EscrowId,
        a: PeerId,
        b: PeerId,
        n: usize,
        stream: u64,
    ) -> Vec<PeerId> {
        let all = &self.arbitrators;
        let mut panel = Vec::with_capacity(n.min(all.len()));
        if n == 0 || all.is_empty() {
            return panel;
        }
        let eligible = |p: PeerId| p != a && p != b && !self.peers[p.index()].banned;
        let attempts = 4 * n as u64 + 32;
        for j in 0..attempts {
            if panel.len() == n {
                return panel;
            }
            let p = all[panel_index(self.config.market_seed, stream, eid.0, j, all.len())];
            if eligible(p) && !panel.contains(&p) {
                panel.push(p);
            }
        }
        if panel.len() < n {
            let mut rest: Vec<(u64, PeerId)> = all
                .iter()
                .filter(|&&p| eligible(p) && !panel.contains(&p))
                .map(|&p| (rendezvous(self.config.market_seed, stream, eid.0, p.0), p))
                .collect();
            rest.sort_unstable();
            panel.extend(rest.into_iter().take(n - panel.len()).map(|(_, p)| p));
        }
        panel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Escrow arbitrators: distinct, eligible, as many as asked when enough are eligible (all
    /// of them otherwise), the same for the same escrow; with most arbitrators banned the
    /// sampled draws run out and the rendezvous completion fills the panel.
    #[test]
    fn escrow_arbitrators_are_distinct_eligible_and_as_many_as_can_sit() {
        for banned_share in [0usize, 50, 95] {
            let mut m = Market::new(MarketConfig { market_seed: 0xa4b1, ..MarketConfig::default() }).unwrap();
            for i in 0..200u32 {
                let spec = PeerSpec { arbitrator: i % 5 != 0, ..Default::default() };
                m.register_peer(spec, 0).unwrap();
            }
            for i in 0..200usize {
                m.peers[i].banned = (i * 37) % 100 < banned_share;
            }
            let eligible = |m: &Market, p: PeerId, a: PeerId, b: PeerId| {
                m.peers[p.index()].arbitrator && !m.peers[p.index()].banned && p != a && p != b
            };
            for e in 0..400u64 {
                let (a, b) = (PeerId((e % 200) as u32), PeerId(((e * 13) % 200) as u32));
                let can = (0..200).map(|i| PeerId(i as u32)).filter(|&p| eligible(&m, p, a, b)).count();
                for n in [0usize, 1, 3, 7, 40] {
                    let panel = m.draw_escrow_arbitrators(EscrowId(e), a, b, n, 0xA5B1);
                    assert_eq!(panel.len(), n.min(can), "escrow {e}, n {n}, {banned_share} % banned");
                    assert!(panel.iter().all(|&p| eligible(&m, p, a, b)));
                    let mut sorted = panel.clone();
                    sorted.sort();
                    sorted.dedup();
                    assert_eq!(sorted.len(), panel.len(), "distinct");
                    assert_eq!(panel, m.draw_escrow_arbitrators(EscrowId(e), a, b, n, 0xA5B1));
                }
            }
        }
    }

    #[test]
    fn panel_draw_equals_the_full_sort() {
        let mut m = Market::new(MarketConfig { market_seed: 0x5eed, ..MarketConfig::default() }).unwrap();
        for i in 0..40u32 {
            let spec = PeerSpec { arbitrator: i % 4 != 1, ..Default::default() };
            m.register_peer(spec, 0).unwrap();
        }
        for i in [2usize, 7, 8, 30] {
            m.peers[i].banned = true;
        }
        let full_sort = |m: &Market, eid: EscrowId, a: PeerId, b: PeerId, n: usize, stream: u64| {
            let mut scored: Vec<(u64, PeerId)> = m
                .arbitrators
                .iter()
                .filter(|&&p| p != a && p != b && !m.peers[p.index()].banned)
                .map(|&p| (rendezvous(m.config.market_seed, stream, eid.0, p.0), p))
                .collect();
            scored.sort_unstable();
            scored.into_iter().take(n).map(|(_, p)| p).collect::<Vec<_>>()
        };
        for e in 0..300u64 {
            let (a, b) = (PeerId((e % 40) as u32), PeerId(((e * 7) % 40) as u32));
            for n in [0usize, 1, 2, 3, 5, 17, 29, 30, 100] {
                for stream in [0xA5B1, 0xD15B] {
                    let eid = EscrowId(e);
                    assert_eq!(m.draw_panel(eid, a, b, n, stream), full_sort(&m, eid, a, b, n, stream), "{e} {n}");
                }
            }
        }
    }
}
