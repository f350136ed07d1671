//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run `fwgen` with `args` in the crate directory, with no colour and no inherited catalogue.
pub fn fwgen(args: &[&str]) -> Run {
    fwgen_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// Run `fwgen` with `args` in `dir`.
pub fn fwgen_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_fwgen"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("COLUMNS", "100")
        .output()
        .expect("the fwgen binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// `fwgen args…`, asserting exit 0; returns stdout.
#[track_caller]
pub fn ok(args: &[&str]) -> String {
    let r = fwgen(args);
    assert_eq!(r.code, 0, "fwgen {args:?} failed:\n{}", r.stderr);
    r.stdout
}

/// True when missing tools must fail the test (CI sets this after installing them).
pub fn require_tools() -> bool {
    std::env::var("FWGEN_REQUIRE_VALIDATORS").is_ok_and(|v| v == "1")
}

/// Skip (loudly) or fail when something a test needs is missing.
#[track_caller]
pub fn missing(what: &str) {
    if require_tools() {
        panic!("FWGEN_REQUIRE_VALIDATORS=1 but {what}");
    }
    eprintln!("\n!!!!! SKIPPED: {what} (set FWGEN_REQUIRE_VALIDATORS=1 to make this fail) !!!!!\n");
}

/// The vendor documents (`../shared/seeds`), if present beside the checkout.
pub fn seeds_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds");
    if dir.join("INDEX.md").is_file() {
        Some(dir)
    } else {
        missing("the vendor documents are not at ../shared/seeds");
        None
    }
}

/// Replace the parts of an output that change with every catalogue edit or release.
pub fn redact(text: &str, digest: &str) -> String {
    text.replace(digest, "[catalogue-digest]")
        .replace(env!("CARGO_PKG_VERSION"), "[version]")
}
