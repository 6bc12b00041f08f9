//! How a trader sets its price: one [`Pricer`] per agent, chosen by strategy.
//!
//! Prices are rounded toward the trader's side of its limit: bids of limit-respecting strategies
//! are rounded down and never exceed the value, asks rounded up and never below the cost, so a
//! ZI-C trader never trades at a loss (Gode and Sunder 1993). A bid that would round below 1
//! token is not placed.
//!
//! What an adaptive pricer observes: the engine's price discovery of its task type (VWAP over the
//! window, with a new observation whenever the window's trade count or turnover changed), the
//! standing best ask and best bid, its own reputation, and its own fills.

use synmarket_engine::{PriceStats, Tier};

use super::learning::{RothErev, Side, Zip};
use super::uniform;
use crate::spec::{PopulationSpec, Strategy};
use crate::stream::AgentRng;

/// What the market shows a pricer at an arrival.
#[derive(Clone, Copy, Debug, Default)]
pub struct View {
    /// Price discovery of the task type.
    pub trades: Option<PriceStats>,
    /// Lowest resting ask.
    pub best_ask: Option<u64>,
    /// Highest open bid.
    pub best_bid: Option<u64>,
    /// The trader's reputation.
    pub reputation: f64,
}

/// A trader's price rule and its learning state.
#[derive(Clone, Debug)]
pub enum Pricer {
    /// ZI-C: uniform between the limit and the far bound.
    ZiConstrained,
    /// ZI-U: uniform in [min_price, max_price].
    ZiUnconstrained,
    /// The limit itself.
    Truthful,
    /// `cost × (1 + markup)`.
    Markup(f64),
    /// ZIP margin, the last price-discovery snapshot seen, and whether the last quote is
    /// outstanding without a fill.
    Zip(Zip, Option<(u64, u128)>, bool),
    /// Roth–Erev over `markups`, with the pending action and its accumulated reward.
    RothErev {
        /// Learner.
        learner: RothErev,
        /// The grid.
        markups: Vec<f64>,
        /// The action in force and the reward it earned so far.
        pending: Option<(usize, f64)>,
    },
    /// VWAP × (1 + margin), never below cost; `cost × (1 + fallback)` without trades.
    Vwap {
        /// Margin over VWAP.
        margin: f64,
        /// Markup without price discovery.
        fallback: f64,
    },
    /// Markup from `intro` (tiers up to Standard, where a new peer starts) to `target` (Expert
    /// and above), a third of the way per tier (Reliable, Trusted).
    Builder {
        /// Markup while new.
        intro: f64,
        /// Markup at Expert.
        target: f64,
    },
    /// The ring price (`max_price`) on both sides.
    Ring,
    /// `cost / (1 − cut)`: a middleman's price.
    Middleman(f64),
}

impl Pricer {
    /// The pricer of an agent (draws the learners' parameters from its stream).
    pub fn new(spec: &PopulationSpec, side: Side, limit: f64, markup: f64, rng: &mut AgentRng) -> Self {
        let p = &spec.params;
        match spec.strategy {
            Strategy::ZiUnconstrained => Pricer::ZiUnconstrained,
            Strategy::Truthful => Pricer::Truthful,
            Strategy::Zip => {
                let m0 = p.initial_margin.sample(rng);
                let beta = p.learning_rate.sample(rng);
                let gamma = p.momentum.sample(rng);
                Pricer::Zip(Zip::new(side, limit, m0, beta, gamma), None, false)
            }
            Strategy::RothErev => Pricer::RothErev {
                learner: RothErev::new(p.markups.len(), p.recency, p.experimentation),
                markups: p.markups.clone(),
                pending: None,
            },
            Strategy::VwapTracker => Pricer::Vwap { margin: p.vwap_margin.sample(rng), fallback: markup },
            Strategy::ReputationBuilder => Pricer::Builder { intro: p.intro_markup.sample(rng), target: markup },
            Strategy::Colluder => Pricer::Ring,
            Strategy::Relay | Strategy::Reseller => Pricer::Middleman(p.relay_cut),
            s if s.uses_markup() => Pricer::Markup(markup),
            _ => Pricer::ZiConstrained,
        }
    }

    /// The price to quote now, or `None` to stay out of the market.
    pub fn quote(
        &mut self,
        spec: &PopulationSpec,
        side: Side,
        limit: f64,
        view: &View,
        rng: &mut AgentRng,
    ) -> Option<u64> {
        let raw = match self {
            Pricer::ZiConstrained => match side {
                Side::Buy => uniform(spec.min_price.min(limit), limit, rng),
                Side::Sell => uniform(limit, spec.max_price.max(limit), rng),
            },
            Pricer::ZiUnconstrained => return Some(round_price(uniform(spec.min_price, spec.max_price, rng))),
            Pricer::Truthful => limit,
            Pricer::Markup(m) => limit * (1.0 + *m),
            Pricer::Zip(z, seen, waiting) => {
                let snapshot = view.trades.map(|t| (t.count, t.turnover));
                let trade = match (snapshot, *seen) {
                    (Some(now), before) if Some(now) != before => view.trades.map(|t| t.vwap),
                    _ => None,
                };
                *seen = snapshot;
                z.observe(*waiting, trade, view.best_ask, view.best_bid, rng);
                *waiting = true;
                z.price()
            }
            Pricer::RothErev { learner, markups, pending } => {
                if let Some((k, r)) = pending.take() {
                    learner.reward(k, r);
                }
                let k = learner.choose(rng);
                *pending = Some((k, 0.0));
                let m = markups.get(k).copied().unwrap_or(0.0);
                match side {
                    Side::Sell => limit * (1.0 + m),
                    Side::Buy => limit * (1.0 - m.min(1.0)),
                }
            }
            Pricer::Vwap { margin, fallback } => {
                view.trades.map_or(limit * (1.0 + *fallback), |t| t.vwap * (1.0 + *margin)).max(limit)
            }
            Pricer::Builder { intro, target } => {
                // A new peer starts at 50, the bottom of Standard: that is "new" here.
                let progress = match Tier::of(view.reputation).unwrap_or(Tier::Risky) {
                    Tier::Risky | Tier::New | Tier::Standard => 0.0,
                    Tier::Reliable => 1.0 / 3.0,
                    Tier::Trusted => 2.0 / 3.0,
                    Tier::Expert | Tier::Legendary => 1.0,
                };
                return Some(round_price(limit * (1.0 + *intro + (*target - *intro) * progress)));
            }
            Pricer::Ring => return Some(round_price(spec.max_price)),
            Pricer::Middleman(cut) => limit / (1.0 - cut.clamp(0.0, 0.99)),
        };
        match side {
            Side::Buy => bid_price(raw, limit),
            Side::Sell => Some(ask_price(raw, limit)),
        }
    }

    /// A fill of `units` at `price` per unit: ZIP raises its margin, Roth–Erev books the reward.
    pub fn on_fill(&mut self, side: Side, limit: f64, price: u64, units: u64, rng: &mut AgentRng) {
        let q = price as f64;
        match self {
            Pricer::Zip(z, _, waiting) => {
                *waiting = false;
                z.raise(q, rng)
            }
            Pricer::RothErev { pending: Some((_, r)), .. } if limit > 0.0 && units > 0 => {
                *r += match side {
                    Side::Sell => (q - limit) / limit,
                    Side::Buy => (limit - q) / limit,
                };
            }
            _ => {}
        }
    }

    /// True when the pricer re-quotes at every arrival (cancelling its open order).
    pub fn requotes(&self) -> bool {
        matches!(self, Pricer::Zip(..) | Pricer::RothErev { .. } | Pricer::Vwap { .. } | Pricer::Builder { .. })
    }

    /// ZIP's margin (for tests and reports).
    pub fn zip_margin(&self) -> Option<f64> {
        match self {
            Pricer::Zip(z, ..) => Some(z.margin()),
            _ => None,
        }
    }
}

/// Any price: rounded, at least 1.
pub fn round_price(x: f64) -> u64 {
    if x.is_finite() { x.round().clamp(1.0, 1e15) as u64 } else { 1 }
}

/// A bid that never exceeds `value`: rounded down; `None` below 1 token.
pub fn bid_price(x: f64, value: f64) -> Option<u64> {
    let b = x.min(value).floor();
    (b.is_finite() && b >= 1.0).then(|| b.min(1e15) as u64)
}

/// An ask that is never below `cost`: rounded up, at least 1.
pub fn ask_price(x: f64, cost: f64) -> u64 {
    let a = x.max(cost).ceil();
    if a.is_finite() { a.clamp(1.0, 1e15) as u64 } else { 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_prices_round_to_the_safe_side() {
        assert_eq!(bid_price(40.6, 40.6), Some(40));
        assert_eq!(bid_price(99.0, 40.6), Some(40));
        assert_eq!(bid_price(0.7, 0.9), None);
        assert_eq!(ask_price(40.2, 40.2), 41);
        assert_eq!(ask_price(10.0, 40.2), 41);
        assert_eq!(ask_price(0.0, 0.0), 1);
    }
}
