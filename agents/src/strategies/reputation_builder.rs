//! `reputation_builder`: a provider that undercuts while new and raises its markup as its
//! reputation tier rises: markup `intro_markup` up to Standard (a new peer starts at 50, the
//! bottom of Standard), then a third of the way to `markup` per tier: Reliable, Trusted, Expert
//! and above. Re-quotes at every arrival.

use serde::{Deserialize, Serialize};

use synmarket_engine::Tier;

use super::pricing::{PriceRule, Quote, round_price};
use super::{Behaviour, Markup, PricerSetup};
use crate::config::{Check, Domain, TomlPath, dist};
use crate::dist::Dist;
use crate::spec::{Context, MAX_FACTOR, Role};
use crate::stream::AgentRng;

/// Providers.
pub const ROLES: &[Role] = &[Role::Provider];
/// Honest.
pub const ADVERSARIAL: bool = false;

/// Parameters of `reputation_builder`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Markup while new (negative undercuts cost), drawn once per agent; default −0.1, in
    /// [−0.99, 1000].
    pub intro_markup: Dist,
    /// Markup reached at Expert; default 0.2.
    pub markup: Markup,
}

impl Default for Params {
    fn default() -> Self {
        Params { intro_markup: Dist::Fixed(-0.1), markup: Markup::default() }
    }
}

impl Behaviour for Params {
    fn markup(&self) -> Option<&Dist> {
        Some(&self.markup.0)
    }

    fn price_rule(&self, setup: &PricerSetup, rng: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(BuilderRule { intro: self.intro_markup.sample(rng), target: setup.markup })
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        dist(&TomlPath::root().key("intro_markup"), &self.intro_markup, Domain::closed(-0.99, MAX_FACTOR))?;
        self.markup.validate()
    }
}

/// Markup from `intro` to `target` by reputation tier.
#[derive(Clone, Copy, Debug)]
pub struct BuilderRule {
    intro: f64,
    target: f64,
}

impl PriceRule for BuilderRule {
    fn quote(&mut self, q: &Quote<'_>, _: &mut AgentRng) -> Option<u64> {
        let progress = match Tier::of(q.view.reputation).unwrap_or(Tier::Risky) {
            Tier::Risky | Tier::New | Tier::Standard => 0.0,
            Tier::Reliable => 1.0 / 3.0,
            Tier::Trusted => 2.0 / 3.0,
            Tier::Expert | Tier::Legendary => 1.0,
        };
        Some(round_price(q.limit * (1.0 + self.intro + (self.target - self.intro) * progress)))
    }

    fn requotes(&self) -> bool {
        true
    }
}
