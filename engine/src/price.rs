//! Price discovery (§11): per task type, exact statistics over a sliding window of simulated time.
//!
//! Each window keeps its trades in a ring (`VecDeque`) with running sums, plus two monotonic
//! deques for the sliding minimum and maximum, so recording, evicting and querying are O(1)
//! amortised and exact.
//!
//! The windows of all task types live in a `PriceWindows`, which also keeps a min-heap of each
//! non-empty window's next expiry (its oldest trade's time plus the window). A clock advance
//! pops only the windows whose oldest trade has left the window: O((e + 1) log w) for e windows
//! with something to evict out of w, where it used to visit every task type's window (O(w)) on
//! every advance. The heap holds exactly one entry per non-empty window (pushed when a trade
//! enters an empty window or when an eviction leaves trades behind), and a window is evicted at
//! the same `now` as before, so the statistics are identical.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::ids::{DurationMs, SimTime};

/// Statistics of the trades in the window.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PriceStats {
    /// Trades (assignments) in the window.
    pub count: u64,
    /// Unweighted mean of trade prices per unit ("24 h average").
    pub mean_price: f64,
    /// Σ price·units / Σ units.
    pub vwap: f64,
    /// Lowest trade price.
    pub min_price: u64,
    /// Highest trade price.
    pub max_price: u64,
    /// Σ units.
    pub volume_units: u64,
    /// Σ price·units, in tokens.
    pub turnover: u128,
}

#[derive(Clone, Copy, Debug)]
struct Trade {
    time: SimTime,
    seq: u64,
    price: u64,
    units: u64,
}

/// The sliding window of one task type.
#[derive(Clone, Debug)]
pub(crate) struct PriceWindow {
    window_ms: DurationMs,
    trades: VecDeque<Trade>,
    mins: VecDeque<Trade>,
    maxs: VecDeque<Trade>,
    seq: u64,
    sum_price: u128,
    sum_units: u128,
    sum_value: u128,
}

impl PriceWindow {
    /// An empty window of `window_ms`.
    pub fn new(window_ms: DurationMs) -> Self {
        PriceWindow {
            window_ms,
            trades: VecDeque::new(),
            mins: VecDeque::new(),
            maxs: VecDeque::new(),
            seq: 0,
            sum_price: 0,
            sum_units: 0,
            sum_value: 0,
        }
    }

    /// Records a trade at `time`.
    pub fn record(&mut self, time: SimTime, price: u64, units: u64) {
        let t = Trade { time, seq: self.seq, price, units };
        self.seq += 1;
        self.sum_price += price as u128;
        self.sum_units += units as u128;
        self.sum_value += price as u128 * units as u128;
        self.trades.push_back(t);
        while self.mins.back().is_some_and(|b| b.price >= price) {
            self.mins.pop_back();
        }
        self.mins.push_back(t);
        while self.maxs.back().is_some_and(|b| b.price <= price) {
            self.maxs.pop_back();
        }
        self.maxs.push_back(t);
    }

    /// When the oldest trade leaves the window: the first `now` at which [`PriceWindow::evict`]
    /// drops something (`None` when the window is empty, or never, at the end of time).
    pub fn next_expiry(&self) -> Option<SimTime> {
        self.trades.front().and_then(|t| t.time.checked_add(self.window_ms))
    }

    /// Drops the trades at or before `now − window` (the window is `(now − window, now]`).
    pub fn evict(&mut self, now: SimTime) {
        let Some(cutoff) = now.checked_sub(self.window_ms) else {
            return;
        };
        while let Some(&t) = self.trades.front() {
            if t.time > cutoff {
                break;
            }
            self.trades.pop_front();
            self.sum_price -= t.price as u128;
            self.sum_units -= t.units as u128;
            self.sum_value -= t.price as u128 * t.units as u128;
            if self.mins.front().is_some_and(|m| m.seq == t.seq) {
                self.mins.pop_front();
            }
            if self.maxs.front().is_some_and(|m| m.seq == t.seq) {
                self.maxs.pop_front();
            }
        }
    }

    /// The statistics, or `None` when the window holds no trade.
    pub fn stats(&self) -> Option<PriceStats> {
        let count = self.trades.len() as u64;
        if count == 0 {
            return None;
        }
        Some(PriceStats {
            count,
            mean_price: self.sum_price as f64 / count as f64,
            vwap: self.sum_value as f64 / self.sum_units as f64,
            min_price: self.mins.front().map(|t| t.price).unwrap_or(0),
            max_price: self.maxs.front().map(|t| t.price).unwrap_or(0),
            volume_units: self.sum_units as u64,
            turnover: self.sum_value,
        })
    }
}

/// The windows of every task type, and when each next has a trade to drop.
#[derive(Clone, Debug, Default)]
pub(crate) struct PriceWindows {
    /// Indexed by task type.
    windows: Vec<PriceWindow>,
    /// `(next expiry, task type index)` of every non-empty window that has one, earliest first.
    expiries: BinaryHeap<Reverse<(SimTime, usize)>>,
}

impl PriceWindows {
    /// Makes room for `trades` more trades in the windows, split evenly across the task types
    /// registered so far.
    pub fn reserve(&mut self, trades: usize) {
        let each = trades / self.windows.len().max(1);
        for w in &mut self.windows {
            let _ = w.trades.try_reserve_exact(each);
            let _ = w.mins.try_reserve_exact(each);
            let _ = w.maxs.try_reserve_exact(each);
        }
        let _ = self.expiries.try_reserve_exact(self.windows.len());
    }

    /// Number of windows (task types).
    pub fn len(&self) -> usize {
        self.windows.len()
    }

    /// Adds the window of the next task type.
    pub fn push(&mut self, window: PriceWindow) {
        self.windows.push(window);
    }

    /// The window of task type index `i`.
    pub fn get(&self, i: usize) -> Option<&PriceWindow> {
        self.windows.get(i)
    }

    /// Records a trade in window `i`, scheduling its expiry if the window was empty. O(log w).
    pub fn record(&mut self, i: usize, time: SimTime, price: u64, units: u64) {
        let w = &mut self.windows[i];
        let was_empty = w.trades.is_empty();
        w.record(time, price, units);
        if was_empty && let Some(e) = w.next_expiry() {
            self.expiries.push(Reverse((e, i)));
        }
    }

    /// Evicts, as of `now`, every window whose oldest trade has left it, touching only those.
    pub fn evict_due(&mut self, now: SimTime) {
        while let Some(&Reverse((e, i))) = self.expiries.peek() {
            if e > now {
                break;
            }
            self.expiries.pop();
            let w = &mut self.windows[i];
            w.evict(now);
            // What is left entered after `now − window`, so its expiry is after `now`.
            if let Some(next) = w.next_expiry() {
                self.expiries.push(Reverse((next, i)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_exact() {
        let mut w = PriceWindow::new(100);
        assert!(w.stats().is_none());
        w.record(0, 50, 10);
        w.record(10, 40, 30);
        w.record(20, 60, 10);
        let s = w.stats().unwrap();
        assert_eq!((s.count, s.min_price, s.max_price, s.volume_units), (3, 40, 60, 50));
        assert_eq!(s.mean_price, 50.0);
        assert_eq!(s.vwap, (500.0 + 1200.0 + 600.0) / 50.0);
        w.evict(100); // drops t=0
        let s = w.stats().unwrap();
        assert_eq!((s.count, s.min_price, s.max_price), (2, 40, 60));
        w.evict(110); // drops t=10
        let s = w.stats().unwrap();
        assert_eq!((s.count, s.min_price, s.max_price, s.vwap), (1, 60, 60, 60.0));
        w.evict(1000);
        assert!(w.stats().is_none());
    }

    #[test]
    fn sliding_min_max_match_brute_force() {
        let mut w = PriceWindow::new(50);
        let mut all = Vec::new();
        let mut x: u64 = 12345;
        for t in 0..500u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let price = 1 + (x >> 33) % 100;
            w.record(t * 3, price, 1 + (x >> 50) % 5);
            all.push((t * 3, price));
            let now = t * 3;
            w.evict(now);
            let live: Vec<u64> = all.iter().filter(|(tt, _)| *tt + 50 > now).map(|p| p.1).collect();
            let s = w.stats().unwrap();
            assert_eq!(s.min_price, *live.iter().min().unwrap());
            assert_eq!(s.max_price, *live.iter().max().unwrap());
            assert_eq!(s.count as usize, live.len());
        }
    }

    #[test]
    fn due_driven_eviction_matches_evicting_every_window() {
        // Windows of different lengths, trades in a few of them, clock steps of varied sizes:
        // after every advance each window's statistics equal those of a window evicted each time.
        let lengths = [50u64, 7, 1000, 0, 120, 50];
        let mut due = PriceWindows::default();
        let mut every: Vec<PriceWindow> = Vec::new();
        for &l in &lengths {
            due.push(PriceWindow::new(l));
            every.push(PriceWindow::new(l));
        }
        let mut x: u64 = 99;
        let mut now = 0u64;
        for _ in 0..3000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            now += [0, 1, 3, 49, 50, 51, 400][(x >> 61) as usize % 7];
            due.evict_due(now);
            for w in &mut every {
                w.evict(now);
            }
            if (x >> 10) % 4 != 3 {
                let i = (x >> 20) as usize % lengths.len();
                let (price, units) = (1 + (x >> 30) % 90, 1 + (x >> 50) % 4);
                due.record(i, now, price, units);
                every[i].record(now, price, units);
            }
            for (i, w) in every.iter().enumerate() {
                assert_eq!(due.get(i).unwrap().stats(), w.stats(), "window {i} at {now}");
            }
            // One entry per non-empty window with an expiry, none for an empty one.
            let mut listed: Vec<usize> = due.expiries.iter().map(|r| r.0.1).collect();
            listed.sort_unstable();
            let want: Vec<usize> =
                (0..lengths.len()).filter(|&i| due.get(i).unwrap().next_expiry().is_some()).collect();
            assert_eq!(listed, want);
        }
        // A trade whose expiry would pass the end of time is never scheduled nor evicted.
        due.record(2, u64::MAX - 10, 5, 1);
        due.evict_due(u64::MAX);
        assert_eq!(due.get(2).unwrap().stats().map(|s| s.count), Some(1));
    }
}
