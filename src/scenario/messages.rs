//! The one place where serde's and TOML's error messages become the project's: in the user's
//! words, without Rust type names, with a hint where a likely mistake has one.
//!
//! serde reports a wrong value as `invalid type: string "20", expected i64`; a user reads
//! `expected a whole number, found the text "20"`. Unknown keys get the closest known key as a
//! suggestion. The table test in `tests.rs` (`messages_are_in_the_users_words`) pins every case.

/// What a Rust type (as serde names it in "expected ...") is in the user's words.
fn expected_words(expected: &str) -> String {
    let e = expected.trim();
    match e {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number".into(),
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number ≥ 0".into(),
        "f32" | "f64" => "a number".into(),
        "a boolean" | "bool" => "true or false".into(),
        "a string" | "String" | "a borrowed string" | "a string or bytes" => "text in quotes".into(),
        "a sequence" | "a tuple" => "a list [ ... ]".into(),
        "a map" => "a table { ... }".into(),
        "unit" | "a unit" => "nothing".into(),
        other if other.starts_with("struct ") => "a table { ... }".into(),
        other if other.starts_with("enum ") => "one of the names listed in scenarios/README.md".into(),
        other if other.starts_with("a sequence of") => "a list [ ... ]".into(),
        other if other.starts_with("option") || other.starts_with("Option") => "a value".into(),
        other => other.to_string(),
    }
}

/// What serde's "found" part (`string "20"`, `integer `-5``, `floating point `1.5``) is.
fn found_words(found: &str) -> String {
    let f = found.trim();
    if let Some(rest) = f.strip_prefix("string ") {
        return format!("the text {rest}");
    }
    for prefix in ["integer ", "floating point ", "boolean "] {
        if let Some(rest) = f.strip_prefix(prefix) {
            // serde writes integers beyond i64 as "`99999999999999999999` as i128".
            let rest = rest.split(" as ").next().unwrap_or(rest).trim_matches('`');
            // A float as serde prints it can run to hundreds of digits (`1e300`); a short one
            // stays as written (`2.0`).
            if prefix == "floating point "
                && rest.len() > 20
                && let Ok(x) = rest.parse::<f64>()
            {
                return synmarket_engine::error::show_number(x);
            }
            return rest.to_string();
        }
    }
    match f {
        "map" => "a table".into(),
        "sequence" => "a list".into(),
        "unit value" => "nothing".into(),
        other => other.to_string(),
    }
}

/// A serde/TOML reason in the user's words. `key` is the key the value was written at, if known
/// (for hints such as quoting dotted keys).
pub fn serde_reason(reason: &str, key: Option<&str>) -> String {
    let r = reason.trim().trim_end_matches('\n');
    let r = r.lines().next().unwrap_or(r).trim();
    // invalid type / invalid value: X, expected Y
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = r.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            let found_w = found_words(found);
            let exp = expected_words(expected);
            let negative = found.starts_with("integer `-") && expected.trim().starts_with('u');
            if negative {
                return format!("expected {exp}, found {found_w}: this value cannot be negative");
            }
            if found.starts_with("string ") && (exp.starts_with("a whole number") || exp == "a number") {
                // A `--set` value that is a number TOML cannot hold arrives as text: say why.
                let text = found.trim_start_matches("string ").trim_matches('"');
                let digits = text.strip_prefix('-').unwrap_or(text);
                // Only digits that no whole number holds are too large: `"5"` is a number in quotes.
                if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) && text.parse::<i64>().is_err() {
                    return format!("expected {exp}, found {text}: too large (whole numbers stop at 2^63-1)");
                }
                if text.parse::<f64>().is_ok_and(|x| x.is_infinite()) {
                    return format!("expected {exp}, found {text}: too large to be a number");
                }
                return format!("expected {exp}, found {found_w}{}", quoted_number_hint(text));
            }
            if found.starts_with("floating point ") && exp.starts_with("a whole number") {
                let x: f64 = found_w.parse().unwrap_or(f64::NAN);
                if x.is_finite() && x == x.trunc() && x.abs() < 9.0e15 {
                    return format!("expected {exp}, found {found_w}: write {}", x as i64);
                }
            }
            if found.starts_with("integer ") && exp.starts_with("a whole number") && expected.trim().starts_with('u') {
                let text = found_w.as_str();
                if text.len() > 18 && text.chars().all(|c| c.is_ascii_digit()) {
                    return format!("expected {exp}, found {text}: too large (whole numbers stop at 2^63-1)");
                }
            }
            return format!("expected {exp}, found {found_w}");
        }
    }
    if let Some(rest) = r.strip_prefix("unknown field `")
        && let Some((field, tail)) = rest.split_once('`')
    {
        let known: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
        return unknown_key(field, &known);
    }
    if let Some(rest) = r.strip_prefix("unknown variant `")
        && let Some((variant, tail)) = rest.split_once('`')
    {
        let known: Vec<&str> = tail.split('`').skip(1).step_by(2).collect();
        let hint = suggestion(variant, &known).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
        return format!("unknown value `{variant}` (expected one of {}){hint}", known.join(", "));
    }
    if let Some(rest) = r.strip_prefix("missing field `")
        && let Some((field, _)) = rest.split_once('`')
    {
        return format!("missing key `{field}`");
    }
    if let Some(rest) = r.strip_prefix("invalid length ")
        && let Some((n, expected)) = rest.split_once(", expected ")
    {
        return format!("expected {}, found {n} values", expected_words(expected));
    }
    if r == "wanted string or table" {
        // toml's message for an enum given a number or a list (`pricing = 1`).
        return "expected one of the names listed for this key in scenarios/README.md, in quotes".to_string();
    }
    let _ = key;
    r.to_string()
}

/// What to say of text where a number belongs: quoted digits (`"5"`) are a number written in
/// quotes; anything else (`abc`, which `--set` passes on as text) is not a number at all, and
/// telling its author to drop quotes they never typed would not help.
pub(crate) fn quoted_number_hint(text: &str) -> &'static str {
    if text.trim().parse::<f64>().is_ok_and(f64::is_finite) {
        ": write the number without quotes"
    } else {
        ", which is not a number"
    }
}

/// What kind of TOML value `v` is, in the user's words, with its article ("a whole number",
/// "text", "a list"). Used for "expected X, found Y" messages written outside serde.
pub fn kind_of(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::Integer(_) => "a whole number",
        toml::Value::Float(_) => "a number with a fraction",
        toml::Value::String(_) => "text",
        toml::Value::Boolean(_) => "a true/false value",
        toml::Value::Datetime(_) => "a date",
        toml::Value::Array(_) => "a list",
        toml::Value::Table(_) => "a table",
    }
}

/// Every table of a scenario file and its keys, read from the typed structs (serde field names),
/// so that a key written in the wrong table can be sent home ("`initial` is a key of
/// [market.reputation]"). Population keys are the fields of its four groups plus its header.
fn key_homes() -> &'static [(&'static str, Vec<&'static str>)] {
    use synmarket_agents::config::field_names;
    static HOMES: std::sync::OnceLock<Vec<(&'static str, Vec<&'static str>)>> = std::sync::OnceLock::new();
    HOMES.get_or_init(|| {
        let population = super::population::keys_for(None);
        vec![
            ("scenario", field_names::<super::file::Header>().to_vec()),
            ("market", field_names::<synmarket_engine::MarketConfig>().to_vec()),
            ("market.reputation", field_names::<synmarket_engine::config::ReputationConfig>().to_vec()),
            ("[task_type]", field_names::<synmarket_agents::spec::TaskTypeSpec>().to_vec()),
            ("[population]", population),
            ("[population].sla", field_names::<synmarket_agents::spec::SlaTerms>().to_vec()),
            ("[population].reliability", field_names::<synmarket_agents::spec::Reliability>().to_vec()),
        ]
    })
}

/// "; `k` is a key of [table]" when `k` is not a key here but is one of exactly the tables
/// found (outside those of `known`, where it would have been accepted).
fn home_of(k: &str, known: &[&str]) -> Option<String> {
    let homes: Vec<&str> = key_homes()
        .iter()
        .filter(|(_, keys)| keys.contains(&k) && keys.as_slice() != known)
        .map(|(table, _)| *table)
        .collect();
    let show = |t: &str| match t.strip_prefix("[population]") {
        Some("") => "a [[population]]".to_string(),
        Some(rest) => format!("[population{rest}] (after its [[population]])"),
        None => match t.strip_prefix("[task_type]") {
            Some(_) => "a [[task_type]]".to_string(),
            None => format!("[{t}]"),
        },
    };
    match homes.as_slice() {
        [] => None,
        [one] => Some(format!("; `{k}` is a key of {}", show(one))),
        many => {
            Some(format!("; `{k}` is a key of {}", many.iter().map(|t| show(t)).collect::<Vec<_>>().join(" and of ")))
        }
    }
}

/// "unknown key `k`" with the closest known key as a suggestion (or the table the key belongs
/// to) and the keys that exist.
pub fn unknown_key(k: &str, known: &[&str]) -> String {
    // A near spelling here wins over another table's exact key only when it is one edit away.
    let near = suggestion(k, known).filter(|s| edit_distance(k, s) <= 1);
    let hint = near
        .map(|s| format!("; did you mean `{s}`?"))
        .or_else(|| home_of(k, known))
        .or_else(|| suggestion(k, known).map(|s| format!("; did you mean `{s}`?")))
        .unwrap_or_default();
    if known.is_empty() {
        return format!("unknown key `{k}`: this table takes no keys");
    }
    let mut list: Vec<&str> = known.to_vec();
    list.sort_unstable();
    list.dedup();
    format!("unknown key `{k}`{hint} (keys here: {})", list.join(", "))
}

/// The known name closest to `k` by edit distance, when it is close enough to be a typo.
pub fn suggestion<'a>(k: &str, known: &[&'a str]) -> Option<&'a str> {
    let limit = (k.chars().count() / 3).max(2);
    known
        .iter()
        .map(|c| (edit_distance(k, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb { prev } else { 1 + prev.min(row[j]).min(cur) };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("acuracy", "accuracy"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(suggestion("fe_bps", &["fee_bps", "slot_cap"]), Some("fee_bps"));
        assert_eq!(suggestion("zzzz", &["fee_bps"]), None);
    }

    /// A hostile float is shown in scientific notation, not as hundreds of digits.
    #[test]
    fn huge_floats_are_shown_short() {
        let huge = format!("invalid type: floating point `{}`, expected u32", 1e300);
        assert!(huge.len() > 300, "serde writes all the digits");
        assert_eq!(serde_reason(&huge, None), "expected a whole number ≥ 0, found 1e300");
        let plain = "invalid type: floating point `1.5`, expected u32";
        assert_eq!(serde_reason(plain, None), "expected a whole number ≥ 0, found 1.5");
    }
}
