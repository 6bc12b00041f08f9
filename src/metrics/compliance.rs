//! The `compliance` table (docs/metrics.md "Compliance"): one row per kind of violation with what was
//! attempted, what the market detected or refused, what got through, what the violators earned
//! and what honest agents lost.
//!
//! **Ground-truth rows** (`attempted_is_ground_truth = true`), one per `GroundTruthKind` in its
//! table order; `attempted` = the attempts the kernel recorded in `SimResult::ground_truth`,
//! `undetected = attempted − detected`:
//! * `relay`, `resale`, `key_sharing`: detected = violating assignments whose receipt was audited
//!   and whose provider ended banned (an audit of a foreign receipt or a shared account always
//!   finds the violation: the escrow is refunded with a `forfeit` ledger entry and the peer is
//!   banned). Tokens earned = Σ `paid_provider` of their escrows (0 for a detected one: it was
//!   refunded).
//! * `sybil_reentry`: re-entries; not detectable by the market (detected = 0). Tokens earned = Σ
//!   `paid_provider` of escrows paid to the identities a Sybil re-entered as.
//! * `collusion_feedback`: ratings ≥ 4 within a ring; not detected (0). Tokens earned = Σ
//!   `paid_provider` of the rated assignments (ring money moved to ring providers).
//! * `dispute_abuse`: disputes of delivered work; detected = those resolved by releasing to the
//!   provider. Tokens earned = honest loss = Σ over the disputed escrows of what the requester got
//!   back beyond the SLA penalty it was owed anyway (`paid_requester − penalty`).
//! * `forgery`: orders placed in another peer's name; detected = orders refused for a bad
//!   signature (`MarketCounters::bad_signatures`, at most `attempted`). No tokens (null).
//! * `leak`: privacy incidents; never detected by the market (0); tokens earned = Σ
//!   `paid_provider` of the leaked tasks. Honest loss is not in tokens (null): the incidents are
//!   counted, by level, in the breakdown rows `privacy_incident_private` and
//!   `privacy_incident_confidential` (not added to the totals).
//! * `corrupt_vote`: accepted votes against the evidence (release delivered work, refund the
//!   rest); detected = votes on disputes whose outcome still followed the evidence (the corrupt
//!   vote was outvoted). Arbitrators are not paid from escrows (tokens null). Honest loss = the
//!   tokens moved against the evidence on disputes decided otherwise: delivered work →
//!   `paid_requester − penalty`, undelivered → `paid_provider`.
//!
//! **Market-side rows** (`attempted_is_ground_truth = false`), what the market itself observes:
//! * `usage_cap`: attempted = detected = offers refused for exceeding the declared cap;
//!   undetected = breaches found in the assignments (units assigned to a provider in a rolling
//!   `usage_cap_window` above its cap). Must be 0.
//! * `unauthorised_call`, `forged_signature`: calls refused as `not_authorized` and
//!   `bad_signature`; attempted = detected, undetected null.
//!
//! Run-level totals for `summary` (`ComplianceTable::totals`) add the nine ground-truth rows;
//! the run's honest loss counts each escrow once (a dispute abuse that a corrupt vote decided is
//! one loss, not two).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use polars::prelude::{DataFrame, PolarsResult};

use super::{Ctx, delivered};
use crate::output::raw_tables::TableBuilder;
use synmarket_agents::GroundTruthKind;
use synmarket_engine::{AssignmentId, Escrow, EscrowId, PeerId, Vote};

/// The column names of `compliance.parquet`, written here and read by the reports (reports/README.md documents
/// each).
#[allow(missing_docs)]
pub mod column {
    pub const KIND: &str = "kind";
    pub const ATTEMPTED_IS_GROUND_TRUTH: &str = "attempted_is_ground_truth";
    pub const ATTEMPTED: &str = "attempted";
    pub const DETECTED: &str = "detected";
    pub const UNDETECTED: &str = "undetected";
    pub const TOKENS_EARNED_BY_VIOLATORS: &str = "tokens_earned_by_violators";
    pub const HONEST_LOSS: &str = "honest_loss";
}

/// Breakdown rows of `leak` by privacy level (`detail` 1 and 2); not added to the totals.
pub(crate) const PRIVACY_ROWS: [(&str, u64); 2] =
    [("privacy_incident_private", 1), ("privacy_incident_confidential", 2)];

/// One kind of violation.
#[derive(Debug, Clone, Default)]
pub(crate) struct ComplianceRow {
    pub kind: &'static str,
    pub ground_truth: bool,
    pub attempted: Option<u64>,
    pub detected: Option<u64>,
    pub undetected: Option<u64>,
    pub tokens_earned: Option<u64>,
    pub honest_loss: Option<u64>,
}

/// Rows in a fixed order, plus run-level counts for the summary.
pub(crate) struct ComplianceTable {
    pub rows: Vec<ComplianceRow>,
    pub banned_peers: u64,
    /// Tokens honest agents lost, each escrow counted once (see the module docs).
    pub honest_loss: u64,
}

/// Per-kind accumulator over the ground truth.
#[derive(Default)]
struct Acc {
    attempted: u64,
    detected: u64,
    /// Assignments concerned (deduplicated: a ring rates both ways on one assignment).
    assignments: BTreeSet<AssignmentId>,
}

/// Assignments that pushed a provider's units in a rolling window above its declared cap.
fn cap_breaches(ctx: &Ctx) -> u64 {
    let window = ctx.r.market.config().usage_cap_window_ms;
    let mut by_provider: BTreeMap<PeerId, Vec<(u64, u64)>> = BTreeMap::new();
    for a in ctx.r.market.assignments() {
        by_provider.entry(a.provider).or_default().push((a.assigned_at, a.units));
    }
    let mut breaches = 0;
    for (p, mut list) in by_provider {
        let Some(cap) = ctx.agent(p).and_then(|a| a.usage_cap_units) else { continue };
        list.sort_unstable();
        let mut win: VecDeque<(u64, u64)> = VecDeque::new();
        let mut sum = 0u64;
        for (t, units) in list {
            while let Some(&(t0, u0)) = win.front() {
                if t0 + window <= t {
                    win.pop_front();
                    sum -= u0;
                } else {
                    break;
                }
            }
            win.push_back((t, units));
            sum += units;
            breaches += u64::from(sum > cap);
        }
    }
    breaches
}

/// What the evidence says a dispute of this assignment should decide.
fn evidence_release(ctx: &Ctx, a: AssignmentId) -> bool {
    ctx.r.market.assignment(a).is_some_and(|x| delivered(x.status))
}

/// Tokens an escrow's settlement moved against the evidence: for delivered work what the
/// requester got back beyond its SLA penalty, otherwise what the provider was paid.
fn moved_against_evidence(ctx: &Ctx, e: &Escrow) -> u64 {
    match ctx.r.market.assignment(e.assignment) {
        Some(a) if delivered(a.status) => e.paid_requester.saturating_sub(a.penalty),
        _ => e.paid_provider,
    }
}

pub(crate) fn build(ctx: &Ctx) -> ComplianceTable {
    let m = &ctx.r.market;
    let banned = |p: PeerId| m.peer_state(p).is_some_and(|s| s.banned);
    let escrow = |a: AssignmentId| m.escrow(EscrowId(a.0));
    let mut acc: BTreeMap<GroundTruthKind, Acc> = GroundTruthKind::ALL.iter().map(|&k| (k, Acc::default())).collect();
    let mut leaks_by_level: BTreeMap<u64, u64> = BTreeMap::new();
    for g in &ctx.r.ground_truth {
        let Some(x) = acc.get_mut(&g.kind) else { continue };
        x.attempted += 1;
        if let Some(a) = g.assignment {
            x.assignments.insert(a);
        }
        let detected = match (g.kind, g.assignment) {
            (GroundTruthKind::Relay | GroundTruthKind::Resale | GroundTruthKind::KeySharing, Some(a)) => {
                m.assignment(a).is_some_and(|x| x.audited && banned(x.provider))
            }
            (GroundTruthKind::DisputeAbuse, Some(a)) => {
                escrow(a).and_then(|e| e.dispute.as_ref()).is_some_and(|d| d.outcome == Some(Vote::ReleaseToProvider))
            }
            (GroundTruthKind::CorruptVote, Some(a)) => {
                let evidence = if evidence_release(ctx, a) { Vote::ReleaseToProvider } else { Vote::RefundToRequester };
                escrow(a).and_then(|e| e.dispute.as_ref()).is_some_and(|d| d.outcome == Some(evidence))
            }
            _ => false,
        };
        x.detected += u64::from(detected);
        if g.kind == GroundTruthKind::Leak {
            *leaks_by_level.entry(g.detail).or_insert(0) += 1;
        }
    }
    // Forgeries are detected when refused for a bad signature.
    let bad_sig = m.counters().bad_signatures.max(ctx.r.stats.refusals.get("bad_signature").copied().unwrap_or(0));
    if let Some(x) = acc.get_mut(&GroundTruthKind::Forgery) {
        x.detected = bad_sig.min(x.attempted);
    }
    let paid_provider =
        |set: &BTreeSet<AssignmentId>| -> u64 { set.iter().filter_map(|&a| escrow(a)).map(|e| e.paid_provider).sum() };
    let loss = |set: &BTreeSet<AssignmentId>| -> u64 {
        set.iter().filter_map(|&a| escrow(a)).map(|e| moved_against_evidence(ctx, e)).sum()
    };
    // Identities a Sybil re-entered as (every identity after the first).
    let reentered: BTreeSet<PeerId> =
        ctx.r.agents.iter().flat_map(|a| a.identities.iter().skip(1).map(|i| i.peer)).collect();
    let sybil_earned: u64 =
        m.escrows().iter().filter(|e| reentered.contains(&e.provider)).map(|e| e.paid_provider).sum();

    let mut rows = Vec::new();
    let mut lost_escrows: BTreeSet<AssignmentId> = BTreeSet::new();
    for (&kind, x) in &acc {
        use GroundTruthKind as K;
        let (tokens, honest_loss) = match kind {
            K::Relay | K::Resale | K::KeySharing | K::CollusionFeedback | K::Leak => {
                (Some(paid_provider(&x.assignments)), None)
            }
            K::SybilReentry => (Some(sybil_earned), None),
            K::DisputeAbuse => {
                lost_escrows.extend(x.assignments.iter().copied());
                let l = loss(&x.assignments);
                (Some(l), Some(l))
            }
            K::CorruptVote => {
                lost_escrows.extend(x.assignments.iter().copied());
                (None, Some(loss(&x.assignments)))
            }
            K::Forgery => (None, None),
        };
        rows.push(ComplianceRow {
            kind: kind.as_str(),
            ground_truth: true,
            attempted: Some(x.attempted),
            detected: Some(x.detected),
            undetected: Some(x.attempted.saturating_sub(x.detected)),
            tokens_earned: tokens,
            honest_loss,
        });
    }
    for (kind, level) in PRIVACY_ROWS {
        let n = leaks_by_level.get(&level).copied().unwrap_or(0);
        rows.push(ComplianceRow {
            kind,
            ground_truth: true,
            attempted: Some(n),
            detected: Some(0),
            undetected: Some(n),
            ..ComplianceRow::default()
        });
    }
    let refusal = |k: &str| ctx.r.stats.refusals.get(k).copied().unwrap_or(0);
    let refused = |kind: &'static str, n: u64| ComplianceRow {
        kind,
        attempted: Some(n),
        detected: Some(n),
        ..Default::default()
    };
    let cap_refused = refusal("exceeds_usage_cap");
    rows.push(ComplianceRow {
        kind: "usage_cap",
        attempted: Some(cap_refused),
        detected: Some(cap_refused),
        undetected: Some(cap_breaches(ctx)),
        ..ComplianceRow::default()
    });
    rows.push(refused("unauthorised_call", refusal("not_authorized")));
    rows.push(refused("forged_signature", bad_sig));
    let honest_loss = loss(&lost_escrows);
    let banned_peers = (0..m.peer_count()).filter(|&i| banned(PeerId(i as u32))).count() as u64;
    ComplianceTable { rows, banned_peers, honest_loss }
}

/// Run-level sums over the nine ground-truth kinds (the privacy breakdown rows excluded).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Totals {
    pub attempted: u64,
    pub detected: u64,
    pub undetected: u64,
    pub tokens_earned: u64,
}

impl ComplianceTable {
    /// The row of `kind`.
    pub fn get(&self, kind: &str) -> Option<&ComplianceRow> {
        self.rows.iter().find(|r| r.kind == kind)
    }

    /// Sums over the ground-truth kinds.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for k in GroundTruthKind::ALL {
            let Some(r) = self.get(k.as_str()) else { continue };
            t.attempted += r.attempted.unwrap_or(0);
            t.detected += r.detected.unwrap_or(0);
            t.undetected += r.undetected.unwrap_or(0);
            t.tokens_earned += r.tokens_earned.unwrap_or(0);
        }
        t
    }

    pub fn frame(&self) -> PolarsResult<DataFrame> {
        let r = &self.rows;
        let o = |g: &dyn Fn(&ComplianceRow) -> Option<u64>| r.iter().map(g).collect::<Vec<Option<u64>>>();
        TableBuilder::new()
            .col(column::KIND, r.iter().map(|x| x.kind).collect::<Vec<&str>>())
            .col(column::ATTEMPTED_IS_GROUND_TRUTH, r.iter().map(|x| x.ground_truth).collect::<Vec<bool>>())
            .col(column::ATTEMPTED, o(&|x| x.attempted))
            .col(column::DETECTED, o(&|x| x.detected))
            .col(column::UNDETECTED, o(&|x| x.undetected))
            .col(column::TOKENS_EARNED_BY_VIOLATORS, o(&|x| x.tokens_earned))
            .col(column::HONEST_LOSS, o(&|x| x.honest_loss))
            .build()
    }
}
