//! Shared builders for the strategy tests: one task type, small populations, short runs.
#![allow(dead_code)]

use synmarket_agents::{Dist, PopulationSpec, Role, SimResult, Simulation, SimulationSpec, Strategy, TaskTypeSpec};
use synmarket_engine::{HOUR, MINUTE, MarketConfig, PeerId, Side};

/// One task type: `compute` with one capability, 10 units per task, 5–20 minute tasks.
pub fn task_type() -> TaskTypeSpec {
    TaskTypeSpec {
        name: "compute".into(),
        capabilities: vec!["gpu".into()],
        capabilities_needed: Some(Dist::Fixed(1.0)),
        units: Dist::Fixed(10.0),
        duration_ms: synmarket_agents::DurationDist(Dist::Uniform((5 * MINUTE) as f64, (20 * MINUTE) as f64)),
    }
}

/// A population with test defaults: one order per hour, 10 units, budget 10^6.
pub fn pop(name: &str, role: Role, count: u32, strategy: Strategy) -> PopulationSpec {
    let mut p = PopulationSpec::new(name, role, count, strategy);
    if role == Role::Arbitrator {
        p.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(0.0);
    }
    p
}

/// A spec of `hours` simulated hours under `market`.
pub fn spec(seed: u64, hours: u64, market: MarketConfig, populations: Vec<PopulationSpec>) -> SimulationSpec {
    SimulationSpec {
        seed,
        duration_ms: hours * HOUR,
        sample_interval_ms: HOUR,
        periods: 1,
        market,
        task_types: vec![task_type()],
        populations,
    }
}

/// Runs a spec (the kernel checks the market's invariants at every sample and at the end).
pub fn run(spec: SimulationSpec) -> SimResult {
    match Simulation::new(spec).and_then(|s| s.run(&mut |_| {})) {
        Ok(r) => r,
        Err(e) => panic!("simulation failed: {e}"),
    }
}

/// Peers of the agents of population `pi` (first identities).
pub fn peers_of(r: &SimResult, pi: u32) -> Vec<PeerId> {
    r.agents.iter().filter(|a| a.population == pi).map(|a| a.peer).collect()
}

/// True when `peer` belongs to an agent of population `pi` (any identity).
pub fn in_population(r: &SimResult, peer: PeerId, pi: u32) -> bool {
    r.agent_of(peer).is_some_and(|a| a.population == pi)
}

/// Prices of the orders of one side placed by population `pi`, in placement order, with the
/// agent's limit (value or cost).
pub fn quotes(r: &SimResult, pi: u32, side: Side) -> Vec<(PeerId, u64, f64)> {
    r.market
        .orders()
        .iter()
        .filter(|o| o.side == side && in_population(r, o.trader, pi))
        .filter_map(|o| {
            let a = r.agent_of(o.trader)?;
            let limit = match side {
                Side::Buy => a.profile.value_per_unit?,
                Side::Sell => a.profile.cost_per_unit?,
            };
            Some((a.peer, o.price_per_unit, limit))
        })
        .collect()
}
