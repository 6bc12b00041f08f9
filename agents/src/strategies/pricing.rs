//! How a trader sets its price: one [`PriceRule`] per agent, built by its strategy.
//!
//! Prices are rounded toward the trader's side of its limit: bids of limit-respecting rules are
//! rounded down and never exceed the value ([`bid_price`]), asks rounded up and never below the
//! cost ([`ask_price`]), so a ZI-C trader never trades at a loss (Gode and Sunder 1993). A bid
//! that would round below 1 token is not placed.
//!
//! What an adaptive rule observes ([`View`]): the engine's price discovery of its task type (VWAP
//! over the window, with a new observation whenever the window's trade count or turnover
//! changed), the standing best ask and best bid, its own reputation, and its own fills.

use synmarket_engine::{PriceStats, Side};

use crate::stream::AgentRng;

/// What the market shows a trader at an arrival.
#[derive(Clone, Copy, Debug, Default)]
pub struct View {
    /// Price discovery of the task type.
    pub trades: Option<PriceStats>,
    /// Lowest resting ask (only filled in for rules that [`PriceRule::watches_best_ask`]).
    pub best_ask: Option<u64>,
    /// Highest open bid.
    pub best_bid: Option<u64>,
    /// The trader's reputation.
    pub reputation: f64,
}

/// One quote to make.
#[derive(Clone, Copy, Debug)]
pub struct Quote<'a> {
    /// The side quoted.
    pub side: Side,
    /// The trader's limit price (value or fee-adjusted cost), tokens per unit.
    pub limit: f64,
    /// What the market shows.
    pub view: &'a View,
    /// The population's `min_price`.
    pub min_price: f64,
    /// The population's `max_price`.
    pub max_price: f64,
}

/// A shout in the market (Cliff 1997): an order placed at `price` on `side`, `accepted` when it
/// traded on arrival (then `price` is the trade price).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shout {
    /// The side of the order shouted.
    pub side: Side,
    /// Its price, or the trade price when accepted.
    pub price: u64,
    /// True when it traded on arrival.
    pub accepted: bool,
}

/// A trader's price rule and its learning state.
pub trait PriceRule: Send + std::fmt::Debug {
    /// The price to quote now, in whole tokens per unit, or `None` to stay out of the market.
    fn quote(&mut self, q: &Quote<'_>, rng: &mut AgentRng) -> Option<u64>;

    /// The trader's limit price changed: its next unit has another value or cost (a schedule of
    /// unit values, `crate::dist::UnitValues::Schedule`). Rules that remember the limit follow it;
    /// ZIP keeps its margin and applies it to the new limit (Cliff 1997, one limit per unit).
    fn set_limit(&mut self, _limit: f64) {}

    /// A fill of `units` at `price` per unit (learning rules update here).
    fn on_fill(&mut self, _side: Side, _limit: f64, _price: u64, _units: u64, _rng: &mut AgentRng) {}

    /// True when the rule re-quotes at every arrival (cancelling its open order).
    fn requotes(&self) -> bool {
        false
    }

    /// True when the rule reads the best ask (the market is asked for it only then).
    fn watches_best_ask(&self) -> bool {
        false
    }

    /// True when the rule observes every shout of its task types ([`PriceRule::on_shout`]).
    fn wants_market_events(&self) -> bool {
        false
    }

    /// A shout in the market; `active` when the trader still has a unit to trade.
    fn on_shout(&mut self, _shout: &Shout, _active: bool, _rng: &mut AgentRng) {}

    /// The current profit margin, for rules that have one (ZIP), for tests and reports.
    fn margin(&self) -> Option<f64> {
        None
    }
}

/// The price rule of agents that never quote (arbitrators).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoQuotes;

impl PriceRule for NoQuotes {
    fn quote(&mut self, _: &Quote<'_>, _: &mut AgentRng) -> Option<u64> {
        None
    }
}

/// A raw price on the trader's side of its limit: bids rounded down and capped at the limit,
/// asks rounded up and floored at it.
pub fn limit_price(side: Side, raw: f64, limit: f64) -> Option<u64> {
    match side {
        Side::Buy => bid_price(raw, limit),
        Side::Sell => Some(ask_price(raw, limit)),
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
