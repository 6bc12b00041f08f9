//! `leaker`: a fixed-markup provider that leaks the payload of private and confidential tasks it
//! runs (`Action::Leak`, with `violation_probability` per task): a privacy incident.

use serde::{Deserialize, Serialize};

use super::fixed_markup::MarkupRule;
use super::pricing::PriceRule;
use super::{Behaviour, Conduct, Markup, PricerSetup, ViolationProbability, chance};
use crate::config::Check;
use crate::dist::Dist;
use crate::spec::{Context, Role};
use crate::stream::AgentRng;
use synmarket_engine::PrivacyLevel;

/// Providers.
pub const ROLES: &[Role] = &[Role::Provider];
/// Attempts policy violations (recorded as ground truth).
pub const ADVERSARIAL: bool = true;

/// Parameters of `leaker`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// The markup over cost (0.2 = 20 %), drawn once per agent; default 0.2.
    pub markup: Markup,
    /// Probability that each private or confidential task is leaked; default 1.
    pub violation_probability: ViolationProbability,
}

impl Behaviour for Params {
    fn markup(&self) -> Option<&Dist> {
        Some(&self.markup.0)
    }

    fn price_rule(&self, setup: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(MarkupRule(setup.markup))
    }

    fn conduct(&self) -> Box<dyn Conduct> {
        Box::new(Leak(self.violation_probability.0))
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        self.markup.validate()?;
        self.violation_probability.validate()?;
        Ok(())
    }
}

/// Leaks non-public payloads.
#[derive(Clone, Copy, Debug)]
pub struct Leak(f64);

impl Conduct for Leak {
    fn leaks(&mut self, privacy: PrivacyLevel, rng: &mut AgentRng) -> bool {
        privacy != PrivacyLevel::Public && chance(self.0, rng)
    }
}
