//! `zip`: Cliff's Zero-Intelligence-Plus trader (Cliff 1997, HP Labs HPL-97-141). The learner
//! [`Zip`] is a plain state machine over `f64` with no market access; [`ZipRule`] feeds it what
//! the market showed and asks it for a price.
//!
//! A trader with limit price λ (a buyer's value, a seller's cost) quotes
//! `p = λ·(1 + μ)` with margin μ ≥ 0 for sellers and μ ∈ [−1, 0] for buyers. To move toward a
//! target τ it takes a Widrow–Hoff step with momentum:
//! `Δ = β(τ − p)`, `Γ ← γΓ + (1 − γ)Δ`, `μ ← (p + Γ)/λ − 1`. Raising the margin (more profit)
//! aims at `τ = R·q + A` above a seller's / below a buyer's reference price q, lowering it at the
//! other side, with `R ∈ U[1, 1.05]` (raise) or `U[0.95, 1]` (lower) and `A ∈ U[0, 0.01·q]`
//! (Cliff's absolute A of 0.05 on prices near 1–4, rescaled to integer token prices).
//!
//! **When the margin moves** (Cliff 1997, HPL-97-141, section 4): on every shout in the market of
//! the trader's task types, not at the trader's own arrivals. The kernel reports each order placed
//! as a shout; it is *accepted* when it traded on arrival (q is then the trade price, one shout per
//! match), else unaccepted at its own price q. With p the price the trader would quote now
//! ([`Zip::shout_price`]) and *active* meaning it still has a unit to trade this period:
//! - seller, accepted at q: p ≤ q → raise; else, if the shout was a bid and the seller is active,
//!   lower. Unaccepted ask at q: an active seller with p ≥ q lowers.
//! - buyer, accepted at q: p ≥ q → raise (bid less); else, if the shout was an ask and the buyer is
//!   active, lower (bid more). Unaccepted bid at q: an active buyer with p ≤ q lowers.
//!
//! Cliff's rules 1 and 2 both hold at p = q; as in Cliff's BSE implementation only the raise is
//! taken then. A fill itself changes nothing beyond the shout that made it. At an arrival the
//! trader cancels its open order and quotes its current price (`requotes`).
//!
//! Defaults (Cliff 1997, section 4): β ∈ U[0.1, 0.5], γ ∈ U[0, 0.1], initial margin
//! |μ₀| ∈ U[0.05, 0.35] for both sides; R and A as above.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use synmarket_engine::Side;

use super::pricing::{PriceRule, Quote, Shout, limit_price};
use super::{Behaviour, PricerSetup};
use crate::config::{Check, Domain, TomlPath, dist};
use crate::dist::Dist;
use crate::spec::{Context, MAX_FACTOR, Role};
use crate::stream::AgentRng;

/// Requesters and providers.
pub const ROLES: &[Role] = &[Role::Requester, Role::Provider];
/// Honest.
pub const ADVERSARIAL: bool = false;

/// Parameters of `zip`, drawn once per agent (defaults from Cliff 1997, section 4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// Widrow–Hoff learning rate β; default U[0.1, 0.5], in [0, 1].
    pub learning_rate: Dist,
    /// Momentum γ; default U[0, 0.1], in [0, 1].
    pub momentum: Dist,
    /// Initial profit margin |μ₀| (sellers ask cost·(1+μ), buyers bid value·(1−μ)); default
    /// U[0.05, 0.35], in [0, 1000].
    pub initial_margin: Dist,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            learning_rate: Dist::Uniform(0.1, 0.5),
            momentum: Dist::Uniform(0.0, 0.1),
            initial_margin: Dist::Uniform(0.05, 0.35),
        }
    }
}

impl Behaviour for Params {
    fn price_rule(&self, setup: &PricerSetup, rng: &mut AgentRng) -> Box<dyn PriceRule> {
        let m0 = self.initial_margin.sample(rng);
        let beta = self.learning_rate.sample(rng);
        let gamma = self.momentum.sample(rng);
        Box::new(ZipRule { zip: Zip::new(setup.side, setup.limit, m0, beta, gamma) })
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        let root = TomlPath::root();
        let unit = Domain::closed(0.0, 1.0);
        dist(&root.key("learning_rate"), &self.learning_rate, unit)?;
        dist(&root.key("momentum"), &self.momentum, unit)?;
        dist(&root.key("initial_margin"), &self.initial_margin, Domain::closed(0.0, MAX_FACTOR))
    }
}

/// The ZIP price rule: the learner, updated on every shout of its task types
/// ([`PriceRule::on_shout`]), quoting its current price at its arrivals.
#[derive(Clone, Debug)]
pub struct ZipRule {
    zip: Zip,
}

impl PriceRule for ZipRule {
    fn quote(&mut self, q: &Quote<'_>, _rng: &mut AgentRng) -> Option<u64> {
        limit_price(q.side, self.zip.price(), q.limit)
    }

    fn requotes(&self) -> bool {
        true
    }

    fn set_limit(&mut self, limit: f64) {
        self.zip.set_limit(limit);
    }

    fn wants_market_events(&self) -> bool {
        true
    }

    fn on_shout(&mut self, shout: &Shout, active: bool, rng: &mut AgentRng) {
        self.zip.on_shout(shout.side, shout.price as f64, shout.accepted, active, rng)
    }

    fn margin(&self) -> Option<f64> {
        Some(self.zip.margin())
    }
}

/// Cliff's ZIP margin.
#[derive(Clone, Debug, PartialEq)]
pub struct Zip {
    side: Side,
    limit: f64,
    margin: f64,
    beta: f64,
    gamma: f64,
    momentum: f64,
}

impl Zip {
    /// A learner with limit λ, starting margin |μ₀|, learning rate β and momentum γ.
    pub fn new(side: Side, limit: f64, initial_margin: f64, beta: f64, gamma: f64) -> Self {
        let m = initial_margin.abs();
        let margin = match side {
            Side::Sell => m,
            Side::Buy => -m.min(1.0),
        };
        Zip {
            side,
            limit: limit.max(0.0),
            margin,
            beta: beta.clamp(0.0, 1.0),
            gamma: gamma.clamp(0.0, 1.0),
            momentum: 0.0,
        }
    }

    /// A new limit λ (the trader's next unit), the margin kept.
    pub fn set_limit(&mut self, limit: f64) {
        self.limit = limit.max(0.0);
    }

    /// The current margin μ.
    pub fn margin(&self) -> f64 {
        self.margin
    }

    /// The current quote λ(1 + μ).
    pub fn price(&self) -> f64 {
        self.limit * (1.0 + self.margin)
    }

    /// One Widrow–Hoff step with momentum toward `target`.
    pub fn step_toward(&mut self, target: f64) {
        if self.limit <= 0.0 || !target.is_finite() {
            return;
        }
        let p = self.price();
        let delta = self.beta * (target - p);
        self.momentum = self.gamma * self.momentum + (1.0 - self.gamma) * delta;
        let m = (p + self.momentum) / self.limit - 1.0;
        self.margin = match self.side {
            Side::Sell => m.max(0.0),
            Side::Buy => m.clamp(-1.0, 0.0),
        };
    }

    /// More profit: a seller raises its ask toward above `q`, a buyer lowers its bid toward below `q`.
    pub fn raise(&mut self, q: f64, rng: &mut AgentRng) {
        let r = 1.0 + 0.05 * rng.random::<f64>();
        let a = 0.01 * q * rng.random::<f64>();
        let target = match self.side {
            Side::Sell => r * q + a,
            Side::Buy => q * (2.0 - r) - a,
        };
        self.step_toward(target);
    }

    /// Less profit: a seller lowers its ask toward below `q`, a buyer raises its bid toward above `q`.
    pub fn lower(&mut self, q: f64, rng: &mut AgentRng) {
        let r = 1.0 + 0.05 * rng.random::<f64>();
        let a = 0.01 * q * rng.random::<f64>();
        let target = match self.side {
            Side::Sell => q * (2.0 - r) - a,
            Side::Buy => r * q + a,
        };
        self.step_toward(target);
    }

    /// The price the trader would shout now: asks rounded up, bids down, as quoted
    /// ([`limit_price`]); Cliff's comparisons `p ≤ q`, `p ≥ q` use it, so a trader's own shout
    /// at q compares equal.
    pub fn shout_price(&self) -> f64 {
        match self.side {
            Side::Sell => self.price().max(self.limit).ceil(),
            Side::Buy => self.price().min(self.limit).floor(),
        }
    }

    /// Cliff's (1997, section 4) rules on a shout of side `side` at `q`, `accepted` when it traded
    /// (then `q` is the trade price); `active` when this trader still has a unit to trade.
    ///
    /// Sellers: accepted at q: if p ≤ q raise the margin, else if it was a bid and the seller is
    /// active (p > q) lower it; not accepted: if it was an ask, p ≥ q and the seller is active,
    /// lower. Buyers: accepted at q: if p ≥ q raise, else if it was an ask and the buyer is
    /// active (p < q) lower; not accepted: if it was a bid, p ≤ q and the buyer is active, lower.
    pub fn on_shout(&mut self, side: Side, q: f64, accepted: bool, active: bool, rng: &mut AgentRng) {
        let p = self.shout_price();
        match (self.side, accepted) {
            (Side::Sell, true) => {
                if p <= q {
                    self.raise(q, rng)
                } else if side == Side::Buy && active {
                    self.lower(q, rng)
                }
            }
            (Side::Sell, false) => {
                if side == Side::Sell && active && p >= q {
                    self.lower(q, rng)
                }
            }
            (Side::Buy, true) => {
                if p >= q {
                    self.raise(q, rng)
                } else if side == Side::Sell && active {
                    self.lower(q, rng)
                }
            }
            (Side::Buy, false) => {
                if side == Side::Buy && active && p <= q {
                    self.lower(q, rng)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::stream_rng;

    fn seller() -> Zip {
        Zip::new(Side::Sell, 50.0, 0.2, 0.3, 0.0) // p = 60
    }

    fn buyer() -> Zip {
        Zip::new(Side::Buy, 100.0, 0.2, 0.3, 0.0) // p = 80
    }

    fn after(mut z: Zip, side: Side, q: f64, accepted: bool, active: bool) -> f64 {
        let before = z.margin();
        z.on_shout(side, q, accepted, active, &mut stream_rng(1, "zip", 0));
        z.margin() - before
    }

    #[test]
    fn seller_rule_1_raises_after_a_trade_at_or_above_its_price_even_inactive() {
        assert!(after(seller(), Side::Buy, 70.0, true, false) > 0.0);
        assert!(after(seller(), Side::Sell, 60.0, true, false) > 0.0);
    }

    #[test]
    fn seller_rule_2_lowers_after_an_accepted_bid_below_its_price_only_when_active() {
        assert!(after(seller(), Side::Buy, 55.0, true, true) < 0.0);
        assert_eq!(after(seller(), Side::Buy, 55.0, true, false), 0.0);
        // An accepted ask below its price is no evidence for a seller.
        assert_eq!(after(seller(), Side::Sell, 55.0, true, true), 0.0);
    }

    #[test]
    fn seller_rule_3_lowers_after_an_unaccepted_ask_at_or_below_its_price() {
        assert!(after(seller(), Side::Sell, 58.0, false, true) < 0.0);
        assert!(after(seller(), Side::Sell, 60.0, false, true) < 0.0, "its own shout");
        assert_eq!(after(seller(), Side::Sell, 65.0, false, true), 0.0);
        assert_eq!(after(seller(), Side::Sell, 58.0, false, false), 0.0);
        assert_eq!(after(seller(), Side::Buy, 58.0, false, true), 0.0);
    }

    #[test]
    fn buyer_rule_1_raises_after_a_trade_at_or_below_its_price_even_inactive() {
        assert!(after(buyer(), Side::Sell, 70.0, true, false) < 0.0, "more negative margin: lower bid");
        assert!(after(buyer(), Side::Buy, 80.0, true, false) < 0.0);
    }

    #[test]
    fn buyer_rule_2_lowers_after_an_accepted_ask_above_its_price_only_when_active() {
        assert!(after(buyer(), Side::Sell, 85.0, true, true) > 0.0);
        assert_eq!(after(buyer(), Side::Sell, 85.0, true, false), 0.0);
        assert_eq!(after(buyer(), Side::Buy, 85.0, true, true), 0.0);
    }

    #[test]
    fn buyer_rule_3_lowers_after_an_unaccepted_bid_at_or_above_its_price() {
        assert!(after(buyer(), Side::Buy, 82.0, false, true) > 0.0);
        assert!(after(buyer(), Side::Buy, 80.0, false, true) > 0.0, "its own shout");
        assert_eq!(after(buyer(), Side::Buy, 75.0, false, true), 0.0);
        assert_eq!(after(buyer(), Side::Buy, 82.0, false, false), 0.0);
        assert_eq!(after(buyer(), Side::Sell, 82.0, false, true), 0.0);
    }

    #[test]
    fn margins_stay_on_the_profitable_side() {
        let mut rng = stream_rng(2, "zip", 0);
        let mut s = seller();
        let mut b = buyer();
        for _ in 0..100 {
            s.on_shout(Side::Sell, 10.0, false, true, &mut rng);
            b.on_shout(Side::Buy, 150.0, false, true, &mut rng);
        }
        assert!(s.margin() >= 0.0 && b.margin() <= 0.0);
        assert!(s.price() >= 50.0 && b.price() <= 100.0 + 1e-9);
    }
}
