//! Records the build identity that run manifests and sweep folders carry (`src/build_id.rs`).
//!
//! - `SYNMARKET_SOURCE_SHA256`: SHA-256 over every source file that changes results: the `src/`
//!   trees of the three workspace crates, their `Cargo.toml`, `Cargo.lock` and this script, each
//!   as `<relative path>\0<length>\0<bytes>` in sorted path order. Two builds with the same hash
//!   compute the same results; this is the identity that sweeps compare.
//! - `SYNMARKET_BUILD_ID`: `<crate version>+<first 16 hex digits of the source hash>`.
//! - `SYNMARKET_GIT_COMMIT` / `SYNMARKET_GIT_DIRTY`: the checkout's commit and whether those
//!   files differ from it (informative; `unknown` outside a git checkout or without git).
//!
//! No wall clock is read: the identity is a function of the sources alone.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// Files and folders whose content is hashed, relative to the workspace root.
const SOURCES: [&str; 9] = [
    "src",
    "engine/src",
    "agents/src",
    "Cargo.toml",
    "engine/Cargo.toml",
    "agents/Cargo.toml",
    "Cargo.lock",
    "build.rs",
    "assets",
];

fn collect(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let path = root.join(rel);
    if path.is_dir() {
        let Ok(entries) = std::fs::read_dir(&path) else { return };
        for e in entries.flatten() {
            collect(root, &rel.join(e.file_name()), out);
        }
    } else if path.is_file() {
        out.push(rel.to_path_buf());
    }
}

fn git(root: &Path, args: &[&str]) -> Option<std::process::Output> {
    Command::new("git").arg("-C").arg(root).args(args).output().ok()
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for s in SOURCES {
        println!("cargo::rerun-if-changed={s}");
        collect(&root, Path::new(s), &mut files);
    }
    files.sort();
    let mut h = Sha256::new();
    for f in &files {
        let bytes = std::fs::read(root.join(f)).unwrap_or_default();
        // Paths with '/' on every platform, so a checkout hashes the same everywhere.
        let name: Vec<String> = f.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        h.update(name.join("/").as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update([0]);
        h.update(&bytes);
    }
    let source: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    println!("cargo::rustc-env=SYNMARKET_SOURCE_SHA256={source}");
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo::rustc-env=SYNMARKET_BUILD_ID={version}+{}", &source[..16]);

    // The commit, when this is a git checkout: informative only.
    let git_dir = root.join(".git");
    if git_dir.is_dir() {
        // Only files that exist: cargo reruns a script on every build for a missing one.
        let mut watch = vec!["HEAD".to_string(), "packed-refs".to_string()];
        if let Ok(head) = std::fs::read_to_string(git_dir.join("HEAD"))
            && let Some(r) = head.trim().strip_prefix("ref: ")
        {
            watch.push(r.to_string());
        }
        for w in watch.iter().filter(|w| git_dir.join(w).is_file()) {
            println!("cargo::rerun-if-changed=.git/{w}");
        }
    }
    let commit = git(&root, &["rev-parse", "HEAD"])
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".into());
    let mut diff_args = vec!["diff", "--quiet", "HEAD", "--"];
    diff_args.extend(SOURCES);
    let dirty = match git(&root, &diff_args).map(|o| o.status.code()) {
        Some(Some(0)) => "false",
        Some(Some(1)) => "true",
        _ => "unknown",
    };
    println!("cargo::rustc-env=SYNMARKET_GIT_COMMIT={commit}");
    println!("cargo::rustc-env=SYNMARKET_GIT_DIRTY={dirty}");
}
