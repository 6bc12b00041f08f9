//! Arbitrators: approve arbitrated escrows they sit on and vote on disputes.
//!
//! An arbitrator votes by the evidence ([`evidence_vote`]): release for work that completed (SLA
//! penalties are owed either way), refund for work that never completed, unless its conduct
//! votes against the evidence (`corrupt_arbitrator`; the kernel records every such vote as ground
//! truth).

use synmarket_engine::{EscrowId, EscrowState, Vote};

use super::Agent;
use super::{Population, evidence_vote, to_ms};
use crate::agent::{Action, Observation, Profile, Wake};
use crate::spec::Role;
use crate::strategies::Strategy;
use crate::strategies::conduct::Conduct;
use crate::stream::AgentRng;

/// An arbitrator.
#[derive(Debug)]
pub struct ArbitratorAgent {
    strategy: Strategy,
    budget: u64,
    conduct: Box<dyn Conduct>,
}

impl ArbitratorAgent {
    /// A new arbitrator.
    pub fn new(pop: &Population, rng: &mut AgentRng) -> Self {
        let spec = &pop.spec;
        ArbitratorAgent {
            strategy: spec.kind(),
            budget: to_ms(spec.common.budget.sample(rng)),
            conduct: spec.strategy.behaviour().conduct(),
        }
    }
}

/// The vote against `v`.
pub fn opposite(v: Vote) -> Vote {
    match v {
        Vote::ReleaseToProvider => Vote::RefundToRequester,
        Vote::RefundToRequester => Vote::ReleaseToProvider,
        Vote::Split { provider_bps } => Vote::Split { provider_bps: 10_000 - provider_bps.min(10_000) },
    }
}

impl Agent for ArbitratorAgent {
    fn wake(&mut self, wake: Wake, obs: &Observation<'_>, rng: &mut AgentRng, out: &mut Vec<Action>) {
        match wake {
            Wake::Completed(a) => {
                let e = EscrowId(a.0);
                if let Some(esc) = obs.market.escrow(e)
                    && esc.state == EscrowState::Completed
                    && esc.arbitrators.contains(&obs.me)
                {
                    out.push(Action::Approve(e));
                }
            }
            Wake::Disputed(e) => {
                let honest = evidence_vote(obs.market, e);
                let corrupt = self.conduct.votes_against_evidence(rng);
                out.push(Action::Vote(e, if corrupt { opposite(honest) } else { honest }));
            }
            _ => {}
        }
    }
    fn role(&self) -> Role {
        Role::Arbitrator
    }
    fn strategy(&self) -> Strategy {
        self.strategy
    }
    fn profile(&self) -> Profile {
        Profile { budget: self.budget, ..Default::default() }
    }
}
