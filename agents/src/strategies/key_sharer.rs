//! `key_sharer`: fixed-markup providers that register one account from several peers (key
//! sharing, docs/mechanisms.md §9): each run of `peers_per_account` consecutive agents of the
//! population registers the account of its first member. The kernel records `key_sharing` for
//! every completed task on a shared account.

use serde::{Deserialize, Serialize};

use super::fixed_markup::MarkupRule;
use super::pricing::PriceRule;
use super::{Behaviour, Markup, PricerSetup};
use crate::config::Check;
use crate::config::{TomlPath, bad};
use crate::dist::Dist;
use crate::spec::{Context, Role};
use crate::stream::AgentRng;

/// Providers.
pub const ROLES: &[Role] = &[Role::Provider];
/// Attempts policy violations (recorded as ground truth).
pub const ADVERSARIAL: bool = true;

/// Parameters of `key_sharer`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// The markup over cost (0.2 = 20 %), drawn once per agent; default 0.2.
    pub markup: Markup,
    /// Consecutive agents that register one account; default 2, in [2, 1000].
    pub peers_per_account: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params { markup: Markup::default(), peers_per_account: 2 }
    }
}

impl Behaviour for Params {
    fn markup(&self) -> Option<&Dist> {
        Some(&self.markup.0)
    }

    fn price_rule(&self, setup: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(MarkupRule(setup.markup))
    }

    fn peers_per_account(&self) -> u32 {
        self.peers_per_account
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        self.markup.validate()?;
        if !(2..=1_000).contains(&self.peers_per_account) {
            return bad(
                &TomlPath::root().key("peers_per_account"),
                format!("{} is outside [2, 1000]", self.peers_per_account),
            );
        }
        Ok(())
    }
}
