//! `giveaway`: a trader that quotes its limit price: a buyer bids its value, a seller asks its
//! cost (after the fee). A benchmark of the experimental literature: it gives all of its surplus
//! away to the counterparty, the opposite of a profit-seeking trader (e.g. Rust, Miller & Palmer
//! 1993, "Behavior of trading automata in a computerized double auction market", where such
//! "giveaway" programs anchor the comparison).

use serde::{Deserialize, Serialize};

use super::pricing::{PriceRule, Quote, limit_price};
use super::{Behaviour, PricerSetup};
use crate::spec::Role;
use crate::stream::AgentRng;

/// Requesters and providers.
pub const ROLES: &[Role] = &[Role::Requester, Role::Provider];
/// Honest.
pub const ADVERSARIAL: bool = false;

/// `giveaway` has no parameters of its own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {}

impl Behaviour for Params {
    fn price_rule(&self, _: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(Giveaway)
    }
}

/// Quotes the limit price on either side (rounded to the safe side: bids down, asks up).
#[derive(Clone, Copy, Debug, Default)]
pub struct Giveaway;

impl PriceRule for Giveaway {
    fn quote(&mut self, q: &Quote<'_>, _: &mut AgentRng) -> Option<u64> {
        limit_price(q.side, q.limit, q.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategies::View;
    use crate::stream::stream_rng;
    use synmarket_engine::Side;

    #[test]
    fn quotes_the_limit_on_both_sides() {
        let mut rng = stream_rng(1, "giveaway", 0);
        let view = View::default();
        let mut g = Giveaway;
        let q = |side, limit| Quote { side, limit, view: &view, min_price: 1.0, max_price: 200.0 };
        assert_eq!(g.quote(&q(Side::Buy, 80.6), &mut rng), Some(80));
        assert_eq!(g.quote(&q(Side::Sell, 40.2), &mut rng), Some(41));
        assert_eq!(g.quote(&q(Side::Buy, 0.5), &mut rng), None, "a bid below 1 token is not placed");
    }
}
