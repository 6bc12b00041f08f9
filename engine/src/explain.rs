//! Why an offer does or does not qualify for a request (§3), for narration, debugging and tests.
//!
//! [`Market::qualification`] evaluates the same filters as matching, in the same order, and names
//! the first that fails. It is a query: matching itself does not call it (the hot path inlines the
//! checks), and a test pins that both agree.

use crate::capability::CapabilitySet;
use crate::error::MarketError;
use crate::ids::{OrderId, PeerId};
use crate::market::Market;
use crate::order::{PrivacyLevel, Side};

/// The first qualification filter an offer fails for a request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Disqualified {
    /// Different task types.
    TaskType,
    /// The ask is above the bid.
    Price {
        /// Ask.
        ask: u64,
        /// Bid.
        bid: u64,
    },
    /// The offer lacks capabilities the request needs.
    Capabilities {
        /// What is missing.
        missing: CapabilitySet,
    },
    /// The provider's reputation is below the request's minimum.
    Reputation {
        /// Provider's score.
        have: f64,
        /// Required.
        need: f64,
    },
    /// The privacy rule of the request's level fails.
    Privacy {
        /// The level.
        level: PrivacyLevel,
        /// Provider's score.
        reputation: f64,
        /// Whether the offer holds the confidential attestation.
        attested: bool,
    },
    /// Provider and requester are the same peer.
    SamePeer,
    /// The provider is banned.
    Banned(PeerId),
    /// The auction has no free provider slot.
    NoSlot,
    /// The provider's usage cap has no room left in the window.
    CapFull,
}

impl std::fmt::Display for Disqualified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Disqualified::TaskType => write!(f, "a different task type"),
            Disqualified::Price { ask, bid } => write!(f, "its ask {ask} is above the bid {bid}"),
            Disqualified::Capabilities { missing } => write!(f, "it lacks {} needed capabilities", missing.len()),
            Disqualified::Reputation { have, need } => {
                write!(f, "its reputation {have:.0} is below the required {need:.0}")
            }
            Disqualified::Privacy { level, reputation, attested } => {
                write!(
                    f,
                    "the {} privacy rule fails (reputation {reputation:.0}, attested: {attested})",
                    level.as_str()
                )
            }
            Disqualified::SamePeer => write!(f, "provider and requester are the same peer"),
            Disqualified::Banned(p) => write!(f, "provider {p} is banned"),
            Disqualified::NoSlot => write!(f, "the auction has no free provider slot"),
            Disqualified::CapFull => write!(f, "the provider's usage cap is used up"),
        }
    }
}

impl Market {
    /// Whether `offer` qualifies for `request` now (`Ok(Ok(()))`), the first filter it fails
    /// (`Ok(Err(_))`), or an error for unknown orders or wrong sides.
    pub fn qualification(&self, request: OrderId, offer: OrderId) -> Result<Result<(), Disqualified>, MarketError> {
        let r = self.order(request).ok_or(MarketError::UnknownOrder(request))?;
        let o = self.order(offer).ok_or(MarketError::UnknownOrder(offer))?;
        if r.side != Side::Buy || o.side != Side::Sell {
            return Err(MarketError::WrongState { action: "explain a match", state: "wrong order sides" });
        }
        let rep = self.reputation(o.trader);
        let verdict = if r.spec.task_type != o.spec.task_type {
            Err(Disqualified::TaskType)
        } else if o.price_per_unit > r.price_per_unit {
            Err(Disqualified::Price { ask: o.price_per_unit, bid: r.price_per_unit })
        } else if !r.spec.capabilities.is_subset_of(o.spec.capabilities) {
            Err(Disqualified::Capabilities { missing: CapabilitySet(r.spec.capabilities.0 & !o.spec.capabilities.0) })
        } else if rep < r.spec.min_reputation {
            Err(Disqualified::Reputation { have: rep, need: r.spec.min_reputation })
        } else if !self.privacy_ok(r.spec.privacy_level, rep, o.spec.capabilities) {
            Err(Disqualified::Privacy {
                level: r.spec.privacy_level,
                reputation: rep,
                attested: o.spec.capabilities.contains(0),
            })
        } else if o.trader == r.trader {
            Err(Disqualified::SamePeer)
        } else if self.peer_state(o.trader).is_some_and(|p| p.banned) {
            Err(Disqualified::Banned(o.trader))
        } else if r.providers_used >= r.max_providers {
            Err(Disqualified::NoSlot)
        } else if self.cap_room_now(o.trader) == 0 {
            Err(Disqualified::CapFull)
        } else {
            Ok(())
        };
        Ok(verdict)
    }

    /// Usage-cap room of a provider at the market's clock, without mutating the window.
    pub fn cap_room_now(&self, provider: PeerId) -> u64 {
        let Some(p) = self.peer_state(provider) else { return 0 };
        let Some(cap) = p.usage_cap_units else { return u64::MAX };
        let window = self.config().usage_cap_window_ms;
        let now = self.now();
        let used: u64 = p.usage.iter().filter(|&&(t, _)| now.saturating_sub(t) < window).map(|&(_, u)| u).sum();
        cap.saturating_sub(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    #[test]
    fn names_the_first_failing_filter() {
        let mut m = Market::new(MarketConfig::default()).unwrap();
        let tt = m.register_task_type("code_generation").unwrap();
        let rust = m.capabilities(["rust"]).unwrap();
        let r = m.register_peer(PeerSpec { endowment: 100_000, ..Default::default() }, 0).unwrap();
        let low = m
            .register_peer(
                PeerSpec { account: Some(AccountId(1)), initial_reputation: Some(50.0), ..Default::default() },
                0,
            )
            .unwrap();
        let o1 = m.place_order(NewOrder::sell(low, 45, 100, ComputeTaskSpec::new(tt, rust)), 0).unwrap();
        let o2 = m.place_order(NewOrder::sell(low, 60, 100, ComputeTaskSpec::new(tt, rust)), 0).unwrap();
        let mut spec = ComputeTaskSpec::new(tt, rust);
        spec.min_reputation = 60.0;
        let req = m.place_order(NewOrder::buy(r, 50, 100, spec), 0).unwrap();
        assert!(m.assignments().is_empty());
        assert_eq!(m.qualification(req, o1).unwrap(), Err(Disqualified::Reputation { have: 50.0, need: 60.0 }));
        assert_eq!(m.qualification(req, o2).unwrap(), Err(Disqualified::Price { ask: 60, bid: 50 }));
        assert!(m.qualification(o1, req).is_err());
    }
}
