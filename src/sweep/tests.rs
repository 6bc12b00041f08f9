//! Unit tests of the sweep module: canonical forms and pinned ids, seeds, random samples, shard
//! detection from the environment.

use std::collections::BTreeMap;

use super::plan::{run_id, run_seed};
use super::point::{Point, RandomDist, canonical_value, sample_random_points};
use super::{SeedMode, Shard, ShardSource, detect_shard};

fn point(pairs: &[(&str, toml::Value)]) -> Point {
    Point::new(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
}

#[test]
fn canonical_form_and_id_are_pinned() {
    let p = point(&[
        ("market.reputation_weight", toml::Value::Float(0.5)),
        ("market.escrow", toml::Value::String("single".into())),
        ("population[0].count", toml::Value::Integer(50)),
    ]);
    assert_eq!(p.canonical(), "market.escrow=\"single\";market.reputation_weight=0.5;population[0].count=50");
    // Pinned: changing the canonical form or the hash orphans every existing result folder.
    assert_eq!(p.id(), "314432ffdd02");
    assert_eq!(point(&[("a", toml::Value::Float(1.0))]).canonical(), "a=1.0");
    assert_ne!(point(&[("a", toml::Value::Float(1.0))]).id(), point(&[("a", toml::Value::Integer(1))]).id());
    assert_eq!(canonical_value(&toml::Value::Float(0.1 + 0.2)), "0.30000000000000004");
    let t: toml::Value = toml::from_str("v = { b = 2, a = [1, \"x\"] }").unwrap();
    assert_eq!(canonical_value(&t["v"]), "{a=[1,\"x\"],b=2}");
}

#[test]
fn seeds_and_run_ids_depend_on_content_only() {
    let a = point(&[("market.fee_bps", toml::Value::Integer(0))]);
    let b = point(&[("market.fee_bps", toml::Value::Integer(100))]);
    for r in 0..5 {
        assert_eq!(run_seed(9, SeedMode::Common, &a, r), run_seed(9, SeedMode::Common, &b, r));
        assert_ne!(run_seed(9, SeedMode::Independent, &a, r), run_seed(9, SeedMode::Independent, &b, r));
    }
    assert_ne!(run_seed(9, SeedMode::Common, &a, 0), run_seed(9, SeedMode::Common, &a, 1));
    assert_ne!(run_seed(9, SeedMode::Common, &a, 0), run_seed(10, SeedMode::Common, &a, 0));
    let s = run_seed(9, SeedMode::Common, &a, 0);
    assert_ne!(run_id(&a, 0, s), run_id(&b, 0, s));
    assert_ne!(run_id(&a, 0, s), run_id(&a, 0, s ^ 1));
    assert_eq!(run_id(&a, 0, s).len(), 12);
}

#[test]
fn random_samples_are_stable_when_extended() {
    let mut dists = BTreeMap::new();
    dists.insert("market.fee_bps".to_string(), RandomDist::IntUniform(0, 300));
    dists.insert("market.reputation_weight".to_string(), RandomDist::Uniform(0.0, 2.0));
    let few = sample_random_points(7, 5, &dists);
    dists.insert("market.escrow".to_string(), RandomDist::Choice(vec!["single".into(), "both_parties".into()]));
    let more = sample_random_points(7, 50, &dists);
    for (p, q) in few.iter().zip(&more) {
        assert_eq!(p.params["market.fee_bps"], q.params["market.fee_bps"]);
        assert_eq!(p.params["market.reputation_weight"], q.params["market.reputation_weight"]);
    }
    for q in &more {
        let fee = q.params["market.fee_bps"].as_integer().unwrap();
        let w = q.params["market.reputation_weight"].as_float().unwrap();
        assert!((0..=300).contains(&fee) && (0.0..2.0).contains(&w));
    }
    let escrows: std::collections::BTreeSet<_> = more.iter().map(|q| q.params["market.escrow"].to_string()).collect();
    assert_eq!(escrows.len(), 2);
    assert_ne!(sample_random_points(8, 5, &dists)[0], more[0]);
}

fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
}

#[test]
fn shards_come_from_flags_and_schedulers() {
    let none = env(&[]);
    assert_eq!(detect_shard(None, None, &none).unwrap(), (Shard::WHOLE, ShardSource::Whole));
    let flag = Shard::parse("1/4").unwrap();
    assert_eq!(detect_shard(Some(flag), None, &none).unwrap().0, flag);
    let slurm = env(&[
        ("SLURM_ARRAY_TASK_ID", "3"),
        ("SLURM_ARRAY_TASK_COUNT", "4"),
        ("SLURM_ARRAY_TASK_MIN", "1"),
        ("SLURM_PROCID", "0"),
        ("SLURM_NTASKS", "1"),
    ]);
    assert_eq!(detect_shard(None, None, &slurm).unwrap(), (Shard { index: 2, count: 4 }, ShardSource::SlurmArray));
    let k8s = env(&[("JOB_COMPLETION_INDEX", "5")]);
    assert!(detect_shard(None, None, &k8s).unwrap_err().to_string().contains("--shards"));
    assert_eq!(detect_shard(None, Some(8), &k8s).unwrap().0, Shard { index: 5, count: 8 });
    let mpi = env(&[("OMPI_COMM_WORLD_RANK", "2"), ("OMPI_COMM_WORLD_SIZE", "3")]);
    assert_eq!(detect_shard(None, None, &mpi).unwrap(), (Shard { index: 2, count: 3 }, ShardSource::Mpi));
    let tasks = env(&[("SLURM_PROCID", "1"), ("SLURM_NTASKS", "2")]);
    assert_eq!(detect_shard(None, None, &tasks).unwrap().1, ShardSource::SlurmTasks);
    let bad = env(&[("SLURM_ARRAY_TASK_ID", "x")]);
    assert!(detect_shard(None, None, &bad).unwrap_err().to_string().contains("SLURM_ARRAY_TASK_ID"));
    let stepped = env(&[("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "3"), ("SLURM_ARRAY_TASK_STEP", "2")]);
    assert!(detect_shard(None, None, &stepped).is_err());
    for text in ["4/4", "1", "a/b", "0/0", "-1/2"] {
        assert!(Shard::parse(text).is_err(), "{text}");
    }
    assert_eq!(super::default_threads(None, &env(&[("SLURM_CPUS_PER_TASK", "3")])).unwrap(), 3);
    assert!(super::default_threads(Some(0), &none).is_err());
}

/// `sbatch --array=17,42 … --shards 80` (what `sweep status --shards 80` prints) must run shards
/// 17 and 42 of 80, not 17 − 17 and 42 − 17.
#[test]
fn a_partial_slurm_array_runs_the_shards_its_ids_name() {
    for (id, want) in [("17", 17), ("42", 42)] {
        let task: &'static [(&'static str, &'static str)] = match id {
            "17" => &[
                ("SLURM_ARRAY_TASK_ID", "17"),
                ("SLURM_ARRAY_TASK_MIN", "17"),
                ("SLURM_ARRAY_TASK_MAX", "42"),
                ("SLURM_ARRAY_TASK_COUNT", "2"),
            ],
            _ => &[
                ("SLURM_ARRAY_TASK_ID", "42"),
                ("SLURM_ARRAY_TASK_MIN", "17"),
                ("SLURM_ARRAY_TASK_MAX", "42"),
                ("SLURM_ARRAY_TASK_COUNT", "2"),
            ],
        };
        let e = env(task);
        assert_eq!(
            detect_shard(None, Some(80), &e).unwrap(),
            (Shard { index: want, count: 80 }, ShardSource::SlurmArray)
        );
        // Without --shards the ids have gaps: refused, with the way out named.
        let err = detect_shard(None, None, &e).unwrap_err().to_string();
        assert!(err.contains("gaps") && err.contains("--shards N"), "{err}");
    }
    // A contiguous partial array (`--array=4-5 --shards 8`) also uses its ids as shard indices.
    let part = env(&[
        ("SLURM_ARRAY_TASK_ID", "5"),
        ("SLURM_ARRAY_TASK_MIN", "4"),
        ("SLURM_ARRAY_TASK_MAX", "5"),
        ("SLURM_ARRAY_TASK_COUNT", "2"),
    ]);
    assert_eq!(detect_shard(None, Some(8), &part).unwrap().0, Shard { index: 5, count: 8 });
    // The whole sweep as `--array=1-8 --shards 8`: ids from 1, index = id - min.
    let whole = env(&[
        ("SLURM_ARRAY_TASK_ID", "8"),
        ("SLURM_ARRAY_TASK_MIN", "1"),
        ("SLURM_ARRAY_TASK_MAX", "8"),
        ("SLURM_ARRAY_TASK_COUNT", "8"),
    ]);
    assert_eq!(detect_shard(None, Some(8), &whole).unwrap().0, Shard { index: 7, count: 8 });
    assert_eq!(detect_shard(None, None, &whole).unwrap().0, Shard { index: 7, count: 8 });
    // An id outside the named shard count is refused, never wrapped.
    let high = env(&[("SLURM_ARRAY_TASK_ID", "80"), ("SLURM_ARRAY_TASK_COUNT", "1")]);
    let err = detect_shard(None, Some(80), &high).unwrap_err().to_string();
    assert!(err.contains("not a shard of --shards 80"), "{err}");
}

#[test]
fn round_robin_shards_partition_the_plan() {
    let shards: Vec<Shard> = (0..3).map(|k| Shard::new(k, 3).unwrap()).collect();
    for i in 0..20 {
        assert_eq!(shards.iter().filter(|s| s.owns(i)).count(), 1);
    }
}
