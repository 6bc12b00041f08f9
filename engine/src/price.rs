//! Price discovery (§11): per task type, exact statistics over a sliding window of simulated time.
//!
//! Each window keeps its trades in a ring (`VecDeque`) with running sums, plus two monotonic
//! deques for the sliding minimum and maximum, so recording, evicting and querying are O(1)
//! amortised and exact.

use std::collections::VecDeque;

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
}
