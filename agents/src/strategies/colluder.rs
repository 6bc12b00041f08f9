//! `colluder`: a ring member. Requester and provider populations with the same `ring` trade
//! only among themselves: ring providers hold the capability `ring-<name>` (interned by the
//! kernel) that ring requests require, both sides quote the ring price (`max_price`), and
//! members rate each other 5. The kernel records `collusion_feedback` for every rating of 4 or
//! more between ring members.

use serde::{Deserialize, Serialize};

use super::conduct::Conduct;
use super::pricing::{PriceRule, Quote, round_price};
use super::{Behaviour, PricerSetup};
use crate::config::{Check, TomlPath, name};
use crate::spec::{Context, Role};
use crate::stream::AgentRng;

/// Requesters and providers.
pub const ROLES: &[Role] = &[Role::Requester, Role::Provider];
/// Attempts policy violations (recorded as ground truth).
pub const ADVERSARIAL: bool = true;

/// Parameters of `colluder`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Name of the ring (a name: letters, digits, `_`, `-`); default `"ring"`.
    pub ring: String,
}

impl Default for Params {
    fn default() -> Self {
        Params { ring: "ring".into() }
    }
}

impl Behaviour for Params {
    fn price_rule(&self, _: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(RingRule)
    }

    fn conduct(&self) -> Box<dyn Conduct> {
        Box::new(RingMember)
    }

    fn ring(&self) -> Option<&str> {
        Some(&self.ring)
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        name(&TomlPath::root().key("ring"), &self.ring).map(drop)
    }
}

/// Quotes the ring price, `max_price`, on both sides.
#[derive(Clone, Copy, Debug)]
pub struct RingRule;

impl PriceRule for RingRule {
    fn quote(&mut self, q: &Quote<'_>, _: &mut AgentRng) -> Option<u64> {
        Some(round_price(q.max_price))
    }
}

/// Rates every counterparty 5.
#[derive(Clone, Copy, Debug)]
pub struct RingMember;

impl Conduct for RingMember {
    fn rating(&self, _honest: u8) -> u8 {
        5
    }
}
