//! Building a simulation: the market, task types, ring capabilities, and one peer per agent.
//!
//! Agent `i` (populations in file order, members in index order) registers peer `i` at time 0
//! with account `i + 1`, except key sharers: each run of `peers_per_account` consecutive members
//! of a `key_sharer` population registers the account of its first member. A colluder ring named
//! `r` gets the capability `ring-r` (interned here), held by the ring's providers and required by
//! its requesters, so ring requests only match ring offers.

use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use synmarket_engine::{AccountId, Market, PeerId, PeerSpec, signing};

use super::{AgentRecord, Identity, KEvent, KernelStats, Phase, SimError, Simulation, SimulationSpec, Slot};
use crate::agent::TaskTypeInfo;
use crate::population::PopulationSpec;
use crate::roles::{Population, Setup, build_agent};
use crate::spec::{Role, exponential_ms};
use crate::stream::{stream_rng, stream_seed};

/// Names of the quality metrics every completion reports: those named by SLAs, first four.
pub fn quality_metric_names(populations: &[PopulationSpec]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in populations {
        if let Some(sla) = p.requesting.sla.as_ref().filter(|_| p.role == Role::Requester) {
            for name in sla.quality_minimums.keys() {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
    }
    names.truncate(4);
    names
}

impl Simulation {
    /// Builds the market, registers every agent as a peer and schedules the first events.
    pub fn new(spec: SimulationSpec) -> Result<Self, SimError> {
        let mut market = Market::new(spec.market.clone())?;
        let mut task_types = Vec::with_capacity(spec.task_types.len());
        for tt in &spec.task_types {
            let id = market.register_task_type(&tt.name)?;
            let capabilities = tt.capabilities.iter().map(|c| market.capability(c)).collect::<Result<Vec<u8>, _>>()?;
            task_types.push(TaskTypeInfo {
                id,
                capabilities,
                capabilities_needed: tt.capabilities_needed(),
                spec: tt.clone(),
            });
        }
        // Rings, in order of first mention.
        let mut rings: Vec<(String, u8)> = Vec::new();
        for ring in spec.populations.iter().filter_map(|p| p.strategy.behaviour().ring()) {
            if !rings.iter().any(|(r, _)| r == ring) {
                let cap = market.capability(&format!("ring-{ring}"))?;
                rings.push((ring.to_string(), cap));
            }
        }
        // Quality metrics are interned as capabilities would be: indices 0..n in name order.
        let metric_names = quality_metric_names(&spec.populations);
        let quality_metrics: Vec<u8> = (0..metric_names.len() as u8).collect();
        let periods = spec.periods.max(1);
        let period_ms = (spec.duration_ms / periods as u64).max(1);
        let mut sim = Simulation {
            market,
            slots: Vec::new(),
            records: Vec::new(),
            peer_slot: Vec::new(),
            account_holders: BTreeMap::new(),
            task_types,
            quality_metrics,
            queue: BinaryHeap::new(),
            seq: 0,
            completions: Vec::new(),
            wakes: VecDeque::new(),
            actions: Vec::new(),
            events: Vec::new(),
            type_samples: Vec::new(),
            market_samples: Vec::new(),
            order_reputation: Vec::new(),
            period_start_assignments: Vec::new(),
            ground_truth: Vec::new(),
            stats: KernelStats::default(),
            period_ms,
            observer: None,
            shout_subscribers: Vec::new(),
            phase: Phase::Top,
            external: Vec::new(),
            paused: None,
            reschedule: None,
            last_report: 0,
            spec,
        };
        let verify = sim.spec.market.verify_signatures;
        let key_seed = sim.spec.market.market_seed;
        let type_names: Vec<String> = sim.spec.task_types.iter().map(|t| t.name.clone()).collect();
        let populations: Vec<std::sync::Arc<Population>> = sim
            .spec
            .populations
            .iter()
            .map(|p| {
                let task_mix = if p.role.trades() { p.trading.resolved_mix(&type_names) } else { Vec::new() };
                let quality_minimums = match p.requesting.sla.as_ref().filter(|_| p.role == Role::Requester) {
                    Some(sla) => sla
                        .quality_minimums
                        .iter()
                        .filter_map(|(name, min)| metric_names.iter().position(|m| m == name).map(|i| (i as u8, *min)))
                        .collect(),
                    None => Vec::new(),
                };
                std::sync::Arc::new(Population { spec: p.clone(), task_mix, quality_minimums })
            })
            .collect();
        for (pi, population) in populations.iter().enumerate() {
            let pop = &population.spec;
            let behaviour = pop.strategy.behaviour();
            let ring = behaviour.ring().and_then(|name| rings.iter().position(|(r, _)| r == name));
            let mut setup =
                Setup { ring_capability: ring.map(|r| rings[r].1), fee_bps: sim.spec.market.fee_bps, member: 0 };
            let group = behaviour.peers_per_account().max(1);
            for i in 0..pop.count {
                let peer = PeerId(sim.slots.len() as u32);
                let mut rng = stream_rng(sim.spec.seed, &pop.name, i as u64);
                setup.member = i;
                let agent = build_agent(population, &sim.task_types, setup, &mut rng);
                let profile = agent.profile();
                let is_provider = pop.role == Role::Provider;
                let cap = pop.providing.usage_cap_units_per_day.as_ref().filter(|_| is_provider).map(|d| {
                    let x = d.sample(&mut rng);
                    if x.is_finite() { x.round().max(1.0) as u64 } else { 1 }
                });
                let initial = pop.common.initial_reputation.as_ref().map(|d| d.sample(&mut rng));
                let account = is_provider.then(|| AccountId((peer.0 - i % group) as u64 + 1));
                sim.market.register_peer(
                    PeerSpec {
                        endowment: profile.budget,
                        account,
                        usage_cap_units: if is_provider { cap } else { None },
                        initial_reputation: initial,
                        arbitrator: pop.role == Role::Arbitrator,
                        verifying_key: None,
                    },
                    0,
                )?;
                if let Some(a) = account {
                    *sim.account_holders.entry(a).or_insert(0) += 1;
                }
                let rate_per_ms =
                    if pop.role.trades() { pop.trading.arrival_rate_per_hour.0 / 3_600_000.0 } else { 0.0 };
                sim.records.push(AgentRecord {
                    peer,
                    population: pi as u32,
                    index: i,
                    role: pop.role,
                    strategy: pop.kind(),
                    profile,
                    account,
                    usage_cap_units: if is_provider { cap } else { None },
                    initial_reputation: sim.market.reputation(peer),
                    stream_seed: stream_seed(sim.spec.seed, &pop.name, i as u64),
                    identities: vec![Identity {
                        peer,
                        account,
                        since: 0,
                        initial_reputation: sim.market.reputation(peer),
                    }],
                });
                if agent.wants_market_events() {
                    let n = sim.task_types.len();
                    sim.shout_subscribers.resize(n, Vec::new());
                    for &(ti, w) in &population.task_mix {
                        if w > 0.0 && ti < n {
                            let t = sim.task_types[ti].id.index().min(n - 1);
                            sim.shout_subscribers[t].push(peer.0);
                        }
                    }
                }
                let key = verify.then(|| signing::derive_signing_key(key_seed, peer));
                sim.peer_slot.push(peer.0);
                sim.slots.push(Slot {
                    agent,
                    rng,
                    rate_per_ms,
                    key,
                    peer,
                    ring: ring.map(|r| r as u32),
                    orders_placed: 0,
                    max_orders: pop.trading.max_orders,
                });
                if pop.role != Role::Arbitrator {
                    if let Some(t) = pop.trading.first_arrival_ms {
                        sim.push(t, KEvent::Arrival(peer.0));
                    } else if rate_per_ms > 0.0 {
                        let first = exponential_ms(&mut sim.slots[peer.index()].rng, rate_per_ms);
                        sim.schedule_at(first, KEvent::Arrival(peer.0));
                    }
                }
            }
        }
        for k in 1..periods {
            sim.schedule_at(k as f64 * period_ms as f64, KEvent::PeriodStart(k));
        }
        let interval = sim.spec.sample_interval_ms.max(1);
        let mut t = interval;
        while t <= sim.spec.duration_ms {
            sim.push(t, KEvent::Sample);
            t += interval;
        }
        Ok(sim)
    }
}
