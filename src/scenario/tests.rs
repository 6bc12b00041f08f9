//! Tests of the scenario layer: the baseline, defaults, round trips, overrides, every rejected
//! input (the message names the file, the TOML path and the reason) and no panic on garbage.

use proptest::prelude::*;
use synmarket_agents::Strategy;
use synmarket_agents::population::Rate;
use synmarket_agents::spec::{Dist, DurationDist, PrivacyMix, Reliability, Role};
use synmarket_agents::{StrategySpec, strategies::fixed_markup};
use synmarket_engine::{MarketConfig, MultiSigType};

use super::duration::{HOUR, MINUTE};
use super::*;

const FILE: &str = "t.toml";

const MIN: &str = r#"
[scenario]
name = "t"
seed = 1
duration = "1d"

[[task_type]]
name = "a"
capabilities = ["x", "y"]

[[task_type]]
name = "b"

[[population]]
name = "req"
role = "requester"
count = 3

[[population]]
name = "prov"
role = "provider"
count = 2
"#;

fn baseline_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/baseline.toml")
}

fn load(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::from_toml_str(text, FILE)
}

fn with(overrides: &[&str]) -> Result<Scenario, ScenarioError> {
    let mut v = parse_document(MIN, FILE).unwrap();
    let parsed: Vec<_> = overrides.iter().map(|o| parse_override(o).unwrap()).collect();
    apply_overrides(&mut v, &parsed).unwrap();
    Scenario::from_value(&v, FILE)
}

#[track_caller]
fn assert_err(r: Result<Scenario, ScenarioError>, path: &str, reason: &str) -> String {
    let msg = match r {
        Ok(_) => panic!("expected an error at {path} ({reason}), got a valid scenario"),
        Err(e) => e.to_string(),
    };
    assert!(msg.starts_with(FILE), "no file name in: {msg}");
    assert!(msg.contains(&format!(": {path}: ")), "no path `{path}` in: {msg}");
    assert!(msg.contains(reason), "no reason `{reason}` in: {msg}");
    assert!(!msg.contains('\n'), "not one line: {msg}");
    msg
}

fn temp_file(tag: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("synmarket-scenario-{}-{tag}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

// ---- the baseline -------------------------------------------------------------------------------

#[test]
fn baseline_loads_with_the_documented_shape() {
    let s = Scenario::load(baseline_path()).unwrap();
    assert_eq!(s.name, "baseline");
    assert_eq!(s.duration_ms, 7 * 24 * HOUR);
    assert_eq!(s.agents_with_role(Role::Requester), 200);
    assert_eq!(s.agents_with_role(Role::Provider), 100);
    assert!(s.agents_with_role(Role::Arbitrator) > 0);
    assert_eq!(s.task_types.len(), 3);
    let orders = s.expected_orders();
    assert!((20_000.0..=60_000.0).contains(&orders), "{orders} orders");
    assert_eq!(s.market.market_seed, market_seed(s.seed));
    assert!(s.populations.iter().any(|p| p.providing.reliability.no_show_probability > 0.1));
    assert!(s.populations.iter().any(|p| p.kind() == Strategy::Truthful));
    assert!(s.populations.iter().any(|p| p.kind() == Strategy::FixedMarkup));
}

#[test]
fn resolved_toml_round_trips() {
    for s in [Scenario::load(baseline_path()).unwrap(), load(MIN).unwrap()] {
        let text = s.to_toml_string();
        let again = Scenario::from_toml_str(&text, "resolved.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(again, s);
        assert_eq!(again.to_toml_string(), text, "the resolved form is a fixed point");
    }
}

#[test]
fn resolved_toml_writes_the_institution_and_its_own_keys_with_their_defaults() {
    for (inst, own) in [
        ("first_accept", None),
        ("continuous_double_auction", Some("clear_book_after_trade = false")),
        ("sealed_bid_reverse", Some("sealed_bid_price = \"first_price\"")),
        ("call_market", Some("call_interval = \"1m\"")),
    ] {
        let s = with(&[&format!("market.institution=\"{inst}\"")]).unwrap();
        let text = s.to_toml_string();
        assert!(text.contains(&format!("institution = \"{inst}\"")), "{text}");
        for key in ["clear_book_after_trade", "sealed_bid_price", "call_interval"] {
            let expected = own.is_some_and(|o| o.starts_with(key));
            assert_eq!(text.contains(&format!("\n{key} = ")), expected, "{inst}: {key}\n{text}");
        }
        if let Some(o) = own {
            assert!(text.contains(o), "{inst}: {o}\n{text}");
        }
        let again = Scenario::from_toml_str(&text, "resolved.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(again, s);
    }
}

#[test]
fn keys_of_another_institution_are_refused_when_written_even_with_their_default() {
    for (set, key) in [
        ("market.call_interval=\"1m\"", "market.call_interval"),
        ("market.clear_book_after_trade=false", "market.clear_book_after_trade"),
        ("market.sealed_bid_price=\"first_price\"", "market.sealed_bid_price"),
    ] {
        assert_err(with(&[set]), key, "applies to `institution = ");
    }
    let cm = "market.institution=\"call_market\"";
    assert_err(
        with(&[cm, "market.sealed_bid_price=\"first_price\""]),
        "market.sealed_bid_price",
        "not to the call market",
    );
    with(&[cm, "market.call_interval=\"1m\""]).unwrap();
    // A call interval longer than the run would never call.
    assert_err(with(&[cm, "market.call_interval=\"2d\""]), "market.call_interval", "2d is longer than the run (1d)");
    // `pricing` is first-accept's: under the others the resolved file leaves it out and reads back.
    let s = with(&["market.institution=\"continuous_double_auction\"", "market.pricing=\"resting\""]).unwrap();
    let text = s.to_toml_string();
    assert!(!text.contains("\npricing = "), "{text}");
    assert_eq!(Scenario::from_toml_str(&text, "r.toml").unwrap(), s);
    assert_eq!(s.market.price_rule_name(), "resting");
}

#[test]
fn schedules_of_unit_values_read_check_and_round_trip() {
    let s = with(&[
        "population[0].value_per_unit={ schedule = [[150, 120], [140], [130, 130, 90]] }",
        "population[1].cost_per_unit={ schedule = [[50, 80], [60, 60, 100]] }",
    ])
    .unwrap();
    assert_eq!(s.populations[0].schedule().unwrap()[2], vec![130.0, 130.0, 90.0]);
    assert_eq!(s.populations[0].units_per_period(0), Some(2));
    assert_eq!(s.populations[0].units_per_period(1), Some(1));
    assert_eq!(s.populations[1].units_per_period(1), Some(3));
    let text = s.to_toml_string();
    assert!(text.contains("value_per_unit = { schedule = [[150.0, 120.0], [140.0], [130.0, 130.0, 90.0]] }"), "{text}");
    assert_eq!(Scenario::from_toml_str(&text, "r.toml").unwrap(), s);
    // Every hostile value names its place in the file.
    let req = "population[0].value_per_unit";
    let cases: [(&str, &str, &str); 9] = [
        (
            "population[0].value_per_unit={ schedule = [[150], [140]] }",
            "population[0].value_per_unit.schedule",
            "2 lists for 3 agents (`count = 3`): write one list of unit values per agent",
        ),
        (
            "population[0].value_per_unit={ schedule = [[150], [120, 140], [1]] }",
            "population[0].value_per_unit.schedule[1][1]",
            "140 after 120: a buyer's unit values run from the highest down, in the order its units trade",
        ),
        (
            "population[1].cost_per_unit={ schedule = [[50, 40], [1]] }",
            "population[1].cost_per_unit.schedule[0][1]",
            "40 after 50: a seller's unit costs run from the lowest up",
        ),
        (
            "population[0].value_per_unit={ schedule = [[150], [], [1]] }",
            "population[0].value_per_unit.schedule[1]",
            "an empty list: each trader of a schedule trades at least one unit",
        ),
        (
            "population[0].value_per_unit={ schedule = [[150], [-1], [1]] }",
            "population[0].value_per_unit.schedule[1][0]",
            "-1",
        ),
        (
            "population[0].value_per_unit={ schedule = [150, 140, 1] }",
            "population[0].value_per_unit.schedule[0]",
            "schedule: expected one array of numbers per trader",
        ),
        (
            "population[0].value_per_unit={ schedule = [[1]], uniform = [1, 2] }",
            req,
            "a schedule table has the one key `schedule`",
        ),
        ("population[0].value_per_unit={ schedul = [[1]] }", req, "unknown distribution `schedul`"),
        ("population[0].value_per_unit={ schedule = [[1], [1], [1]] }", "", ""),
    ];
    for (set, path, reason) in cases {
        if path.is_empty() {
            with(&[set]).unwrap();
            continue;
        }
        assert_err(with(&[set]), path, reason);
    }
    // A schedule sets the units per period and one unit per order.
    let sched = "population[0].value_per_unit={ schedule = [[3], [2], [1]] }";
    assert_err(
        with(&[sched, "population[0].units_per_period=2"]),
        "population[0].units_per_period",
        "is set by the schedule",
    );
    assert_err(with(&[sched, "population[0].units=2"]), "population[0].units", "orders one unit at a time");
    with(&[sched, "population[0].units=1"]).unwrap();
}

#[test]
fn unusual_values_round_trip() {
    let s = with(&[
        "scenario.seed=\"0xffffffffffffffff\"",
        "scenario.periods=4",
        "market.escrow={ arbitrators = { required = 2, total = 3 } }",
        "market.reputation.decay_half_life=3d",
        "task_type[0].duration={ lognormal = [\"20m\", 0.5] }",
        "task_type[1].units={ choice = [10, 20, 40] }",
        "population[0].sla={ max_response = { normal = [\"5m\", \"1m\"] }, quality_minimums = { q = 0.5 } }",
        "population[1].reliability={ start_delay = { lognormal = [10.5, 0.3] } }",
        "population[1].usage_cap_units_per_day=5000",
        "population[0].units={ normal = [100, 10] }",
        "population[0].task_mix={ b = 1, a = 2 }",
    ]);
    // arbitrated escrows need arbitrators
    assert_err(s, "market.escrow", "only 0 arbitrator agents");
    let mut v = parse_document(MIN, FILE).unwrap();
    v["population"]
        .as_array_mut()
        .unwrap()
        .push(parse_override_value("{ name = \"arb\", role = \"arbitrator\", count = 3 }"));
    for o in [
        "scenario.seed=\"0xffffffffffffffff\"",
        "scenario.periods=4",
        "market.escrow={ arbitrators = { required = 2, total = 3 } }",
        "task_type[0].duration={ lognormal = [\"20m\", 0.5] }",
        "population[0].sla={ max_response = { normal = [\"5m\", \"1m\"] }, quality_minimums = { q = 0.5 } }",
        "population[1].reliability={ start_delay = { lognormal = [10.5, 0.3] } }",
        "population[0].task_mix={ b = 1, a = 2 }",
    ] {
        apply_override(&mut v, o).unwrap();
    }
    let s = Scenario::from_value(&v, FILE).unwrap();
    assert_eq!(s.seed, u64::MAX);
    assert_eq!(s.period_ms(), 6 * HOUR);
    assert_eq!(s.populations[0].trading.task_mix, [("a".to_string(), 2.0), ("b".to_string(), 1.0)].into());
    let again = Scenario::from_toml_str(&s.to_toml_string(), "resolved.toml").unwrap();
    assert_eq!(again, s);
    let s = Scenario::from_value(&v, FILE).unwrap();
    let mut v2 = v.clone();
    apply_override(&mut v2, "market.escrow={ time_locked = \"2h\" }").unwrap();
    let t = Scenario::from_value(&v2, FILE).unwrap();
    assert_eq!(t.market.escrow, MultiSigType::TimeLocked { release_after_ms: 2 * HOUR });
    assert_eq!(Scenario::from_toml_str(&t.to_toml_string(), "r.toml").unwrap(), t);
    assert_ne!(s, t);
}

#[test]
fn readme_example_loads() {
    let readme = std::fs::read_to_string(baseline_path().with_file_name("README.md")).unwrap();
    let example = readme.split("## Example").nth(1).unwrap();
    let toml_text = example.split("```toml").nth(1).unwrap().split("```").next().unwrap();
    let s = Scenario::from_toml_str(toml_text, "README.md").unwrap();
    assert_eq!(s.name, "tiny");
    assert_eq!(
        s.populations[1].providing.reliability.start_delay_ms,
        DurationDist(Dist::LogNormal(20_000f64.ln(), 0.8))
    );
    assert_eq!(Scenario::from_toml_str(&s.to_toml_string(), "r.toml").unwrap(), s);
}

// ---- defaults -----------------------------------------------------------------------------------

#[test]
fn defaults_are_filled_in() {
    let s = load(MIN).unwrap();
    assert_eq!(s.seed, 1);
    assert_eq!(s.sample_interval_ms, HOUR);
    assert_eq!(s.periods, None);
    assert_eq!(s.market, MarketConfig { market_seed: market_seed(1), ..MarketConfig::default() });
    assert_eq!(s.task_types[0].capabilities_needed, Some(Dist::Fixed(1.0)));
    assert_eq!(s.task_types[1].capabilities_needed, Some(Dist::Fixed(0.0)));
    assert_eq!(s.task_types[0].units, Dist::Uniform(10.0, 100.0));
    assert_eq!(s.task_types[0].duration_ms, DurationDist(Dist::Uniform(5.0 * 60_000.0, 30.0 * 60_000.0)));
    let (r, p) = (&s.populations[0], &s.populations[1]);
    assert_eq!(r.kind(), Strategy::ZiConstrained);
    assert_eq!(p.kind(), Strategy::ZiConstrained);
    assert_eq!(r.common.budget, Dist::Fixed(1_000_000.0));
    assert_eq!(p.common.budget, Dist::Fixed(0.0));
    assert_eq!(r.requesting.value_per_unit, Dist::Uniform(40.0, 80.0).into());
    assert_eq!(p.providing.cost_per_unit, Dist::Uniform(20.0, 60.0).into());
    assert_eq!(r.trading.task_mix, [("a".to_string(), 1.0), ("b".to_string(), 1.0)].into());
    assert_eq!(r.trading.arrival_rate_per_hour, Rate(1.0));
    assert_eq!((r.trading.min_price, r.trading.max_price), (1.0, 200.0));
    assert_eq!(r.requesting.privacy_mix, PrivacyMix::default());
    assert_eq!(r.requesting.sla, None);
    assert_eq!(r.trading.order_ttl_ms, None);
    assert_eq!(p.providing.capability_coverage, 1.0);
    assert_eq!(p.providing.reliability, Reliability::default());
    let short = load(&MIN.replace("duration = \"1d\"", "duration = \"30m\"")).unwrap();
    assert_eq!(short.sample_interval_ms, 30 * MINUTE);
}

#[test]
fn arbitrators_and_sla_defaults() {
    let s = with(&["population[0].sla={}", "population[1].strategy=fixed_markup"]).unwrap();
    let sla = s.populations[0].requesting.sla.clone().unwrap();
    assert_eq!(sla.probability, 1.0);
    assert_eq!(sla.max_response_ms, DurationDist(Dist::Fixed((5 * MINUTE) as f64)));
    assert_eq!(sla.penalty_fraction, 0.1);
    assert_eq!(s.populations[1].strategy, StrategySpec::FixedMarkup(fixed_markup::Params::default()));
    let text = MIN.to_string() + "\n[[population]]\nname = \"arb\"\nrole = \"arbitrator\"\ncount = 2\n";
    let s = load(&text).unwrap();
    assert_eq!(s.populations[2].kind(), Strategy::HonestArbitrator);
    assert!(!s.to_toml_string().contains(
        "name = \"arb\"\nrole = \"arbitrator\"\ncount = 2\nstrategy = \"honest_arbitrator\"\nbudget = 0.0\ntask_mix"
    ));
}

#[test]
fn market_seed_is_mixed_from_the_seed() {
    assert_eq!(market_seed(0), splitmix64(MARKET_SEED_STREAM));
    assert_ne!(market_seed(1), market_seed(2));
    assert_eq!(with(&["scenario.seed=7"]).unwrap().market.market_seed, market_seed(7));
}

// ---- overrides ----------------------------------------------------------------------------------

#[test]
fn overrides_change_values() {
    let s = with(&[
        "market.fee_bps=0",
        "population[1].count=7",
        "scenario.duration=3d",
        "market.pricing=midpoint",
        "market.escrow=both_parties",
        "task_type[0].units={ uniform = [20, 30] }",
    ])
    .unwrap();
    assert_eq!(s.market.fee_bps, 0);
    assert_eq!(s.populations[1].count, 7);
    assert_eq!(s.duration_ms, 72 * HOUR);
    assert_eq!(s.market.escrow, MultiSigType::BothParties);
    assert_eq!(s.task_types[0].units, Dist::Uniform(20.0, 30.0));
    let mut v = parse_document(MIN, FILE).unwrap();
    apply_overrides(&mut v, &[("market.fee_bps".into(), toml::Value::Integer(250))]).unwrap();
    assert_eq!(Scenario::from_value(&v, FILE).unwrap().market.fee_bps, 250);
}

#[test]
fn overrides_through_files() {
    let path = temp_file("overrides", MIN);
    let file = path.display().to_string();
    let s = Scenario::load_with_overrides(&path, &["market.fee_bps=0".into(), "population[0].count=9".into()]).unwrap();
    assert_eq!((s.market.fee_bps, s.populations[0].count), (0, 9));
    let e = Scenario::load_with_overrides(&path, &["market.fe_bps=0".into()]).unwrap_err().to_string();
    assert!(
        e.starts_with(&file)
            && e.contains("market.fe_bps")
            && e.contains("unknown key `fe_bps`; did you mean `fee_bps`?"),
        "{e}"
    );
    assert!(e.contains("set by override"), "{e}");
    let e = Scenario::load_with_overrides(&path, &["population[5].count=1".into()]).unwrap_err();
    assert_eq!(e.path(), Some("population[5].count"));
    assert!(e.to_string().contains("has 2 entries"), "{e}");
    let e = Scenario::load_with_overrides(&path, &["fee_bps".into()]).unwrap_err().to_string();
    assert!(e.contains("dotted.key=value"), "{e}");
    let e = Scenario::load_with_overrides(&path, &["population[0].count=zero".into()]).unwrap_err();
    assert!(
        e.to_string().contains("population[0].count")
            && e.to_string().contains("expected a whole number, found the text \"zero\""),
        "{e}"
    );
    let _ = std::fs::remove_file(path);
}

/// An error in a value the user wrote keeps its line:column when an override changes another
/// key (it was dropped: the overrides rewrite the document); an error in a value an override
/// set has none and says which override set it.
#[test]
fn overrides_keep_the_location_of_values_written_in_the_file() {
    let path = temp_file("overrides-location", &MIN.replacen("count = 3", "count = 0", 1));
    let location = |overrides: &[String]| match Scenario::load_with_overrides(&path, overrides).unwrap_err() {
        ScenarioError::Invalid { path, location, reason, .. } => (path, location, reason),
        other => panic!("{other}"),
    };
    let (key, written, _) = location(&[]);
    assert_eq!(key, "population[0].count");
    assert!(written.is_some(), "no location without overrides");
    let (key, with_other, reason) = location(&["market.fee_bps=5".into()]);
    assert_eq!((key.as_str(), with_other), ("population[0].count", written), "{reason}");
    assert!(!reason.contains("set by"), "{reason}");
    let (_, with_same, reason) = location(&["population[0].count=0".into()]);
    assert_eq!(with_same, None, "an override set it");
    assert!(reason.contains("set by override `population[0].count`"), "{reason}");
    let _ = std::fs::remove_file(path);
}

// ---- rejected inputs ----------------------------------------------------------------------------

#[test]
fn rejects_unreadable_or_missing_files() {
    let missing = std::env::temp_dir().join("synmarket-no-such-scenario.toml");
    let e = Scenario::load(&missing).unwrap_err().to_string();
    assert!(e.contains("synmarket-no-such-scenario.toml") && e.contains("cannot read"), "{e}");
    let e = Scenario::load(std::env::temp_dir()).unwrap_err().to_string();
    assert!(e.contains("not a regular file"), "{e}");
    let path = std::env::temp_dir().join(format!("synmarket-latin1-{}.toml", std::process::id()));
    std::fs::write(&path, b"[scenario]\nname = \"\xe9\"\n").unwrap();
    let e = Scenario::load(&path).unwrap_err().to_string();
    assert!(e.contains("UTF-8"), "{e}");
    let _ = std::fs::remove_file(path);
}

#[test]
fn syntax_errors_have_line_and_column() {
    let e = load("[scenario]\nname = \"t\"\nduration = \n").unwrap_err();
    assert!(matches!(e, ScenarioError::Syntax { line: 3, .. }), "{e}");
    assert!(e.to_string().starts_with("t.toml:3:"), "{e}");
    let e = load("[scenario\n").unwrap_err().to_string();
    assert!(e.starts_with("t.toml:1:10: TOML syntax error"), "{e}");
    let e = load("[scenario]\nname = \"a\"\nname = \"b\"\n").unwrap_err().to_string();
    assert!(e.starts_with("t.toml:3:1") && e.contains("duplicate key"), "{e}");
}

#[test]
fn rejects_unknown_keys() {
    let msg = assert_err(load(&format!("bogus = 1\n{MIN}")), "bogus", "unknown key `bogus`");
    assert!(msg.starts_with("t.toml:1:1:"), "{msg}");
    let text = MIN.replace("count = 2", "count = 2\ncolour = \"red\"");
    let msg = assert_err(load(&text), "population[1].colour", "unknown key `colour`");
    assert!(msg.starts_with("t.toml:23:1:"), "{msg}");
    assert_err(with(&["market.fe_bps=1"]), "market.fe_bps", "unknown key `fe_bps`; did you mean `fee_bps`?");
    assert_err(with(&["market.reputation.start=1"]), "market.reputation.start", "unknown key `start`");
    assert_err(
        with(&["population[0].sla={ probabilty = 0.5 }"]),
        "population[0].sla.probabilty",
        "did you mean `probability`?",
    );
    assert_err(with(&["scenario.sed=1"]), "scenario.sed", "did you mean `seed`?");
    assert_err(with(&["task_type[0].unit=5"]), "task_type[0].unit", "did you mean `units`?");
    assert_err(with(&["market.market_seed=5"]), "market.market_seed", "derived from scenario.seed");
}

#[test]
fn rejects_wrong_types() {
    assert_err(
        with(&["population[0].count=\"three\""]),
        "population[0].count",
        "expected a whole number, found the text \"three\"",
    );
    assert_err(with(&["market.fee_bps=1.5"]), "market.fee_bps", "expected a whole number ≥ 0, found 1.5");
    assert_err(with(&["market.verify_signatures=1"]), "market.verify_signatures", "expected true or false, found 1");
    assert_err(
        with(&["population[0].role=\"buyer\""]),
        "population[0].role",
        "unknown value `buyer` (expected one of requester, provider, arbitrator)",
    );
    assert_err(with(&["market.pricing=cheapest"]), "market.pricing", "unknown value `cheapest`");
    assert_err(with(&["population[0].budget=true"]), "population[0].budget", "expected a number");
    assert_err(with(&["population[0].budget=\"lots\""]), "population[0].budget", "expected a number");
    assert_err(with(&["scenario.duration=7"]), "scenario.duration", "durations need a unit");
    assert_err(
        with(&["task_type[0].capabilities=\"x\""]),
        "task_type[0].capabilities",
        "expected a list [ ... ], found the text \"x\"",
    );
    assert_err(with(&["population[0].arrival_rate=\"fast\""]), "population[0].arrival_rate", "orders per hour");
    assert_err(with(&["market.escrow=quadruple"]), "market.escrow", "unknown value `quadruple`");
    assert_err(with(&["scenario.seed=-1"]), "scenario.seed", "negative");
    assert_err(with(&["scenario.seed=true"]), "scenario.seed", "expected a whole-number seed");
    assert_err(with(&["scenario.seed=\"0xzz\""]), "scenario.seed", "is not a seed: write a whole number");
    let msg = assert_err(load(&MIN.replace("name = \"t\"\n", "")), "scenario", "missing key `name`");
    assert!(msg.starts_with("t.toml:2:1:"), "{msg}");
}

#[test]
fn rejects_bad_distributions() {
    let p = "task_type[0].units";
    assert_err(
        with(&["task_type[0].units={ uniform = [500, 10] }"]),
        "task_type[0].units.uniform",
        "lower bound 500 is above upper bound 10",
    );
    assert_err(
        with(&["task_type[0].units={ normal = [50, -1] }"]),
        "task_type[0].units.normal",
        "standard deviation -1 is negative",
    );
    assert_err(
        with(&["task_type[0].units={ lognormal = [3, -0.5] }"]),
        "task_type[0].units.lognormal",
        "sigma -0.5 is negative",
    );
    assert_err(with(&["task_type[0].units={ uniform = [1] }"]), p, "uniform needs exactly 2 values");
    assert_err(with(&["task_type[0].units={ gamma = [1, 2] }"]), p, "unknown distribution `gamma`");
    assert_err(with(&["task_type[0].units={ uniform = [1, 2], normal = [1, 2] }"]), p, "exactly one key");
    assert_err(with(&["task_type[0].units={ choice = [] }"]), p, "choice needs 1 to");
    assert_err(with(&["task_type[0].units=0"]), p, "outside [1, 1000000]");
    assert_err(with(&["task_type[0].units=nan"]), p, "finite");
    assert_err(with(&["task_type[0].units={ uniform = [1, inf] }"]), "task_type[0].units.uniform", "finite");
    assert_err(with(&["task_type[0].capabilities_needed=3"]), "task_type[0].capabilities_needed", "outside [0, 2]");
    assert_err(with(&["task_type[0].duration=\"0s\""]), "task_type[0].duration", "outside (0s");
    assert_err(with(&["task_type[0].duration=30"]), "task_type[0].duration", "duration in quotes");
    assert_err(
        with(&["task_type[0].duration={ uniform = [\"5m\", \"5 m\"] }"]),
        "task_type[0].duration",
        "\"5 m\" is not a duration",
    );
    assert_err(
        with(&["population[0].value_per_unit={ uniform = [-5, 10] }"]),
        "population[0].value_per_unit.uniform",
        "outside",
    );
}

#[test]
fn rejects_bad_counts_and_sizes() {
    assert_err(with(&["population[0].count=0"]), "population[0].count", "at least 1");
    assert_err(with(&["population[0].count=-4"]), "population[0].count", "at least 1");
    assert_err(with(&["population[0].count=1000001"]), "population[0].count", "limit of 1000000");
    let mut v = parse_document(MIN, FILE).unwrap();
    apply_override(&mut v, "population[0].count=1000000").unwrap();
    apply_override(&mut v, "population[1].count=1000000").unwrap();
    v["population"]
        .as_array_mut()
        .unwrap()
        .push(parse_override_value("{ name = \"arb\", role = \"arbitrator\", count = 1 }"));
    assert_err(Scenario::from_value(&v, FILE), "population[2].count", "limit of 2000000");
    assert_err(
        with(&["population[0].count=1000000", "population[0].arrival_rate=10"]),
        "population[0].arrival_rate",
        "orders",
    );
    assert_err(with(&["population[0].arrival_rate=-1"]), "population[0].arrival_rate", "outside");
    assert_err(
        with(&["population[0].arrival_rate={ poisson_rate_per_hour = 4000 }"]),
        "population[0].arrival_rate",
        "outside",
    );
    assert_err(with(&["scenario.duration=366d"]), "scenario.duration", "limit of 365d");
    assert_err(
        with(&["scenario.duration=365d", "scenario.sample_interval=1s"]),
        "scenario.sample_interval",
        "limit of 1000000",
    );
    let many: Vec<String> = (0..121).map(|i| format!("\"c{i}\"")).collect();
    let o = format!("task_type[0].capabilities=[{}]", many.join(", "));
    assert_err(with(&[&o]), "task_type[0].capabilities", "limit of 120");
    let a: Vec<String> = (0..100).map(|i| format!("\"a{i}\"")).collect();
    let b: Vec<String> = (0..100).map(|i| format!("\"b{i}\"")).collect();
    let (oa, ob) = (
        format!("task_type[0].capabilities=[{}]", a.join(",")),
        format!("task_type[1].capabilities=[{}]", b.join(",")),
    );
    assert_err(with(&[&oa, &ob]), "task_type[1].capabilities[27]", "more than 127 distinct");
    assert_err(with(&["scenario.periods=0"]), "scenario.periods", "outside 1 to 10000");
    assert_err(with(&["scenario.periods=7"]), "scenario.periods", "equal periods");
}

#[test]
fn rejects_missing_roles() {
    assert_err(load(MIN.split("[[population]]").next().unwrap()), "population", "at least one [[population]]");
    assert_err(with(&["population[0].role=provider"]), "population", "no population has role = \"requester\"");
    assert_err(with(&["population[1].role=requester"]), "population", "no population has role = \"provider\"");
    let text = MIN.split("[[task_type]]").next().unwrap().to_string() + &MIN[MIN.find("[[population]]").unwrap()..];
    assert_err(load(&text), "task_type", "at least one [[task_type]]");
}

#[test]
fn rejects_probabilities_outside_unit_interval() {
    assert_err(
        with(&["population[0].sla={ probability = 1.5 }"]),
        "population[0].sla.probability",
        "not a probability",
    );
    assert_err(
        with(&["population[0].sla={ quality_minimums = { acc = 2 } }"]),
        "population[0].sla.quality_minimums.acc",
        "not a probability",
    );
    assert_err(
        with(&["population[1].reliability={ no_show_probability = -0.1 }"]),
        "population[1].reliability.no_show_probability",
        "not a probability",
    );
    assert_err(
        with(&["population[1].reliability={ availability = { uniform = [0.5, 1.2] } }"]),
        "population[1].reliability.availability.uniform",
        "outside [0, 1]",
    );
    assert_err(
        with(&["population[1].capability_coverage=2"]),
        "population[1].capability_coverage",
        "not a probability",
    );
    assert_err(with(&["market.audit_rate=1.5"]), "market.audit_rate", "not a probability");
    assert_err(with(&["market.audit_rate=nan"]), "market.audit_rate", "finite");
    assert_err(with(&["population[0].min_price=inf"]), "population[0].min_price", "finite");
    assert_err(
        with(&["population[0].privacy_mix={ public = -1, private = 1 }"]),
        "population[0].privacy_mix.public",
        "negative",
    );
    assert_err(with(&["population[0].privacy_mix={}"]), "population[0].privacy_mix", "positive weight");
}

#[test]
fn rejects_unknown_names_and_duplicates() {
    assert_err(
        with(&["population[0].task_mix={ nope = 1 }"]),
        "population[0].task_mix.nope",
        "unknown task type `nope` (known: a, b)",
    );
    assert_err(with(&["population[0].task_mix={ a = 0 }"]), "population[0].task_mix", "positive weight");
    assert_err(with(&["scenario.capabilities=[\"x\"]"]), "task_type[0].capabilities[1]", "unknown capability `y`");
    assert_err(
        with(&["task_type[0].capabilities=[\"x\", \"confidential\"]"]),
        "task_type[0].capabilities[1]",
        "built-in attestation",
    );
    assert_err(
        with(&["task_type[0].capabilities=[\"x\", \"x\"]"]),
        "task_type[0].capabilities[1]",
        "duplicate capability `x`",
    );
    assert_err(with(&["task_type[1].name=a"]), "task_type[1].name", "duplicate task type name `a`");
    assert_err(with(&["population[1].name=req"]), "population[1].name", "duplicate population name `req`");
    assert_err(with(&["population[1].name=\"a b\""]), "population[1].name", "names may only use");
    assert_err(with(&["scenario.name=\"\""]), "scenario.name", "must not be empty");
}

#[test]
fn rejects_strategies_and_keys_that_do_not_fit_the_role() {
    assert_err(
        with(&["population[0].strategy=fixed_markup"]),
        "population[0].strategy",
        "strategy fixed_markup does not fit role requester",
    );
    assert_err(with(&["population[1].strategy=truthful"]), "population[1].strategy", "does not fit role provider");
    assert_err(with(&["population[1].strategy=honest_arbitrator"]), "population[1].strategy", "does not fit");
    assert_err(
        with(&["population[1].value_per_unit=50"]),
        "population[1].value_per_unit",
        "applies only to requesters",
    );
    assert_err(with(&["population[0].reliability={}"]), "population[0].reliability", "applies only to providers");
    assert_err(with(&["population[1].markup=0.3"]), "population[1].markup", "fixed_markup");
    assert_err(
        with(&["population[0].min_price=90", "population[0].max_price=10"]),
        "population[0].max_price",
        "above max_price",
    );
}

#[test]
fn rejects_bad_durations() {
    assert_err(with(&["scenario.duration=\"7 days\""]), "scenario.duration", "not a duration");
    assert_err(with(&["scenario.duration=0s"]), "scenario.duration", "longer than 0");
    assert_err(with(&["scenario.sample_interval=2d"]), "scenario.sample_interval", "longer than the scenario duration");
    assert_err(with(&["scenario.sample_interval=0ms"]), "scenario.sample_interval", "longer than 0");
    assert_err(with(&["population[0].order_ttl=0s"]), "population[0].order_ttl", "longer than 0");
    assert_err(with(&["market.review_window=1x"]), "market.review_window", "unknown unit");
    assert_err(with(&["market.escrow={ time_locked = \"soon\" }"]), "market.escrow.time_locked", "not a duration");
    assert_err(with(&["market.reputation.decay_step=1hh"]), "market.reputation.decay_step", "not a duration");
}

/// A dispute panel that cannot be staffed is refused when the scenario is read, not discovered as
/// refused disputes during the run (a threshold is never lowered: engine, `lifecycle.rs`).
#[test]
fn a_dispute_panel_the_arbitrators_cannot_staff_is_refused() {
    let mut v = parse_document(MIN, FILE).unwrap();
    v["population"]
        .as_array_mut()
        .unwrap()
        .push(parse_override_value("{ name = \"arb\", role = \"arbitrator\", count = 1 }"));
    let s = Scenario::from_value(&v, FILE);
    assert_err(s, "market.dispute_panel_required", "only 1 arbitrator agent:");
    apply_override(&mut v, "market.dispute_panel_required=1").unwrap();
    Scenario::from_value(&v, FILE).unwrap();
    // Without arbitrators there is no arbitration: disputes are refused by design, not a mistake.
    with(&[]).unwrap();
}

/// `[[effect]]` tables: their shape, and a counterfactual that must itself be a valid scenario.
#[test]
fn effects_are_validated_with_their_counterfactuals() {
    let ok = with(&["effect=[{ name = \"fees\", versus = { \"market.fee_bps\" = 0 } }]"]).unwrap();
    assert_eq!(ok.effects.len(), 1);
    assert_eq!((ok.effects[0].name.as_str(), ok.effects[0].seeds), ("fees", 10));
    let back = Scenario::from_toml_str(&ok.to_toml_string(), "resolved.toml").unwrap();
    assert_eq!(back.effects, ok.effects, "effects round-trip through the resolved file");
    let cases = [
        ("effect=[{ name = \"a b\", versus = { \"market.fee_bps\" = 0 } }]", "effect[0].name", "letters"),
        ("effect=[{ name = \"x\", versus = {} }]", "effect[0].versus", "at least one"),
        ("effect=[{ name = \"x\", versus = { fee = 0 } }]", "effect[0].versus.fee", "quoted dotted"),
        ("effect=[{ name = \"x\", versus = { \"market.fee_bps\" = 0 }, seeds = 1 }]", "effect[0].seeds", "2 to 1000"),
        ("effect=[{ name = \"x\", versus = { \"scenario.seed\" = 3 } }]", "effect[0].versus.scenario.seed", "shares"),
        (
            "effect=[{ name = \"x\", versus = { \"market.fee_bps\" = -5 } }]",
            "effect[0].versus",
            "counterfactual is not valid",
        ),
        (
            "effect=[{ name = \"x\", versus = { \"market.no_such\" = 1 } }]",
            "effect[0].versus",
            "counterfactual is not valid",
        ),
    ];
    for (o, path, reason) in cases {
        assert_err(with(&[o]), path, reason);
    }
}

#[test]
fn maps_market_config_errors_to_market_keys() {
    assert_err(with(&["market.fee_bps=10001"]), "market.fee_bps", "above 10000");
    assert_err(with(&["market.auction_window=0s"]), "market.auction_window", "greater than 0");
    assert_err(with(&["market.slot_cap=0"]), "market.slot_cap", "outside 1 to 1000");
    assert_err(
        with(&["market.escrow={ arbitrators = { required = 3, total = 2 } }"]),
        "market.escrow",
        "required <= total",
    );
    assert_err(
        with(&["market.reputation.min=10", "market.reputation.max=5"]),
        "market.reputation.min",
        "above reputation.max",
    );
    assert_err(
        with(&["market.reputation.decay_half_life=1d", "market.reputation.decay_step=0s"]),
        "market.reputation.decay_step",
        "decay",
    );
    assert_err(with(&["market.reputation.trade_completed=nan"]), "market.reputation.trade_completed", "finite");
    assert_err(with(&["market.dispute_panel_required=4"]), "market.dispute_panel_required", "dispute_panel_total");
}

#[test]
fn validation_errors_point_into_the_file() {
    let text = MIN.replace("count = 3", "count = 0");
    let msg = assert_err(load(&text), "population[0].count", "at least 1");
    assert!(msg.starts_with("t.toml:17:9:"), "{msg}");
}

// ---- never panic --------------------------------------------------------------------------------

#[test]
fn truncated_and_mangled_baselines_do_not_panic() {
    let text = std::fs::read_to_string(baseline_path()).unwrap();
    let mut cut = 0;
    while cut < text.len() {
        let _ = load(&text[..cut]);
        cut += 37;
        while !text.is_char_boundary(cut.min(text.len())) {
            cut += 1;
        }
    }
    for (from, to) in
        [("=", "=="), ("[", "{"), ("\"", ""), ("1", "-1"), ("0", "nan"), ("]", "]]"), ("uniform", "normal")]
    {
        let _ = load(&text.replacen(from, to, 3));
        let _ = load(&text.replace(from, to));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn garbage_never_panics(s in "\\PC{0,200}") {
        let _ = load(&s);
        let _ = parse_override(&s);
        let mut v = parse_document(MIN, FILE).unwrap();
        let _ = apply_override(&mut v, &s);
        let _ = super::duration::parse_ms(&s);
    }

    #[test]
    fn edited_documents_never_panic(
        key in prop::sample::select(vec![
            "scenario.duration", "scenario.seed", "scenario.periods", "scenario.sample_interval",
            "market.fee_bps", "market.escrow", "market.reputation.initial", "task_type[0].units",
            "task_type[1].duration", "population[0].count", "population[1].reliability",
            "population[0].sla", "population[0].task_mix", "population[1].units", "market.slot_divisor",
        ]),
        value in prop_oneof![
            Just("nan".to_string()), Just("-1".to_string()), Just("1e308".to_string()),
            Just("9223372036854775807".to_string()), Just("{}".to_string()), Just("[]".to_string()),
            Just("{ uniform = [1e308, inf] }".to_string()), Just("{ lognormal = [800, 1] }".to_string()),
            Just("\"99999999999999999d\"".to_string()), Just("{ choice = [\"1s\"] }".to_string()),
            "[a-z0-9\\[\\]{}=,. \"]{0,30}",
        ],
    ) {
        let mut v = parse_document(MIN, FILE).unwrap();
        if apply_override(&mut v, &format!("{key}={value}")).is_ok()
            && let Ok(s) = Scenario::from_value(&v, FILE)
        {
            let again = Scenario::from_toml_str(&s.to_toml_string(), "r.toml");
            prop_assert_eq!(again.ok(), Some(s));
        }
    }
}
