//! Read-only queries of the market: orders, assignments, escrows, wallets, reputations, price
//! discovery, book depth and the ledger digest.

use std::cmp::Reverse;

use crate::bank::{Bank, Wallet};
use crate::config::MarketConfig;
use crate::error::MarketError;
use crate::escrow::{Escrow, EscrowTransition, TaskAssignment};
use crate::events::MarketEvent;
use crate::ids::{AssignmentId, EscrowId, OrderId, PeerId, SimTime, TaskTypeId};
use crate::market::{Market, MarketCounters, PeerState};
use crate::open_list::OpenOrders;
use crate::order::{Order, Side};
use crate::price::{PriceStats, PriceWindow};
use crate::reputation::ReputationRecord;

impl Market {
    /// When the next timer (expiry, auction close, deadline, escrow timer) falls due, if any.
    /// A driver that advances the clock to it sees every consequence at its exact time.
    pub fn next_timer_time(&self) -> Option<SimTime> {
        self.timers.peek().map(|t| t.0)
    }

    /// A peer's open orders (requests with open auctions and resting offers), earliest first
    /// (empty for an unknown peer).
    pub fn open_orders(&self, peer: PeerId) -> OpenOrders<'_> {
        self.open.view(peer)
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
    pub fn assignments(&self) -> &[TaskAssignment] {
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
    pub fn price_discovery(&mut self, task_type: TaskTypeId, now: SimTime) -> Result<Option<PriceStats>, MarketError> {
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

    /// Lowest resting ask of a task type (offers of cap-exhausted providers included). O(1) under
    /// the institutions that keep quote indexes (all but first-accept, see `book.rs`); under
    /// first-accept it walks the class books' lane heads from their best keys, and the lanes of
    /// the parked providers (O(their lanes), not their offers).
    pub fn best_ask(&self, task_type: TaskTypeId) -> Option<u64> {
        let tb = self.book.types.get(task_type.index())?;
        if tb.indexed {
            return tb.best_ask(&self.book.nodes);
        }
        let mut best: Option<u64> = None;
        // Live classes and their non-empty buckets only: classes and buckets that emptied cost
        // nothing here.
        for &ci in &tb.live_classes {
            let class = &tb.classes[ci as usize];
            let mut bits = class.nonempty;
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                // In bucket b, ask >= weighted * floor(b)^k: once that exceeds the best, stop.
                let floor = self.bucket_floor_k[b];
                for key in self.book.offer_keys(&class.buckets[b]) {
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
        // Offers of cap-exhausted providers rest outside the class books: each of their lanes
        // of this task type leads with its lowest ask (one seek per lane).
        for &Reverse((_, peer)) in self.cap_unpark.iter() {
            if !self.peers[peer.index()].laned {
                // At most `LANES_FROM` offers.
                let mut next = self.open.first(peer);
                while let Some(oid) = next {
                    next = self.open.next(oid);
                    let o = &self.orders[oid.index()];
                    if o.side == Side::Sell && o.spec.task_type == task_type {
                        best = Some(best.map_or(o.price_per_unit, |x| x.min(o.price_per_unit)));
                    }
                }
                continue;
            }
            let lanes = self.book.lanes_of(peer);
            let from = lanes.partition_point(|&(t, _, _)| t < task_type);
            for &(_, _, lane) in lanes[from..].iter().take_while(|&&(t, _, _)| t == task_type) {
                if let Some((ask, _)) = self.book.lane_first(lane) {
                    best = Some(best.map_or(ask, |x| x.min(ask)));
                }
            }
        }
        best
    }

    /// Highest open bid of a task type.
    pub fn best_bid(&self, task_type: TaskTypeId) -> Option<u64> {
        self.book.types.get(task_type.index())?.best_bid(&self.book.nodes)
    }

    /// Number of open auctions of a task type.
    pub fn open_auctions(&self, task_type: TaskTypeId) -> usize {
        self.book.types.get(task_type.index()).map_or(0, |t| t.open_auctions)
    }
}
