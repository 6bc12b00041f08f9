//! The market's timer queue: expiries, auction closes, task deadlines and escrow timers, popped
//! in `(time, timer class, id)` order.
//!
//! Most timers are scheduled at `now + a constant of the configuration` (auction windows, escrow
//! timeouts, review windows, dispute timeouts, time locks). Since the clock never goes back, each
//! of those kinds arrives already sorted and lives in its own FIFO (O(1) push and pop); only
//! timers with per-order delays (expiries, start and finish deadlines) and the decay step use a
//! binary heap. Popping takes the least head of all queues, so the order is exactly that of one
//! priority queue.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use crate::ids::SimTime;

/// Timer classes, in the order they run when due at the same time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TimerKind {
    OrderExpiry,
    /// Call market clearings; before auction closes, so a request whose window ends at a call
    /// still takes part in it.
    Call,
    AuctionClose,
    StartDeadline,
    FinishDeadline,
    ReviewEnd,
    TimeLock,
    EscrowTimeout,
    DisputeTimeout,
    Decay,
}

/// `(time, class, id)`.
pub(crate) type Timer = (SimTime, TimerKind, u64);

const FIFO_KINDS: [TimerKind; 5] = [
    TimerKind::AuctionClose,
    TimerKind::ReviewEnd,
    TimerKind::TimeLock,
    TimerKind::EscrowTimeout,
    TimerKind::DisputeTimeout,
];

#[inline]
fn fifo_slot(kind: TimerKind) -> Option<usize> {
    match kind {
        TimerKind::AuctionClose => Some(0),
        TimerKind::ReviewEnd => Some(1),
        TimerKind::TimeLock => Some(2),
        TimerKind::EscrowTimeout => Some(3),
        TimerKind::DisputeTimeout => Some(4),
        _ => None,
    }
}

/// The queue.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<Timer>>,
    fifos: [VecDeque<(SimTime, u64)>; 5],
}

impl Timers {
    /// Makes room for the timers of `orders` more orders (auction closes) and `matches` more
    /// matches (reviews, time locks, escrow and dispute timeouts).
    pub fn reserve(&mut self, orders: usize, matches: usize) {
        let _ = self.fifos[0].try_reserve_exact(orders);
        for q in &mut self.fifos[1..] {
            let _ = q.try_reserve_exact(matches);
        }
        let _ = self.heap.try_reserve_exact(matches);
    }

    /// Schedules a timer. Constant-delay kinds arrive in non-decreasing time order (the clock is
    /// monotonic) and go to their FIFO when they also keep `(time, id)` order there; anything
    /// else (an earlier time, or the same time with a smaller id, e.g. two escrows completed at
    /// the same millisecond in the opposite order of their ids) falls back to the heap, so pops
    /// stay in exact `(time, class, id)` order.
    #[inline]
    pub fn push(&mut self, time: SimTime, kind: TimerKind, id: u64) {
        if let Some(slot) = fifo_slot(kind) {
            let q = &mut self.fifos[slot];
            if q.back().is_none_or(|&(t, i)| (t, i) <= (time, id)) {
                q.push_back((time, id));
                return;
            }
        }
        self.heap.push(Reverse((time, kind, id)));
    }

    /// The next timer, without removing it.
    #[inline]
    pub fn peek(&self) -> Option<Timer> {
        let mut best = self.heap.peek().map(|r| r.0);
        for (slot, q) in self.fifos.iter().enumerate() {
            if let Some(&(t, id)) = q.front() {
                let cand = (t, FIFO_KINDS[slot], id);
                if best.is_none_or(|b| cand < b) {
                    best = Some(cand);
                }
            }
        }
        best
    }

    /// Removes and returns the next timer if it is due at or before `now`.
    #[inline]
    pub fn pop_due(&mut self, now: SimTime) -> Option<Timer> {
        let next = self.peek()?;
        if next.0 > now {
            return None;
        }
        match fifo_slot(next.1) {
            Some(slot) if self.fifos[slot].front() == Some(&(next.0, next.2)) => {
                self.fifos[slot].pop_front();
            }
            _ => {
                self.heap.pop();
            }
        }
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_class_id_order_across_queues() {
        let mut t = Timers::default();
        t.push(10, TimerKind::AuctionClose, 5);
        t.push(10, TimerKind::OrderExpiry, 9);
        t.push(5, TimerKind::StartDeadline, 1);
        t.push(10, TimerKind::AuctionClose, 6);
        t.push(7, TimerKind::EscrowTimeout, 2);
        t.push(3, TimerKind::EscrowTimeout, 3); // out of order: falls back to the heap
        let mut got = Vec::new();
        while let Some(x) = t.pop_due(100) {
            got.push(x);
        }
        assert_eq!(
            got,
            vec![
                (3, TimerKind::EscrowTimeout, 3),
                (5, TimerKind::StartDeadline, 1),
                (7, TimerKind::EscrowTimeout, 2),
                (10, TimerKind::OrderExpiry, 9),
                (10, TimerKind::AuctionClose, 5),
                (10, TimerKind::AuctionClose, 6),
            ]
        );
        assert_eq!(t.peek(), None);
    }

    #[test]
    fn same_time_pops_by_id_whatever_the_push_order() {
        let mut t = Timers::default();
        t.push(10, TimerKind::ReviewEnd, 2);
        t.push(10, TimerKind::ReviewEnd, 1);
        t.push(10, TimerKind::ReviewEnd, 3);
        t.push(10, TimerKind::TimeLock, 0);
        let got: Vec<Timer> = std::iter::from_fn(|| t.pop_due(10)).collect();
        assert_eq!(
            got,
            vec![
                (10, TimerKind::ReviewEnd, 1),
                (10, TimerKind::ReviewEnd, 2),
                (10, TimerKind::ReviewEnd, 3),
                (10, TimerKind::TimeLock, 0),
            ]
        );
    }

    #[test]
    fn nothing_pops_before_its_time() {
        let mut t = Timers::default();
        t.push(10, TimerKind::ReviewEnd, 1);
        assert_eq!(t.pop_due(9), None);
        assert_eq!(t.pop_due(10), Some((10, TimerKind::ReviewEnd, 1)));
    }
}
