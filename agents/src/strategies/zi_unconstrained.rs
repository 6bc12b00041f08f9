//! `zi_unconstrained`: zero intelligence, unconstrained (Gode & Sunder 1993, "ZI-U"): every quote
//! is uniform in `[min_price, max_price]`, whatever the trader's value or cost.

use serde::{Deserialize, Serialize};

use super::pricing::{PriceRule, Quote, round_price};
use super::{Behaviour, PricerSetup, uniform};
use crate::spec::Role;
use crate::stream::AgentRng;

/// Requesters and providers.
pub const ROLES: &[Role] = &[Role::Requester, Role::Provider];
/// Honest (it may trade at a loss, but breaks no rule).
pub const ADVERSARIAL: bool = false;

/// Parameters of `zi_unconstrained`.
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
        Box::new(ZiU { requote: self.requote })
    }
}

/// The ZI-U price rule.
#[derive(Clone, Copy, Debug, Default)]
pub struct ZiU {
    /// Re-quote at every arrival (see [`Params::requote`]).
    pub requote: bool,
}

impl PriceRule for ZiU {
    fn quote(&mut self, q: &Quote<'_>, rng: &mut AgentRng) -> Option<u64> {
        Some(round_price(uniform(q.min_price, q.max_price, rng)))
    }

    fn requotes(&self) -> bool {
        self.requote
    }
}
