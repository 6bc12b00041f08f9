//! `dispute_abuser`: a ZI-C requester that disputes completed work (with
//! `violation_probability`) instead of approving it, to get refunds. The kernel records
//! `dispute_abuse` for every dispute of delivered work.

use serde::{Deserialize, Serialize};

use super::conduct::Conduct;
use super::pricing::PriceRule;
use super::zi_constrained::ZiC;
use super::{Behaviour, PricerSetup, ViolationProbability, chance};
use crate::config::Check;
use crate::spec::{Context, Role};
use crate::stream::AgentRng;

/// Requesters.
pub const ROLES: &[Role] = &[Role::Requester];
/// Attempts policy violations (recorded as ground truth).
pub const ADVERSARIAL: bool = true;

/// Parameters of `dispute_abuser`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Probability that each completed escrow is disputed; default 1.
    pub violation_probability: ViolationProbability,
}

impl Behaviour for Params {
    fn price_rule(&self, _: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(ZiC::default())
    }

    fn conduct(&self) -> Box<dyn Conduct> {
        Box::new(Abuse(self.violation_probability.0))
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        self.violation_probability.validate()
    }
}

/// Disputes with probability `.0`.
#[derive(Clone, Copy, Debug)]
pub struct Abuse(f64);

impl Conduct for Abuse {
    fn disputes(&mut self, rng: &mut AgentRng) -> bool {
        chance(self.0, rng)
    }
}
