//! A parameter point: a map from dotted scenario keys (`market.reputation_weight`,
//! `population[0].count`) to TOML values, its canonical form and its id; random points.
//!
//! Canonical form: `key=value` pairs sorted by key and joined by `;`. Values: integers in decimal,
//! floats in Rust's shortest round-trip form (`0.5`, `1.0`, `1e-7`; so `1` and `1.0` are
//! different points), strings JSON-quoted, booleans `true`/`false`, arrays `[a,b]` and tables
//! `{k=v,...}` with sorted keys. The id is the first 12 hex digits of the SHA-256 of the
//! canonical form. Both are pinned by a unit test: changing them orphans every existing result.
//!
//! Random samples: value `k` of key `key` is drawn from 64-bit words of
//! `SHA-256("synmarket-random-v1\n<seed>\n<k>\n<key>\n<word>")`, one stream per (sample, key), so
//! raising `count` keeps the earlier samples and adding a key keeps the other keys' values.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// Length of point and run ids in hex digits.
pub const ID_HEX_DIGITS: usize = 12;

/// One point of a sweep: dotted scenario key → value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Point {
    /// The parameters, sorted by key.
    pub params: BTreeMap<String, toml::Value>,
}

/// First `ID_HEX_DIGITS` hex digits of the SHA-256 of `text`.
pub fn hex_id(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut s = String::with_capacity(ID_HEX_DIGITS);
    for b in digest.iter().take(ID_HEX_DIGITS / 2) {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Canonical text of one value (see the module header).
pub fn canonical_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}")),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => format!("{f:?}"),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(a) => format!("[{}]", a.iter().map(canonical_value).collect::<Vec<_>>().join(",")),
        toml::Value::Table(t) => {
            let sorted: BTreeMap<&String, &toml::Value> = t.iter().collect();
            let parts: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={}", canonical_value(v))).collect();
            format!("{{{}}}", parts.join(","))
        }
    }
}

impl Point {
    /// A point from (key, value) pairs; later duplicates win.
    pub fn new(pairs: impl IntoIterator<Item = (String, toml::Value)>) -> Self {
        Point { params: pairs.into_iter().collect() }
    }

    /// `k1=v1;k2=v2` with keys sorted.
    pub fn canonical(&self) -> String {
        self.params.iter().map(|(k, v)| format!("{k}={}", canonical_value(v))).collect::<Vec<_>>().join(";")
    }

    /// The point's id: hex SHA-256 prefix of the canonical form.
    pub fn id(&self) -> String {
        hex_id(&self.canonical())
    }

    /// The overrides to apply to the base scenario.
    pub fn overrides(&self) -> Vec<(String, toml::Value)> {
        self.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Short human label: `market.fee_bps=100, market.escrow="single"` (key tails only when
    /// unambiguous is left to callers).
    pub fn label(&self) -> String {
        if self.params.is_empty() {
            return "(base scenario)".into();
        }
        self.params.iter().map(|(k, v)| format!("{k}={}", canonical_value(v))).collect::<Vec<_>>().join(", ")
    }
}

/// How one random parameter is drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum RandomDist {
    /// Uniform on [low, high) (floats).
    Uniform(f64, f64),
    /// Uniform on the integers low..=high.
    IntUniform(i64, i64),
    /// One of the values, equally likely.
    Choice(Vec<toml::Value>),
}

fn word(seed: u64, sample: u64, key: &str, n: u64) -> u64 {
    synmarket_engine::seed::text_seed(&format!("synmarket-random-v1\n{seed}\n{sample}\n{key}\n{n}"))
}

/// Uniform integer in 0..len (len ≥ 1) by 128-bit multiply (bias below 2^-64 × len).
fn below(w: u64, len: u64) -> u64 {
    ((u128::from(w) * u128::from(len)) >> 64) as u64
}

impl RandomDist {
    fn draw(&self, seed: u64, sample: u64, key: &str) -> toml::Value {
        let w = word(seed, sample, key, 0);
        match self {
            RandomDist::Uniform(lo, hi) => {
                let u = (w >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                toml::Value::Float(lo + u * (hi - lo))
            }
            RandomDist::IntUniform(lo, hi) => {
                let span = (i128::from(*hi) - i128::from(*lo) + 1) as u128;
                let off = if span > u128::from(u64::MAX) { w } else { below(w, span as u64) };
                toml::Value::Integer((i128::from(*lo) + i128::from(off)) as i64)
            }
            RandomDist::Choice(values) => {
                let i = below(w, values.len() as u64) as usize;
                values.get(i).cloned().unwrap_or(toml::Value::Boolean(false))
            }
        }
    }
}

/// Random samples 0..count of the given keys (see the module header); one point per sample.
pub fn sample_random_points(seed: u64, count: u64, dists: &BTreeMap<String, RandomDist>) -> Vec<Point> {
    (0..count).map(|k| Point::new(dists.iter().map(|(key, d)| (key.clone(), d.draw(seed, k, key))))).collect()
}

/// The kind of column a parameter takes in tables (numbers are always `f64`, so that `1` and
/// `0.5` of one key share a column type and a run file never depends on other points).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Integer or float → f64.
    Number,
    /// Boolean.
    Bool,
    /// Strings as themselves, anything else as canonical text.
    Text,
}

/// The column kind of one value.
pub fn param_kind(v: &toml::Value) -> ParamKind {
    match v {
        toml::Value::Integer(_) | toml::Value::Float(_) => ParamKind::Number,
        toml::Value::Boolean(_) => ParamKind::Bool,
        _ => ParamKind::Text,
    }
}

/// The numeric value of a parameter, if it is a number.
pub fn param_number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// The text of a parameter in a `Text` column.
pub fn param_text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => canonical_value(other),
    }
}

/// Order of points for people: key by key (keys sorted), a missing key first, numbers compared
/// numerically, other values by canonical text; ties by canonical form. The default baseline of
/// paired differences is the first point in this order (e.g. the smallest grid value).
pub fn parameter_order(a: &Point, b: &Point) -> std::cmp::Ordering {
    let keys: std::collections::BTreeSet<&String> = a.params.keys().chain(b.params.keys()).collect();
    for k in keys {
        let ord = match (a.params.get(k), b.params.get(k)) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => match (param_number(x), param_number(y)) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                _ => canonical_value(x).cmp(&canonical_value(y)),
            },
        };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
    }
    a.canonical().cmp(&b.canonical())
}

/// Indices of `points` in [`parameter_order`].
pub fn display_order(points: &[Point]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..points.len()).collect();
    idx.sort_by(|&i, &j| parameter_order(&points[i], &points[j]));
    idx
}
