//! `truthful`: a requester that bids its private value.

use serde::{Deserialize, Serialize};

use super::pricing::{PriceRule, Quote, limit_price};
use super::{Behaviour, PricerSetup};
use crate::spec::Role;
use crate::stream::AgentRng;

/// Requesters.
pub const ROLES: &[Role] = &[Role::Requester];
/// Honest.
pub const ADVERSARIAL: bool = false;

/// `truthful` has no parameters of its own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {}

impl Behaviour for Params {
    fn price_rule(&self, _: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(Truthful)
    }
}

/// Quotes the limit price.
#[derive(Clone, Copy, Debug, Default)]
pub struct Truthful;

impl PriceRule for Truthful {
    fn quote(&mut self, q: &Quote<'_>, _: &mut AgentRng) -> Option<u64> {
        limit_price(q.side, q.limit, q.limit)
    }
}
