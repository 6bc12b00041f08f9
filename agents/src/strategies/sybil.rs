//! `sybil`: an unreliable fixed-markup provider that abandons an identity whose reputation fell
//! below `reentry_threshold` and re-enters as a new peer (`Action::ReEnter`), at most
//! `max_reentries` times. The kernel records `sybil_reentry` and keeps the chain of identities.

use serde::{Deserialize, Serialize};

use super::fixed_markup::MarkupRule;
use super::pricing::PriceRule;
use super::{Behaviour, Conduct, Markup, PricerSetup};
use crate::config::Check;
use crate::config::{TomlPath, bad, in_range};
use crate::dist::Dist;
use crate::spec::{Context, Reliability, Role};
use crate::stream::AgentRng;
use synmarket_engine::{Market, PeerId};

/// Providers.
pub const ROLES: &[Role] = &[Role::Provider];
/// Attempts policy violations (recorded as ground truth).
pub const ADVERSARIAL: bool = true;

/// Parameters of `sybil`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// The markup over cost (0.2 = 20 %), drawn once per agent; default 0.2.
    pub markup: Markup,
    /// Reputation below which the agent re-enters; default 40, within the reputation bounds.
    pub reentry_threshold: f64,
    /// Most re-entries per agent; default 100, in [0, 1000000].
    pub max_reentries: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params { markup: Markup::default(), reentry_threshold: 40.0, max_reentries: 100 }
    }
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

    fn conduct(&self) -> Box<dyn Conduct> {
        Box::new(Reenter { threshold: self.reentry_threshold, max: self.max_reentries, done: 0 })
    }

    fn validate(&self, ctx: &Context<'_>) -> Check<()> {
        self.markup.validate()?;
        let root = TomlPath::root();
        in_range(&root.key("reentry_threshold"), self.reentry_threshold, ctx.reputation.0, ctx.reputation.1)?;
        if self.max_reentries > 1_000_000 {
            return bad(&root.key("max_reentries"), format!("{} is outside [0, 1000000]", self.max_reentries));
        }
        Ok(())
    }
}

/// Re-enters below the threshold, a bounded number of times.
#[derive(Clone, Debug)]
pub struct Reenter {
    threshold: f64,
    max: u32,
    done: u32,
}

impl Conduct for Reenter {
    fn re_enter(&mut self, market: &Market, me: PeerId) -> bool {
        if self.done < self.max && market.reputation(me) < self.threshold {
            self.done += 1;
            true
        } else {
            false
        }
    }
}
