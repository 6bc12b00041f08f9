//! The message table: each mistake a user makes in a scenario file, a sweep file or on the command
//! line, and the one line synmarket answers with. The messages are pinned whole (file, line:column,
//! TOML path, reason, hint), so a change of wording is a visible change of this table. No message
//! may name a Rust type (`i64`, `u64`, `f64`, `String`, `Option`) or Rust range syntax (`..=`).
//!
//! Lists of the keys a table takes are shown as `(keys here: …)` here and checked apart (they grow
//! with the engine's rules, and they never offer a key that cannot be set, such as `market_seed`).
//! The wording itself comes from one place, `src/scenario/messages.rs`.

use std::path::PathBuf;
use std::process::Command;

/// The smallest valid scenario; each scenario case replaces one piece of it.
const MIN: &str = r#"[scenario]
name = "t"
seed = 1
duration = "1d"

[[task_type]]
name = "a"

[[population]]
name = "req"
role = "requester"
count = 3

[[population]]
name = "prov"
role = "provider"
count = 2
"#;

enum Input {
    /// `synmarket validate` on MIN with the first `.0` replaced by `.1`.
    Scenario(&'static str, &'static str),
    /// `synmarket sweep plan` on this sweep file (`BASELINE` = the baseline scenario's path).
    Sweep(&'static str),
    /// `synmarket run` on this file.
    Run(&'static str),
    /// `synmarket` with these arguments (`MIN` = the path of MIN).
    Cli(&'static [&'static str]),
}

const CASES: &[(&str, Input, &str)] = &[
    (
        "count as text",
        Input::Scenario("count = 3", "count = \"20\""),
        "FILE:12:9: population[0].count: expected a whole number, found the text \"20\": write the number without quotes",
    ),
    (
        "negative fee",
        Input::Scenario("[[task_type]]", "[market]\nfee_bps = -5\n\n[[task_type]]"),
        "FILE:7:11: market.fee_bps: expected a whole number ≥ 0, found -5: this value cannot be negative",
    ),
    (
        "fraction fee",
        Input::Scenario("[[task_type]]", "[market]\nfee_bps = 1.5\n\n[[task_type]]"),
        "FILE:7:11: market.fee_bps: expected a whole number ≥ 0, found 1.5",
    ),
    (
        "decimal days",
        Input::Scenario("duration = \"1d\"", "duration = \"1.5d\""),
        "FILE:4:12: scenario.duration: \"1.5d\" is not a duration: each part must be a whole number of its unit, not a decimal (write \"36h\" or \"1d12h\")",
    ),
    (
        "decimal hours",
        Input::Scenario("duration = \"1d\"", "duration = \"1.5h\""),
        "FILE:4:12: scenario.duration: \"1.5h\" is not a duration: each part must be a whole number of its unit, not a decimal (write \"90m\" or \"1h30m\")",
    ),
    (
        "duration without unit",
        Input::Scenario("duration = \"1d\"", "duration = 7"),
        "FILE:4:12: scenario.duration: expected a duration in quotes such as \"7s\" or \"7m\", found the number 7 (durations need a unit)",
    ),
    (
        "market_seed typo not suggested",
        Input::Scenario("[[task_type]]", "[market]\nmarket_sed = 1\n\n[[task_type]]"),
        "FILE:7:1: market.market_sed: unknown key `market_sed` (keys here: …)",
    ),
    (
        "market_seed forbidden",
        Input::Scenario("[[task_type]]", "[market]\nmarket_seed = 1\n\n[[task_type]]"),
        "FILE:7:1: market.market_seed: cannot be set: it is derived from scenario.seed as splitmix64(seed ^ 0x6d61726b65745f73)",
    ),
    (
        "unknown key suggestion",
        Input::Scenario("[[task_type]]", "[market]\nfe_bps = 1\n\n[[task_type]]"),
        "FILE:7:1: market.fe_bps: unknown key `fe_bps`; did you mean `fee_bps`? (keys here: …)",
    ),
    (
        "unquoted indexed key",
        Input::Scenario("[[task_type]]", "population[0].count = 5\n[[task_type]]"),
        "FILE:6:11: TOML syntax error: key with no value, expected `=`; a key with an index such as `population[0].count` is not TOML: in a sweep file or `--set` quote it as one key (\"population[0].count\" = ...); in a scenario file write the last part inside its [[table]]",
    ),
    (
        "bool as number",
        Input::Scenario("[[task_type]]", "[market]\nverify_signatures = 1\n\n[[task_type]]"),
        "FILE:7:21: market.verify_signatures: expected true or false, found 1",
    ),
    (
        "unknown role",
        Input::Scenario("role = \"requester\"", "role = \"buyer\""),
        "FILE:11:8: population[0].role: unknown value `buyer` (expected one of requester, provider, arbitrator)",
    ),
    (
        "negative seed",
        Input::Scenario("seed = 1", "seed = -1"),
        "FILE:3:8: scenario.seed: -1 is negative; seeds are 0 to 2^64-1",
    ),
    (
        "seed bad text",
        Input::Scenario("seed = 1", "seed = \"0xzz\""),
        "FILE:3:8: scenario.seed: \"0xzz\" is not a seed: write a whole number from 0 to 2^64-1, in decimal or as 0x followed by hex digits",
    ),
    (
        "seed as bool",
        Input::Scenario("seed = 1", "seed = true"),
        "FILE:3:8: scenario.seed: expected a whole-number seed (or text holding one, for seeds above 2^63-1), found a true/false value",
    ),
    (
        "list expected",
        Input::Scenario("name = \"a\"", "name = \"a\"\ncapabilities = \"x\""),
        "FILE:8:16: task_type[0].capabilities: expected a list [ ... ], found the text \"x\"",
    ),
    ("missing name", Input::Scenario("name = \"t\"\n", ""), "FILE:1:1: scenario: missing key `name`"),
    (
        "quality typo",
        Input::Scenario(
            "count = 3",
            "count = 3\nsla.quality_minimums = { acuracy = 0.7 }\n\n[[population]]\nname = \"req2\"\nrole = \"requester\"\ncount = 1\nsla.quality_minimums = { accuracy = 0.7 }\n\n[[population]]\nname = \"req3\"\nrole = \"requester\"\ncount = 1\nsla.quality_minimums = { accuracy = 0.9 }",
        ),
        "FILE:13:36: population[0].sla.quality_minimums.acuracy: `acuracy` is within two letters of `accuracy` (population[1].sla.quality_minimums.accuracy): they would be two metrics, each reported by every provider, and a minimum on one never checks the other. Write one spelling, or declare both in scenario.quality_metrics if both are meant",
    ),
    (
        "quality undeclared",
        Input::Scenario(
            "duration = \"1d\"",
            "duration = \"1d\"\nquality_metrics = [\"accuracy\", \"latency\"]\n\n[[population]]\nname = \"r0\"\nrole = \"requester\"\ncount = 1\nsla.quality_minimums = { acuracy = 0.7 }",
        ),
        "FILE:11:36: population[0].sla.quality_minimums.acuracy: `acuracy` is not one of the quality metrics declared in scenario.quality_metrics (accuracy, latency); did you mean `accuracy`?",
    ),
    (
        "sweep grid seed",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\nreplications = 2\n[grid]\n\"scenario.seed\" = [1, 2]\n",
        ),
        "FILE:6:1: grid.scenario.seed: is a valid scenario key but cannot be swept: the sweep gives every run its own seed; set how many runs each point gets with [sweep] replications and where their seeds start with base_seed",
    ),
    (
        "sweep key after fixed",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\n[fixed]\n\"scenario.duration\" = \"6h\"\nreplications = 2\n[grid]\n\"market.fee_bps\" = [1, 2]\n",
        ),
        "FILE:6:1: fixed.replications: `replications` is a [sweep] key, but it comes after the [fixed] header, and TOML puts every key after a header into that table: move `replications` up into [sweep]",
    ),
    (
        "sweep negative value",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\nreplications = 2\n[grid]\n\"market.fee_bps\" = [1, -2]\n",
        ),
        "FILE:6:1: point 4e9e1015a4ac (market.fee_bps=-2): market.fee_bps: expected a whole number ≥ 0, found -2: this value cannot be negative",
    ),
    (
        "sweep text value",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\nreplications = 2\n[grid]\n\"market.fee_bps\" = [\"a\", 2]\n",
        ),
        "FILE:6:1: point 2dd399377dbd (market.fee_bps=\"a\"): market.fee_bps: expected a whole number ≥ 0, found the text \"a\", which is not a number",
    ),
    (
        "sweep replications as words",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\nreplications = \"two\"\n[grid]\n\"market.fee_bps\" = [1, 2]\n",
        ),
        "FILE:4:1: sweep.replications: expected a whole number from 1 to 100000 (the seeded runs of each point), found the text \"two\", which is not a number",
    ),
    (
        "sweep unquoted key",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\nreplications = 2\n[grid]\npopulation[0].count = [1, 2]\n",
        ),
        "FILE:6:11: TOML syntax error: key with no value, expected `=`; a key with an index such as `population[0].count` is not TOML: in a sweep file or `--set` quote it as one key (\"population[0].count\" = ...); in a scenario file write the last part inside its [[table]]",
    ),
    (
        "sweep missing index",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\nreplications = 2\n[grid]\n\"population[9].count\" = [1, 2]\n",
        ),
        "FILE:6:1: point 0c2e6d9bbebc (population[9].count=1): override `population[9].count`: `population[9]` does not exist: `population` has 7 entries, numbered from 0",
    ),
    (
        "sweep missing replications",
        Input::Sweep("[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\n[grid]\n\"market.fee_bps\" = [1, 2]\n"),
        "FILE:1:2: sweep.replications: missing key `replications`: add `replications = ...` to [sweep]",
    ),
    (
        "sweep negative replications",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\nreplications = -2\n[grid]\n\"market.fee_bps\" = [1, 2]\n",
        ),
        "FILE:4:1: sweep.replications: expected a whole number from 1 to 100000 (the seeded runs of each point), found -2",
    ),
    (
        "sweep unknown header key",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\nreplications = 2\nreplicatons = 3\n[grid]\n\"market.fee_bps\" = [1, 2]\n",
        ),
        "FILE:5:1: sweep.replicatons: unknown key `replicatons`; did you mean `replications`? (keys here: …)",
    ),
    (
        "scenario given to sweep",
        Input::Sweep(
            "[scenario]\nname = \"t\"\nseed = 1\nduration = \"1d\"\n\n[[task_type]]\nname = \"a\"\n\n[[population]]\nname = \"req\"\nrole = \"requester\"\ncount = 3\n\n[[population]]\nname = \"prov\"\nrole = \"provider\"\ncount = 2\n",
        ),
        "FILE:1:2: scenario: this is a scenario file, not a sweep: run it with `synmarket run <FILE>` (a sweep file has a [sweep] table naming its base scenario)",
    ),
    (
        "sweep given to run",
        Input::Run(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\nreplications = 2\n[grid]\n\"market.fee_bps\" = [1, 2]\n",
        ),
        "FILE:1:1: sweep: this is a sweep file, not a scenario: run it with `synmarket sweep run <FILE>`",
    ),
    (
        "negative seed flag",
        Input::Cli(&["run", "MIN", "--seed", "-1"]),
        "invalid value '-1' for '--seed <SEED>': \"-1\" is not a seed: a seed is a whole number from 0 to 18446744073709551615 (or 0x followed by hex digits)",
    ),
    (
        "negative threads flag",
        Input::Cli(&["run", "MIN", "--versus", "market.fee_bps=1", "--threads", "-2"]),
        "invalid value '-2' for '--threads <THREADS>': \"-2\" is not a count: write a whole number such as 4",
    ),
    (
        "one seed pair",
        Input::Cli(&["run", "MIN", "--versus", "market.fee_bps=1", "--seeds", "1"]),
        "--seeds 1: a paired interval needs at least 2 seeds",
    ),
    (
        "integer too large",
        Input::Scenario("[[task_type]]", "[market]\nfee_bps = 99999999999999999999\n\n[[task_type]]"),
        "FILE:7:11: market.fee_bps: expected a whole number ≥ 0, found 99999999999999999999: too large (whole numbers stop at 2^63-1)",
    ),
    (
        "enum given a number",
        Input::Scenario("[[task_type]]", "[market]\npricing = 1\n\n[[task_type]]"),
        "FILE:7:11: market.pricing: expected one of the names listed for this key in scenarios/README.md, in quotes",
    ),
    (
        "whole number written as a float",
        Input::Scenario("[[task_type]]", "[market]\nslot_cap = 2.0\n\n[[task_type]]"),
        "FILE:7:12: market.slot_cap: expected a whole number ≥ 0, found 2.0: write 2",
    ),
    (
        "single brackets for a list of tables",
        Input::Scenario("[[task_type]]\nname = \"a\"", "[task_type]\nname = \"a\"\n\n[[task_type]]\nname = \"b\""),
        "FILE:9:3: TOML syntax error: duplicate key; line 6 writes [task_type] before any [[task_type]]: `task_type` is a list of tables, each written [[task_type]], and its sub-tables ([task_type.…]) go after the [[task_type]] they belong to",
    ),
    (
        "sub-table before its entry",
        Input::Scenario(
            "[[population]]\nname = \"req\"",
            "[population.sla]\nprobability = 1.0\n\n[[population]]\nname = \"req\"",
        ),
        "FILE:12:3: TOML syntax error: duplicate key; line 9 writes [population.sla] before any [[population]]: `population` is a list of tables, each written [[population]], and its sub-tables ([population.…]) go after the [[population]] they belong to",
    ),
    (
        "number too large for --set",
        Input::Cli(&["run", "MIN", "--set", "market.reputation_weight=1e400"]),
        "MIN: market.reputation_weight: expected a number, found 1e400: too large to be a number (set by `--set market.reputation_weight=1e400`)",
    ),
    (
        "text for a number in --set",
        Input::Cli(&["run", "MIN", "--set", "market.fee_bps=abc"]),
        "MIN: market.fee_bps: expected a whole number ≥ 0, found the text \"abc\", which is not a number (set by `--set market.fee_bps=abc`)",
    ),
    (
        "huge number in --set",
        Input::Cli(&["run", "MIN", "--set", "market.fee_bps=99999999999999999999"]),
        "MIN: market.fee_bps: expected a whole number ≥ 0, found 99999999999999999999: too large (whole numbers stop at 2^63-1) (set by `--set market.fee_bps=99999999999999999999`)",
    ),
    (
        "quoted number in --set",
        Input::Cli(&["run", "MIN", "--set", "market.fee_bps=\"5\""]),
        "MIN: market.fee_bps: expected a whole number ≥ 0, found the text \"5\": write the number without quotes (set by `--set market.fee_bps=\"5\"`)",
    ),
    (
        "bad value in --versus",
        Input::Cli(&["run", "MIN", "--set", "market.fee_bps=5", "--versus", "market.fee_bps=-5"]),
        "MIN: market.fee_bps: expected a whole number ≥ 0, found -5: this value cannot be negative (set by `--versus market.fee_bps=-5`)",
    ),
    (
        "sweep replications below one",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\nreplications = 0\n[grid]\n\"market.fee_bps\" = [1, 2]\n",
        ),
        "FILE:4:1: sweep.replications: expected a whole number from 1 to 100000 (the seeded runs of each point), found 0",
    ),
    (
        "sweep scenario path missing",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"no/such/scenario.toml\"\nreplications = 2\n[grid]\n\"market.fee_bps\" = [1, 2]\n",
        ),
        "FILE:3:1: sweep.scenario: base scenario: DIR/no/such/scenario.toml: cannot read the scenario: no such file (the path is relative to the sweep file)",
    ),
    (
        "sweep fixed value invalid",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\nreplications = 2\n[fixed]\n\"scenario.duration\" = \"1.5d\"\n[grid]\n\"market.fee_bps\" = [1, 2]\n",
        ),
        "FILE:6:1: fixed.scenario.duration: \"1.5d\" is not a duration: each part must be a whole number of its unit, not a decimal (write \"36h\" or \"1d12h\")",
    ),
    (
        "sweep list in fixed",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\nreplications = 2\n[fixed]\n\"scenario.duration\" = [\"6h\", \"12h\"]\n[grid]\n\"market.fee_bps\" = [1, 2]\n",
        ),
        "FILE:6:1: fixed.scenario.duration: expected a duration such as \"15m\", \"36h\" or \"1d12h\", found a list; a list in [fixed] sets the key to the list itself: to sweep over its values, move it to [grid]",
    ),
    (
        "sweep key fixed and swept",
        Input::Sweep(
            "[sweep]\nname = \"x\"\nscenario = \"BASELINE\"\nreplications = 2\n[fixed]\n\"market.fee_bps\" = 5\n[grid]\n\"market.fee_bps\" = [1, 2]\n",
        ),
        "FILE:8:1: grid.market.fee_bps: is set in [fixed] and also swept: a key is either fixed or swept, not both",
    ),
    (
        "key in the wrong table",
        Input::Scenario("[[task_type]]", "[market]\ninitial = 60.0\n\n[[task_type]]"),
        "FILE:7:1: market.initial: unknown key `initial`; `initial` is a key of [market.reputation] (keys here: …)",
    ),
    (
        "sla key at population level",
        Input::Scenario("count = 3", "count = 3\npenalty_fraction = 0.5"),
        "FILE:13:1: population[0].penalty_fraction: unknown key `penalty_fraction`; `penalty_fraction` is a key of [population.sla] (after its [[population]]) (keys here: …)",
    ),
    (
        "market key at top level",
        Input::Scenario("[scenario]", "fee_bps = 5\n[scenario]"),
        "FILE:1:1: fee_bps: unknown key `fee_bps`; `fee_bps` is a key of [market] (keys here: …)",
    ),
    (
        "market table at top level",
        Input::Scenario("[[task_type]]", "[reputation]\ninitial = 5.0\n\n[[task_type]]"),
        "FILE:6:2: reputation: unknown key `reputation`; `reputation` is a key of [market] (keys here: …)",
    ),
];

const RUST_WORDS: &[&str] = &["i64", "u64", "f64", "i32", "u32", "usize", "String", "Option", "..=", "Vec<"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The first line of stderr without `error: `, with the case file's path written `FILE`, MIN's
/// `MIN` and the case folder's `DIR`.
fn answer(input: &Input, dir: &std::path::Path) -> String {
    let file = dir.join("case.toml");
    let min = dir.join("min.toml");
    std::fs::write(&min, MIN).unwrap();
    let baseline = root().join("scenarios/baseline.toml").display().to_string();
    let mut c = Command::new(env!("CARGO_BIN_EXE_synmarket"));
    match input {
        Input::Scenario(from, to) => {
            assert!(MIN.contains(from), "case edits {from:?}, which MIN does not hold");
            std::fs::write(&file, MIN.replacen(from, to, 1)).unwrap();
            c.arg("validate").arg(&file);
        }
        Input::Sweep(body) => {
            std::fs::write(&file, body.replace("BASELINE", &baseline)).unwrap();
            c.args(["sweep", "plan"]).arg(&file);
        }
        Input::Run(body) => {
            std::fs::write(&file, body.replace("BASELINE", &baseline)).unwrap();
            c.arg("run").arg(&file).arg("--out").arg(dir.join("out"));
        }
        Input::Cli(args) => {
            c.args(args.iter().map(|a| if *a == "MIN" { min.display().to_string() } else { a.to_string() }));
            c.arg("--out").arg(dir.join("out"));
        }
    }
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(2), "bad input exits 2: {}", String::from_utf8_lossy(&o.stderr));
    assert!(!dir.join("out").exists(), "no output may be written for bad input");
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    let line = stderr.lines().next().unwrap_or_default();
    line.strip_prefix("error: ")
        .unwrap_or(line)
        .replace(&file.display().to_string(), "FILE")
        .replace(&min.display().to_string(), "MIN")
        .replace(&dir.display().to_string(), "DIR")
}

/// `(keys here: a, b, c)` → `(keys here: …)`, after checking the list.
fn without_key_list(message: &str) -> String {
    let Some(start) = message.find("(keys here: ") else { return message.to_string() };
    let end = start + message[start..].find(')').expect("closed key list");
    let list = &message[start + "(keys here: ".len()..end];
    // Keys the user may not set are never offered.
    assert!(!list.split(", ").any(|k| k == "market_seed"), "the key list offers `market_seed`: {message}");
    format!("{}(keys here: …){}", &message[..start], &message[end + 1..])
}

#[test]
fn messages_are_in_the_users_words() {
    let dir = std::env::temp_dir().join(format!("synmarket-it-messages-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut wrong = Vec::new();
    for (name, input, expected) in CASES {
        let got = answer(input, &dir);
        for word in RUST_WORDS {
            assert!(!got.contains(word), "{name}: the message names the Rust `{word}`: {got}");
        }
        if without_key_list(&got) != *expected {
            wrong.push(format!("{name}:\n  expected: {expected}\n  got:      {got}"));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(wrong.is_empty(), "{} of {} messages differ:\n{}", wrong.len(), CASES.len(), wrong.join("\n"));
}
