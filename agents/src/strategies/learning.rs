//! The two adaptive learners: Cliff's Zero-Intelligence-Plus margin (1997) and the Roth–Erev
//! reinforcement learner (1995; Erev and Roth 1998). Both are plain state machines over `f64`
//! with no market access: the pricer feeds them observations and asks for a price.
//!
//! **ZIP.** A trader with limit price λ (a buyer's value, a seller's cost) quotes
//! `p = λ·(1 + μ)` with margin μ ≥ 0 for sellers and μ ∈ [−1, 0] for buyers. To move toward a
//! target τ it takes a Widrow–Hoff step with momentum:
//! `Δ = β(τ − p)`, `Γ ← γΓ + (1 − γ)Δ`, `μ ← (p + Γ)/λ − 1`. Raising the margin (more profit)
//! aims at `τ = R·q + A` above a seller's / below a buyer's reference price q, lowering it at the
//! other side, with `R ∈ U[1, 1.05]` (raise) or `U[0.95, 1]` (lower) and `A ∈ U[0, 0.01·q]`
//! (Cliff's absolute A of 0.05 on prices near 1–4, rescaled to integer token prices).
//!
//! **Roth–Erev.** Propensities `q_j` over a grid of markups; action j is chosen with probability
//! `q_j / Σq`. After the reward r of the chosen action k:
//! `q_j ← (1 − φ)q_j + r(1 − ε)` for j = k and `(1 − φ)q_j + rε/(N − 1)` otherwise (recency φ,
//! experimentation ε). Rewards are relative profits per unit, so they are scale free.

use rand::RngExt;

use crate::stream::AgentRng;

/// Which side a trader quotes: the engine's order side (`Buy`: a requester's bid, limit = value;
/// `Sell`: a provider's ask, limit = cost).
pub use synmarket_engine::Side;

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

/// A Roth–Erev learner over a grid of actions.
#[derive(Clone, Debug, PartialEq)]
pub struct RothErev {
    propensities: Vec<f64>,
    recency: f64,
    experimentation: f64,
}

/// Smallest propensity (keeps every action reachable).
const MIN_PROPENSITY: f64 = 1e-6;

impl RothErev {
    /// `n` actions, each with propensity 1.
    pub fn new(n: usize, recency: f64, experimentation: f64) -> Self {
        RothErev {
            propensities: vec![1.0; n.max(1)],
            recency: recency.clamp(0.0, 1.0),
            experimentation: experimentation.clamp(0.0, 1.0),
        }
    }

    /// Draws an action index with probability proportional to its propensity.
    pub fn choose(&self, rng: &mut AgentRng) -> usize {
        let total: f64 = self.propensities.iter().sum();
        let mut x = rng.random::<f64>() * total;
        for (i, q) in self.propensities.iter().enumerate() {
            if x < *q {
                return i;
            }
            x -= q;
        }
        self.propensities.len() - 1
    }

    /// Reinforces action `k` with reward `r ≥ 0` (negative rewards count as 0).
    pub fn reward(&mut self, k: usize, r: f64) {
        let r = if r.is_finite() { r.max(0.0) } else { 0.0 };
        let n = self.propensities.len();
        let spill = if n > 1 { r * self.experimentation / (n - 1) as f64 } else { 0.0 };
        for (j, q) in self.propensities.iter_mut().enumerate() {
            let e = if j == k { r * (1.0 - self.experimentation) } else { spill };
            *q = ((1.0 - self.recency) * *q + e).max(MIN_PROPENSITY);
        }
    }

    /// Choice probabilities.
    pub fn probabilities(&self) -> Vec<f64> {
        let total: f64 = self.propensities.iter().sum();
        self.propensities.iter().map(|q| q / total).collect()
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

    #[test]
    fn roth_erev_learns_the_rewarded_action() {
        let mut rng = stream_rng(4, "re", 0);
        let mut re = RothErev::new(5, 0.1, 0.2);
        for _ in 0..300 {
            let k = re.choose(&mut rng);
            re.reward(k, if k == 3 { 1.0 } else { 0.0 });
        }
        let p = re.probabilities();
        assert!(p[3] > 0.6, "{p:?}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
}
