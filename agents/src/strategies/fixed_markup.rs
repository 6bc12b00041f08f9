//! `fixed_markup`: a provider that asks `cost × (1 + markup)`, the markup drawn once per agent.
//! Several other provider strategies price this way ([`MarkupRule`]).

use serde::{Deserialize, Serialize};

use super::pricing::{PriceRule, Quote, limit_price};
use super::{Behaviour, Markup, PricerSetup};
use crate::config::Check;
use crate::dist::Dist;
use crate::spec::{Context, Role};
use crate::stream::AgentRng;

/// Providers.
pub const ROLES: &[Role] = &[Role::Provider];
/// Honest.
pub const ADVERSARIAL: bool = false;

/// Parameters of `fixed_markup`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// The markup over cost (0.2 = 20 %), drawn once per agent; default 0.2.
    pub markup: Markup,
}

impl Behaviour for Params {
    fn markup(&self) -> Option<&Dist> {
        Some(&self.markup.0)
    }

    fn price_rule(&self, setup: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(MarkupRule(setup.markup))
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        self.markup.validate()
    }
}

/// Asks `limit × (1 + markup)`.
#[derive(Clone, Copy, Debug, Default)]
pub struct MarkupRule(pub f64);

impl PriceRule for MarkupRule {
    fn quote(&mut self, q: &Quote<'_>, _: &mut AgentRng) -> Option<u64> {
        limit_price(q.side, q.limit * (1.0 + self.0), q.limit)
    }
}
