//! `honest_arbitrator`: an arbitrator that votes by the evidence
//! ([`crate::roles::evidence_vote`]): release for work that completed (SLA penalties are owed either
//! way), refund for work that never completed. It approves the arbitrated escrows it sits on.

use serde::{Deserialize, Serialize};

use super::pricing::{NoQuotes, PriceRule};
use super::{Behaviour, PricerSetup};
use crate::spec::Role;
use crate::stream::AgentRng;

/// Arbitrators.
pub const ROLES: &[Role] = &[Role::Arbitrator];
/// Honest.
pub const ADVERSARIAL: bool = false;

/// `honest_arbitrator` has no parameters of its own.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {}

impl Behaviour for Params {
    fn price_rule(&self, _: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(NoQuotes)
    }
}
