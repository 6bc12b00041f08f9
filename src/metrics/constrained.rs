//! The competitive equilibrium under the market's eligibility constraints (issue: "P* ignores who
//! can trade with whom").
//!
//! The unconstrained equilibrium (`equilibrium.rs`) lets any demand unit trade with any supply
//! unit. The market does not: a request is served only by an offer whose capabilities cover its
//! needs and whose provider's reputation reaches the request's floor (its `min_reputation`, and
//! the market's `private_min_reputation` / `confidential_min_reputation` for private and
//! confidential requests, which also need the attested capability 0; docs/mechanisms.md §3, engine
//! `matching.rs`). The constrained maximum surplus is the largest Σ (value − cost) over a
//! feasible assignment of demand units to eligible supply units: a transportation problem, solved
//! exactly here as a min-cost flow (successive shortest paths with Dijkstra and potentials;
//! Ahuja, Magnanti & Orlin 1993, §9.7). `Q*` is the most units among the surplus-maximising
//! assignments (pairs of equal value and cost count, as in the step-curve walk).
//!
//! Decisions:
//! - An offer's provider reputation is its reputation when the offer was placed, raised to the
//!   highest reputation at which the offer actually traded (reputation moves while an offer
//!   rests). A quota trader's steps (counted once per period) take the least demanding needs and
//!   floor of its requests, and the union of capabilities and highest reputation of its offers.
//!   So every trade that happened is feasible here, and realised surplus ≤ the constrained
//!   maximum: constrained efficiency is at most 1.
//! - Usage caps and `max_providers` are not constraints of this problem (they bind rarely and
//!   would make it an integer program).
//! - Prices: with segmented eligibility each seller's units can clear at their own price. The LP
//!   duals of the optimum give every seller a competitive price range, from buyer-optimal to
//!   seller-optimal (Shapley & Shubik 1971); the constrained `P*` range is the unit-weighted mean
//!   of those ranges over the assigned units, and the constrained `P*` its midpoint. Without
//!   constraints it is the step curves' clearing range up to floating-point rounding (tested on random markets). Price
//!   deviation and Smith's alpha stay measured against the unconstrained `P*` (their tables and
//!   the report say so).
//! - Cost is bounded: a cell with more than [`MAX_PAIRS`] eligible (demand, supply) pairs is not
//!   solved (null), rather than slowing a large run down.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use synmarket_engine::CapabilitySet;

/// The most eligible pairs of one period × task type that are solved.
pub const MAX_PAIRS: usize = 200_000;

/// One demand or supply step with what decides eligibility.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// Value (demand) or cost (supply) per unit.
    pub price: f64,
    /// Units.
    pub units: u64,
    /// Demand: capabilities needed; supply: capabilities held.
    pub caps: CapabilitySet,
    /// Demand: the lowest provider reputation it accepts; supply: the provider's reputation.
    pub reputation: f64,
}

/// The constrained optimum of one period × task type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Constrained {
    /// Units assigned.
    pub q_units: u64,
    /// Σ (value − cost) over them.
    pub max_surplus: f64,
    /// Competitive prices of the assigned units, averaged over units: the lowest (buyer-optimal)
    /// and highest (seller-optimal) equilibrium price of each unit's seller; `None` when no unit
    /// is assigned. Without constraints these are `P*`'s clearing range.
    pub price_range: Option<(f64, f64)>,
}

impl Constrained {
    /// The midpoint of [`Constrained::price_range`]: the constrained `P*`.
    pub fn p_star(&self) -> Option<f64> {
        self.price_range.map(|(lo, hi)| (lo + hi) / 2.0)
    }
}

/// Whether supply step `s` may serve demand step `d`.
pub fn eligible(d: &Step, s: &Step) -> bool {
    d.caps.is_subset_of(s.caps) && s.reputation >= d.reputation
}

struct Edge {
    to: usize,
    cap: u64,
    cost: f64,
}

#[derive(PartialEq)]
struct Item(f64, usize);
impl Eq for Item {}
impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

/// The constrained maximum surplus (see the module header); `None` when either side is empty
/// or the cell has more than [`MAX_PAIRS`] eligible pairs.
pub fn constrained(demand: &[Step], supply: &[Step]) -> Option<Constrained> {
    let demand: Vec<&Step> = demand.iter().filter(|d| d.units > 0 && d.price.is_finite()).collect();
    let supply: Vec<&Step> = supply.iter().filter(|s| s.units > 0 && s.price.is_finite()).collect();
    if demand.is_empty() || supply.is_empty() {
        return None;
    }
    let (nd, ns) = (demand.len(), supply.len());
    let (source, sink) = (0, nd + ns + 1);
    let mut graph: Vec<Vec<usize>> = vec![Vec::new(); nd + ns + 2];
    let mut edges: Vec<Edge> = Vec::new();
    let mut add = |graph: &mut Vec<Vec<usize>>, from: usize, to: usize, cap: u64, cost: f64| {
        graph[from].push(edges.len());
        edges.push(Edge { to, cap, cost });
        graph[to].push(edges.len());
        edges.push(Edge { to: from, cap: 0, cost: -cost });
    };
    let mut pairs = 0usize;
    for (i, d) in demand.iter().enumerate() {
        add(&mut graph, source, 1 + i, d.units, 0.0);
        for (j, s) in supply.iter().enumerate() {
            if d.price >= s.price && eligible(d, s) {
                pairs += 1;
                if pairs > MAX_PAIRS {
                    return None;
                }
                add(&mut graph, 1 + i, 1 + nd + j, u64::MAX, -(d.price - s.price));
            }
        }
    }
    for (j, s) in supply.iter().enumerate() {
        add(&mut graph, 1 + nd + j, sink, s.units, 0.0);
    }
    // Initial potentials: shortest distances in the DAG source → demand → supply → sink.
    let n = graph.len();
    let mut potential = vec![0.0f64; n];
    for j in 0..ns {
        let node = 1 + nd + j;
        potential[node] = graph[node]
            .iter()
            .filter(|&&e| edges[e].cap == 0 && edges[e].to != sink)
            .map(|&e| -edges[e].cost)
            .fold(0.0, f64::min);
    }
    potential[sink] = (0..ns).map(|j| potential[1 + nd + j]).fold(0.0, f64::min);
    let (mut flow, mut surplus) = (0u64, 0.0f64);
    let mut dist = vec![f64::INFINITY; n];
    let mut prev: Vec<Option<usize>> = vec![None; n];
    loop {
        dist.iter_mut().for_each(|d| *d = f64::INFINITY);
        prev.iter_mut().for_each(|p| *p = None);
        dist[source] = 0.0;
        let mut heap = BinaryHeap::new();
        heap.push(Item(0.0, source));
        while let Some(Item(d, u)) = heap.pop() {
            if d > dist[u] {
                continue;
            }
            for &e in &graph[u] {
                let edge = &edges[e];
                if edge.cap == 0 {
                    continue;
                }
                // Reduced costs are ≥ 0 up to rounding.
                let reduced = (edge.cost + potential[u] - potential[edge.to]).max(0.0);
                let nd = d + reduced;
                if nd < dist[edge.to] {
                    dist[edge.to] = nd;
                    prev[edge.to] = Some(e);
                    heap.push(Item(nd, edge.to));
                }
            }
        }
        if !dist[sink].is_finite() {
            break;
        }
        for v in 0..n {
            if dist[v].is_finite() {
                potential[v] += dist[v];
            }
        }
        // The path's cost in the original costs: stop once it would lose surplus. Paths of zero
        // cost are taken: like the step-curve walk (value ≥ cost), Q* is the most units among the
        // surplus-maximising assignments.
        let path_cost = potential[sink] - potential[source];
        if path_cost > 1e-9 {
            break;
        }
        let mut push = u64::MAX;
        let mut v = sink;
        while let Some(e) = prev[v] {
            push = push.min(edges[e].cap);
            v = edges[e ^ 1].to;
        }
        let mut v = sink;
        while let Some(e) = prev[v] {
            edges[e].cap -= push;
            edges[e ^ 1].cap = edges[e ^ 1].cap.saturating_add(push);
            v = edges[e ^ 1].to;
        }
        flow += push;
        surplus += -path_cost * push as f64;
    }
    let price_range = (flow > 0).then(|| prices(&graph, &edges, &demand, &supply, source, sink)).flatten();
    Some(Constrained { q_units: flow, max_surplus: surplus, price_range })
}

/// Shortest distances from `start` over the arcs `(from, to, cost)` (Bellman–Ford with a queue;
/// the residual graph of an optimal flow has no negative cycle). `None` if it does not settle.
fn distances(n: usize, arcs: &[(usize, usize, f64)], start: usize) -> Option<Vec<f64>> {
    let mut out: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for &(u, v, c) in arcs {
        out[u].push((v, c));
    }
    let mut dist = vec![f64::INFINITY; n];
    let mut queued = vec![false; n];
    let mut relaxations = 0usize;
    let limit = n.saturating_mul(arcs.len().max(1)).saturating_add(n);
    let mut queue = std::collections::VecDeque::from([start]);
    dist[start] = 0.0;
    while let Some(u) = queue.pop_front() {
        queued[u] = false;
        for &(v, c) in &out[u] {
            if dist[u] + c < dist[v] - 1e-12 {
                dist[v] = dist[u] + c;
                relaxations += 1;
                if relaxations > limit {
                    return None;
                }
                if !queued[v] {
                    queued[v] = true;
                    queue.push_back(v);
                }
            }
        }
    }
    Some(dist)
}

/// Competitive prices from the LP duals of the optimal flow (Shapley & Shubik 1971): with node
/// potentials π (π(source) = π(sink) = 0) that leave every residual arc a non-negative reduced
/// cost, seller j's surplus per unit is `w_j = max(0, −π(j))` and its price `c_j + w_j`. The
/// shortest distances from the source are the largest such potentials (lowest prices); minus the
/// distances to the source the smallest (highest prices). Returns the unit-weighted mean of both
/// over the assigned units.
fn prices(
    graph: &[Vec<usize>],
    edges: &[Edge],
    demand: &[&Step],
    supply: &[&Step],
    source: usize,
    sink: usize,
) -> Option<(f64, f64)> {
    let n = graph.len();
    let nd = demand.len();
    let mut arcs: Vec<(usize, usize, f64)> = Vec::new();
    for (u, out) in graph.iter().enumerate() {
        for &e in out {
            if edges[e].cap > 0 {
                arcs.push((u, edges[e].to, edges[e].cost));
            }
        }
    }
    // The circulation's return arc: flow may always grow back (sink → source) and, with flow,
    // shrink (source → sink); both cost 0.
    arcs.push((sink, source, 0.0));
    arcs.push((source, sink, 0.0));
    let from = distances(n, &arcs, source)?;
    let reversed: Vec<(usize, usize, f64)> = arcs.iter().map(|&(u, v, c)| (v, u, c)).collect();
    let to = distances(n, &reversed, source)?;
    let (mut units, mut low, mut high) = (0.0f64, 0.0f64, 0.0f64);
    for out in graph.iter().take(nd + 1).skip(1) {
        for &e in out {
            let j = edges[e].to;
            if e % 2 == 1 || j <= nd || j == sink {
                continue;
            }
            let flow = edges[e ^ 1].cap as f64;
            if flow == 0.0 {
                continue;
            }
            let cost = supply[j - 1 - nd].price;
            let w_low = (-from[j]).max(0.0);
            let w_high = to[j].max(0.0);
            units += flow;
            low += flow * (cost + w_low);
            high += flow * (cost + w_high.max(w_low));
        }
    }
    (units > 0.0).then(|| (low / units, high / units))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::equilibrium;

    /// A seeded stream of test inputs (`synmarket_engine::seed`'s SplitMix64): `next(m)` draws
    /// from `0..m`. A failing case prints its seed and case number.
    fn stream(seed: u64) -> impl FnMut(u64) -> u64 {
        let mut g = synmarket_engine::workload::SplitMix::seed_from_u64(seed);
        move |m| g.next_u64() % m
    }

    fn step(price: f64, units: u64, caps: &[u8], reputation: f64) -> Step {
        let mut c = CapabilitySet::EMPTY;
        for &i in caps {
            c = c.with(i).unwrap();
        }
        Step { price, units, caps: c, reputation }
    }

    /// Without constraints the optimum is the unconstrained equilibrium's.
    #[test]
    fn unconstrained_cells_agree_with_the_step_curves() {
        let d = [step(10.0, 1, &[], 0.0), step(8.0, 3, &[], 0.0), step(6.0, 2, &[], 0.0), step(4.0, 5, &[], 0.0)];
        let s = [step(3.0, 2, &[], 0.0), step(5.0, 1, &[], 0.0), step(7.0, 4, &[], 0.0), step(9.0, 1, &[], 0.0)];
        let c = constrained(&d, &s).unwrap();
        let mut dd: Vec<(f64, u64)> = d.iter().map(|x| (x.price, x.units)).collect();
        let mut ss: Vec<(f64, u64)> = s.iter().map(|x| (x.price, x.units)).collect();
        let e = equilibrium(&mut dd, &mut ss).unwrap();
        assert_eq!(c.q_units, e.q_star);
        assert!((c.max_surplus - e.max_surplus).abs() < 1e-9, "{c:?} {e:?}");
        let (lo, hi) = c.price_range.unwrap();
        assert!((lo - e.p_low).abs() < 1e-9 && (hi - e.p_high).abs() < 1e-9, "{c:?} {e:?}");
    }

    /// Without constraints the constrained prices are P*'s clearing range, on random markets.
    #[test]
    fn unconstrained_prices_are_the_clearing_range() {
        const SEED: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = stream(SEED);
        for case in 0..300 {
            let d: Vec<Step> = (0..1 + next(6)).map(|_| step(1.0 + next(40) as f64, 1 + next(3), &[], 0.0)).collect();
            let s: Vec<Step> = (0..1 + next(6)).map(|_| step(1.0 + next(40) as f64, 1 + next(3), &[], 0.0)).collect();
            let c = constrained(&d, &s).unwrap();
            let mut dd: Vec<(f64, u64)> = d.iter().map(|x| (x.price, x.units)).collect();
            let mut ss: Vec<(f64, u64)> = s.iter().map(|x| (x.price, x.units)).collect();
            let e = equilibrium(&mut dd, &mut ss).unwrap();
            assert_eq!(c.q_units, e.q_star, "seed {SEED:#x} case {case}: {d:?} {s:?}");
            if let Some((lo, hi)) = c.price_range {
                assert!(
                    (lo - e.p_low).abs() < 1e-9 && (hi - e.p_high).abs() < 1e-9,
                    "seed {SEED:#x} case {case}: {d:?} {s:?}: constrained [{lo}, {hi}] vs P* range [{}, {}]",
                    e.p_low,
                    e.p_high
                );
            }
        }
    }

    /// The cheapest seller cannot serve the richest buyer: the optimum routes around it.
    #[test]
    fn eligibility_changes_the_optimum() {
        // Buyer A (value 10) needs capability 1, which only seller Y (cost 6) has; buyer B (value 9)
        // can use either. Unconstrained: A–X (7), B–Y (3) = 10 with X at cost 3. Constrained:
        // A–Y (4) + B–X (6) = 10 as well; with a reputation floor on A that Y misses, only B–X.
        let d = [step(10.0, 1, &[1], 0.0), step(9.0, 1, &[], 0.0)];
        let s = [step(3.0, 1, &[], 50.0), step(6.0, 1, &[1], 50.0)];
        assert_eq!((constrained(&d, &s).unwrap().q_units, constrained(&d, &s).unwrap().max_surplus), (2, 10.0));
        let d = [step(10.0, 1, &[1], 100.0), step(9.0, 1, &[], 0.0)];
        assert_eq!((constrained(&d, &s).unwrap().q_units, constrained(&d, &s).unwrap().max_surplus), (1, 6.0));
        // A greedy walk by value would give the only capable seller to the first buyer: here the
        // optimum needs it for the second. Buyer A (value 10, no needs), B (value 9, needs 1);
        // sellers X (cost 1, capability 1) and Y (cost 8, none). Greedy A–X (9) leaves B unserved
        // (Y lacks 1): 9. Optimum A–Y (2) + B–X (8) = 10.
        let d = [step(10.0, 1, &[], 0.0), step(9.0, 1, &[1], 0.0)];
        let s = [step(1.0, 1, &[1], 0.0), step(8.0, 1, &[], 0.0)];
        assert_eq!((constrained(&d, &s).unwrap().q_units, constrained(&d, &s).unwrap().max_surplus), (2, 10.0));
        assert!(constrained(&[], &s).is_none());
    }

    /// A brute-force check over every assignment of small random cells.
    #[test]
    fn matches_brute_force_on_small_unit_cells() {
        const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = stream(SEED);
        for case in 0..300 {
            let nd = 1 + next(4) as usize;
            let ns = 1 + next(4) as usize;
            let d: Vec<Step> = (0..nd)
                .map(|_| step(next(20) as f64, 1, if next(2) == 0 { &[] } else { &[1] }, next(3) as f64))
                .collect();
            let s: Vec<Step> = (0..ns)
                .map(|_| step(next(20) as f64, 1, if next(2) == 0 { &[] } else { &[1] }, next(3) as f64))
                .collect();
            // Brute force: every injective partial map demand → supply.
            fn best(i: usize, d: &[Step], s: &[Step], used: &mut Vec<bool>) -> f64 {
                if i == d.len() {
                    return 0.0;
                }
                let mut b = best(i + 1, d, s, used);
                for j in 0..s.len() {
                    if !used[j] && d[i].price >= s[j].price && eligible(&d[i], &s[j]) {
                        used[j] = true;
                        b = b.max(d[i].price - s[j].price + best(i + 1, d, s, used));
                        used[j] = false;
                    }
                }
                b
            }
            let want = best(0, &d, &s, &mut vec![false; ns]);
            let got = constrained(&d, &s).unwrap().max_surplus;
            assert!((got - want).abs() < 1e-9, "seed {SEED:#x} case {case}: {d:?} {s:?}: {got} vs {want}");
        }
    }
}
