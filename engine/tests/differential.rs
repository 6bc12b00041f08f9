//! Differential test: the engine against the reference model of `tests/reference/` (a second,
//! naive implementation of the rules). Random worlds (the institution of §14 with its own keys:
//! first-accept with each price rule, the continuous double auction with and without
//! `clear_book_after_trade`, the sealed-bid reverse auction at first and second price, the call
//! market with a `call_interval` of 1 s, 1 min or 7 min; escrow types, decay, audit rates,
//! signatures, panel sizes, arbitrator counts) are driven by random operation sequences:
//! placements, cancels, starts, completions (honest, relayed, with quality and uptime), approvals,
//! disputes, votes, feedback, pauses, money, peers joining, time jumps (up to the end of time),
//! signed messages (valid, forged, tampered, stale, replayed) and hostile values (zero, overflow,
//! NaN, too long, unknown ids, time going backwards). After every step the two must agree on the
//! call's answer, every event, every balance, escrow, task, order, reputation, signature counter
//! and price statistic; the engine's invariant checker must pass.
//!
//! Case count: 500 sequences of 200 operations under plain `cargo test`, spread evenly over the
//! four institutions (about 125 each; a few seconds on two cores). Long mode: set
//! `SYNMARKET_DIFF_CASES` (e.g. `50000` for 10 million operations) and run in release:
//! `SYNMARKET_DIFF_CASES=50000 cargo test --release -p synmarket-engine --test differential`.
//! Failing cases are shrunk by proptest and persisted under `proptest-regressions/`; they are
//! replayed first on every run.

mod reference;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};
use reference::{Ref, mix, snap_market};
use synmarket_engine::*;

const OPS: usize = 200;
/// Operations of a deep-book sequence.
const DEEP_OPS: usize = 1200;
const DEFAULT_CASES: u32 = 500;

#[derive(Clone, Debug)]
enum Op {
    Advance(u64),
    Request { who: u8, bid: u64, units: u64, needs: u8, min_rep: u8, privacy: u8, sla: u8, expiry: u8, sig: u8 },
    Offer { who: u8, ask: u64, units: u64, caps: u8, expiry: u8, sig: u8 },
    Cancel { order: u16, by: u8 },
    Start { asg: u16, by: u8 },
    Complete { asg: u16, by: u8, q: u8, up: u8, receipt: u8 },
    Approve { esc: u16, by: u8, sig: u8 },
    Dispute { esc: u16, by: u8 },
    Vote { esc: u16, by: u8, vote: u8 },
    Feedback { asg: u16, by: u8, rating: u8 },
    Pause { who: u8, on: bool },
    Money { who: u8, amount: u64, endow: bool },
    Join { arbitrator: bool, shared: bool },
    Hostile { kind: u8, x: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    op_with(24, 24, 4)
}

/// The operations with `offers`, `requests` and `cancels` as the weights of placements and
/// cancels (the rest as in [`op`]).
fn op_with(offers: u32, requests: u32, cancels: u32) -> impl Strategy<Value = Op> {
    let advance = prop_oneof![
        6 => 0u64..(10 * MINUTE),
        3 => 0u64..(3 * HOUR),
        1 => 0u64..(10 * DAY),
    ];
    prop_oneof![
        20 => advance.prop_map(Op::Advance),
        requests => (any::<u8>(), 1u64..120, 1u64..400, any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(who, bid, units, needs, min_rep, privacy, sla, expiry, sig)| Op::Request {
                who, bid, units, needs, min_rep, privacy, sla, expiry, sig
            }),
        offers => (any::<u8>(), 1u64..120, 1u64..400, any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(who, ask, units, caps, expiry, sig)| Op::Offer { who, ask, units, caps, expiry, sig }),
        cancels => (any::<u16>(), any::<u8>()).prop_map(|(order, by)| Op::Cancel { order, by }),
        16 => (any::<u16>(), any::<u8>()).prop_map(|(asg, by)| Op::Start { asg, by }),
        16 => (any::<u16>(), any::<u8>(), 0u8..=10, 0u8..=10, any::<u8>())
            .prop_map(|(asg, by, q, up, receipt)| Op::Complete { asg, by, q, up, receipt }),
        12 => (any::<u16>(), any::<u8>(), any::<u8>()).prop_map(|(esc, by, sig)| Op::Approve { esc, by, sig }),
        8 => (any::<u16>(), any::<u8>()).prop_map(|(esc, by)| Op::Dispute { esc, by }),
        12 => (any::<u16>(), any::<u8>(), any::<u8>()).prop_map(|(esc, by, vote)| Op::Vote { esc, by, vote }),
        4 => (any::<u16>(), any::<u8>(), 0u8..=6).prop_map(|(asg, by, rating)| Op::Feedback { asg, by, rating }),
        4 => (any::<u8>(), any::<bool>()).prop_map(|(who, on)| Op::Pause { who, on }),
        4 => (any::<u8>(), 0u64..100_000, any::<bool>()).prop_map(|(who, amount, endow)| Op::Money { who, amount, endow }),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(arbitrator, shared)| Op::Join { arbitrator, shared }),
        4 => (0u8..20, any::<u64>()).prop_map(|(kind, x)| Op::Hostile { kind, x }),
    ]
}

/// The institutions the generator draws from (each equally often).
const INSTITUTIONS: [Institution; 4] = [
    Institution::FirstAccept,
    Institution::ContinuousDoubleAuction,
    Institution::SealedBidReverse,
    Institution::CallMarket,
];

/// A world's configuration, drawn from one number.
fn config(k: u64) -> (MarketConfig, usize) {
    let r = |i: u64| mix(k ^ mix(i));
    let pick = |i: u64, n: u64| (r(i) % n) as usize;
    let escrow = [
        MultiSigType::Single,
        MultiSigType::BothParties,
        MultiSigType::Arbitrators { required: 2, total: 3 },
        MultiSigType::Arbitrators { required: 3, total: 3 },
        MultiSigType::Arbitrators { required: 1, total: 2 },
        MultiSigType::TimeLocked { release_after_ms: 30 * MINUTE },
        MultiSigType::TimeLocked { release_after_ms: 3 * HOUR },
    ][pick(1, 7)];
    let (half, step) = [(0, HOUR), (2 * HOUR, 10 * MINUTE), (DAY, HOUR), (7 * MINUTE, 3 * MINUTE)][pick(16, 4)];
    let (panel_total, panel_required) = [(3, 2), (2, 2), (1, 1), (4, 3)][pick(10, 4)];
    let institution = INSTITUTIONS[pick(25, INSTITUTIONS.len() as u64)];
    // Each institution's own keys; `pricing` other than the default belongs to first-accept
    // (`resting`, its own rule, is also accepted with the continuous double auction).
    let pricing = [PriceRule::Ask, PriceRule::Resting, PriceRule::Midpoint, PriceRule::Bid][pick(5, 4)];
    let pricing = match institution {
        Institution::FirstAccept => pricing,
        Institution::ContinuousDoubleAuction if pick(5, 2) == 1 => PriceRule::Resting,
        _ => PriceRule::Ask,
    };
    let cda = institution == Institution::ContinuousDoubleAuction;
    let sealed = institution == Institution::SealedBidReverse;
    let call = institution == Institution::CallMarket;
    let cfg = MarketConfig {
        institution,
        clear_book_after_trade: cda && pick(26, 2) == 0,
        sealed_bid_price: if sealed && pick(27, 2) == 0 {
            SealedBidPrice::SecondPrice
        } else {
            SealedBidPrice::FirstPrice
        },
        call_interval_ms: if call {
            [SECOND, MINUTE, 7 * MINUTE][pick(28, 3)]
        } else {
            MarketConfig::default().call_interval_ms
        },
        auction_window_ms: [15 * MINUTE, HOUR][pick(2, 2)],
        slot_divisor: [100, 30][pick(3, 2)],
        slot_cap: [10, 2][pick(4, 2)],
        pricing,
        reputation_weight: [0.0, 1.0, 2.0, 0.5][pick(6, 4)],
        fee_bps: [0, 137, 250, 10_000][pick(7, 4)],
        escrow,
        review_window_ms: [0, 30 * MINUTE, HOUR][pick(8, 3)],
        escrow_timeout_ms: [20 * MINUTE, 7 * DAY, 2 * HOUR][pick(9, 3)],
        dispute_timeout_ms: [10 * MINUTE, 2 * HOUR, DAY][pick(11, 3)],
        dispute_default: [
            DisputeDefault::ReleaseToProvider,
            DisputeDefault::RefundToRequester,
            DisputeDefault::SplitEvenly,
        ][pick(12, 3)],
        dispute_panel_total: panel_total,
        dispute_panel_required: panel_required,
        audit_rate: [0.0, 0.5, 1.0][pick(13, 3)],
        market_seed: r(14),
        verify_signatures: pick(15, 3) == 0,
        default_max_response_ms: [5 * MINUTE, MINUTE][pick(17, 2)],
        default_max_duration_ms: [2 * HOUR, 20 * MINUTE][pick(18, 2)],
        deadline_grace_ms: [5 * MINUTE, 0][pick(19, 2)],
        usage_cap_window_ms: [DAY, HOUR][pick(20, 2)],
        price_window_ms: [DAY, HOUR][pick(21, 2)],
        feedback_window_ms: [0, 10 * MINUTE, DAY][pick(24, 3)],
        reputation: ReputationConfig {
            min: [0.0, -100.0][pick(22, 2)],
            decay_half_life_ms: half,
            decay_step_ms: step,
            ..Default::default()
        },
        ..MarketConfig::default()
    };
    (cfg, pick(23, 5))
}

/// Both markets, the driver's memory of signed messages, and the step counter.
struct World {
    m: Market,
    r: Ref,
    tts: Vec<TaskTypeId>,
    caps: [u8; 3],
    /// The last signed placement accepted per peer (for replays).
    last_order: Vec<Option<Placement>>,
    /// The last signed approval accepted per peer.
    last_approval: Vec<Option<(EscrowId, Signed)>>,
    step: usize,
}

#[derive(Clone, Copy, Debug)]
struct Placement {
    t: Side,
    who: PeerId,
    price: u64,
    units: u64,
    spec: ComputeTaskSpec,
    sla: Option<SlaSpec>,
    expires_at: Option<u64>,
    sig: Option<Signed>,
}

const ENDOWMENT: u64 = 2_000_000;
/// Peers 0..3 request, 3..7 provide, 7 does both, then the arbitrators.
const REQUESTERS: [u32; 4] = [0, 1, 2, 7];
const PROVIDERS: [u32; 5] = [3, 4, 5, 6, 7];

fn world(k: u64) -> World {
    let (cfg, arbitrators) = config(k);
    let mut m = Market::new(cfg.clone()).unwrap();
    let mut r = Ref::new(cfg);
    let mut tts = Vec::new();
    for name in ["a", "b"] {
        tts.push(m.register_task_type(name).unwrap());
        assert_eq!(r.register_task_type(), *tts.last().unwrap());
    }
    let caps = [m.capability("x").unwrap(), m.capability("y").unwrap(), m.capability("z").unwrap()];
    let mut specs = Vec::new();
    for _ in 0..3 {
        specs.push(PeerSpec { endowment: ENDOWMENT, ..Default::default() });
    }
    for (i, rep) in [20.0, 60.0, 150.0, 300.0].into_iter().enumerate() {
        specs.push(PeerSpec {
            account: Some(AccountId(100 + i as u64)),
            usage_cap_units: if i % 2 == 0 { Some(600) } else { None },
            initial_reputation: Some(rep),
            ..Default::default()
        });
    }
    // A peer that both requests and provides.
    specs.push(PeerSpec { endowment: ENDOWMENT, account: Some(AccountId(200)), ..Default::default() });
    for _ in 0..arbitrators {
        specs.push(PeerSpec { arbitrator: true, ..Default::default() });
    }
    for s in specs {
        let a = m.register_peer(s.clone(), 0).unwrap();
        let b = r.register_peer(s, 0).unwrap();
        assert_eq!(a, b);
    }
    m.drain_events().for_each(drop);
    let n = m.peer_count();
    World { m, r, tts, caps, last_order: vec![None; n], last_approval: vec![None; n], step: 0 }
}

impl World {
    fn peers(&self) -> usize {
        self.m.peer_count()
    }

    /// Mostly one of `role`, sometimes any peer (or an unknown one).
    fn role(&self, x: u8, role: &[u32]) -> PeerId {
        if x < 220 { PeerId(role[x as usize % role.len()]) } else { self.peer(x) }
    }

    /// A peer index: mostly a known peer, sometimes one past the end.
    fn peer(&self, x: u8) -> PeerId {
        let n = self.peers();
        if x >= 250 { PeerId((n + (x as usize % 3)) as u32) } else { PeerId((x as usize % n) as u32) }
    }

    /// An index among `n` items, favouring the most recent.
    fn recent(x: u16, n: usize) -> Option<usize> {
        if n == 0 {
            return None;
        }
        Some(if x & 0x8000 != 0 { x as usize % n } else { n - 1 - (x as usize % n.min(6)) })
    }

    fn key(&self, who: PeerId) -> ed25519_dalek::SigningKey {
        signing::derive_signing_key(self.m.config().market_seed, who)
    }

    /// A signature for a placement in mode `mode` (valid, forged, tampered, stale, gap, none).
    fn order_sig(&self, p: &Placement, mode: u8) -> Option<Signed> {
        if !self.m.config().verify_signatures {
            return None;
        }
        let next = self.m.next_signature_seq(p.who);
        let (seq, signer, price) = match mode % 16 {
            0..=10 => (next, p.who, p.price),
            11 => (next, PeerId(p.who.0 ^ 1), p.price),
            12 => (next, p.who, p.price + 1),
            13 => (next.saturating_sub(1), p.who, p.price),
            14 => (next + 3, p.who, p.price),
            _ => return None,
        };
        let msg = signing::order_message(
            &NewOrder { sla: p.sla, expires_at: p.expires_at, ..NewOrder::new(p.t, p.who, price, p.units, p.spec) },
            seq,
        );
        Some(signing::sign_seq(&self.key(signer), seq, &msg))
    }

    fn approval_sig(&self, e: EscrowId, who: PeerId, mode: u8) -> Option<Signed> {
        if !self.m.config().verify_signatures {
            return None;
        }
        let next = self.m.next_signature_seq(who);
        let (seq, signer, escrow) = match mode % 16 {
            0..=11 => (next, who, e),
            12 => (next, PeerId(who.0 ^ 1), e),
            13 => (next, who, EscrowId(e.0 + 1)),
            14 => (next.saturating_sub(1), who, e),
            _ => return None,
        };
        Some(signing::sign_seq(&self.key(signer), seq, &signing::approval_message(escrow, who, seq)))
    }

    fn sla(&self, x: u8) -> Option<SlaSpec> {
        match x % 8 {
            0..=4 => None,
            5 => Some(SlaSpec {
                max_response_time_ms: MINUTE,
                max_duration_ms: 10 * MINUTE,
                uptime_requirement: 0.9,
                quality_minimums: QualityValues::new(&[(0, 0.8)]).unwrap(),
                violation_penalty: 300,
            }),
            6 => Some(SlaSpec {
                max_response_time_ms: 10 * MINUTE,
                max_duration_ms: 0,
                uptime_requirement: 0.5,
                quality_minimums: QualityValues::new(&[(0, 0.5), (1, 0.7)]).unwrap(),
                violation_penalty: 40,
            }),
            _ => Some(SlaSpec {
                max_response_time_ms: 0,
                max_duration_ms: 3 * HOUR,
                uptime_requirement: 1.0,
                quality_minimums: QualityValues::EMPTY,
                violation_penalty: 1_000_000,
            }),
        }
    }

    fn caps_of(&self, bits: u8) -> CapabilitySet {
        let mut s = CapabilitySet::EMPTY;
        for i in 0..3 {
            if bits & (1 << i) != 0 {
                s = s.with(self.caps[i]).unwrap();
            }
        }
        if bits & 8 != 0 {
            s = s.with(0).unwrap();
        }
        s
    }

    fn expiry(&self, x: u8) -> Option<u64> {
        let now = self.m.now();
        match x % 6 {
            0 => Some(now.saturating_add(HOUR)),
            1 => Some(now.saturating_add(10 * MINUTE)),
            _ => None,
        }
    }

    /// Places on both; remembers accepted signed placements.
    fn place(&mut self, p: Placement) -> (String, String) {
        let now = self.m.now();
        let a = self.m.place_order(
            NewOrder {
                sla: p.sla,
                expires_at: p.expires_at,
                signature: p.sig,
                ..NewOrder::new(p.t, p.who, p.price, p.units, p.spec)
            },
            now,
        );
        let b = self.r.place_order(
            NewOrder {
                sla: p.sla,
                expires_at: p.expires_at,
                signature: p.sig,
                ..NewOrder::new(p.t, p.who, p.price, p.units, p.spec)
            },
            now,
        );
        if a.is_ok() && p.sig.is_some() && p.who.index() < self.last_order.len() {
            self.last_order[p.who.index()] = Some(p);
        }
        (format!("{a:?}"), format!("{b:?}"))
    }

    fn apply(&mut self, op: &Op) -> (String, String) {
        let now = self.m.now();
        let n_asg = self.m.assignments().len();
        let n_ord = self.m.orders().len();
        macro_rules! both {
            ($call:ident ( $($arg:expr),* )) => {{
                let a = self.m.$call($($arg),*);
                let b = self.r.$call($($arg),*);
                (format!("{a:?}"), format!("{b:?}"))
            }};
        }
        match *op {
            Op::Advance(ms) => both!(advance_to_either(now.saturating_add(ms))),
            Op::Request { who, bid, units, needs, min_rep, privacy, sla, expiry, sig } => {
                let who = self.role(who, &REQUESTERS);
                if sig % 16 == 15
                    && let Some(Some(last)) = self.last_order.get(who.index()).copied()
                {
                    return self.place(last); // a replay of the last accepted signed order
                }
                let needs_bits = if needs & 0x80 != 0 { needs & 7 } else { needs & 1 };
                let mut spec = ComputeTaskSpec::new(self.tts[(needs >> 4) as usize % 2], self.caps_of(needs_bits));
                spec.min_reputation = [0.0, 0.0, 0.0, 50.0, 100.0, 280.0][min_rep as usize % 6];
                spec.privacy_level = [
                    PrivacyLevel::Public,
                    PrivacyLevel::Public,
                    PrivacyLevel::Public,
                    PrivacyLevel::Private,
                    PrivacyLevel::Confidential,
                ][privacy as usize % 5];
                spec.max_duration_ms = [0, 0, 30 * MINUTE][(privacy >> 4) as usize % 3];
                let mut p = Placement {
                    t: Side::Buy,
                    who,
                    price: bid,
                    units,
                    spec,
                    sla: self.sla(sla),
                    expires_at: self.expiry(expiry),
                    sig: None,
                };
                p.sig = self.order_sig(&p, sig);
                self.place(p)
            }
            Op::Offer { who, ask, units, caps, expiry, sig } => {
                let who = self.role(who, &PROVIDERS);
                if sig % 16 == 15
                    && let Some(Some(last)) = self.last_order.get(who.index()).copied()
                {
                    return self.place(last);
                }
                let bits = if caps & 0x20 != 0 { caps & 7 } else { 7 } | if caps % 3 == 0 { 8 } else { 0 };
                let spec = ComputeTaskSpec::new(self.tts[(caps >> 6) as usize % 2], self.caps_of(bits));
                let mut p = Placement {
                    t: Side::Sell,
                    who,
                    price: ask,
                    units,
                    spec,
                    sla: None,
                    expires_at: self.expiry(expiry),
                    sig: None,
                };
                p.sig = self.order_sig(&p, sig);
                self.place(p)
            }
            Op::Cancel { order, by } => {
                let Some(i) = Self::recent(order, n_ord) else { return both!(advance_to_either(now)) };
                let id = OrderId(i as u64);
                let by = if by < 200 { self.m.order(id).unwrap().trader } else { self.peer(by) };
                both!(cancel_order(id, by, now))
            }
            Op::Start { asg, by } => {
                let Some(i) = Self::recent(asg, n_asg) else { return both!(advance_to_either(now)) };
                let a = AssignmentId(i as u64);
                let by = if by < 220 { self.m.assignment(a).unwrap().provider } else { self.peer(by) };
                both!(start_task(a, by, now))
            }
            Op::Complete { asg, by, q, up, receipt } => {
                let Some(i) = Self::recent(asg, n_asg) else { return both!(advance_to_either(now)) };
                let a = AssignmentId(i as u64);
                let by = if by < 220 { self.m.assignment(a).unwrap().provider } else { self.peer(by) };
                let own = self.m.peer_state(by).and_then(|p| p.account).unwrap_or(AccountId(0));
                let quality = match q % 3 {
                    0 => QualityValues::EMPTY,
                    1 => QualityValues::new(&[(0, q as f64 / 10.0)]).unwrap(),
                    _ => QualityValues::new(&[(1, up as f64 / 10.0), (0, q as f64 / 10.0)]).unwrap(),
                };
                let receipt_account = match receipt % 20 {
                    0 => AccountId(999),
                    1 | 2 => AccountId(100 + (receipt as u64 % 4)),
                    _ => own,
                };
                let c = Completion { quality, uptime: up as f64 / 10.0, receipt_account };
                both!(complete_task(a, by, c, now))
            }
            Op::Approve { esc, by, sig } => {
                let Some(i) = Self::recent(esc, n_asg) else { return both!(advance_to_either(now)) };
                let e = EscrowId(i as u64);
                let esc = self.m.escrow(e).unwrap();
                let by = match by % 8 {
                    0..=2 => esc.requester,
                    3 => esc.provider,
                    4 | 5 if !esc.arbitrators.is_empty() => esc.arbitrators[by as usize % esc.arbitrators.len()],
                    _ => self.peer(by),
                };
                let signature = match self.last_approval.get(by.index()).copied().flatten() {
                    Some((le, s)) if sig % 16 == 15 => {
                        let (a, b) = (
                            self.m.approve_release(le, by, Some(s), now),
                            self.r.approve_release(le, by, Some(s), now),
                        );
                        return (format!("{a:?}"), format!("{b:?}"));
                    }
                    _ => self.approval_sig(e, by, sig),
                };
                let a = self.m.approve_release(e, by, signature, now);
                let b = self.r.approve_release(e, by, signature, now);
                if a.is_ok()
                    && let Some(s) = signature
                {
                    self.last_approval[by.index()] = Some((e, s));
                }
                (format!("{a:?}"), format!("{b:?}"))
            }
            Op::Dispute { esc, by } => {
                let Some(i) = Self::recent(esc, n_asg) else { return both!(advance_to_either(now)) };
                let e = EscrowId(i as u64);
                let esc = self.m.escrow(e).unwrap();
                let by = match by % 5 {
                    0 | 1 => esc.requester,
                    2 | 3 => esc.provider,
                    _ => self.peer(by),
                };
                both!(dispute(e, by, now))
            }
            Op::Vote { esc, by, vote } => {
                let Some(i) = Self::recent(esc, n_asg) else { return both!(advance_to_either(now)) };
                let e = EscrowId(i as u64);
                let esc = self.m.escrow(e).unwrap();
                let by = match &esc.dispute {
                    Some(d) if by < 200 && !d.panel.is_empty() => d.panel[by as usize % d.panel.len()],
                    _ => self.peer(by),
                };
                let v = match vote % 8 {
                    0..=2 => Vote::ReleaseToProvider,
                    3..=5 => Vote::RefundToRequester,
                    6 => Vote::Split { provider_bps: [0, 2500, 5000, 10_000][(vote >> 3) as usize % 4] },
                    _ => Vote::Split { provider_bps: 10_001 + (vote as u32) * 7 },
                };
                both!(vote(e, by, v, now))
            }
            Op::Feedback { asg, by, rating } => {
                let Some(i) = Self::recent(asg, n_asg) else { return both!(advance_to_either(now)) };
                let a = AssignmentId(i as u64);
                let x = self.m.assignment(a).unwrap();
                let by = match by % 5 {
                    0 | 1 => x.requester,
                    2 | 3 => x.provider,
                    _ => self.peer(by),
                };
                both!(leave_feedback(a, by, rating, now))
            }
            Op::Pause { who, on } => {
                let who = self.peer(who);
                both!(set_paused(who, on, now))
            }
            Op::Money { who, amount, endow } => {
                let who = self.peer(who);
                if endow { both!(endow(who, amount, now)) } else { both!(withdraw(who, amount, now)) }
            }
            Op::Join { arbitrator, shared } => {
                let spec = PeerSpec {
                    endowment: if arbitrator { 0 } else { ENDOWMENT / 10 },
                    account: (!arbitrator).then_some(AccountId(if shared { 101 } else { 300 + self.peers() as u64 })),
                    arbitrator,
                    ..Default::default()
                };
                let a = self.m.register_peer(spec.clone(), now);
                let b = self.r.register_peer(spec, now);
                self.last_order.push(None);
                self.last_approval.push(None);
                (format!("{a:?}"), format!("{b:?}"))
            }
            Op::Hostile { kind, x } => self.hostile(kind, x),
        }
    }

    fn hostile(&mut self, kind: u8, x: u64) -> (String, String) {
        let now = self.m.now();
        let who = self.peer(x as u8);
        let spec = ComputeTaskSpec::new(self.tts[0], CapabilitySet::EMPTY);
        let sla = SlaSpec {
            max_response_time_ms: MINUTE,
            max_duration_ms: MINUTE,
            uptime_requirement: 0.5,
            quality_minimums: QualityValues::EMPTY,
            violation_penalty: 1,
        };
        let t = if x & 1 == 0 { Side::Buy } else { Side::Sell };
        let mut p = Placement { t, who, price: 10, units: 10, spec, sla: None, expires_at: None, sig: None };
        match kind {
            0 => p.units = 0,
            1 => p.price = 0,
            2 => (p.price, p.units) = (u64::MAX / 2 + (x >> 40), 3),
            3 => p.spec.task_type = TaskTypeId(7 + (x % 100) as u16),
            4 => p.spec.min_reputation = [f64::NAN, -1.0, f64::INFINITY, -0.0][(x >> 8) as usize % 4],
            5 => p.sla = Some(SlaSpec { uptime_requirement: [f64::NAN, -0.1, 1.5][(x >> 8) as usize % 3], ..sla }),
            6 => p.sla = Some(SlaSpec { max_response_time_ms: MAX_DURATION_MS + 1 + (x >> 2), ..sla }),
            7 => p.sla = Some(SlaSpec { max_duration_ms: u64::MAX - (x >> 8), ..sla }),
            8 => p.spec.max_duration_ms = MAX_DURATION_MS.saturating_add(1 + (x >> 4)),
            9 => p.expires_at = Some(now.saturating_sub(x % 3)),
            10 => p.who = PeerId(u32::MAX - (x % 5) as u32),
            11 => p.spec.capabilities = CapabilitySet(x as u128 | ((x as u128) << 64)),
            12 => {
                // A call with a time before the clock.
                let back = now.saturating_sub(1 + x % 1000);
                let a = self.m.cancel_order(OrderId(0), who, back);
                let b = self.r.cancel_order(OrderId(0), who, back);
                return (format!("{a:?}"), format!("{b:?}"));
            }
            13 => {
                let spec = PeerSpec {
                    initial_reputation: Some([f64::NAN, f64::INFINITY][x as usize % 2]),
                    ..Default::default()
                };
                let a = self.m.register_peer(spec.clone(), now);
                let b = self.r.register_peer(spec, now);
                return (format!("{a:?}"), format!("{b:?}"));
            }
            14 => {
                let a = self.m.endow(who, u64::MAX - (x % 1000), now);
                let b = self.r.endow(who, u64::MAX - (x % 1000), now);
                return (format!("{a:?}"), format!("{b:?}"));
            }
            15 => {
                // A jump far ahead, sometimes to the very end of time.
                let to = if x & 1 == 0 { now.saturating_add(x >> 2) } else { u64::MAX - (x % 2000) };
                let to = to.max(now);
                let a = self.m.advance_to(to);
                let b = self.r.advance(to);
                return (format!("{a:?}"), format!("{b:?}"));
            }
            16 => {
                let e = EscrowId(x % (self.m.escrows().len() as u64 + 2));
                let a = self.m.approve_release(e, who, None, now);
                let b = self.r.approve_release(e, who, None, now);
                return (format!("{a:?}"), format!("{b:?}"));
            }
            17 => {
                let a = AssignmentId(x % (self.m.assignments().len() as u64 + 2));
                let c = Completion { uptime: [f64::NAN, -1.0, 2.0][x as usize % 3], ..Completion::on(AccountId(x)) };
                let r1 = self.m.complete_task(a, who, c, now);
                let r2 = self.r.complete_task(a, who, c, now);
                return (format!("{r1:?}"), format!("{r2:?}"));
            }
            18 => {
                let e = EscrowId(x % (self.m.escrows().len() as u64 + 2));
                let v = Vote::Split { provider_bps: u32::MAX - (x % 7) as u32 };
                let a = self.m.vote(e, who, v, now);
                let b = self.r.vote(e, who, v, now);
                return (format!("{a:?}"), format!("{b:?}"));
            }
            _ => {
                let a = AssignmentId(x % (self.m.assignments().len() as u64 + 2));
                let rating = [0, 6, 255][x as usize % 3];
                let r1 = self.m.leave_feedback(a, who, rating, now);
                let r2 = self.r.leave_feedback(a, who, rating, now);
                return (format!("{r1:?}"), format!("{r2:?}"));
            }
        }
        p.sig = self.order_sig(&p, (x >> 16) as u8 % 11);
        self.place(p)
    }
}

/// `advance_to` under one name on both sides (the reference calls it `advance`).
trait AdvanceEither {
    fn advance_to_either(&mut self, now: u64) -> Result<(), MarketError>;
}
impl AdvanceEither for Market {
    fn advance_to_either(&mut self, now: u64) -> Result<(), MarketError> {
        self.advance_to(now)
    }
}
impl AdvanceEither for Ref {
    fn advance_to_either(&mut self, now: u64) -> Result<(), MarketError> {
        self.advance(now)
    }
}

/// Runs one sequence; `Err` names the first step where the two disagree.
/// The engine's lane thresholds (`set_lane_thresholds`) a world runs with, drawn from its number:
/// the default (128, 32), which these sequences rarely reach, or thresholds so low that
/// providers move in and out of lanes all the time. Results must not depend on them.
fn lanes(k: u64) -> Option<(u64, u64)> {
    [None, Some((2, 0)), Some((4, 1)), Some((8, 3))][(mix(k ^ 0x1a4e) % 4) as usize]
}

/// The engine's heads-index thresholds (`set_heads_thresholds`, book.rs "Heads") a world runs
/// with, drawn from its number independently of the lanes: the default (on from 8 live classes,
/// which these worlds of at most 16 classes reach only now and then), always on, on and off all
/// the time, or never. Results must not depend on them.
fn heads(k: u64) -> Option<(usize, usize)> {
    [None, Some((0, 0)), Some((2, 1)), Some((usize::MAX, usize::MAX))][(mix(k ^ 0x4ead) % 4) as usize]
}

fn run(k: u64, ops: &[Op]) -> Result<(), String> {
    let mut w = world(k);
    if let Some((from, until)) = lanes(k) {
        w.m.set_lane_thresholds(from, until);
    }
    if let Some((from, until)) = heads(k) {
        w.m.set_heads_thresholds(from, until);
    }
    let end = [Op::Advance(30 * DAY), Op::Advance(30 * DAY)];
    for op in ops.iter().chain(&end) {
        w.step += 1;
        let (a, b) = w.apply(op);
        let (step, t) = (w.step, w.m.now());
        let here = || format!("step {step} ({op:?}) at t={t}");
        if a != b {
            return Err(format!("{}: engine answered {a}, reference {b}", here()));
        }
        let ev_m: Vec<MarketEvent> = w.m.drain_events().collect();
        let ev_r: Vec<MarketEvent> = std::mem::take(&mut w.r.events);
        if ev_m != ev_r {
            return Err(format!("{}: events differ\n engine:    {ev_m:?}\n reference: {ev_r:?}", here()));
        }
        let (sm, sr) = (snap_market(&w.m), w.r.snap());
        if sm != sr {
            return Err(format!("{}: state differs\n{}", here(), diff(&format!("{sm:#?}"), &format!("{sr:#?}"))));
        }
        w.m.check_invariants().map_err(|e| format!("{}: invariant broken: {e}", here()))?;
    }
    Ok(())
}

/// The lines where two debug dumps differ (with a little context).
fn diff(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut out = String::new();
    for i in 0..la.len().max(lb.len()) {
        let (x, y) = (la.get(i).copied().unwrap_or(""), lb.get(i).copied().unwrap_or(""));
        if x != y {
            out += &format!("line {i}:\n  engine:    {x}\n  reference: {y}\n");
            if out.len() > 4000 {
                break;
            }
        }
    }
    out
}

fn cases() -> u32 {
    std::env::var("SYNMARKET_DIFF_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CASES)
}

proptest! {
    #![proptest_config(Config {
        cases: cases(),
        // Relative to the crate root (cargo runs tests there): engine/proptest-regressions/.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/differential.txt"))),
        max_shrink_iters: 4096,
        ..Config::default()
    })]

    #[test]
    fn engine_agrees_with_the_reference_model(k in any::<u64>(), ops in proptest::collection::vec(op(), OPS)) {
        if let Err(e) = run(k, &ops) {
            prop_assert!(false, "world {k}: {e}");
        }
    }
}

proptest! {
    #![proptest_config(Config {
        cases: (cases() / 8).max(1),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/differential_deep.txt"))),
        max_shrink_iters: 4096,
        ..Config::default()
    })]

    /// Deep books: a first half of mostly offers, so providers rest many offers and move into
    /// lanes (with the low thresholds of [`lanes`], and some past the default 128), then a half
    /// of mostly requests and cancels that drains them back out, while completions, feedback and
    /// decay change their reputations.
    #[test]
    fn engine_agrees_with_the_reference_model_on_deep_books(
        k in any::<u64>(),
        fill in proptest::collection::vec(op_with(160, 14, 12), DEEP_OPS / 2),
        drain in proptest::collection::vec(op_with(2, 80, 60), DEEP_OPS / 2),
    ) {
        let ops: Vec<Op> = fill.into_iter().chain(drain).collect();
        if let Err(e) = run(k, &ops) {
            prop_assert!(false, "world {k}: {e}");
        }
    }
}

/// `feedback_window`: feedback is accepted up to the window's end after settlement (inclusive)
/// and refused one millisecond later, by the engine and the reference model alike; with the
/// window 0 it is accepted at any time.
#[test]
fn feedback_closes_at_the_end_of_its_window() {
    for (window, late_ok) in [(HOUR, false), (0, true)] {
        let cfg = MarketConfig { feedback_window_ms: window, ..MarketConfig::default() };
        let mut m = Market::new(cfg.clone()).unwrap();
        let mut r = Ref::new(cfg);
        let tt = m.register_task_type("t").unwrap();
        assert_eq!(r.register_task_type(), tt);
        let requester = PeerSpec { endowment: 10_000, ..Default::default() };
        let provider = PeerSpec { account: Some(AccountId(7)), ..Default::default() };
        let (q, p) = (m.register_peer(requester.clone(), 0).unwrap(), m.register_peer(provider.clone(), 0).unwrap());
        assert_eq!((r.register_peer(requester, 0).unwrap(), r.register_peer(provider, 0).unwrap()), (q, p));
        let spec = ComputeTaskSpec::new(tt, CapabilitySet::EMPTY);
        for order in [NewOrder::sell(p, 40, 10, spec), NewOrder::buy(q, 50, 10, spec)] {
            m.place_order(order, 0).unwrap();
            r.place_order(order, 0).unwrap();
        }
        let a = AssignmentId(0);
        let done = Completion::on(AccountId(7));
        m.start_task(a, p, SECOND).unwrap();
        r.start_task(a, p, SECOND).unwrap();
        m.complete_task(a, p, done, MINUTE).unwrap();
        r.complete_task(a, p, done, MINUTE).unwrap();
        m.approve_release(EscrowId(0), q, None, 2 * MINUTE).unwrap();
        r.approve_release(EscrowId(0), q, None, 2 * MINUTE).unwrap();
        let end = 2 * MINUTE + window;
        assert_eq!(m.leave_feedback(a, q, 5, end), Ok(()), "window {window}: the last instant counts");
        assert_eq!(r.leave_feedback(a, q, 5, end), Ok(()));
        let late = (m.leave_feedback(a, p, 5, end + 1), r.leave_feedback(a, p, 5, end + 1));
        assert_eq!(late.0, late.1, "engine and reference agree");
        assert_eq!(late.0.is_ok(), late_ok, "window {window}: {:?}", late.0);
        m.check_invariants().unwrap();
    }
}
