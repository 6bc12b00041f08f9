//! Reputation (§7): a score per peer in `[min, max]`, moved by a fixed table of events, with
//! counters, a response-time EMA, tiers and optional decay toward the initial score.
//!
//! Decay is a step function of simulated time: every `decay_step_ms` the market pulls each score
//! toward `initial` by the factor `0.5^(step / half_life)`. Scores are `f64`; they never touch money.

use serde::{Deserialize, Serialize};

use crate::config::ReputationConfig;
use crate::ids::{DurationMs, PeerId};

/// What moved a score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// The tier of a score.
    pub fn of(score: f64) -> Tier {
        if score < 0.0 {
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
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Risky => "risky",
            Tier::New => "new",
            Tier::Standard => "standard",
            Tier::Reliable => "reliable",
            Tier::Trusted => "trusted",
            Tier::Expert => "expert",
            Tier::Legendary => "legendary",
        }
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
pub struct ReputationBook {
    config: ReputationConfig,
    records: Vec<ReputationRecord>,
}

impl ReputationBook {
    /// An empty book.
    pub fn new(config: ReputationConfig) -> Self {
        ReputationBook { config, records: Vec::new() }
    }

    /// Adds the next peer with `initial` or the configured start value (clamped to bounds).
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

    /// One decay step: every score moves toward `initial` by `1 − 0.5^(step/half_life)`.
    /// Pushes each peer whose score changed into `changed`.
    pub fn decay_step(&mut self, changed: &mut Vec<PeerId>) {
        let c = &self.config;
        if c.decay_half_life_ms == 0 {
            return;
        }
        let keep = 0.5f64.powf(c.decay_step_ms as f64 / c.decay_half_life_ms as f64);
        for (i, r) in self.records.iter_mut().enumerate() {
            let new = c.initial + (r.score - c.initial) * keep;
            if new != r.score {
                r.score = new;
                changed.push(PeerId(i as u32));
            }
        }
    }

    /// Number of peers.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when no peer is registered.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The configuration.
    pub fn config(&self) -> &ReputationConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiers_follow_the_table() {
        assert_eq!(Tier::of(-1.0), Tier::Risky);
        assert_eq!(Tier::of(0.0), Tier::New);
        assert_eq!(Tier::of(50.0), Tier::Standard);
        assert_eq!(Tier::of(120.0), Tier::Reliable);
        assert_eq!(Tier::of(250.0), Tier::Trusted);
        assert_eq!(Tier::of(999.9), Tier::Expert);
        assert_eq!(Tier::of(1000.0), Tier::Legendary);
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
        b.decay_step(&mut changed);
        assert_eq!(b.score(PeerId(0)), 100.0);
        assert_eq!(changed, vec![PeerId(0)]);
    }
}
