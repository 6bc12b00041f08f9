//! The run folder as a reader sees it: every table loads back with the documented schema, the
//! metric identities hold (fill rate in [0, 1], fees in the ledger = treasury income, efficiency
//! ≤ 1, no usage-cap breach), every chart and both report pages exist, `synmarket report`
//! (`report_run::rebuild`) redraws byte-identical SVGs and pages from the tables alone, and a
//! run without a single trade still produces every table and chart; on the adversarial study,
//! audits detect every relay at audit rate 1 and none at 0.

use std::path::{Path, PathBuf};

use polars::prelude::{DataFrame, DataType};
use synmarket::output::read_parquet;
use synmarket::run::{simulate, write_run};
use synmarket::scenario::Scenario;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synmarket-it-outputs-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn scenario(extra: &[&str]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/baseline.toml");
    let mut set = vec!["scenario.duration=\"1d\"".to_string()];
    set.extend(extra.iter().map(|s| s.to_string()));
    Scenario::load_with_overrides(path, &set).expect("baseline loads")
}

fn run_into(out: &Path, s: &Scenario) -> PathBuf {
    let r = simulate(s, &mut |_| {}).expect("simulates");
    write_run(out, s, &r, 0.0, false).expect("writes").dir
}

fn table(dir: &Path, name: &str) -> DataFrame {
    read_parquet(dir.join(format!("{name}.parquet"))).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn f64s(df: &DataFrame, col: &str) -> Vec<Option<f64>> {
    let c = df.column(col).unwrap_or_else(|_| panic!("column {col}"));
    let c = c.cast(&DataType::Float64).expect("numeric");
    c.f64().expect("f64").iter().collect()
}

fn first(df: &DataFrame, col: &str) -> f64 {
    f64s(df, col)[0].unwrap_or(f64::NAN)
}

/// `(table, column, type)`: a sample of the documented schema, one or more per table.
const SCHEMA: &[(&str, &str, DataType)] = &[
    ("orders", "order_id", DataType::UInt64),
    ("orders", "placed_at_ms", DataType::UInt64),
    ("assignments", "price_per_unit", DataType::UInt64),
    ("assignments", "provider_reputation", DataType::Float64),
    ("ledger", "amount", DataType::UInt64),
    ("agents", "value_per_unit", DataType::Float64),
    ("timeseries", "interval", DataType::UInt32),
    ("timeseries", "time_end_ms", DataType::UInt64),
    ("timeseries", "fill_rate", DataType::Float64),
    ("timeseries", "relative_deviation", DataType::Float64),
    ("timeseries", "spread", DataType::Int64),
    ("timeseries", "escrow_balance", DataType::UInt64),
    ("price_discovery", "p_star", DataType::Float64),
    ("price_discovery", "q_star_units", DataType::UInt64),
    ("price_discovery", "allocative_efficiency", DataType::Float64),
    ("escrows", "disputes_raised", DataType::UInt64),
    ("sla", "sla_compliance_rate", DataType::Float64),
    ("compliance", "attempted", DataType::UInt64),
    ("welfare", "surplus", DataType::Float64),
    ("summary", "seed", DataType::UInt64),
    ("summary", "fill_rate", DataType::Float64),
    ("summary", "time_to_converge_ms", DataType::Float64),
    ("summary", "treasury_income", DataType::UInt64),
    ("summary", "usage_cap_breaches", DataType::UInt64),
];

const CHARTS: [&str; 9] = [
    "price_convergence",
    "efficiency",
    "liquidity",
    "sla_over_time",
    "sla_by_tier",
    "reputation",
    "escrow",
    "compliance",
    "welfare",
];

fn check_files(dir: &Path) {
    for (t, col, ty) in SCHEMA {
        let df = table(dir, t);
        let c = df.column(col).unwrap_or_else(|_| panic!("{t}.{col} missing"));
        let got = c.dtype();
        let ok = got == ty || (*ty == DataType::String && matches!(got, DataType::String));
        assert!(ok, "{t}.{col}: {got:?}, expected {ty:?}");
    }
    for name in synmarket::metrics::TABLES {
        table(dir, name);
    }
    let summary = table(dir, "summary");
    assert_eq!(summary.height(), 1);
    for c in summary.columns() {
        if c.name().as_str() != "scenario" {
            assert!(c.dtype().is_primitive_numeric(), "summary.{} is {:?}", c.name(), c.dtype());
        }
    }
    for chart in CHARTS {
        for ext in ["png", "svg"] {
            let p = dir.join("charts").join(format!("{chart}.{ext}"));
            assert!(p.metadata().map(|m| m.len() > 1000).unwrap_or(false), "{} missing or empty", p.display());
        }
    }
    for page in ["report.html", "report.md"] {
        assert!(dir.join(page).is_file(), "{page} missing");
    }
}

#[test]
fn run_folder_tables_identities_charts_and_rebuild() {
    let out = tmp("baseline");
    let dir = run_into(&out, &scenario(&[]));
    check_files(&dir);

    let summary = table(&dir, "summary");
    assert!(first(&summary, "trades") > 0.0, "the 1-day baseline trades");
    let fill = first(&summary, "fill_rate");
    assert!((0.0..=1.0).contains(&fill), "fill rate {fill}");
    for v in f64s(&table(&dir, "timeseries"), "fill_rate").into_iter().flatten() {
        assert!((0.0..=1.0).contains(&v), "interval fill rate {v}");
    }
    // Σ fee entries of the ledger = treasury income.
    let ledger = table(&dir, "ledger");
    let kinds = ledger.column("kind").expect("kind").str().expect("str").clone();
    let amounts = f64s(&ledger, "amount");
    let fees: f64 = kinds.iter().zip(&amounts).filter(|(k, _)| *k == Some("fee")).map(|(_, a)| a.unwrap_or(0.0)).sum();
    assert_eq!(fees, first(&summary, "treasury_income"));
    assert!(fees > 0.0);
    // Efficiency ≤ 1 per period and overall.
    let eff = f64s(&table(&dir, "price_discovery"), "allocative_efficiency");
    assert!(eff.iter().flatten().count() > 0);
    for e in eff.into_iter().flatten().chain([first(&summary, "allocative_efficiency")]) {
        assert!(e <= 1.0 + 1e-9, "efficiency {e}");
    }
    assert_eq!(first(&summary, "usage_cap_breaches"), 0.0);
    let sla = first(&summary, "sla_compliance_rate");
    assert!((0.0..=1.0).contains(&sla));

    // Rebuilding from the tables alone gives the same SVGs and pages.
    let before: Vec<Vec<u8>> = CHARTS
        .iter()
        .map(|c| std::fs::read(dir.join("charts").join(format!("{c}.svg"))).expect("svg"))
        .chain(["report.html", "report.md"].iter().map(|p| std::fs::read(dir.join(p)).expect("page")))
        .collect();
    std::fs::remove_dir_all(dir.join("charts")).expect("remove charts");
    std::fs::remove_file(dir.join("report.html")).expect("remove html");
    synmarket::output::run_report::rebuild(&dir).expect("rebuild");
    let after: Vec<Vec<u8>> = CHARTS
        .iter()
        .map(|c| std::fs::read(dir.join("charts").join(format!("{c}.svg"))).expect("svg"))
        .chain(["report.html", "report.md"].iter().map(|p| std::fs::read(dir.join(p)).expect("page")))
        .collect();
    assert!(before == after, "rebuild changed a chart or page");

    // A rerun writes byte-identical metric tables.
    let again = run_into(&tmp("baseline-again"), &scenario(&[]));
    for name in synmarket::metrics::TABLES {
        let a = std::fs::read(dir.join(format!("{name}.parquet"))).expect("a");
        let b = std::fs::read(again.join(format!("{name}.parquet"))).expect("b");
        assert!(a == b, "{name}.parquet differs between reruns");
    }
}

#[test]
fn a_run_without_trades_still_writes_everything() {
    let quiet: Vec<String> = (2..=5).map(|i| format!("population[{i}].arrival_rate=0")).collect();
    let quiet: Vec<&str> = quiet.iter().map(String::as_str).collect();
    let mut set = vec!["scenario.duration=\"6h\""];
    set.extend(quiet);
    let dir = run_into(&tmp("no-trades"), &scenario(&set));
    check_files(&dir);
    let summary = table(&dir, "summary");
    assert_eq!(first(&summary, "trades"), 0.0);
    assert!(f64s(&summary, "vwap")[0].is_none(), "undefined VWAP is null");
    assert_eq!(first(&summary, "fill_rate"), 0.0);
}

/// `(attempted, detected, tokens earned)` of the `relay` row of the adversarial study's
/// compliance table at `audit_rate`.
fn adversarial_relays(audit_rate: &str) -> (f64, f64, f64) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/studies/adversarial.toml");
    let set = ["scenario.duration=\"1d\"".to_string(), format!("market.audit_rate={audit_rate}")];
    let s = Scenario::load_with_overrides(path, &set).expect("adversarial loads");
    let r = simulate(&s, &mut |_| {}).expect("simulates");
    let c = synmarket::metrics::compute(&s, &r).expect("metrics").compliance;
    let kinds = c.column("kind").expect("kind").str().expect("str").clone();
    let row = kinds.iter().position(|k| k == Some("relay")).expect("relay row");
    let at = |col: &str| f64s(&c, col)[row].unwrap_or(f64::NAN);
    (at("attempted"), at("detected"), at("tokens_earned_by_violators"))
}

#[test]
fn audits_detect_every_relay_at_rate_one_and_none_at_zero() {
    let (attempted, detected, earned) = adversarial_relays("1.0");
    assert!(attempted > 0.0, "relays attempt violations");
    assert_eq!(detected, attempted, "audit rate 1: every relay detected");
    assert_eq!(earned, 0.0, "detected relays forfeit their escrow");
    let (attempted, detected, earned) = adversarial_relays("0.0");
    assert!(attempted > 0.0);
    assert_eq!(detected, 0.0, "audit rate 0: nothing detected");
    assert!(earned > 0.0, "undetected relays are paid");
}

/// Every chart in `dir/charts` keeps its text on the canvas, uncut (only the legend's "… and N
/// more" may hold "…"); every chart over simulated time labels its axis at 0 and at `end` (the
/// run's end as the axis prints it). Returns each chart's texts by file stem.
pub(crate) fn assert_charts_are_readable(
    dir: &Path,
    end: Option<f64>,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out = std::collections::BTreeMap::new();
    let charts = dir.join("charts");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&charts)
        .unwrap_or_else(|e| panic!("{}: {e}", charts.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no charts in {}", charts.display());
    for f in files {
        let svg = std::fs::read_to_string(&f).expect("svg");
        let boxes = synmarket::charts::text_boxes(&svg).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let (w, h) = (synmarket::charts::WIDTH as f32, synmarket::charts::HEIGHT as f32);
        for b in &boxes {
            let [l, t, r, bottom] = b.bounds;
            assert!(
                l >= 0.0 && t >= 0.0 && r <= w && bottom <= h,
                "{}: {:?} at {:?} is clipped",
                f.display(),
                b.text,
                b.bounds
            );
            assert!(!b.text.contains('…') || b.text.starts_with("… and "), "{}: {:?} was cut", f.display(), b.text);
        }
        let texts: Vec<String> = boxes.into_iter().map(|b| b.text).collect();
        if let Some(end) = end
            && texts.iter().any(|t| t.starts_with("simulated time ("))
        {
            let labelled = |v: f64| texts.iter().any(|t| t.parse::<f64>().is_ok_and(|x| (x - v).abs() < 1e-3));
            assert!(
                labelled(0.0) && labelled(end),
                "{}: time axis ends not labelled 0 and {end}: {texts:?}",
                f.display()
            );
        }
        out.insert(f.file_stem().unwrap().to_string_lossy().to_string(), texts);
    }
    out
}

#[test]
fn charts_of_the_shipped_scenarios_are_readable() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (file, end) in [
        ("scenarios/baseline.toml", 7.0),
        ("scenarios/economic_simulation.toml", 100.0 / 24.0),
        ("scenarios/studies/gode_sunder.toml", 10.0),
        // Fifteen populations with long names: category labels wrap, never cut.
        ("scenarios/studies/adversarial.toml", 72.0),
    ] {
        let s = Scenario::load_with_overrides(root.join(file), &[]).expect("loads");
        let dir = run_into(&tmp(&file.replace('/', "-")), &s);
        let texts = assert_charts_are_readable(&dir, Some(end));
        let has = |chart: &str, text: &str| texts[chart].iter().any(|t| t == text);
        if file.ends_with("baseline.toml") {
            // The equilibrium range is one price in nearly every interval: no legend entry for it.
            assert!(!has("price_convergence", "equilibrium price range [P* low, P* high]"), "{file}");
            assert!(has("escrow", "no disputes in this run"), "{file}");
            assert!(has("compliance", "no violations attempted or detected in this run"), "{file}");
        }
        if file.ends_with("gode_sunder.toml") {
            assert!(
                has("price_convergence", "period boundary") && has("price_convergence", "task type: unit"),
                "{file}"
            );
        }
        assert!(has("welfare", "surplus per requester (value − price paid)"), "{file}");
    }
}

/// A run whose duration is not a multiple of the sample interval ends with a partial interval
/// that has no book sample: its depth is unknown (null), not an empty book (0).
#[test]
fn an_unsampled_last_interval_has_null_depth() {
    let s = scenario(&["scenario.duration=\"1d1h30m\""]);
    let dir = run_into(&tmp("partial"), &s);
    let ts = table(&dir, "timeseries");
    let depth = ts.column("resting_units").expect("resting_units").u64().expect("u64").clone();
    let n = depth.len();
    let rows_per_interval = s.task_types.len() + 1;
    assert!(depth.get(n - 1).is_none(), "last (partial) interval: {:?}", depth.get(n - 1));
    assert!(depth.get(n - 1 - rows_per_interval).is_some_and(|v| v > 0), "the interval before is sampled");
    let mean = first(&table(&dir, "summary"), "resting_units_mean");
    let sampled: Vec<f64> = f64s(&ts, "resting_units")
        .iter()
        .enumerate()
        .filter(|(i, v)| i % rows_per_interval == rows_per_interval - 1 && v.is_some())
        .map(|(_, v)| v.unwrap())
        .collect();
    assert!(
        (mean - sampled.iter().sum::<f64>() / sampled.len() as f64).abs() < 1e-9,
        "mean over sampled intervals only"
    );
}

/// Without the ledger the escrow peak is the largest sampled balance: a lower bound of the true
/// peak, never 0.
#[test]
fn the_escrow_peak_without_a_ledger_is_a_lower_bound() {
    let with = first(&table(&run_into(&tmp("peak-ledger"), &scenario(&[])), "summary"), "escrow_balance_peak");
    let without = run_into(&tmp("peak-no-ledger"), &scenario(&["market.retain_ledger=false"]));
    let peak = first(&table(&without, "summary"), "escrow_balance_peak");
    let sampled = f64s(&table(&without, "timeseries"), "escrow_balance").into_iter().flatten().fold(0.0, f64::max);
    assert!(peak > 0.0 && peak <= with && peak >= sampled, "peak {peak}, with ledger {with}, largest sample {sampled}");
}

/// The report's convergence sentences in the user's words: a task type whose every interval with
/// trades was within the threshold, too few of them for the rule, says so and how many the rule
/// needs, rather than "only in its last 1 of 1" (market_simulation's ml_training trades in one
/// interval).
#[test]
fn a_few_intervals_with_trades_are_described_as_such() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/market_simulation.toml");
    let s = Scenario::load(path).expect("market_simulation loads");
    let dir = run_into(&tmp("few-intervals"), &s);
    let page = std::fs::read_to_string(dir.join("report.md")).expect("report.md");
    let line = page.lines().find(|l| l.starts_with("ml_training")).expect("an ml_training convergence sentence");
    assert!(line.contains("its one interval with trades had the VWAP within"), "{line}");
    assert!(line.contains("convergence needs 5 such intervals at the end"), "{line}");
    for n in 1..=20 {
        assert!(!page.contains(&format!("only in its last {n} of {n} intervals")), "{page}");
    }
}
