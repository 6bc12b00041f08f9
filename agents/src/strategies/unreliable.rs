//! `unreliable`: a fixed-markup provider with the unreliable execution preset
//! ([`Reliability::unreliable`]: no-shows, slow starts, low quality, offline at a quarter of its
//! arrivals); any `[population.reliability]` key overrides the preset.

use serde::{Deserialize, Serialize};

use super::fixed_markup::MarkupRule;
use super::pricing::PriceRule;
use super::{Behaviour, Markup, PricerSetup};
use crate::config::Check;
use crate::dist::Dist;
use crate::spec::{Context, Reliability, Role};
use crate::stream::AgentRng;

/// Providers.
pub const ROLES: &[Role] = &[Role::Provider];
/// Honest.
pub const ADVERSARIAL: bool = false;

/// Parameters of `unreliable`.
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

    fn reliability_preset(&self) -> Option<Reliability> {
        Some(Reliability::unreliable())
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        self.markup.validate()?;
        Ok(())
    }
}
