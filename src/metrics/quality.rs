//! SLA and quality by provider reputation tier (`sla`), and escrow and disputes over time
//! (`escrows`): docs/metrics.md "SLA and quality", "Reputation", "Escrow and disputes".
//!
//! * **Tier** is the provider's tier at match time (`provider_reputation` of the assignment), so
//!   a provider's trades can fall into several tiers as its score moves.
//! * **SLA compliance** = tasks completed without violation / settled tasks (completed, violated
//!   or failed). No-shows and abandoned tasks are failures; violations are counted per kind
//!   (quality counts each metric below its minimum).
//! * **Volume share** = units won by the tier / all units; **price premium** = VWAP of the tier /
//!   VWAP of all trades − 1 (not adjusted for the task-type mix; the summary's
//!   `high_reputation_price_premium` is).
//! * **Arbitration accuracy**: the ground truth is the evidence the simulation knows: work was
//!   delivered (completed, with or without SLA violation) → releasing to the provider is correct;
//!   not delivered → refunding the requester is correct; a split is counted as not correct.
//! * **Completion to release** = settlement time − completion time of escrows released to the
//!   provider.

use polars::prelude::{DataFrame, PolarsResult};

use super::stats::{quantile_sorted, ratio, sorted_finite};
use super::{ALL, Ctx, delivered, settled};
use crate::output::raw_tables::TableBuilder;
use synmarket_engine::{EscrowState, FailureKind, TaskStatus, Tier, Vote};

/// The column names of `sla.parquet` and `escrows.parquet`, written here and read by the reports (reports/README.md documents
/// each).
#[allow(missing_docs)]
pub mod column {
    pub const TIER: &str = "tier";
    pub const TIER_MIN_REPUTATION: &str = "tier_min_reputation";
    pub const ASSIGNMENTS: &str = "assignments";
    pub const PROVIDERS: &str = "providers";
    pub const VOLUME_UNITS: &str = "volume_units";
    pub const VOLUME_SHARE: &str = "volume_share";
    pub const VWAP: &str = "vwap";
    pub const PRICE_PREMIUM: &str = "price_premium";
    pub const SETTLED_TASKS: &str = "settled_tasks";
    pub const COMPLETED_CLEAN: &str = "completed_clean";
    pub const SLA_VIOLATED: &str = "sla_violated";
    pub const FAILED: &str = "failed";
    pub const NO_SHOWS: &str = "no_shows";
    pub const ABANDONED: &str = "abandoned";
    pub const VIOLATIONS_RESPONSE: &str = "violations_response";
    pub const VIOLATIONS_DURATION: &str = "violations_duration";
    pub const VIOLATIONS_UPTIME: &str = "violations_uptime";
    pub const VIOLATIONS_QUALITY: &str = "violations_quality";
    pub const PENALTIES: &str = "penalties";
    pub const SLA_COMPLIANCE_RATE: &str = "sla_compliance_rate";
    pub const INTERVAL: &str = "interval";
    pub const TIME_START_MS: &str = "time_start_ms";
    pub const TIME_END_MS: &str = "time_end_ms";
    pub const ESCROW_BALANCE: &str = "escrow_balance";
    pub const ESCROWS_FUNDED: &str = "escrows_funded";
    pub const ESCROWS_COMPLETED: &str = "escrows_completed";
    pub const ESCROWS_RELEASED: &str = "escrows_released";
    pub const ESCROWS_REFUNDED: &str = "escrows_refunded";
    pub const ESCROWS_EXPIRED: &str = "escrows_expired";
    pub const ESCROWS_RESOLVED: &str = "escrows_resolved";
    pub const DISPUTES_RAISED: &str = "disputes_raised";
    pub const DISPUTES_RELEASE: &str = "disputes_release";
    pub const DISPUTES_REFUND: &str = "disputes_refund";
    pub const DISPUTES_SPLIT: &str = "disputes_split";
    pub const DISPUTES_BY_TIMEOUT: &str = "disputes_by_timeout";
    pub const DISPUTES_CORRECT: &str = "disputes_correct";
    pub const PAID_PROVIDER: &str = "paid_provider";
    pub const PAID_REQUESTER: &str = "paid_requester";
    pub const FEES: &str = "fees";
    pub const COMPLETION_TO_RELEASE_P50_MS: &str = "completion_to_release_p50_ms";
}

/// Outcomes of a set of assignments.
#[derive(Debug, Clone, Default)]
pub(crate) struct SlaRow {
    pub tier: String,
    pub tier_min_reputation: Option<f64>,
    pub assignments: u64,
    pub providers: Vec<u32>,
    pub volume_units: u64,
    pub turnover: u128,
    pub settled: u64,
    pub clean: u64,
    pub violated: u64,
    pub failed: u64,
    pub no_shows: u64,
    pub abandoned: u64,
    pub v_response: u64,
    pub v_duration: u64,
    pub v_uptime: u64,
    pub v_quality: u64,
    pub penalties: u64,
}

impl SlaRow {
    pub fn vwap(&self) -> Option<f64> {
        ratio(self.turnover as f64, self.volume_units as f64)
    }
    pub fn compliance(&self) -> Option<f64> {
        ratio(self.clean as f64, self.settled as f64)
    }
    pub fn violations(&self) -> u64 {
        self.v_response + self.v_duration + self.v_uptime + self.v_quality
    }
}

/// Rows by tier (ascending, only tiers with trades) and the `all` row last.
pub(crate) struct SlaTable {
    pub rows: Vec<SlaRow>,
}

fn tier_floor(t: Tier) -> Option<f64> {
    match t {
        Tier::Risky => None,
        Tier::New => Some(0.0),
        Tier::Standard => Some(50.0),
        Tier::Reliable => Some(100.0),
        Tier::Trusted => Some(250.0),
        Tier::Expert => Some(500.0),
        Tier::Legendary => Some(1000.0),
    }
}

pub(crate) fn sla_by_tier(ctx: &Ctx) -> SlaTable {
    let mut rows: Vec<SlaRow> = Tier::ALL
        .iter()
        .map(|&t| SlaRow { tier: t.as_str().into(), tier_min_reputation: tier_floor(t), ..SlaRow::default() })
        .collect();
    let mut all = SlaRow { tier: ALL.into(), ..SlaRow::default() };
    for a in ctx.r.market.assignments() {
        // Reputations in the market are always finite (the engine refuses others), so `Tier::of`
        // answers; a non-finite one would count in the lowest tier.
        let tier = Tier::of(a.provider_reputation).ok();
        let ti = Tier::ALL.iter().position(|&t| Some(t) == tier).unwrap_or(0);
        for r in [&mut rows[ti], &mut all] {
            r.assignments += 1;
            r.providers.push(a.provider.0);
            r.volume_units += a.units;
            r.turnover += a.amount() as u128;
            if settled(a.status) {
                r.settled += 1;
            }
            match a.status {
                TaskStatus::Completed => r.clean += 1,
                TaskStatus::SlaViolated => r.violated += 1,
                TaskStatus::Failed => r.failed += 1,
                _ => {}
            }
            match a.failure {
                Some(FailureKind::NoShow) => r.no_shows += 1,
                Some(FailureKind::Abandoned) => r.abandoned += 1,
                None => {}
            }
            r.v_response += u64::from(a.violations.response);
            r.v_duration += u64::from(a.violations.duration);
            r.v_uptime += u64::from(a.violations.uptime);
            r.v_quality += u64::from(a.violations.quality);
            r.penalties += a.penalty;
        }
    }
    let mut rows: Vec<SlaRow> = rows.into_iter().filter(|r| r.assignments > 0).collect();
    rows.push(all);
    for r in &mut rows {
        r.providers.sort_unstable();
        r.providers.dedup();
    }
    SlaTable { rows }
}

impl SlaTable {
    /// The `all` row.
    pub fn all(&self) -> Option<&SlaRow> {
        self.rows.last()
    }

    pub fn frame(&self) -> PolarsResult<DataFrame> {
        let rows = &self.rows;
        let total_units = self.all().map_or(0, |a| a.volume_units) as f64;
        let all_vwap = self.all().and_then(SlaRow::vwap);
        let u = |g: &dyn Fn(&SlaRow) -> u64| rows.iter().map(g).collect::<Vec<u64>>();
        let f = |g: &dyn Fn(&SlaRow) -> Option<f64>| rows.iter().map(g).collect::<Vec<Option<f64>>>();
        TableBuilder::new()
            .col(column::TIER, rows.iter().map(|r| r.tier.as_str()).collect::<Vec<&str>>())
            .col(column::TIER_MIN_REPUTATION, f(&|r| r.tier_min_reputation))
            .col(column::ASSIGNMENTS, u(&|r| r.assignments))
            .col(column::PROVIDERS, u(&|r| r.providers.len() as u64))
            .col(column::VOLUME_UNITS, u(&|r| r.volume_units))
            .col(column::VOLUME_SHARE, f(&|r| ratio(r.volume_units as f64, total_units)))
            .col(column::VWAP, f(&|r| r.vwap()))
            .col(column::PRICE_PREMIUM, f(&|r| ratio(r.vwap()?, all_vwap?).map(|x| x - 1.0)))
            .col(column::SETTLED_TASKS, u(&|r| r.settled))
            .col(column::COMPLETED_CLEAN, u(&|r| r.clean))
            .col(column::SLA_VIOLATED, u(&|r| r.violated))
            .col(column::FAILED, u(&|r| r.failed))
            .col(column::NO_SHOWS, u(&|r| r.no_shows))
            .col(column::ABANDONED, u(&|r| r.abandoned))
            .col(column::VIOLATIONS_RESPONSE, u(&|r| r.v_response))
            .col(column::VIOLATIONS_DURATION, u(&|r| r.v_duration))
            .col(column::VIOLATIONS_UPTIME, u(&|r| r.v_uptime))
            .col(column::VIOLATIONS_QUALITY, u(&|r| r.v_quality))
            .col(column::PENALTIES, u(&|r| r.penalties))
            .col(column::SLA_COMPLIANCE_RATE, f(&|r| r.compliance()))
            .build()
    }
}

/// One interval of escrow activity.
#[derive(Debug, Clone, Default)]
pub(crate) struct EscrowRow {
    pub balance: Option<u64>,
    pub funded: u64,
    pub completed: u64,
    pub released: u64,
    pub refunded: u64,
    pub expired: u64,
    pub resolved: u64,
    pub disputes_raised: u64,
    pub outcome_release: u64,
    pub outcome_refund: u64,
    pub outcome_split: u64,
    pub by_timeout: u64,
    pub correct: u64,
    pub paid_provider: u64,
    pub paid_requester: u64,
    pub fees: u64,
    pub release_delays_ms: Vec<f64>,
}

/// The `escrows` series and run totals.
pub(crate) struct EscrowSeries {
    pub rows: Vec<EscrowRow>,
    pub bounds: Vec<(u64, u64)>,
}

pub(crate) fn escrow_series(ctx: &Ctx) -> EscrowSeries {
    let m = &ctx.r.market;
    let mut rows = vec![EscrowRow::default(); ctx.intervals];
    for tr in m.escrow_transitions() {
        let r = &mut rows[ctx.interval_of(tr.time)];
        match tr.to {
            EscrowState::Funded => r.funded += 1,
            EscrowState::Completed => r.completed += 1,
            EscrowState::Released => r.released += 1,
            EscrowState::Refunded => r.refunded += 1,
            EscrowState::Expired => r.expired += 1,
            EscrowState::Resolved => r.resolved += 1,
            EscrowState::Disputed => r.disputes_raised += 1,
            EscrowState::Created => {}
        }
    }
    for e in m.escrows() {
        let Some(t) = e.settled_at else { continue };
        let r = &mut rows[ctx.interval_of(t)];
        r.paid_provider += e.paid_provider;
        r.paid_requester += e.paid_requester;
        r.fees += e.fee;
        if e.state == EscrowState::Released
            && let Some(c) = e.completed_at
        {
            r.release_delays_ms.push(t.saturating_sub(c) as f64);
        }
        let Some(outcome) = e.dispute.as_ref().and_then(|d| d.outcome.map(|o| (o, d.by_timeout))) else { continue };
        let was_delivered = m.assignment(e.assignment).is_some_and(|a| delivered(a.status));
        match outcome.0 {
            Vote::ReleaseToProvider => r.outcome_release += 1,
            Vote::RefundToRequester => r.outcome_refund += 1,
            Vote::Split { .. } => r.outcome_split += 1,
        }
        r.by_timeout += u64::from(outcome.1);
        let correct = match outcome.0 {
            Vote::ReleaseToProvider => was_delivered,
            Vote::RefundToRequester => !was_delivered,
            Vote::Split { .. } => false,
        };
        r.correct += u64::from(correct);
    }
    for ms in &ctx.r.market_samples {
        if ms.time > 0 {
            rows[ctx.interval_of(ms.time - 1)].balance = Some(ms.escrow_balance);
        }
    }
    EscrowSeries { rows, bounds: (0..ctx.intervals).map(|i| ctx.interval_bounds(i)).collect() }
}

impl EscrowSeries {
    /// Release delays of the whole run, sorted.
    pub fn release_delays(&self) -> Vec<f64> {
        sorted_finite(self.rows.iter().flat_map(|r| r.release_delays_ms.iter().copied()))
    }

    /// Sum of a field over the run.
    pub fn total(&self, g: impl Fn(&EscrowRow) -> u64) -> u64 {
        self.rows.iter().map(g).sum()
    }

    pub fn frame(&self) -> PolarsResult<DataFrame> {
        let rows = &self.rows;
        let u = |g: &dyn Fn(&EscrowRow) -> u64| rows.iter().map(g).collect::<Vec<u64>>();
        TableBuilder::new()
            .col(column::INTERVAL, (0..rows.len() as u32).collect::<Vec<u32>>())
            .col(column::TIME_START_MS, self.bounds.iter().map(|b| b.0).collect::<Vec<u64>>())
            .col(column::TIME_END_MS, self.bounds.iter().map(|b| b.1).collect::<Vec<u64>>())
            .col(column::ESCROW_BALANCE, rows.iter().map(|r| r.balance).collect::<Vec<Option<u64>>>())
            .col(column::ESCROWS_FUNDED, u(&|r| r.funded))
            .col(column::ESCROWS_COMPLETED, u(&|r| r.completed))
            .col(column::ESCROWS_RELEASED, u(&|r| r.released))
            .col(column::ESCROWS_REFUNDED, u(&|r| r.refunded))
            .col(column::ESCROWS_EXPIRED, u(&|r| r.expired))
            .col(column::ESCROWS_RESOLVED, u(&|r| r.resolved))
            .col(column::DISPUTES_RAISED, u(&|r| r.disputes_raised))
            .col(column::DISPUTES_RELEASE, u(&|r| r.outcome_release))
            .col(column::DISPUTES_REFUND, u(&|r| r.outcome_refund))
            .col(column::DISPUTES_SPLIT, u(&|r| r.outcome_split))
            .col(column::DISPUTES_BY_TIMEOUT, u(&|r| r.by_timeout))
            .col(column::DISPUTES_CORRECT, u(&|r| r.correct))
            .col(column::PAID_PROVIDER, u(&|r| r.paid_provider))
            .col(column::PAID_REQUESTER, u(&|r| r.paid_requester))
            .col(column::FEES, u(&|r| r.fees))
            .col(
                column::COMPLETION_TO_RELEASE_P50_MS,
                rows.iter()
                    .map(|r| quantile_sorted(&sorted_finite(r.release_delays_ms.iter().copied()), 0.5))
                    .collect::<Vec<Option<f64>>>(),
            )
            .build()
    }
}
