//! Atomic file output for everything a run or sweep writes, and the checks of output folders.
//!
//! Owns the rule from docs/architecture.md "Outputs": a file is first written to a temporary name in
//! the same folder (`<name>.tmp-<pid>-<seq>`) and then renamed over the final name, so a killed
//! run never leaves a half-written table, chart or report behind. Rename within one folder is
//! atomic on the file systems we run on. Files are not fsync'ed: the guarantee is against a
//! killed process, not against power loss.
//!
//! Every error names the path it concerns ([`IoError`]).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use polars::prelude::PolarsError;
use serde::Serialize;

/// Why reading or writing an output file failed. Each variant carries the path concerned.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// Creating, writing or renaming a file (or its folder) failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The path concerned.
        path: PathBuf,
        #[source]
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Opening a file for reading failed.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path concerned.
        path: PathBuf,
        #[source]
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Polars failed to encode or decode a Parquet file.
    #[error("parquet error for {}: {source}", path.display())]
    Parquet {
        /// The path concerned.
        path: PathBuf,
        #[source]
        /// What polars said.
        source: PolarsError,
    },
    /// A value could not be serialised to JSON.
    #[error("cannot serialise JSON for {}: {source}", path.display())]
    Json {
        /// The path concerned.
        path: PathBuf,
        #[source]
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// The output folder cannot be used (a file is in the way, or nothing can be created there).
    /// Checked before any work starts ([`check_output_dir`]).
    #[error("cannot write output under {}: {reason}", path.display())]
    Unusable {
        /// The folder.
        path: PathBuf,
        /// Why it cannot be used.
        reason: String,
    },
    /// Producing the file's content failed for another reason (e.g. a chart backend error).
    #[error("cannot produce {}: {reason}", path.display())]
    Content {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// Sequence number that keeps temporary names unique between threads of one process.
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// The temporary sibling of `path` used while writing it: `<name>.tmp-<pid>-<seq>`, followed by
/// `extension` when one is given (some encoders pick the format from the extension).
pub(crate) fn temp_sibling(path: &Path, extension: Option<&str>) -> PathBuf {
    let seq = TEMP_SEQ.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "output".to_owned());
    let mut temp_name = format!("{name}.tmp-{}-{seq}", std::process::id());
    if let Some(ext) = extension {
        temp_name.push('.');
        temp_name.push_str(ext);
    }
    path.with_file_name(temp_name)
}

/// Creates the parent folder of `path` if it is missing.
pub(crate) fn ensure_parent(path: &Path) -> Result<(), IoError> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => {
            fs::create_dir_all(parent).map_err(|source| IoError::Write { path: parent.to_path_buf(), source })
        }
        _ => Ok(()),
    }
}

/// Renames a finished temporary file over `path`; removes the temporary file if that fails.
pub(crate) fn commit_temp(temp: &Path, path: &Path) -> Result<(), IoError> {
    fs::rename(temp, path).map_err(|source| {
        let _ = fs::remove_file(temp);
        IoError::Write { path: path.to_path_buf(), source }
    })
}

/// Writes a file atomically: `produce` fills a buffered temporary file in the same folder, which
/// is then renamed to `path`. On any error the temporary file is removed and `path` is untouched.
/// Missing parent folders are created.
pub fn write_atomic_with<F>(path: &Path, produce: F) -> Result<(), IoError>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<(), IoError>,
{
    ensure_parent(path)?;
    let temp = temp_sibling(path, None);
    let result = (|| {
        let file = File::create(&temp).map_err(|source| IoError::Write { path: temp.clone(), source })?;
        let mut writer = BufWriter::new(file);
        produce(&mut writer)?;
        writer.flush().map_err(|source| IoError::Write { path: temp.clone(), source })
    })();
    match result {
        Ok(()) => commit_temp(&temp, path),
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// Writes `bytes` to `path` atomically (temporary sibling + rename). Creates missing folders.
pub fn write_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<(), IoError> {
    let path = path.as_ref();
    write_atomic_with(path, |w| {
        w.write_all(bytes).map_err(|source| IoError::Write { path: path.to_path_buf(), source })
    })
}

/// Writes `value` as pretty-printed JSON (with a trailing newline) to `path` atomically.
pub fn write_json_atomic<T: Serialize + ?Sized>(path: impl AsRef<Path>, value: &T) -> Result<(), IoError> {
    let path = path.as_ref();
    let mut bytes =
        serde_json::to_vec_pretty(value).map_err(|source| IoError::Json { path: path.to_path_buf(), source })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// The final file name and writer's process id of a temporary name made by `temp_sibling`
/// (`<name>.tmp-<pid>-<seq>[.<ext>]`), or `None` for any other name.
pub(crate) fn parse_temp_name(file_name: &str) -> Option<(&str, u32)> {
    let at = file_name.rfind(".tmp-")?;
    let rest = &file_name[at + 5..];
    let (pid, rest) = rest.split_once('-')?;
    let seq_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let tail = &rest[seq_len..];
    if seq_len == 0 || !(tail.is_empty() || tail.starts_with('.')) {
        return None;
    }
    Some((&file_name[..at], pid.parse().ok()?))
}

/// Whether process `pid` is alive on this host: `Some` where `/proc` tells (Linux), `None` where
/// it cannot be known.
pub(crate) fn process_alive(pid: u32) -> Option<bool> {
    let proc = Path::new("/proc");
    proc.join("self").exists().then(|| pid == std::process::id() || proc.join(pid.to_string()).exists())
}

/// Checks, before any work, that output can be written at `target` (a folder that may not exist
/// yet): `target` and its nearest existing ancestor must be folders where a file can be created.
/// The probe file is removed at once; nothing is left behind.
pub fn check_output_dir(target: &Path) -> Result<(), IoError> {
    let fail = |path: &Path, reason: String| IoError::Unusable { path: path.to_path_buf(), reason };
    let existing = existing_folder(target)?;
    let existing = existing.as_path();
    let probe =
        existing.join(format!(".synmarket-probe-{}-{}", std::process::id(), TEMP_SEQ.fetch_add(1, Ordering::Relaxed)));
    File::create(&probe).map_err(|e| fail(existing, format!("cannot create a file there ({e})")))?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// The nearest existing ancestor of `target` (or `target` itself), which must be a folder: a
/// file in the way is [`IoError::Unusable`]. Creates and writes nothing (for read-only commands).
pub fn existing_folder(target: &Path) -> Result<PathBuf, IoError> {
    let mut existing = target;
    loop {
        match fs::metadata(existing) {
            Ok(m) if m.is_dir() => return Ok(existing.to_path_buf()),
            Ok(_) => {
                return Err(IoError::Unusable {
                    path: existing.to_path_buf(),
                    reason: "it is a file, not a folder".into(),
                });
            }
            Err(_) => match existing.parent() {
                Some(p) if !p.as_os_str().is_empty() => existing = p,
                _ => return Ok(PathBuf::from(".")),
            },
        }
    }
}

/// Helpers shared by the unit tests of the output modules.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;

    /// Names of the temporary files left in `dir`.
    pub(crate) fn leftover_temps(dir: &std::path::Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .expect("read dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect()
    }

    /// A fresh, empty folder for one test: `<tmp>/synmarket-unit-<pid>/<name>`.
    pub(crate) fn fresh_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("synmarket-unit-{}", std::process::id())).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create test dir");
        dir
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::fresh_dir;
    use super::test_support::leftover_temps;
    use super::*;

    #[test]
    fn write_atomic_creates_folders_and_replaces() {
        let dir = fresh_dir("io-atomic");
        let path = dir.join("a/b/out.txt");
        write_atomic(&path, b"first").expect("write");
        write_atomic(&path, b"second").expect("rewrite");
        assert_eq!(fs::read(&path).expect("read"), b"second");
        assert!(leftover_temps(&dir.join("a/b")).is_empty());
    }

    #[test]
    fn write_error_names_the_path() {
        let dir = fresh_dir("io-error");
        // A file where a folder is expected makes folder creation fail.
        write_atomic(dir.join("blocker"), b"x").expect("write");
        let err = write_atomic(dir.join("blocker/inner/out.txt"), b"y").unwrap_err();
        assert!(err.to_string().contains("blocker"), "{err}");
    }

    #[test]
    fn temp_names_parse_back_and_other_names_do_not() {
        let own = temp_sibling(Path::new("/x/run-abc.parquet"), None);
        let name = own.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(parse_temp_name(&name), Some(("run-abc.parquet", std::process::id())));
        assert_eq!(parse_temp_name("chart.svg.tmp-12-3.png"), Some(("chart.svg", 12)));
        for other in ["run-abc.parquet", "notes.tmp-x", "a.tmp-12", "a.tmp-12-", "a.tmp-12-3x", "a.tmp--3"] {
            assert_eq!(parse_temp_name(other), None, "{other}");
        }
    }

    #[test]
    fn output_dir_check_refuses_a_file_in_the_way() {
        let dir = fresh_dir("io-check-out");
        check_output_dir(&dir.join("new/deeper")).expect("a missing folder under a writable one is fine");
        assert!(!dir.join("new").exists(), "the check creates nothing");
        write_atomic(dir.join("blocker"), b"x").expect("write");
        for target in [dir.join("blocker"), dir.join("blocker/sub")] {
            let e = check_output_dir(&target).unwrap_err().to_string();
            assert!(e.contains("blocker") && e.contains("is a file, not a folder"), "{e}");
        }
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no probe file left");
    }

    #[test]
    fn json_is_pretty_with_newline() {
        #[derive(Serialize)]
        struct Manifest {
            seed: u64,
            name: &'static str,
        }
        let dir = fresh_dir("io-json");
        let path = dir.join("manifest.json");
        write_json_atomic(&path, &Manifest { seed: 7, name: "baseline" }).expect("write");
        let text = fs::read_to_string(&path).expect("read");
        assert_eq!(text, "{\n  \"seed\": 7,\n  \"name\": \"baseline\"\n}\n");
    }

    #[test]
    fn temp_names_are_siblings_and_unique() {
        let p = Path::new("/x/y/run.parquet");
        let a = temp_sibling(p, None);
        let b = temp_sibling(p, Some("png"));
        assert_eq!(a.parent(), p.parent());
        assert_ne!(a, b);
        assert!(a.to_string_lossy().contains(&format!("run.parquet.tmp-{}-", std::process::id())));
        assert_eq!(b.extension().and_then(|e| e.to_str()), Some("png"));
    }
}
