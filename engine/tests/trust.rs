//! Wallets, escrow, settlement, SLA, reputation, disputes, privacy, compliance and signatures
//! (issue: the engine's money and trust).

mod common;
use common::Fx;
use synmarket_engine::*;

fn run_task(f: &mut Fx, a: AssignmentId, p: PeerId) {
    let t = f.m.now();
    f.m.start_task(a, p, t + 10 * SECOND).unwrap();
    let acc = f.account(p);
    f.m.complete_task(a, p, Completion::on(acc), t + MINUTE).unwrap();
}

#[test]
fn settlement_splits_fee_exactly() {
    let mut f = Fx::new(MarketConfig { fee_bps: 250, ..Default::default() });
    let (r, p, a) = f.trade(50, 45, 100); // A = 4500
    run_task(&mut f, a, p);
    let e = EscrowId(a.0);
    f.m.approve_release(e, r, None, f.m.now()).unwrap();
    let esc = f.m.escrow(e).unwrap();
    assert_eq!(esc.state, EscrowState::Released);
    // F = 4500 * 250 / 10000 = 112 (rounded down from 112.5)
    assert_eq!((esc.paid_provider, esc.fee, esc.paid_requester), (4388, 112, 0));
    assert_eq!(f.m.wallet(p).available, 4388);
    assert_eq!(f.m.treasury(), 112);
    f.ok();
}

#[test]
fn single_escrow_cannot_be_released_by_the_provider() {
    let mut f = Fx::new(MarketConfig::default());
    let (r, p, a) = f.trade(50, 45, 100);
    run_task(&mut f, a, p);
    let e = EscrowId(a.0);
    let before = f.m.state_digest();
    assert!(matches!(f.m.approve_release(e, p, None, f.m.now()), Err(MarketError::NotAuthorized { .. })));
    assert_eq!(f.m.state_digest(), before);
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Completed);
    f.m.approve_release(e, r, None, f.m.now()).unwrap();
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Released);
    f.ok();
}

#[test]
fn both_parties_release_on_the_second_approval() {
    let mut f = Fx::new(MarketConfig { escrow: MultiSigType::BothParties, ..Default::default() });
    let (r, p, a) = f.trade(50, 45, 100);
    run_task(&mut f, a, p);
    let e = EscrowId(a.0);
    let now = f.m.now();
    f.m.approve_release(e, p, None, now).unwrap();
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Completed);
    assert_eq!(f.m.approve_release(e, p, None, now), Err(MarketError::Duplicate(p)));
    f.m.approve_release(e, r, None, now).unwrap();
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Released);
    f.ok();
}

#[test]
fn arbitrators_two_of_three_need_two_distinct_and_ignore_parties() {
    let mut f =
        Fx::new(MarketConfig { escrow: MultiSigType::Arbitrators { required: 2, total: 3 }, ..Default::default() });
    let arbs: Vec<PeerId> = (0..5).map(|_| f.arbitrator()).collect();
    let (r, p, a) = f.trade(50, 45, 100);
    run_task(&mut f, a, p);
    let e = EscrowId(a.0);
    let panel = f.m.escrow(e).unwrap().arbitrators.clone();
    assert_eq!(panel.len(), 3);
    assert!(panel.iter().all(|x| arbs.contains(x)));
    let now = f.m.now();
    assert!(matches!(f.m.approve_release(e, r, None, now), Err(MarketError::NotAuthorized { .. })));
    assert!(matches!(f.m.approve_release(e, p, None, now), Err(MarketError::NotAuthorized { .. })));
    let outsider = *arbs.iter().find(|x| !panel.contains(x)).unwrap();
    assert!(matches!(f.m.approve_release(e, outsider, None, now), Err(MarketError::NotAuthorized { .. })));
    f.m.approve_release(e, panel[0], None, now).unwrap();
    assert_eq!(f.m.approve_release(e, panel[0], None, now), Err(MarketError::Duplicate(panel[0])));
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Completed);
    f.m.approve_release(e, panel[1], None, now).unwrap();
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Released);
    f.ok();
}

#[test]
fn time_locked_releases_by_time_only() {
    let mut f = Fx::new(MarketConfig {
        escrow: MultiSigType::TimeLocked { release_after_ms: 10 * MINUTE },
        review_window_ms: DAY,
        ..Default::default()
    });
    let (r, p, a) = f.trade(50, 45, 100);
    run_task(&mut f, a, p);
    let e = EscrowId(a.0);
    let done = f.m.now();
    assert!(f.m.approve_release(e, r, None, done).is_err());
    f.at(done + 10 * MINUTE - 1);
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Completed);
    f.at(done + 10 * MINUTE);
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Released);
    f.ok();
}

#[test]
fn silent_requester_is_auto_released_after_review_window() {
    let mut f = Fx::new(MarketConfig::default());
    let (_, p, a) = f.trade(50, 45, 100);
    run_task(&mut f, a, p);
    let done = f.m.now();
    f.at(done + HOUR - 1);
    assert_eq!(f.m.escrow(EscrowId(a.0)).unwrap().state, EscrowState::Completed);
    f.at(done + HOUR);
    assert_eq!(f.m.escrow(EscrowId(a.0)).unwrap().state, EscrowState::Released);
    assert!(f.m.wallet(p).available > 0);
    f.ok();
}

#[test]
fn no_show_is_refunded_in_full_and_loses_reputation() {
    let mut f = Fx::new(MarketConfig::default());
    let (r, p, a) = f.trade(50, 45, 100);
    let before = f.m.reputation(p);
    let avail = f.m.wallet(r).available;
    f.at(5 * MINUTE + 5 * MINUTE); // response 5 min + grace 5 min
    let asg = f.m.assignment(a).unwrap();
    assert_eq!((asg.status, asg.failure), (TaskStatus::Failed, Some(FailureKind::NoShow)));
    assert_eq!(f.m.escrow(EscrowId(a.0)).unwrap().state, EscrowState::Refunded);
    assert_eq!(f.m.wallet(r).available, avail + 4500);
    assert_eq!(f.m.reputation(p), before - 20.0);
    assert!(f.m.start_task(a, p, f.m.now()).is_err());
    f.ok();
}

#[test]
fn sla_penalties_move_tokens() {
    let mut f = Fx::new(MarketConfig { fee_bps: 100, ..Default::default() });
    let r = f.requester(1_000_000);
    let p = f.provider(100.0);
    f.offer(p, 45, 100).unwrap();
    let sla = SlaSpec {
        max_response_time_ms: MINUTE,
        max_duration_ms: 10 * MINUTE,
        uptime_requirement: 0.99,
        quality_minimums: QualityValues::new(&[(0, 0.8), (1, 0.9)]).unwrap(),
        violation_penalty: 300,
    };
    f.request_sla(r, 50, 100, 0.0, Some(sla)).unwrap();
    let a = AssignmentId(0);
    f.m.start_task(a, p, 2 * MINUTE).unwrap(); // response breach (within grace)
    let completion = Completion {
        quality: QualityValues::new(&[(0, 0.5)]).unwrap(), // metric 0 low, metric 1 missing
        uptime: 0.95,                                      // uptime breach
        receipt_account: f.account(p),
    };
    f.m.complete_task(a, p, completion, 2 * MINUTE + 11 * MINUTE).unwrap(); // duration breach
    let asg = f.m.assignment(a).unwrap();
    assert_eq!(asg.violations, Violations { response: true, duration: true, uptime: true, quality: 2 });
    assert_eq!(asg.penalty, 3 * 300 + 2 * 150);
    assert_eq!(asg.status, TaskStatus::SlaViolated);
    let before = f.m.wallet(r).available;
    f.m.approve_release(EscrowId(0), r, None, f.m.now()).unwrap();
    let e = f.m.escrow(EscrowId(0)).unwrap();
    // A = 4500, P = 1200, F = 3300 * 1% = 33.
    assert_eq!((e.paid_provider, e.paid_requester, e.fee), (3267, 1200, 33));
    assert_eq!(f.m.wallet(r).available, before + 1200);
    f.ok();
}

#[test]
fn penalty_is_capped_at_the_escrow() {
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(1_000_000);
    let p = f.provider(100.0);
    f.offer(p, 1, 10).unwrap();
    let sla = SlaSpec {
        max_response_time_ms: 0,
        max_duration_ms: 0,
        uptime_requirement: 1.0,
        quality_minimums: QualityValues::EMPTY,
        violation_penalty: 1_000,
    };
    f.request_sla(r, 1, 10, 0.0, Some(sla)).unwrap();
    f.m.start_task(AssignmentId(0), p, SECOND).unwrap();
    f.m.complete_task(AssignmentId(0), p, Completion::on(f.account(p)), 2 * SECOND).unwrap();
    assert_eq!(f.m.assignment(AssignmentId(0)).unwrap().penalty, 10);
    f.at(DAY);
    let e = f.m.escrow(EscrowId(0)).unwrap();
    assert_eq!((e.paid_provider, e.paid_requester), (0, 10));
    f.ok();
}

#[test]
fn wrong_peer_calls_are_refused_and_change_nothing() {
    let mut f = Fx::new(MarketConfig::default());
    let arbs: Vec<PeerId> = (0..3).map(|_| f.arbitrator()).collect();
    let (r, p, a) = f.trade(50, 45, 100);
    let e = EscrowId(a.0);
    let stranger = f.requester(10);
    let now = f.m.now();
    let before = f.m.state_digest();
    assert!(f.m.start_task(a, r, now).is_err());
    assert!(f.m.start_task(a, stranger, now).is_err());
    assert!(matches!(f.m.complete_task(a, p, Completion::on(f.account(p)), now), Err(MarketError::WrongState { .. })));
    assert!(f.m.dispute(e, stranger, now).is_err());
    assert!(f.m.approve_release(e, r, None, now).is_err(), "not completed yet");
    assert!(f.m.leave_feedback(a, r, 5, now).is_err(), "not settled yet");
    assert!(f.m.vote(e, arbs[0], Vote::ReleaseToProvider, now).is_err(), "no dispute");
    assert!(matches!(f.m.start_task(AssignmentId(9), p, now), Err(MarketError::UnknownAssignment(_))));
    assert!(matches!(f.m.dispute(EscrowId(9), p, now), Err(MarketError::UnknownEscrow(_))));
    assert_eq!(f.m.state_digest(), before);
    f.m.start_task(a, p, now).unwrap();
    assert!(f.m.start_task(a, p, now).is_err(), "start twice");
    assert!(f.m.complete_task(a, r, Completion::on(AccountId(0)), now).is_err());
    let bad = Completion { uptime: f64::NAN, ..Completion::on(f.account(p)) };
    assert!(matches!(f.m.complete_task(a, p, bad, now), Err(MarketError::InvalidFraction { .. })));
    f.ok();
}

#[test]
fn dispute_with_panel_votes_and_reputation() {
    let mut f = Fx::new(MarketConfig::default());
    let _arbs: Vec<PeerId> = (0..4).map(|_| f.arbitrator()).collect();
    let (r, p, a) = f.trade(50, 45, 100);
    run_task(&mut f, a, p);
    let e = EscrowId(a.0);
    let now = f.m.now();
    let (rr, rp) = (f.m.reputation(r), f.m.reputation(p));
    f.m.dispute(e, r, now).unwrap();
    assert_eq!(f.m.reputation(p), rp - 5.0, "the accused takes TradeDisputed");
    let d = f.m.escrow(e).unwrap().dispute.clone().unwrap();
    assert_eq!((d.panel.len(), d.required), (3, 2));
    assert!(f.m.approve_release(e, r, None, now).is_err(), "frozen");
    assert!(matches!(
        f.m.vote(e, d.panel[0], Vote::Split { provider_bps: 10_001 }, now),
        Err(MarketError::InvalidSplit(_))
    ));
    assert!(matches!(f.m.vote(e, r, Vote::RefundToRequester, now), Err(MarketError::NotAuthorized { .. })));
    f.m.vote(e, d.panel[0], Vote::ReleaseToProvider, now).unwrap();
    assert_eq!(f.m.vote(e, d.panel[0], Vote::ReleaseToProvider, now), Err(MarketError::Duplicate(d.panel[0])));
    f.m.vote(e, d.panel[1], Vote::RefundToRequester, now).unwrap();
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Disputed, "no two matching votes yet");
    f.m.vote(e, d.panel[2], Vote::ReleaseToProvider, now).unwrap();
    let esc = f.m.escrow(e).unwrap();
    assert_eq!(esc.state, EscrowState::Resolved);
    assert_eq!(esc.paid_provider + esc.fee, 4500);
    assert_eq!(f.m.reputation(r), rr - 25.0, "raised and lost");
    assert_eq!(f.m.reputation(p), rp - 5.0 + 15.0 + 0.0, "won");
    f.m.leave_feedback(a, r, 1, now).unwrap();
    assert_eq!(f.m.leave_feedback(a, r, 1, now), Err(MarketError::Duplicate(r)));
    assert_eq!(f.m.leave_feedback(a, p, 9, now), Err(MarketError::InvalidRating(9)));
    f.ok();
}

#[test]
fn dispute_split_and_timeout_default() {
    let mut f = Fx::new(MarketConfig { fee_bps: 0, ..Default::default() });
    let _arbs: Vec<PeerId> = (0..3).map(|_| f.arbitrator()).collect();
    let (r, p, a) = f.trade(50, 45, 100);
    run_task(&mut f, a, p);
    let e = EscrowId(a.0);
    let now = f.m.now();
    f.m.dispute(e, p, now).unwrap();
    let panel = f.m.escrow(e).unwrap().dispute.clone().unwrap().panel;
    f.m.vote(e, panel[0], Vote::Split { provider_bps: 3333 }, now).unwrap();
    f.m.vote(e, panel[1], Vote::Split { provider_bps: 3333 }, now).unwrap();
    let esc = f.m.escrow(e).unwrap();
    assert_eq!((esc.paid_provider, esc.paid_requester), (4500 * 3333 / 10_000, 4500 - 4500 * 3333 / 10_000));
    // A second trade whose dispute nobody resolves takes the default (refund).
    let (_, p2, a2) = f.trade(50, 45, 10);
    run_task(&mut f, a2, p2);
    let e2 = EscrowId(a2.0);
    let t = f.m.now();
    f.m.dispute(e2, p2, t).unwrap();
    f.at(t + DAY);
    let esc = f.m.escrow(e2).unwrap();
    assert_eq!(esc.state, EscrowState::Resolved);
    assert!(esc.dispute.as_ref().unwrap().by_timeout);
    assert_eq!(esc.paid_requester, 450);
    let _ = r;
    f.ok();
}

#[test]
fn dispute_without_arbitrators_is_refused() {
    let mut f = Fx::new(MarketConfig::default());
    let (r, _, a) = f.trade(50, 45, 100);
    assert_eq!(
        f.m.dispute(EscrowId(a.0), r, f.m.now()),
        Err(MarketError::PanelUnstaffed { available: 0, required: 2 })
    );
}

#[test]
fn privacy_levels_filter_providers() {
    let mut f = Fx::new(MarketConfig::default());
    let conf = f.m.capability("confidential").unwrap();
    let r = f.requester(1_000_000);
    let low = f.provider(40.0);
    let mid = f.provider(60.0);
    f.offer(low, 10, 100).unwrap();
    f.offer(mid, 20, 100).unwrap();
    let mut spec = ComputeTaskSpec::new(f.tt, f.rust);
    spec.privacy_level = PrivacyLevel::Private;
    f.m.place_order(NewOrder::buy(r, 50, 10, spec), 0).unwrap();
    assert_eq!(f.m.assignments()[0].provider, mid, "below 50 cannot take private work");
    spec.privacy_level = PrivacyLevel::Confidential;
    let rid = f.m.place_order(NewOrder::buy(r, 50, 10, spec), 0).unwrap();
    assert_eq!(f.m.assignments().len(), 1, "no attested provider with 250");
    let attested_low = f.provider(200.0);
    let caps = f.rust.with(conf).unwrap();
    let s = ComputeTaskSpec::new(f.tt, caps);
    f.m.place_order(NewOrder::sell(attested_low, 30, 100, s), 0).unwrap();
    assert_eq!(f.m.assignments().len(), 1, "attested but reputation 200 < 250");
    let attested = f.provider(300.0);
    f.m.place_order(NewOrder::sell(attested, 30, 100, s), 0).unwrap();
    assert_eq!(f.m.assignments()[1].provider, attested);
    assert_eq!(f.m.assignments()[1].request, rid);
    f.ok();
}

#[test]
fn relay_is_detected_when_audited_and_the_provider_is_banned() {
    let mut f = Fx::new(MarketConfig { audit_rate: 1.0, ..Default::default() });
    let (r, p, a) = f.trade(50, 45, 100);
    let extra = f.offer(p, 45, 100).unwrap();
    let avail = f.m.wallet(r).available;
    let t = f.m.now();
    f.m.start_task(a, p, t).unwrap();
    f.m.complete_task(a, p, Completion::on(AccountId(424242)), t + MINUTE).unwrap();
    let asg = f.m.assignment(a).unwrap();
    assert!(asg.audited);
    assert_eq!(f.m.escrow(EscrowId(a.0)).unwrap().state, EscrowState::Refunded);
    assert_eq!(f.m.wallet(r).available, avail + 4500);
    assert!(f.m.peer_state(p).unwrap().banned);
    assert_eq!(f.m.order(extra).unwrap().status, OrderStatus::Cancelled);
    assert_eq!(f.offer(p, 45, 10), Err(MarketError::Banned(p)));
    f.ok();
}

#[test]
fn shared_account_is_detected() {
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(100_000);
    let spec = PeerSpec { account: Some(AccountId(7)), ..Default::default() };
    let p1 = f.m.register_peer(spec.clone(), 0).unwrap();
    let _p2 = f.m.register_peer(spec, 0).unwrap();
    f.offer(p1, 40, 10).unwrap();
    f.request(r, 50, 10, 0.0).unwrap();
    f.m.start_task(AssignmentId(0), p1, 1).unwrap();
    f.m.complete_task(AssignmentId(0), p1, Completion::on(AccountId(7)), 2).unwrap();
    let checked = f.m.drain_events().find_map(|e| match e {
        MarketEvent::ComplianceChecked { violation, .. } => Some(violation),
        _ => None,
    });
    assert_eq!(checked, Some(Some(ViolationKind::SharedAccount)));
    assert!(f.m.peer_state(p1).unwrap().banned);
    f.ok();
}

#[test]
fn audit_rate_zero_audits_nothing() {
    let mut f = Fx::new(MarketConfig { audit_rate: 0.0, ..Default::default() });
    let (_, p, a) = f.trade(50, 45, 100);
    let t = f.m.now();
    f.m.start_task(a, p, t).unwrap();
    f.m.complete_task(a, p, Completion::on(AccountId(424242)), t + MINUTE).unwrap();
    assert!(!f.m.assignment(a).unwrap().audited);
    assert!(!f.m.peer_state(p).unwrap().banned);
}

#[test]
fn usage_cap_is_never_exceeded() {
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(10_000_000);
    let p = f
        .m
        .register_peer(PeerSpec { account: Some(AccountId(1)), usage_cap_units: Some(150), ..Default::default() }, 0)
        .unwrap();
    assert_eq!(f.offer(p, 40, 151), Err(MarketError::ExceedsUsageCap { units: 151, cap: 150 }));
    f.offer(p, 40, 100).unwrap();
    f.offer(p, 40, 100).unwrap();
    f.request(r, 50, 120, 0.0).unwrap();
    f.request(r, 50, 120, 0.0).unwrap();
    let total: u64 = f.m.assignments().iter().map(|a| a.units).sum();
    assert_eq!(total, 150);
    f.at(DAY - 1);
    f.request(r, 50, 10, 0.0).unwrap();
    assert_eq!(f.m.assignments().len(), 2, "still inside the window");
    f.at(DAY);
    f.request(r, 50, 10, 0.0).unwrap();
    assert_eq!(f.m.assignments().len(), 3, "the window rolled");
    f.ok();
}

#[test]
fn signatures_are_checked_when_on() {
    let mut f = Fx::new(MarketConfig { verify_signatures: true, market_seed: 42, ..Default::default() });
    let r = f.requester(100_000);
    let p = f.provider(50.0);
    let spec = ComputeTaskSpec::new(f.tt, f.rust);
    let msg = signing::order_message(&NewOrder::sell(p, 40, 10, spec), 0);
    let good = signing::sign_seq(&signing::derive_signing_key(42, p), 0, &msg);
    let forged = signing::sign_seq(&signing::derive_signing_key(42, r), 0, &msg);
    let before = f.m.state_digest();
    assert_eq!(
        f.m.place_order(NewOrder { signature: Some(forged), ..NewOrder::sell(p, 40, 10, spec) }, 0),
        Err(MarketError::BadSignature(p))
    );
    assert_eq!(f.m.place_order(NewOrder::sell(p, 40, 10, spec), 0), Err(MarketError::BadSignature(p)));
    assert_eq!(f.m.state_digest(), before);
    f.m.place_order(NewOrder { signature: Some(good), ..NewOrder::sell(p, 40, 10, spec) }, 0).unwrap();
    let rmsg = signing::order_message(&NewOrder::buy(r, 50, 10, spec), 0);
    let rsig = signing::sign_seq(&signing::derive_signing_key(42, r), 0, &rmsg);
    f.m.place_order(NewOrder { signature: Some(rsig), ..NewOrder::buy(r, 50, 10, spec) }, 0).unwrap();
    f.m.start_task(AssignmentId(0), p, 1).unwrap();
    f.m.complete_task(AssignmentId(0), p, Completion::on(f.account(p)), 2).unwrap();
    let bad = signing::sign_seq(&signing::derive_signing_key(42, p), 1, &signing::approval_message(EscrowId(0), r, 1));
    assert_eq!(f.m.approve_release(EscrowId(0), r, Some(bad), 3), Err(MarketError::BadSignature(r)));
    let ok = signing::sign_seq(&signing::derive_signing_key(42, r), 1, &signing::approval_message(EscrowId(0), r, 1));
    f.m.approve_release(EscrowId(0), r, Some(ok), 3).unwrap();
    assert_eq!(f.m.counters().bad_signatures, 3);
    f.ok();
}

#[test]
fn reputation_events_and_feedback_rules() {
    let mut f = Fx::new(MarketConfig::default());
    let (r, p, a) = f.trade(50, 45, 100);
    let s0 = f.m.reputation(p);
    run_task(&mut f, a, p); // starts after 10 s: FastResponse +2
    assert_eq!(f.m.reputation(p), s0 + 2.0);
    f.m.approve_release(EscrowId(a.0), r, None, f.m.now()).unwrap();
    assert_eq!(f.m.reputation(p), s0 + 12.0);
    let now = f.m.now();
    f.m.leave_feedback(a, r, 5, now).unwrap();
    assert_eq!(f.m.reputation(p), s0 + 17.0);
    f.m.leave_feedback(a, p, 2, now).unwrap();
    assert_eq!(f.m.reputation(r), 40.0);
    let rec = f.m.reputation_record(p).unwrap();
    assert_eq!((rec.trades, rec.successes), (1, 1));
    assert_eq!(rec.response_ema_ms, Some(10_000.0));
    assert_eq!(Tier::of(f.m.reputation(p)), Ok(Tier::Reliable));
}

#[test]
fn reputation_change_reorders_resting_offers() {
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(1_000_000);
    let a = f.provider(100.0);
    let b = f.provider(100.0);
    f.offer(a, 40, 1000).unwrap();
    f.offer(b, 42, 1000).unwrap();
    // b earns a better reputation through a trade and feedback: 42 / 1.27 < 40 / 1.0.
    f.request(r, 50, 10, 0.0).unwrap();
    assert_eq!(f.m.assignments()[0].provider, a);
    f.m.leave_feedback(AssignmentId(0), r, 5, 0).unwrap_err(); // not settled yet
    let mut f2 = Fx::new(MarketConfig { escrow_timeout_ms: DAY, ..Default::default() });
    let r2 = f2.requester(1_000_000);
    let a2 = f2.provider(100.0);
    let b2 = f2.provider(125.0);
    f2.offer(a2, 40, 1000).unwrap();
    f2.offer(b2, 42, 1000).unwrap();
    f2.request(r2, 50, 10, 0.0).unwrap();
    assert_eq!(f2.m.assignments()[0].provider, b2, "42/1.25 = 33.6 beats 40/1.0");
    f2.at(20 * MINUTE); // b2's assignment fails: −20 → 105: 42/1.05 = 40.0 ties → earlier offer a2
    f2.request(r2, 50, 10, 0.0).unwrap();
    assert_eq!(f2.m.assignments()[1].provider, a2);
    f2.ok();
}

#[test]
fn escrow_trail_records_every_legal_step() {
    let mut f = Fx::new(MarketConfig::default());
    let (r, p, a) = f.trade(50, 45, 100);
    run_task(&mut f, a, p);
    f.m.approve_release(EscrowId(a.0), r, None, f.m.now()).unwrap();
    let steps: Vec<(EscrowState, EscrowState)> = f.m.escrow_trail(EscrowId(a.0)).map(|t| (t.from, t.to)).collect();
    use EscrowState::*;
    assert_eq!(steps, vec![(Created, Created), (Created, Funded), (Funded, Completed), (Completed, Released)]);
}

#[test]
fn period_reset_by_withdraw_and_endow_conserves() {
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(1_000);
    f.m.withdraw(r, 1_000, 0).unwrap();
    assert!(f.m.withdraw(r, 1, 0).is_err());
    f.m.endow(r, 500, 0).unwrap();
    assert_eq!(f.m.bank().supply(), 500);
    f.ok();
}
