//! Typed refusals. A refused call changes nothing: the market checks everything before it
//! mutates anything.

use thiserror::Error;

use crate::ids::{AssignmentId, DurationMs, EscrowId, OrderId, PeerId, SimTime, TaskTypeId};

/// An invalid [`crate::MarketConfig`] value; `field` is its name in the `[market]` table.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("market.{field}: {reason}")]
pub struct ConfigError {
    /// Field name (dotted for nested tables, e.g. `reputation.initial`).
    pub field: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// Why the market refused a call.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum MarketError {
    /// Zero units.
    #[error("an order needs at least one unit")]
    ZeroUnits,
    /// Zero price.
    #[error("price per unit must be at least 1 token")]
    ZeroPrice,
    /// `price × units` does not fit in a `u64`.
    #[error("price {price_per_unit} × {units} units overflows")]
    Overflow {
        /// Price per unit.
        price_per_unit: u64,
        /// Units.
        units: u64,
    },
    /// The task type was never registered.
    #[error("unknown task type {0:?}")]
    UnknownTaskType(TaskTypeId),
    /// `min_reputation` is NaN, infinite or negative.
    #[error("min_reputation {0} must be a finite number >= 0")]
    InvalidMinReputation(f64),
    /// A reputation score (a peer's starting value, or a score to classify) that is not a finite
    /// number.
    #[error("reputation {0} must be a finite number")]
    InvalidReputation(f64),
    /// A quality score or uptime outside [0, 1] or NaN.
    #[error("{what} {value} must lie in [0, 1]")]
    InvalidFraction {
        /// Which value.
        what: &'static str,
        /// The value.
        value: f64,
    },
    /// No such peer.
    #[error("unknown peer {0}")]
    UnknownPeer(PeerId),
    /// The peer is banned (§9).
    #[error("peer {0} is banned")]
    Banned(PeerId),
    /// The peer paused its participation.
    #[error("peer {0} is paused")]
    Paused(PeerId),
    /// No such order.
    #[error("unknown order {0}")]
    UnknownOrder(OrderId),
    /// No such assignment.
    #[error("unknown assignment {0}")]
    UnknownAssignment(AssignmentId),
    /// No such escrow.
    #[error("unknown escrow {0}")]
    UnknownEscrow(EscrowId),
    /// The caller is not allowed to do this (wrong peer).
    #[error("peer {caller} may not {action}")]
    NotAuthorized {
        /// Who called.
        caller: PeerId,
        /// What it tried.
        action: &'static str,
    },
    /// The call does not fit the current state.
    #[error("cannot {action} in state {state}")]
    WrongState {
        /// What was tried.
        action: &'static str,
        /// The state found.
        state: &'static str,
    },
    /// The requester cannot lock `bid × units`.
    #[error("peer {peer} has {available} tokens available, needs {needed}")]
    InsufficientFunds {
        /// The requester.
        peer: PeerId,
        /// Available tokens.
        available: u64,
        /// Tokens needed.
        needed: u64,
    },
    /// An offer above the provider's declared usage cap.
    #[error("offer of {units} units exceeds the provider's usage cap of {cap} units per window")]
    ExceedsUsageCap {
        /// Units offered.
        units: u64,
        /// The declared cap.
        cap: u64,
    },
    /// Continuous double auction: an order that neither crosses the best quote of the other side
    /// nor beats the best quote of its own side (the improvement rule).
    #[error(
        "a {q} of {price_per_unit} does not beat the best {q} of {best} and does not reach the other side \
         (the continuous double auction's improvement rule)",
        q = quote_name(*side)
    )]
    NotImproving {
        /// The order's side.
        side: crate::order::Side,
        /// Its price per unit.
        price_per_unit: u64,
        /// The best price on its side.
        best: u64,
    },
    /// An offer from a peer that registered no account.
    #[error("peer {0} has no provider account and cannot offer compute")]
    NoAccount(PeerId),
    /// A signature is missing, malformed or does not verify against the registered key.
    #[error("signature of peer {0} is missing or does not verify")]
    BadSignature(PeerId),
    /// A correctly signed message whose sequence number is not above the last one the market
    /// accepted from this peer: a replay (or a message overtaken by a later one).
    #[error("peer {peer}'s signed message {seq} was already used (sequence numbers must increase)")]
    Replayed {
        /// The signer.
        peer: PeerId,
        /// The sequence number it carried.
        seq: u64,
    },
    /// A call with a time earlier than the market's clock.
    #[error("time {now} is before the market clock {clock}")]
    TimeWentBackwards {
        /// The time passed.
        now: SimTime,
        /// The market clock.
        clock: SimTime,
    },
    /// The same approval, vote or feedback was given twice.
    #[error("peer {0} already did this")]
    Duplicate(PeerId),
    /// A split that is not within 0..=10000 basis points.
    #[error("split of {0} bp is not within 0..=10000")]
    InvalidSplit(u32),
    /// A feedback rating outside 1..=5.
    #[error("rating {0} is outside 1..=5")]
    InvalidRating(u8),
    /// The vocabulary is full.
    #[error("vocabulary is full")]
    VocabularyFull,
    /// Too many quality scores or minimums.
    #[error("at most {0} named quality values are supported")]
    TooManyQualityValues(usize),
    /// The same quality metric listed twice.
    #[error("quality metric {0} is listed twice")]
    DuplicateQualityMetric(u8),
    /// A capability index beyond the capability set's range.
    #[error("capability {0} is outside 0..128")]
    CapabilityOutOfRange(u8),
    /// A duration longer than the engine accepts.
    #[error("{what} of {value_ms} ms is longer than the limit of {max_ms} ms")]
    DurationTooLong {
        /// Which duration.
        what: &'static str,
        /// The value given.
        value_ms: DurationMs,
        /// The largest value accepted ([`crate::config::MAX_DURATION_MS`]).
        max_ms: DurationMs,
    },
    /// A dispute whose panel cannot be staffed: fewer eligible arbitrators (registered, not
    /// banned, not a party) than the votes it needs. The threshold is never lowered (§5, §6).
    #[error("the dispute needs {required} matching votes but only {available} arbitrators can sit on its panel")]
    PanelUnstaffed {
        /// Arbitrators that could be drawn.
        available: usize,
        /// Matching votes needed.
        required: u8,
    },
    /// Invalid endowment (overflow of the token supply).
    #[error("endowment overflows the token supply")]
    SupplyOverflow,
}

impl MarketError {
    /// A stable snake_case name for the error, used in events and tables.
    pub fn code(&self) -> &'static str {
        match self {
            MarketError::ZeroUnits => "zero_units",
            MarketError::ZeroPrice => "zero_price",
            MarketError::Overflow { .. } => "overflow",
            MarketError::UnknownTaskType(_) => "unknown_task_type",
            MarketError::InvalidMinReputation(_) => "invalid_min_reputation",
            MarketError::InvalidReputation(_) => "invalid_reputation",
            MarketError::InvalidFraction { .. } => "invalid_fraction",
            MarketError::UnknownPeer(_) => "unknown_peer",
            MarketError::Banned(_) => "banned",
            MarketError::Paused(_) => "paused",
            MarketError::UnknownOrder(_) => "unknown_order",
            MarketError::UnknownAssignment(_) => "unknown_assignment",
            MarketError::UnknownEscrow(_) => "unknown_escrow",
            MarketError::NotAuthorized { .. } => "not_authorized",
            MarketError::WrongState { .. } => "wrong_state",
            MarketError::InsufficientFunds { .. } => "insufficient_funds",
            MarketError::ExceedsUsageCap { .. } => "exceeds_usage_cap",
            MarketError::NotImproving { .. } => "not_improving",
            MarketError::NoAccount(_) => "no_account",
            MarketError::BadSignature(_) => "bad_signature",
            MarketError::Replayed { .. } => "replayed",
            MarketError::TimeWentBackwards { .. } => "time_went_backwards",
            MarketError::Duplicate(_) => "duplicate",
            MarketError::InvalidSplit(_) => "invalid_split",
            MarketError::InvalidRating(_) => "invalid_rating",
            MarketError::VocabularyFull => "vocabulary_full",
            MarketError::TooManyQualityValues(_) => "too_many_quality_values",
            MarketError::DuplicateQualityMetric(_) => "duplicate_quality_metric",
            MarketError::CapabilityOutOfRange(_) => "capability_out_of_range",
            MarketError::DurationTooLong { .. } => "duration_too_long",
            MarketError::PanelUnstaffed { .. } => "panel_unstaffed",
            MarketError::SupplyOverflow => "supply_overflow",
        }
    }
}

/// A side's quote in the field's words: bid or ask.
fn quote_name(side: crate::order::Side) -> &'static str {
    match side {
        crate::order::Side::Buy => "bid",
        crate::order::Side::Sell => "ask",
    }
}

/// A broken invariant (§12), found by [`crate::Market::check_invariants`]: a bug in the engine,
/// never a refusal. Each variant names the record and the numbers that disagree.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum InvariantError {
    /// Σ wallets (available + locked) + Σ escrows + treasury differs from Σ endowments.
    #[error("conservation broken: wallets + escrows + treasury = {held}, endowed = {endowed}")]
    Conservation {
        /// Tokens held, in tokens.
        held: u128,
        /// Tokens endowed, in tokens.
        endowed: u64,
    },
    /// The running escrow total differs from the sum of the escrow balances.
    #[error("escrow total {total} != Σ escrows {sum}")]
    EscrowTotal {
        /// The bank's running total.
        total: u64,
        /// Σ escrow balances.
        sum: u128,
    },
    /// An assignment's price lies outside `[ask, bid]`.
    #[error("assignment {assignment} trades at {price_per_unit} outside [{ask}, {bid}]")]
    PriceOutsideQuotes {
        /// The assignment.
        assignment: AssignmentId,
        /// Its price per unit.
        price_per_unit: u64,
        /// The offer's ask.
        ask: u64,
        /// The request's bid.
        bid: u64,
    },
    /// An order's `filled_units` exceeds its `total_units`.
    #[error("order {order} over-filled: {filled} > {total}")]
    OverFilled {
        /// The order.
        order: OrderId,
        /// Units filled.
        filled: u64,
        /// Units of the order.
        total: u64,
    },
    /// An order's `filled_units` differs from the units its assignments hold.
    #[error("order {order} filled {filled} but assignments hold {assigned}")]
    FillMismatch {
        /// The order.
        order: OrderId,
        /// Units filled.
        filled: u64,
        /// Σ units of its assignments.
        assigned: u64,
    },
    /// A request used more provider slots than it has.
    #[error("request {order} used {used} of {max} slots")]
    SlotsExceeded {
        /// The request.
        order: OrderId,
        /// Slots used.
        used: u32,
        /// Slots allowed.
        max: u32,
    },
    /// A peer's locked tokens differ from the unspent bids of its open requests.
    #[error("peer {peer} has {locked} locked but its open requests need {needed}")]
    LockMismatch {
        /// The peer.
        peer: PeerId,
        /// Tokens locked in its wallet.
        locked: u64,
        /// Σ remaining units × bid of its open requests.
        needed: u128,
    },
    /// An escrow that holds funds holds a different amount.
    #[error("escrow {escrow} in {state} holds {held}, expected {expected}")]
    EscrowBalance {
        /// The escrow.
        escrow: EscrowId,
        /// Its state name.
        state: &'static str,
        /// Tokens held.
        held: u64,
        /// Its amount.
        expected: u64,
    },
    /// A settled escrow still holds tokens.
    #[error("settled escrow {escrow} still holds {held}")]
    SettledEscrowHolds {
        /// The escrow.
        escrow: EscrowId,
        /// Tokens held.
        held: u64,
    },
    /// A settled escrow paid out a different total than its amount.
    #[error("escrow {escrow} paid out {paid} of {amount}")]
    PayoutMismatch {
        /// The escrow.
        escrow: EscrowId,
        /// Provider + requester + fee.
        paid: u64,
        /// Its amount.
        amount: u64,
    },
    /// The quote indexes of a task type (`best_ask`, `best_bid`, book clearing and calls read
    /// them) disagree with the open orders.
    #[error("quote index of task type {task_type}: {reason}")]
    QuoteIndex {
        /// The task type's index.
        task_type: usize,
        /// What disagrees, with the numbers.
        reason: String,
    },
    /// The heads index of a task type (book.rs, "Heads"; request walks read it) disagrees with
    /// the best offers of its class buckets.
    #[error("heads index of task type {task_type}: {reason}")]
    HeadsIndex {
        /// The task type's index.
        task_type: usize,
        /// What disagrees, with the numbers.
        reason: String,
    },
    /// An escrow was created but never funded.
    #[error("escrow {escrow} was never funded")]
    NeverFunded {
        /// The escrow.
        escrow: EscrowId,
    },
    /// An escrow moved between two states that no rule connects.
    #[error("escrow {escrow} moved illegally {from} -> {to}")]
    IllegalTransition {
        /// The escrow.
        escrow: EscrowId,
        /// State before.
        from: &'static str,
        /// State after.
        to: &'static str,
    },
    /// A provider was assigned more units in one usage-cap window than its cap.
    #[error("provider {provider} assigned {units} units in a window, cap {cap}")]
    UsageCapBreached {
        /// The provider.
        provider: PeerId,
        /// Units in the window.
        units: u64,
        /// Its cap.
        cap: u64,
    },
    /// A reputation score left the configured bounds.
    #[error("peer {peer} reputation {score} outside [{min}, {max}]")]
    ReputationOutOfBounds {
        /// The peer.
        peer: PeerId,
        /// Its score.
        score: f64,
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
}

/// A number as an error message shows it: as Rust writes it (`0.5`, `120`), or in scientific
/// notation (`1e300`, `2.5e-9`) when that would take more than 15 digits, so that a hostile
/// value such as `1e300` does not print as 301 digits.
pub fn show_number(x: f64) -> String {
    if x.is_finite() && x != 0.0 && !(1e-6..1e15).contains(&x.abs()) { format!("{x:e}") } else { x.to_string() }
}

#[cfg(test)]
mod show_number_tests {
    use super::show_number;

    #[test]
    fn large_and_tiny_numbers_are_scientific() {
        assert_eq!(show_number(1e300), "1e300");
        assert_eq!(show_number(-2.5e-9), "-2.5e-9");
        assert_eq!(show_number(0.5), "0.5");
        assert_eq!(show_number(120.0), "120");
        assert_eq!(show_number(0.0), "0");
        assert_eq!(show_number(f64::NAN), "NaN");
        assert_eq!(show_number(f64::INFINITY), "inf");
        assert!(show_number(f64::MAX).len() < 30);
    }
}
