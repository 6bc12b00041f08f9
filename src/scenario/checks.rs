//! Value checks shared by the validators: finite numbers, ranges, probabilities, names,
//! durations and distributions, each failing with the TOML path of the offending value.

use synmarket_agents::spec::Dist;
use synmarket_engine::DurationMs;

use super::duration::parse_ms;
use super::locate::TomlPath;
use super::raw::{DistKind, RawDist, Scalar};

/// A validation failure: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// TOML path of the offending value.
    pub path: TomlPath,
    /// What is wrong, for the user.
    pub reason: String,
}

/// Result of a check.
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
    if x.is_finite() { Ok(x) } else { bad(path, format!("must be a finite number (got {x})")) }
}

/// A finite number in `[lo, hi]`.
pub fn in_range(path: &TomlPath, x: f64, lo: f64, hi: f64) -> Check<f64> {
    finite(path, x)?;
    if x < lo || x > hi {
        return bad(path, format!("{x} is outside [{lo}, {hi}]"));
    }
    Ok(x)
}

/// A probability: a finite number in `[0, 1]`.
pub fn probability(path: &TomlPath, x: f64) -> Check<f64> {
    finite(path, x)?;
    if !(0.0..=1.0).contains(&x) {
        return bad(path, format!("{x} is not a probability (must lie in [0, 1])"));
    }
    Ok(x)
}

/// A duration string, at most `max_ms`, and > 0 when `positive`.
pub fn duration(path: &TomlPath, s: &str, positive: bool, max_ms: DurationMs) -> Check<DurationMs> {
    let ms = parse_ms(s).or_else(|reason| bad(path, reason))?;
    if positive && ms == 0 {
        return bad(path, "must be longer than 0");
    }
    if ms > max_ms {
        return bad(path, format!("{s} is longer than the limit of {}", super::duration::format_ms(max_ms)));
    }
    Ok(ms)
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
    /// Durations: arguments are duration strings, values are milliseconds.
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

    fn show(&self, x: f64) -> String {
        if self.duration && x >= 0.0 && x.fract() == 0.0 && x < 1e18 {
            super::duration::format_ms(x as u64)
        } else {
            x.to_string()
        }
    }

    fn check(&self, path: &TomlPath, x: f64) -> Check<f64> {
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
const MAX_LOG: f64 = 700.0;

fn arg(path: &TomlPath, s: &Scalar, dom: &Domain) -> Check<f64> {
    match (s, dom.duration) {
        (Scalar::Num(x), false) => finite(path, *x),
        (Scalar::Text(t), false) => bad(path, format!("expected a number, found the string {t:?}")),
        (Scalar::Text(t), true) => parse_ms(t).map(|ms| ms as f64).or_else(|r| bad(path, r)),
        (Scalar::Num(x), true) => {
            bad(path, format!("expected a duration string such as \"30s\" or \"2h\", found the number {x}"))
        }
    }
}

fn plain_number(path: &TomlPath, s: &Scalar, what: &str) -> Check<f64> {
    match s {
        Scalar::Num(x) => finite(path, *x),
        Scalar::Text(t) => bad(path, format!("{what} must be a plain number, found the string {t:?}")),
    }
}

/// Converts and checks a distribution at `path` (arguments are reported at `path.<family>`).
pub fn dist(path: &TomlPath, raw: &RawDist, dom: Domain) -> Check<Dist> {
    let at = if raw.tabled { path.key(raw.kind.key()) } else { path.clone() };
    let a = &raw.args;
    let two = |a: &[Scalar]| -> Check<()> {
        if a.len() == 2 { Ok(()) } else { bad(&at, format!("needs exactly 2 values, found {}", a.len())) }
    };
    match raw.kind {
        DistKind::Fixed => {
            let [x] = a.as_slice() else {
                return bad(&at, "needs exactly one value");
            };
            Ok(Dist::Fixed(dom.check(&at, arg(&at, x, &dom)?)?))
        }
        DistKind::Uniform => {
            two(a)?;
            let lo = arg(&at, &a[0], &dom)?;
            let hi = arg(&at, &a[1], &dom)?;
            if lo > hi {
                return bad(&at, format!("lower bound {} is above upper bound {}", dom.show(lo), dom.show(hi)));
            }
            dom.check(&at, lo)?;
            dom.check(&at, hi)?;
            Ok(Dist::Uniform(lo, hi))
        }
        DistKind::Normal => {
            two(a)?;
            let mean = arg(&at, &a[0], &dom)?;
            let sd = arg(&at, &a[1], &dom)?;
            if sd < 0.0 {
                return bad(&at, format!("standard deviation {sd} is negative"));
            }
            dom.check(&at, mean)?;
            Ok(Dist::Normal(mean, sd))
        }
        DistKind::LogNormal => {
            two(a)?;
            // For durations the first argument may be the median as a duration string.
            let mu = match (&a[0], dom.duration) {
                (Scalar::Text(t), true) => {
                    let ms = parse_ms(t).or_else(|r| bad(&at, r))?;
                    if ms == 0 {
                        return bad(&at, "the median of a log-normal duration must be longer than 0");
                    }
                    (ms as f64).ln()
                }
                (s, _) => plain_number(&at, s, "mu")?,
            };
            let sigma = plain_number(&at, &a[1], "sigma")?;
            if sigma < 0.0 {
                return bad(&at, format!("sigma {sigma} is negative"));
            }
            if mu.abs() > MAX_LOG {
                return bad(&at, format!("mu {mu} is outside [-{MAX_LOG}, {MAX_LOG}]"));
            }
            dom.check(&at, mu.exp()).or_else(|e| bad(&at, format!("the median exp(mu): {}", e.reason)))?;
            Ok(Dist::LogNormal(mu, sigma))
        }
        DistKind::Choice => {
            if a.is_empty() {
                return bad(&at, "needs at least one value");
            }
            let values =
                a.iter().map(|s| arg(&at, s, &dom).and_then(|x| dom.check(&at, x))).collect::<Check<Vec<f64>>>()?;
            Ok(Dist::Choice(values))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(v: &str) -> RawDist {
        let t: toml::Table = toml::from_str(&format!("v = {v}")).unwrap();
        RawDist::from_value(&t["v"]).unwrap()
    }

    #[test]
    fn numeric_distributions() {
        let p = TomlPath::root().key("x");
        let d = Domain::closed(0.0, 100.0);
        assert_eq!(dist(&p, &raw("5"), d), Ok(Dist::Fixed(5.0)));
        assert_eq!(dist(&p, &raw("{ uniform = [1, 2.5] }"), d), Ok(Dist::Uniform(1.0, 2.5)));
        assert_eq!(dist(&p, &raw("{ normal = [50, 5] }"), d), Ok(Dist::Normal(50.0, 5.0)));
        assert_eq!(dist(&p, &raw("{ choice = [1, 2, 3] }"), d), Ok(Dist::Choice(vec![1.0, 2.0, 3.0])));
        let e = dist(&p, &raw("{ uniform = [5, 1] }"), d).unwrap_err();
        assert_eq!(e.path.to_string(), "x.uniform");
        assert!(e.reason.contains("lower bound 5 is above upper bound 1"), "{}", e.reason);
        let e = dist(&p, &raw("{ normal = [5, -1] }"), d).unwrap_err();
        assert!(e.reason.contains("standard deviation -1 is negative"));
        let e = dist(&p, &raw("nan"), d).unwrap_err();
        assert!(e.reason.contains("finite"));
        let e = dist(&p, &raw("{ uniform = [1, inf] }"), d).unwrap_err();
        assert!(e.reason.contains("finite"));
        let e = dist(&p, &raw("101"), d).unwrap_err();
        assert!(e.reason.contains("outside [0, 100]"));
        assert!(dist(&p, &raw("\"5m\""), d).is_err());
    }

    #[test]
    fn duration_distributions() {
        let p = TomlPath::root().key("d");
        let d = Domain::duration(0.0, 1e12, true);
        assert_eq!(dist(&p, &raw("\"2m\""), d), Ok(Dist::Fixed(120_000.0)));
        assert_eq!(dist(&p, &raw("{ uniform = [\"1s\", \"1m\"] }"), d), Ok(Dist::Uniform(1e3, 6e4)));
        assert_eq!(dist(&p, &raw("{ lognormal = [\"20m\", 0.5] }"), d), Ok(Dist::LogNormal(1_200_000f64.ln(), 0.5)));
        assert!(dist(&p, &raw("120"), d).unwrap_err().reason.contains("duration string"));
        assert!(dist(&p, &raw("\"0s\""), d).unwrap_err().reason.contains("outside (0s"));
    }
}
