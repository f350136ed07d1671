//! What SIGINT, SIGTERM and SIGHUP leave behind: the old file or the whole new one, never a
//! temporary file or a directory the run made; and a run with nothing left to undo ends at
//! once, even while it waits on a FIFO.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::hardening::million_site;
use crate::util::fwgen;

/// SIGINT at any moment of a write leaves the old file whole (or the new one whole), never a
/// part of either.
#[test]
fn an_interrupted_write_leaves_the_old_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let (site, _) = million_site(dir.path());
    let out = dir.path().join("rules.nft");
    let site_s = site.to_str().unwrap();
    let reference = {
        let r = fwgen(&[
            "generate",
            "--site",
            site_s,
            "-b",
            "nftables",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        std::fs::read(&out).unwrap()
    };
    // A stale temporary file and a symlink with fwgen's prefix, planted in the output
    // directory: never opened, followed or removed.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"VICTIM\n").unwrap();
    std::fs::write(dir.path().join(".fwgen-stale"), b"STALE\n").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join(".fwgen-link")).unwrap();
    let leftovers = || -> Vec<String> {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".fwgen-") && n != ".fwgen-stale" && n != ".fwgen-link")
            .collect()
    };
    for (delay_ms, signal) in [
        (30, "-INT"),
        (150, "-TERM"),
        (400, "-INT"),
        (800, "-TERM"),
        (1_200, "-INT"),
        (1_500, "-TERM"),
        (2_000, "-INT"),
        (3_000, "-TERM"),
    ] {
        let mut child = generate_over_old(&site, &out);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status();
        let _ = child.wait();
        let now = std::fs::read(&out).unwrap();
        assert!(
            now == b"OLD\n" || now == reference,
            "after {signal} at {delay_ms} ms the file is neither the old nor the new one ({} bytes)",
            now.len()
        );
        // See: issue "Safe to run as root and in CI", item 3.
        assert_eq!(
            leftovers(),
            Vec::<String>::new(),
            "after {signal} at {delay_ms} ms a temporary file is left behind"
        );
    }
    assert_eq!(std::fs::read(&victim).unwrap(), b"VICTIM\n");
    assert_eq!(
        std::fs::read(dir.path().join(".fwgen-stale")).unwrap(),
        b"STALE\n"
    );
    assert!(
        std::fs::symlink_metadata(dir.path().join(".fwgen-link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

/// `out` holds `OLD` again, and fwgen starts writing the nftables ruleset of `site` over it.
fn generate_over_old(site: &std::path::Path, out: &std::path::Path) -> std::process::Child {
    std::fs::write(out, b"OLD\n").unwrap();
    Command::new(env!("CARGO_BIN_EXE_fwgen"))
        .args(["generate", "--allow-unbound", "--site"])
        .arg(site)
        .args(["-b", "nftables", "-o"])
        .arg(out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A signal while the output is being staged: the run's temporary file is removed and the old
/// file stays. The test waits until the temporary file exists (polling the directory) and
/// signals at once (no `kill` process to start); a run that still finishes first, on a loaded
/// machine, is tried again: each of the three signals must land while the file is staged.
///
/// See: issue "Safe to run as root and in CI", item 3.
#[test]
fn a_signal_while_staging_leaves_no_temporary_file() {
    use rustix::process::Signal;
    let dir = tempfile::tempdir().unwrap();
    let (site, _) = million_site(dir.path());
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("rules.nft");
    let temporaries = || -> Vec<String> {
        std::fs::read_dir(&out_dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".fwgen-"))
            .collect()
    };
    const TRIES: usize = 5;
    for (name, signal) in [
        ("INT", Signal::INT),
        ("TERM", Signal::TERM),
        ("HUP", Signal::HUP),
    ] {
        let mut landed = false;
        for _ in 0..TRIES {
            let mut child = generate_over_old(&site, &out);
            let seen = signal_when(&mut child, || !temporaries().is_empty(), signal);
            let status = child.wait().unwrap();
            assert_eq!(
                temporaries(),
                Vec::<String>::new(),
                "after SIG{name}: left behind"
            );
            let now = std::fs::read(&out).unwrap();
            assert!(
                now == b"OLD\n" || now.starts_with(b"#!/usr/sbin/nft -f\n# Generated by fwgen"),
                "after SIG{name}: neither the old file nor the whole new one"
            );
            if seen && status.code() == Some(130) {
                landed = true;
                break;
            }
        }
        assert!(
            landed,
            "SIG{name} never landed while the file was staged, in {TRIES} runs"
        );
    }
}

/// A manifest in `dir` whose targets write the example site's rules into `out/new` (which the
/// run creates) and then, with `fifo`, into a FIFO of that name as well.
fn manifest_into_new_dir(dir: &std::path::Path, site: &std::path::Path, fifo: Option<&str>) {
    std::fs::copy(site, dir.join("site.yaml")).unwrap();
    let mut m = String::from(
        "targets:\n  - {name: files, site: site.yaml, backend: nftables, output: out/new/rules.nft}\n",
    );
    if let Some(fifo) = fifo {
        m.push_str(&format!(
            "  - {{name: fifo, site: site.yaml, backend: json, output: {fifo}}}\n"
        ));
    }
    std::fs::write(dir.join("fwgen.yaml"), m).unwrap();
}

/// Wait (up to a minute) until `ready` holds, then send `signal` at once: whether it was sent
/// (a run that ends first is not signalled).
fn signal_when(
    child: &mut std::process::Child,
    ready: impl Fn() -> bool,
    signal: rustix::process::Signal,
) -> bool {
    use rustix::process::{Pid, kill_process};
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if ready() {
            // The child has not been waited for, so its id is still its own.
            let _ = kill_process(Pid::from_child(child), signal);
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    false
}

fn build_in(dir: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_fwgen"))
        .current_dir(dir)
        .args(["build", "--allow-unbound", "fwgen.yaml"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The child's exit code, or `None` if it has not ended within `secs` (it is then killed).
fn exit_within(child: &mut std::process::Child, secs: u64) -> Option<Option<i32>> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status.code());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Once every file is in place, nothing is left to undo: a signal ends the run at once, here
/// while it waits for a reader of its FIFO, which may never come. (The run notes a signal
/// that comes while it has temporary files or new directories, and acts on it when nothing is
/// half made: the directories it created must stop counting once they hold its files, or
/// this run would wait for the reader.)
#[test]
fn a_signal_after_the_files_are_in_place_ends_the_run_at_once() {
    use rustix::process::{Pid, Signal, kill_process};
    let dir = tempfile::tempdir().unwrap();
    let site = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/site.yaml");
    manifest_into_new_dir(dir.path(), &site, Some("out.fifo"));
    let made = Command::new("mkfifo")
        .arg(dir.path().join("out.fifo"))
        .status()
        .unwrap();
    assert!(made.success());
    let rules = dir.path().join("out/new/rules.nft");
    for (name, signal) in [
        ("INT", Signal::INT),
        ("TERM", Signal::TERM),
        ("HUP", Signal::HUP),
    ] {
        let _ = std::fs::remove_dir_all(dir.path().join("out"));
        let mut child = build_in(dir.path());
        let start = Instant::now();
        while !rules.exists() && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(rules.exists(), "the build never put its file in place");
        // Then it opens the FIFO, and waits there for a reader.
        std::thread::sleep(Duration::from_millis(200));
        let _ = kill_process(Pid::from_child(&child), signal);
        assert_eq!(
            exit_within(&mut child, 10),
            Some(Some(130)),
            "SIG{name} while waiting on a FIFO, after the files are in place"
        );
        let text = std::fs::read_to_string(&rules).unwrap();
        assert!(text.starts_with("#!/usr/sbin/nft -f\n"), "{text}");
    }
}

/// A signal while the files are staged takes away the directories the run made for them,
/// with the temporary files: the run leaves nothing behind. A run that finishes first, on a
/// loaded machine, is tried again.
#[test]
fn a_signal_while_staging_removes_the_directories_the_run_made() {
    use rustix::process::Signal;
    let dir = tempfile::tempdir().unwrap();
    let (site, _) = million_site(dir.path());
    manifest_into_new_dir(dir.path(), &site, None);
    let new = dir.path().join("out/new");
    let staged = || {
        std::fs::read_dir(&new).is_ok_and(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with(".fwgen-"))
        })
    };
    const TRIES: usize = 5;
    let mut landed = false;
    for _ in 0..TRIES {
        let _ = std::fs::remove_dir_all(dir.path().join("out"));
        let mut child = build_in(dir.path());
        let seen = signal_when(&mut child, staged, Signal::INT);
        let code = exit_within(&mut child, 60).expect("the interrupted build never ended");
        if seen && code == Some(130) {
            assert!(
                !dir.path().join("out").exists(),
                "the directories the interrupted run made are still there"
            );
            landed = true;
            break;
        }
    }
    assert!(
        landed,
        "SIGINT never landed while the file was staged, in {TRIES} runs"
    );
}
