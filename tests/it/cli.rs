//! `synmarket run` and `synmarket validate` as a user types them: determinism across reruns and
//! thread counts, overrides, seeds, and clear errors without partial output for bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_synmarket"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("synmarket-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = bin();
    c.current_dir(root()).args(["run", "scenarios/baseline.toml", "--quiet", "--out"]).arg(out);
    c.args(["--set", "scenario.duration=\"1d\""]).args(extra);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    assert!(o.status.success(), "run failed: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn digest(dir: &Path) -> String {
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    m["ledger_digest"].as_str().unwrap().to_string()
}

fn parquet_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "parquet"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn reruns_and_thread_counts_are_byte_identical() {
    let (a, b) = (tmp("det-a"), tmp("det-b"));
    run(&a, &[], &[]);
    run(&b, &[], &[("RAYON_NUM_THREADS", "1"), ("POLARS_MAX_THREADS", "1")]);
    let (da, db) = (a.join("baseline/seed-42"), b.join("baseline/seed-42"));
    let (fa, fb) = (parquet_files(&da), parquet_files(&db));
    assert!(fa.len() >= 4, "expected the raw tables, got {:?}", fa.iter().map(|f| &f.0).collect::<Vec<_>>());
    assert_eq!(fa.iter().map(|f| &f.0).collect::<Vec<_>>(), fb.iter().map(|f| &f.0).collect::<Vec<_>>());
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{name} differs between runs");
    }
    assert_eq!(digest(&da), digest(&db));
    assert_eq!(std::fs::read(da.join("scenario.toml")).unwrap(), std::fs::read(db.join("scenario.toml")).unwrap());
    // Rerunning into the same folder replaces it completely and identically.
    run(&a, &[], &[]);
    assert_eq!(parquet_files(&da), fa);
    for d in [a, b] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn overrides_and_seeds_change_the_run_and_the_same_seed_reproduces_it() {
    let out = tmp("set");
    run(&out, &[], &[]);
    let base = digest(&out.join("baseline/seed-42"));
    let fee_out = tmp("set-fee");
    run(&fee_out, &["--set", "market.fee_bps=0"], &[]);
    let fee = digest(&fee_out.join("baseline/seed-42"));
    assert_ne!(base, fee, "--set market.fee_bps=0 must change the run");
    let resolved = std::fs::read_to_string(fee_out.join("baseline/seed-42/scenario.toml")).unwrap();
    assert!(resolved.contains("fee_bps = 0"), "the resolved scenario records the override");
    run(&out, &["--seed", "7"], &[]);
    let s7 = digest(&out.join("baseline/seed-7"));
    assert_ne!(base, s7);
    let again = tmp("set-again");
    run(&again, &["--seed", "7"], &[]);
    assert_eq!(s7, digest(&again.join("baseline/seed-7")));
    for d in [out, fee_out, again] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn prints_where_it_wrote_and_headline_numbers() {
    let out = tmp("print");
    let o = run(&out, &[], &[]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("wrote "), "{stdout}");
    assert!(stdout.contains("fill rate") && stdout.contains("VWAP") && stdout.contains("SLA compliance"), "{stdout}");
    let _ = std::fs::remove_dir_all(out);
}

fn fails(args: &[&str], file_body: Option<&str>, expect: &[&str]) {
    let dir = tmp("bad");
    let out = dir.join("out");
    let mut c = bin();
    c.current_dir(root());
    let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    if let Some(body) = file_body {
        let f = dir.join("bad.toml");
        std::fs::write(&f, body).unwrap();
        for a in &mut args {
            if a == "FILE" {
                *a = f.to_string_lossy().to_string();
            }
        }
    }
    c.args(&args).arg("--out").arg(&out);
    let o = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "expected failure for {args:?}");
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    for e in expect {
        assert!(stderr.contains(e), "stderr lacks {e:?}: {stderr}");
    }
    assert!(!out.exists(), "no output folder may be left behind");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_input_gets_one_clear_error_and_no_output() {
    fails(&["run", "scenarios/does-not-exist.toml", "--quiet"], None, &["does-not-exist.toml"]);
    fails(&["run", "scenarios/baseline.toml", "--quiet", "--set", "market.no_such_key=1"], None, &["no_such_key"]);
    fails(
        &["run", "scenarios/baseline.toml", "--quiet", "--set", "population[0].count=0"],
        None,
        &["population[0].count"],
    );
    fails(&["run", "FILE", "--quiet"], Some("[scenario\nname = 1"), &["bad.toml", "1:"]);
    let body = std::fs::read_to_string(root().join("scenarios/baseline.toml")).unwrap();
    let unknown = body.replacen("[scenario]", "[scenario]\nfavourite_colour = \"blue\"", 1);
    fails(&["run", "FILE", "--quiet"], Some(&unknown), &["bad.toml", "favourite_colour"]);
    fails(&["run", "scenarios/sweeps/fees.toml", "--quiet"], None, &["fees.toml", "sweep file", "synmarket sweep run"]);
}

#[test]
fn validate_checks_files_without_running() {
    let o = bin().current_dir(root()).args(["validate", "scenarios/baseline.toml"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("ok"));
    let o = bin().current_dir(root()).args(["validate", "scenarios/baseline.toml", "nope.toml"]).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope.toml"));
}

/// `validate --set` checks a file as `run --set` would run it: a valid override passes (and
/// shows in the count it prints), a bad one fails naming the file, the key and the flag.
#[test]
fn validate_checks_overrides_as_run_would() {
    let validate = |extra: &[&str]| {
        let mut args = vec!["validate", "scenarios/baseline.toml"];
        args.extend_from_slice(extra);
        bin().current_dir(root()).args(&args).output().unwrap()
    };
    let o = validate(&["--set", "population[0].count=7"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let plain = validate(&[]);
    assert_ne!(o.stdout, plain.stdout, "the override changed the agent count printed");
    let o = validate(&["--set", "market.fee_bps=-5"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    for part in ["baseline.toml", "market.fee_bps", "--set"] {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }
    let o = validate(&["--set", "market.no_such_key=1"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no_such_key"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn readme_quick_start_output_is_what_the_baseline_prints() {
    // The README shows the baseline's output; this keeps it true (the digest pins every result).
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let line = readme.lines().find(|l| l.contains("ledger digest")).expect("README shows a ledger digest");
    let documented = line.rsplit(' ').next().unwrap().to_string();
    let out = tmp("readme");
    let o = bin()
        .current_dir(root())
        .args(["run", "scenarios/baseline.toml", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(digest(&out.join("baseline/seed-42")), documented, "update the README's quick start");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let headline = stdout.lines().find(|l| l.starts_with("fill rate")).unwrap();
    assert!(readme.contains(headline), "README lacks the headline line {headline:?}");
    let _ = std::fs::remove_dir_all(out);
}

fn run_cmd(out: &Path, extra: &[&str]) -> Output {
    bin()
        .current_dir(root())
        .args(["run", "scenarios/baseline.toml", "--quiet", "--set", "scenario.duration=\"1h\"", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

/// A rerun replaces a folder that holds only what synmarket wrote; a folder with anything else
/// in it is refused (exit 2, nothing touched) unless `--force`; a temporary folder that a killed
/// run left behind is removed by the next run.
#[test]
fn a_rerun_never_deletes_files_it_did_not_write() {
    let out = tmp("rerun-foreign");
    let dir = out.join("baseline/seed-42");
    assert!(run_cmd(&out, &[]).status.success());
    assert!(run_cmd(&out, &[]).status.success(), "a folder of its own is replaced");

    std::fs::write(dir.join("notes.md"), b"my notes").unwrap();
    std::fs::create_dir_all(dir.join("analysis")).unwrap();
    let before = std::fs::read(dir.join("orders.parquet")).unwrap();
    let o = run_cmd(&out, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("notes.md") && stderr.contains("analysis/") && stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read(dir.join("notes.md")).unwrap(), b"my notes");
    assert_eq!(std::fs::read(dir.join("orders.parquet")).unwrap(), before);

    // A hand-made folder without a manifest is the user's too.
    let mine = out.join("baseline/seed-7");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("orders.parquet"), b"mine").unwrap();
    let o = run_cmd(&out, &["--seed", "7"]);
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(mine.join("orders.parquet")).unwrap(), b"mine");

    // --force replaces it.
    let o = run_cmd(&out, &["--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!dir.join("notes.md").exists());

    // A killed run's temporary folder (a process id that is not running) is removed.
    let stale = out.join("baseline/.seed-42.tmp-999999999");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("orders.parquet"), b"half").unwrap();
    assert!(run_cmd(&out, &[]).status.success());
    assert!(!stale.exists(), "the stale temporary folder is still there");
    let _ = std::fs::remove_dir_all(out);
}

/// Closing stdout early (`| head -1`) neither panics nor loses the run folder.
#[test]
fn a_closed_stdout_does_not_panic() {
    let out = tmp("closed-pipe");
    for extra in [&[][..], &["--narrate"][..]] {
        let mut child = bin()
            .current_dir(root())
            .args(["run", "scenarios/market_simulation.toml", "--quiet", "--out"])
            .arg(&out)
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success() && !stderr.contains("panicked"), "{extra:?}: {stderr}");
    }
    assert!(out.join("market_simulation").read_dir().unwrap().count() >= 1);
    let o = bin()
        .current_dir(root())
        .args(["validate", "scenarios/baseline.toml"])
        .stdout(std::process::Stdio::piped())
        .spawn();
    let mut child = o.unwrap();
    drop(child.stdout.take());
    assert!(child.wait().unwrap().success());
    let _ = std::fs::remove_dir_all(out);
}

/// Bad input exits 2; an output folder that is a file is refused before the run.
#[test]
fn bad_input_exits_2() {
    let dir = tmp("exit2");
    let blocker = dir.join("blocker");
    std::fs::write(&blocker, b"x").unwrap();
    let o = run_cmd(&blocker, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("blocker") && stderr.contains("is a file, not a folder"), "{stderr}");
    let o = run_cmd(&dir.join("out"), &["--set", "market.no_such_key=1"]);
    assert_eq!(o.status.code(), Some(2));
    let o = bin().current_dir(root()).args(["validate", "nope.toml"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.join("out").exists());
    let _ = std::fs::remove_dir_all(dir);
}

/// `run --versus`: a counterfactual pair study with common random numbers; effects as paired
/// differences with intervals; a rerun skips the pairs already run.
#[test]
fn versus_states_the_effect_of_a_change_as_paired_differences() {
    let out = tmp("versus");
    let args =
        ["run", "scenarios/economic_simulation.toml", "--versus", "market.reputation_weight=0.0", "--seeds", "4"];
    let o = bin().current_dir(root()).args(args).arg("--out").arg(&out).arg("--quiet").output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("counterfactual − scenario") && stdout.contains("sla_compliance_rate"), "{stdout}");
    let dir = std::fs::read_dir(&out).unwrap().flatten().next().unwrap().path();
    assert!(dir.file_name().unwrap().to_string_lossy().starts_with("economic_simulation-versus-reputation_weight-"));
    for f in ["versus.toml", "paired.parquet", "report.html", "report.md"] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("mean paired difference"), "the report states paired differences");
    let again = bin().current_dir(root()).args(args).arg("--out").arg(&out).arg("--quiet").output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("ran 0 runs, skipped 8 done"));
    for (bad, expect) in [
        (vec!["--versus", "scenario.seed=3"], "shares its seeds"),
        (vec!["--versus", "market.fee_bps=0", "--seeds", "1"], "at least 2 seeds"),
        (vec!["--versus", "market.no_such_key=1"], "no_such_key"),
        (vec!["--versus", "market.fee_bps=0", "--versus", "market.fee_bps=5"], "given twice"),
        (vec!["--versus", "market.reputation_weight=1.0"], "the scenario itself"),
        (vec!["--set", "market.fee_bps=7", "--versus", "market.fee_bps=7"], "the scenario itself"),
        (vec!["--versus", "market.fee_bps=0", "--narrate"], "cannot be used with"),
    ] {
        let o = bin()
            .current_dir(root())
            .args(["run", "scenarios/economic_simulation.toml", "--quiet", "--out"])
            .arg(out.join("bad"))
            .args(&bad)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{bad:?}: {stderr}");
        assert!(stderr.contains(expect), "{bad:?}: {stderr}");
        assert!(!out.join("bad").exists(), "{bad:?} wrote output");
    }
    // Values need no quotes, as with --set; the points table names the scenario's own value.
    let o = bin()
        .current_dir(root())
        .args(["run", "scenarios/economic_simulation.toml", "--versus", "market.pricing=midpoint", "--seeds", "2"])
        .arg("--out")
        .arg(out.join("unquoted"))
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = std::fs::read_dir(out.join("unquoted")).unwrap().flatten().next().unwrap().path();
    let file = std::fs::read_to_string(dir.join("versus.toml")).unwrap();
    assert!(
        file.contains("\"market.pricing\" = \"midpoint\"") && file.contains("\"market.pricing\" = \"ask\""),
        "{file}"
    );
    let _ = std::fs::remove_dir_all(out);
}

/// economic_simulation declares its effects: the run measures them as paired counterfactuals and
/// its report states them with intervals; `--no-effects` skips them.
#[test]
fn the_economic_simulation_report_states_effects_as_paired_differences() {
    let out = tmp("effects");
    let o = bin()
        .current_dir(root())
        .args(["run", "scenarios/economic_simulation.toml", "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = out.join("economic_simulation/seed-100");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    let section = md.split("What the rules do").nth(1).expect("an effects section");
    for needle in ["reputation", "sla", "penalties", "the interval excludes 0", "do not respond"] {
        assert!(section.contains(needle), "effects section lacks {needle:?}");
    }
    // One precision per interval, from its largest value: thousands of tokens are not printed to
    // four decimals (`46,807.8000 [15,587.1480, …]`).
    let thousands_to_4 = section.split_whitespace().any(|w| {
        let w = w.trim_matches(|c: char| !c.is_ascii_digit() && c != '.' && c != ',');
        w.contains(',') && w.split('.').nth(1).is_some_and(|f| f.len() == 4)
    });
    assert!(!thousands_to_4, "{section}");
    assert!(dir.join("effects.parquet").is_file());
    // P* both unconstrained and under the eligibility rules, and which one each figure uses.
    assert!(md.contains("eligibility-constrained P") && md.contains("measured against the unconstrained"), "{md}");
    let pd = synmarket::output::read_parquet(dir.join("price_discovery.parquet")).unwrap();
    let defined = pd.column("p_star_constrained").unwrap().is_not_null().sum().unwrap_or(0);
    assert!(defined > 400, "constrained P* defined in {defined} of {} cells", pd.height());
    // A rebuild from the tables alone gives the same report.
    let before = std::fs::read(dir.join("report.md")).unwrap();
    let o = bin().args(["report"]).arg(&dir).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(dir.join("report.md")).unwrap(), before);
    // A counterfactual equal to the scenario, however it is written, is refused before it runs.
    let text = std::fs::read_to_string(root().join("scenarios/economic_simulation.toml")).unwrap();
    let noop = format!("{text}\n[[effect]]\nname = \"noop\"\nversus = {{ \"market.auction_window\" = \"600s\" }}\n");
    let noop_file = out.join("noop.toml");
    std::fs::write(&noop_file, noop).unwrap();
    let o = bin().args(["run"]).arg(&noop_file).args(["--quiet", "--out"]).arg(out.join("noop-out")).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("effect `noop`") && stderr.contains("is the scenario itself"), "{stderr}");
    // Without effects the report says none was measured.
    let quick = tmp("no-effects");
    let o = bin()
        .current_dir(root())
        .args(["run", "scenarios/economic_simulation.toml", "--quiet", "--no-effects", "--out"])
        .arg(&quick)
        .output()
        .unwrap();
    assert!(o.status.success());
    let md = std::fs::read_to_string(quick.join("economic_simulation/seed-100/report.md")).unwrap();
    assert!(md.contains("This run measured no effect"), "{md}");
    for d in [out, quick] {
        let _ = std::fs::remove_dir_all(d);
    }
}
