//! Numeric parameters that are fixed values or distributions, and their file format.
//!
//! In a scenario file a distribution is a plain value (`5`, or a duration string `"30s"` for
//! duration-valued parameters) or a table with exactly one key naming the family:
//! `{ fixed = x }`, `{ uniform = [low, high] }`, `{ normal = [mean, sd] }`,
//! `{ lognormal = [mu, sigma] }` (for durations the first argument may be the median as a
//! duration string, `{ lognormal = ["20m", 0.5] }`) or `{ choice = [a, b, ...] }`.
//! [`Dist`] holds numbers; [`DurationDist`] holds milliseconds and reads and writes duration
//! strings. Serde checks only the shape; ranges are checked by [`crate::config::dist`].

use std::ops::Deref;

use rand::{Rng, RngExt};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use synmarket_engine::duration::{format_ms, parse_ms};

/// The most values a `choice` list may hold.
pub const MAX_CHOICES: usize = 10_000;

/// A numeric parameter: a fixed value or a distribution that each agent draws from once (or, for
/// per-task quantities, once per task) from its own stream.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    /// Always this value.
    Fixed(f64),
    /// Uniform on `[lo, hi]`.
    Uniform(f64, f64),
    /// Normal with mean and standard deviation (callers clamp where a sign matters).
    Normal(f64, f64),
    /// Log-normal: `exp(N(mu, sigma))`.
    LogNormal(f64, f64),
    /// One of the values, each equally likely.
    Choice(Vec<f64>),
}

impl Dist {
    /// Draws one value. A fixed value draws nothing from the stream.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Dist::Fixed(v) => *v,
            Dist::Uniform(lo, hi) => {
                if hi <= lo {
                    *lo
                } else {
                    lo + (hi - lo) * rng.random::<f64>()
                }
            }
            Dist::Normal(mean, sd) => mean + sd * standard_normal(rng),
            Dist::LogNormal(mu, sigma) => (mu + sigma * standard_normal(rng)).exp(),
            Dist::Choice(values) => {
                if values.is_empty() {
                    0.0
                } else {
                    values[rng.random_range(0..values.len())]
                }
            }
        }
    }

    /// The mean of the distribution (used for documentation and sanity checks).
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Fixed(v) => *v,
            Dist::Uniform(lo, hi) => (lo + hi) / 2.0,
            Dist::Normal(mean, _) => *mean,
            Dist::LogNormal(mu, sigma) => (mu + sigma * sigma / 2.0).exp(),
            Dist::Choice(values) => values.iter().sum::<f64>() / values.len().max(1) as f64,
        }
    }

    /// Smallest and largest value the distribution can produce (normal and log-normal are
    /// unbounded above; their bounds are mean ± 6 sd resp. 0 .. exp(mu + 6 sigma)).
    pub fn support(&self) -> (f64, f64) {
        match self {
            Dist::Fixed(v) => (*v, *v),
            Dist::Uniform(lo, hi) => (*lo, *hi),
            Dist::Normal(mean, sd) => (mean - 6.0 * sd, mean + 6.0 * sd),
            Dist::LogNormal(mu, sigma) => (0.0, (mu + 6.0 * sigma).exp()),
            Dist::Choice(values) => (
                values.iter().copied().fold(f64::INFINITY, f64::min),
                values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
        }
    }

    /// The key that names the family in a file.
    pub fn family(&self) -> &'static str {
        match self {
            Dist::Fixed(_) => "fixed",
            Dist::Uniform(..) => "uniform",
            Dist::Normal(..) => "normal",
            Dist::LogNormal(..) => "lognormal",
            Dist::Choice(_) => "choice",
        }
    }
}

/// A standard normal draw by the Box–Muller transform (two uniforms, one output), so that the
/// number of draws per call is fixed and streams stay aligned.
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// An exponential draw with the given rate (events per millisecond); used for Poisson arrivals.
pub fn exponential_ms<R: Rng + ?Sized>(rng: &mut R, rate_per_ms: f64) -> f64 {
    let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    -u.ln() / rate_per_ms
}

/// A distribution of durations in milliseconds, written with duration strings
/// (`"30s"`, `{ uniform = ["1s", "1m"] }`). Dereferences to its [`Dist`].
#[derive(Clone, Debug, PartialEq)]
pub struct DurationDist(pub Dist);

impl Deref for DurationDist {
    type Target = Dist;

    fn deref(&self) -> &Dist {
        &self.0
    }
}

// ----- the file format -------------------------------------------------------------------------

/// One argument as written: a number or a string.
enum Scalar {
    Num(f64),
    Text(String),
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number or a duration string")
    }
    fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Num(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Num(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Num(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// A distribution as written: family and arguments, not yet converted.
struct Written {
    family: &'static str,
    args: Vec<Scalar>,
}

const FAMILIES: &str = "fixed, uniform, normal, lognormal or choice";

struct WrittenVisitor;

impl<'de> Visitor<'de> for WrittenVisitor {
    type Value = Written;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a number or a distribution table ({FAMILIES})")
    }
    fn visit_i64<E>(self, v: i64) -> Result<Written, E> {
        Ok(Written { family: "fixed", args: vec![Scalar::Num(v as f64)] })
    }
    fn visit_u64<E>(self, v: u64) -> Result<Written, E> {
        Ok(Written { family: "fixed", args: vec![Scalar::Num(v as f64)] })
    }
    fn visit_f64<E>(self, v: f64) -> Result<Written, E> {
        Ok(Written { family: "fixed", args: vec![Scalar::Num(v)] })
    }
    fn visit_str<E>(self, v: &str) -> Result<Written, E> {
        Ok(Written { family: "fixed", args: vec![Scalar::Text(v.to_string())] })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Written, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(format!("a distribution table needs exactly one key ({FAMILIES}), found 0")));
        };
        written_table(&key, map)
    }
}

/// The rest of a distribution table whose first key, `key`, has been read.
fn written_table<'de, A: MapAccess<'de>>(key: &str, mut map: A) -> Result<Written, A::Error> {
    let family = match key {
        "fixed" => "fixed",
        "uniform" => "uniform",
        "normal" => "normal",
        "lognormal" => "lognormal",
        "choice" => "choice",
        other => {
            return Err(de::Error::custom(format!("unknown distribution `{other}` (expected {FAMILIES})")));
        }
    };
    let args = if family == "fixed" {
        vec![map.next_value::<Scalar>()?]
    } else {
        map.next_value::<Args>()
            .map_err(|_: A::Error| {
                de::Error::custom(format!("{family}: expected an array of numbers, e.g. {family} = [1, 2]"))
            })?
            .0
    };
    let mut extra = 0;
    while map.next_key::<de::IgnoredAny>()?.is_some() {
        map.next_value::<de::IgnoredAny>()?;
        extra += 1;
    }
    if extra > 0 {
        return Err(de::Error::custom(format!(
            "a distribution table needs exactly one key ({FAMILIES}), found {}",
            extra + 1
        )));
    }
    let expected = match family {
        "uniform" => "[low, high]",
        "normal" => "[mean, sd]",
        "lognormal" => "[mu, sigma]",
        _ => "",
    };
    match family {
        "choice" if args.is_empty() || args.len() > MAX_CHOICES => {
            return Err(de::Error::custom(format!("choice needs 1 to {MAX_CHOICES} values, found {}", args.len())));
        }
        "uniform" | "normal" | "lognormal" if args.len() != 2 => {
            return Err(de::Error::custom(format!("{family} needs exactly 2 values {expected}, found {}", args.len())));
        }
        _ => {}
    }
    Ok(Written { family, args })
}

/// The arguments of a distribution table.
struct Args(Vec<Scalar>);

impl<'de> Deserialize<'de> for Args {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Args;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Args, A::Error> {
                let mut out = Vec::new();
                while let Some(x) = seq.next_element::<Scalar>()? {
                    out.push(x);
                    if out.len() > MAX_CHOICES {
                        return Err(de::Error::custom(format!("choice needs 1 to {MAX_CHOICES} values")));
                    }
                }
                Ok(Args(out))
            }
        }
        d.deserialize_seq(V)
    }
}

impl<'de> Deserialize<'de> for Written {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(WrittenVisitor)
    }
}

fn number<E: de::Error>(s: &Scalar) -> Result<f64, E> {
    match s {
        Scalar::Num(x) => Ok(*x),
        Scalar::Text(t) => Err(E::custom(format!("expected a number, found the text {t:?}"))),
    }
}

fn millis<E: de::Error>(s: &Scalar) -> Result<f64, E> {
    match s {
        Scalar::Text(t) => parse_ms(t).map(|ms| ms as f64).map_err(E::custom),
        Scalar::Num(x) => {
            Err(E::custom(format!("expected a duration in quotes such as \"30s\" or \"2h\", found the number {x}")))
        }
    }
}

fn build<E: de::Error>(w: &Written, arg: fn(&Scalar) -> Result<f64, E>, duration: bool) -> Result<Dist, E> {
    let a = &w.args;
    Ok(match w.family {
        "fixed" => Dist::Fixed(arg(&a[0])?),
        "uniform" => Dist::Uniform(arg(&a[0])?, arg(&a[1])?),
        "normal" => Dist::Normal(arg(&a[0])?, arg(&a[1])?),
        "lognormal" => {
            // For durations the first argument may be the median as a duration string.
            let mu = match (&a[0], duration) {
                (Scalar::Text(t), true) => {
                    let ms = parse_ms(t).map_err(E::custom)?;
                    if ms == 0 {
                        return Err(E::custom("the median of a log-normal duration must be longer than 0"));
                    }
                    (ms as f64).ln()
                }
                (s, _) => number(s).map_err(|_: E| E::custom("mu must be a plain number"))?,
            };
            Dist::LogNormal(mu, number(&a[1]).map_err(|_: E| E::custom("sigma must be a plain number"))?)
        }
        _ => Dist::Choice(a.iter().map(arg).collect::<Result<_, _>>()?),
    })
}

impl<'de> Deserialize<'de> for Dist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Written::deserialize(d)?;
        build(&w, number, false)
    }
}

impl<'de> Deserialize<'de> for DurationDist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = Written::deserialize(d)?;
        build(&w, millis, true).map(DurationDist)
    }
}

fn write_family<S: Serializer, T: Serialize>(s: S, family: &str, value: T) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(1))?;
    m.serialize_entry(family, &value)?;
    m.end()
}

impl Serialize for Dist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Dist::Fixed(x) => s.serialize_f64(*x),
            Dist::Uniform(a, b) | Dist::Normal(a, b) | Dist::LogNormal(a, b) => write_family(s, self.family(), [a, b]),
            Dist::Choice(xs) => write_family(s, "choice", xs),
        }
    }
}

/// Milliseconds as a duration string; values that are not whole milliseconds (only scenarios
/// built in code can hold them) are rounded.
fn ms_text(ms: f64) -> String {
    format_ms(if ms.is_finite() && ms > 0.0 { ms.round() as u64 } else { 0 })
}

/// A log-normal's first argument: the median as a duration string when that reads back exactly,
/// else the numeric `mu`.
#[derive(Serialize)]
#[serde(untagged)]
enum MuArg {
    Median(String),
    Mu(f64),
}

impl Serialize for DurationDist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Dist::Fixed(x) => s.serialize_str(&ms_text(*x)),
            Dist::Uniform(a, b) | Dist::Normal(a, b) => write_family(s, self.family(), [ms_text(*a), ms_text(*b)]),
            Dist::LogNormal(mu, sigma) => {
                let median = mu.exp().round();
                let first = if (1.0..1e18).contains(&median) && (median as u64 as f64).ln() == *mu {
                    MuArg::Median(format_ms(median as u64))
                } else {
                    MuArg::Mu(*mu)
                };
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("lognormal", &(first, *sigma))?;
                m.end()
            }
            Dist::Choice(xs) => write_family(s, "choice", xs.iter().map(|x| ms_text(*x)).collect::<Vec<_>>()),
        }
    }
}

// ----- unit values -----------------------------------------------------------------------------

/// A trader's private value per unit (requesters) or cost per unit (providers): either a
/// distribution each trader draws its one value from, the same for every unit it trades
/// (`value_per_unit = { uniform = [40, 80] }`), or a schedule written out trader by trader
/// (`value_per_unit = { schedule = [[150, 120], [140, 110, 90]] }`): trader `i` of the population
/// gets list `i`, whose `k`-th entry is the value of the `k`-th unit it trades in a period, so a
/// supply or demand schedule from a paper is one population per side (Smith 1962; Gode and Sunder
/// 1993). Buyers' lists run from the highest value down and sellers' from the lowest cost up, the
/// order in which induced-value traders trade their units; the checks are in
/// `PopulationSpec::validate`.
#[derive(Clone, Debug, PartialEq)]
pub enum UnitValues {
    /// One value per trader, drawn from its stream.
    Draw(Dist),
    /// One list of per-unit values per trader, in trading order.
    Schedule(Vec<Vec<f64>>),
}

impl UnitValues {
    /// The schedule, if the values are written out trader by trader.
    pub fn schedule(&self) -> Option<&[Vec<f64>]> {
        match self {
            UnitValues::Draw(_) => None,
            UnitValues::Schedule(s) => Some(s),
        }
    }

    /// The value of a trader's first unit: a draw from its stream, or entry 0 of member
    /// `member`'s list (drawing nothing).
    pub fn first<R: Rng + ?Sized>(&self, member: u32, rng: &mut R) -> f64 {
        match self {
            UnitValues::Draw(d) => d.sample(rng),
            UnitValues::Schedule(s) => s.get(member as usize).and_then(|l| l.first()).copied().unwrap_or(0.0),
        }
    }

    /// Member `member`'s list of unit values, if the values are a schedule.
    pub fn of(&self, member: u32) -> Option<&[f64]> {
        self.schedule().and_then(|s| s.get(member as usize)).map(Vec::as_slice)
    }
}

impl From<Dist> for UnitValues {
    fn from(d: Dist) -> Self {
        UnitValues::Draw(d)
    }
}

enum WrittenValues {
    Draw(Written),
    Schedule(Vec<Vec<f64>>),
}

struct ValuesVisitor;

impl<'de> Visitor<'de> for ValuesVisitor {
    type Value = WrittenValues;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a number, a distribution table ({FAMILIES}) or {{ schedule = [[...], ...] }}")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<WrittenValues, E> {
        WrittenVisitor.visit_i64(v).map(WrittenValues::Draw)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<WrittenValues, E> {
        WrittenVisitor.visit_u64(v).map(WrittenValues::Draw)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<WrittenValues, E> {
        WrittenVisitor.visit_f64(v).map(WrittenValues::Draw)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<WrittenValues, E> {
        WrittenVisitor.visit_str(v).map(WrittenValues::Draw)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<WrittenValues, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(format!(
                "a value table needs exactly one key ({FAMILIES} or schedule), found 0"
            )));
        };
        if key != "schedule" {
            return written_table(&key, map).map(WrittenValues::Draw);
        }
        let lists = map.next_value::<Vec<Vec<f64>>>().map_err(|_: A::Error| {
            de::Error::custom("schedule: expected one array of numbers per trader, e.g. schedule = [[150, 120], [140]]")
        })?;
        if map.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("a schedule table has the one key `schedule`"));
        }
        Ok(WrittenValues::Schedule(lists))
    }
}

impl<'de> Deserialize<'de> for UnitValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(ValuesVisitor)? {
            WrittenValues::Draw(w) => build(&w, number, false).map(UnitValues::Draw),
            WrittenValues::Schedule(s) => Ok(UnitValues::Schedule(s)),
        }
    }
}

impl Serialize for UnitValues {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            UnitValues::Draw(d) => d.serialize(s),
            UnitValues::Schedule(lists) => write_family(s, "schedule", lists),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Serialize, Debug, PartialEq)]
    struct T {
        v: Dist,
    }

    #[derive(Deserialize, Serialize, Debug, PartialEq)]
    struct D {
        d: DurationDist,
    }

    fn read(text: &str) -> Result<Dist, String> {
        toml::from_str::<T>(&format!("v = {text}")).map(|t| t.v).map_err(|e| e.message().to_string())
    }

    fn read_ms(text: &str) -> Result<Dist, String> {
        toml::from_str::<D>(&format!("d = {text}")).map(|t| t.d.0).map_err(|e| e.message().to_string())
    }

    #[test]
    fn numeric_forms() {
        assert_eq!(read("5"), Ok(Dist::Fixed(5.0)));
        assert_eq!(read("{ fixed = 5 }"), Ok(Dist::Fixed(5.0)));
        assert_eq!(read("{ uniform = [1, 2.5] }"), Ok(Dist::Uniform(1.0, 2.5)));
        assert_eq!(read("{ normal = [50, 5] }"), Ok(Dist::Normal(50.0, 5.0)));
        assert_eq!(read("{ choice = [1, 2, 3] }"), Ok(Dist::Choice(vec![1.0, 2.0, 3.0])));
        assert!(read("{ uniform = [1] }").unwrap_err().contains("uniform needs exactly 2 values [low, high]"));
        assert!(read("{ gamma = [1, 2] }").unwrap_err().contains("unknown distribution `gamma`"));
        assert!(read("{ uniform = [1, 2], normal = [1, 2] }").unwrap_err().contains("exactly one key"));
        assert!(read("{ choice = [] }").unwrap_err().contains("choice needs 1 to"));
        assert!(read("\"lots\"").unwrap_err().contains("expected a number"));
        assert!(read("true").unwrap_err().contains("a number or a distribution table"));
    }

    #[test]
    fn duration_forms() {
        assert_eq!(read_ms("\"2m\""), Ok(Dist::Fixed(120_000.0)));
        assert_eq!(read_ms("{ uniform = [\"1s\", \"1m\"] }"), Ok(Dist::Uniform(1e3, 6e4)));
        assert_eq!(read_ms("{ lognormal = [\"20m\", 0.5] }"), Ok(Dist::LogNormal(1_200_000f64.ln(), 0.5)));
        assert!(read_ms("120").unwrap_err().contains("duration in quotes"));
    }

    #[test]
    fn writing_reads_back() {
        for d in [Dist::Fixed(5.0), Dist::Uniform(1.0, 2.0), Dist::LogNormal(0.5, 1.0), Dist::Choice(vec![1.0, 3.0])] {
            let t = T { v: d };
            assert_eq!(toml::from_str::<T>(&toml::to_string(&t).unwrap()).unwrap(), t);
        }
        for d in [Dist::Fixed(120_000.0), Dist::Uniform(1e3, 6e4), Dist::LogNormal(1_200_000f64.ln(), 0.5)] {
            let t = D { d: DurationDist(d) };
            let text = toml::to_string(&t).unwrap();
            assert_eq!(toml::from_str::<D>(&text).unwrap(), t, "{text}");
        }
        let text = toml::to_string(&D { d: DurationDist(Dist::LogNormal(1_200_000f64.ln(), 0.5)) }).unwrap();
        assert!(text.contains("\"20m\""), "{text}");
    }
}
