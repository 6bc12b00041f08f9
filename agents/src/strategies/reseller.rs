//! `reseller`: a provider whose capacity is backed by another provider's account (resale,
//! docs/mechanisms.md §9): every receipt names one backing account, drawn at its first task. It
//! prices as a middleman (`cost / (1 − relay_cut)`). The kernel records `resale` for every
//! accepted completion.

use serde::{Deserialize, Serialize};

use synmarket_engine::AccountId;

use super::conduct::{Conduct, Receipt};
use super::pricing::PriceRule;
use super::relay::{MiddlemanRule, foreign_account, validate_cut};
use super::{Behaviour, PricerSetup};
use crate::agent::GroundTruthKind;
use crate::agent::Observation;
use crate::config::Check;
use crate::spec::{Context, Role};
use crate::stream::AgentRng;

/// Providers.
pub const ROLES: &[Role] = &[Role::Provider];
/// Attempts policy violations (recorded as ground truth).
pub const ADVERSARIAL: bool = true;

/// Parameters of `reseller`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Fraction of the price the reseller keeps; default 0.2, in [0, 0.99].
    pub relay_cut: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params { relay_cut: 0.2 }
    }
}

impl Behaviour for Params {
    fn price_rule(&self, _: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(MiddlemanRule(self.relay_cut))
    }

    fn conduct(&self) -> Box<dyn Conduct> {
        Box::new(Resell { backing: None })
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        validate_cut(self.relay_cut)
    }
}

/// Names the backing account on every receipt.
#[derive(Clone, Copy, Debug)]
pub struct Resell {
    backing: Option<AccountId>,
}

impl Conduct for Resell {
    fn receipt(&mut self, obs: &Observation<'_>, own: Option<AccountId>, rng: &mut AgentRng) -> Receipt {
        let account = match self.backing {
            Some(b) => b,
            None => {
                let b = foreign_account(obs, own, rng);
                self.backing = Some(b);
                b
            }
        };
        Receipt { account, violation: Some(GroundTruthKind::Resale) }
    }
}
