//! The raw tables of a run (`orders`, `assignments`, `ledger`, `agents`), built from the final
//! market state as polars `DataFrame`s. Column names and types are documented in
//! `reports/README.md`; rows are in id order, so reruns are byte-identical.

use polars::prelude::*;

use synmarket_agents::SimResult;
use synmarket_engine::{EscrowId, PeerId, Vote};

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
        .col("order_id", o.iter().map(|x| x.id.0).collect::<Vec<u64>>())
        .col("order_type", o.iter().map(|x| x.side.as_str()).collect::<Vec<&str>>())
        .col("trader", o.iter().map(|x| x.trader.0).collect::<Vec<u32>>())
        .col("task_type", o.iter().map(|x| v.task_type_name(x.spec.task_type)).collect::<Vec<&str>>())
        .col("price_per_unit", o.iter().map(|x| x.price_per_unit).collect::<Vec<u64>>())
        .col("total_units", o.iter().map(|x| x.total_units).collect::<Vec<u64>>())
        .col("filled_units", o.iter().map(|x| x.filled_units).collect::<Vec<u64>>())
        .col("status", o.iter().map(|x| x.status.as_str()).collect::<Vec<&str>>())
        .col("placed_at_ms", o.iter().map(|x| x.placed_at).collect::<Vec<u64>>())
        .col("expires_at_ms", o.iter().map(|x| x.expires_at).collect::<Vec<Option<u64>>>())
        .col("first_fill_at_ms", o.iter().map(|x| x.first_fill_at).collect::<Vec<Option<u64>>>())
        .col(
            "capabilities",
            o.iter().map(|x| v.capability_names(x.spec.capabilities).join(",")).collect::<Vec<String>>(),
        )
        .col("min_reputation", o.iter().map(|x| x.spec.min_reputation).collect::<Vec<f64>>())
        .col("privacy", o.iter().map(|x| x.spec.privacy_level.as_str()).collect::<Vec<&str>>())
        .col("has_sla", o.iter().map(|x| x.sla.is_some()).collect::<Vec<bool>>())
        .col("max_providers", o.iter().map(|x| x.max_providers).collect::<Vec<u32>>())
        .col("providers_used", o.iter().map(|x| x.providers_used).collect::<Vec<u32>>())
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
        .col("assignment_id", a.iter().map(|x| x.id.0).collect::<Vec<u64>>())
        .col("request_id", a.iter().map(|x| x.request.0).collect::<Vec<u64>>())
        .col("offer_id", a.iter().map(|x| x.offer.0).collect::<Vec<u64>>())
        .col("requester", a.iter().map(|x| x.requester.0).collect::<Vec<u32>>())
        .col("provider", a.iter().map(|x| x.provider.0).collect::<Vec<u32>>())
        .col("task_type", a.iter().map(|x| v.task_type_name(x.task_type)).collect::<Vec<&str>>())
        .col("units", a.iter().map(|x| x.units).collect::<Vec<u64>>())
        .col("price_per_unit", a.iter().map(|x| x.price_per_unit).collect::<Vec<u64>>())
        .col("bid", a.iter().map(|x| x.bid).collect::<Vec<u64>>())
        .col("ask", a.iter().map(|x| x.ask).collect::<Vec<u64>>())
        .col("amount", a.iter().map(|x| x.amount()).collect::<Vec<u64>>())
        .col("privacy", a.iter().map(|x| x.privacy.as_str()).collect::<Vec<&str>>())
        .col("provider_reputation", a.iter().map(|x| x.provider_reputation).collect::<Vec<f64>>())
        .col("has_sla", a.iter().map(|x| x.sla.is_some()).collect::<Vec<bool>>())
        .col("assigned_at_ms", a.iter().map(|x| x.assigned_at).collect::<Vec<u64>>())
        .col("started_at_ms", a.iter().map(|x| x.started_at).collect::<Vec<Option<u64>>>())
        .col("finished_at_ms", a.iter().map(|x| x.finished_at).collect::<Vec<Option<u64>>>())
        .col("status", a.iter().map(|x| x.status.as_str()).collect::<Vec<&str>>())
        .col("failure", a.iter().map(|x| x.failure.map(|f| f.as_str())).collect::<Vec<Option<&str>>>())
        .col("violation_response", a.iter().map(|x| x.violations.response).collect::<Vec<bool>>())
        .col("violation_duration", a.iter().map(|x| x.violations.duration).collect::<Vec<bool>>())
        .col("violation_uptime", a.iter().map(|x| x.violations.uptime).collect::<Vec<bool>>())
        .col("violation_quality", a.iter().map(|x| x.violations.quality as u32).collect::<Vec<u32>>())
        .col("penalty", a.iter().map(|x| x.penalty).collect::<Vec<u64>>())
        .col("uptime", a.iter().map(|x| x.uptime).collect::<Vec<f64>>())
        .col(
            "quality_mean",
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
        .col("audited", a.iter().map(|x| x.audited).collect::<Vec<bool>>())
        .col("receipt_account", a.iter().map(|x| x.receipt_account.map(|r| r.0)).collect::<Vec<Option<u64>>>())
        .col("escrow_state", a.iter().map(|x| e(x).state.as_str()).collect::<Vec<&str>>())
        .col("settled_at_ms", a.iter().map(|x| e(x).settled_at).collect::<Vec<Option<u64>>>())
        .col("completed_at_ms", a.iter().map(|x| e(x).completed_at).collect::<Vec<Option<u64>>>())
        .col("paid_provider", a.iter().map(|x| e(x).paid_provider).collect::<Vec<u64>>())
        .col("paid_requester", a.iter().map(|x| e(x).paid_requester).collect::<Vec<u64>>())
        .col("fee", a.iter().map(|x| e(x).fee).collect::<Vec<u64>>())
        .col("disputed", a.iter().map(|x| e(x).dispute.is_some()).collect::<Vec<bool>>())
        .col(
            "dispute_outcome",
            a.iter()
                .map(|x| e(x).dispute.as_ref().and_then(|d| d.outcome).map(vote_name))
                .collect::<Vec<Option<String>>>(),
        )
        .col("feedback_by_requester", a.iter().map(|x| x.feedback[0].map(u32::from)).collect::<Vec<Option<u32>>>())
        .col("feedback_by_provider", a.iter().map(|x| x.feedback[1].map(u32::from)).collect::<Vec<Option<u32>>>())
        .build()
}

/// One row per ledger entry (empty when the market was told not to retain entries).
pub fn ledger(r: &SimResult) -> PolarsResult<DataFrame> {
    let l = r.market.bank().entries();
    TableBuilder::new()
        .col("seq", l.iter().map(|x| x.seq).collect::<Vec<u64>>())
        .col("time_ms", l.iter().map(|x| x.time).collect::<Vec<u64>>())
        .col("kind", l.iter().map(|x| x.kind.as_str()).collect::<Vec<&str>>())
        .col("from_account", l.iter().map(|x| x.from.as_str()).collect::<Vec<&str>>())
        .col("from_owner", l.iter().map(|x| x.from.owner()).collect::<Vec<i64>>())
        .col("to_account", l.iter().map(|x| x.to.as_str()).collect::<Vec<&str>>())
        .col("to_owner", l.iter().map(|x| x.to.owner()).collect::<Vec<i64>>())
        .col("amount", l.iter().map(|x| x.amount).collect::<Vec<u64>>())
        .col("reference", l.iter().map(|x| x.reference).collect::<Vec<u64>>())
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
        .col("peer", rows.iter().map(|(_, _, id)| id.peer.0).collect::<Vec<u32>>())
        .col("agent", rows.iter().map(|(a, _, _)| a.peer.0).collect::<Vec<u32>>())
        .col("identity", rows.iter().map(|(_, k, _)| *k as u32).collect::<Vec<u32>>())
        .col("since_ms", rows.iter().map(|(_, _, id)| id.since).collect::<Vec<u64>>())
        .col(
            "population",
            rows.iter()
                .map(|(a, _, _)| population_names.get(a.population as usize).cloned().unwrap_or_default())
                .collect::<Vec<String>>(),
        )
        .col("index", rows.iter().map(|(a, _, _)| a.index).collect::<Vec<u32>>())
        .col("role", rows.iter().map(|(a, _, _)| a.role.as_str()).collect::<Vec<&str>>())
        .col("strategy", rows.iter().map(|(a, _, _)| a.strategy.as_str()).collect::<Vec<&str>>())
        .col("value_per_unit", rows.iter().map(|(a, _, _)| a.profile.value_per_unit).collect::<Vec<Option<f64>>>())
        .col("cost_per_unit", rows.iter().map(|(a, _, _)| a.profile.cost_per_unit).collect::<Vec<Option<f64>>>())
        .col("budget", rows.iter().map(|(a, _, _)| a.profile.budget).collect::<Vec<u64>>())
        .col("account", rows.iter().map(|(_, _, id)| id.account.map(|a| a.0)).collect::<Vec<Option<u64>>>())
        .col("usage_cap_units", rows.iter().map(|(a, _, _)| a.usage_cap_units).collect::<Vec<Option<u64>>>())
        .col("initial_reputation", rows.iter().map(|(_, _, id)| id.initial_reputation).collect::<Vec<f64>>())
        .col("final_reputation", rows.iter().map(|(_, _, id)| m.reputation(id.peer)).collect::<Vec<f64>>())
        .col("final_available", rows.iter().map(|(_, _, id)| m.wallet(id.peer).available).collect::<Vec<u64>>())
        .col("final_locked", rows.iter().map(|(_, _, id)| m.wallet(id.peer).locked).collect::<Vec<u64>>())
        .col("trades", rows.iter().map(|(_, _, id)| rec(id.peer).map_or(0, |r| r.trades)).collect::<Vec<u64>>())
        .col("successes", rows.iter().map(|(_, _, id)| rec(id.peer).map_or(0, |r| r.successes)).collect::<Vec<u64>>())
        .col("failures", rows.iter().map(|(_, _, id)| rec(id.peer).map_or(0, |r| r.failures)).collect::<Vec<u64>>())
        .col("disputes", rows.iter().map(|(_, _, id)| rec(id.peer).map_or(0, |r| r.disputes)).collect::<Vec<u64>>())
        .col(
            "banned",
            rows.iter().map(|(_, _, id)| m.peer_state(id.peer).is_some_and(|p| p.banned)).collect::<Vec<bool>>(),
        )
        .col("stream_seed", rows.iter().map(|(a, _, _)| a.stream_seed).collect::<Vec<u64>>())
        .build()
}
