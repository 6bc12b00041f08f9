//! The market's timer queue: expiries, auction closes, task deadlines and escrow timers, popped
//! in `(time, timer class, id)` order.
//!
//! Most timers are scheduled at `now + a constant of the configuration` (auction windows, escrow
//! timeouts, review windows, dispute timeouts, time locks). Since the clock never goes back, each
//! of those kinds arrives already sorted and lives in its own FIFO (O(1) push and pop); only
//! timers with per-order delays (expiries, start and finish deadlines) and the decay step use a
//! binary heap. Popping takes the least head of all queues, so the order is exactly that of one
//! priority queue.
//!
//! Most clock advances find nothing due. The queue keeps a lower bound of its next time (the
//! least time pushed since, or the time of the last timer popped, or the exact next time found
//! by the last look that found nothing due), so such an advance is one comparison instead of a
//! read of the six queue heads: 2–3.5 % of the instructions of the benches' streams
//! (BENCHMARKS.md, "Timers").

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
#[derive(Clone, Debug)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<Timer>>,
    fifos: [VecDeque<(SimTime, u64)>; 5],
    /// A lower bound of the time of the next timer (`SimTime::MAX` with none; a timer may also
    /// fall at `SimTime::MAX`), exact after a [`Timers::pop_due`] that found nothing due: it lets
    /// `pop_due` answer "nothing due", the answer of every clock advance between timers, without
    /// reading the six queue heads.
    next: SimTime,
}

impl Default for Timers {
    fn default() -> Self {
        Timers { heap: BinaryHeap::new(), fifos: Default::default(), next: SimTime::MAX }
    }
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
        self.next = self.next.min(time);
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

    /// A lower bound of the time of the next timer (`SimTime::MAX` when there is none), exact
    /// after a [`Timers::pop_due`] that found nothing due. O(1).
    #[inline]
    pub fn next_time(&self) -> SimTime {
        self.next
    }

    /// Removes and returns the next timer if it is due at or before `now`. O(1) when the lower
    /// bound of the next time is after `now`.
    #[inline]
    pub fn pop_due(&mut self, now: SimTime) -> Option<Timer> {
        if now < self.next {
            return None;
        }
        let Some(next) = self.peek() else {
            self.next = SimTime::MAX;
            return None;
        };
        if next.0 > now {
            self.next = next.0;
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
        // Every timer left is at or after the one popped.
        self.next = next.0;
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `next_time` never exceeds the least time of every queue and equals it after a `pop_due`
    /// that found nothing due, and `pop_due` pops what a reference model (a sorted list) pops.
    #[test]
    fn next_time_tracks_the_least_timer() {
        let mut t = Timers::default();
        let mut model: Vec<Timer> = Vec::new();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut clock = 0;
        for step in 0..5_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if !x.is_multiple_of(3) {
                let kinds = [
                    TimerKind::OrderExpiry,
                    TimerKind::Call,
                    TimerKind::AuctionClose,
                    TimerKind::StartDeadline,
                    TimerKind::FinishDeadline,
                    TimerKind::ReviewEnd,
                    TimerKind::TimeLock,
                    TimerKind::EscrowTimeout,
                    TimerKind::DisputeTimeout,
                    TimerKind::Decay,
                ];
                let kind = kinds[(x >> 8) as usize % kinds.len()];
                // Now and then a timer at the end of time, which must still pop there.
                let time = if (x >> 40).is_multiple_of(97) { SimTime::MAX } else { clock + (x >> 16) % 50 };
                t.push(time, kind, step);
                model.push((time, kind, step));
            } else {
                clock += (x >> 20) % 20;
                model.sort();
                while model.first().is_some_and(|m| m.0 <= clock) {
                    assert_eq!(t.pop_due(clock), Some(model.remove(0)), "step {step}");
                }
                assert_eq!(t.pop_due(clock), None, "step {step}");
            }
            let least = model.iter().map(|m| m.0).min().unwrap_or(SimTime::MAX);
            assert!(t.next_time() <= least, "step {step}: a lower bound");
            if x.is_multiple_of(3) {
                assert_eq!(t.next_time(), least, "step {step}: exact after nothing was due");
            }
            assert_eq!(t.peek().map(|p| p.0), model.iter().map(|m| m.0).min(), "step {step}");
        }
        model.sort();
        assert!(model.last().is_some_and(|m| m.0 == SimTime::MAX), "the test pushed timers at the end of time");
        for expected in model {
            assert_eq!(t.pop_due(SimTime::MAX), Some(expected));
        }
        assert_eq!((t.pop_due(SimTime::MAX), t.next_time()), (None, SimTime::MAX));
    }

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
