//! The raw tables of a run (`orders`, `assignments`, `ledger`, `agents`), built from the final
//! market state as polars `DataFrame`s. Column names and types are documented in
//! `reports/README.md`; rows are in id order, so reruns are byte-identical.

use polars::prelude::*;

use synmarket_agents::SimResult;
use synmarket_engine::{EscrowId, PeerId, Vote};

/// The column names of `orders`, `assignments`, `ledger` and `agents` (`.parquet`), written here and read by the reports (reports/README.md documents
/// each).
#[allow(missing_docs)]
pub mod column {
    pub const ORDER_ID: &str = "order_id";
    pub const ORDER_TYPE: &str = "order_type";
    pub const TRADER: &str = "trader";
    pub const TASK_TYPE: &str = "task_type";
    pub const PRICE_PER_UNIT: &str = "price_per_unit";
    pub const TOTAL_UNITS: &str = "total_units";
    pub const FILLED_UNITS: &str = "filled_units";
    pub const STATUS: &str = "status";
    pub const PLACED_AT_MS: &str = "placed_at_ms";
    pub const EXPIRES_AT_MS: &str = "expires_at_ms";
    pub const FIRST_FILL_AT_MS: &str = "first_fill_at_ms";
    pub const CAPABILITIES: &str = "capabilities";
    pub const MIN_REPUTATION: &str = "min_reputation";
    pub const PRIVACY: &str = "privacy";
    pub const HAS_SLA: &str = "has_sla";
    pub const MAX_PROVIDERS: &str = "max_providers";
    pub const PROVIDERS_USED: &str = "providers_used";
    pub const ASSIGNMENT_ID: &str = "assignment_id";
    pub const REQUEST_ID: &str = "request_id";
    pub const OFFER_ID: &str = "offer_id";
    pub const REQUESTER: &str = "requester";
    pub const PROVIDER: &str = "provider";
    pub const UNITS: &str = "units";
    pub const BID: &str = "bid";
    pub const ASK: &str = "ask";
    pub const AMOUNT: &str = "amount";
    pub const PROVIDER_REPUTATION: &str = "provider_reputation";
    pub const ASSIGNED_AT_MS: &str = "assigned_at_ms";
    pub const STARTED_AT_MS: &str = "started_at_ms";
    pub const FINISHED_AT_MS: &str = "finished_at_ms";
    pub const FAILURE: &str = "failure";
    pub const VIOLATION_RESPONSE: &str = "violation_response";
    pub const VIOLATION_DURATION: &str = "violation_duration";
    pub const VIOLATION_UPTIME: &str = "violation_uptime";
    pub const VIOLATION_QUALITY: &str = "violation_quality";
    pub const PENALTY: &str = "penalty";
    pub const UPTIME: &str = "uptime";
    pub const QUALITY_MEAN: &str = "quality_mean";
    pub const AUDITED: &str = "audited";
    pub const RECEIPT_ACCOUNT: &str = "receipt_account";
    pub const ESCROW_STATE: &str = "escrow_state";
    pub const SETTLED_AT_MS: &str = "settled_at_ms";
    pub const COMPLETED_AT_MS: &str = "completed_at_ms";
    pub const PAID_PROVIDER: &str = "paid_provider";
    pub const PAID_REQUESTER: &str = "paid_requester";
    pub const FEE: &str = "fee";
    pub const DISPUTED: &str = "disputed";
    pub const DISPUTE_OUTCOME: &str = "dispute_outcome";
    pub const FEEDBACK_BY_REQUESTER: &str = "feedback_by_requester";
    pub const FEEDBACK_BY_PROVIDER: &str = "feedback_by_provider";
    pub const SEQ: &str = "seq";
    pub const TIME_MS: &str = "time_ms";
    pub const KIND: &str = "kind";
    pub const FROM_ACCOUNT: &str = "from_account";
    pub const FROM_OWNER: &str = "from_owner";
    pub const TO_ACCOUNT: &str = "to_account";
    pub const TO_OWNER: &str = "to_owner";
    pub const REFERENCE: &str = "reference";
    pub const PEER: &str = "peer";
    pub const AGENT: &str = "agent";
    pub const IDENTITY: &str = "identity";
    pub const SINCE_MS: &str = "since_ms";
    pub const POPULATION: &str = "population";
    pub const INDEX: &str = "index";
    pub const ROLE: &str = "role";
    pub const STRATEGY: &str = "strategy";
    pub const VALUE_PER_UNIT: &str = "value_per_unit";
    pub const COST_PER_UNIT: &str = "cost_per_unit";
    pub const BUDGET: &str = "budget";
    pub const ACCOUNT: &str = "account";
    pub const USAGE_CAP_UNITS: &str = "usage_cap_units";
    pub const INITIAL_REPUTATION: &str = "initial_reputation";
    pub const FINAL_REPUTATION: &str = "final_reputation";
    pub const FINAL_AVAILABLE: &str = "final_available";
    pub const FINAL_LOCKED: &str = "final_locked";
    pub const TRADES: &str = "trades";
    pub const SUCCESSES: &str = "successes";
    pub const FAILURES: &str = "failures";
    pub const DISPUTES: &str = "disputes";
    pub const BANNED: &str = "banned";
    pub const STREAM_SEED: &str = "stream_seed";
}

/// Accumulates named columns and builds a frame.
#[derive(Default)]
pub struct TableBuilder {
    columns: Vec<Column>,
}

impl TableBuilder {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a column from anything polars can make a `Series` of.
    pub fn col<T, P>(mut self, name: &str, values: T) -> Self
    where
        Series: NamedFrom<T, P>,
        P: ?Sized,
    {
        self.columns.push(Column::from(Series::new(name.into(), values)));
        self
    }

    /// The frame.
    pub fn build(self) -> PolarsResult<DataFrame> {
        DataFrame::new_infer_height(self.columns)
    }
}

/// One row per order.
pub fn orders(r: &SimResult) -> PolarsResult<DataFrame> {
    let m = &r.market;
    let v = m.vocabulary();
    let o = m.orders();
    TableBuilder::new()
        .col(column::ORDER_ID, o.iter().map(|x| x.id.0).collect::<Vec<u64>>())
        .col(column::ORDER_TYPE, o.iter().map(|x| x.side.as_str()).collect::<Vec<&str>>())
        .col(column::TRADER, o.iter().map(|x| x.trader.0).collect::<Vec<u32>>())
        .col(column::TASK_TYPE, o.iter().map(|x| v.task_type_name(x.spec.task_type)).collect::<Vec<&str>>())
        .col(column::PRICE_PER_UNIT, o.iter().map(|x| x.price_per_unit).collect::<Vec<u64>>())
        .col(column::TOTAL_UNITS, o.iter().map(|x| x.total_units).collect::<Vec<u64>>())
        .col(column::FILLED_UNITS, o.iter().map(|x| x.filled_units).collect::<Vec<u64>>())
        .col(column::STATUS, o.iter().map(|x| x.status.as_str()).collect::<Vec<&str>>())
        .col(column::PLACED_AT_MS, o.iter().map(|x| x.placed_at).collect::<Vec<u64>>())
        .col(column::EXPIRES_AT_MS, o.iter().map(|x| x.expires_at).collect::<Vec<Option<u64>>>())
        .col(column::FIRST_FILL_AT_MS, o.iter().map(|x| x.first_fill_at).collect::<Vec<Option<u64>>>())
        .col(
            column::CAPABILITIES,
            o.iter().map(|x| v.capability_names(x.spec.capabilities).join(",")).collect::<Vec<String>>(),
        )
        .col(column::MIN_REPUTATION, o.iter().map(|x| x.spec.min_reputation).collect::<Vec<f64>>())
        .col(column::PRIVACY, o.iter().map(|x| x.spec.privacy_level.as_str()).collect::<Vec<&str>>())
        .col(column::HAS_SLA, o.iter().map(|x| x.sla.is_some()).collect::<Vec<bool>>())
        .col(column::MAX_PROVIDERS, o.iter().map(|x| x.max_providers).collect::<Vec<u32>>())
        .col(column::PROVIDERS_USED, o.iter().map(|x| x.providers_used).collect::<Vec<u32>>())
        .build()
}

/// `release`, `refund` or `split_<provider_bps>`.
fn vote_name(v: Vote) -> String {
    match v {
        Vote::Split { provider_bps } => format!("{v}_{provider_bps}"),
        other => other.to_string(),
    }
}

/// One row per assignment, with its escrow's outcome.
pub fn assignments(r: &SimResult) -> PolarsResult<DataFrame> {
    let m = &r.market;
    let v = m.vocabulary();
    let a = m.assignments();
    let e = |x: &synmarket_engine::TaskAssignment| m.escrow(EscrowId(x.id.0)).expect("one escrow per assignment");
    TableBuilder::new()
        .col(column::ASSIGNMENT_ID, a.iter().map(|x| x.id.0).collect::<Vec<u64>>())
        .col(column::REQUEST_ID, a.iter().map(|x| x.request.0).collect::<Vec<u64>>())
        .col(column::OFFER_ID, a.iter().map(|x| x.offer.0).collect::<Vec<u64>>())
        .col(column::REQUESTER, a.iter().map(|x| x.requester.0).collect::<Vec<u32>>())
        .col(column::PROVIDER, a.iter().map(|x| x.provider.0).collect::<Vec<u32>>())
        .col(column::TASK_TYPE, a.iter().map(|x| v.task_type_name(x.task_type)).collect::<Vec<&str>>())
        .col(column::UNITS, a.iter().map(|x| x.units).collect::<Vec<u64>>())
        .col(column::PRICE_PER_UNIT, a.iter().map(|x| x.price_per_unit).collect::<Vec<u64>>())
        .col(column::BID, a.iter().map(|x| x.bid).collect::<Vec<u64>>())
        .col(column::ASK, a.iter().map(|x| x.ask).collect::<Vec<u64>>())
        .col(column::AMOUNT, a.iter().map(|x| x.amount()).collect::<Vec<u64>>())
        .col(column::PRIVACY, a.iter().map(|x| x.privacy.as_str()).collect::<Vec<&str>>())
        .col(column::PROVIDER_REPUTATION, a.iter().map(|x| x.provider_reputation).collect::<Vec<f64>>())
        .col(column::HAS_SLA, a.iter().map(|x| x.sla.is_some()).collect::<Vec<bool>>())
        .col(column::ASSIGNED_AT_MS, a.iter().map(|x| x.assigned_at).collect::<Vec<u64>>())
        .col(column::STARTED_AT_MS, a.iter().map(|x| x.started_at).collect::<Vec<Option<u64>>>())
        .col(column::FINISHED_AT_MS, a.iter().map(|x| x.finished_at).collect::<Vec<Option<u64>>>())
        .col(column::STATUS, a.iter().map(|x| x.status.as_str()).collect::<Vec<&str>>())
        .col(column::FAILURE, a.iter().map(|x| x.failure.map(|f| f.as_str())).collect::<Vec<Option<&str>>>())
        .col(column::VIOLATION_RESPONSE, a.iter().map(|x| x.violations.response).collect::<Vec<bool>>())
        .col(column::VIOLATION_DURATION, a.iter().map(|x| x.violations.duration).collect::<Vec<bool>>())
        .col(column::VIOLATION_UPTIME, a.iter().map(|x| x.violations.uptime).collect::<Vec<bool>>())
        .col(column::VIOLATION_QUALITY, a.iter().map(|x| x.violations.quality as u32).collect::<Vec<u32>>())
        .col(column::PENALTY, a.iter().map(|x| x.penalty).collect::<Vec<u64>>())
        .col(column::UPTIME, a.iter().map(|x| x.uptime).collect::<Vec<f64>>())
        .col(
            column::QUALITY_MEAN,
            a.iter()
                .map(|x| {
                    if x.quality.is_empty() {
                        None
                    } else {
                        Some(x.quality.iter().map(|q| q.1).sum::<f64>() / x.quality.len() as f64)
                    }
                })
                .collect::<Vec<Option<f64>>>(),
        )
        .col(column::AUDITED, a.iter().map(|x| x.audited).collect::<Vec<bool>>())
        .col(column::RECEIPT_ACCOUNT, a.iter().map(|x| x.receipt_account.map(|r| r.0)).collect::<Vec<Option<u64>>>())
        .col(column::ESCROW_STATE, a.iter().map(|x| e(x).state.as_str()).collect::<Vec<&str>>())
        .col(column::SETTLED_AT_MS, a.iter().map(|x| e(x).settled_at).collect::<Vec<Option<u64>>>())
        .col(column::COMPLETED_AT_MS, a.iter().map(|x| e(x).completed_at).collect::<Vec<Option<u64>>>())
        .col(column::PAID_PROVIDER, a.iter().map(|x| e(x).paid_provider).collect::<Vec<u64>>())
        .col(column::PAID_REQUESTER, a.iter().map(|x| e(x).paid_requester).collect::<Vec<u64>>())
        .col(column::FEE, a.iter().map(|x| e(x).fee).collect::<Vec<u64>>())
        .col(column::DISPUTED, a.iter().map(|x| e(x).dispute.is_some()).collect::<Vec<bool>>())
        .col(
            column::DISPUTE_OUTCOME,
            a.iter()
                .map(|x| e(x).dispute.as_ref().and_then(|d| d.outcome).map(vote_name))
                .collect::<Vec<Option<String>>>(),
        )
        .col(
            column::FEEDBACK_BY_REQUESTER,
            a.iter().map(|x| x.feedback[0].map(u32::from)).collect::<Vec<Option<u32>>>(),
        )
        .col(column::FEEDBACK_BY_PROVIDER, a.iter().map(|x| x.feedback[1].map(u32::from)).collect::<Vec<Option<u32>>>())
        .build()
}

/// One row per ledger entry (empty when the market was told not to retain entries).
pub fn ledger(r: &SimResult) -> PolarsResult<DataFrame> {
    let l = r.market.bank().entries();
    TableBuilder::new()
        .col(column::SEQ, l.iter().map(|x| x.seq).collect::<Vec<u64>>())
        .col(column::TIME_MS, l.iter().map(|x| x.time).collect::<Vec<u64>>())
        .col(column::KIND, l.iter().map(|x| x.kind.as_str()).collect::<Vec<&str>>())
        .col(column::FROM_ACCOUNT, l.iter().map(|x| x.from.as_str()).collect::<Vec<&str>>())
        .col(column::FROM_OWNER, l.iter().map(|x| x.from.owner()).collect::<Vec<i64>>())
        .col(column::TO_ACCOUNT, l.iter().map(|x| x.to.as_str()).collect::<Vec<&str>>())
        .col(column::TO_OWNER, l.iter().map(|x| x.to.owner()).collect::<Vec<i64>>())
        .col(column::AMOUNT, l.iter().map(|x| x.amount).collect::<Vec<u64>>())
        .col(column::REFERENCE, l.iter().map(|x| x.reference).collect::<Vec<u64>>())
        .build()
}

/// One row per peer identity: the agent that acts under it, its private parameters and the
/// identity's end state. An agent has one identity, except a Sybil that re-entered under new
/// peers: each of them is a row (`identity` 1, 2, … with `since_ms`), so every peer that appears
/// in `orders`, `assignments` or `ledger` has a row, and Σ(final_available + final_locked) over
/// the rows is every token held in wallets (the conservation check of the integration tests).
pub fn agents(r: &SimResult, population_names: &[String]) -> PolarsResult<DataFrame> {
    let m = &r.market;
    let rows: Vec<(&synmarket_agents::AgentRecord, usize, &synmarket_agents::Identity)> =
        r.agents.iter().flat_map(|a| a.identities.iter().enumerate().map(move |(k, id)| (a, k, id))).collect();
    let rec = |p: PeerId| m.reputation_record(p).copied();
    TableBuilder::new()
        .col(column::PEER, rows.iter().map(|(_, _, id)| id.peer.0).collect::<Vec<u32>>())
        .col(column::AGENT, rows.iter().map(|(a, _, _)| a.peer.0).collect::<Vec<u32>>())
        .col(column::IDENTITY, rows.iter().map(|(_, k, _)| *k as u32).collect::<Vec<u32>>())
        .col(column::SINCE_MS, rows.iter().map(|(_, _, id)| id.since).collect::<Vec<u64>>())
        .col(
            column::POPULATION,
            rows.iter()
                .map(|(a, _, _)| population_names.get(a.population as usize).cloned().unwrap_or_default())
                .collect::<Vec<String>>(),
        )
        .col(column::INDEX, rows.iter().map(|(a, _, _)| a.index).collect::<Vec<u32>>())
        .col(column::ROLE, rows.iter().map(|(a, _, _)| a.role.as_str()).collect::<Vec<&str>>())
        .col(column::STRATEGY, rows.iter().map(|(a, _, _)| a.strategy.as_str()).collect::<Vec<&str>>())
        .col(
            column::VALUE_PER_UNIT,
            rows.iter().map(|(a, _, _)| a.profile.value_per_unit).collect::<Vec<Option<f64>>>(),
        )
        .col(column::COST_PER_UNIT, rows.iter().map(|(a, _, _)| a.profile.cost_per_unit).collect::<Vec<Option<f64>>>())
        .col(column::BUDGET, rows.iter().map(|(a, _, _)| a.profile.budget).collect::<Vec<u64>>())
        .col(column::ACCOUNT, rows.iter().map(|(_, _, id)| id.account.map(|a| a.0)).collect::<Vec<Option<u64>>>())
        .col(column::USAGE_CAP_UNITS, rows.iter().map(|(a, _, _)| a.usage_cap_units).collect::<Vec<Option<u64>>>())
        .col(column::INITIAL_REPUTATION, rows.iter().map(|(_, _, id)| id.initial_reputation).collect::<Vec<f64>>())
        .col(column::FINAL_REPUTATION, rows.iter().map(|(_, _, id)| m.reputation(id.peer)).collect::<Vec<f64>>())
        .col(column::FINAL_AVAILABLE, rows.iter().map(|(_, _, id)| m.wallet(id.peer).available).collect::<Vec<u64>>())
        .col(column::FINAL_LOCKED, rows.iter().map(|(_, _, id)| m.wallet(id.peer).locked).collect::<Vec<u64>>())
        .col(column::TRADES, rows.iter().map(|(_, _, id)| rec(id.peer).map_or(0, |r| r.trades)).collect::<Vec<u64>>())
        .col(
            column::SUCCESSES,
            rows.iter().map(|(_, _, id)| rec(id.peer).map_or(0, |r| r.successes)).collect::<Vec<u64>>(),
        )
        .col(
            column::FAILURES,
            rows.iter().map(|(_, _, id)| rec(id.peer).map_or(0, |r| r.failures)).collect::<Vec<u64>>(),
        )
        .col(
            column::DISPUTES,
            rows.iter().map(|(_, _, id)| rec(id.peer).map_or(0, |r| r.disputes)).collect::<Vec<u64>>(),
        )
        .col(
            column::BANNED,
            rows.iter().map(|(_, _, id)| m.peer_state(id.peer).is_some_and(|p| p.banned)).collect::<Vec<bool>>(),
        )
        .col(column::STREAM_SEED, rows.iter().map(|(a, _, _)| a.stream_seed).collect::<Vec<u64>>())
        .build()
}
