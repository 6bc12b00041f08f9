//! No public call panics on any input: arbitrary values (any integer, NaN, ±∞, unknown ids, times
//! before the clock and at the end of time, random signature bytes, arbitrary configurations)
//! are fed to every public call of the market and to the free functions of the API. Each answer
//! must be `Ok` or a typed error (a panic fails the property); after every call the invariant
//! checker passes; a refused call changes no state.

use ed25519_dalek::SigningKey;
use proptest::prelude::*;
use synmarket_engine::*;

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => 0.0f64..=1.0,
        2 => -10.0f64..2000.0,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-0.0),
        1 => Just(f64::MAX),
        1 => Just(f64::MIN_POSITIVE),
        2 => any::<f64>(),
    ]
}

fn any_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        4 => 0u64..1000,
        2 => 0u64..(30 * DAY),
        1 => Just(u64::MAX),
        1 => (u64::MAX - 1000)..=u64::MAX,
        1 => Just(MAX_DURATION_MS),
        1 => Just(MAX_DURATION_MS + 1),
        2 => any::<u64>(),
    ]
}

fn any_multisig() -> impl Strategy<Value = MultiSigType> {
    prop_oneof![
        Just(MultiSigType::Single),
        Just(MultiSigType::BothParties),
        (any::<u8>(), any::<u8>()).prop_map(|(required, total)| MultiSigType::Arbitrators { required, total }),
        any_u64().prop_map(|release_after_ms| MultiSigType::TimeLocked { release_after_ms }),
    ]
}

/// A configuration: the default with arbitrary values in some fields (most validate), or
/// arbitrary values everywhere (most do not).
fn any_config() -> impl Strategy<Value = MarketConfig> {
    let durations = proptest::collection::vec(any_u64(), 12);
    let floats = proptest::collection::vec(any_f64(), 18);
    (durations, floats, any_multisig(), any::<[u8; 4]>(), any::<u64>(), any::<u8>(), any::<bool>()).prop_map(
        |(d, f, escrow, b, seed, mask, verify)| {
            let mut c = MarketConfig { market_seed: seed, verify_signatures: verify, ..Default::default() };
            let wild = mask & 1 == 1;
            let pick = |i: usize, default: u64| if wild || (mask >> (i % 7)) & 1 == 1 { d[i] } else { default };
            c.auction_window_ms = pick(0, c.auction_window_ms);
            c.review_window_ms = pick(1, c.review_window_ms);
            c.escrow_timeout_ms = pick(2, c.escrow_timeout_ms);
            c.dispute_timeout_ms = pick(3, c.dispute_timeout_ms);
            c.default_max_response_ms = pick(4, c.default_max_response_ms);
            c.default_max_duration_ms = pick(5, c.default_max_duration_ms);
            c.deadline_grace_ms = pick(6, c.deadline_grace_ms);
            c.usage_cap_window_ms = pick(7, c.usage_cap_window_ms);
            c.price_window_ms = pick(8, c.price_window_ms);
            c.slot_divisor = pick(9, c.slot_divisor);
            c.slot_cap = pick(10, c.slot_cap);
            c.fee_bps = pick(11, c.fee_bps);
            c.escrow = escrow;
            c.dispute_panel_total = b[0] % 6;
            c.dispute_panel_required = b[1] % 6;
            c.dispute_default =
                [DisputeDefault::ReleaseToProvider, DisputeDefault::RefundToRequester, DisputeDefault::SplitEvenly]
                    [b[2] as usize % 3];
            c.pricing = [PriceRule::Ask, PriceRule::Resting, PriceRule::Midpoint, PriceRule::Bid][b[3] as usize % 4];
            if wild || mask & 2 != 0 {
                c.reputation_weight = f[0];
                c.audit_rate = f[1];
                c.private_min_reputation = f[2];
                c.confidential_min_reputation = f[3];
            }
            if wild || mask & 4 != 0 {
                let r = &mut c.reputation;
                r.initial = f[4];
                r.min = f[5];
                r.max = f[6];
                r.trade_completed = f[7];
                r.trade_failed = f[8];
                r.sla_violation = f[9];
                r.trade_disputed = f[10];
                r.dispute_won = f[11];
                r.dispute_lost = f[12];
                r.fast_response = f[13];
                r.slow_response = f[14];
                r.positive_feedback = f[15];
                r.negative_feedback = f[16];
            }
            if wild || mask & 8 != 0 {
                c.reputation.decay_half_life_ms = d[(mask as usize) % 12];
                c.reputation.decay_step_ms = d[(mask as usize + 5) % 12];
                c.reputation.fast_response_ms = d[(mask as usize + 3) % 12];
                c.reputation.slow_response_ms = d[(mask as usize + 7) % 12];
            }
            c
        },
    )
}

fn any_quality() -> impl Strategy<Value = Vec<(u8, f64)>> {
    proptest::collection::vec((0u8..6, any_f64()), 0..6)
}

/// An SLA as drawn: response, duration, uptime, quality minimums, penalty.
type RawSla = (u64, u64, f64, Vec<(u8, f64)>, u64);

#[derive(Clone, Debug)]
enum Call {
    TaskType(String),
    Capability(String),
    Register {
        endowment: u64,
        account: Option<u64>,
        cap: Option<u64>,
        rep: Option<f64>,
        arbitrator: bool,
        key: Option<u64>,
    },
    Endow {
        peer: u32,
        amount: u64,
        withdraw: bool,
    },
    Pause {
        peer: u32,
        on: bool,
    },
    Advance,
    Place {
        request: bool,
        peer: u32,
        price: u64,
        units: u64,
        task_type: u16,
        caps: u128,
        compute_units: u64,
        max_duration: u64,
        min_rep: f64,
        privacy: u8,
        payload: u32,
        sla: Option<RawSla>,
        expires: Option<u64>,
        sig: Option<(u64, u8)>,
    },
    Cancel {
        order: u64,
        peer: u32,
    },
    Start {
        asg: u64,
        peer: u32,
    },
    Complete {
        asg: u64,
        peer: u32,
        quality: Vec<(u8, f64)>,
        uptime: f64,
        account: u64,
    },
    Approve {
        esc: u64,
        peer: u32,
        sig: Option<(u64, u8)>,
    },
    Dispute {
        esc: u64,
        peer: u32,
    },
    Vote {
        esc: u64,
        peer: u32,
        vote: u8,
        bps: u32,
    },
    Feedback {
        asg: u64,
        peer: u32,
        rating: u8,
    },
    Queries {
        a: u64,
        b: u64,
        peer: u32,
        tt: u16,
    },
    Free {
        x: f64,
        i: u8,
        bytes: [u8; 32],
    },
}

fn any_sig() -> impl Strategy<Value = Option<(u64, u8)>> {
    proptest::option::of((any_u64(), any::<u8>()))
}

fn call() -> impl Strategy<Value = Call> {
    let peer = prop_oneof![8 => 0u32..12, 1 => any::<u32>()];
    let id = prop_oneof![6 => 0u64..12, 1 => any::<u64>()];
    prop_oneof![
        1 => "[a-z]{0,3}|.{0,40}".prop_map(Call::TaskType),
        1 => "[a-z]{0,2}|.{0,40}".prop_map(Call::Capability),
        2 => (any_u64(), proptest::option::of(0u64..4), proptest::option::of(any_u64()), proptest::option::of(any_f64()), any::<bool>(), proptest::option::of(any::<u64>()))
            .prop_map(|(endowment, account, cap, rep, arbitrator, key)| Call::Register { endowment, account, cap, rep, arbitrator, key }),
        4 => (0u64..40, any::<bool>(), 0u8..4).prop_map(|(i, arbitrator, role)| Call::Register {
            endowment: if role == 0 { 0 } else { 10_000_000 },
            account: (role != 1).then_some(100 + i),
            cap: (i % 3 == 0).then_some(500),
            rep: Some([50.0, 120.0, 300.0, 20.0][role as usize]),
            arbitrator,
            key: None,
        }),
        1 => (peer.clone(), any_u64(), any::<bool>()).prop_map(|(peer, amount, withdraw)| Call::Endow { peer, amount, withdraw }),
        1 => (peer.clone(), any::<bool>()).prop_map(|(peer, on)| Call::Pause { peer, on }),
        2 => Just(Call::Advance),
        12 => (any::<bool>(), peer.clone(), 1u64..100, 1u64..300, 0u16..2, 0u128..4, 0u8..12, any_sig())
            .prop_map(|(request, peer, price, units, task_type, caps, x, sig)| Call::Place {
                request,
                // Mostly a peer of the right role among the sane ones (0..3 request, 3..6 offer).
                peer: if peer < 12 && x < 10 { (peer % 3) + if request { 0 } else { 3 } } else { peer },
                price, units, task_type, caps,
                compute_units: 1,
                max_duration: [0, 10 * MINUTE][x as usize % 2],
                min_rep: [0.0, 0.0, 50.0, 200.0][x as usize % 4],
                privacy: if x > 9 { x } else { 0 },
                payload: 0,
                sla: (x % 3 == 0).then(|| (MINUTE, 10 * MINUTE, 0.9, vec![(0, 0.8)], 100)),
                expires: None,
                sig: sig.map(|(seq, mode)| (seq, if mode % 4 == 0 { mode } else { 1 })),
            }),
        4 => (
            (any::<bool>(), peer.clone(), any_u64(), any_u64(), prop_oneof![4 => 0u16..3, 1 => any::<u16>()], prop_oneof![3 => 0u128..16, 1 => any::<u128>()]),
            (any_u64(), any_u64(), any_f64(), any::<u8>(), any::<u32>()),
            proptest::option::of((any_u64(), any_u64(), any_f64(), any_quality(), any_u64())),
            proptest::option::of(any_u64()),
            any_sig(),
        )
            .prop_map(|((request, peer, price, units, task_type, caps), (compute_units, max_duration, min_rep, privacy, payload), sla, expires, sig)| Call::Place {
                request, peer, price, units, task_type, caps, compute_units, max_duration, min_rep, privacy, payload, sla, expires, sig,
            }),
        1 => (id.clone(), peer.clone()).prop_map(|(order, peer)| Call::Cancel { order, peer }),
        4 => (id.clone(), peer.clone()).prop_map(|(asg, peer)| Call::Start { asg, peer }),
        3 => (id.clone(), peer.clone(), any_quality(), prop_oneof![4 => Just(1.0), 1 => any_f64()], 0u64..8).prop_map(|(asg, peer, quality, uptime, account)| Call::Complete { asg, peer, quality, uptime, account }),
        2 => (id.clone(), peer.clone(), any_sig()).prop_map(|(esc, peer, sig)| Call::Approve { esc, peer, sig }),
        2 => (id.clone(), peer.clone()).prop_map(|(esc, peer)| Call::Dispute { esc, peer }),
        2 => (id.clone(), peer.clone(), any::<u8>(), prop_oneof![0u32..=10_000, any::<u32>()]).prop_map(|(esc, peer, vote, bps)| Call::Vote { esc, peer, vote, bps }),
        1 => (id.clone(), peer.clone(), any::<u8>()).prop_map(|(asg, peer, rating)| Call::Feedback { asg, peer, rating }),
        2 => (id.clone(), id, peer, any::<u16>()).prop_map(|(a, b, peer, tt)| Call::Queries { a, b, peer, tt }),
        1 => (any_f64(), any::<u8>(), any::<[u8; 32]>()).prop_map(|(x, i, bytes)| Call::Free { x, i, bytes }),
    ]
}

/// When a call happens: mostly a little after the clock, sometimes anywhere (including before
/// the clock and at the end of time).
fn any_time() -> impl Strategy<Value = (u8, u64)> {
    (any::<u8>(), any_u64())
}

fn time(m: &Market, (mode, x): (u8, u64)) -> u64 {
    match mode {
        0 | 1 => x,
        2..=6 => m.now().saturating_sub(1 + x % 10),
        7..=40 => m.now().saturating_add(x % (2 * HOUR)),
        _ => m.now().saturating_add(x % (3 * MINUTE)),
    }
}

/// The sequence number to sign with: the next one accepted for most valid signatures, else the
/// drawn (arbitrary) one.
fn pick_seq(m: &Market, sig: Option<(u64, u8)>, who: PeerId) -> u64 {
    match sig {
        Some((s, mode)) if mode % 3 == 1 && s < 1000 => m.next_signature_seq(who),
        Some((s, _)) => s,
        None => 0,
    }
}

fn signature(m: &Market, sig: Option<(u64, u8)>, msg: &[u8], who: PeerId) -> Option<Signed> {
    let (_, mode) = sig?;
    let seq = pick_seq(m, sig, who);
    Some(match mode % 3 {
        0 => Signed { seq, bytes: [mode; 64] },
        1 => signing::sign_seq(&signing::derive_signing_key(m.config().market_seed, who), seq, msg),
        _ => signing::sign_seq(&signing::derive_signing_key(m.config().market_seed ^ 1, who), seq, msg),
    })
}

fn apply(m: &mut Market, c: &Call, now: u64) -> Result<(), MarketError> {
    match c.clone() {
        Call::TaskType(name) => m.register_task_type(&name).map(drop),
        Call::Capability(name) => {
            m.capabilities([name.as_str(), "x"]).map(drop)?;
            m.capability(&name).map(drop)
        }
        Call::Register { endowment, account, cap, rep, arbitrator, key } => {
            let verifying_key = key.map(|k| {
                let mut seed = [0u8; 32];
                seed[..8].copy_from_slice(&k.to_le_bytes());
                SigningKey::from_bytes(&seed).verifying_key()
            });
            let spec = PeerSpec {
                endowment,
                account: account.map(AccountId),
                usage_cap_units: cap,
                initial_reputation: rep,
                arbitrator,
                verifying_key,
            };
            m.register_peer(spec, now).map(drop)
        }
        Call::Endow { peer, amount, withdraw } => {
            if withdraw {
                m.withdraw(PeerId(peer), amount, now)
            } else {
                m.endow(PeerId(peer), amount, now)
            }
        }
        Call::Pause { peer, on } => m.set_paused(PeerId(peer), on, now),
        Call::Advance => m.advance_to(now),
        Call::Place {
            request,
            peer,
            price,
            units,
            task_type,
            caps,
            compute_units,
            max_duration,
            min_rep,
            privacy,
            payload,
            sla,
            expires,
            sig,
        } => {
            let t = if request { Side::Buy } else { Side::Sell };
            let spec = ComputeTaskSpec {
                task_type: TaskTypeId(task_type),
                compute_units,
                max_duration_ms: max_duration,
                capabilities: CapabilitySet(caps),
                min_reputation: min_rep,
                privacy_level: [PrivacyLevel::Public, PrivacyLevel::Private, PrivacyLevel::Confidential]
                    [privacy as usize % 3],
                payload_bytes: payload,
            };
            let sla = sla.map(|(response, duration, uptime, q, penalty)| SlaSpec {
                max_response_time_ms: response,
                max_duration_ms: duration,
                uptime_requirement: uptime,
                quality_minimums: QualityValues::new(&q).unwrap_or(QualityValues::EMPTY),
                violation_penalty: penalty,
            });
            let who = PeerId(peer);
            let seq = pick_seq(m, sig, who);
            let msg = signing::order_message(
                &NewOrder { sla, expires_at: expires, ..NewOrder::new(t, who, price, units, spec) },
                seq,
            );
            let signature = signature(m, sig, &msg, who);
            m.place_order(
                NewOrder { sla, expires_at: expires, signature, ..NewOrder::new(t, who, price, units, spec) },
                now,
            )
            .map(drop)
        }
        Call::Cancel { order, peer } => m.cancel_order(OrderId(order), PeerId(peer), now),
        Call::Start { asg, peer } => {
            // Mostly the right provider, so that tasks get going.
            let p = m
                .assignment(AssignmentId(asg))
                .map_or(PeerId(peer), |a| if peer % 5 == 0 { PeerId(peer) } else { a.provider });
            m.start_task(AssignmentId(asg), p, now)
        }
        Call::Complete { asg, peer, quality, uptime, account } => {
            let p = m
                .assignment(AssignmentId(asg))
                .map_or(PeerId(peer), |a| if peer % 5 == 0 { PeerId(peer) } else { a.provider });
            let own = m.peer_state(p).and_then(|s| s.account).unwrap_or(AccountId(account));
            let c = Completion {
                quality: QualityValues::new(&quality).unwrap_or(QualityValues::EMPTY),
                uptime,
                receipt_account: if account == 0 { AccountId(account) } else { own },
            };
            m.complete_task(AssignmentId(asg), p, c, now)
        }
        Call::Approve { esc, peer, sig } => {
            let e = EscrowId(esc);
            let who = m.escrow(e).map_or(PeerId(peer), |x| match peer % 4 {
                0 => x.requester,
                1 => x.provider,
                2 if !x.arbitrators.is_empty() => x.arbitrators[peer as usize % x.arbitrators.len()],
                _ => PeerId(peer),
            });
            let seq = pick_seq(m, sig, who);
            let msg = signing::approval_message(e, who, seq);
            let signature = signature(m, sig, &msg, who);
            m.approve_release(e, who, signature, now)
        }
        Call::Dispute { esc, peer } => {
            let who =
                m.escrow(EscrowId(esc)).map_or(PeerId(peer), |x| if peer % 2 == 0 { x.requester } else { x.provider });
            m.dispute(EscrowId(esc), who, now)
        }
        Call::Vote { esc, peer, vote, bps } => {
            let who = match m.escrow(EscrowId(esc)).and_then(|x| x.dispute.clone()) {
                Some(d) if !d.panel.is_empty() && peer % 3 != 0 => d.panel[peer as usize % d.panel.len()],
                _ => PeerId(peer),
            };
            let v = match vote % 3 {
                0 => Vote::ReleaseToProvider,
                1 => Vote::RefundToRequester,
                _ => Vote::Split { provider_bps: bps },
            };
            m.vote(EscrowId(esc), who, v, now)
        }
        Call::Feedback { asg, peer, rating } => m.leave_feedback(AssignmentId(asg), PeerId(peer), rating, now),
        Call::Queries { a, b, peer, tt } => {
            let p = PeerId(peer);
            let t = TaskTypeId(tt);
            let _ = (m.order(OrderId(a)), m.assignment(AssignmentId(a)), m.escrow(EscrowId(a)));
            let _ = m.escrow_trail(EscrowId(a)).count();
            let _ = (m.wallet(p), m.peer_state(p), m.reputation(p), m.reputation_record(p), m.open_orders(p));
            let _ = (m.cap_room_now(p), m.next_signature_seq(p), m.price_stats(t), m.best_ask(t), m.best_bid(t));
            let _ = (m.open_auctions(t), m.resting_units(t), m.resting_offers(t), m.next_timer_time());
            let _ = (m.state_digest(), m.ledger_digest(), m.counters(), m.treasury(), m.escrow_transitions().len());
            let _ = m.vocabulary().capability_names(CapabilitySet(a as u128 | ((b as u128) << 64)));
            let _ = m.vocabulary().task_type_name(t);
            let _ = m.qualification(OrderId(a), OrderId(b));
            let _ = m.config().max_providers(a);
            m.price_discovery(t, now).map(drop)
        }
        Call::Free { x, i, bytes } => {
            let _ = Tier::of(x);
            let _ = CapabilitySet::single(i);
            let _ = CapabilitySet(u128::MAX).with(i);
            let _ = CapabilitySet(bytes[0] as u128).contains(i);
            let _ = QualityValues::new(&[(i, x), (i / 2, x / 2.0)]);
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&bytes);
            let vk = signing::derive_verifying_key(x.to_bits(), PeerId(i as u32));
            let _ = signing::verify(&vk, &bytes, &sig);
            let _ = MarketError::InvalidReputation(x).to_string();
            Ok(())
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, max_shrink_iters: 4096, ..ProptestConfig::default() })]

    #[test]
    fn no_public_call_panics_on_any_input(
        config in any_config(),
        calls in proptest::collection::vec((call(), any_time(), any::<bool>()), 1..150),
    ) {
        let mut m = match Market::new(config.clone()) {
            Ok(m) => m,
            Err(e) => {
                prop_assert!(!e.reason.is_empty());
                Market::new(MarketConfig { market_seed: config.market_seed, ..Default::default() }).unwrap()
            }
        };
        for name in ["t0", "t1"] {
            m.register_task_type(name).unwrap();
        }
        // A few sane peers, so that trades, disputes and settlements happen among the noise.
        for i in 0..9u64 {
            let spec = PeerSpec {
                endowment: if i < 3 { 10_000_000 } else { 0 },
                account: (3..6).contains(&i).then_some(AccountId(i)),
                arbitrator: i >= 6,
                ..Default::default()
            };
            m.register_peer(spec, 0).unwrap();
        }
        for (c, t, pre_advance) in &calls {
            let now = time(&m, *t);
            if *pre_advance && m.advance_to(now).is_ok() {
                // The clock is at `now`: a refused call must change nothing at all.
                let before = m.state_digest();
                if let Err(e) = apply(&mut m, c, now) {
                    prop_assert_eq!(m.state_digest(), before, "refused {:?} ({}) changed the state", c, e);
                }
            } else {
                let _ = apply(&mut m, c, now);
            }
            if let Err(e) = m.check_invariants() {
                prop_assert!(false, "after {:?}: {}", c, e);
            }
            m.drain_events().for_each(drop);
        }
    }


    #[test]
    fn validation_answers_every_configuration(config in any_config()) {
        // validate() and new() agree, and neither panics.
        prop_assert_eq!(config.validate().is_ok(), Market::new(config).is_ok());
    }
}

proptest! {
    // Each case registers 2,000 peers: a few dozen cases cover the spec's corners.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn workloads_build_from_any_spec(
        resting in 0usize..50, classes in 0usize..300, selectivity in any_f64(), weight in any_f64(),
        min_rep in any_f64(), cancel in any_f64(), verify in any::<bool>(), eligible in proptest::option::of(any_f64()),
        request_share in proptest::option::of(any_f64()), ops in 0usize..80, seed in any::<u64>(),
    ) {
        use synmarket_engine::workload::{WorkloadSpec, apply, build};
        let spec = WorkloadSpec {
            resting, classes, selectivity, reputation_weight: weight, min_reputation_share: min_rep,
            cancel_share: cancel, verify_signatures: verify, eligible_share: eligible, request_share, ops, seed,
        };
        let mut w = build(&spec);
        apply(&mut w.market, &w.cmds, w.start);
        prop_assert!(w.market.check_invariants().is_ok());
    }

}
