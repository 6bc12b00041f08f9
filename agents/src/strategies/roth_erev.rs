//! `roth_erev`: Roth–Erev reinforcement learning over a grid of markups (Roth & Erev 1995; Erev &
//! Roth 1998). Sellers ask `cost·(1 + m)`, buyers bid `value·(1 − m)`; the reward of a decision is
//! the relative profit per unit of the fills since it was made (0 without fills).
//!
//! Propensities `q_j` over a grid of markups; action j is chosen with probability
//! `q_j / Σq`. After the reward r of the chosen action k:
//! `q_j ← (1 − φ)q_j + r(1 − ε)` for j = k and `(1 − φ)q_j + rε/(N − 1)` otherwise (recency φ,
//! experimentation ε). Rewards are relative profits per unit, so they are scale free.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use synmarket_engine::Side;

use super::pricing::{PriceRule, Quote, limit_price};
use super::{Behaviour, PricerSetup};
use crate::config::{Check, TomlPath, bad, in_range, probability};
use crate::spec::{Context, MAX_FACTOR, Role};
use crate::stream::AgentRng;

/// Requesters and providers.
pub const ROLES: &[Role] = &[Role::Requester, Role::Provider];
/// Honest.
pub const ADVERSARIAL: bool = false;

/// Most values in a `markups` grid.
pub const MAX_MARKUPS: usize = 1_000;

/// Parameters of `roth_erev`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Params {
    /// The markup grid (sellers: cost·(1+m); buyers: value·(1−m)); default
    /// [0, 0.05, …, 0.5]; 1 to 1000 values in [0, 1000].
    pub markups: Vec<f64>,
    /// Recency (forgetting) φ in [0, 1]; default 0.1.
    pub recency: f64,
    /// Experimentation ε in [0, 1]; default 0.2.
    pub experimentation: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params { markups: (0..=10).map(|i| i as f64 * 0.05).collect(), recency: 0.1, experimentation: 0.2 }
    }
}

impl Behaviour for Params {
    fn price_rule(&self, _: &PricerSetup, _: &mut AgentRng) -> Box<dyn PriceRule> {
        Box::new(RothErevRule {
            learner: RothErev::new(self.markups.len(), self.recency, self.experimentation),
            markups: self.markups.clone(),
            pending: None,
        })
    }

    fn validate(&self, _: &Context<'_>) -> Check<()> {
        let root = TomlPath::root();
        let mp = root.key("markups");
        if self.markups.is_empty() || self.markups.len() > MAX_MARKUPS {
            return bad(&mp, format!("needs 1 to {MAX_MARKUPS} markups, found {}", self.markups.len()));
        }
        for (i, x) in self.markups.iter().enumerate() {
            in_range(&mp.index(i), *x, 0.0, MAX_FACTOR)?;
        }
        probability(&root.key("recency"), self.recency)?;
        probability(&root.key("experimentation"), self.experimentation)?;
        Ok(())
    }
}

/// The Roth–Erev price rule: the learner, the grid, and the decision in force with the reward it
/// earned so far.
#[derive(Clone, Debug)]
pub struct RothErevRule {
    learner: RothErev,
    markups: Vec<f64>,
    pending: Option<(usize, f64)>,
}

impl PriceRule for RothErevRule {
    fn quote(&mut self, q: &Quote<'_>, rng: &mut AgentRng) -> Option<u64> {
        if let Some((k, r)) = self.pending.take() {
            self.learner.reward(k, r);
        }
        let k = self.learner.choose(rng);
        self.pending = Some((k, 0.0));
        let m = self.markups.get(k).copied().unwrap_or(0.0);
        let raw = match q.side {
            Side::Sell => q.limit * (1.0 + m),
            Side::Buy => q.limit * (1.0 - m.min(1.0)),
        };
        limit_price(q.side, raw, q.limit)
    }

    fn on_fill(&mut self, side: Side, limit: f64, price: u64, units: u64, _: &mut AgentRng) {
        if let Some((_, r)) = &mut self.pending
            && limit > 0.0
            && units > 0
        {
            let q = price as f64;
            *r += match side {
                Side::Sell => (q - limit) / limit,
                Side::Buy => (limit - q) / limit,
            };
        }
    }

    fn requotes(&self) -> bool {
        true
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
