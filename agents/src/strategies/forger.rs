//! `forger`: a ZI-C requester that, with `violation_probability` per arrival, places its order in
//! another peer's name signed with its own key (`Action::ForgeOrder`, docs/mechanisms.md §10). It
//! needs `market.verify_signatures = true`, under which every forgery is refused. The kernel
//! records `forgery` for every attempt.

use serde::{Deserialize, Serialize};

use super::conduct::Conduct;
use super::pricing::PriceRule;
use super::zi_constrained::ZiC;
use super::{Behaviour, PricerSetup, ViolationProbability, chance};
use crate::config::{Check, TomlPath, bad};
use crate::spec::{Context, Role};
use crate::stream::AgentRng;

/// Requesters.
pub const ROLES: &[Role] = &[Role::Requester];
/// Attempts policy violations (recorded as ground truth).
pub const ADVERSARIAL: bool = true;

/// Parameters of `forger`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Probability that each arrival is a forgery; default 1.
    pub violation_probability: ViolationProbability,
}

impl Behaviour for Params {
    fn price_rule(&self, _: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(ZiC::default())
    }

    fn conduct(&self) -> Box<dyn Conduct> {
        Box::new(Forge(self.violation_probability.0))
    }

    fn validate(&self, ctx: &Context<'_>) -> Check<()> {
        if !ctx.verify_signatures {
            return bad(
                &TomlPath::root().key("strategy"),
                "forgers need market.verify_signatures = true (without signatures a forged order would be accepted)",
            );
        }
        self.violation_probability.validate()
    }
}

/// Forges with probability `.0`.
#[derive(Clone, Copy, Debug)]
pub struct Forge(f64);

impl Conduct for Forge {
    fn forges(&mut self, rng: &mut AgentRng) -> bool {
        chance(self.0, rng)
    }
}
