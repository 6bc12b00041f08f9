//! Validation against Gode and Sunder (1993): budget-constrained zero-intelligence traders reach
//! allocative efficiency close to 100 % (here: a mean of at least 0.95 over 20 seeds) with prices
//! near the competitive equilibrium; unconstrained ones are clearly less efficient. The numbers
//! and the command that reproduces them are in docs/validation.md.

use polars::prelude::*;

use synmarket::scenario::Scenario;

fn summary_value(df: &DataFrame, col: &str) -> f64 {
    df.column(col).unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().get(0).unwrap_or(f64::NAN)
}

/// The runs of the point labelled `label` of a shipped sweep file, simulated, with their metrics
/// (20 replications each).
fn point_runs(
    sweep_file: &str,
    label: &str,
) -> Vec<(Scenario, synmarket::agents::SimResult, synmarket::metrics::RunMetrics)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sweep = synmarket::sweep::Sweep::load(root.join(sweep_file)).unwrap();
    let plan = synmarket::sweep::Plan::new(&sweep);
    let p = sweep.points.iter().position(|p| p.label() == label).unwrap_or_else(|| panic!("no point {label}"));
    let runs: Vec<_> = plan.runs.iter().filter(|r| r.point_index == p).collect();
    assert_eq!(runs.len(), 20, "{label}");
    runs.iter()
        .map(|r| {
            let s = sweep.scenario(&sweep.points[r.point_index], r.seed).unwrap();
            let res = synmarket::run::simulate(&s, &mut |_| {}).unwrap();
            let m = synmarket::metrics::compute(&s, &res).unwrap();
            (s, res, m)
        })
        .collect()
}

/// A column as floats (nulls as NaN).
fn column(df: &DataFrame, c: &str) -> Vec<f64> {
    let s = df.column(c).unwrap().cast(&DataType::Float64).unwrap();
    s.f64().unwrap().iter().map(|x| x.unwrap_or(f64::NAN)).collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The lower end of the 95 % Student-t interval of the mean (the sweeps' own interval).
fn t_low(x: &[f64]) -> f64 {
    synmarket::sweep::t_interval(x).low.unwrap_or(f64::NAN)
}

/// (allocative efficiency, mean relative deviation, converged 0/1) of one Gode–Sunder run.
fn efficiency(strategy: &str, seed: u64) -> (f64, f64) {
    let (e, d, _) = run(strategy, seed);
    (e, d)
}

fn run(strategy: &str, seed: u64) -> (f64, f64, f64) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sets = vec![
        format!("scenario.seed={seed}"),
        format!("population[0].strategy=\"{strategy}\""),
        format!("population[1].strategy=\"{strategy}\""),
    ];
    let s = Scenario::load_with_overrides(root.join("scenarios/studies/gode_sunder.toml"), &sets).unwrap();
    let r = synmarket::run::simulate(&s, &mut |_| {}).unwrap();
    let m = synmarket::metrics::compute(&s, &r).unwrap();
    (
        summary_value(&m.summary, "allocative_efficiency"),
        summary_value(&m.summary, "relative_deviation_mean"),
        summary_value(&m.summary, "converged"),
    )
}

/// ZI-U prices wander around P* and never settle: no run of the 20 seeds of the shipped sweep may
/// be called converged (the old rule called 8 of 20 converged from their last intervals alone).
#[test]
fn unconstrained_zi_traders_never_converge_over_20_seeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sweep = synmarket::sweep::Sweep::load(root.join("scenarios/sweeps/gode_sunder.toml")).unwrap();
    let plan = synmarket::sweep::Plan::new(&sweep);
    let ziu = |r: &&synmarket::sweep::RunSpec| sweep.points[r.point_index].canonical().contains("\"zi_unconstrained\"");
    let seeds: Vec<u64> = plan.runs.iter().filter(ziu).map(|r| r.seed).collect();
    assert_eq!(seeds.len(), 20);
    let converged: Vec<u64> = seeds.into_iter().filter(|&s| run("zi_unconstrained", s).2 > 0.0).collect();
    assert!(converged.is_empty(), "ZI-U runs called converged, seeds {converged:?}");
}

#[test]
fn constrained_zi_traders_are_efficient_over_20_seeds() {
    let seeds = 1..=20u64;
    let zic: Vec<(f64, f64)> = seeds.clone().map(|s| efficiency("zi_constrained", s)).collect();
    let mean_eff = zic.iter().map(|x| x.0).sum::<f64>() / zic.len() as f64;
    let mean_dev = zic.iter().map(|x| x.1).sum::<f64>() / zic.len() as f64;
    assert!(zic.iter().all(|x| x.0 <= 1.0 + 1e-9), "efficiency above 1: {zic:?}");
    assert!(mean_eff >= 0.95, "ZI-C mean efficiency {mean_eff:.4} over 20 seeds: {zic:?}");
    assert!(mean_dev < 0.10, "ZI-C prices far from P*: mean relative deviation {mean_dev:.3}");
    // Unconstrained traders on the same values and seeds: clearly lower.
    let ziu: Vec<f64> = (1..=5u64).map(|s| efficiency("zi_unconstrained", s).0).collect();
    let mean_u = ziu.iter().sum::<f64>() / ziu.len() as f64;
    assert!(mean_u < mean_eff - 0.2, "ZI-U {mean_u:.3} is not clearly below ZI-C {mean_eff:.3}");
}

/// The shipped continuous double auction study (`scenarios/sweeps/gode_sunder_cda.toml`), its
/// points and seeds as planned: ZI-C efficiency's 95 % t interval lies above 0.97 over 20 seeds,
/// ZI-U is clearly lower, and ZIP's mean Smith's alpha over the seeds is at most 3 % of P* by
/// the third period (Cliff 1997) and below ZI-C's.
#[test]
fn the_continuous_double_auction_study_reproduces_gode_sunder_and_cliff() {
    let by_label = |label: &str| -> Vec<(f64, f64, Vec<f64>)> {
        point_runs("scenarios/sweeps/gode_sunder_cda.toml", label)
            .iter()
            .map(|(_, _, m)| {
                (
                    summary_value(&m.summary, "allocative_efficiency"),
                    summary_value(&m.summary, "smith_alpha_mean"),
                    column(&m.price_discovery, "smith_alpha"),
                )
            })
            .collect()
    };
    let q = |k: &str, v: &str| {
        format!(
            "population[0].requote={v}, population[0].strategy=\"{k}\", population[1].requote={v}, population[1].strategy=\"{k}\""
        )
    };
    let zic: Vec<f64> = by_label(&q("zi_constrained", "false")).iter().map(|r| r.0).collect();
    assert!(t_low(&zic) >= 0.97, "ZI-C CDA efficiency {:.4}, lower bound {:.4}: {zic:?}", mean(&zic), t_low(&zic));
    let ziu: Vec<f64> = by_label(&q("zi_unconstrained", "true")).iter().map(|r| r.0).collect();
    assert!(mean(&ziu) < mean(&zic) - 0.5, "ZI-U {:.3} not clearly below ZI-C {:.3}", mean(&ziu), mean(&zic));
    let zip = by_label("population[0].strategy=\"zip\", population[1].strategy=\"zip\"");
    // Rows of price_discovery are (period, task type): one task type, so row k is period k.
    let third: Vec<f64> = zip.iter().map(|r| r.2[2]).collect();
    assert!(mean(&third) <= 3.0, "ZIP alpha in period 3: {:.2} ({third:?})", mean(&third));
    let zip_alpha: Vec<f64> = zip.iter().map(|r| r.1).collect();
    assert!(mean(&zip_alpha) < 5.0, "ZIP mean alpha {:.2}", mean(&zip_alpha));
}

/// The schedule study (`scenarios/sweeps/gode_sunder_schedule.toml`), traders' values written one
/// by one: the curves are the textbook ones in every period (P* = 100, Q* = 13, maximum surplus
/// 676), every trader trades its units in list order and never one at a loss against its own
/// schedule, re-quoting ZI-C's efficiency interval lies above 0.97 over 20 seeds, and ZI-U trades
/// every unit, so its efficiency is the identity (Σ values − Σ costs) / max surplus = 192 / 676.
#[test]
fn the_schedule_study_has_textbook_curves_and_reproduces_gode_sunder() {
    let runs_of = |strategy: &str, requote: &str| {
        let label = format!(
            "population[0].requote={requote}, population[0].strategy=\"{strategy}\", population[1].requote={requote}, \
             population[1].strategy=\"{strategy}\""
        );
        point_runs("scenarios/sweeps/gode_sunder_schedule.toml", &label)
    };
    let zic = runs_of("zi_constrained", "true");
    for (s, res, m) in &zic {
        let pd = &m.price_discovery;
        assert_eq!(pd.height(), 20);
        assert!(column(pd, "p_star").iter().all(|&p| p == 100.0), "{pd}");
        assert!(column(pd, "q_star_units").iter().all(|&q| q == 13.0), "{pd}");
        assert!(column(pd, "max_surplus").iter().all(|&x| x == 676.0), "{pd}");
        assert!(
            column(pd, "demand_units").iter().all(|&x| x == 24.0)
                && column(pd, "supply_units").iter().all(|&x| x == 24.0)
        );
        // Unit k of a trader's period trades within its k-th value (buyers) or cost (sellers).
        let mut traded: std::collections::BTreeMap<(usize, u32), usize> = Default::default();
        for (i, a) in res.market.assignments().iter().enumerate() {
            let period = res.period_start_assignments.partition_point(|&n| n <= i as u64);
            for (peer, buyer) in [(a.requester, true), (a.provider, false)] {
                let rec = res.agent_of(peer).unwrap();
                let list = &s.populations[rec.population as usize].schedule().unwrap()[rec.index as usize];
                let k = traded.entry((period, peer.0)).or_default();
                let limit = list[*k];
                let p = a.price_per_unit as f64;
                assert!(if buyer { p <= limit } else { p >= limit }, "unit {k} of {peer:?} at {p}, limit {limit}");
                *k += 1;
                assert!(*k <= list.len(), "{peer:?} traded more units than its schedule has");
            }
        }
    }
    let eff: Vec<f64> = zic.iter().map(|(_, _, m)| column(&m.summary, "allocative_efficiency")[0]).collect();
    let (mean, low) = (mean(&eff), t_low(&eff));
    assert!(low >= 0.97, "re-quoting ZI-C efficiency {mean:.4}, lower bound {low:.4}: {eff:?}");
    for (_, _, m) in runs_of("zi_unconstrained", "true") {
        let pd = &m.price_discovery;
        assert!(column(pd, "volume_units").iter().all(|&v| v == 24.0), "ZI-U leaves units untraded: {pd}");
        assert!(column(pd, "allocative_efficiency").iter().all(|&e| (e - 192.0 / 676.0).abs() < 1e-12), "{pd}");
    }
}
