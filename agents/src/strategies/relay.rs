//! `relay`: a provider that forwards tasks to someone else's account and keeps a cut (a relay,
//! docs/mechanisms.md §9). With `violation_probability` per task its receipt names another
//! provider's account; it asks `cost / (1 − relay_cut)` ([`MiddlemanRule`]). The kernel records
//! `relay` for every accepted completion with a foreign receipt.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use synmarket_engine::{AccountId, PeerId};

use super::conduct::{Conduct, Receipt};
use super::pricing::{PriceRule, Quote, limit_price};
use super::{Behaviour, PricerSetup, ViolationProbability, account_of, chance};
use crate::agent::GroundTruthKind;
use crate::agent::Observation;
use crate::config::{Check, TomlPath, in_range};
use crate::spec::{Context, Role};
use crate::stream::AgentRng;

/// Providers.
pub const ROLES: &[Role] = &[Role::Provider];
/// Attempts policy violations (recorded as ground truth).
pub const ADVERSARIAL: bool = true;

/// Parameters of `relay`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Fraction of the price the middleman keeps; default 0.2, in [0, 0.99].
    pub relay_cut: f64,
    /// Probability that each task is relayed; default 1.
    pub violation_probability: ViolationProbability,
}

impl Default for Params {
    fn default() -> Self {
        Params { relay_cut: 0.2, violation_probability: ViolationProbability::default() }
    }
}

/// Checks `relay_cut`.
pub(crate) fn validate_cut(cut: f64) -> Check<()> {
    in_range(&TomlPath::root().key("relay_cut"), cut, 0.0, 0.99).map(drop)
}

impl Behaviour for Params {
    fn price_rule(&self, _: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(MiddlemanRule(self.relay_cut))
    }

    fn conduct(&self) -> Box<dyn Conduct> {
        Box::new(Relay(self.violation_probability.0))
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        validate_cut(self.relay_cut)?;
        self.violation_probability.validate()
    }
}

/// A middleman's price: `cost / (1 − cut)`.
#[derive(Clone, Copy, Debug)]
pub struct MiddlemanRule(pub f64);

impl PriceRule for MiddlemanRule {
    fn quote(&mut self, q: &Quote<'_>, _: &mut AgentRng) -> Option<u64> {
        limit_price(q.side, q.limit / (1.0 - self.0.clamp(0.0, 0.99)), q.limit)
    }
}

/// Names a foreign account with probability `.0`.
#[derive(Clone, Copy, Debug)]
pub struct Relay(f64);

impl Conduct for Relay {
    fn receipt(&mut self, obs: &Observation<'_>, own: Option<AccountId>, rng: &mut AgentRng) -> Receipt {
        if chance(self.0, rng) {
            Receipt { account: foreign_account(obs, own, rng), violation: Some(GroundTruthKind::Relay) }
        } else {
            Receipt { account: own.unwrap_or(AccountId(u64::MAX - obs.me.0 as u64)), violation: None }
        }
    }
}

/// Another peer's account (not `own`), drawn from the agent's stream: up to 8 tries at a random
/// peer's account, else an outside subscription nobody in the market registered.
pub(crate) fn foreign_account(obs: &Observation<'_>, own: Option<AccountId>, rng: &mut AgentRng) -> AccountId {
    let n = obs.market.peer_count() as u32;
    for _ in 0..8 {
        let p = PeerId(rng.random_range(0..n.max(1)));
        if let Some(acc) = account_of(obs, p)
            && Some(acc) != own
        {
            return acc;
        }
    }
    AccountId(u64::MAX - obs.me.0 as u64)
}
