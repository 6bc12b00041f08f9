//! What a researcher checks from the Parquet tables alone, on every shipped scenario and study:
//! tokens are conserved (endowments − withdrawals in `ledger` = Σ wallets in `agents` + tokens
//! in escrow + treasury, both from `summary`), every peer that appears in any table has a row in
//! `agents`, and in period studies the sampled book is the book the interval ended with, not the
//! empty book a period reset leaves.
//!
//! `scenarios/large.toml` runs two simulated hours here (its 10,000 agents are what matter).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use synmarket::run::{simulate, write_run};
use synmarket::scenario::Scenario;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["scenarios", "scenarios/studies"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap().flatten() {
            if e.path().extension().is_some_and(|x| x == "toml") {
                files.push(e.path());
            }
        }
    }
    files.sort();
    files
}

fn table(dir: &Path, name: &str) -> DataFrame {
    synmarket::output::read_parquet(dir.join(format!("{name}.parquet"))).unwrap()
}

fn u64s(df: &DataFrame, col: &str) -> Vec<u64> {
    let c = df.column(col).unwrap_or_else(|_| panic!("no column {col}")).cast(&DataType::UInt64).unwrap();
    c.u64().unwrap().iter().map(|v| v.unwrap_or(0)).collect()
}

fn i64s(df: &DataFrame, col: &str) -> Vec<i64> {
    let c = df.column(col).unwrap().cast(&DataType::Int64).unwrap();
    c.i64().unwrap().iter().map(|v| v.unwrap_or(-1)).collect()
}

fn strs(df: &DataFrame, col: &str) -> Vec<String> {
    df.column(col).unwrap().str().unwrap().iter().map(|v| v.unwrap_or("").to_string()).collect()
}

/// Runs `file` into `out` (large.toml cut to 2 h) and returns the run folder.
fn run(file: &Path, out: &Path) -> PathBuf {
    let sets: Vec<String> =
        if file.ends_with("large.toml") { vec!["scenario.duration=\"2h\"".into()] } else { Vec::new() };
    let s = Scenario::load_with_overrides(file, &sets).unwrap_or_else(|e| panic!("{e}"));
    let r = simulate(&s, &mut |_| {}).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    write_run(out, &s, &r, 0.0, false).unwrap().dir
}

#[test]
fn every_shipped_scenario_conserves_tokens_and_lists_every_peer() {
    let out = std::env::temp_dir().join(format!("synmarket-it-conservation-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    for file in shipped() {
        let name = file.display().to_string();
        let dir = run(&file, &out);
        let (ledger, agents, summary) = (table(&dir, "ledger"), table(&dir, "agents"), table(&dir, "summary"));

        // Conservation, to the token.
        let (kinds, amounts) = (strs(&ledger, "kind"), u64s(&ledger, "amount"));
        let sum_kind = |k: &str| -> u128 {
            kinds.iter().zip(&amounts).filter(|(x, _)| x.as_str() == k).map(|(_, a)| *a as u128).sum()
        };
        let minted = sum_kind("endowment") - sum_kind("withdrawal");
        let wallets: u128 = u64s(&agents, "final_available")
            .iter()
            .zip(u64s(&agents, "final_locked"))
            .map(|(a, l)| *a as u128 + l as u128)
            .sum();
        let escrow = u64s(&summary, "escrow_balance_final")[0] as u128;
        let treasury = u64s(&summary, "treasury_income")[0] as u128;
        assert_eq!(
            minted,
            wallets + escrow + treasury,
            "{name}: endowments − withdrawals ≠ wallets + escrow + treasury (off by {})",
            minted as i128 - (wallets + escrow + treasury) as i128
        );

        // The escrow peak is the most ever held (ledger, after each instant), not a sampled maximum.
        let (from, to, times) = (strs(&ledger, "from_account"), strs(&ledger, "to_account"), u64s(&ledger, "time_ms"));
        let (mut balance, mut peak) = (0i128, 0i128);
        for i in 0..amounts.len() {
            balance += if to[i] == "escrow" { amounts[i] as i128 } else { 0 };
            balance -= if from[i] == "escrow" { amounts[i] as i128 } else { 0 };
            if times.get(i + 1) != Some(&times[i]) {
                peak = peak.max(balance);
            }
        }
        assert_eq!(peak, u64s(&summary, "escrow_balance_peak")[0] as i128, "{name}: escrow_balance_peak");

        // Every trade is feasible under the eligibility constraints, so realised surplus never
        // exceeds the constrained maximum, which never exceeds the unconstrained one.
        let pd = table(&dir, "price_discovery");
        let opt = |col: &str| -> Vec<Option<f64>> {
            pd.column(col).unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().iter().collect()
        };
        let (real, maxc, maxu) = (opt("realised_surplus"), opt("max_surplus_constrained"), opt("max_surplus"));
        for i in 0..pd.height() {
            if let (Some(r), Some(c), Some(u)) = (real[i], maxc[i], maxu[i]) {
                let tol = 1e-6 * u.abs().max(1.0);
                assert!(
                    c <= u + tol && r <= c + tol,
                    "{name}: cell {i}: realised {r}, constrained {c}, unconstrained {u}"
                );
            }
        }

        // Every peer of every table has a row in agents.parquet.
        let listed: BTreeSet<u64> = u64s(&agents, "peer").into_iter().collect();
        assert_eq!(listed.len(), agents.height(), "{name}: a peer is listed twice");
        let mut seen: BTreeSet<u64> = u64s(&table(&dir, "orders"), "trader").into_iter().collect();
        let assignments = table(&dir, "assignments");
        seen.extend(u64s(&assignments, "requester"));
        seen.extend(u64s(&assignments, "provider"));
        for (acct, owner) in [("from_account", "from_owner"), ("to_account", "to_owner")] {
            for (kind, peer) in strs(&ledger, acct).iter().zip(i64s(&ledger, owner)) {
                if kind == "available" || kind == "locked" {
                    seen.insert(peer as u64);
                }
            }
        }
        let missing: Vec<&u64> = seen.difference(&listed).collect();
        assert!(missing.is_empty(), "{name}: peers without a row in agents.parquet: {missing:?}");
    }
    let _ = std::fs::remove_dir_all(out);
}

/// In a period study the book is cancelled at each period start. The sample at a period's end
/// must show the book the period ended with: before the fix, 99 of economic_simulation's 100
/// samples saw the emptied book.
#[test]
fn samples_show_the_book_an_interval_ended_with() {
    let out = std::env::temp_dir().join(format!("synmarket-it-sampling-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    for file in ["scenarios/economic_simulation.toml", "scenarios/studies/gode_sunder.toml"] {
        let dir = run(&root().join(file), &out);
        let ts = table(&dir, "timeseries");
        let all: Vec<usize> =
            strs(&ts, "task_type").iter().enumerate().filter(|(_, t)| *t == "all").map(|(i, _)| i).collect();
        let resting = u64s(&ts, "resting_units");
        let empty = all.iter().filter(|&&i| resting[i] == 0).count();
        assert!(
            empty * 4 < all.len(),
            "{file}: {empty} of {} samples show an empty book (the period reset's, not the interval's)",
            all.len()
        );
    }
    let _ = std::fs::remove_dir_all(out);
}
