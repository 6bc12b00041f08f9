//! Overrides: `dotted.path=value` edits of a scenario's TOML tree before validation.
//!
//! A path is a dotted list of keys, each optionally followed by `[index]` for array elements:
//! `market.fee_bps`, `market.reputation.initial`, `population[2].count`,
//! `population[0].sla.probability`. The value is parsed as a TOML value (`0`, `0.5`, `true`,
//! `"text"`, `[1, 2]`, `{ uniform = [1, 2] }`); if it does not parse it is taken as a string, so
//! `scenario.duration=3d` and `market.pricing=midpoint` need no quotes.
//!
//! Missing tables on the way are created (the schema check after the edit refuses keys that do not
//! exist); a missing array element is an error. Sweeps call [`apply_overrides`] with points that
//! map dotted keys to TOML values.

use thiserror::Error;

/// A malformed override or one that cannot be applied to the file's tree.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("override `{key}`: {reason}")]
pub struct OverrideError {
    /// The dotted key as written.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Key(String),
    Index(usize),
}

fn err<T>(key: &str, reason: impl Into<String>) -> Result<T, OverrideError> {
    Err(OverrideError { key: key.to_string(), reason: reason.into() })
}

fn parse_path(key: &str) -> Result<Vec<Step>, OverrideError> {
    if key.is_empty() {
        return err(key, "empty key");
    }
    let mut steps = Vec::new();
    for part in key.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return err(key, format!("`{part}` is not a key (use letters, digits, '_', '-' and [index])"));
        }
        steps.push(Step::Key(name.to_string()));
        while !rest.is_empty() {
            let Some(close) = rest.find(']') else {
                return err(key, format!("unclosed `[` in `{part}`"));
            };
            let digits = &rest[1..close];
            let index: usize = digits
                .parse()
                .or_else(|_| err(key, format!("`[{digits}]` is not a list index (write a whole number ≥ 0)")))?;
            steps.push(Step::Index(index));
            rest = &rest[close + 1..];
            if !rest.is_empty() && !rest.starts_with('[') {
                return err(key, format!("unexpected `{rest}` after an index in `{part}`"));
            }
        }
    }
    Ok(steps)
}

/// The steps of a dotted key (`population[2].sla.probability`) as TOML path segments, or `None`
/// when it is not a valid dotted key.
pub(crate) fn split_path(key: &str) -> Option<Vec<super::locate::Seg>> {
    let steps = parse_path(key).ok()?;
    Some(
        steps
            .into_iter()
            .map(|s| match s {
                Step::Key(k) => super::locate::Seg::Key(k),
                Step::Index(i) => super::locate::Seg::Index(i),
            })
            .collect(),
    )
}

/// Parses the value of an override: a TOML value, or else the text as a string.
pub fn parse_value(text: &str) -> toml::Value {
    let text = text.trim();
    if let Ok(mut table) = toml::from_str::<toml::Table>(&format!("v = {text}"))
        && table.len() == 1
        && let Some(v) = table.remove("v")
    {
        return v;
    }
    toml::Value::String(text.to_string())
}

/// Splits `dotted.path=value` into the key and the parsed value.
pub fn parse_override(text: &str) -> Result<(String, toml::Value), OverrideError> {
    let Some((key, value)) = text.split_once('=') else {
        return err(text.trim(), "expected `dotted.key=value`");
    };
    let key = key.trim();
    parse_path(key)?;
    Ok((key.to_string(), parse_value(value)))
}

/// Applies one `dotted.path=value` override to a scenario's TOML tree.
pub fn apply_override(root: &mut toml::Value, text: &str) -> Result<(), OverrideError> {
    let (key, value) = parse_override(text)?;
    set(root, &key, value)
}

/// Applies overrides in order (later ones win).
pub fn apply_overrides(root: &mut toml::Value, overrides: &[(String, toml::Value)]) -> Result<(), OverrideError> {
    for (key, value) in overrides {
        set(root, key, value.clone())?;
    }
    Ok(())
}

fn describe(steps: &[Step]) -> String {
    let mut s = String::new();
    for (i, step) in steps.iter().enumerate() {
        match step {
            Step::Key(k) if i == 0 => s.push_str(k),
            Step::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Step::Index(n) => s.push_str(&format!("[{n}]")),
        }
    }
    s
}

/// The value at `key` (a dotted path) in `root`, if the tree holds one there.
pub fn get<'a>(root: &'a toml::Value, key: &str) -> Option<&'a toml::Value> {
    let mut node = root;
    for step in parse_path(key).ok()? {
        node = match step {
            Step::Key(k) => node.as_table()?.get(&k)?,
            Step::Index(n) => node.as_array()?.get(n)?,
        };
    }
    Some(node)
}

/// Sets `key` (a dotted path) to `value` in `root`.
pub fn set(root: &mut toml::Value, key: &str, value: toml::Value) -> Result<(), OverrideError> {
    let steps = parse_path(key)?;
    let mut node = root;
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        let here = describe(&steps[..i]);
        let kind = super::messages::kind_of(node);
        node = match step {
            Step::Key(k) => {
                let Some(table) = node.as_table_mut() else {
                    return err(key, format!("`{here}` is {kind}, not a table"));
                };
                if last {
                    table.insert(k.clone(), value);
                    return Ok(());
                }
                let next_is_index = matches!(steps.get(i + 1), Some(Step::Index(_)));
                if !table.contains_key(k) {
                    if next_is_index {
                        return err(
                            key,
                            format!("`{}` is not in the file, so it has no elements", describe(&steps[..=i])),
                        );
                    }
                    table.insert(k.clone(), toml::Value::Table(toml::Table::new()));
                }
                match table.get_mut(k) {
                    Some(v) => v,
                    None => return err(key, "internal: key vanished"),
                }
            }
            Step::Index(n) => {
                let Some(array) = node.as_array_mut() else {
                    return err(key, format!("`{here}` is {kind}, not a list"));
                };
                let len = array.len();
                let Some(slot) = array.get_mut(*n) else {
                    return err(
                        key,
                        format!(
                            "`{here}[{n}]` does not exist: `{here}` has {len} {}, numbered from 0",
                            if len == 1 { "entry" } else { "entries" }
                        ),
                    );
                };
                if last {
                    *slot = value;
                    return Ok(());
                }
                slot
            }
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> toml::Value {
        toml::Value::Table(toml::from_str("[market]\nfee_bps = 100\n[[population]]\nname = 'a'\ncount = 1\n").unwrap())
    }

    #[test]
    fn sets_values_by_path() {
        let mut v = doc();
        apply_override(&mut v, "market.fee_bps=0").unwrap();
        apply_override(&mut v, "population[0].count = 7").unwrap();
        apply_override(&mut v, "market.reputation.initial=60.5").unwrap();
        apply_override(&mut v, "market.pricing=midpoint").unwrap();
        apply_override(&mut v, "population[0].units={ uniform = [1, 2] }").unwrap();
        assert_eq!(v["market"]["fee_bps"], toml::Value::Integer(0));
        assert_eq!(v["population"][0]["count"], toml::Value::Integer(7));
        assert_eq!(v["market"]["reputation"]["initial"], toml::Value::Float(60.5));
        assert_eq!(v["market"]["pricing"], toml::Value::String("midpoint".into()));
        assert!(v["population"][0]["units"].is_table());
    }

    #[test]
    fn refuses_bad_paths() {
        let mut v = doc();
        let e = apply_override(&mut v, "population[3].count=1").unwrap_err();
        assert_eq!(e.key, "population[3].count");
        assert!(e.reason.contains("has 1 entry"), "{}", e.reason);
        assert!(apply_override(&mut v, "market.fee_bps.x=1").unwrap_err().reason.contains("not a table"));
        assert!(apply_override(&mut v, "task_type[0].name=x").unwrap_err().reason.contains("not in the file"));
        assert!(apply_override(&mut v, "no_equals_sign").is_err());
        assert!(apply_override(&mut v, "=1").is_err());
        assert!(apply_override(&mut v, "a..b=1").is_err());
        assert!(apply_override(&mut v, "a[x]=1").is_err());
        assert!(apply_override(&mut v, "a[1=1").is_err());
        assert!(apply_override(&mut v, "market[0]=1").unwrap_err().reason.contains("not a list"));
    }

    #[test]
    fn values_fall_back_to_strings() {
        assert_eq!(parse_value("3d"), toml::Value::String("3d".into()));
        assert_eq!(parse_value("\"3d\""), toml::Value::String("3d".into()));
        assert_eq!(parse_value("true"), toml::Value::Boolean(true));
        assert_eq!(parse_value("1\nx = 2"), toml::Value::String("1\nx = 2".into()));
    }
}
