//! Competitive equilibrium per period and task type (docs/metrics.md "Price convergence",
//! "Efficiency") and the `price_discovery` table.
//!
//! The demand curve is the requests of the period's active requesters at their private values,
//! the supply curve the offers of the period's active providers at their private costs (see the
//! module docs of `metrics` for which orders count). Both are step curves over units.
//!
//! [`equilibrium`] walks them from the best unit (highest value against lowest cost) while value
//! ≥ cost: the units walked are `Q*` and their Σ (value − cost) is the maximum surplus. The
//! clearing price range is `[max(last cost, next value), min(last value, next cost)]` (a missing
//! "next" step is ±∞); with `Q* = 0` it is `[highest value, lowest cost]`. `P*` is its midpoint.
//! Undefined (`None`) when either side is empty.
//!
//! Traders with a per-period quota (`units_per_period`, as in Gode and Sunder's single-unit
//! traders) re-quote the same units until they trade: their demand (supply) in a period is their
//! quota, counted once, at their value (cost), not once per quote.

use polars::prelude::{DataFrame, PolarsResult};

use super::constrained::{Constrained, Step, constrained};
use super::stats::{mean, ratio};
use super::{Ctx, delivered};
use crate::output::raw_tables::TableBuilder;
use synmarket_engine::{CapabilitySet, PrivacyLevel, Side};

/// The column names of `price_discovery.parquet`, written here and read by the reports (reports/README.md documents
/// each).
#[allow(missing_docs)]
pub mod column {
    pub const PERIOD: &str = "period";
    pub const TIME_START_MS: &str = "time_start_ms";
    pub const TIME_END_MS: &str = "time_end_ms";
    pub const TASK_TYPE: &str = "task_type";
    pub const ACTIVE_REQUESTERS: &str = "active_requesters";
    pub const ACTIVE_PROVIDERS: &str = "active_providers";
    pub const DEMAND_ORDERS: &str = "demand_orders";
    pub const DEMAND_UNITS: &str = "demand_units";
    pub const SUPPLY_ORDERS: &str = "supply_orders";
    pub const SUPPLY_UNITS: &str = "supply_units";
    pub const P_STAR: &str = "p_star";
    pub const P_STAR_LOW: &str = "p_star_low";
    pub const P_STAR_HIGH: &str = "p_star_high";
    pub const Q_STAR_UNITS: &str = "q_star_units";
    pub const TRADES: &str = "trades";
    pub const VOLUME_UNITS: &str = "volume_units";
    pub const VWAP: &str = "vwap";
    pub const SMITH_ALPHA: &str = "smith_alpha";
    pub const MAX_SURPLUS: &str = "max_surplus";
    pub const REALISED_SURPLUS: &str = "realised_surplus";
    pub const DELIVERED_UNITS: &str = "delivered_units";
    pub const ALLOCATIVE_EFFICIENCY: &str = "allocative_efficiency";
    pub const P_STAR_CONSTRAINED: &str = "p_star_constrained";
    pub const P_STAR_CONSTRAINED_LOW: &str = "p_star_constrained_low";
    pub const P_STAR_CONSTRAINED_HIGH: &str = "p_star_constrained_high";
    pub const Q_STAR_CONSTRAINED_UNITS: &str = "q_star_constrained_units";
    pub const MAX_SURPLUS_CONSTRAINED: &str = "max_surplus_constrained";
    pub const ALLOCATIVE_EFFICIENCY_CONSTRAINED: &str = "allocative_efficiency_constrained";
}

/// The capabilities in both sets.
fn intersection(a: CapabilitySet, b: CapabilitySet) -> CapabilitySet {
    a.indices().filter(|&i| b.contains(i)).fold(CapabilitySet::EMPTY, |s, i| s.with(i).unwrap_or(s))
}

/// The competitive equilibrium of one pair of step curves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Equilibrium {
    /// Equilibrium quantity (units).
    pub q_star: u64,
    /// Lower end of the clearing price range.
    pub p_low: f64,
    /// Upper end of the clearing price range.
    pub p_high: f64,
    /// Midpoint of the range: `P*`.
    pub p_star: f64,
    /// Σ (value − cost) over the `Q*` units traded at equilibrium.
    pub max_surplus: f64,
}

/// The equilibrium of `demand` and `supply` steps `(price, units)`; sorts both in place.
pub fn equilibrium(demand: &mut [(f64, u64)], supply: &mut [(f64, u64)]) -> Option<Equilibrium> {
    demand.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    supply.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let demand: Vec<(f64, u64)> = demand.iter().copied().filter(|d| d.1 > 0 && d.0.is_finite()).collect();
    let supply: Vec<(f64, u64)> = supply.iter().copied().filter(|s| s.1 > 0 && s.0.is_finite()).collect();
    let (first_d, first_s) = (demand.first()?.0, supply.first()?.0);
    let (mut i, mut j) = (0, 0);
    let (mut di, mut sj) = (demand[0].1, supply[0].1);
    let (mut q, mut surplus) = (0u64, 0.0);
    let (mut last_d, mut last_s) = (first_d, first_s);
    while i < demand.len() && j < supply.len() && demand[i].0 >= supply[j].0 {
        let take = di.min(sj);
        q += take;
        surplus += take as f64 * (demand[i].0 - supply[j].0);
        last_d = demand[i].0;
        last_s = supply[j].0;
        di -= take;
        sj -= take;
        if di == 0 {
            i += 1;
            di = demand.get(i).map_or(0, |d| d.1);
        }
        if sj == 0 {
            j += 1;
            sj = supply.get(j).map_or(0, |s| s.1);
        }
    }
    let next_d = demand.get(i).map_or(f64::NEG_INFINITY, |d| d.0);
    let next_s = supply.get(j).map_or(f64::INFINITY, |s| s.0);
    let (p_low, p_high) = if q == 0 { (first_d, first_s) } else { (last_s.max(next_d), last_d.min(next_s)) };
    Some(Equilibrium { q_star: q, p_low, p_high, p_star: (p_low + p_high) / 2.0, max_surplus: surplus })
}

/// One period × task type.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeriodRow {
    pub demand_orders: u64,
    pub demand_units: u64,
    pub supply_orders: u64,
    pub supply_units: u64,
    pub requesters: u64,
    pub providers: u64,
    pub eq: Option<Equilibrium>,
    /// The optimum under the market's eligibility constraints (`constrained.rs`).
    pub constrained: Option<Constrained>,
    pub trades: u64,
    pub volume_units: u64,
    pub turnover: u128,
    pub prices: Vec<f64>,
    pub realised_surplus: f64,
    pub delivered_units: u64,
}

impl PeriodRow {
    pub fn vwap(&self) -> Option<f64> {
        ratio(self.turnover as f64, self.volume_units as f64)
    }

    /// `100 · sqrt(mean((p − P*)²)) / P*` over the period's trade prices.
    pub fn smith_alpha(&self) -> Option<f64> {
        let p = self.eq?.p_star;
        let msd = mean(self.prices.iter().map(|x| (x - p) * (x - p)))?;
        ratio(100.0 * msd.sqrt(), p)
    }

    /// Realised surplus of delivered work / maximum surplus at `Q*`.
    pub fn efficiency(&self) -> Option<f64> {
        let max = self.eq?.max_surplus;
        if max > 0.0 { ratio(self.realised_surplus, max) } else { None }
    }

    /// Realised surplus / the maximum under the eligibility constraints.
    pub fn efficiency_constrained(&self) -> Option<f64> {
        let max = self.constrained?.max_surplus;
        if max > 0.0 { ratio(self.realised_surplus, max) } else { None }
    }
}

/// Rows indexed `[period][task type]`.
pub(crate) type PeriodTable = Vec<Vec<PeriodRow>>;

/// Builds the demand and supply curves of every period and task type and their equilibria.
pub(crate) fn per_period(ctx: &Ctx) -> PeriodTable {
    let m = &ctx.r.market;
    let n = ctx.n_types();
    let cell = |k: usize, t: usize| k * n + t;
    let mut demand: Vec<Vec<(f64, u64)>> = vec![Vec::new(); ctx.periods * n];
    let mut supply: Vec<Vec<(f64, u64)>> = vec![Vec::new(); ctx.periods * n];
    let mut req_peers: Vec<Vec<u32>> = vec![Vec::new(); ctx.periods * n];
    let mut prov_peers: Vec<Vec<u32>> = vec![Vec::new(); ctx.periods * n];
    let mut rows: PeriodTable = vec![vec![PeriodRow::default(); n]; ctx.periods];
    let mut trades: PeriodTable = vec![vec![PeriodRow::default(); n]; ctx.periods];
    let mut cdemand: Vec<Vec<Step>> = vec![Vec::new(); ctx.periods * n];
    let mut csupply: Vec<Vec<Step>> = vec![Vec::new(); ctx.periods * n];
    // Eligibility of each order (constrained.rs): a request's needs and reputation floor, an
    // offer's capabilities and provider reputation (at placement, raised to any match's).
    let config = m.config();
    let mut offer_rep: Vec<f64> = ctx.r.order_reputation.clone();
    offer_rep.resize(m.orders().len(), f64::NAN);
    for a in m.assignments() {
        if let Some(r) = offer_rep.get_mut(a.offer.index()) {
            *r = if r.is_nan() { a.provider_reputation } else { r.max(a.provider_reputation) };
        }
    }
    let eligibility = |o: &synmarket_engine::Order| -> (CapabilitySet, f64) {
        if o.side == Side::Buy {
            let (floor, attested) = match o.spec.privacy_level {
                PrivacyLevel::Public => (o.spec.min_reputation, false),
                PrivacyLevel::Private => (o.spec.min_reputation.max(config.private_min_reputation), false),
                PrivacyLevel::Confidential => (o.spec.min_reputation.max(config.confidential_min_reputation), true),
            };
            let needs =
                if attested { o.spec.capabilities.with(0).unwrap_or(o.spec.capabilities) } else { o.spec.capabilities };
            (needs, floor)
        } else {
            (o.spec.capabilities, offer_rep.get(o.id.index()).copied().unwrap_or(f64::NAN))
        }
    };
    let mut add = |k: usize,
                   t: usize,
                   side: Side,
                   trader: u32,
                   price: Option<f64>,
                   units: u64,
                   (caps, reputation): (CapabilitySet, f64)| {
        let Some(price) = price else { return };
        let c = cell(k, t);
        let row = &mut rows[k][t];
        let step = Step { price, units, caps, reputation };
        if side == Side::Buy {
            demand[c].push((price, units));
            cdemand[c].push(step);
            req_peers[c].push(trader);
            row.demand_orders += 1;
            row.demand_units += units;
        } else {
            supply[c].push((price, units));
            csupply[c].push(step);
            prov_peers[c].push(trader);
            row.supply_orders += 1;
            row.supply_units += units;
        }
    };
    let quota = |p: synmarket_engine::PeerId| ctx.quota_of(p);
    // (period, task type, side, trader) of quota traders present in the period, each once, with
    // the least demanding eligibility of their requests / the widest of their offers.
    let mut quota_present: std::collections::BTreeMap<(usize, usize, bool, u32), (CapabilitySet, f64)> =
        Default::default();
    for o in m.orders() {
        let t = o.spec.task_type.index();
        if t >= n {
            continue;
        }
        let k = ctx.period_of(o.placed_at);
        if quota(o.trader).is_some() {
            let is_request = o.side == Side::Buy;
            let (caps, rep) = eligibility(o);
            quota_present
                .entry((k, t, is_request, o.trader.0))
                .and_modify(|(c, r)| {
                    if is_request {
                        *c = intersection(*c, caps);
                        *r = r.min(rep);
                    } else {
                        *c = c.union(caps);
                        *r = r.max(rep);
                    }
                })
                .or_insert((caps, rep));
            continue;
        }
        let price = match o.side {
            Side::Buy => ctx.value(o.trader),
            Side::Sell => ctx.cost(o.trader),
        };
        add(k, t, o.side, o.trader.0, price, o.total_units, eligibility(o));
    }
    for (&(k, t, is_request, trader), &elig) in &quota_present {
        let p = synmarket_engine::PeerId(trader);
        let side = if is_request { Side::Buy } else { Side::Sell };
        // A schedule's trader brings each of its units at its own value (one step each).
        if let Some(list) = ctx.agent(p).and_then(|a| ctx.schedule_of(a)) {
            for &v in list {
                add(k, t, side, trader, Some(v).filter(|v| v.is_finite()), 1, elig);
            }
            continue;
        }
        let price = if is_request { ctx.value(p) } else { ctx.cost(p) };
        add(k, t, side, trader, price, quota(p).unwrap_or(1), elig);
    }
    // Older orders that traded in a later period count there with the units they traded.
    for (i, a) in m.assignments().iter().enumerate() {
        let t = a.task_type.index();
        if t >= n {
            continue;
        }
        let k = ctx.period_of(a.assigned_at);
        for (id, side, trader) in [(a.request, Side::Buy, a.requester), (a.offer, Side::Sell, a.provider)] {
            if quota(trader).is_none()
                && let Some(o) = m.order(id).filter(|o| ctx.period_of(o.placed_at) < k)
            {
                let price = if side == Side::Buy { ctx.value(trader) } else { ctx.cost(trader) };
                add(k, t, side, trader.0, price, a.units, eligibility(o));
            }
        }
        let row = &mut trades[k][t];
        row.trades += 1;
        row.volume_units += a.units;
        row.turnover += a.amount() as u128;
        row.prices.push(a.price_per_unit as f64);
        if delivered(a.status)
            && let (Some(v), Some(c)) = (ctx.traded_value(i), ctx.traded_cost(i))
        {
            row.realised_surplus += (v - c) * a.units as f64;
            row.delivered_units += a.units;
        }
    }
    for (k, period) in rows.iter_mut().enumerate() {
        for (t, row) in period.iter_mut().enumerate() {
            let c = cell(k, t);
            let tr = std::mem::take(&mut trades[k][t]);
            (row.trades, row.volume_units, row.turnover, row.prices) =
                (tr.trades, tr.volume_units, tr.turnover, tr.prices);
            (row.realised_surplus, row.delivered_units) = (tr.realised_surplus, tr.delivered_units);
            row.eq = equilibrium(&mut demand[c], &mut supply[c]);
            row.constrained = constrained(&cdemand[c], &csupply[c]);
            for peers in [&mut req_peers[c], &mut prov_peers[c]] {
                peers.sort_unstable();
                peers.dedup();
            }
            row.requesters = req_peers[c].len() as u64;
            row.providers = prov_peers[c].len() as u64;
        }
    }
    rows
}

/// The `price_discovery` table: one row per period × task type.
pub(crate) fn frame(ctx: &Ctx, rows: &PeriodTable) -> PolarsResult<DataFrame> {
    let flat: Vec<(usize, usize, &PeriodRow)> =
        rows.iter().enumerate().flat_map(|(k, p)| p.iter().enumerate().map(move |(t, r)| (k, t, r))).collect();
    let f = |g: &dyn Fn(&PeriodRow) -> Option<f64>| flat.iter().map(|x| g(x.2)).collect::<Vec<Option<f64>>>();
    let u = |g: &dyn Fn(&PeriodRow) -> u64| flat.iter().map(|x| g(x.2)).collect::<Vec<u64>>();
    TableBuilder::new()
        .col(column::PERIOD, flat.iter().map(|x| x.0 as u32).collect::<Vec<u32>>())
        .col(column::TIME_START_MS, flat.iter().map(|x| ctx.period_bounds(x.0).0).collect::<Vec<u64>>())
        .col(column::TIME_END_MS, flat.iter().map(|x| ctx.period_bounds(x.0).1).collect::<Vec<u64>>())
        .col(column::TASK_TYPE, flat.iter().map(|x| ctx.task_types[x.1].as_str()).collect::<Vec<&str>>())
        .col(column::ACTIVE_REQUESTERS, u(&|r| r.requesters))
        .col(column::ACTIVE_PROVIDERS, u(&|r| r.providers))
        .col(column::DEMAND_ORDERS, u(&|r| r.demand_orders))
        .col(column::DEMAND_UNITS, u(&|r| r.demand_units))
        .col(column::SUPPLY_ORDERS, u(&|r| r.supply_orders))
        .col(column::SUPPLY_UNITS, u(&|r| r.supply_units))
        .col(column::P_STAR, f(&|r| r.eq.map(|e| e.p_star)))
        .col(column::P_STAR_LOW, f(&|r| r.eq.map(|e| e.p_low)))
        .col(column::P_STAR_HIGH, f(&|r| r.eq.map(|e| e.p_high)))
        .col(column::Q_STAR_UNITS, flat.iter().map(|x| x.2.eq.map(|e| e.q_star)).collect::<Vec<Option<u64>>>())
        .col(column::TRADES, u(&|r| r.trades))
        .col(column::VOLUME_UNITS, u(&|r| r.volume_units))
        .col(column::VWAP, f(&|r| r.vwap()))
        .col(column::SMITH_ALPHA, f(&|r| r.smith_alpha()))
        .col(column::MAX_SURPLUS, f(&|r| r.eq.map(|e| e.max_surplus)))
        .col(column::REALISED_SURPLUS, f(&|r| Some(r.realised_surplus)))
        .col(column::DELIVERED_UNITS, u(&|r| r.delivered_units))
        .col(column::ALLOCATIVE_EFFICIENCY, f(&|r| r.efficiency()))
        .col(column::P_STAR_CONSTRAINED, f(&|r| r.constrained.and_then(|c| c.p_star())))
        .col(column::P_STAR_CONSTRAINED_LOW, f(&|r| r.constrained.and_then(|c| c.price_range).map(|p| p.0)))
        .col(column::P_STAR_CONSTRAINED_HIGH, f(&|r| r.constrained.and_then(|c| c.price_range).map(|p| p.1)))
        .col(
            column::Q_STAR_CONSTRAINED_UNITS,
            flat.iter().map(|x| x.2.constrained.map(|c| c.q_units)).collect::<Vec<Option<u64>>>(),
        )
        .col(column::MAX_SURPLUS_CONSTRAINED, f(&|r| r.constrained.map(|c| c.max_surplus)))
        .col(column::ALLOCATIVE_EFFICIENCY_CONSTRAINED, f(&|r| r.efficiency_constrained()))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_crossing() {
        // Values 10, 8, 6, 4 and costs 3, 5, 7, 9 (one unit each): Q* = 2, range [5, 7]... but
        // the third unit has value 6 < cost 7, so the range is [max(5, 6), min(8, 7)] = [6, 7].
        let mut d = vec![(6.0, 1), (10.0, 1), (4.0, 1), (8.0, 1)];
        let mut s = vec![(9.0, 1), (3.0, 1), (7.0, 1), (5.0, 1)];
        let e = equilibrium(&mut d, &mut s).expect("both sides");
        assert_eq!(e.q_star, 2);
        assert_eq!((e.p_low, e.p_high, e.p_star), (6.0, 7.0, 6.5));
        assert_eq!(e.max_surplus, (10.0 - 3.0) + (8.0 - 5.0));
    }

    #[test]
    fn multi_unit_steps_and_edge_cases() {
        let mut d = vec![(50.0, 100)];
        let mut s = vec![(20.0, 30), (40.0, 30), (60.0, 100)];
        let e = equilibrium(&mut d, &mut s).expect("both sides");
        assert_eq!(e.q_star, 60);
        assert_eq!((e.p_low, e.p_high), (50.0, 50.0));
        assert_eq!(e.max_surplus, 30.0 * 30.0 + 30.0 * 10.0);
        // No crossing: Q* = 0, range between the best value and the best cost.
        let e = equilibrium(&mut [(10.0, 5)], &mut [(12.0, 5)]).expect("both sides");
        assert_eq!((e.q_star, e.p_low, e.p_high), (0, 10.0, 12.0));
        // Supply runs out: the upper end is the last value.
        let e = equilibrium(&mut [(10.0, 5), (9.0, 5)], &mut [(2.0, 3)]).expect("both sides");
        assert_eq!((e.q_star, e.p_low, e.p_high), (3, 10.0, 10.0));
        assert!(equilibrium(&mut [], &mut [(1.0, 1)]).is_none());
    }
}
