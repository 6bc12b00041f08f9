//! Orders: requests (a requester's bid) and offers (a provider's ask), their task specs, SLA specs
//! and status.
//!
//! Status machine: `Active → PartiallyFilled → Filled`, or `Active | PartiallyFilled → Cancelled |
//! Expired`. `filled_units` never exceeds `total_units`. Quality minimums are kept inline (no heap
//! allocation per order).
//!
//! **Validated values.** [`QualityValues`] can only hold what [`QualityValues::new`] accepts: at
//! most [`MAX_QUALITY_VALUES`] pairs, each metric at most once, each value a number in [0, 1]
//! (deserialization goes through the same check, so a hand-written `len = 9` or a NaN is refused
//! there and never reaches a read). [`SlaSpec::validate`] refuses an uptime requirement outside
//! [0, 1] and durations above [`crate::config::MAX_DURATION_MS`]; the market calls it at
//! placement.

use serde::{Deserialize, Serialize};

use crate::capability::CapabilitySet;
use crate::config::MAX_DURATION_MS;
use crate::error::MarketError;
use crate::ids::{DurationMs, OrderId, PeerId, SimTime, TaskTypeId};

/// The most named quality values an SLA or a completion can carry.
pub const MAX_QUALITY_VALUES: usize = 4;

/// The side of an order (§2): who trades compute for tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// A request for compute: a requester's bid, the most it pays per unit. Named `request`.
    #[serde(rename = "request")]
    Buy,
    /// An offer of compute: a provider's ask, the least it accepts per unit. Named `offer`.
    #[serde(rename = "offer")]
    Sell,
}

impl Side {
    /// The other side.
    pub fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
}

crate::named!(Side, PrivacyLevel, OrderStatus);

/// An order to place: everything [`crate::Market::place_order`] takes besides the time (§2).
///
/// Build one with [`NewOrder::buy`] or [`NewOrder::sell`] and set the optional fields with struct
/// update syntax: `NewOrder { sla: Some(sla), ..NewOrder::buy(requester, 50, 100, spec) }`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NewOrder {
    /// Buy (a request) or sell (an offer).
    pub side: Side,
    /// The peer that places the order (and, with signatures, signs it).
    pub trader: PeerId,
    /// Bid (buy) or ask (sell) per unit, in tokens; at least 1.
    pub price_per_unit: u64,
    /// Units wanted or offered; at least 1.
    pub total_units: u64,
    /// The task: type, capabilities, reputation minimum, privacy level.
    pub spec: ComputeTaskSpec,
    /// SLA terms (requests); `None`: no SLA.
    pub sla: Option<SlaSpec>,
    /// Simulated time at which the unfilled remainder expires; `None`: never.
    pub expires_at: Option<SimTime>,
    /// With `verify_signatures`: the trader's signature over [`crate::signing::order_message`].
    pub signature: Option<Signed>,
}

impl NewOrder {
    /// An order of `side` with no SLA, no expiry and no signature.
    pub fn new(side: Side, trader: PeerId, price_per_unit: u64, total_units: u64, spec: ComputeTaskSpec) -> Self {
        NewOrder { side, trader, price_per_unit, total_units, spec, sla: None, expires_at: None, signature: None }
    }

    /// A request for compute: `trader` bids `price_per_unit` for `total_units`.
    pub fn buy(trader: PeerId, price_per_unit: u64, total_units: u64, spec: ComputeTaskSpec) -> Self {
        Self::new(Side::Buy, trader, price_per_unit, total_units, spec)
    }

    /// An offer of compute: `trader` asks `price_per_unit` for `total_units`.
    pub fn sell(trader: PeerId, price_per_unit: u64, total_units: u64, spec: ComputeTaskSpec) -> Self {
        Self::new(Side::Sell, trader, price_per_unit, total_units, spec)
    }
}

/// How sensitive a task's payload is (§8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyLevel {
    /// Any qualifying provider.
    #[default]
    Public,
    /// Provider reputation ≥ `private_min_reputation`; the payload is marked encrypted (the simulation carries only its size, `payload_bytes`).
    Private,
    /// Provider holds the `confidential` attestation and reputation ≥ `confidential_min_reputation`.
    Confidential,
}

/// Named values in [0, 1] (quality metric index → value), stored inline. Each metric appears at
/// most once; values are numbers in [0, 1] (never NaN).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawQualityValues")]
pub struct QualityValues {
    len: u8,
    entries: [(u8, f32); MAX_QUALITY_VALUES],
}

/// The serialized form of [`QualityValues`], checked by `TryFrom` on the way in.
#[derive(Deserialize)]
struct RawQualityValues {
    len: u8,
    entries: [(u8, f32); MAX_QUALITY_VALUES],
}

impl TryFrom<RawQualityValues> for QualityValues {
    type Error = MarketError;

    fn try_from(raw: RawQualityValues) -> Result<Self, MarketError> {
        let n = raw.len as usize;
        if n > MAX_QUALITY_VALUES {
            return Err(MarketError::TooManyQualityValues(MAX_QUALITY_VALUES));
        }
        let mut pairs = [(0u8, 0.0f64); MAX_QUALITY_VALUES];
        for (slot, &(m, v)) in pairs.iter_mut().zip(&raw.entries[..n]) {
            *slot = (m, v as f64);
        }
        QualityValues::new(&pairs[..n])
    }
}

impl QualityValues {
    /// No values.
    pub const EMPTY: QualityValues = QualityValues { len: 0, entries: [(0, 0.0); MAX_QUALITY_VALUES] };

    /// Builds from `(metric, value)` pairs: at most [`MAX_QUALITY_VALUES`], each metric once,
    /// each value a number in [0, 1].
    pub fn new(values: &[(u8, f64)]) -> Result<Self, MarketError> {
        if values.len() > MAX_QUALITY_VALUES {
            return Err(MarketError::TooManyQualityValues(MAX_QUALITY_VALUES));
        }
        let mut q = QualityValues::EMPTY;
        for &(metric, value) in values {
            if !(0.0..=1.0).contains(&value) {
                return Err(MarketError::InvalidFraction { what: "quality value", value });
            }
            if q.get(metric).is_some() {
                return Err(MarketError::DuplicateQualityMetric(metric));
            }
            q.entries[q.len as usize] = (metric, value as f32);
            q.len += 1;
        }
        Ok(q)
    }

    /// The value of `metric`, if present.
    pub fn get(&self, metric: u8) -> Option<f64> {
        self.iter().find(|(m, _)| *m == metric).map(|(_, v)| v)
    }

    /// The pairs.
    pub fn iter(&self) -> impl Iterator<Item = (u8, f64)> + '_ {
        self.entries[..self.len()].iter().map(|&(m, v)| (m, v as f64))
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        (self.len as usize).min(MAX_QUALITY_VALUES)
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What a task needs (requests) or what a provider can do (offers).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComputeTaskSpec {
    /// The task type.
    pub task_type: TaskTypeId,
    /// Compute units of one task (informational; matching trades `total_units`).
    pub compute_units: u64,
    /// Longest acceptable execution time (requests); 0 = the market default.
    pub max_duration_ms: DurationMs,
    /// Requests: capabilities needed. Offers: capabilities held.
    pub capabilities: CapabilitySet,
    /// Requests: minimum provider reputation (0 = none).
    pub min_reputation: f64,
    /// Requests: privacy level.
    pub privacy_level: PrivacyLevel,
    /// Size in bytes of the payload (marked encrypted for private levels; no bytes are carried); 0 = none.
    pub payload_bytes: u32,
}

impl ComputeTaskSpec {
    /// A spec with defaults: no capabilities, no minimum reputation, public, no payload.
    pub fn new(task_type: TaskTypeId, capabilities: CapabilitySet) -> Self {
        ComputeTaskSpec {
            task_type,
            compute_units: 1,
            max_duration_ms: 0,
            capabilities,
            min_reputation: 0.0,
            privacy_level: PrivacyLevel::Public,
            payload_bytes: 0,
        }
    }
}

/// Service-level terms of a request (§4).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SlaSpec {
    /// Longest time from assignment to start.
    pub max_response_time_ms: DurationMs,
    /// Longest time from start to completion.
    pub max_duration_ms: DurationMs,
    /// Fraction of the task's time the provider must be reachable, in [0, 1].
    pub uptime_requirement: f64,
    /// Minimum quality per metric.
    pub quality_minimums: QualityValues,
    /// Tokens per violation (capped at the escrow amount in total).
    pub violation_penalty: u64,
}

impl SlaSpec {
    /// Refuses an uptime requirement outside [0, 1] (or NaN) and durations above
    /// [`MAX_DURATION_MS`]. Quality minimums are valid by construction.
    pub fn validate(&self) -> Result<(), MarketError> {
        if !(0.0..=1.0).contains(&self.uptime_requirement) {
            return Err(MarketError::InvalidFraction { what: "uptime_requirement", value: self.uptime_requirement });
        }
        for (what, value_ms) in
            [("sla.max_response_time_ms", self.max_response_time_ms), ("sla.max_duration_ms", self.max_duration_ms)]
        {
            if value_ms > MAX_DURATION_MS {
                return Err(MarketError::DurationTooLong { what, value_ms, max_ms: MAX_DURATION_MS });
            }
        }
        Ok(())
    }
}

/// Lifecycle of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Nothing filled yet, still in the market.
    Active,
    /// Part filled, still in the market.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Withdrawn by its owner (or by a ban).
    Cancelled,
    /// Expired, or its auction window closed.
    Expired,
}

impl OrderStatus {
    /// True while the order can still trade.
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::Active | OrderStatus::PartiallyFilled)
    }
}

/// An order as the market keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Order {
    /// Id.
    pub id: OrderId,
    /// Side.
    pub side: Side,
    /// Owner.
    pub trader: PeerId,
    /// Bid (requests) or ask (offers) per unit.
    pub price_per_unit: u64,
    /// Units wanted or offered.
    pub total_units: u64,
    /// Units assigned so far.
    pub filled_units: u64,
    /// Task spec.
    pub spec: ComputeTaskSpec,
    /// SLA terms (requests).
    pub sla: Option<SlaSpec>,
    /// When placed.
    pub placed_at: SimTime,
    /// Optional expiry.
    pub expires_at: Option<SimTime>,
    /// Status.
    pub status: OrderStatus,
    /// Requests: provider slots allowed (§3).
    pub max_providers: u32,
    /// Requests: provider slots used.
    pub providers_used: u32,
    /// When the order first traded.
    pub first_fill_at: Option<SimTime>,
}

impl Order {
    /// Units not yet filled.
    #[inline]
    pub fn remaining(&self) -> u64 {
        self.total_units - self.filled_units
    }
}

/// A signature over an order or approval, as 64 raw bytes (ed25519).
pub type SignatureBytes = [u8; 64];

/// A signature and the sequence number it signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// The signer's sequence number, also inside the signed bytes.
    pub seq: u64,
    /// The ed25519 signature over the canonical message.
    #[serde(with = "signature_bytes")]
    pub bytes: SignatureBytes,
}

mod signature_bytes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        b.as_slice().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let v = Vec::<u8>::deserialize(d)?;
        v.try_into().map_err(|_| serde::de::Error::custom("a signature is 64 bytes"))
    }
}
