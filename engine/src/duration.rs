//! Durations as people write them: `"7d"`, `"36h"`, `"90m"`, `"45s"`, `"500ms"` and
//! concatenations of them such as `"1d12h"` or `"1h30m15s"`. This is the duration format of
//! scenario files and of every configuration the engine (de)serializes.
//!
//! Units: `d` (days), `h` (hours), `m` (minutes), `s` (seconds), `ms` (milliseconds). Each part is
//! a non-negative whole number; parts may come in any order but a unit may appear only once.
//! Whitespace is not allowed inside the string. [`format_ms`] writes the canonical form (largest
//! units first, zero parts left out, `"0s"` for zero) that [`parse_ms`] reads back exactly.
//!
//! A configuration field holding milliseconds ([`DurationMs`]) reads and writes this format with
//! `#[serde(with = "synmarket_engine::duration::serde_ms")]`; [`Duration`] is the same as a type.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::ids::{DAY, DurationMs, HOUR, MINUTE, SECOND};

/// A span of simulated time that (de)serializes as a duration string (`"15m"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub DurationMs);

impl Duration {
    /// The span in milliseconds.
    pub fn ms(self) -> DurationMs {
        self.0
    }
}

impl std::fmt::Display for Duration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_ms(self.0))
    }
}

impl std::str::FromStr for Duration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        parse_ms(s).map(Duration)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_ms::serialize(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_ms::deserialize(d).map(Duration)
    }
}

/// Serde adapter for a [`DurationMs`] field written as a duration string.
pub mod serde_ms {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    use super::{DurationMs, format_ms, parse_ms};

    /// Writes `ms` in the canonical form.
    pub fn serialize<S: Serializer>(ms: &DurationMs, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_ms(*ms))
    }

    /// Reads a duration string; a number is refused with a hint (its unit would be a guess).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DurationMs, D::Error> {
        d.deserialize_any(DurationVisitor)
    }

    struct DurationVisitor;

    impl Visitor<'_> for DurationVisitor {
        type Value = DurationMs;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a duration such as \"15m\", \"36h\" or \"1d12h\"")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationMs, E> {
            parse_ms(v).map_err(E::custom)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationMs, E> {
            Err(E::custom(format!(
                "expected a duration in quotes such as \"{v}s\" or \"{v}m\", found the number {v} (durations need a unit)"
            )))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationMs, E> {
            self.visit_i64(v.min(i64::MAX as u64) as i64)
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurationMs, E> {
            Err(E::custom(format!("expected a duration in quotes such as \"30s\" or \"2h\", found the number {v}")))
        }
    }
}

/// Parses a duration string into milliseconds. The error is a short reason for the user.
pub fn parse_ms(text: &str) -> Result<DurationMs, String> {
    if text.is_empty() {
        return Err("empty duration (write e.g. \"15m\", \"36h\" or \"1d12h\")".into());
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut total: DurationMs = 0;
    let mut seen: Vec<&str> = Vec::new();
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(format!(
                "{text:?} is not a duration: expected a number at position {} (write e.g. \
                 \"15m\", \"36h\" or \"1d12h\")",
                start + 1
            ));
        }
        let digits = &text[start..i];
        if bytes.get(i) == Some(&b'.') {
            return Err(decimal_hint(text));
        }
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &text[unit_start..i];
        let scale = match unit {
            "d" => DAY,
            "h" => HOUR,
            "m" => MINUTE,
            "s" => SECOND,
            "ms" => 1,
            "" => {
                return Err(format!("{text:?} is not a duration: {digits} has no unit (use d, h, m, s or ms)"));
            }
            other => {
                return Err(format!("{text:?} is not a duration: unknown unit {other:?} (use d, h, m, s or ms)"));
            }
        };
        if seen.contains(&unit) {
            return Err(format!("{text:?} is not a duration: unit {unit:?} appears twice"));
        }
        seen.push(unit);
        let n: u64 = digits.parse().map_err(|_| format!("{text:?} is not a duration: {digits} is too large"))?;
        total = n
            .checked_mul(scale)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| format!("{text:?} is not a duration: too large"))?;
    }
    Ok(total)
}

/// The message for a decimal such as `"1.5d"`: parts are whole numbers, so say so and give the
/// same span in whole units when it has one (`"36h"`).
fn decimal_hint(text: &str) -> String {
    let whole: String = text.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    let unit: String = text[whole.len()..].chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let scale = match unit.as_str() {
        "d" => Some(DAY),
        "h" => Some(HOUR),
        "m" => Some(MINUTE),
        "s" => Some(SECOND),
        _ => None,
    };
    let suggestion = match (whole.parse::<f64>(), scale) {
        (Ok(x), Some(scale)) if x.is_finite() && x >= 0.0 && whole.len() + unit.len() == text.len() => {
            let ms = x * scale as f64;
            let smaller = match unit.as_str() {
                "d" => Some((HOUR, "h")),
                "h" => Some((MINUTE, "m")),
                "m" => Some((SECOND, "s")),
                _ => None,
            };
            (ms.fract() == 0.0 && ms < 1e18).then(|| {
                let ms = ms as u64;
                match smaller {
                    Some((step, name))
                        if ms.is_multiple_of(step) && format!("{}{name}", ms / step) != format_ms(ms) =>
                    {
                        format!(" (write \"{}{name}\" or \"{}\")", ms / step, format_ms(ms))
                    }
                    _ => format!(" (write \"{}\")", format_ms(ms)),
                }
            })
        }
        _ => None,
    };
    format!(
        "{text:?} is not a duration: each part must be a whole number of its unit, not a decimal{}",
        suggestion.unwrap_or_else(|| " (combine units instead, e.g. \"1d12h\")".into())
    )
}

/// Writes milliseconds in the canonical form read by [`parse_ms`] (`90 * MINUTE` → `"1h30m"`).
pub fn format_ms(ms: DurationMs) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (scale, unit) in [(DAY, "d"), (HOUR, "h"), (MINUTE, "m"), (SECOND, "s"), (1, "ms")] {
        let n = rest / scale;
        if n > 0 {
            out.push_str(&n.to_string());
            out.push_str(unit);
            rest -= n * scale;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse_ms("7d"), Ok(7 * DAY));
        assert_eq!(parse_ms("36h"), Ok(36 * HOUR));
        assert_eq!(parse_ms("90m"), Ok(90 * MINUTE));
        assert_eq!(parse_ms("45s"), Ok(45 * SECOND));
        assert_eq!(parse_ms("500ms"), Ok(500));
        assert_eq!(parse_ms("1d12h"), Ok(DAY + 12 * HOUR));
        assert_eq!(parse_ms("1h30m15s250ms"), Ok(HOUR + 30 * MINUTE + 15 * SECOND + 250));
        assert_eq!(parse_ms("0s"), Ok(0));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "7", "d", "7x", "1h1h", "-5m", " 5m", "5 m", "1.5h", "99999999999999999999d"] {
            assert!(parse_ms(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn decimals_are_refused_with_the_whole_unit_form() {
        let e = parse_ms("1.5d").unwrap_err();
        assert!(e.contains("not a decimal") && e.contains("\"36h\" or \"1d12h\""), "{e}");
        let e = parse_ms("0.5h").unwrap_err();
        assert!(e.contains("\"30m\""), "{e}");
        let e = parse_ms("1.5x").unwrap_err();
        assert!(e.contains("not a decimal") && e.contains("combine units"), "{e}");
    }

    #[test]
    fn serde_reads_strings_and_refuses_numbers() {
        #[derive(serde::Deserialize, serde::Serialize)]
        struct T {
            #[serde(with = "serde_ms")]
            w: DurationMs,
            d: Duration,
        }
        let t: T = toml::from_str("w = \"15m\"\nd = \"1h30m\"").unwrap();
        assert_eq!((t.w, t.d), (15 * MINUTE, Duration(90 * MINUTE)));
        assert_eq!(toml::to_string(&t).unwrap(), "w = \"15m\"\nd = \"1h30m\"\n");
        let e = toml::from_str::<T>("w = 15\nd = \"1h\"").err().unwrap().to_string();
        assert!(e.contains("durations need a unit"), "{e}");
    }

    #[test]
    fn format_round_trips() {
        for ms in [0, 1, 999, SECOND, 90 * MINUTE, DAY + 12 * HOUR + 1, 365 * DAY, u64::MAX / 2] {
            assert_eq!(parse_ms(&format_ms(ms)), Ok(ms), "{ms}");
        }
        assert_eq!(format_ms(90 * MINUTE), "1h30m");
        assert_eq!(format_ms(7 * DAY), "7d");
    }
}
