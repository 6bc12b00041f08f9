//! Adversaries and their ground truth: key sharers, relays, resellers, Sybils, colluding rings,
//! dispute abusers, forgers, leakers and corrupt arbitrators, each on a small seeded market.

mod common;

use common::{in_population, pop, run, spec};
use synmarket_agents::{Dist, GroundTruthKind, PopulationSpec, PrivacyMix, Role, SimResult, Strategy};
use synmarket_engine::{EscrowState, MarketConfig, PrivacyLevel, TaskStatus, Vote};

fn buyers(count: u32) -> PopulationSpec {
    let mut b = pop("buyers", Role::Requester, count, Strategy::Truthful);
    b.requesting.value_per_unit = Dist::Fixed(100.0).into();
    b.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(2.0);
    b
}

fn sellers(name: &str, count: u32, strategy: Strategy) -> PopulationSpec {
    let mut s = pop(name, Role::Provider, count, strategy);
    s.providing.cost_per_unit = Dist::Fixed(50.0).into();
    s.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(2.0);
    s.trading.order_ttl_ms = Some(synmarket_engine::HOUR);
    s
}

fn truth(r: &SimResult, kind: GroundTruthKind) -> Vec<synmarket_agents::GroundTruth> {
    r.ground_truth.iter().copied().filter(|g| g.kind == kind).collect()
}

fn audited(rate: f64) -> MarketConfig {
    MarketConfig { audit_rate: rate, ..MarketConfig::default() }
}

#[test]
fn key_sharers_share_accounts_and_full_audits_catch_every_shared_task() {
    let r = run(spec(1, 24, audited(1.0), vec![buyers(10), sellers("sharers", 4, Strategy::KeySharer)]));
    let accounts: Vec<_> = r.agents.iter().filter(|a| a.population == 1).map(|a| a.account).collect();
    assert_eq!(accounts[0], accounts[1]);
    assert_eq!(accounts[2], accounts[3]);
    assert_ne!(accounts[0], accounts[2]);
    let gt = truth(&r, GroundTruthKind::KeySharing);
    assert!(!gt.is_empty());
    for g in &gt {
        let a = r.market.assignment(g.assignment.unwrap()).unwrap();
        assert!(a.audited);
        assert_eq!(r.market.escrow(a.escrow()).unwrap().state, EscrowState::Refunded);
        assert!(r.market.peer_state(g.peer).unwrap().banned);
    }
}

#[test]
fn with_audit_rate_one_every_relay_is_detected() {
    let r = run(spec(
        2,
        24,
        audited(1.0),
        vec![buyers(10), sellers("honest", 3, Strategy::FixedMarkup), sellers("relays", 3, Strategy::Relay)],
    ));
    let gt = truth(&r, GroundTruthKind::Relay);
    assert!(!gt.is_empty());
    for g in &gt {
        let a = r.market.assignment(g.assignment.unwrap()).unwrap();
        assert!(a.audited && a.receipt_account.map(|x| x.0) == Some(g.detail));
        assert_ne!(a.receipt_account, r.market.peer_state(g.peer).unwrap().account);
        assert_eq!(r.market.escrow(a.escrow()).unwrap().state, EscrowState::Refunded);
        assert!(r.market.peer_state(g.peer).unwrap().banned);
        assert!(in_population(&r, g.peer, 2));
    }
    // Honest providers are never flagged.
    assert!(r.agents.iter().filter(|a| a.population == 1).all(|a| !r.market.peer_state(a.peer).unwrap().banned));
}

#[test]
fn without_audits_relays_and_resellers_go_unnoticed_and_get_paid() {
    let pops = vec![buyers(10), sellers("relays", 2, Strategy::Relay), sellers("resellers", 2, Strategy::Reseller)];
    let r = run(spec(3, 24, audited(0.0), pops));
    let relays = truth(&r, GroundTruthKind::Relay);
    let resales = truth(&r, GroundTruthKind::Resale);
    assert!(!relays.is_empty() && !resales.is_empty());
    for g in relays.iter().chain(&resales) {
        let a = r.market.assignment(g.assignment.unwrap()).unwrap();
        assert!(!a.audited && !r.market.peer_state(g.peer).unwrap().banned);
    }
    // A reseller names the same backing account on every receipt.
    for p in common::peers_of(&r, 2) {
        let mut backing: Vec<u64> = resales.iter().filter(|g| g.peer == p).map(|g| g.detail).collect();
        backing.dedup();
        assert!(backing.len() <= 1, "{backing:?}");
    }
    assert!(r.market.escrows().iter().any(|e| e.paid_provider > 0));
}

#[test]
fn sybils_re_enter_as_new_peers_at_the_new_peer_score() {
    let mut sybils = sellers("sybils", 3, Strategy::Sybil);
    sybils.providing.reliability.no_show_probability = 0.7;
    sybils.strategy = synmarket_agents::StrategySpec::Sybil(synmarket_agents::strategies::sybil::Params {
        reentry_threshold: 35.0,
        ..Default::default()
    });
    let r = run(spec(4, 48, MarketConfig::default(), vec![buyers(10), sybils]));
    let gt = truth(&r, GroundTruthKind::SybilReentry);
    assert!(!gt.is_empty());
    let initial = r.market.config().reputation.initial;
    let mut chains = 0;
    for a in r.agents.iter().filter(|a| a.population == 1) {
        assert_eq!(a.identities[0].peer, a.peer);
        for w in a.identities.windows(2) {
            chains += 1;
            assert_eq!(w[1].initial_reputation, initial, "a new identity starts at the new-peer score");
            assert_ne!(w[1].account, w[0].account);
            assert!(w[1].since >= w[0].since);
            assert!(gt.iter().any(|g| g.peer == w[0].peer && g.detail == u64::from(w[1].peer.0)));
            assert_eq!(r.agent_of(w[1].peer).map(|x| x.peer), Some(a.peer));
        }
    }
    assert_eq!(chains, gt.len());
    for g in &gt {
        assert!(r.market.reputation(g.peer) < 35.0 + 20.0);
    }
}

#[test]
fn colluding_rings_trade_among_themselves_and_rate_each_other() {
    let mut ring_buyers = pop("ring_buyers", Role::Requester, 2, Strategy::Colluder);
    ring_buyers.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(2.0);
    let ring_sellers = sellers("ring_sellers", 2, Strategy::Colluder);
    let pops = vec![buyers(6), sellers("honest", 3, Strategy::FixedMarkup), ring_buyers, ring_sellers];
    let r = run(spec(5, 24, MarketConfig::default(), pops));
    let ring = |p| in_population(&r, p, 2) || in_population(&r, p, 3);
    let ring_trades: Vec<_> = r.market.assignments().iter().filter(|a| ring(a.provider) || ring(a.requester)).collect();
    assert!(!ring_trades.is_empty());
    for a in &ring_trades {
        assert!(ring(a.provider) && ring(a.requester), "ring trades stay in the ring");
        assert_eq!(a.price_per_unit, 200);
    }
    let gt = truth(&r, GroundTruthKind::CollusionFeedback);
    assert!(!gt.is_empty());
    assert!(gt.iter().all(|g| ring(g.peer) && ring(synmarket_engine::PeerId(g.detail as u32))));
}

fn abusers() -> PopulationSpec {
    let mut a = pop("abusers", Role::Requester, 6, Strategy::DisputeAbuser);
    a.requesting.value_per_unit = Dist::Fixed(100.0).into();
    a.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(2.0);
    a
}

#[test]
fn dispute_abusers_lose_before_honest_panels() {
    let pops = vec![
        abusers(),
        sellers("honest", 4, Strategy::FixedMarkup),
        pop("judges", Role::Arbitrator, 3, Strategy::HonestArbitrator),
    ];
    let r = run(spec(6, 24, MarketConfig::default(), pops));
    let gt = truth(&r, GroundTruthKind::DisputeAbuse);
    assert!(gt.len() > 5);
    for g in &gt {
        let e = r.market.escrow(synmarket_engine::EscrowId(g.assignment.unwrap().0)).unwrap();
        let d = e.dispute.as_ref().unwrap();
        assert_eq!(d.outcome, Some(Vote::ReleaseToProvider), "honest panels side with the evidence");
        assert!(!d.by_timeout);
    }
    assert!(truth(&r, GroundTruthKind::CorruptVote).is_empty());
}

#[test]
fn corrupt_arbitrators_vote_against_the_evidence() {
    let pops = vec![
        abusers(),
        sellers("honest", 4, Strategy::FixedMarkup),
        pop("judges", Role::Arbitrator, 3, Strategy::CorruptArbitrator),
    ];
    let r = run(spec(7, 24, MarketConfig::default(), pops));
    let mut votes = 0;
    for e in r.market.escrows() {
        let Some(d) = &e.dispute else { continue };
        let a = r.market.assignment(synmarket_engine::AssignmentId(e.id.0)).unwrap();
        let evidence = if matches!(a.status, TaskStatus::Completed | TaskStatus::SlaViolated) {
            Vote::ReleaseToProvider
        } else {
            Vote::RefundToRequester
        };
        for (_, v) in &d.votes {
            assert_ne!(*v, evidence);
            votes += 1;
        }
        assert_eq!(d.outcome, Some(Vote::RefundToRequester));
    }
    assert!(votes > 5);
    assert_eq!(truth(&r, GroundTruthKind::CorruptVote).len(), votes);
}

#[test]
fn forged_orders_are_all_rejected() {
    let mut forgers = pop("forgers", Role::Requester, 4, Strategy::Forger);
    forgers.strategy = synmarket_agents::StrategySpec::Forger(synmarket_agents::strategies::forger::Params {
        violation_probability: synmarket_agents::strategies::ViolationProbability(0.5),
    });
    forgers.trading.arrival_rate_per_hour = synmarket_agents::population::Rate(3.0);
    let market = MarketConfig { verify_signatures: true, ..MarketConfig::default() };
    let r = run(spec(8, 24, market, vec![buyers(6), forgers, sellers("honest", 4, Strategy::FixedMarkup)]));
    let gt = truth(&r, GroundTruthKind::Forgery);
    assert!(gt.len() > 10);
    assert_eq!(r.market.counters().bad_signatures, gt.len() as u64);
    assert_eq!(r.stats.refusals.get("bad_signature").copied(), Some(gt.len() as u64));
    // Every accepted order was placed by its own trader: forgers trade only in their own name.
    assert!(r.market.orders().iter().any(|o| in_population(&r, o.trader, 1)));
}

#[test]
fn leakers_leak_every_private_payload_they_run() {
    let mut b = buyers(10);
    b.requesting.privacy_mix = PrivacyMix { public: 1.0, private: 1.0, confidential: 0.0 };
    let r = run(spec(9, 24, MarketConfig::default(), vec![b, sellers("leakers", 4, Strategy::Leaker)]));
    let gt = truth(&r, GroundTruthKind::Leak);
    assert!(!gt.is_empty());
    let started_private: Vec<_> = r
        .market
        .assignments()
        .iter()
        .filter(|a| a.privacy != PrivacyLevel::Public && a.started_at.is_some())
        .map(|a| a.id)
        .collect();
    let mut leaked: Vec<_> = gt.iter().map(|g| g.assignment.unwrap()).collect();
    leaked.sort();
    assert_eq!(leaked, started_private);
    assert!(gt.iter().all(|g| g.detail == 1));
}
