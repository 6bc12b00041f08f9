//! The invariant checker (§12) and a digest of the whole market state.
//!
//! [`Market::check_invariants`] recomputes everything that must hold from first principles and
//! reports the first violation: token conservation, locks equal to the open requests' unspent
//! bids, escrow balances matching their states, `filled_units ≤ total_units` and equal to the
//! assigned units, trade prices within `[ask, bid]`, usage caps in every window, legal escrow
//! transitions, reputation bounds, and quote indexes that list exactly the open orders. Tests call it after every operation; runs call it at the end
//! (and, in debug builds, at every sample).

use std::collections::BTreeMap;

use crate::error::InvariantError;
use crate::escrow::EscrowState;
use crate::ids::PeerId;
use crate::market::{Market, mix64};
use crate::order::Side;

impl Market {
    /// Checks every invariant; `Err` describes the first one broken.
    pub fn check_invariants(&self) -> Result<(), InvariantError> {
        self.bank.check()?;
        // Orders and their fills.
        let mut by_order = vec![0u64; self.orders.len()];
        for a in &self.assignments {
            by_order[a.request.index()] += a.units;
            by_order[a.offer.index()] += a.units;
            if a.price_per_unit < a.ask || a.price_per_unit > a.bid {
                return Err(InvariantError::PriceOutsideQuotes {
                    assignment: a.id,
                    price_per_unit: a.price_per_unit,
                    ask: a.ask,
                    bid: a.bid,
                });
            }
        }
        let mut locked = vec![0u128; self.peers.len()];
        for o in &self.orders {
            if o.filled_units > o.total_units {
                return Err(InvariantError::OverFilled { order: o.id, filled: o.filled_units, total: o.total_units });
            }
            if by_order[o.id.index()] != o.filled_units {
                return Err(InvariantError::FillMismatch {
                    order: o.id,
                    filled: o.filled_units,
                    assigned: by_order[o.id.index()],
                });
            }
            if o.side == Side::Buy {
                if o.status.is_open() {
                    locked[o.trader.index()] += o.remaining() as u128 * o.price_per_unit as u128;
                }
                if o.providers_used > o.max_providers {
                    return Err(InvariantError::SlotsExceeded {
                        order: o.id,
                        used: o.providers_used,
                        max: o.max_providers,
                    });
                }
            }
        }
        for (i, &l) in locked.iter().enumerate() {
            let w = self.bank.wallet(PeerId(i as u32));
            if w.locked as u128 != l {
                return Err(InvariantError::LockMismatch { peer: PeerId(i as u32), locked: w.locked, needed: l });
            }
        }
        // Escrows.
        for e in &self.escrows {
            let bal = self.bank.escrow_balance(e.id);
            if e.state.holds_funds() && bal != e.amount {
                return Err(InvariantError::EscrowBalance {
                    escrow: e.id,
                    state: e.state.as_str(),
                    held: bal,
                    expected: e.amount,
                });
            }
            if e.state.is_settled() {
                if bal != 0 {
                    return Err(InvariantError::SettledEscrowHolds { escrow: e.id, held: bal });
                }
                if e.paid_provider + e.paid_requester + e.fee != e.amount {
                    return Err(InvariantError::PayoutMismatch {
                        escrow: e.id,
                        paid: e.paid_provider + e.paid_requester + e.fee,
                        amount: e.amount,
                    });
                }
            }
            if e.state == EscrowState::Created {
                return Err(InvariantError::NeverFunded { escrow: e.id });
            }
        }
        for t in &self.trail {
            if t.from != t.to && !t.from.can_become(t.to) {
                return Err(InvariantError::IllegalTransition {
                    escrow: t.escrow,
                    from: t.from.as_str(),
                    to: t.to.as_str(),
                });
            }
        }
        // Usage caps: every window of length W ending at an assignment time.
        let window = self.config.usage_cap_window_ms;
        let mut per_provider: BTreeMap<PeerId, Vec<(u64, u64)>> = BTreeMap::new();
        for a in &self.assignments {
            if self.peers[a.provider.index()].usage_cap_units.is_some() {
                per_provider.entry(a.provider).or_default().push((a.assigned_at, a.units));
            }
        }
        for (p, list) in per_provider {
            let cap = self.peers[p.index()].usage_cap_units.unwrap_or(u64::MAX);
            let mut lo = 0;
            let mut sum = 0u64;
            for hi in 0..list.len() {
                sum += list[hi].1;
                while list[hi].0 - list[lo].0 >= window {
                    sum -= list[lo].1;
                    lo += 1;
                }
                if sum > cap {
                    return Err(InvariantError::UsageCapBreached { provider: p, units: sum, cap });
                }
            }
        }
        // Quote indexes: exactly the open orders, at their prices.
        let mut open_asks = vec![0usize; self.book.types.len()];
        let mut open_bids = vec![0usize; self.book.types.len()];
        for o in self.orders.iter().filter(|o| self.book.indexed && o.status.is_open()) {
            let t = o.spec.task_type.index();
            let tb = &self.book.types[t];
            let listed = match o.side {
                Side::Sell => {
                    open_asks[t] += 1;
                    self.book.nodes.asks.contains(&tb.asks, &(o.price_per_unit, o.id))
                }
                Side::Buy => {
                    open_bids[t] += 1;
                    self.book.nodes.auctions.contains(&tb.bids, &(std::cmp::Reverse(o.price_per_unit), o.id))
                }
            };
            if !listed {
                return Err(InvariantError::QuoteIndex {
                    task_type: t,
                    reason: format!("open order {} at {} is not indexed", o.id, o.price_per_unit),
                });
            }
        }
        for (t, tb) in self.book.types.iter().enumerate().filter(|_| self.book.indexed) {
            if tb.asks.len() != open_asks[t] || tb.bids.len() != open_bids[t] {
                return Err(InvariantError::QuoteIndex {
                    task_type: t,
                    reason: format!(
                        "{} asks and {} bids indexed, {} and {} open",
                        tb.asks.len(),
                        tb.bids.len(),
                        open_asks[t],
                        open_bids[t]
                    ),
                });
            }
        }
        // Heads indexes: the best offer of every non-empty class bucket, while kept.
        for (t, tb) in self.book.types.iter().enumerate() {
            tb.check_heads(&self.book.nodes).map_err(|reason| InvariantError::HeadsIndex { task_type: t, reason })?;
        }
        // Reputation bounds.
        let rc = self.reputation.config();
        for i in 0..self.reputation.len() {
            let s = self.reputation.score(PeerId(i as u32));
            if !(rc.min..=rc.max).contains(&s) {
                return Err(InvariantError::ReputationOutOfBounds {
                    peer: PeerId(i as u32),
                    score: s,
                    min: rc.min,
                    max: rc.max,
                });
            }
        }
        Ok(())
    }

    /// A 64-bit digest of the market's state (orders, assignments, escrows, wallets, reputation,
    /// bans and the ledger chain). Equal digests before and after a refused call prove it changed
    /// nothing; benches use it to prove an optimisation did not change results.
    pub fn state_digest(&self) -> u64 {
        let mut h = mix64(self.clock);
        let mut eat = |x: u64| h = mix64(h ^ x);
        for o in &self.orders {
            eat(o.filled_units);
            eat(o.status as u64);
            eat(o.providers_used as u64);
        }
        for a in &self.assignments {
            eat(a.status as u64);
            eat(a.price_per_unit);
            eat(a.units);
            eat(a.penalty);
            eat(a.feedback[0].unwrap_or(0) as u64 | ((a.feedback[1].unwrap_or(0) as u64) << 8));
        }
        for e in &self.escrows {
            eat(e.state as u64);
            eat(e.requester_approved as u64 | (e.provider_approved as u64) << 1);
            eat(e.arbitrator_approvals.len() as u64);
            eat(e.dispute.as_ref().map_or(0, |d| d.votes.len() as u64 + 1));
        }
        for i in 0..self.peers.len() {
            let p = PeerId(i as u32);
            let w = self.bank.wallet(p);
            eat(w.available);
            eat(w.locked);
            eat(self.reputation.score(p).to_bits());
            eat(self.peers[i].banned as u64 | (self.peers[i].paused as u64) << 1);
        }
        for c in self.bank.digest().bytes() {
            eat(c as u64);
        }
        h
    }
}
