//! `zi_constrained`: zero intelligence, constrained (Gode & Sunder 1993, "ZI-C"). A buyer bids
//! uniformly in `[min_price, value]`, a seller asks uniformly in `[cost, max_price]`; neither ever
//! trades at a loss. The requesting adversaries (dispute abusers, forgers) price this way too.

use serde::{Deserialize, Serialize};

use super::pricing::{PriceRule, Quote, limit_price};
use super::{Behaviour, PricerSetup, uniform};
use crate::spec::Role;
use crate::stream::AgentRng;

/// Requesters and providers.
pub const ROLES: &[Role] = &[Role::Requester, Role::Provider];
/// Honest.
pub const ADVERSARIAL: bool = false;

/// Parameters of `zi_constrained`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Cancel and replace the open order with a fresh random quote at every arrival (so a trader
    /// quotes at its `arrival_rate`, as Gode & Sunder's traders did), instead of holding one
    /// order until it trades, expires or is cancelled. Default `false`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub requote: bool,
}

impl Behaviour for Params {
    fn price_rule(&self, _: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(ZiC { requote: self.requote })
    }
}

/// The ZI-C price rule.
#[derive(Clone, Copy, Debug, Default)]
pub struct ZiC {
    /// Re-quote at every arrival (see [`Params::requote`]).
    pub requote: bool,
}

impl PriceRule for ZiC {
    fn quote(&mut self, q: &Quote<'_>, rng: &mut AgentRng) -> Option<u64> {
        let raw = match q.side {
            synmarket_engine::Side::Buy => uniform(q.min_price.min(q.limit), q.limit, rng),
            synmarket_engine::Side::Sell => uniform(q.limit, q.max_price.max(q.limit), rng),
        };
        limit_price(q.side, raw, q.limit)
    }

    fn requotes(&self) -> bool {
        self.requote
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requote_is_off_by_default_and_read_from_the_file() {
        let p: Params = toml::from_str("").unwrap();
        assert!(!p.requote);
        let p: Params = toml::from_str("requote = true").unwrap();
        assert!(ZiC { requote: p.requote }.requotes());
        assert!(!ZiC::default().requotes());
        // The default is not written back, so resolved scenarios of existing runs are unchanged.
        assert_eq!(toml::to_string(&Params::default()).unwrap(), "");
    }
}
