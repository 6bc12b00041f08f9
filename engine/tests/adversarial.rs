//! The engine's rules against adversarial use (issue 13): one test per kind of fault, each built
//! from the example that broke the rule and widened to the kind. Each of these failed on the
//! main branch before the fix (the first version of this file, run there, is quoted in the
//! issue's report).

mod common;
use common::Fx;
use synmarket_engine::*;

fn run_task(f: &mut Fx, a: AssignmentId, p: PeerId) {
    let t = f.m.now();
    f.m.start_task(a, p, t + 10 * SECOND).unwrap();
    let acc = f.account(p);
    f.m.complete_task(a, p, Completion::on(acc), t + MINUTE).unwrap();
}

fn arbitrated(required: u8, total: u8) -> MarketConfig {
    MarketConfig { escrow: MultiSigType::Arbitrators { required, total }, ..Default::default() }
}

/// Item 1: A threshold is never lowered: not for an escrow whose panel is short, not for a dispute.
#[test]
fn multisig_threshold_is_never_lowered() {
    // 2-of-3 with one arbitrator registered: its approval does not release.
    let mut f = Fx::new(arbitrated(2, 3));
    let arb = f.arbitrator();
    let (r, p, a) = f.trade(50, 45, 100);
    run_task(&mut f, a, p);
    let e = EscrowId(a.0);
    assert_eq!(f.m.escrow(e).unwrap().arbitrators, vec![arb]);
    f.m.approve_release(e, arb, None, f.m.now()).unwrap();
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Completed, "one approval released a 2-of-3 escrow");
    // Nor can a dispute be decided by that lone arbitrator: the panel cannot be staffed.
    let before = f.m.state_digest();
    assert_eq!(f.m.dispute(e, r, f.m.now()), Err(MarketError::PanelUnstaffed { available: 1, required: 2 }));
    assert_eq!(f.m.state_digest(), before, "a refused dispute changes nothing");
    // The escrow settles by the review window, as any escrow whose requester stays silent.
    let done = f.m.assignment(a).unwrap().finished_at.unwrap();
    f.at(done + HOUR);
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Released);
    f.ok();

    // 3-of-3 where one of the three arbitrators is the requester: the panel has two, and two
    // approvals do not release.
    let mut f = Fx::new(arbitrated(3, 3));
    let arbs = [f.arbitrator(), f.arbitrator()];
    let now = f.m.now();
    let r = f.m.register_peer(PeerSpec { endowment: 1_000_000, arbitrator: true, ..Default::default() }, now).unwrap();
    let p = f.provider(100.0);
    f.offer(p, 45, 100).unwrap();
    f.request(r, 50, 100, 0.0).unwrap();
    let a = AssignmentId(0);
    run_task(&mut f, a, p);
    let e = EscrowId(0);
    let panel = f.m.escrow(e).unwrap().arbitrators.clone();
    assert_eq!(panel.len(), 2, "the requester never sits on its own panel");
    for x in arbs {
        f.m.approve_release(e, x, None, f.m.now()).unwrap();
    }
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Completed, "a 3-of-3 escrow released on 2 approvals");
    f.ok();

    // A dispute that needs 2 matching votes is never decided by 1, even when only 2 can sit.
    let mut f = Fx::new(MarketConfig { dispute_panel_total: 3, dispute_panel_required: 2, ..Default::default() });
    let _arbs = [f.arbitrator(), f.arbitrator()];
    let (r, p, a) = f.trade(50, 45, 100);
    run_task(&mut f, a, p);
    let e = EscrowId(a.0);
    f.m.dispute(e, r, f.m.now()).unwrap();
    let d = f.m.escrow(e).unwrap().dispute.clone().unwrap();
    assert_eq!((d.panel.len(), d.required), (2, 2));
    f.m.vote(e, d.panel[0], Vote::RefundToRequester, f.m.now()).unwrap();
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Disputed, "one vote decided a dispute needing two");
    f.m.vote(e, d.panel[1], Vote::RefundToRequester, f.m.now()).unwrap();
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Resolved);
    f.ok();
}

/// Item 2: A violation found by the audit voids the payment in every state that holds tokens.
#[test]
fn audit_violation_voids_payment_in_every_funded_state() {
    for dispute_first in [false, true] {
        let mut f = Fx::new(MarketConfig { audit_rate: 1.0, ..Default::default() });
        for _ in 0..3 {
            f.arbitrator();
        }
        let (r, p, a) = f.trade(50, 45, 100);
        let e = EscrowId(a.0);
        let avail = f.m.wallet(r).available;
        let t = f.m.now();
        f.m.start_task(a, p, t).unwrap();
        if dispute_first {
            f.m.dispute(e, p, t).unwrap();
            let panel = f.m.escrow(e).unwrap().dispute.clone().unwrap().panel;
            // The panel votes for the provider before the receipt is in; the task is not done.
            f.m.vote(e, panel[0], Vote::ReleaseToProvider, t).unwrap();
            f.m.vote(e, panel[1], Vote::ReleaseToProvider, t).unwrap();
            assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Disputed);
        }
        f.m.complete_task(a, p, Completion::on(AccountId(424242)), t + MINUTE).unwrap();
        assert!(f.m.peer_state(p).unwrap().banned);
        let esc = f.m.escrow(e).unwrap();
        assert_eq!(esc.state, EscrowState::Refunded, "dispute_first = {dispute_first}");
        assert_eq!((esc.paid_provider, esc.paid_requester), (0, 4500));
        assert_eq!(f.m.wallet(p).available, 0, "a relay caught by the audit was paid");
        assert_eq!(f.m.wallet(r).available, avail + 4500);
        f.at(t + 2 * DAY);
        assert_eq!(f.m.wallet(p).available, 0);
        f.ok();
    }
}

/// Item 3: A failed task is refunded whatever dispute is open, and no vote pays for work not done.
#[test]
fn failed_task_is_refunded_whatever_dispute_is_open() {
    for default in [DisputeDefault::ReleaseToProvider, DisputeDefault::RefundToRequester, DisputeDefault::SplitEvenly] {
        // No-show: the provider disputes right after the match.
        let mut f = Fx::new(MarketConfig { dispute_default: default, ..Default::default() });
        for _ in 0..3 {
            f.arbitrator();
        }
        let (r, p, a) = f.trade(50, 45, 100);
        let e = EscrowId(a.0);
        let avail = f.m.wallet(r).available;
        f.m.dispute(e, p, 0).unwrap();
        let panel = f.m.escrow(e).unwrap().dispute.clone().unwrap().panel;
        f.m.vote(e, panel[0], Vote::ReleaseToProvider, 1).unwrap();
        f.m.vote(e, panel[1], Vote::ReleaseToProvider, 2).unwrap();
        assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Disputed, "votes decided before the facts");
        f.at(10 * MINUTE); // response 5 min + grace 5 min
        let asg = f.m.assignment(a).unwrap();
        assert_eq!((asg.status, asg.failure), (TaskStatus::Failed, Some(FailureKind::NoShow)));
        assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Refunded, "refund at the deadline, not at 24 h");
        assert_eq!(f.m.wallet(r).available, avail + 4500);
        f.at(2 * DAY);
        assert_eq!(f.m.wallet(p).available, 0, "{default:?}: a no-show collected the escrow by disputing first");
        assert!(f.m.vote(e, panel[2], Vote::ReleaseToProvider, f.m.now()).is_err());
        f.ok();

        // Abandoned after starting, with a dispute from the requester.
        let mut f = Fx::new(MarketConfig { dispute_default: default, ..Default::default() });
        for _ in 0..3 {
            f.arbitrator();
        }
        let (r, p, a) = f.trade(50, 45, 100);
        let e = EscrowId(a.0);
        f.m.start_task(a, p, MINUTE).unwrap();
        f.m.dispute(e, r, 2 * MINUTE).unwrap();
        f.at(MINUTE + 2 * HOUR + 5 * MINUTE);
        assert_eq!(f.m.assignment(a).unwrap().failure, Some(FailureKind::Abandoned));
        assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Refunded);
        assert_eq!(f.m.wallet(p).available, 0);
        f.ok();
    }
    // The dispute timeout passes while the task still runs: nothing is paid before the task
    // completes; the default applies at completion.
    let mut f = Fx::new(MarketConfig {
        dispute_default: DisputeDefault::ReleaseToProvider,
        dispute_timeout_ms: 10 * MINUTE,
        ..Default::default()
    });
    for _ in 0..3 {
        f.arbitrator();
    }
    let (_r, p, a) = f.trade(50, 45, 100);
    let e = EscrowId(a.0);
    f.m.start_task(a, p, MINUTE).unwrap();
    f.m.dispute(e, p, MINUTE).unwrap();
    f.at(HOUR);
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Disputed);
    assert_eq!(f.m.wallet(p).available, 0);
    f.m.complete_task(a, p, Completion::on(f.account(p)), HOUR).unwrap();
    let esc = f.m.escrow(e).unwrap();
    assert_eq!(esc.state, EscrowState::Resolved);
    assert!(esc.dispute.as_ref().unwrap().by_timeout);
    assert_eq!(f.m.wallet(p).available, 4455);
    f.ok();
}

/// Item 4: Nothing releases a time-locked escrow before its lock: not the review window, not a
/// dispute's votes, not the dispute timeout.
#[test]
fn time_lock_is_never_released_early() {
    let lock = 2 * HOUR;
    let mut f = Fx::new(MarketConfig {
        escrow: MultiSigType::TimeLocked { release_after_ms: lock },
        dispute_default: DisputeDefault::ReleaseToProvider,
        dispute_timeout_ms: 30 * MINUTE,
        ..Default::default()
    });
    for _ in 0..3 {
        f.arbitrator();
    }
    // The review window (1 h) is shorter than the lock.
    let (r, p, a) = f.trade(50, 45, 100);
    run_task(&mut f, a, p);
    let done = f.m.now();
    f.at(done + HOUR);
    assert_eq!(f.m.escrow(EscrowId(a.0)).unwrap().state, EscrowState::Completed, "released before its lock");
    assert!(f.m.approve_release(EscrowId(a.0), r, None, f.m.now()).is_err(), "no party approves a time lock");
    f.at(done + lock - 1);
    assert_eq!(f.m.escrow(EscrowId(a.0)).unwrap().state, EscrowState::Completed);
    f.at(done + lock);
    assert_eq!(f.m.escrow(EscrowId(a.0)).unwrap().state, EscrowState::Released);

    // A dispute decided by votes, and one by its timeout, both wait for the lock.
    for by_votes in [true, false] {
        let (_, p, a) = f.trade(50, 45, 10);
        let e = EscrowId(a.0);
        run_task(&mut f, a, p);
        let done = f.m.now();
        f.m.dispute(e, p, done).unwrap();
        if by_votes {
            let panel = f.m.escrow(e).unwrap().dispute.clone().unwrap().panel;
            f.m.vote(e, panel[0], Vote::ReleaseToProvider, done).unwrap();
            f.m.vote(e, panel[1], Vote::ReleaseToProvider, done).unwrap();
        }
        f.at(done + HOUR);
        assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Disputed, "by_votes = {by_votes}");
        f.at(done + lock);
        let esc = f.m.escrow(e).unwrap();
        assert_eq!(esc.state, EscrowState::Resolved);
        assert_eq!(esc.settled_at, Some(done + lock));
        assert_eq!(esc.dispute.as_ref().unwrap().by_timeout, !by_votes);
    }
    f.ok();
}

fn signed_request(
    m: &Market,
    who: PeerId,
    spec: &ComputeTaskSpec,
    sla: Option<&SlaSpec>,
    seq: u64,
    key_of: PeerId,
) -> Signed {
    let msg = signing::order_message(&NewOrder { sla: sla.copied(), ..NewOrder::buy(who, 50, 10, *spec) }, seq);
    signing::sign_seq(&signing::derive_signing_key(m.config().market_seed, key_of), seq, &msg)
}

/// Item 5: The signed bytes cover every field that changes the order, and no signed message is
/// accepted twice.
#[test]
fn signatures_cover_every_field_and_are_never_replayed() {
    let mut f = Fx::new(MarketConfig { verify_signatures: true, market_seed: 42, ..Default::default() });
    let r = f.requester(100_000_000);
    let spec = ComputeTaskSpec::new(f.tt, f.rust);
    let sla = SlaSpec {
        max_response_time_ms: MINUTE,
        max_duration_ms: MINUTE,
        uptime_requirement: 1.0,
        quality_minimums: QualityValues::EMPTY,
        violation_penalty: 1_000_000,
    };
    let before = f.m.state_digest();
    // Signed without an SLA, submitted with a 1,000,000-token penalty attached.
    let sig = signed_request(&f.m, r, &spec, None, 0, r);
    let place = |f: &mut Fx, spec: ComputeTaskSpec, sla: Option<SlaSpec>, sig: Signed| {
        f.m.place_order(NewOrder { sla, signature: Some(sig), ..NewOrder::buy(r, 50, 10, spec) }, 0)
    };
    assert_eq!(place(&mut f, spec, Some(sla), sig), Err(MarketError::BadSignature(r)));
    // The payload size is signed whole: 65,535 and 70,000 differ.
    let mut small = spec;
    small.payload_bytes = 65_535;
    let mut big = spec;
    big.payload_bytes = 70_000;
    let sig_small = signed_request(&f.m, r, &small, None, 0, r);
    assert_eq!(place(&mut f, big, None, sig_small), Err(MarketError::BadSignature(r)));
    // A changed SLA field, a changed sequence number, a forger's key: all refused.
    let sig_sla = signed_request(&f.m, r, &spec, Some(&sla), 0, r);
    let mut sla2 = sla;
    sla2.violation_penalty += 1;
    assert_eq!(place(&mut f, spec, Some(sla2), sig_sla), Err(MarketError::BadSignature(r)));
    assert_eq!(place(&mut f, spec, Some(sla), Signed { seq: 1, ..sig_sla }), Err(MarketError::BadSignature(r)));
    let forged = signed_request(&f.m, r, &spec, None, 0, PeerId(99));
    assert_eq!(place(&mut f, spec, None, forged), Err(MarketError::BadSignature(r)));
    assert_eq!(f.m.state_digest(), before, "refused signed orders change nothing");
    // Accepted once; the same signed order again is a replay.
    place(&mut f, spec, Some(sla), sig_sla).unwrap();
    assert_eq!(f.m.next_signature_seq(r), 1);
    let before = f.m.state_digest();
    assert_eq!(place(&mut f, spec, Some(sla), sig_sla), Err(MarketError::Replayed { peer: r, seq: 0 }));
    assert_eq!(f.m.state_digest(), before);
    // An older number is refused even if never used; a gap is allowed.
    let s5 = signed_request(&f.m, r, &spec, None, 5, r);
    place(&mut f, spec, None, s5).unwrap();
    let s3 = signed_request(&f.m, r, &spec, None, 3, r);
    assert_eq!(place(&mut f, spec, None, s3), Err(MarketError::Replayed { peer: r, seq: 3 }));
    // A refusal for another reason leaves the number unused.
    let poor = f.requester(10);
    let s = signed_request(&f.m, poor, &spec, None, 0, poor);
    let res = f.m.place_order(NewOrder { signature: Some(s), ..NewOrder::buy(poor, 50, 10, spec) }, 0);
    assert!(matches!(res, Err(MarketError::InsufficientFunds { .. })));
    assert_eq!(f.m.next_signature_seq(poor), 0);
    assert_eq!(f.m.counters().replayed_signatures, 2);

    // Approvals carry sequence numbers too: a replayed approval is refused.
    let mut f = Fx::new(MarketConfig {
        verify_signatures: true,
        market_seed: 7,
        escrow: MultiSigType::BothParties,
        ..Default::default()
    });
    let r = f.requester(1_000_000);
    let p = f.provider(100.0);
    let key = |who: PeerId| signing::derive_signing_key(7, who);
    let s = ComputeTaskSpec::new(f.tt, f.rust);
    let o = signing::order_message(&NewOrder::sell(p, 45, 10, s), 0);
    f.m.place_order(NewOrder { signature: Some(signing::sign_seq(&key(p), 0, &o)), ..NewOrder::sell(p, 45, 10, s) }, 0)
        .unwrap();
    let q = signing::order_message(&NewOrder::buy(r, 50, 10, s), 0);
    f.m.place_order(NewOrder { signature: Some(signing::sign_seq(&key(r), 0, &q)), ..NewOrder::buy(r, 50, 10, s) }, 0)
        .unwrap();
    run_task(&mut f, AssignmentId(0), p);
    let approval = signing::sign_seq(&key(p), 1, &signing::approval_message(EscrowId(0), p, 1));
    f.m.approve_release(EscrowId(0), p, Some(approval), f.m.now()).unwrap();
    assert_eq!(
        f.m.approve_release(EscrowId(0), p, Some(approval), f.m.now()),
        Err(MarketError::Replayed { peer: p, seq: 1 })
    );
    // An order signature is never an approval (distinct tags).
    let as_approval = Signed { seq: 1, bytes: signing::sign(&key(r), &q) };
    assert_eq!(f.m.approve_release(EscrowId(0), r, Some(as_approval), f.m.now()), Err(MarketError::BadSignature(r)));
    f.ok();
}

/// Item 6: Deadlines never overflow: durations are limited, time arithmetic saturates.
#[test]
fn deadlines_never_overflow() {
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(1_000_000);
    let p = f.provider(100.0);
    f.offer(p, 45, 100).unwrap();
    let huge = SlaSpec {
        max_response_time_ms: u64::MAX,
        max_duration_ms: u64::MAX,
        uptime_requirement: 0.0,
        quality_minimums: QualityValues::EMPTY,
        violation_penalty: 0,
    };
    assert_eq!(
        f.request_sla(r, 50, 100, 0.0, Some(huge)),
        Err(MarketError::DurationTooLong {
            what: "sla.max_response_time_ms",
            value_ms: u64::MAX,
            max_ms: MAX_DURATION_MS
        })
    );
    let huge_duration = SlaSpec { max_response_time_ms: MINUTE, ..huge };
    assert!(matches!(
        f.request_sla(r, 50, 100, 0.0, Some(huge_duration)),
        Err(MarketError::DurationTooLong { what: "sla.max_duration_ms", .. })
    ));
    let mut spec = ComputeTaskSpec::new(f.tt, f.rust);
    spec.max_duration_ms = MAX_DURATION_MS + 1;
    assert!(matches!(
        f.m.place_order(NewOrder::buy(r, 50, 100, spec), 0),
        Err(MarketError::DurationTooLong { what: "task_spec.max_duration_ms", .. })
    ));
    // The longest accepted durations do not fail the task at once.
    let longest = SlaSpec { max_response_time_ms: MAX_DURATION_MS, max_duration_ms: MAX_DURATION_MS, ..huge };
    f.request_sla(r, 50, 100, 0.0, Some(longest)).unwrap();
    f.at(1);
    assert_eq!(f.m.assignment(AssignmentId(0)).unwrap().status, TaskStatus::Assigned, "failed at once");
    f.m.start_task(AssignmentId(0), p, DAY).unwrap();
    f.at(6 * DAY);
    assert_eq!(f.m.assignment(AssignmentId(0)).unwrap().status, TaskStatus::InProgress);
    f.at(7 * DAY); // the escrow timeout (7 d) still applies
    assert_eq!(f.m.assignment(AssignmentId(0)).unwrap().status, TaskStatus::Failed);
    f.ok();

    // The clock near u64::MAX: nothing expires early, nothing wraps.
    let mut f = Fx::new(MarketConfig::default());
    for _ in 0..3 {
        f.arbitrator();
    }
    let start = u64::MAX - HOUR;
    f.at(start);
    let (r, p, a) = f.trade(50, 45, 100);
    let e = EscrowId(a.0);
    f.at(start + 1);
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Funded, "an escrow expired 1 ms after funding");
    f.m.start_task(a, p, start + MINUTE).unwrap();
    f.m.complete_task(a, p, Completion::on(f.account(p)), start + 2 * MINUTE).unwrap();
    f.m.dispute(e, r, start + 3 * MINUTE).unwrap();
    f.at(start + 4 * MINUTE);
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Disputed, "a dispute timed out early");
    f.at(u64::MAX);
    assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Resolved, "saturated deadlines fall due at the end");
    assert_eq!(f.m.now(), u64::MAX);
    f.at(u64::MAX);
    f.ok();

    // Usage caps near the end of time: units assigned 10 ms before u64::MAX still count at
    // u64::MAX (a window computed as `t + window` would saturate and forget them).
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(1_000_000);
    let now = f.m.now();
    let capped = PeerSpec { account: Some(AccountId(5)), usage_cap_units: Some(100), ..Default::default() };
    let p = f.m.register_peer(capped, now).unwrap();
    f.at(u64::MAX - 10);
    f.offer(p, 40, 100).unwrap();
    f.request(r, 50, 100, 0.0).unwrap();
    f.at(u64::MAX);
    assert_eq!(f.m.cap_room_now(p), 0);
    f.offer(p, 40, 100).unwrap();
    f.request(r, 50, 100, 0.0).unwrap();
    assert_eq!(f.m.assignments().len(), 1, "the cap was exceeded at the end of time");
    f.ok();
}

/// Item 7: Reputation decay is closed-form: a huge jump is one step of work, and every accepted
/// configuration stays finite.
#[test]
fn reputation_decay_is_closed_form_and_finite() {
    let rc = ReputationConfig { decay_half_life_ms: DAY, ..Default::default() };
    let mut f = Fx::new(MarketConfig { reputation: rc.clone(), ..Default::default() });
    let p = f.provider(150.0);
    let q = f.provider(50.0);
    f.at(3 * HOUR);
    let expected = 50.0 + 100.0 * 0.5f64.powf(3.0 * HOUR as f64 / DAY as f64);
    assert_eq!(f.m.reputation(p), expected);
    f.at(1 << 62);
    assert_eq!(f.m.reputation(p), 50.0);
    assert_eq!(f.m.reputation(q), 50.0);
    // Grouping does not matter: hour by hour equals one jump.
    let run = |hops: &[u64]| {
        let mut f = Fx::new(MarketConfig { reputation: rc.clone(), ..Default::default() });
        let p = f.provider(900.0);
        for &t in hops {
            f.at(t);
        }
        f.m.reputation(p)
    };
    let hourly: Vec<u64> = (1..=30).map(|h| h * HOUR).collect();
    assert_eq!(run(&hourly), run(&[30 * HOUR]));
    assert_eq!(run(&[7 * HOUR + 5, 30 * HOUR]), run(&[30 * HOUR]));
    // Bounds it cannot handle are refused, and the largest accepted ones stay finite.
    for (min, max) in [(-1e308, 1e308), (0.0, f64::INFINITY), (-1e13, 0.0)] {
        let rc = ReputationConfig { min, max, initial: 0.0, decay_half_life_ms: DAY, ..Default::default() };
        assert!(MarketConfig { reputation: rc, ..Default::default() }.validate().is_err(), "[{min}, {max}] accepted");
    }
    let rc = ReputationConfig {
        min: -MAX_REPUTATION_MAGNITUDE,
        max: MAX_REPUTATION_MAGNITUDE,
        initial: -MAX_REPUTATION_MAGNITUDE,
        trade_completed: MAX_REPUTATION_MAGNITUDE,
        decay_half_life_ms: 1,
        decay_step_ms: 1,
        ..Default::default()
    };
    let mut f = Fx::new(MarketConfig { reputation: rc, ..Default::default() });
    let p = f.provider(MAX_REPUTATION_MAGNITUDE);
    f.at(1);
    assert!(f.m.reputation(p).is_finite());
    f.at(u64::MAX);
    assert_eq!(f.m.reputation(p), -MAX_REPUTATION_MAGNITUDE);
    f.ok();
}

/// Item 8: A failure is booked the same way whatever detects it: `TradeFailed`, a failure count, a
/// `TaskFailed` event and the SLA violation it is.
#[test]
fn failure_bookkeeping_follows_the_rules() {
    // Failed by the escrow timeout before the start deadline.
    let mut f = Fx::new(MarketConfig { escrow_timeout_ms: MINUTE, ..Default::default() });
    let (_r, p, a) = f.trade(50, 45, 100);
    let before = f.m.reputation(p);
    f.m.drain_events().for_each(drop);
    f.at(2 * MINUTE);
    let asg = f.m.assignment(a).unwrap();
    assert_eq!((asg.status, asg.failure), (TaskStatus::Failed, Some(FailureKind::NoShow)));
    assert!(asg.violations.response);
    assert_eq!(f.m.escrow(EscrowId(a.0)).unwrap().state, EscrowState::Expired);
    let rec = f.m.reputation_record(p).unwrap();
    assert_eq!((rec.trades, rec.failures), (1, 1), "no failure count");
    assert_eq!(f.m.reputation(p), before - 20.0, "no TradeFailed");
    let events: Vec<MarketEvent> = f.m.drain_events().collect();
    assert!(matches!(events[0], MarketEvent::TaskFailed { kind: FailureKind::NoShow, .. }));
    assert!(matches!(events[1], MarketEvent::ReputationChanged { event: ReputationEvent::TradeFailed, .. }));
    assert!(matches!(events[2], MarketEvent::EscrowChanged { to: EscrowState::Expired, .. }));
    // Started, then the escrow timeout: abandoned, a duration violation.
    let (_r, p, a) = f.trade(50, 45, 100);
    let t = f.m.now();
    f.m.start_task(a, p, t).unwrap();
    f.at(t + MINUTE);
    let asg = f.m.assignment(a).unwrap();
    assert_eq!(asg.failure, Some(FailureKind::Abandoned));
    assert!(asg.violations.duration && !asg.violations.response);
    assert_eq!(f.m.reputation_record(p).unwrap().failures, 1);
    f.ok();
    // A no-show at the start deadline carries its violation too.
    let mut f = Fx::new(MarketConfig::default());
    let (_r, _p, a) = f.trade(50, 45, 100);
    f.at(10 * MINUTE);
    let asg = f.m.assignment(a).unwrap();
    assert_eq!(asg.status, TaskStatus::Failed);
    assert_eq!(asg.violations, Violations { response: true, ..Default::default() }, "no SLA-violation record");
    f.ok();
}

/// A minimal self-describing value to feed serde's derived `Deserialize` impls in tests.
mod value {
    use serde::de::value::{Error, SeqDeserializer};
    use serde::de::{IntoDeserializer, Visitor};
    use serde::forward_to_deserialize_any;

    pub enum V {
        U8(u8),
        F32(f32),
        Str(&'static str),
        Seq(Vec<V>),
        Map(Vec<(V, V)>),
    }

    impl<'de> serde::Deserializer<'de> for V {
        type Error = Error;
        fn deserialize_any<W: Visitor<'de>>(self, v: W) -> Result<W::Value, Error> {
            match self {
                V::U8(x) => v.visit_u8(x),
                V::F32(x) => v.visit_f32(x),
                V::Str(s) => v.visit_borrowed_str(s),
                V::Seq(s) => v.visit_seq(SeqDeserializer::new(s.into_iter())),
                V::Map(m) => v.visit_map(serde::de::value::MapDeserializer::new(m.into_iter())),
            }
        }
        forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
        }
    }

    impl<'de> IntoDeserializer<'de, Error> for V {
        type Deserializer = V;
        fn into_deserializer(self) -> V {
            self
        }
    }

    /// `{ len, entries: [(metric, value); 4] }`, the serialized shape of `QualityValues`.
    pub fn quality(len: u8, entries: [(u8, f32); 4]) -> V {
        V::Map(vec![
            (V::Str("len"), V::U8(len)),
            (V::Str("entries"), V::Seq(entries.iter().map(|&(m, x)| V::Seq(vec![V::U8(m), V::F32(x)])).collect())),
        ])
    }
}

/// Item 9: Every small value that crosses the API is validated into a typed error.
#[test]
fn small_inputs_are_validated() {
    use serde::Deserialize;
    // A quality metric listed twice (in minimums or in a completion) is refused, so it can never
    // be penalised twice.
    assert_eq!(QualityValues::new(&[(0, 0.5), (0, 0.5)]), Err(MarketError::DuplicateQualityMetric(0)));
    assert!(matches!(QualityValues::new(&[(0, f64::NAN)]), Err(MarketError::InvalidFraction { .. })));
    // Deserialized values go through the same checks: len = 9, a NaN, a duplicate.
    let de = |v| QualityValues::deserialize(v).map_err(|e: serde::de::value::Error| e.to_string());
    let ok = de(value::quality(2, [(0, 0.5), (1, 0.25), (0, 0.0), (0, 0.0)])).unwrap();
    assert_eq!(ok, QualityValues::new(&[(0, 0.5), (1, 0.25)]).unwrap());
    assert!(de(value::quality(9, [(0, 0.5); 4])).unwrap_err().contains("at most 4"));
    assert!(de(value::quality(1, [(0, f32::NAN); 4])).unwrap_err().contains("must lie in [0, 1]"));
    assert!(de(value::quality(2, [(3, 0.5), (3, 0.5), (0, 0.0), (0, 0.0)])).unwrap_err().contains("listed twice"));
    // A NaN quality score never passes a minimum: it cannot even be reported.
    let mut f = Fx::new(MarketConfig::default());
    let r = f.requester(1_000_000);
    let p = f.provider(100.0);
    f.offer(p, 45, 100).unwrap();
    let sla = SlaSpec {
        max_response_time_ms: HOUR,
        max_duration_ms: HOUR,
        uptime_requirement: 0.0,
        quality_minimums: QualityValues::new(&[(0, 0.9)]).unwrap(),
        violation_penalty: 100,
    };
    f.request_sla(r, 50, 100, 0.0, Some(sla)).unwrap();
    f.m.start_task(AssignmentId(0), p, 1).unwrap();
    let c = Completion { quality: QualityValues::new(&[(0, 0.95)]).unwrap(), ..Completion::on(f.account(p)) };
    f.m.complete_task(AssignmentId(0), p, c, 2).unwrap();
    assert_eq!(f.m.assignment(AssignmentId(0)).unwrap().violations.quality, 0);
    let bad_sla = SlaSpec { uptime_requirement: f64::NAN, ..sla };
    assert!(matches!(f.request_sla(r, 50, 100, 0.0, Some(bad_sla)), Err(MarketError::InvalidFraction { .. })));
    // Capability 200 is not capability 72.
    assert_eq!(CapabilitySet::single(200), Err(MarketError::CapabilityOutOfRange(200)));
    assert_eq!(CapabilitySet::EMPTY.with(128), Err(MarketError::CapabilityOutOfRange(128)));
    assert!(!CapabilitySet(u128::MAX).contains(200));
    // NaN has no tier; a NaN starting reputation is refused.
    assert!(matches!(Tier::of(f64::NAN), Err(MarketError::InvalidReputation(x)) if x.is_nan()));
    let spec = PeerSpec { initial_reputation: Some(f64::NAN), ..Default::default() };
    assert!(matches!(f.m.register_peer(spec, f.m.now()), Err(MarketError::InvalidReputation(_))));
    f.ok();
}

/// Item 1, found by a fresh-eyes review: an arbitrator banned after the panel was drawn (caught
/// relaying as a provider) could still approve a release alone and vote in the escrow's dispute.
#[test]
fn a_banned_arbitrator_loses_its_voice_on_panels_it_sits_on() {
    for dispute in [false, true] {
        let mut f = Fx::new(arbitrated(1, 1));
        let arb =
            f.m.register_peer(PeerSpec { arbitrator: true, account: Some(AccountId(77)), ..Default::default() }, 0)
                .unwrap();
        let (r, p, a) = f.trade(50, 45, 100); // the escrow's panel is [arb]
        run_task(&mut f, a, p);
        let e = EscrowId(a.0);
        // The arbitrator also sells compute, relays a task and is banned by the audit.
        let r2 = f.requester(1_000_000);
        f.offer(arb, 40, 10).unwrap();
        f.request(r2, 50, 10, 0.0).unwrap();
        let a2 = f.m.assignments().last().unwrap().id;
        let now = f.m.now();
        f.m.start_task(a2, arb, now).unwrap();
        f.m.complete_task(a2, arb, Completion::on(AccountId(9999)), now + 1).unwrap();
        assert!(f.m.peer_state(arb).unwrap().banned);
        let now = f.m.now();
        if dispute {
            f.m.dispute(e, r, now).unwrap();
            let v = f.m.vote(e, arb, Vote::ReleaseToProvider, now);
            assert!(matches!(v, Err(MarketError::NotAuthorized { .. })), "{v:?}");
            assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Disputed);
        } else {
            let v = f.m.approve_release(e, arb, None, now);
            assert!(matches!(v, Err(MarketError::NotAuthorized { .. })), "{v:?}");
            assert_eq!(f.m.escrow(e).unwrap().state, EscrowState::Completed);
        }
        f.ok();
    }
}
