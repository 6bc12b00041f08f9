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

use rand::RngExt;
use serde::{Deserialize, Serialize};

use synmarket_engine::Side;

use super::pricing::{PriceRule, Quote, limit_price};
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
        Box::new(ZipRule { zip: Zip::new(setup.side, setup.limit, m0, beta, gamma), seen: None, waiting: false })
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        let root = TomlPath::root();
        let unit = Domain::closed(0.0, 1.0);
        dist(&root.key("learning_rate"), &self.learning_rate, unit)?;
        dist(&root.key("momentum"), &self.momentum, unit)?;
        dist(&root.key("initial_margin"), &self.initial_margin, Domain::closed(0.0, MAX_FACTOR))
    }
}

/// The ZIP price rule: the learner, the last price-discovery snapshot seen, and whether the last
/// quote is outstanding without a fill.
#[derive(Clone, Debug)]
pub struct ZipRule {
    zip: Zip,
    seen: Option<(u64, u128)>,
    waiting: bool,
}

impl PriceRule for ZipRule {
    fn quote(&mut self, q: &Quote<'_>, rng: &mut AgentRng) -> Option<u64> {
        let snapshot = q.view.trades.map(|t| (t.count, t.turnover));
        let trade = match (snapshot, self.seen) {
            (Some(now), before) if Some(now) != before => q.view.trades.map(|t| t.vwap),
            _ => None,
        };
        self.seen = snapshot;
        self.zip.observe(self.waiting, trade, q.view.best_ask, q.view.best_bid, rng);
        self.waiting = true;
        limit_price(q.side, self.zip.price(), q.limit)
    }

    fn on_fill(&mut self, _: Side, _: f64, price: u64, _: u64, rng: &mut AgentRng) {
        self.waiting = false;
        self.zip.raise(price as f64, rng)
    }

    fn requotes(&self) -> bool {
        true
    }

    fn watches_best_ask(&self) -> bool {
        true
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

    /// Cliff's rules on what the trader saw since its last quote: `unfilled` when its own last
    /// quote found no counterparty (its shout was not accepted: it concedes toward the best
    /// opposite quote, or past its own price when there is none); else `trade` is the price of
    /// trades in the market (the engine's VWAP, when new trades happened), and `best_ask` /
    /// `best_bid` the standing quotes.
    pub fn observe(
        &mut self,
        unfilled: bool,
        trade: Option<f64>,
        best_ask: Option<u64>,
        best_bid: Option<u64>,
        rng: &mut AgentRng,
    ) {
        let p = self.price();
        if unfilled {
            let q = match self.side {
                Side::Sell => best_bid.map(|b| b as f64).filter(|&b| b < p),
                Side::Buy => best_ask.map(|a| a as f64).filter(|&a| a > p),
            };
            self.lower(q.unwrap_or(p), rng);
            return;
        }
        match (self.side, trade) {
            (Side::Sell, Some(q)) => {
                if p <= q {
                    self.raise(q, rng)
                } else {
                    self.lower(q, rng)
                }
            }
            (Side::Buy, Some(q)) => {
                if p >= q {
                    self.raise(q, rng)
                } else {
                    self.lower(q, rng)
                }
            }
            // Quotes are whole tokens (asks rounded up, bids down): compare within one token.
            (Side::Sell, None) => {
                if let Some(a) = best_ask.map(|a| a as f64)
                    && p > a - 1.0
                {
                    self.lower(a, rng)
                }
            }
            (Side::Buy, None) => {
                if let Some(b) = best_bid.map(|b| b as f64)
                    && p < b + 1.0
                {
                    self.lower(b, rng)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::stream_rng;

    #[test]
    fn zip_seller_margin_moves_toward_the_trade_price() {
        let mut rng = stream_rng(1, "zip", 0);
        let mut z = Zip::new(Side::Sell, 50.0, 1.0, 0.3, 0.05);
        assert_eq!(z.price(), 100.0);
        for _ in 0..60 {
            z.observe(false, Some(60.0), None, None, &mut rng);
        }
        assert!((z.price() - 60.0).abs() < 4.0, "price {}", z.price());
        // Never below cost.
        for _ in 0..60 {
            z.observe(false, Some(10.0), None, None, &mut rng);
        }
        assert!(z.price() >= 50.0 && z.margin() >= 0.0);
    }

    #[test]
    fn zip_buyer_margin_moves_toward_the_trade_price_and_never_above_value() {
        let mut rng = stream_rng(2, "zip", 0);
        let mut z = Zip::new(Side::Buy, 100.0, 0.6, 0.3, 0.05);
        assert_eq!(z.price(), 40.0);
        for _ in 0..60 {
            z.observe(false, Some(70.0), None, None, &mut rng);
        }
        assert!((z.price() - 70.0).abs() < 5.0, "price {}", z.price());
        for _ in 0..60 {
            z.observe(false, Some(150.0), None, None, &mut rng);
        }
        assert!(z.price() <= 100.0 + 1e-9 && z.margin() <= 0.0);
    }

    #[test]
    fn zip_unaccepted_quotes_lower_the_margin() {
        let mut rng = stream_rng(3, "zip", 0);
        let mut z = Zip::new(Side::Sell, 50.0, 0.5, 0.3, 0.0);
        let before = z.margin();
        z.observe(false, None, Some(60), None, &mut rng);
        assert!(z.margin() < before);
        let m = z.margin();
        z.observe(true, None, None, None, &mut rng);
        assert!(z.margin() < m, "an unaccepted quote concedes");
    }
}
