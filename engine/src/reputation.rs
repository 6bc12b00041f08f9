//! Reputation (§7): a score per peer in `[min, max]`, moved by a fixed table of events, with
//! counters, a response-time EMA, tiers and optional decay toward the initial score.
//!
//! Scores are `f64`; they never touch money. Every event moves a score by its configured delta
//! (times the number of occurrences) and clamps it to `[min, max]`.
//!
//! **Decay** (optional, `decay_half_life_ms > 0`) pulls scores toward `initial` at the step
//! boundaries `k · decay_step_ms` (k ≥ 1) of simulated time, in closed form: a peer whose last
//! event left it at score `s` when `n₀` boundaries had passed has, once `n` boundaries have passed,
//!
//! ```text
//! score = clamp(initial + (s − initial) · 0.5^((n − n₀) · decay_step_ms / decay_half_life_ms), min, max)
//! ```
//!
//! (exactly `s` while `n = n₀`), computed as `0.5f64.powf((n − n₀) as f64 * step as f64 /
//! half_life as f64)`. The result does not depend on how boundaries are grouped, so a jump over
//! 2^62 ms costs one pass over the peers, not one per step, and is finite for every accepted
//! configuration ([`crate::MarketConfig::validate`] keeps every reputation value within
//! ±[`crate::config::MAX_REPUTATION_MAGNITUDE`]). A boundary that falls at the same time as other
//! timers is applied after them (the decay timer's class is last, §`timers`).

use serde::{Deserialize, Serialize};

use crate::config::ReputationConfig;
use crate::error::MarketError;
use crate::ids::{DurationMs, PeerId};

/// What moved a score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReputationEvent {
    /// A trade settled successfully (provider).
    TradeCompleted,
    /// A task failed: no-show or abandoned (provider).
    TradeFailed,
    /// One SLA violation (provider).
    SlaViolation,
    /// A dispute was raised against the peer.
    TradeDisputed,
    /// The peer won a dispute.
    DisputeWon,
    /// The peer raised a dispute and lost it.
    DisputeLost,
    /// Started within the fast-response time.
    FastResponse,
    /// Started after the slow-response time.
    SlowResponse,
    /// Rated 4 or 5 by a counterparty.
    PositiveFeedback,
    /// Rated 1 or 2 by a counterparty.
    NegativeFeedback,
}

impl ReputationEvent {
    /// The configured delta.
    pub fn delta(self, c: &ReputationConfig) -> f64 {
        match self {
            ReputationEvent::TradeCompleted => c.trade_completed,
            ReputationEvent::TradeFailed => c.trade_failed,
            ReputationEvent::SlaViolation => c.sla_violation,
            ReputationEvent::TradeDisputed => c.trade_disputed,
            ReputationEvent::DisputeWon => c.dispute_won,
            ReputationEvent::DisputeLost => c.dispute_lost,
            ReputationEvent::FastResponse => c.fast_response,
            ReputationEvent::SlowResponse => c.slow_response,
            ReputationEvent::PositiveFeedback => c.positive_feedback,
            ReputationEvent::NegativeFeedback => c.negative_feedback,
        }
    }
}

/// Reputation tiers: Risky < 0 ≤ New < 50 ≤ Standard < 100 ≤ Reliable < 250 ≤ Trusted < 500 ≤
/// Expert < 1000 ≤ Legendary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Below 0.
    Risky,
    /// [0, 50).
    New,
    /// [50, 100).
    Standard,
    /// [100, 250).
    Reliable,
    /// [250, 500).
    Trusted,
    /// [500, 1000).
    Expert,
    /// 1000 and above.
    Legendary,
}

impl Tier {
    /// The tier of a score; a score that is not a number has no tier
    /// ([`MarketError::InvalidReputation`]).
    pub fn of(score: f64) -> Result<Tier, MarketError> {
        if score.is_nan() {
            return Err(MarketError::InvalidReputation(score));
        }
        Ok(if score < 0.0 {
            Tier::Risky
        } else if score < 50.0 {
            Tier::New
        } else if score < 100.0 {
            Tier::Standard
        } else if score < 250.0 {
            Tier::Reliable
        } else if score < 500.0 {
            Tier::Trusted
        } else if score < 1000.0 {
            Tier::Expert
        } else {
            Tier::Legendary
        })
    }

    /// All tiers, ascending.
    pub const ALL: [Tier; 7] =
        [Tier::Risky, Tier::New, Tier::Standard, Tier::Reliable, Tier::Trusted, Tier::Expert, Tier::Legendary];
}

/// A peer's reputation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReputationRecord {
    /// Current score.
    pub score: f64,
    /// Trades settled or failed as provider.
    pub trades: u64,
    /// Trades settled successfully.
    pub successes: u64,
    /// Trades failed.
    pub failures: u64,
    /// Disputes the peer took part in.
    pub disputes: u64,
    /// EMA of response times (0.9 old + 0.1 new), ms; `None` before the first start.
    pub response_ema_ms: Option<f64>,
}

/// The reputation of every peer.
#[derive(Clone, Debug)]
pub(crate) struct ReputationBook {
    config: ReputationConfig,
    records: Vec<ReputationRecord>,
    /// Per peer: the score its last event left and the boundaries passed then (decay's base).
    base: Vec<(f64, u64)>,
    /// Decay boundaries applied so far.
    applied: u64,
}

impl ReputationBook {
    /// An empty book.
    pub fn new(config: ReputationConfig) -> Self {
        ReputationBook { config, records: Vec::new(), base: Vec::new(), applied: 0 }
    }

    /// Adds the next peer with `initial` or the configured start value (clamped to bounds; the
    /// caller has checked that it is finite).
    pub fn add_peer(&mut self, initial: Option<f64>) {
        let score = initial.unwrap_or(self.config.initial).clamp(self.config.min, self.config.max);
        self.records.push(ReputationRecord {
            score,
            trades: 0,
            successes: 0,
            failures: 0,
            disputes: 0,
            response_ema_ms: None,
        });
        self.base.push((score, self.applied));
    }

    /// The score of a peer (the configured start value for an unknown peer).
    #[inline]
    pub fn score(&self, peer: PeerId) -> f64 {
        self.records.get(peer.index()).map(|r| r.score).unwrap_or(self.config.initial)
    }

    /// The record of a peer.
    pub fn record(&self, peer: PeerId) -> Option<&ReputationRecord> {
        self.records.get(peer.index())
    }

    /// Applies an event `times` times; updates counters; returns the new score.
    pub fn apply(&mut self, peer: PeerId, event: ReputationEvent, times: u32) -> f64 {
        let delta = event.delta(&self.config) * times as f64;
        let (min, max) = (self.config.min, self.config.max);
        let Some(r) = self.records.get_mut(peer.index()) else {
            return self.config.initial;
        };
        r.score = (r.score + delta).clamp(min, max);
        self.base[peer.index()] = (r.score, self.applied);
        match event {
            ReputationEvent::TradeCompleted => {
                r.trades += 1;
                r.successes += 1;
            }
            ReputationEvent::TradeFailed => {
                r.trades += 1;
                r.failures += 1;
            }
            ReputationEvent::TradeDisputed => r.disputes += 1,
            _ => {}
        }
        r.score
    }

    /// Records a response time (assignment → start) into the EMA.
    pub fn observe_response(&mut self, peer: PeerId, response_ms: DurationMs) {
        if let Some(r) = self.records.get_mut(peer.index()) {
            let x = response_ms as f64;
            r.response_ema_ms = Some(match r.response_ema_ms {
                None => x,
                Some(old) => 0.9 * old + 0.1 * x,
            });
        }
    }

    /// Counts a dispute for a party that raised one.
    pub fn count_dispute(&mut self, peer: PeerId) {
        if let Some(r) = self.records.get_mut(peer.index()) {
            r.disputes += 1;
        }
    }

    /// Applies decay up to (and including) boundary `boundary` (a no-op when decay is off or the
    /// boundary was already applied), in closed form from each peer's base. Pushes each peer whose
    /// score changed into `changed`.
    pub fn decay_to(&mut self, boundary: u64, changed: &mut Vec<PeerId>) {
        let c = &self.config;
        if c.decay_half_life_ms == 0 || boundary <= self.applied {
            return;
        }
        self.applied = boundary;
        for (i, (r, &(base, from))) in self.records.iter_mut().zip(&self.base).enumerate() {
            let new = decayed(c, base, boundary - from);
            if new.to_bits() != r.score.to_bits() {
                r.score = new;
                changed.push(PeerId(i as u32));
            }
        }
    }

    /// Number of peers.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// The configuration.
    pub fn config(&self) -> &ReputationConfig {
        &self.config
    }
}

/// The closed form: `base` decayed over `steps` boundaries (exactly `base` for 0 steps).
pub(crate) fn decayed(c: &ReputationConfig, base: f64, steps: u64) -> f64 {
    if steps == 0 || c.decay_half_life_ms == 0 {
        return base;
    }
    let keep = 0.5f64.powf(steps as f64 * c.decay_step_ms as f64 / c.decay_half_life_ms as f64);
    (c.initial + (base - c.initial) * keep).clamp(c.min, c.max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_the_table() {
        assert_eq!(Tier::of(-1.0), Ok(Tier::Risky));
        assert_eq!(Tier::of(0.0), Ok(Tier::New));
        assert_eq!(Tier::of(50.0), Ok(Tier::Standard));
        assert_eq!(Tier::of(120.0), Ok(Tier::Reliable));
        assert_eq!(Tier::of(250.0), Ok(Tier::Trusted));
        assert_eq!(Tier::of(999.9), Ok(Tier::Expert));
        assert_eq!(Tier::of(1000.0), Ok(Tier::Legendary));
        assert_eq!(Tier::of(f64::INFINITY), Ok(Tier::Legendary));
        assert_eq!(Tier::of(f64::NEG_INFINITY), Ok(Tier::Risky));
        assert!(matches!(Tier::of(f64::NAN), Err(MarketError::InvalidReputation(_))));
    }

    #[test]
    fn events_move_scores_within_bounds() {
        let mut b = ReputationBook::new(ReputationConfig::default());
        b.add_peer(None);
        b.add_peer(Some(995.0));
        let p = PeerId(0);
        assert_eq!(b.score(p), 50.0);
        assert_eq!(b.apply(p, ReputationEvent::TradeCompleted, 1), 60.0);
        assert_eq!(b.apply(p, ReputationEvent::SlaViolation, 2), 50.0);
        assert_eq!(b.apply(p, ReputationEvent::DisputeLost, 3), 0.0);
        assert_eq!(b.apply(PeerId(1), ReputationEvent::DisputeWon, 1), 1000.0);
        let r = b.record(p).unwrap();
        assert_eq!((r.trades, r.successes), (1, 1));
    }

    #[test]
    fn response_ema() {
        let mut b = ReputationBook::new(ReputationConfig::default());
        b.add_peer(None);
        b.observe_response(PeerId(0), 1000);
        b.observe_response(PeerId(0), 2000);
        assert_eq!(b.record(PeerId(0)).unwrap().response_ema_ms, Some(1100.0));
    }

    #[test]
    fn decay_pulls_toward_initial() {
        let config = ReputationConfig { decay_half_life_ms: 1000, decay_step_ms: 1000, ..Default::default() };
        let mut b = ReputationBook::new(config);
        b.add_peer(Some(150.0));
        b.add_peer(None);
        let mut changed = Vec::new();
        b.decay_to(1, &mut changed);
        assert_eq!(b.score(PeerId(0)), 100.0);
        assert_eq!(changed, vec![PeerId(0)]);
        // Closed form: two boundaries from the base, not one step applied to the decayed score.
        changed.clear();
        b.decay_to(3, &mut changed);
        assert_eq!(b.score(PeerId(0)), 50.0 + 100.0 * 0.125);
        b.apply(PeerId(0), ReputationEvent::TradeCompleted, 1);
        assert_eq!(b.score(PeerId(0)), 72.5);
        b.decay_to(4, &mut changed);
        assert_eq!(b.score(PeerId(0)), 61.25);
        b.decay_to(u64::MAX, &mut changed);
        assert_eq!(b.score(PeerId(0)), 50.0);
    }
}

crate::named!(ReputationEvent, Tier);
