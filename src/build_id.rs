//! The identity of this build, recorded in every run manifest and sweep folder.
//!
//! The crate version alone does not name the code that produced a result: two checkouts of
//! version 0.1.0 can compute different numbers. The build script (`build.rs`) hashes every
//! source file that changes results (the three crates' `src/`, their manifests, `Cargo.lock`,
//! the embedded assets) into [`BuildId::source_sha256`]; [`BuildId::id`] is the version plus the
//! first 16 hex digits of that hash. Two binaries with the same id were built from the same
//! sources and give the same results. The git commit and whether the tree was dirty are recorded
//! beside it for people to read; they are not compared.
//!
//! Sweeps refuse to add runs of one build to a folder written by another (`sweep run
//! --allow-build-change` overrides, and every build that wrote runs is listed in `_sweep.toml`).

use serde::Serialize;

/// What identifies a build. All fields are fixed at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BuildId {
    /// `<version>+<16 hex digits of source_sha256>`: the value that is compared.
    pub id: &'static str,
    /// The crate version (`Cargo.toml`).
    pub version: &'static str,
    /// SHA-256 of the sources (see the module header), 64 hex digits.
    pub source_sha256: &'static str,
    /// The git commit of the checkout, or `unknown`.
    pub commit: &'static str,
    /// `true` when the sources differed from that commit, `false`, or `unknown`.
    pub dirty: &'static str,
}

/// This build.
pub const BUILD: BuildId = BuildId {
    id: env!("SYNMARKET_BUILD_ID"),
    version: env!("CARGO_PKG_VERSION"),
    source_sha256: env!("SYNMARKET_SOURCE_SHA256"),
    commit: env!("SYNMARKET_GIT_COMMIT"),
    dirty: env!("SYNMARKET_GIT_DIRTY"),
};

impl std::fmt::Display for BuildId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let commit =
            if self.commit == "unknown" { "unknown commit" } else { self.commit.get(..12).unwrap_or(self.commit) };
        let dirty = if self.dirty == "true" { ", with uncommitted changes" } else { "" };
        write!(f, "{} (commit {commit}{dirty})", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_version_plus_source_hash() {
        assert_eq!(BUILD.source_sha256.len(), 64);
        assert!(BUILD.source_sha256.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(BUILD.id, format!("{}+{}", BUILD.version, &BUILD.source_sha256[..16]));
        assert!(["true", "false", "unknown"].contains(&BUILD.dirty));
        assert!(BUILD.to_string().starts_with(BUILD.id));
    }
}
