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

/// `zi_constrained` has no parameters of its own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {}

impl Behaviour for Params {
    fn price_rule(&self, _: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(ZiC)
    }
}

/// The ZI-C price rule.
#[derive(Clone, Copy, Debug, Default)]
pub struct ZiC;

impl PriceRule for ZiC {
    fn quote(&mut self, q: &Quote<'_>, rng: &mut AgentRng) -> Option<u64> {
        let raw = match q.side {
            synmarket_engine::Side::Buy => uniform(q.min_price.min(q.limit), q.limit, rng),
            synmarket_engine::Side::Sell => uniform(q.limit, q.max_price.max(q.limit), rng),
        };
        limit_price(q.side, raw, q.limit)
    }
}
