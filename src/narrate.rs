//! Narrated runs (`synmarket run <SCENARIO> --narrate`): what happens, step by step, in words.
//!
//! The narrator is an observer of the kernel: it sees every engine event as the run drains it,
//! with the market it came from, and turns it into a sentence. Every number it prints is read from
//! the engine at that moment (prices, reputations, the filter an offer failed, escrow payouts);
//! nothing is hard-coded. When a request arrives it also says why each resting offer it did not
//! take was passed over, and when an offer arrives, why each open auction it did not serve
//! rejected it ([`Market::qualification`]). The run ends with the price discovery block per task
//! type. Narration is meant for small scenarios such as `scenarios/market_simulation.toml`.

use std::sync::{Arc, Mutex};

use synmarket_agents::{SimError, SimResult, Simulation};
use synmarket_engine::{EscrowState, Market, MarketEvent, OrderId, PeerId, Side, SimTime, TaskStatus};

use crate::run::simulation_spec;
use crate::scenario::Scenario;

/// A name per peer: the population name, with `#i` when the population has several agents.
pub fn peer_names(s: &Scenario) -> Vec<String> {
    let mut names = Vec::new();
    for p in &s.populations {
        for i in 0..p.count {
            names.push(if p.count == 1 { p.name.clone() } else { format!("{}#{i}", p.name) });
        }
    }
    names
}

/// `hh:mm:ss` (with days when needed) of simulated time.
pub fn clock(t: SimTime) -> String {
    let s = t / 1000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 { format!("{d}d {h:02}:{m:02}:{sec:02}") } else { format!("{h:02}:{m:02}:{sec:02}") }
}

struct Narrator {
    names: Vec<String>,
    emit: Box<dyn FnMut(String) + Send>,
}

impl Narrator {
    fn name(&self, p: PeerId) -> String {
        self.names.get(p.index()).cloned().unwrap_or_else(|| format!("peer {p}"))
    }

    fn caps(m: &Market, o: OrderId) -> String {
        m.order(o).map(|o| m.vocabulary().capability_names(o.spec.capabilities).join(", ")).unwrap_or_default()
    }

    fn say(&mut self, line: String) {
        (self.emit)(line);
    }

    fn event(&mut self, m: &Market, ev: &MarketEvent) {
        let v = m.vocabulary();
        match *ev {
            MarketEvent::OrderPlaced { time, order, side, trader, task_type, price_per_unit, units } => {
                let tt = v.task_type_name(task_type).to_string();
                let who = self.name(trader);
                let caps = Self::caps(m, order);
                match side {
                    Side::Buy => {
                        let o = m.order(order);
                        let min = o.map_or(0.0, |o| o.spec.min_reputation);
                        let privacy = o.map_or("public", |o| o.spec.privacy_level.as_str());
                        self.say(format!(
                            "[{}] {who} requests {units} units of {tt} needing [{caps}] at up to {price_per_unit} tokens/unit \
                             (minimum reputation {min:.0}, {privacy}); {} tokens locked",
                            clock(time),
                            price_per_unit * units
                        ));
                        let resting: Vec<OrderId> = m
                            .orders()
                            .iter()
                            .filter(|x| x.side == Side::Sell && x.status.is_open())
                            .filter(|x| x.spec.task_type == task_type)
                            .map(|x| x.id)
                            .collect();
                        for oid in resting {
                            if let (Some(o), Ok(Err(why))) = (m.order(oid), m.qualification(order, oid)) {
                                let p = self.name(o.trader);
                                self.say(format!("    {p}'s offer (ask {}) is passed over: {why}", o.price_per_unit));
                            }
                        }
                    }
                    Side::Sell => {
                        self.say(format!(
                            "[{}] {who} (reputation {:.0}) offers {units} units of {tt} with [{caps}] at {price_per_unit} tokens/unit",
                            clock(time),
                            m.reputation(trader)
                        ));
                        let open: Vec<OrderId> = m
                            .orders()
                            .iter()
                            .filter(|x| x.side == Side::Buy && x.status.is_open())
                            .filter(|x| x.spec.task_type == task_type)
                            .map(|x| x.id)
                            .collect();
                        for rid in open {
                            if let (Some(r), Ok(Err(why))) = (m.order(rid), m.qualification(rid, order)) {
                                let req = self.name(r.trader);
                                self.say(format!("    {req}'s auction (request {rid}) rejects it: {why}"));
                            }
                        }
                    }
                }
            }
            MarketEvent::OrderRejected { time, trader, reason, .. } => {
                let who = self.name(trader);
                self.say(format!("[{}] the market refuses an order of {who}: {reason}", clock(time)));
            }
            MarketEvent::AuctionOpened { request, closes_at, .. } => self.say(format!(
                "    request {request} opens a first-accept auction until {}: the first qualifying offers are accepted at once",
                clock(closes_at)
            )),
            MarketEvent::AuctionClosed { time, request, reason, filled_units } => self.say(format!(
                "[{}] the auction of request {request} closes ({reason:?}) with {filled_units} units assigned",
                clock(time)
            )),
            MarketEvent::Assigned { assignment, request, provider, units, price_per_unit, .. } => {
                let a = m.assignment(assignment);
                let (bid, ask, rep) = a.map_or((0, 0, 0.0), |a| (a.bid, a.ask, a.provider_reputation));
                let rule = m.config().price_rule_name();
                let k = m.config().reputation_weight;
                let weighted = ask as f64 / (rep / 100.0).clamp(0.5, 2.0).powf(k);
                let p = self.name(provider);
                self.say(format!(
                    "    MATCH {assignment}: {p} (reputation {rep:.0}, ask {ask}, priority {weighted:.1}) takes {units} units of \
                     request {request}: effective price {price_per_unit} tokens/unit by the `{rule}` rule (bid {bid}), \
                     total cost {} tokens held in escrow {}",
                    price_per_unit * units,
                    assignment
                ));
            }
            MarketEvent::OrderExpired { time, order, unfilled_units } => {
                self.say(format!("[{}] order {order} expires with {unfilled_units} units unfilled", clock(time)))
            }
            MarketEvent::OrderCancelled { time, order, unfilled_units } => {
                self.say(format!("[{}] order {order} is cancelled with {unfilled_units} units unfilled", clock(time)))
            }
            MarketEvent::TaskStarted { time, assignment, response_ms } => {
                let p = m.assignment(assignment).map(|a| self.name(a.provider)).unwrap_or_default();
                self.say(format!(
                    "[{}] {p} starts assignment {assignment} after {:.1} s",
                    clock(time),
                    response_ms as f64 / 1000.0
                ));
            }
            MarketEvent::TaskCompleted { time, assignment, violations, penalty } => {
                let Some(a) = m.assignment(assignment) else { return };
                let p = self.name(a.provider);
                let took = a.finished_at.unwrap_or(time).saturating_sub(a.started_at.unwrap_or(time));
                let sla = if a.sla.is_none() {
                    "no SLA".to_string()
                } else if violations.count() == 0 {
                    "SLA met".to_string()
                } else {
                    let mut kinds = Vec::new();
                    if violations.response {
                        kinds.push("response time".to_string());
                    }
                    if violations.duration {
                        kinds.push("duration".to_string());
                    }
                    if violations.uptime {
                        kinds.push(format!("uptime {:.2}", a.uptime));
                    }
                    if violations.quality > 0 {
                        kinds.push(format!("{} quality minimums", violations.quality));
                    }
                    format!("SLA violated ({}), penalty {penalty} tokens", kinds.join(", "))
                };
                let status = if a.status == TaskStatus::Completed { "completes" } else { "completes late or short" };
                self.say(format!(
                    "[{}] {p} {status} assignment {assignment} in {:.1} min: {sla}",
                    clock(time),
                    took as f64 / 60_000.0
                ));
            }
            MarketEvent::TaskFailed { time, assignment, kind } => {
                let p = m.assignment(assignment).map(|a| self.name(a.provider)).unwrap_or_default();
                self.say(format!("[{}] {p} fails assignment {assignment} ({kind:?}): full refund", clock(time)));
            }
            MarketEvent::EscrowChanged { time, escrow, to, .. } if to.is_settled() => {
                let Some(e) = m.escrow(escrow) else { return };
                let what = match to {
                    EscrowState::Released => "released",
                    EscrowState::Refunded => "refunded",
                    EscrowState::Resolved => "resolved by arbitration",
                    _ => "expired",
                };
                self.say(format!(
                    "[{}] escrow {escrow} {what}: provider receives {}, requester {}, market fee {}",
                    clock(time),
                    e.paid_provider,
                    e.paid_requester,
                    e.fee
                ));
            }
            MarketEvent::ReputationChanged { peer, event, score, .. } => {
                let p = self.name(peer);
                self.say(format!("    {p}'s reputation is now {score:.0} ({event:?})"));
            }
            MarketEvent::DisputeRaised { time, escrow, by } => {
                let p = self.name(by);
                self.say(format!("[{}] {p} disputes escrow {escrow}", clock(time)));
            }
            MarketEvent::DisputeResolved { time, escrow, outcome, by_timeout } => self.say(format!(
                "[{}] dispute on escrow {escrow} decided: {outcome:?}{}",
                clock(time),
                if by_timeout { " (timeout default)" } else { "" }
            )),
            MarketEvent::ComplianceChecked { audited: true, violation: Some(v), provider, .. } => {
                let p = self.name(provider);
                self.say(format!("    audit: {p}'s receipt shows {}: payment voided", v.as_str()));
            }
            MarketEvent::PeerBanned { peer, .. } => {
                let p = self.name(peer);
                self.say(format!("    {p} is banned"));
            }
            _ => {}
        }
    }
}

/// Runs `s` while narrating into `emit`; returns the result as [`crate::run::simulate`] would.
pub fn narrate(s: &Scenario, mut emit: Box<dyn FnMut(String) + Send>) -> Result<SimResult, SimError> {
    let names = peer_names(s);
    let sim = Simulation::new(simulation_spec(s))?;
    {
        let m = sim.market();
        emit(format!("== {}: {} participants", s.name, m.peer_count()));
        for (i, name) in names.iter().enumerate() {
            let p = PeerId(i as u32);
            let st = m.peer_state(p);
            let role = if st.is_some_and(|x| x.arbitrator) {
                "arbitrator"
            } else if st.is_some_and(|x| x.account.is_some()) {
                "provider"
            } else {
                "requester"
            };
            emit(format!(
                "  {name:<16} peer {i:<3} {role:<10} reputation {:>4.0}  balance {}",
                m.reputation(p),
                m.wallet(p).available
            ));
        }
    }
    let shared = Arc::new(Mutex::new(emit));
    let sink = Arc::clone(&shared);
    let mut narrator = Narrator {
        names,
        emit: Box::new(move |line| {
            if let Ok(mut f) = sink.lock() {
                f(line);
            }
        }),
    };
    let result = sim.with_observer(Box::new(move |m, ev| narrator.event(m, ev))).run(&mut |_| {})?;
    // A poisoned lock means an earlier line's sink panicked; the sink itself is still usable.
    let mut emit = shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let m = &result.market;
    emit(String::new());
    emit(format!("== Price discovery (window {} h) at {}", m.config().price_window_ms / 3_600_000, clock(m.now())));
    emit(format!(
        "  {:<18} {:>6} {:>10} {:>8} {:>12} {:>8}",
        "task type", "trades", "average", "VWAP", "range", "volume"
    ));
    for tt in &result.task_types {
        let name = m.vocabulary().task_type_name(tt.id).to_string();
        match m.price_stats(tt.id) {
            Some(p) => emit(format!(
                "  {name:<18} {:>6} {:>10.2} {:>8.2} {:>12} {:>8}",
                p.count,
                p.mean_price,
                p.vwap,
                format!("{}–{}", p.min_price, p.max_price),
                p.volume_units
            )),
            None => emit(format!("  {name:<18} {:>6} {:>10} {:>8} {:>12} {:>8}", 0, "-", "-", "-", 0)),
        }
    }
    let released = m.escrows().iter().filter(|e| e.state == EscrowState::Released).count();
    emit(format!(
        "  {} assignments, {released} escrows released, treasury {} tokens; ledger digest {}",
        m.assignments().len(),
        m.treasury(),
        m.ledger_digest()
    ));
    drop(emit);
    Ok(result)
}
