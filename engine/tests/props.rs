//! Property tests: random operation sequences (placements, cancels, starts, completions with
//! random quality, approvals, disputes, votes, feedback, clock advances, forged and wrong-peer
//! calls). After every step the invariant checker holds; refused wrong-peer calls change
//! nothing; every new assignment respects the filters; the same operations give the same events.

use proptest::prelude::*;
use synmarket_engine::*;

const REQUESTERS: u32 = 4;
const PROVIDERS: u32 = 4;
const ARBITRATORS: u32 = 3;

#[derive(Clone, Debug)]
enum Op {
    Request { who: u32, bid: u64, units: u64, min_rep: u8, privacy: u8, needs: u8 },
    Offer { who: u32, ask: u64, units: u64, caps: u8 },
    Cancel { order: usize, by: u32 },
    Start { asg: usize, by: u32 },
    Complete { asg: usize, by: u32, quality: u8, uptime: u8, relay: bool },
    Approve { asg: usize, by: u32 },
    Dispute { asg: usize, by: u32 },
    Vote { asg: usize, by: u32, vote: u8 },
    Feedback { asg: usize, by: u32, rating: u8 },
    Advance { ms: u64 },
    Forged { who: u32 },
}

fn op() -> impl Strategy<Value = Op> {
    let peer = 0u32..(REQUESTERS + PROVIDERS + ARBITRATORS + 1);
    prop_oneof![
        4 => (0..REQUESTERS, 1u64..100, 1u64..400, 0u8..4, 0u8..3, 0u8..4)
            .prop_map(|(who, bid, units, min_rep, privacy, needs)| Op::Request { who, bid, units, min_rep, privacy, needs }),
        4 => (0..PROVIDERS, 1u64..100, 1u64..400, 0u8..8)
            .prop_map(|(who, ask, units, caps)| Op::Offer { who: REQUESTERS + who, ask, units, caps }),
        1 => (0usize..64, peer.clone()).prop_map(|(order, by)| Op::Cancel { order, by }),
        3 => (0usize..64, peer.clone()).prop_map(|(asg, by)| Op::Start { asg, by }),
        3 => (0usize..64, peer.clone(), 0u8..=10, 0u8..=10, proptest::bool::weighted(0.1))
            .prop_map(|(asg, by, quality, uptime, relay)| Op::Complete { asg, by, quality, uptime, relay }),
        2 => (0usize..64, peer.clone()).prop_map(|(asg, by)| Op::Approve { asg, by }),
        1 => (0usize..64, peer.clone()).prop_map(|(asg, by)| Op::Dispute { asg, by }),
        2 => (0usize..64, peer.clone(), 0u8..4).prop_map(|(asg, by, vote)| Op::Vote { asg, by, vote }),
        1 => (0usize..64, peer.clone(), 0u8..7).prop_map(|(asg, by, rating)| Op::Feedback { asg, by, rating }),
        2 => (0u64..(3 * HOUR)).prop_map(|ms| Op::Advance { ms }),
        1 => (0..PROVIDERS).prop_map(|who| Op::Forged { who: REQUESTERS + who }),
    ]
}

/// The institutions under test: first-accept, the continuous double auction without and with
/// book clearing, the sealed-bid reverse auction at first and second price, the call market.
const INSTITUTIONS: u8 = 6;

fn institution(inst: u8, c: MarketConfig) -> MarketConfig {
    let base = MarketConfig { pricing: PriceRule::Ask, ..c.clone() };
    match inst {
        0 => c,
        1 => MarketConfig { institution: Institution::ContinuousDoubleAuction, ..base },
        2 => MarketConfig { institution: Institution::ContinuousDoubleAuction, clear_book_after_trade: true, ..base },
        3 => MarketConfig { institution: Institution::SealedBidReverse, ..base },
        4 => MarketConfig {
            institution: Institution::SealedBidReverse,
            sealed_bid_price: SealedBidPrice::SecondPrice,
            ..base
        },
        _ => MarketConfig { institution: Institution::CallMarket, call_interval_ms: 10 * MINUTE, ..base },
    }
}

fn config(k: u8) -> MarketConfig {
    let escrow = match k % 4 {
        0 => MultiSigType::Single,
        1 => MultiSigType::BothParties,
        2 => MultiSigType::Arbitrators { required: 2, total: 3 },
        _ => MultiSigType::TimeLocked { release_after_ms: 30 * MINUTE },
    };
    let pricing = [PriceRule::Ask, PriceRule::Resting, PriceRule::Midpoint, PriceRule::Bid][(k / 4 % 4) as usize];
    MarketConfig {
        escrow,
        pricing,
        reputation_weight: [0.0, 1.0, 2.0][(k % 3) as usize],
        fee_bps: 137,
        audit_rate: 0.5,
        verify_signatures: k.is_multiple_of(5),
        market_seed: 9,
        ..Default::default()
    }
}

struct World {
    m: Market,
    tt: TaskTypeId,
    caps: [u8; 3],
}

fn world(k: u8, inst: u8) -> World {
    let mut m = Market::new(institution(inst, config(k))).unwrap();
    let tt = m.register_task_type("t").unwrap();
    let caps = [m.capability("a").unwrap(), m.capability("b").unwrap(), m.capability("c").unwrap()];
    for _ in 0..REQUESTERS {
        m.register_peer(PeerSpec { endowment: 200_000, ..Default::default() }, 0).unwrap();
    }
    for i in 0..PROVIDERS {
        let spec = PeerSpec {
            account: Some(AccountId(100 + i as u64)),
            usage_cap_units: if i % 2 == 0 { Some(500) } else { None },
            initial_reputation: Some([20.0, 60.0, 150.0, 300.0][i as usize]),
            ..Default::default()
        };
        m.register_peer(spec, 0).unwrap();
    }
    for _ in 0..ARBITRATORS {
        m.register_peer(PeerSpec { arbitrator: true, ..Default::default() }, 0).unwrap();
    }
    World { m, tt, caps }
}

fn set(w: &World, bits: u8) -> CapabilitySet {
    let mut s = CapabilitySet::EMPTY;
    for i in 0..3 {
        if bits & (1 << i) != 0 {
            s = s.with(w.caps[i]).unwrap();
        }
    }
    if bits & 8 != 0 {
        s = s.with(0).unwrap(); // confidential attestation
    }
    s
}

#[allow(clippy::too_many_arguments)]
fn sig(
    m: &Market,
    who: PeerId,
    t: Side,
    price: u64,
    units: u64,
    spec: &ComputeTaskSpec,
    expires_at: Option<SimTime>,
) -> Option<Signed> {
    if !m.config().verify_signatures {
        return None;
    }
    let seq = m.next_signature_seq(who);
    let msg = signing::order_message(&NewOrder { expires_at, ..NewOrder::new(t, who, price, units, *spec) }, seq);
    Some(signing::sign_seq(&signing::derive_signing_key(m.config().market_seed, who), seq, &msg))
}

fn approval_sig(m: &Market, e: EscrowId, who: PeerId) -> Option<Signed> {
    if !m.config().verify_signatures {
        return None;
    }
    let seq = m.next_signature_seq(who);
    let key = signing::derive_signing_key(m.config().market_seed, who);
    Some(signing::sign_seq(&key, seq, &signing::approval_message(e, who, seq)))
}

/// Applies one op; returns Err(reason) if a property failed.
fn apply(w: &mut World, op: &Op) -> Result<(), String> {
    let now = w.m.now();
    let n_asg = w.m.assignments().len();
    let before_assignments = n_asg;
    let digest = w.m.state_digest();
    let quotes = (w.m.best_bid(w.tt), w.m.best_ask(w.tt));
    let pick = |i: usize, n: usize| if n == 0 { None } else { Some(i % n) };
    let result: Result<(), MarketError> = match *op {
        Op::Request { who, bid, units, min_rep, privacy, needs } => {
            let mut spec = ComputeTaskSpec::new(w.tt, set(w, needs));
            spec.min_reputation = [0.0, 50.0, 100.0, 280.0][min_rep as usize];
            spec.privacy_level =
                [PrivacyLevel::Public, PrivacyLevel::Private, PrivacyLevel::Confidential][privacy as usize];
            let s = sig(&w.m, PeerId(who), Side::Buy, bid, units, &spec, None);
            w.m.place_order(NewOrder { signature: s, ..NewOrder::buy(PeerId(who), bid, units, spec) }, now).map(|_| ())
        }
        Op::Offer { who, ask, units, caps } => {
            let spec = ComputeTaskSpec::new(w.tt, set(w, caps | 7 & caps | if caps % 3 == 0 { 8 } else { 0 }));
            let exp = Some(now + 2 * HOUR);
            let s = sig(&w.m, PeerId(who), Side::Sell, ask, units, &spec, exp);
            w.m.place_order(
                NewOrder { expires_at: exp, signature: s, ..NewOrder::sell(PeerId(who), ask, units, spec) },
                now,
            )
            .map(|_| ())
        }
        Op::Forged { who } => {
            let spec = ComputeTaskSpec::new(w.tt, set(w, 7));
            let msg = signing::order_message(&NewOrder::sell(PeerId(who), 10, 10, spec), 1 << 40);
            let forged = signing::sign_seq(&signing::derive_signing_key(12345, PeerId(who)), 1 << 40, &msg);
            let r =
                w.m.place_order(NewOrder { signature: Some(forged), ..NewOrder::sell(PeerId(who), 10, 10, spec) }, now);
            if w.m.config().verify_signatures {
                if r != Err(MarketError::BadSignature(PeerId(who))) {
                    return Err(format!("forged order not rejected: {r:?}"));
                }
                if w.m.state_digest() != digest {
                    return Err("forged order changed state".into());
                }
            }
            r.map(|_| ())
        }
        Op::Cancel { order, by } => match pick(order, w.m.orders().len()) {
            Some(i) => w.m.cancel_order(OrderId(i as u64), PeerId(by), now),
            None => Ok(()),
        },
        Op::Start { asg, by } => match pick(asg, n_asg) {
            Some(i) => w.m.start_task(AssignmentId(i as u64), PeerId(by), now),
            None => Ok(()),
        },
        Op::Complete { asg, by, quality, uptime, relay } => match pick(asg, n_asg) {
            Some(i) => {
                let own = w.m.peer_state(PeerId(by)).and_then(|p| p.account).unwrap_or(AccountId(0));
                let c = Completion {
                    quality: QualityValues::new(&[(0, quality as f64 / 10.0)]).unwrap(),
                    uptime: uptime as f64 / 10.0,
                    receipt_account: if relay { AccountId(999) } else { own },
                };
                w.m.complete_task(AssignmentId(i as u64), PeerId(by), c, now)
            }
            None => Ok(()),
        },
        Op::Approve { asg, by } => match pick(asg, n_asg) {
            Some(i) => {
                let e = EscrowId(i as u64);
                let s = approval_sig(&w.m, e, PeerId(by));
                w.m.approve_release(e, PeerId(by), s, now)
            }
            None => Ok(()),
        },
        Op::Dispute { asg, by } => match pick(asg, n_asg) {
            Some(i) => w.m.dispute(EscrowId(i as u64), PeerId(by), now),
            None => Ok(()),
        },
        Op::Vote { asg, by, vote } => match pick(asg, n_asg) {
            Some(i) => {
                let v = match vote {
                    0 => Vote::ReleaseToProvider,
                    1 => Vote::RefundToRequester,
                    2 => Vote::Split { provider_bps: 2500 },
                    _ => Vote::Split { provider_bps: 12_000 },
                };
                w.m.vote(EscrowId(i as u64), PeerId(by), v, now)
            }
            None => Ok(()),
        },
        Op::Feedback { asg, by, rating } => match pick(asg, n_asg) {
            Some(i) => w.m.leave_feedback(AssignmentId(i as u64), PeerId(by), rating, now),
            None => Ok(()),
        },
        Op::Advance { ms } => w.m.advance_to(now + ms),
    };
    if let Err(e) = &result
        && !matches!(op, Op::Advance { .. })
        && w.m.state_digest() != digest
    {
        return Err(format!("refused call {op:?} ({e}) changed the state"));
    }
    w.m.check_invariants().map_err(|e| format!("after {op:?}: {e}"))?;
    institution_rules(w, op, &result, before_assignments, now, quotes)?;
    // Every new assignment respects the qualification filters.
    for a in &w.m.assignments()[before_assignments..] {
        let r = w.m.order(a.request).unwrap();
        let o = w.m.order(a.offer).unwrap();
        if !(o.price_per_unit <= a.price_per_unit && a.price_per_unit <= r.price_per_unit) {
            return Err(format!("price outside [ask, bid]: {a:?}"));
        }
        if !r.spec.capabilities.is_subset_of(o.spec.capabilities) || a.provider == a.requester {
            return Err(format!("filter violated: {a:?}"));
        }
        // The reputation when it was assigned (a sealed-bid award or a call can assign during
        // an advance, and the same advance can change the reputation afterwards).
        let rep = a.provider_reputation;
        if rep < r.spec.min_reputation {
            return Err(format!("reputation filter violated: {a:?}"));
        }
        let ok = match r.spec.privacy_level {
            PrivacyLevel::Public => true,
            PrivacyLevel::Private => rep >= w.m.config().private_min_reputation,
            PrivacyLevel::Confidential => {
                o.spec.capabilities.contains(0) && rep >= w.m.config().confidential_min_reputation
            }
        };
        if !ok {
            return Err(format!("privacy filter violated: {a:?}"));
        }
    }
    Ok(())
}

/// The rules of each institution that a step can show.
fn institution_rules(
    w: &World,
    op: &Op,
    result: &Result<(), MarketError>,
    before_assignments: usize,
    now: SimTime,
    (bid_before, ask_before): (Option<u64>, Option<u64>),
) -> Result<(), String> {
    let c = w.m.config();
    let new = &w.m.assignments()[before_assignments..];
    let placed = matches!(op, Op::Request { .. } | Op::Offer { .. } | Op::Forged { .. }) && result.is_ok();
    // A forged op is a plain offer at 10 when signatures are not checked.
    let op = &match *op {
        Op::Forged { who } => Op::Offer { who, ask: 10, units: 10, caps: 7 },
        ref o => o.clone(),
    };
    match c.institution {
        Institution::FirstAccept => {}
        Institution::ContinuousDoubleAuction => {
            if placed {
                // Accepted: it crossed the other side or beat the best quote of its own.
                let ok = match *op {
                    Op::Request { bid, .. } => {
                        ask_before.is_some_and(|a| bid >= a) || bid_before.is_none_or(|b| bid > b)
                    }
                    Op::Offer { ask, .. } => bid_before.is_some_and(|b| ask <= b) || ask_before.is_none_or(|a| ask < a),
                    _ => true,
                };
                if !ok {
                    return Err(format!("{op:?} accepted against quotes {bid_before:?} / {ask_before:?}"));
                }
            }
            if let Err(MarketError::NotImproving { best, .. }) = result {
                let ok = match *op {
                    Op::Request { bid, .. } => {
                        bid_before == Some(*best) && bid <= *best && ask_before.is_none_or(|a| bid < a)
                    }
                    Op::Offer { ask, .. } => {
                        ask_before == Some(*best) && ask >= *best && bid_before.is_none_or(|b| ask > b)
                    }
                    _ => false,
                };
                if !ok {
                    return Err(format!("{op:?} refused as not improving on {best}"));
                }
            }
            for a in new {
                // The resting order's price.
                let r = w.m.order(a.request).unwrap();
                let o = w.m.order(a.offer).unwrap();
                let resting =
                    if r.placed_at <= o.placed_at && a.request < a.offer { r.price_per_unit } else { o.price_per_unit };
                if a.price_per_unit != resting {
                    return Err(format!(
                        "CDA trade at {} not at the resting order's price {resting}",
                        a.price_per_unit
                    ));
                }
            }
            if c.clear_book_after_trade
                && !new.is_empty()
                && (w.m.best_bid(w.tt).is_some() || w.m.best_ask(w.tt).is_some())
            {
                return Err(format!("{op:?} traded but the book was not cleared"));
            }
        }
        Institution::SealedBidReverse => {
            if placed && !new.is_empty() {
                return Err(format!("{op:?} matched on arrival under the sealed-bid auction"));
            }
            for a in new {
                let r = w.m.order(a.request).unwrap();
                if a.assigned_at != r.placed_at + c.auction_window_ms {
                    return Err(format!("award at {} not at the window's end: {a:?}", a.assigned_at));
                }
                if c.sealed_bid_price == SealedBidPrice::FirstPrice && a.price_per_unit != a.ask {
                    return Err(format!("first price not paid: {a:?}"));
                }
            }
        }
        Institution::CallMarket => {
            if placed && !new.is_empty() {
                return Err(format!("{op:?} matched on arrival in the call market"));
            }
            for a in new {
                if a.assigned_at % c.call_interval_ms != 0 || a.assigned_at > now.max(w.m.now()) {
                    return Err(format!("trade between calls: {a:?}"));
                }
                let same_call = new.iter().filter(|b| b.assigned_at == a.assigned_at);
                if same_call.clone().any(|b| b.price_per_unit != a.price_per_unit) {
                    return Err(format!("a call with more than one price at {}", a.assigned_at));
                }
            }
        }
    }
    Ok(())
}

fn run(k: u8, inst: u8, ops: &[Op]) -> Result<(Vec<MarketEvent>, String), String> {
    let mut w = world(k, inst);
    let mut events = Vec::new();
    for op in ops {
        apply(&mut w, op)?;
        events.extend(w.m.drain_events());
    }
    // Let every timer fire: all escrows settle or stay disputed until the dispute timeout.
    let end = w.m.now() + 30 * DAY;
    w.m.advance_to(end).map_err(|e| e.to_string())?;
    w.m.check_invariants().map_err(|e| e.to_string())?;
    for e in w.m.escrows() {
        if !e.state.is_settled() {
            return Err(format!("escrow {} still {:?} after 30 days", e.id, e.state));
        }
    }
    let supply = w.m.bank().supply();
    if supply != 200_000 * REQUESTERS as u64 {
        return Err(format!("supply changed: {supply}"));
    }
    events.extend(w.m.drain_events());
    Ok((events, w.m.ledger_digest()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_after_every_operation(
        k in 0u8..60,
        inst in 0u8..INSTITUTIONS,
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let first = run(k, inst, &ops);
        prop_assert!(first.is_ok(), "{}", first.unwrap_err());
        let second = run(k, inst, &ops);
        prop_assert_eq!(first.unwrap(), second.unwrap(), "same operations, different events");
    }
}
