//! Duration strings of scenario files: `"7d"`, `"36h"`, `"90m"`, `"45s"`, `"500ms"` and
//! concatenations of them such as `"1d12h"` or `"1h30m15s"`.
//!
//! Units: `d` (days), `h` (hours), `m` (minutes), `s` (seconds), `ms` (milliseconds). Each part is
//! a non-negative whole number; parts may come in any order but a unit may appear only once.
//! Whitespace is not allowed inside the string. [`format_ms`] writes the canonical form (largest
//! units first, zero parts left out, `"0s"` for zero) that [`parse_ms`] reads back exactly.

use synmarket_engine::DurationMs;

/// One second in milliseconds.
pub const SECOND: DurationMs = 1_000;
/// One minute in milliseconds.
pub const MINUTE: DurationMs = 60 * SECOND;
/// One hour in milliseconds.
pub const HOUR: DurationMs = 60 * MINUTE;
/// One day in milliseconds.
pub const DAY: DurationMs = 24 * HOUR;

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
    fn format_round_trips() {
        for ms in [0, 1, 999, SECOND, 90 * MINUTE, DAY + 12 * HOUR + 1, 365 * DAY, u64::MAX / 2] {
            assert_eq!(parse_ms(&format_ms(ms)), Ok(ms), "{ms}");
        }
        assert_eq!(format_ms(90 * MINUTE), "1h30m");
        assert_eq!(format_ms(7 * DAY), "7d");
    }
}
