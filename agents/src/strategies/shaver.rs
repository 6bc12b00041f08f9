//! `shaver`: a trader that improves the best standing quote on its side by one tick (one token)
//! while that stays within its limit: a buyer bids the best open bid + 1, a seller asks the best
//! resting ask − 1. With no quote on its side it opens at the far end of the population's price
//! range (`min_price` for a bid, `max_price` for an ask), and when improving would cross its limit
//! it quotes the limit itself. A benchmark of the experimental literature: the simplest trader
//! that reacts to the book (the "shaver" of Cliff's BSE; Rust, Miller & Palmer 1993 describe such
//! "skeleton" improvers), between `giveaway` (no reaction, no surplus kept) and ZIP (learning).
//!
//! The improvement rule of a continuous double auction accepts exactly such quotes; under the
//! first-accept auction a shaver's bid is matched at once when a cheap enough offer rests.

use serde::{Deserialize, Serialize};

use super::pricing::{PriceRule, Quote, limit_price};
use super::{Behaviour, PricerSetup};
use crate::spec::Role;
use crate::stream::AgentRng;
use synmarket_engine::Side;

/// Requesters and providers.
pub const ROLES: &[Role] = &[Role::Requester, Role::Provider];
/// Honest.
pub const ADVERSARIAL: bool = false;

/// The tick: the smallest price step, tokens per unit (prices are whole tokens).
pub const TICK: u64 = 1;

/// `shaver` has no parameters of its own (its range is the population's `min_price` and
/// `max_price`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {}

impl Behaviour for Params {
    fn price_rule(&self, _: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(Shaver)
    }
}

/// Improves the best quote on its side by [`TICK`], within its limit.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shaver;

impl PriceRule for Shaver {
    fn quote(&mut self, q: &Quote<'_>, _: &mut AgentRng) -> Option<u64> {
        let raw = match q.side {
            Side::Buy => q.view.best_bid.map_or(q.min_price, |b| b.saturating_add(TICK) as f64),
            Side::Sell => q.view.best_ask.map_or(q.max_price, |a| a.saturating_sub(TICK) as f64),
        };
        // limit_price caps a bid at the value and floors an ask at the cost: a shave that would
        // cross the limit becomes the limit.
        limit_price(q.side, raw, q.limit)
    }

    /// A seller reads the best ask, which the market fills in only for rules that ask for it.
    fn watches_best_ask(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::View;
    use crate::stream::stream_rng;

    fn quote(side: Side, limit: f64, best_bid: Option<u64>, best_ask: Option<u64>) -> Option<u64> {
        let mut rng = stream_rng(1, "shaver", 0);
        let view = View { best_bid, best_ask, ..View::default() };
        Shaver.quote(&Quote { side, limit, view: &view, min_price: 5.0, max_price: 200.0 }, &mut rng)
    }

    #[test]
    fn improves_the_best_quote_by_one_tick_within_the_limit() {
        assert_eq!(quote(Side::Buy, 80.0, Some(50), None), Some(51));
        assert_eq!(quote(Side::Sell, 40.0, None, Some(60)), Some(59));
        // Improving would cross the limit: quote the limit (bids down, asks up).
        assert_eq!(quote(Side::Buy, 50.6, Some(50), None), Some(50));
        assert_eq!(quote(Side::Buy, 50.6, Some(70), None), Some(50));
        assert_eq!(quote(Side::Sell, 59.2, None, Some(60)), Some(60));
        assert_eq!(quote(Side::Sell, 59.2, None, Some(30)), Some(60));
    }

    #[test]
    fn opens_at_the_far_end_of_the_range_on_an_empty_side() {
        assert_eq!(quote(Side::Buy, 80.0, None, Some(60)), Some(5));
        assert_eq!(quote(Side::Sell, 40.0, Some(50), None), Some(200));
        // A value below the range's floor still never bids above the value.
        assert_eq!(quote(Side::Buy, 3.0, None, None), Some(3));
        assert_eq!(quote(Side::Buy, 0.5, None, None), None, "a bid below 1 token is not placed");
    }

    #[test]
    fn extreme_quotes_do_not_overflow() {
        assert_eq!(quote(Side::Buy, 1e18, Some(u64::MAX), None), Some(1_000_000_000_000_000));
        assert_eq!(quote(Side::Sell, 0.0, None, Some(0)), Some(1));
    }
}
