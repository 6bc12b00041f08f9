//! What the typed configurations of this crate share: TOML paths, validation failures, value
//! checks and field introspection.
//!
//! Configuration is read in two stages (docs/architecture.md, "Configuration"): serde reads a
//! table into the typed struct itself (`deny_unknown_fields`, documented defaults), then the
//! struct's `validate` checks values and names the offending key by its path relative to the
//! table ([`Invalid::path`]); the scenario loader prefixes the table's own path and points at the
//! line and column.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use synmarket_engine::error::show_number;

use crate::dist::Dist;

/// One step of a TOML path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A TOML path such as `population[2].sla.probability`; the empty path is the top level.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TomlPath(pub Vec<Seg>);

impl TomlPath {
    /// The root (empty path).
    pub fn root() -> Self {
        TomlPath(Vec::new())
    }

    /// This path extended by a key.
    pub fn key(&self, k: &str) -> Self {
        let mut v = self.0.clone();
        v.push(Seg::Key(k.to_string()));
        TomlPath(v)
    }

    /// This path extended by an index.
    pub fn index(&self, i: usize) -> Self {
        let mut v = self.0.clone();
        v.push(Seg::Index(i));
        TomlPath(v)
    }

    /// `self` followed by every step of `rest`.
    pub fn join(&self, rest: &TomlPath) -> Self {
        let mut v = self.0.clone();
        v.extend(rest.0.iter().cloned());
        TomlPath(v)
    }

    /// The last key of the path, if it ends with a key.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }
}

impl fmt::Display for TomlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// A validation failure: where (relative to the table being checked) and why, in the user's
/// words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// Path of the offending value.
    pub path: TomlPath,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for Invalid {}

/// The result of a check.
pub type Check<T> = Result<T, Invalid>;

/// Fails at `path` with `reason`.
pub fn bad<T>(path: &TomlPath, reason: impl Into<String>) -> Check<T> {
    Err(Invalid { path: path.clone(), reason: reason.into() })
}

/// The longest name of a scenario, task type, capability, population or quality metric.
pub const MAX_NAME_LEN: usize = 64;

/// A name: 1 to 64 characters from `A-Z a-z 0-9 _ -` (a TOML bare key, a safe file name).
pub fn name(path: &TomlPath, s: &str) -> Check<String> {
    if s.is_empty() {
        return bad(path, "must not be empty");
    }
    if s.chars().count() > MAX_NAME_LEN {
        return bad(path, format!("is longer than {MAX_NAME_LEN} characters"));
    }
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        return bad(path, format!("{s:?} contains {c:?}; names may only use letters, digits, '_' and '-'"));
    }
    Ok(s.to_string())
}

/// A finite number.
pub fn finite(path: &TomlPath, x: f64) -> Check<f64> {
    if x.is_finite() { Ok(x) } else { bad(path, format!("must be a finite number (got {})", show_number(x))) }
}

/// A finite number in `[lo, hi]`.
pub fn in_range(path: &TomlPath, x: f64, lo: f64, hi: f64) -> Check<f64> {
    finite(path, x)?;
    if x < lo || x > hi {
        return bad(path, format!("{} is outside [{}, {}]", show_number(x), show_number(lo), show_number(hi)));
    }
    Ok(x)
}

/// A probability: a finite number in `[0, 1]`.
pub fn probability(path: &TomlPath, x: f64) -> Check<f64> {
    finite(path, x)?;
    if !(0.0..=1.0).contains(&x) {
        return bad(path, format!("{} is not a probability (must lie in [0, 1])", show_number(x)));
    }
    Ok(x)
}

/// What a distribution-valued parameter may hold.
#[derive(Debug, Clone, Copy)]
pub struct Domain {
    /// Lowest allowed value.
    pub lo: f64,
    /// Highest allowed value.
    pub hi: f64,
    /// True when `lo` itself is not allowed (the value must be greater).
    pub lo_open: bool,
    /// Durations: values are milliseconds, shown as duration strings.
    pub duration: bool,
}

impl Domain {
    /// Plain numbers in `[lo, hi]`.
    pub const fn closed(lo: f64, hi: f64) -> Self {
        Domain { lo, hi, lo_open: false, duration: false }
    }

    /// Plain numbers in `(lo, hi]`.
    pub const fn open_low(lo: f64, hi: f64) -> Self {
        Domain { lo, hi, lo_open: true, duration: false }
    }

    /// Durations (milliseconds) in `[lo, hi]`, or `(lo, hi]` with `lo_open`.
    pub const fn duration(lo: f64, hi: f64, lo_open: bool) -> Self {
        Domain { lo, hi, lo_open, duration: true }
    }

    /// `x` as the user would write it (a duration string for durations).
    pub fn show(&self, x: f64) -> String {
        if self.duration && x >= 0.0 && x.fract() == 0.0 && x < 1e18 {
            synmarket_engine::duration::format_ms(x as u64)
        } else {
            show_number(x)
        }
    }

    /// Checks one value.
    pub fn check(&self, path: &TomlPath, x: f64) -> Check<f64> {
        finite(path, x)?;
        let low_ok = if self.lo_open { x > self.lo } else { x >= self.lo };
        if !low_ok || x > self.hi {
            let open = if self.lo_open { "(" } else { "[" };
            return bad(
                path,
                format!("{} is outside {open}{}, {}]", self.show(x), self.show(self.lo), self.show(self.hi)),
            );
        }
        Ok(x)
    }
}

/// The largest |mu| of a log-normal (exp(709) is the largest finite f64).
pub const MAX_LOG: f64 = 700.0;

/// Checks a distribution against `dom`; arguments are reported at `path.<family>` (a fixed
/// value at `path`).
pub fn dist(path: &TomlPath, d: &Dist, dom: Domain) -> Check<()> {
    let at = match d {
        Dist::Fixed(_) => path.clone(),
        other => path.key(other.family()),
    };
    match d {
        Dist::Fixed(x) => {
            dom.check(&at, *x)?;
        }
        Dist::Uniform(lo, hi) => {
            finite(&at, *lo)?;
            finite(&at, *hi)?;
            if lo > hi {
                return bad(&at, format!("lower bound {} is above upper bound {}", dom.show(*lo), dom.show(*hi)));
            }
            dom.check(&at, *lo)?;
            dom.check(&at, *hi)?;
        }
        Dist::Normal(mean, sd) => {
            finite(&at, *mean)?;
            finite(&at, *sd)?;
            if *sd < 0.0 {
                return bad(&at, format!("standard deviation {sd} is negative"));
            }
            dom.check(&at, *mean)?;
        }
        Dist::LogNormal(mu, sigma) => {
            finite(&at, *mu)?;
            finite(&at, *sigma)?;
            if *sigma < 0.0 {
                return bad(&at, format!("sigma {sigma} is negative"));
            }
            if mu.abs() > MAX_LOG {
                return bad(&at, format!("mu {mu} is outside [-{MAX_LOG}, {MAX_LOG}]"));
            }
            dom.check(&at, mu.exp()).or_else(|e| bad(&at, format!("the median exp(mu): {}", e.reason)))?;
        }
        Dist::Choice(values) => {
            if values.is_empty() {
                return bad(&at, "needs at least one value");
            }
            for x in values {
                dom.check(&at, *x)?;
            }
        }
    }
    Ok(())
}

/// The field names of a struct that derives `Deserialize` (what `deny_unknown_fields` accepts),
/// read from serde itself so that no list of keys is kept by hand. Empty for anything that is not
/// a struct.
pub fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut found: &'static [&'static str] = &[];
    let _ = T::deserialize(FieldNames { found: &mut found });
    found
}

struct FieldNames<'a> {
    found: &'a mut &'static [&'static str],
}

#[derive(Debug)]
struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field introspection")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.found = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct S {
        alpha: u8,
        #[serde(rename = "beta_key")]
        beta: u8,
    }

    #[test]
    fn field_names_come_from_serde() {
        assert_eq!(field_names::<S>(), &["alpha", "beta_key"]);
        assert!(field_names::<u8>().is_empty());
    }

    #[test]
    fn paths_print_like_toml() {
        let p = TomlPath::root().key("population").index(2).key("sla");
        assert_eq!(p.to_string(), "population[2].sla");
        assert_eq!(TomlPath::root().to_string(), "(top level)");
        assert_eq!(p.join(&TomlPath::root().key("x")).to_string(), "population[2].sla.x");
    }

    #[test]
    fn distributions_are_checked_against_their_domain() {
        let p = TomlPath::root().key("x");
        let d = Domain::closed(0.0, 100.0);
        assert!(dist(&p, &Dist::Fixed(5.0), d).is_ok());
        let e = dist(&p, &Dist::Uniform(5.0, 1.0), d).unwrap_err();
        assert_eq!(e.path.to_string(), "x.uniform");
        assert!(e.reason.contains("lower bound 5 is above upper bound 1"), "{}", e.reason);
        assert!(dist(&p, &Dist::Normal(5.0, -1.0), d).unwrap_err().reason.contains("negative"));
        assert!(dist(&p, &Dist::Fixed(f64::NAN), d).unwrap_err().reason.contains("finite"));
        assert!(dist(&p, &Dist::Fixed(101.0), d).unwrap_err().reason.contains("outside [0, 100]"));
        let durations = Domain::duration(0.0, 1e12, true);
        assert!(dist(&p, &Dist::Fixed(0.0), durations).unwrap_err().reason.contains("outside (0s"));
    }
}
