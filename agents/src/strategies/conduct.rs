//! The execution policy of an agent: the hook through which rule-breaking strategies act.
//!
//! The role agents ask their [`Conduct`] at each decision where a rule can be broken, and the
//! kernel records what was attempted as ground truth from the answer (a foreign receipt names
//! the violation it is), so neither names a strategy. Every method defaults to honest behaviour;
//! a method draws from the agent's stream only when the strategy acts on that decision, so an
//! honest agent's stream is untouched by these hooks.

use synmarket_engine::{AccountId, Market, PeerId, PrivacyLevel};

use crate::agent::GroundTruthKind;
use crate::agent::Observation;
use crate::dist::Dist;
use crate::stream::AgentRng;

/// The account a provider names on a task's receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The account named.
    pub account: AccountId,
    /// The violation a foreign account is (relay or resale); the kernel records it.
    pub violation: Option<GroundTruthKind>,
}

/// An agent's execution policy.
pub trait Conduct: Send + std::fmt::Debug {
    /// Provider, first thing at an arrival: abandon this identity and re-enter as a new peer?
    fn re_enter(&mut self, _market: &Market, _me: PeerId) -> bool {
        false
    }

    /// Provider: the quality distribution of a task it runs (`honest` is its reliability's).
    fn quality<'a>(&'a self, _market: &Market, _provider: PeerId, honest: &'a Dist) -> &'a Dist {
        honest
    }

    /// Provider: the account to name on a receipt; `own` is its registered account.
    fn receipt(&mut self, obs: &Observation<'_>, own: Option<AccountId>, _rng: &mut AgentRng) -> Receipt {
        // Without an account of its own: an outside subscription nobody in the market registered.
        Receipt { account: own.unwrap_or(AccountId(u64::MAX - obs.me.0 as u64)), violation: None }
    }

    /// Provider: leak the payload of a task of this privacy level?
    fn leaks(&mut self, _privacy: PrivacyLevel, _rng: &mut AgentRng) -> bool {
        false
    }

    /// The rating (1–5) given to the counterparty of a settled trade; `honest` is what the
    /// outcome earns.
    fn rating(&self, honest: u8) -> u8 {
        honest
    }

    /// Requester: dispute completed work instead of approving it?
    fn disputes(&mut self, _rng: &mut AgentRng) -> bool {
        false
    }

    /// Requester: place this order in another peer's name?
    fn forges(&mut self, _rng: &mut AgentRng) -> bool {
        false
    }

    /// Arbitrator: vote against the evidence on this dispute?
    fn votes_against_evidence(&mut self, _rng: &mut AgentRng) -> bool {
        false
    }
}

/// The honest policy: every default.
#[derive(Clone, Copy, Debug, Default)]
pub struct Honest;

impl Conduct for Honest {}
