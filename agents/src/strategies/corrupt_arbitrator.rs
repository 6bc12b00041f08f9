//! `corrupt_arbitrator`: an arbitrator that votes against the evidence with
//! `violation_probability` per dispute. The kernel records `corrupt_vote` for every accepted vote
//! that differs from the evidence.

use serde::{Deserialize, Serialize};

use super::conduct::Conduct;
use super::pricing::{NoQuotes, PriceRule};
use super::{Behaviour, PricerSetup, ViolationProbability, chance};
use crate::config::Check;
use crate::spec::{Context, Role};
use crate::stream::AgentRng;

/// Arbitrators.
pub const ROLES: &[Role] = &[Role::Arbitrator];
/// Attempts policy violations (recorded as ground truth).
pub const ADVERSARIAL: bool = true;

/// Parameters of `corrupt_arbitrator`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Probability that each vote goes against the evidence; default 1.
    pub violation_probability: ViolationProbability,
}

impl Behaviour for Params {
    fn price_rule(&self, _: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(NoQuotes)
    }

    fn conduct(&self) -> Box<dyn Conduct> {
        Box::new(Corrupt(self.violation_probability.0))
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        self.violation_probability.validate()
    }
}

/// Votes against the evidence with probability `.0` (no draw when it is 0).
#[derive(Clone, Copy, Debug)]
pub struct Corrupt(f64);

impl Conduct for Corrupt {
    fn votes_against_evidence(&mut self, rng: &mut AgentRng) -> bool {
        self.0 > 0.0 && chance(self.0, rng)
    }
}
