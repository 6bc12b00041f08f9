//! Market configuration: every tunable rule of docs/mechanisms.md, with the documented defaults.
//!
//! The engine takes a [`MarketConfig`] by value in [`crate::Market::new`] and checks it with
//! [`MarketConfig::validate`]. The struct's serde form is the scenario file's `[market]` table
//! (documented key by key in `scenarios/README.md`): every key has a default, unknown keys are
//! refused, durations are duration strings (`auction_window = "15m"` for `auction_window_ms`,
//! see [`crate::duration`]), and `market_seed` is not a key (it is derived from the scenario's
//! seed). [`ConfigError::field`] names the key as it is written in the file.
//!
//! **Limits** (what `validate` accepts; scenario validation states the same):
//! - every duration (windows, timeouts, deadlines, the time lock, the decay half-life and step) is
//!   at most [`MAX_DURATION_MS`] (10 years); the same limit applies to SLA durations and task-spec
//!   durations at placement. Deadlines are computed with saturating arithmetic, so even the clock
//!   near `u64::MAX` never wraps a deadline into the past: a deadline beyond `u64::MAX` falls due
//!   at `u64::MAX`.
//! - every reputation value (initial, bounds, event deltas) is finite and within
//!   ±[`MAX_REPUTATION_MAGNITUDE`], so scores, their differences and decay stay finite.
//! - `Arbitrators { required, total }` needs `1 <= required <= total`, and so do the dispute panel
//!   values. The threshold `required` is never lowered at run time: a panel that cannot be staffed
//!   does not decide on fewer votes (see [`crate::lifecycle`]).

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::ids::{DAY, DurationMs, HOUR, MINUTE, SECOND};

/// The price a match trades at; it always lies in `[ask, bid]` (§3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PriceRule {
    /// Pay as offered (a procurement auction). The default.
    #[default]
    Ask,
    /// The price of the order that was waiting, as in a continuous double auction.
    Resting,
    /// The midpoint of bid and ask, rounded down.
    Midpoint,
    /// Pay the bid.
    Bid,
}

/// The market institution: how requests and offers meet (§3, docs/mechanisms.md "Institutions").
/// Every institution uses the same orders, wallets, escrow, SLAs, reputation and compliance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Institution {
    /// The first-accept auction: a request takes the best qualifying resting offers at once and
    /// stays open for `auction_window`; an incoming offer serves open requests at once. The
    /// default; the trade price follows `pricing`.
    #[default]
    FirstAccept,
    /// A continuous double auction (Smith 1962; Gode and Sunder 1993): as first-accept, plus
    /// the improvement rule (an order that does not cross the other side must beat the best
    /// quote on its own side, else it is refused with `not_improving`) and trade at the resting
    /// order's price. With `clear_book_after_trade` every open order of the task type is
    /// cancelled after each trade, as in Gode and Sunder's experiments.
    ContinuousDoubleAuction,
    /// A sealed-bid reverse auction (procurement, as Akash): a request opens a bidding window of
    /// `auction_window`; nothing matches on arrival; at the window's end the request is awarded
    /// to the best qualifying offers then resting (lowest reputation-weighted ask first), paid
    /// as `sealed_bid_price` says.
    SealedBidReverse,
    /// A call market (periodic uniform-price double auction): orders accumulate and every
    /// `call_interval` each task type clears at one price that maximises the units that can
    /// trade (tie rules in `matching.rs`).
    CallMarket,
}

impl Institution {
    /// The institution in words, for messages ("the continuous double auction").
    pub fn description(self) -> &'static str {
        match self {
            Institution::FirstAccept => "the first-accept auction",
            Institution::ContinuousDoubleAuction => "the continuous double auction",
            Institution::SealedBidReverse => "the sealed-bid reverse auction",
            Institution::CallMarket => "the call market",
        }
    }
}

impl Institution {
    /// True when orders match the moment they arrive (first-accept, continuous double auction).
    #[inline]
    pub fn matches_on_arrival(self) -> bool {
        matches!(self, Institution::FirstAccept | Institution::ContinuousDoubleAuction)
    }
}

/// What a winner of a sealed-bid reverse auction is paid per unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SealedBidPrice {
    /// Its own ask (first price). The default.
    #[default]
    FirstPrice,
    /// The highest ask at which it would still have won: the reputation-weighted ask of the
    /// best qualifying losing offer of another provider, converted to the winner's own weight,
    /// at least its ask and at most the bid; the bid when no other provider qualifies (Vickrey
    /// 1961, as a scoring auction).
    SecondPrice,
}

/// Who must approve the release of an escrow (§5).
///
/// In files: `"single"`, `"both_parties"`, `{ arbitrators = { required = 2, total = 3 } }` or
/// `{ time_locked = "2h" }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", from = "MultiSigFile", into = "MultiSigFile")]
pub enum MultiSigType {
    /// The requester's approval releases. The default.
    #[default]
    Single,
    /// Both parties must approve; the approval that completes the pair releases at once.
    BothParties,
    /// `required` distinct approvals from the escrow's `total` arbitrators; parties do not count.
    Arbitrators {
        /// Approvals needed.
        required: u8,
        /// Arbitrators drawn for the escrow.
        total: u8,
    },
    /// Released automatically `release_after_ms` after completion.
    TimeLocked {
        /// Delay after completion.
        release_after_ms: DurationMs,
    },
}

/// The file form of [`MultiSigType`]: the time lock is a duration string.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum MultiSigFile {
    Single,
    BothParties,
    Arbitrators { required: u8, total: u8 },
    TimeLocked(#[serde(with = "crate::duration::serde_ms")] DurationMs),
}

impl From<MultiSigFile> for MultiSigType {
    fn from(f: MultiSigFile) -> Self {
        match f {
            MultiSigFile::Single => MultiSigType::Single,
            MultiSigFile::BothParties => MultiSigType::BothParties,
            MultiSigFile::Arbitrators { required, total } => MultiSigType::Arbitrators { required, total },
            MultiSigFile::TimeLocked(release_after_ms) => MultiSigType::TimeLocked { release_after_ms },
        }
    }
}

impl From<MultiSigType> for MultiSigFile {
    fn from(m: MultiSigType) -> Self {
        match m {
            MultiSigType::Single => MultiSigFile::Single,
            MultiSigType::BothParties => MultiSigFile::BothParties,
            MultiSigType::Arbitrators { required, total } => MultiSigFile::Arbitrators { required, total },
            MultiSigType::TimeLocked { release_after_ms } => MultiSigFile::TimeLocked(release_after_ms),
        }
    }
}

/// What happens to a disputed escrow that no panel resolves by the dispute timeout (§5, §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DisputeDefault {
    /// Settle as if released to the provider.
    ReleaseToProvider,
    /// Refund the requester in full. The default: the burden of proof is on the provider.
    #[default]
    RefundToRequester,
    /// Split the escrow evenly.
    SplitEvenly,
}

/// Reputation rules (§7). Scores are `f64`; they never touch money.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReputationConfig {
    /// Score of a new peer (`NewUserBonus`).
    pub initial: f64,
    /// Lowest score.
    pub min: f64,
    /// Highest score.
    pub max: f64,
    /// Delta for a completed trade (provider).
    pub trade_completed: f64,
    /// Delta for a failed trade (provider no-show or abandon).
    pub trade_failed: f64,
    /// Delta per SLA violation.
    pub sla_violation: f64,
    /// Delta for the accused when a dispute is raised.
    pub trade_disputed: f64,
    /// Delta for the winner of a dispute.
    pub dispute_won: f64,
    /// Delta for a party that raised a dispute and lost it.
    pub dispute_lost: f64,
    /// Delta for starting within `fast_response_ms`.
    pub fast_response: f64,
    /// Delta for starting later than `slow_response_ms`.
    pub slow_response: f64,
    /// Delta for feedback rated 4 or 5.
    pub positive_feedback: f64,
    /// Delta for feedback rated 1 or 2.
    pub negative_feedback: f64,
    /// A start within this time earns `fast_response`.
    #[serde(rename = "fast_response_time", with = "crate::duration::serde_ms")]
    pub fast_response_ms: DurationMs,
    /// A start later than this costs `slow_response`.
    #[serde(rename = "slow_response_time", with = "crate::duration::serde_ms")]
    pub slow_response_ms: DurationMs,
    /// Half-life of the decay toward `initial`; 0 disables decay.
    #[serde(rename = "decay_half_life", with = "crate::duration::serde_ms")]
    pub decay_half_life_ms: DurationMs,
    /// How often decay is applied (a step function of simulated time).
    #[serde(rename = "decay_step", with = "crate::duration::serde_ms")]
    pub decay_step_ms: DurationMs,
}

impl Default for ReputationConfig {
    fn default() -> Self {
        ReputationConfig {
            initial: 50.0,
            min: 0.0,
            max: 1000.0,
            trade_completed: 10.0,
            trade_failed: -20.0,
            sla_violation: -5.0,
            trade_disputed: -5.0,
            dispute_won: 15.0,
            dispute_lost: -25.0,
            fast_response: 2.0,
            slow_response: -1.0,
            positive_feedback: 5.0,
            negative_feedback: -10.0,
            fast_response_ms: 60 * SECOND,
            slow_response_ms: 300 * SECOND,
            decay_half_life_ms: 0,
            decay_step_ms: HOUR,
        }
    }
}

/// Every rule of the market that a scenario may tune.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MarketConfig {
    /// How long a request stays open (§3): the first-accept window, a CDA bid's life, the
    /// sealed-bid bidding window, a call-market request's life.
    #[serde(rename = "auction_window", with = "crate::duration::serde_ms")]
    pub auction_window_ms: DurationMs,
    /// `max_providers = clamp(units / slot_divisor, 1, slot_cap)`.
    pub slot_divisor: u64,
    /// Upper bound on provider slots per auction.
    pub slot_cap: u64,
    /// How requests and offers meet.
    #[serde(skip_serializing_if = "is_default")]
    pub institution: Institution,
    /// The trade price rule of the first-accept auction (other institutions set their own
    /// price; there only the default `ask` is accepted, and `resting` under the continuous
    /// double auction, which is its rule).
    pub pricing: PriceRule,
    /// Continuous double auction only: cancel every open order of a task type after each of its
    /// trades (Gode and Sunder 1993).
    #[serde(skip_serializing_if = "is_default")]
    pub clear_book_after_trade: bool,
    /// Sealed-bid reverse auction only: first or second price.
    #[serde(skip_serializing_if = "is_default")]
    pub sealed_bid_price: SealedBidPrice,
    /// Call market only: the time between two calls (clearings); calls fall at whole multiples.
    #[serde(rename = "call_interval", with = "crate::duration::serde_ms", skip_serializing_if = "is_default_call")]
    pub call_interval_ms: DurationMs,
    /// Exponent `k` of the reputation factor in `weighted_ask = ask / f(rep)^k`; 0 is pure price.
    pub reputation_weight: f64,
    /// Market fee on the provider's gross, in basis points.
    pub fee_bps: u64,
    /// Release authorisation for every escrow.
    pub escrow: MultiSigType,
    /// After completion, silence by the requester for this long releases the escrow.
    #[serde(rename = "review_window", with = "crate::duration::serde_ms")]
    pub review_window_ms: DurationMs,
    /// A funded escrow whose task has not completed this long after funding is refunded.
    #[serde(rename = "escrow_timeout", with = "crate::duration::serde_ms")]
    pub escrow_timeout_ms: DurationMs,
    /// A dispute unresolved this long after it was raised takes `dispute_default`.
    #[serde(rename = "dispute_timeout", with = "crate::duration::serde_ms")]
    pub dispute_timeout_ms: DurationMs,
    /// Outcome of a dispute that times out.
    pub dispute_default: DisputeDefault,
    /// Arbitrators on a dispute panel (for escrows that have no arbitrators of their own).
    pub dispute_panel_total: u8,
    /// Matching votes that decide a dispute.
    pub dispute_panel_required: u8,
    /// Reputation needed for `Private` tasks.
    pub private_min_reputation: f64,
    /// Reputation needed (with the `confidential` attestation) for `Confidential` tasks.
    pub confidential_min_reputation: f64,
    /// Probability that a receipt is audited, in [0, 1].
    pub audit_rate: f64,
    /// Seed of the market's own deterministic sampling (audits, panels). Not part of the file
    /// format: a scenario derives it from its seed (`seed::market_seed`).
    #[serde(skip)]
    pub market_seed: u64,
    /// Check ed25519 signatures on orders and release approvals.
    pub verify_signatures: bool,
    /// Response time used when a request has no SLA.
    #[serde(rename = "default_max_response", with = "crate::duration::serde_ms")]
    pub default_max_response_ms: DurationMs,
    /// Duration used when a request has no SLA and no `max_duration`.
    #[serde(rename = "default_max_duration", with = "crate::duration::serde_ms")]
    pub default_max_duration_ms: DurationMs,
    /// Grace after a deadline before a task fails; within it the breach is only penalised.
    #[serde(rename = "deadline_grace", with = "crate::duration::serde_ms")]
    pub deadline_grace_ms: DurationMs,
    /// Window of the usage caps (§9).
    #[serde(rename = "usage_cap_window", with = "crate::duration::serde_ms")]
    pub usage_cap_window_ms: DurationMs,
    /// Window of price discovery (§11).
    #[serde(rename = "price_window", with = "crate::duration::serde_ms")]
    pub price_window_ms: DurationMs,
    /// Feedback on a settled trade is accepted only this long after its escrow settled (§7); 0
    /// accepts it at any time.
    #[serde(rename = "feedback_window", with = "crate::duration::serde_ms")]
    pub feedback_window_ms: DurationMs,
    /// Keep every ledger entry in memory (the hash chain is always kept).
    pub retain_ledger: bool,
    /// Reputation rules.
    pub reputation: ReputationConfig,
}

impl Default for MarketConfig {
    fn default() -> Self {
        MarketConfig {
            auction_window_ms: 15 * MINUTE,
            slot_divisor: 100,
            slot_cap: 10,
            institution: Institution::FirstAccept,
            pricing: PriceRule::Ask,
            clear_book_after_trade: false,
            sealed_bid_price: SealedBidPrice::FirstPrice,
            call_interval_ms: DEFAULT_CALL_INTERVAL_MS,
            reputation_weight: 1.0,
            fee_bps: 100,
            escrow: MultiSigType::Single,
            review_window_ms: HOUR,
            escrow_timeout_ms: 7 * DAY,
            dispute_timeout_ms: DAY,
            dispute_default: DisputeDefault::RefundToRequester,
            dispute_panel_total: 3,
            dispute_panel_required: 2,
            private_min_reputation: 50.0,
            confidential_min_reputation: 250.0,
            audit_rate: 1.0,
            market_seed: 0,
            verify_signatures: false,
            default_max_response_ms: 5 * MINUTE,
            default_max_duration_ms: 2 * HOUR,
            deadline_grace_ms: 5 * MINUTE,
            usage_cap_window_ms: DAY,
            price_window_ms: DAY,
            feedback_window_ms: 0,
            retain_ledger: true,
            reputation: ReputationConfig::default(),
        }
    }
}

/// The default `call_interval`: one minute.
pub const DEFAULT_CALL_INTERVAL_MS: DurationMs = MINUTE;

/// The shortest `call_interval` accepted: one second. Each call is a clearing of every task type
/// with an open request, so a millisecond interval on a week-long run would be 604.8 million
/// clearings; tasks in a compute market last seconds to hours, and a faster call models none.
pub const MIN_CALL_INTERVAL_MS: DurationMs = 1_000;

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

fn is_default_call(v: &DurationMs) -> bool {
    *v == DEFAULT_CALL_INTERVAL_MS
}

/// The longest duration accepted anywhere (configuration, SLA, task spec): 10 years. Longer values
/// would be typos, not experiments.
pub const MAX_DURATION_MS: DurationMs = 10 * 365 * DAY;

/// The largest magnitude of any reputation value (initial, bounds, deltas) the configuration
/// accepts: `1e12`, far beyond any meaningful score, and small enough that differences of bounds
/// and every decay step stay finite.
pub const MAX_REPUTATION_MAGNITUDE: f64 = 1e12;

impl MarketConfig {
    /// Checks every value; the error names the field (as in the scenario's `[market]` table).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &'static str, reason: String| Err(ConfigError { field, reason });
        let r = &self.reputation;
        let durations: [(&'static str, DurationMs); 13] = [
            ("auction_window", self.auction_window_ms),
            ("call_interval", self.call_interval_ms),
            ("review_window", self.review_window_ms),
            ("escrow_timeout", self.escrow_timeout_ms),
            ("dispute_timeout", self.dispute_timeout_ms),
            ("default_max_response", self.default_max_response_ms),
            ("default_max_duration", self.default_max_duration_ms),
            ("deadline_grace", self.deadline_grace_ms),
            ("usage_cap_window", self.usage_cap_window_ms),
            ("price_window", self.price_window_ms),
            ("feedback_window", self.feedback_window_ms),
            ("reputation.decay_half_life", r.decay_half_life_ms),
            ("reputation.decay_step", r.decay_step_ms),
        ];
        for (field, v) in durations {
            if v > MAX_DURATION_MS {
                return bad(field, format!("{} is longer than the 10-year limit", crate::duration::format_ms(v)));
            }
        }
        for (field, v) in [
            ("auction_window", self.auction_window_ms),
            ("usage_cap_window", self.usage_cap_window_ms),
            ("price_window", self.price_window_ms),
            ("escrow_timeout", self.escrow_timeout_ms),
            ("call_interval", self.call_interval_ms),
        ] {
            if v == 0 {
                return bad(field, "must be greater than 0".into());
            }
        }
        self.validate_institution()?;
        if self.slot_divisor == 0 {
            return bad("slot_divisor", "must be at least 1".into());
        }
        if self.slot_cap == 0 || self.slot_cap > 1000 {
            return bad("slot_cap", format!("{} is outside 1 to 1000", self.slot_cap));
        }
        if !self.reputation_weight.is_finite() || !(0.0..=10.0).contains(&self.reputation_weight) {
            return bad("reputation_weight", format!("{} is outside [0, 10]", self.reputation_weight));
        }
        if self.fee_bps > 10_000 {
            return bad("fee_bps", format!("{} is above 10000 (100 %)", self.fee_bps));
        }
        if !(0.0..=1.0).contains(&self.audit_rate) {
            return bad("audit_rate", format!("{} is outside [0, 1]", self.audit_rate));
        }
        for (field, v) in [
            ("private_min_reputation", self.private_min_reputation),
            ("confidential_min_reputation", self.confidential_min_reputation),
        ] {
            if !v.is_finite() {
                return bad(field, "must be a finite number".into());
            }
        }
        match self.escrow {
            MultiSigType::Arbitrators { required, total } if required == 0 || total == 0 || required > total => {
                return bad("escrow", format!("arbitrators needs 1 <= required <= total (got {required} of {total})"));
            }
            MultiSigType::TimeLocked { release_after_ms } if release_after_ms > MAX_DURATION_MS => {
                return bad("escrow", "the time lock is longer than the 10-year limit".into());
            }
            _ => {}
        }
        if self.dispute_panel_required == 0
            || self.dispute_panel_total == 0
            || self.dispute_panel_required > self.dispute_panel_total
        {
            return bad(
                "dispute_panel_required",
                format!(
                    "needs 1 <= dispute_panel_required <= dispute_panel_total (got {} of {})",
                    self.dispute_panel_required, self.dispute_panel_total
                ),
            );
        }
        let rep_values = [
            ("reputation.initial", r.initial),
            ("reputation.min", r.min),
            ("reputation.max", r.max),
            ("reputation.trade_completed", r.trade_completed),
            ("reputation.trade_failed", r.trade_failed),
            ("reputation.sla_violation", r.sla_violation),
            ("reputation.trade_disputed", r.trade_disputed),
            ("reputation.dispute_won", r.dispute_won),
            ("reputation.dispute_lost", r.dispute_lost),
            ("reputation.fast_response", r.fast_response),
            ("reputation.slow_response", r.slow_response),
            ("reputation.positive_feedback", r.positive_feedback),
            ("reputation.negative_feedback", r.negative_feedback),
        ];
        for (field, v) in rep_values {
            if !v.is_finite() || v.abs() > MAX_REPUTATION_MAGNITUDE {
                let v = crate::error::show_number(v);
                return bad(field, format!("{v} is not a finite number within ±{MAX_REPUTATION_MAGNITUDE:e}"));
            }
        }
        if r.min > r.max {
            let (min, max) = (crate::error::show_number(r.min), crate::error::show_number(r.max));
            return bad("reputation.min", format!("{min} is above reputation.max {max}"));
        }
        if r.initial < r.min || r.initial > r.max {
            return bad(
                "reputation.initial",
                format!("{} is outside [min, max]", crate::error::show_number(r.initial)),
            );
        }
        if r.decay_half_life_ms > 0 && r.decay_step_ms == 0 {
            return bad("reputation.decay_step", "must be > 0 when decay is on".into());
        }
        Ok(())
    }

    /// Keys that belong to one institution are refused with another, so a study never believes
    /// a rule is in force that is not.
    fn validate_institution(&self) -> Result<(), ConfigError> {
        let inst = self.institution;
        let name = inst.description();
        let own_price = match inst {
            Institution::FirstAccept => "",
            Institution::ContinuousDoubleAuction => {
                "trades at the resting order's price (`pricing = \"resting\"`, which says so, is accepted)"
            }
            Institution::SealedBidReverse => "pays as `sealed_bid_price` says",
            Institution::CallMarket => "trades at the call's uniform price",
        };
        let err = |field: &'static str, reason: String| Err(ConfigError { field, reason });
        // `resting` under the continuous double auction says what it does anyway.
        let same = inst == Institution::ContinuousDoubleAuction && self.pricing == PriceRule::Resting;
        if inst != Institution::FirstAccept && self.pricing != PriceRule::Ask && !same {
            return err(
                "pricing",
                format!(
                    "`pricing = \"{}\"` applies to `institution = \"first_accept\"`: {name} {own_price}",
                    self.pricing
                ),
            );
        }
        if inst != Institution::ContinuousDoubleAuction && self.clear_book_after_trade {
            return err(
                "clear_book_after_trade",
                format!("applies to `institution = \"continuous_double_auction\"`, not to {name}"),
            );
        }
        if inst != Institution::SealedBidReverse && self.sealed_bid_price != SealedBidPrice::FirstPrice {
            return err(
                "sealed_bid_price",
                format!("applies to `institution = \"sealed_bid_reverse\"`, not to {name}"),
            );
        }
        if inst != Institution::CallMarket && self.call_interval_ms != DEFAULT_CALL_INTERVAL_MS {
            return err("call_interval", format!("applies to `institution = \"call_market\"`, not to {name}"));
        }
        if self.call_interval_ms < MIN_CALL_INTERVAL_MS {
            return err(
                "call_interval",
                format!(
                    "{} is shorter than the 1s minimum: every call clears the whole book, and calls faster than \
                     once a second model no compute market",
                    crate::duration::format_ms(self.call_interval_ms)
                ),
            );
        }
        Ok(())
    }

    /// Refuses a key of another institution that is *written* in the `[market]` table (`keys`),
    /// whatever its value: [`MarketConfig::validate`] sees only values, so a key written with its
    /// default value (`call_interval = "1m"` under first-accept) would otherwise pass silently.
    pub fn check_written_keys<'a>(&self, keys: impl IntoIterator<Item = &'a str>) -> Result<(), ConfigError> {
        for key in keys {
            let (field, owner): (&'static str, Institution) = match key {
                "clear_book_after_trade" => ("clear_book_after_trade", Institution::ContinuousDoubleAuction),
                "sealed_bid_price" => ("sealed_bid_price", Institution::SealedBidReverse),
                "call_interval" => ("call_interval", Institution::CallMarket),
                _ => continue,
            };
            if self.institution != owner {
                return Err(ConfigError {
                    field,
                    reason: format!(
                        "applies to `institution = \"{}\"`, not to {}",
                        owner.as_str(),
                        self.institution.description()
                    ),
                });
            }
        }
        Ok(())
    }

    /// The name of the rule that sets trade prices under this configuration: `pricing` under
    /// first-accept, `resting` under the continuous double auction, the `sealed_bid_price` under
    /// the sealed-bid reverse auction, `uniform` in the call market.
    pub fn price_rule_name(&self) -> &'static str {
        match self.institution {
            Institution::FirstAccept => self.pricing.as_str(),
            Institution::ContinuousDoubleAuction => PriceRule::Resting.as_str(),
            Institution::SealedBidReverse => self.sealed_bid_price.as_str(),
            Institution::CallMarket => "uniform",
        }
    }

    /// Provider slots of a request for `units`: `clamp(units / slot_divisor, 1, slot_cap)`.
    #[inline]
    pub fn max_providers(&self, units: u64) -> u64 {
        (units / self.slot_divisor).clamp(1, self.slot_cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        MarketConfig::default().validate().unwrap();
    }

    #[test]
    fn slots_follow_the_clamp() {
        let c = MarketConfig::default();
        assert_eq!(c.max_providers(1), 1);
        assert_eq!(c.max_providers(100), 1);
        assert_eq!(c.max_providers(550), 5);
        assert_eq!(c.max_providers(100_000), 10);
    }

    #[test]
    fn bad_values_name_their_field() {
        let mut c = MarketConfig { fee_bps: 10_001, ..Default::default() };
        assert_eq!(c.validate().unwrap_err().field, "fee_bps");
        c.fee_bps = 0;
        c.audit_rate = f64::NAN;
        assert_eq!(c.validate().unwrap_err().field, "audit_rate");
        c.audit_rate = 0.5;
        c.escrow = MultiSigType::Arbitrators { required: 3, total: 2 };
        assert_eq!(c.validate().unwrap_err().field, "escrow");
        c.escrow = MultiSigType::Single;
        c.reputation.max = 1e308;
        assert_eq!(c.validate().unwrap_err().field, "reputation.max");
        c.reputation.max = 1e12;
        c.reputation.min = -1e12;
        c.validate().unwrap();
        c.reputation.decay_half_life_ms = MAX_DURATION_MS + 1;
        assert_eq!(c.validate().unwrap_err().field, "reputation.decay_half_life");
    }
}

crate::named!(Institution, SealedBidPrice, PriceRule, MultiSigType, DisputeDefault);
