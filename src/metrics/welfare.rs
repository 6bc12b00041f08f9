//! The `welfare` table (docs/metrics.md "Welfare"): one row per population (with its role and
//! strategy), so that a league table by strategy is one `GROUP BY strategy` away.
//!
//! Only trades whose escrow has settled count (an escrow still open at the end of the run has
//! moved no money yet):
//! * requesters: `gross` = Σ value × units of delivered tasks, `costs` = Σ tokens actually paid
//!   (escrow amount − refund and penalty returned), `surplus = gross − costs`;
//! * providers: `gross` = Σ tokens received, `costs` = Σ private cost × units of delivered tasks,
//!   `surplus` = profit `= gross − costs`;
//! * arbitrators: zero.
//!
//! Every identity of an agent counts for its population (a Sybil that re-entered under new peer
//! ids: trades of any identity are resolved with `SimResult::agent_of`, and its wealth is summed
//! over `AgentRecord::identities`), so a strategy's league-table row carries all its earnings.
//!
//! `wealth_final_mean` is the mean of available + locked tokens at the end. The run's wealth
//! Gini (in `summary`) is over requesters and providers (one value per agent).

use polars::prelude::{DataFrame, PolarsResult};

use super::stats::ratio;
use super::{Ctx, delivered};
use crate::output::raw_tables::TableBuilder;
use synmarket_agents::{AgentRecord, Role};
use synmarket_engine::PeerId;

/// The column names of `welfare.parquet`, written here and read by the reports (reports/README.md documents
/// each).
#[allow(missing_docs)]
pub mod column {
    pub const POPULATION: &str = "population";
    pub const ROLE: &str = "role";
    pub const STRATEGY: &str = "strategy";
    pub const AGENTS: &str = "agents";
    pub const TRADES: &str = "trades";
    pub const UNITS_DELIVERED: &str = "units_delivered";
    pub const GROSS: &str = "gross";
    pub const COSTS: &str = "costs";
    pub const SURPLUS: &str = "surplus";
    pub const SURPLUS_PER_AGENT: &str = "surplus_per_agent";
    pub const BUDGET_MEAN: &str = "budget_mean";
    pub const WEALTH_FINAL_MEAN: &str = "wealth_final_mean";
}

/// One population.
#[derive(Debug, Clone, Default)]
pub(crate) struct WelfareRow {
    pub population: String,
    pub role: &'static str,
    pub strategy: &'static str,
    pub agents: u64,
    pub trades: u64,
    pub units_delivered: u64,
    pub gross: f64,
    pub costs: f64,
    pub wealth: f64,
    pub budget: f64,
}

impl WelfareRow {
    pub fn surplus(&self) -> f64 {
        self.gross - self.costs
    }
}

pub(crate) struct WelfareTable {
    pub rows: Vec<WelfareRow>,
    /// Final wealth of every requester and provider, in peer order.
    pub wealth: Vec<f64>,
}

/// Every peer id of an agent (its first identity when the record lists none).
fn identities(a: &AgentRecord) -> impl Iterator<Item = PeerId> + '_ {
    let first = a.identities.is_empty().then_some(a.peer);
    first.into_iter().chain(a.identities.iter().map(|i| i.peer))
}

pub(crate) fn build(ctx: &Ctx) -> WelfareTable {
    let m = &ctx.r.market;
    let mut rows: Vec<WelfareRow> = ctx
        .s
        .populations
        .iter()
        .map(|p| WelfareRow {
            population: p.name.clone(),
            role: p.role.as_str(),
            strategy: p.kind().as_str(),
            ..WelfareRow::default()
        })
        .collect();
    let n_pops = rows.len();
    let pop = |p| ctx.agent(p).map(|a| a.population as usize).filter(|&i| i < n_pops);
    let mut wealth = Vec::new();
    for a in &ctx.r.agents {
        let Some(i) = pop(a.peer) else { continue };
        // A Sybil's wealth is spread over every identity it used.
        let total: f64 = identities(a)
            .map(|p| {
                let w = m.wallet(p);
                (w.available + w.locked) as f64
            })
            .sum();
        rows[i].agents += 1;
        rows[i].wealth += total;
        rows[i].budget += a.profile.budget as f64;
        if a.role != Role::Arbitrator {
            wealth.push(total);
        }
    }
    for (j, a) in m.assignments().iter().enumerate() {
        let Some(e) = m.escrow(a.escrow()) else { continue };
        if e.settled_at.is_none() {
            continue;
        }
        let units = if delivered(a.status) { a.units } else { 0 };
        if let Some(i) = pop(a.requester) {
            let r = &mut rows[i];
            r.trades += 1;
            r.units_delivered += units;
            r.gross += ctx.traded_value(j).unwrap_or(0.0) * units as f64;
            r.costs += e.amount.saturating_sub(e.paid_requester) as f64;
        }
        if let Some(i) = pop(a.provider) {
            let r = &mut rows[i];
            r.trades += 1;
            r.units_delivered += units;
            r.gross += e.paid_provider as f64;
            r.costs += ctx.traded_cost(j).unwrap_or(0.0) * units as f64;
        }
    }
    WelfareTable { rows, wealth }
}

impl WelfareTable {
    /// Σ surplus of the rows of `role`.
    pub fn surplus_of(&self, role: &str) -> f64 {
        self.rows.iter().filter(|r| r.role == role).map(WelfareRow::surplus).sum()
    }

    pub fn frame(&self) -> PolarsResult<DataFrame> {
        let r = &self.rows;
        let f = |g: &dyn Fn(&WelfareRow) -> f64| r.iter().map(g).collect::<Vec<f64>>();
        TableBuilder::new()
            .col(column::POPULATION, r.iter().map(|x| x.population.as_str()).collect::<Vec<&str>>())
            .col(column::ROLE, r.iter().map(|x| x.role).collect::<Vec<&str>>())
            .col(column::STRATEGY, r.iter().map(|x| x.strategy).collect::<Vec<&str>>())
            .col(column::AGENTS, r.iter().map(|x| x.agents).collect::<Vec<u64>>())
            .col(column::TRADES, r.iter().map(|x| x.trades).collect::<Vec<u64>>())
            .col(column::UNITS_DELIVERED, r.iter().map(|x| x.units_delivered).collect::<Vec<u64>>())
            .col(column::GROSS, f(&|x| x.gross))
            .col(column::COSTS, f(&|x| x.costs))
            .col(column::SURPLUS, f(&|x| x.surplus()))
            .col(column::SURPLUS_PER_AGENT, r.iter().map(|x| ratio(x.surplus(), x.agents as f64)).collect::<Vec<_>>())
            .col(column::BUDGET_MEAN, r.iter().map(|x| ratio(x.budget, x.agents as f64)).collect::<Vec<_>>())
            .col(column::WEALTH_FINAL_MEAN, r.iter().map(|x| ratio(x.wealth, x.agents as f64)).collect::<Vec<_>>())
            .build()
    }
}
