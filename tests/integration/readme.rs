//! The README and the user guide (`docs/`) stay honest: every command in their `sh` blocks
//! runs and succeeds (here, or for `cargo` commands, in `.ci/run`), their JSON example matches
//! real output, the README is a front door of at most 300 lines whose links lead to chapters
//! that exist, and the guide builds with mdBook.

use std::path::Path;
use std::process::Command;

/// The README, then the user guide's chapters in the order of its `SUMMARY.md`: every
/// command and example block of both is checked as one text.
fn readme() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(root.join("README.md")).unwrap();
    for chapter in guide_chapters() {
        text.push('\n');
        text.push_str(&std::fs::read_to_string(root.join("docs/src").join(chapter)).unwrap());
    }
    text
}

/// The guide's chapter files, in the order of `docs/src/SUMMARY.md`.
fn guide_chapters() -> Vec<String> {
    let summary =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/src/SUMMARY.md"))
            .unwrap();
    summary
        .lines()
        .filter_map(|l| l.split_once("](").and_then(|(_, r)| r.split_once(')')))
        .map(|(file, _)| file.to_string())
        .collect()
}

/// The lines of every fenced block with the given info string.
fn blocks(text: &str, info: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_start().strip_prefix("```")) {
            (None, Some(tag)) if tag == info => current = Some(String::new()),
            (Some(_), Some(_)) => out.push(current.take().unwrap()),
            (Some(b), None) => {
                b.push_str(line);
                b.push('\n');
            }
            _ => {}
        }
    }
    out
}

fn commands() -> Vec<String> {
    blocks(&readme(), "sh")
        .iter()
        .flat_map(|b| {
            b.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `fwgen …` lines run as they are (with the built binary first on PATH), in order, in a
/// scratch directory holding `examples/` (`fwgen apply` in a network namespace of its own);
/// the load commands (`nft …`, `ipset restore … &&
/// iptables-restore …`)
/// then run there inside a throwaway network namespace.
#[test]
fn every_fwgen_and_load_command_in_the_readme_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_fwgen")).parent().unwrap();
    let work = tempfile::tempdir().unwrap();
    copy_dir(&root.join("examples"), &work.path().join("examples"));
    copy_dir(&root.join("data"), &work.path().join("data"));
    let path = format!(
        "{}:{}:/usr/sbin:/sbin",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let tools = crate::util::have_tools(crate::tools::LOADERS);
    let (mut ran, mut loads, mut aclgens) = (0, 0, 0);
    for cmd in commands() {
        let fwgen_line = cmd.starts_with("fwgen ")
            || (cmd.starts_with("cd examples/") && cmd.contains(" && fwgen "));
        let out = if cmd.starts_with("fwgen apply ") {
            // It changes a live firewall: a throwaway network namespace's, never this
            // machine's.
            ran += 1;
            if !crate::util::is_root() {
                crate::util::missing("`fwgen apply` in the README needs root (unshare --net)");
                continue;
            }
            Command::new("unshare")
                .args(["--net", "sh", "-c", &cmd])
                .current_dir(work.path())
                .env("PATH", &path)
                .env_remove("SSH_CONNECTION")
                .env_remove("SSH_CLIENT")
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap()
        } else if fwgen_line && cmd.contains("live.json") && !tools {
            // It reads what a load command dumped, which needs the real tools.
            continue;
        } else if fwgen_line {
            ran += 1;
            Command::new("sh")
                .args(["-c", &cmd])
                .current_dir(work.path())
                .env("PATH", &path)
                .output()
                .unwrap()
        } else if cmd.starts_with("chromium ") {
            // The review printed to PDF, as the README says, in the scratch directory.
            let Some(browser) = crate::util::find_tool("chromium") else {
                crate::util::missing("chromium is not installed (apt-get install chromium)");
                continue;
            };
            let out = Command::new("sh")
                .args([
                    "-c",
                    &cmd.replacen("chromium", browser.to_str().unwrap(), 1),
                ])
                .current_dir(work.path())
                .env("HOME", work.path())
                .output()
                .unwrap();
            let pdf = work.path().join("review.pdf");
            let head = std::fs::read(&pdf).unwrap_or_default();
            assert!(
                head.starts_with(b"%PDF-"),
                "README command `{cmd}` wrote no PDF: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out
        } else if let Some(rest) = cmd.strip_prefix("aclgen ") {
            // Aerleon's generator on the export the line before wrote.
            let Some(aclgen) = crate::aerleon::aclgen() else {
                continue;
            };
            aclgens += 1;
            let out = Command::new(aclgen)
                .args(rest.split_whitespace())
                .current_dir(work.path())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !stderr.contains("with errors"),
                "README command `{cmd}`: {stderr}"
            );
            let files = std::fs::read_dir(work.path().join("aerleon-out")).map_or(0, |d| d.count());
            assert!(files >= 8, "README command `{cmd}` wrote {files} files");
            out
        } else if cmd.starts_with("nft ") || cmd.starts_with("ipset restore ") {
            loads += 1;
            if !tools {
                continue;
            }
            let ns = if crate::util::is_root() { "-n" } else { "-rn" };
            Command::new("unshare")
                .args([ns, "sh", "-c", &cmd])
                .current_dir(work.path())
                .env("PATH", &path)
                .output()
                .unwrap()
        } else if cmd.starts_with("ansible-playbook ") || cmd.starts_with("ansible-lint ") {
            // The fleet lab runs these very lines, in a copy of ansible/ (tests/integration/ansible.rs).
            let lab = std::fs::read_to_string(root.join("ansible/lab.sh")).unwrap();
            assert!(
                lab.contains(&format!("\"{cmd}")),
                "`{cmd}` is in the guide but ansible/lab.sh does not run it"
            );
            continue;
        } else if cmd == "ansible/lab.sh" {
            continue; // run by tests/integration/ansible.rs
        } else if cmd.starts_with("cargo ") || cmd.starts_with("bench/") || cmd.starts_with("fuzz/")
        {
            continue; // run by .ci/run, checked by the next test
        } else {
            panic!("README command `{cmd}` is run by no test: teach this test to run it");
        };
        assert!(
            out.status.success(),
            "README command `{cmd}` failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(ran >= 15, "only {ran} fwgen commands found in the README");
    // The Windows Firewall scripts they wrote, through PowerShell's grammar.
    let mut scripts = 0;
    for e in std::fs::read_dir(work.path()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "ps1") {
            crate::powershell::check_file(&p);
            scripts += 1;
        }
    }
    assert_eq!(scripts, 2, "the README's two Windows Firewall scripts");
    assert_eq!(
        loads, 4,
        "the four load commands of the README and the guide"
    );
    if crate::aerleon::aclgen().is_some() {
        assert_eq!(aclgens, 1, "the README's aclgen command");
    }
}

#[test]
fn every_cargo_command_in_the_readme_is_run_by_ci() {
    let ci =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/run")).unwrap();
    let cargo: Vec<String> = commands()
        .into_iter()
        .filter(|c| {
            ["cargo ", "bench/", "fuzz/"]
                .iter()
                .any(|p| c.starts_with(p))
        })
        .collect();
    assert!(
        cargo.iter().any(|c| c == "cargo test"),
        "the README names the test command"
    );
    for c in cargo {
        if c == "bench/run" {
            continue; // benchmarks are not CI's: checked by the next test
        }
        assert!(
            ci.lines().any(|l| l.trim() == c),
            "`{c}` is in the README but .ci/run does not run it"
        );
    }
    assert!(
        !ci.lines()
            .any(|l| l.starts_with("bench/") || l.starts_with("cargo bench")),
        "CI runs tests and checks, not benchmarks: {ci}"
    );
}

/// The README's one benchmark command, which CI does not run: it is there, executable, bash
/// reads it, and every script and criterion bench it calls exists (clippy builds the bench).
#[test]
fn the_benchmark_script_of_the_readme_runs_what_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        commands().iter().any(|c| c == "bench/run"),
        "the README names bench/run"
    );
    let script = root.join("bench/run");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&script).unwrap().permissions().mode();
    assert!(mode & 0o111 != 0, "bench/run is executable");
    let out = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&script).unwrap();
    let mut called = 0;
    for l in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        if let Some(s) = l.strip_prefix("bench/") {
            let file = s.split_whitespace().next().unwrap();
            assert!(
                root.join("bench").join(file).is_file(),
                "bench/run calls {l}"
            );
            called += 1;
        } else if let Some(rest) = l.strip_prefix("cargo bench --bench ") {
            let name = rest.split_whitespace().next().unwrap();
            assert!(root.join(format!("benches/{name}.rs")).is_file(), "{l}");
            called += 1;
        }
    }
    assert_eq!(
        called, 7,
        "start-up, batch build, fleet, Aerleon, audit, apply, criterion"
    );
}

#[test]
fn the_readme_json_example_is_real_output() {
    let example: serde_json::Value = serde_json::from_str(&blocks(&readme(), "json")[0]).unwrap();
    let real: serde_json::Value = serde_json::from_str(&crate::util::ok(&[
        "generate",
        "--site",
        "examples/site.yaml",
        "--backend",
        "json",
    ]))
    .unwrap();
    for key in [
        "product",
        "version",
        "component",
        "features",
        "catalogue_file",
        "document",
        "gateway",
        "warnings",
    ] {
        assert_eq!(example[key], real[key], "README example `{key}`");
    }
    let rule = &example["rules"][0];
    assert!(
        real["rules"].as_array().unwrap().contains(rule),
        "README example rule {rule} is not in the real output"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap();
        if p.is_dir() {
            if name != "out" {
                copy_dir(&p, &to.join(name));
            }
        } else {
            std::fs::copy(&p, to.join(name)).unwrap();
        }
    }
}

/// A `yaml` block whose first line names an example file (`# examples/…: …`) is that file,
/// byte for byte: the README's "Your own products" example is the one the commands run.
#[test]
fn yaml_blocks_that_name_an_example_file_are_that_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for block in blocks(&readme(), "yaml") {
        let first = block.lines().next().unwrap_or_default();
        let Some(name) = first
            .strip_prefix("# ")
            .and_then(|l| l.split(':').next())
            .filter(|n| n.starts_with("examples/"))
        else {
            continue;
        };
        let file = std::fs::read_to_string(root.join(name)).unwrap();
        assert_eq!(
            block, file,
            "the README's copy of {name} differs from the file"
        );
        checked += 1;
    }
    assert!(
        checked >= 3,
        "only {checked} example files quoted in the README"
    );
}

/// The README is a front door: at most 300 lines, and each of its links into the guide
/// leads to a chapter that exists and that the guide's `SUMMARY.md` lists.
#[test]
fn the_readme_is_a_front_door_into_the_guide() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("README.md")).unwrap();
    let lines = text.lines().count();
    assert!(lines <= 300, "the README has {lines} lines");
    let chapters = guide_chapters();
    let mut links = 0;
    for (i, _) in text.match_indices("](docs/src/") {
        let rest = &text[i + 11..];
        let file = &rest[..rest.find(')').unwrap()];
        assert!(root.join("docs/src").join(file).is_file(), "link to {file}");
        assert!(
            file == "SUMMARY.md" || chapters.iter().any(|c| c == file),
            "{file} is not in SUMMARY.md"
        );
        links += 1;
    }
    assert!(links >= 10, "only {links} links into the guide");
    for c in &chapters {
        assert!(
            root.join("docs/src").join(c).is_file(),
            "SUMMARY.md lists {c}"
        );
    }
}

/// `mdbook build docs` builds the guide (mdBook from crates.io, which `.ci/run` installs
/// into `target/mdbook`), without a broken link or a missing chapter.
#[test]
fn the_guide_builds_with_mdbook() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // One on the PATH, else the one `.ci/run` installs.
    let Some(mdbook) = crate::util::find_tool("mdbook")
        .or_else(|| crate::util::installed_tool("FWGEN_MDBOOK", "mdbook/bin/mdbook", "mdbook"))
    else {
        return;
    };
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(mdbook)
        .args(["build", "docs", "--dest-dir"])
        .arg(out_dir.path())
        .current_dir(root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "mdbook build: {stderr}");
    assert!(
        !stderr.contains("WARN") && !stderr.contains("ERROR"),
        "{stderr}"
    );
    for c in guide_chapters() {
        let html = out_dir.path().join(c.replace(".md", ".html"));
        assert!(html.is_file(), "{} was not built", html.display());
    }
}
