//! Runs the Python package's pytest suite (`python/tests/test_*.py`) against the extension this
//! build produced, so `cargo test --workspace` covers the Python front too.
//!
//! The extension (`lib_synmarket.so`, built by cargo as this package's library) is copied next
//! to the package's Python modules in a folder under the target directory, which is put on
//! `PYTHONPATH`; the test dependencies (`python/requirements-test.txt`) are installed once into a
//! virtual environment there (`target/python-venv`). The CLI binary of the same build is handed
//! to the suite as `SYNMARKET_CLI`, so it can compare the CLI's files with the DataFrames.
//! Nothing is skipped: a missing `python3` or a failed install fails the test with the command
//! that failed.

use std::path::{Path, PathBuf};
use std::process::Command;

fn target_profile_dir() -> PathBuf {
    // target/<profile>/deps/pytest-<hash>
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent().and_then(Path::parent).expect("target/<profile>").to_path_buf()
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: could not start {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n{cmd:?}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create package folder");
    for entry in std::fs::read_dir(from).expect("read package folder") {
        let entry = entry.expect("entry");
        let path = entry.path();
        let dest = to.join(entry.file_name());
        if path.is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_dir(&path, &dest);
            }
        } else {
            std::fs::copy(&path, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", path.display()));
        }
    }
}

#[test]
fn the_python_package_passes_its_pytest_suite() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let profile = target_profile_dir();
    let target = profile.parent().expect("target dir").to_path_buf();
    // `cargo test` leaves the library in `deps/`; `cargo build` also copies it up a level. The
    // dev and test profiles share the folder, so take the newer of the two.
    let lib = ["deps/lib_synmarket.so", "lib_synmarket.so"]
        .iter()
        .map(|p| profile.join(p))
        .filter_map(|p| std::fs::metadata(&p).and_then(|m| m.modified()).ok().map(|t| (t, p)))
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| panic!("the extension lib_synmarket.so is not in {}", profile.display()));
    let cli = profile.join("synmarket");
    assert!(cli.exists(), "the CLI binary {} was not built (run `cargo test --workspace`)", cli.display());

    // The package as an installed wheel would lay it out.
    let site = profile.join("python-package");
    let _ = std::fs::remove_dir_all(&site);
    copy_dir(&here.join("synmarket"), &site.join("synmarket"));
    std::fs::copy(&lib, site.join("synmarket").join("_synmarket.abi3.so")).expect("copy the extension");

    // The test dependencies, once.
    let venv = target.join("python-venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        run(Command::new("python3").args(["-m", "venv"]).arg(&venv), "creating the virtual environment");
    }
    let requirements = here.join("requirements-test.txt");
    let stamp = venv.join(".requirements-installed");
    let wanted = std::fs::read_to_string(&requirements).expect("requirements-test.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(&requirements),
            "installing the Python test dependencies",
        );
        std::fs::write(&stamp, &wanted).expect("write the install stamp");
    }

    run(
        Command::new(&python)
            // `importlib`: pytest must not put the source folder (without the extension) on the path.
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib"])
            .arg(here.join("tests"))
            .current_dir(&site)
            .env("PYTHONPATH", &site)
            .env("SYNMARKET_CLI", &cli)
            .env("SYNMARKET_ROOT", here.parent().expect("workspace root"))
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        "pytest",
    );
}
