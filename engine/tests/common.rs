//! Shared fixture for the engine's integration tests.
#![allow(dead_code)]

use synmarket_engine::*;

/// A market with one task type (`code_generation`) and one capability (`rust`).
pub struct Fx {
    /// The market.
    pub m: Market,
    /// The task type.
    pub tt: TaskTypeId,
    /// The capability set `{rust}`.
    pub rust: CapabilitySet,
}

impl Fx {
    /// The fixture under `config`.
    pub fn new(config: MarketConfig) -> Fx {
        let mut m = Market::new(config).unwrap();
        let tt = m.register_task_type("code_generation").unwrap();
        let rust = m.capabilities(["rust"]).unwrap();
        Fx { m, tt, rust }
    }

    /// Registers a requester endowed with `endowment` tokens.
    pub fn requester(&mut self, endowment: u64) -> PeerId {
        let now = self.m.now();
        self.m.register_peer(PeerSpec { endowment, ..Default::default() }, now).unwrap()
    }

    /// Registers a provider with its own account and reputation `rep`.
    pub fn provider(&mut self, rep: f64) -> PeerId {
        let now = self.m.now();
        let account = AccountId(1000 + self.m.peer_count() as u64);
        self.m
            .register_peer(
                PeerSpec { account: Some(account), initial_reputation: Some(rep), ..Default::default() },
                now,
            )
            .unwrap()
    }

    /// Registers an arbitrator.
    pub fn arbitrator(&mut self) -> PeerId {
        let now = self.m.now();
        self.m.register_peer(PeerSpec { arbitrator: true, ..Default::default() }, now).unwrap()
    }

    /// The account of provider `p`.
    pub fn account(&self, p: PeerId) -> AccountId {
        self.m.peer_state(p).unwrap().account.unwrap()
    }

    /// `p` offers `units` at `ask` (task type `tt`, capability `rust`).
    pub fn offer(&mut self, p: PeerId, ask: u64, units: u64) -> Result<OrderId, MarketError> {
        let now = self.m.now();
        let spec = ComputeTaskSpec::new(self.tt, self.rust);
        self.m.place_order(NewOrder::sell(p, ask, units, spec), now)
    }

    /// `p` requests `units` at `bid` from providers of reputation at least `min_rep`.
    pub fn request(&mut self, p: PeerId, bid: u64, units: u64, min_rep: f64) -> Result<OrderId, MarketError> {
        self.request_sla(p, bid, units, min_rep, None)
    }

    /// [`Fx::request`] with SLA terms.
    pub fn request_sla(
        &mut self,
        p: PeerId,
        bid: u64,
        units: u64,
        min_rep: f64,
        sla: Option<SlaSpec>,
    ) -> Result<OrderId, MarketError> {
        let now = self.m.now();
        let mut spec = ComputeTaskSpec::new(self.tt, self.rust);
        spec.min_reputation = min_rep;
        self.m.place_order(NewOrder { sla, ..NewOrder::buy(p, bid, units, spec) }, now)
    }

    /// Matches one request against one offer and returns the assignment.
    pub fn trade(&mut self, bid: u64, ask: u64, units: u64) -> (PeerId, PeerId, AssignmentId) {
        let r = self.requester(1_000_000);
        let p = self.provider(100.0);
        self.offer(p, ask, units).unwrap();
        self.request(r, bid, units, 0.0).unwrap();
        let a = self.m.assignments().last().unwrap().id;
        (r, p, a)
    }

    /// Advances the market to `t`.
    pub fn at(&mut self, t: SimTime) {
        self.m.advance_to(t).unwrap();
    }

    /// Asserts every invariant.
    pub fn ok(&self) {
        self.m.check_invariants().unwrap();
    }
}
