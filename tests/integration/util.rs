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

/// The names of fwgen's temporary files (`.fwgen-*`) in `dir`; none if it cannot be read.
pub fn temporary_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".fwgen-"))
        .collect()
}

/// Run `fwgen` with `args` in the crate directory, with no colour and no inherited catalogue.
pub fn fwgen(args: &[&str]) -> Run {
    fwgen_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// Run `fwgen` with `args` in `dir`.
///
/// The commands that make a ruleset (`generate`, `build`, `audit`, `apply`) refuse unbound
/// roles and host groups by default. The suite's fixtures leave peers unbound on purpose (a
/// product's whole selection without a site file, sites that bind a few peers), so its runs
/// say `--allow-unbound`; the tests of that default run [`fwgen_default`].
pub fn fwgen_in(dir: &Path, args: &[&str]) -> Run {
    fwgen_with(dir, &allowing_unbound(args))
}

/// `args` with `--allow-unbound` after the subcommand, if it makes a ruleset.
pub fn allowing_unbound<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = args.to_vec();
    // The subcommand: the first word, or the first after the global options
    // (`--catalogue PATH`, `--no-builtin-catalogue`); not `man generate`'s argument.
    if let Some(i) = all
        .iter()
        .position(|a| matches!(*a, "generate" | "build" | "audit" | "apply"))
        && (i == 0 || all[0].starts_with("--"))
        && !all.contains(&"--allow-unbound")
    {
        all.insert(i + 1, "--allow-unbound");
    }
    all
}

/// Run `fwgen` with `args` exactly as given, in the crate directory: for the tests of what
/// a user gets by default.
pub fn fwgen_default(args: &[&str]) -> Run {
    fwgen_with(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

fn fwgen_with(dir: &Path, args: &[&str]) -> Run {
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

/// Run `cmd` with `input` on its standard input; its output (whatever the exit status).
pub fn output_with_input(mut cmd: Command, input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
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
    // Straight to the process's standard error, past the test harness's output capture
    // (which takes only `print!`/`eprint!`): a skipped check shows in `cargo test` output.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr().lock(),
        "\n!!!!! SKIPPED: {what} (provide it, or set FWGEN_REQUIRE_VALIDATORS=1 to make this a failure) !!!!!\n"
    );
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

/// Replace the parts of an output that change with every catalogue edit or release: the
/// version, and every SHA-256 (`[site-digest]` where the line speaks of the site, else
/// `[catalogue-digest]`). `_digest` is kept for the callers' sake.
pub fn redact(text: &str, _digest: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let mut rest = line;
        while let Some(i) = hex64(rest) {
            let label = if rest[..i].contains("site") || line.contains("\"site_digest\"") {
                "[site-digest]"
            } else {
                "[catalogue-digest]"
            };
            out.push_str(&rest[..i]);
            out.push_str(label);
            rest = &rest[i + 64..];
        }
        out.push_str(rest);
    }
    out.replace(env!("CARGO_PKG_VERSION"), "[version]")
}

/// The start of the first run of exactly 64 lower-case hex digits in `s`.
fn hex64(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
    let mut i = 0;
    while i < b.len() {
        if hex(b[i]) {
            let j = (i..b.len()).find(|&k| !hex(b[k])).unwrap_or(b.len());
            if j - i == 64 {
                return Some(i);
            }
            i = j;
        } else {
            i += 1;
        }
    }
    None
}

/// The path of `tool` on PATH or in the sbin directories, if installed.
pub fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
}

/// True when every tool is installed; otherwise skips loudly (or fails under
/// `FWGEN_REQUIRE_VALIDATORS=1`) and returns false.
/// A tool that `.ci/run` installs under `target/` (a Python virtual environment, a `cargo
/// install` root): the file the environment variable `var` names, else `target/IN_TARGET`;
/// a loud skip (a failure under `FWGEN_REQUIRE_VALIDATORS=1`) naming `what` when neither is.
pub fn installed_tool(var: &str, in_target: &str, what: &str) -> Option<PathBuf> {
    let candidates = [
        std::env::var(var).ok().map(PathBuf::from),
        Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target")
                .join(in_target),
        ),
    ];
    let found = candidates.into_iter().flatten().find(|p| p.is_file());
    if found.is_none() {
        missing(&format!(
            "{what} (.ci/run installs it into target/{in_target}; or set {var})"
        ));
    }
    found
}

pub fn have_tools(tools: &[&str]) -> bool {
    let missing_tools: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| find_tool(t).is_none())
        .collect();
    if missing_tools.is_empty() {
        return true;
    }
    missing(&format!(
        "{} not installed (apt-get install nftables iptables iproute2 util-linux)",
        missing_tools.join(", ")
    ));
    false
}

/// True when running as root (needed for `ip netns`).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Run `cmd` in a fresh, throwaway network namespace: `unshare -n` as root, else
/// `unshare -rn` (a user namespace; it limits netlink batches to a smaller size).
pub fn in_throwaway_netns(cmd: &[&str]) -> std::process::Output {
    let mut c = Command::new(find_tool("unshare").expect("unshare is installed"));
    c.arg(if is_root() { "-n" } else { "-rn" });
    c.args(cmd);
    c.output().expect("unshare runs")
}

/// Run `cmd` with `input` as JSON on its standard input; parse its standard output as JSON.
pub fn pipe_json<I: serde::Serialize, O: serde::de::DeserializeOwned>(
    mut cmd: Command,
    input: &I,
) -> O {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let json = serde_json::to_string(input).expect("serialisable input");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(json.as_bytes())
        .expect("input written");
    let out = child.wait_with_output().expect("the command runs");
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// The merged rule of a JSON ruleset that holds catalogue entry `entry`.
#[track_caller]
pub fn rule_for<'a>(j: &'a serde_json::Value, entry: &str) -> &'a serde_json::Value {
    j["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["entries"].as_array().unwrap().iter().any(|e| e == entry))
        .unwrap_or_else(|| panic!("no rule for `{entry}`"))
}

/// The description of the backend named `name` (as on the command line).
#[track_caller]
pub fn description(name: &str) -> &'static fwgen::render::Description {
    use clap::ValueEnum;
    fwgen::render::Backend::from_str(name, false)
        .unwrap_or_else(|e| panic!("backend {name}: {e}"))
        .description()
}

/// The names of the backends of one kind (firewall syntaxes or reviews), in the enum's order.
pub fn backends(kind: fwgen::render::Kind) -> Vec<&'static str> {
    use clap::ValueEnum;
    fwgen::render::Backend::value_variants()
        .iter()
        .map(|b| b.description())
        .filter(|d| d.kind == kind)
        .map(|d| d.name)
        .collect()
}

/// Whether backend `name` can render placement `placement` (`perimeter` or `host`).
pub fn supports(name: &str, placement: &str) -> bool {
    use clap::ValueEnum;
    let p = fwgen::render::Placement::from_str(placement, false).expect("a placement");
    description(name).placements.contains(&p)
}
