//! `vwap_tracker`: a provider that asks the engine's VWAP of its task type times
//! `1 + vwap_margin`, never below its cost; before the first trade of the window it asks
//! `cost × (1 + markup)`. Re-quotes at every arrival.

use serde::{Deserialize, Serialize};

use super::pricing::{PriceRule, Quote, limit_price};
use super::{Behaviour, Markup, PricerSetup};
use crate::config::{Check, Domain, TomlPath, dist};
use crate::dist::Dist;
use crate::spec::{Context, MAX_FACTOR, Role};
use crate::stream::AgentRng;

/// Providers.
pub const ROLES: &[Role] = &[Role::Provider];
/// Honest.
pub const ADVERSARIAL: bool = false;

/// Parameters of `vwap_tracker`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Margin over the VWAP, drawn once per agent; default 0, in [−0.99, 1000].
    pub vwap_margin: Dist,
    /// Markup over cost before the first trade; default 0.2.
    pub markup: Markup,
}

impl Default for Params {
    fn default() -> Self {
        Params { vwap_margin: Dist::Fixed(0.0), markup: Markup::default() }
    }
}

impl Behaviour for Params {
    fn markup(&self) -> Option<&Dist> {
        Some(&self.markup.0)
    }

    fn price_rule(&self, setup: &PricerSetup, rng: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(VwapRule { margin: self.vwap_margin.sample(rng), fallback: setup.markup })
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        dist(&TomlPath::root().key("vwap_margin"), &self.vwap_margin, Domain::closed(-0.99, MAX_FACTOR))?;
        self.markup.validate()
    }
}

/// `max(cost, VWAP × (1 + margin))`, or `cost × (1 + fallback)` without price discovery.
#[derive(Clone, Copy, Debug)]
pub struct VwapRule {
    margin: f64,
    fallback: f64,
}

impl PriceRule for VwapRule {
    fn quote(&mut self, q: &Quote<'_>, _: &mut AgentRng) -> Option<u64> {
        let raw = q.view.trades.map_or(q.limit * (1.0 + self.fallback), |t| t.vwap * (1.0 + self.margin)).max(q.limit);
        limit_price(q.side, raw, q.limit)
    }

    fn requotes(&self) -> bool {
        true
    }
}
