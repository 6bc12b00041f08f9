//! Writes a resolved [`Scenario`] back as TOML, every default explicit, in the shape the loader
//! reads, so that loading the output gives an equal `Scenario`.
//!
//! The typed configurations serialize themselves (their serde form is the file format); a
//! population writes only the keys of its role and strategy. Durations are canonical duration
//! strings; a log-normal duration is written with its median as a string when that round-trips
//! exactly, else with the numeric `mu`.

use serde::Serialize;

use synmarket_agents::{PopulationSpec, TaskTypeSpec};
use synmarket_engine::duration::Duration;
use synmarket_engine::{Institution, MarketConfig};

use super::Scenario;
use super::file::Seed;

#[derive(Serialize)]
struct HeaderOut<'a> {
    name: &'a str,
    seed: Seed,
    duration: Duration,
    sample_interval: Duration,
    #[serde(skip_serializing_if = "Option::is_none")]
    periods: Option<u32>,
}

#[derive(Serialize)]
struct EffectOut<'a> {
    name: &'a str,
    seeds: u64,
    versus: toml::Table,
}

#[derive(Serialize)]
struct FileOut<'a> {
    scenario: HeaderOut<'a>,
    market: &'a MarketConfig,
    task_type: &'a [TaskTypeSpec],
    population: &'a [PopulationSpec],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    effect: Vec<EffectOut<'a>>,
}

/// The TOML text of a resolved scenario.
pub fn to_toml(s: &Scenario) -> String {
    let file = FileOut {
        scenario: HeaderOut {
            name: &s.name,
            seed: Seed(s.seed),
            duration: Duration(s.duration_ms),
            sample_interval: Duration(s.sample_interval_ms),
            periods: s.periods,
        },
        market: &s.market,
        task_type: &s.task_types,
        population: &s.populations,
        effect: s
            .effects
            .iter()
            .map(|e| EffectOut { name: &e.name, seeds: e.seeds, versus: e.versus.iter().cloned().collect() })
            .collect(),
    };
    let mut out = String::from("# Resolved scenario: every default written out. See scenarios/README.md.\n");
    match toml::Value::try_from(&file) {
        Ok(toml::Value::Table(mut t)) => {
            if let Some(toml::Value::Table(m)) = t.get_mut("market") {
                institution_keys(&s.market, m);
            }
            write_table(&mut out, "", &t)
        }
        Ok(_) => {}
        Err(e) => out.push_str(&format!("# the scenario could not be written: {e}\n")),
    }
    out
}

/// Writes the institution and the keys of that institution, defaults included (the market's own
/// serde form leaves them out when they are defaults, so that a configuration without them reads
/// as before); keys of other institutions stay out, because the loader refuses them, and so does
/// `pricing` under every institution but first-accept, which sets its own price.
fn institution_keys(market: &MarketConfig, m: &mut toml::Table) {
    let inst = market.institution;
    m.insert("institution".into(), toml::Value::String(inst.as_str().into()));
    if inst != Institution::FirstAccept {
        // First-accept's price rule does not apply (the report names the institution's own).
        m.remove("pricing");
    }
    match inst {
        Institution::FirstAccept => {}
        Institution::ContinuousDoubleAuction => {
            m.insert("clear_book_after_trade".into(), toml::Value::Boolean(market.clear_book_after_trade));
        }
        Institution::SealedBidReverse => {
            m.insert("sealed_bid_price".into(), toml::Value::String(market.sealed_bid_price.as_str().into()));
        }
        Institution::CallMarket => {
            if let Ok(v) = toml::Value::try_from(Duration(market.call_interval_ms)) {
                m.insert("call_interval".into(), v);
            }
        }
    }
}

/// A key as TOML writes it: bare when it can be, else quoted (`"market.fee_bps"`).
fn key(k: &str) -> String {
    let bare = !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { k.to_string() } else { toml::Value::String(k.to_string()).to_string() }
}

/// True for a table written inline (`{ uniform = [1, 2] }`): at most four entries, none of them
/// a table that is not itself inline, and no array of tables.
fn inline(t: &toml::Table) -> bool {
    t.len() <= 4
        && t.values().all(|v| match v {
            toml::Value::Table(t) => inline(t),
            toml::Value::Array(a) => !a.iter().any(|x| x.is_table()),
            _ => true,
        })
}

fn is_section(v: &toml::Value) -> bool {
    match v {
        toml::Value::Table(t) => !inline(t),
        toml::Value::Array(a) => !a.is_empty() && a.iter().all(|x| x.is_table()),
        _ => false,
    }
}

/// Keys written first, in this order, where a table has them (the rest follow in key order).
const FIRST: [&str; 4] = ["name", "role", "count", "strategy"];

/// Writes `table` (at dotted `path`): its plain and inline entries (`name`, `role`, `count`,
/// `strategy` first, then in key order), then its sections and arrays of tables.
fn write_table(out: &mut String, path: &str, table: &toml::Table) {
    use std::fmt::Write as _;
    let rank = |k: &str| FIRST.iter().position(|f| *f == k).unwrap_or(FIRST.len());
    let mut plain: Vec<(&String, &toml::Value)> = table.iter().filter(|(_, v)| !is_section(v)).collect();
    plain.sort_by_key(|(k, _)| rank(k));
    for (k, v) in plain {
        let _ = writeln!(out, "{} = {v}", key(k));
    }
    for (k, v) in table.iter().filter(|(_, v)| is_section(v)) {
        let name = if path.is_empty() { key(k) } else { format!("{path}.{}", key(k)) };
        match v {
            toml::Value::Table(t) => {
                let _ = writeln!(out, "\n[{name}]");
                write_table(out, &name, t);
            }
            toml::Value::Array(items) => {
                for item in items.iter().filter_map(|x| x.as_table()) {
                    let _ = writeln!(out, "\n[[{name}]]");
                    write_table(out, &name, item);
                }
            }
            _ => {}
        }
    }
}
