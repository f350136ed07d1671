//! `fwgen apply` (issue 26), in network namespaces the tests create: the gateway's namespace
//! of the live lab is the host whose firewall is loaded, the client side sends real packets
//! (the admin client 198.18.0.2 and 198.18.0.3, which has no role, to the web interface on
//! 443). Each test names the behaviour it shows and fails without it.

use std::path::Path;
use std::process::Command;

use crate::live::{Lab, Probe, ready};

const SITE: &str = "tests/fixtures/sites/live-icap.yaml";
const FWGEN: &str = env!("CARGO_BIN_EXE_fwgen");

/// `fwgen apply ARGS` in the gateway's namespace with state in `state`: (exit code, stdout,
/// stderr). `ssh` sets `SSH_CONNECTION` (else it is removed, as from a console).
pub(crate) fn apply(
    lab: &Lab,
    state: &Path,
    args: &[&str],
    ssh: Option<&str>,
) -> (i32, String, String) {
    apply_env(lab, state, args, ssh, &[])
}

fn apply_env(
    lab: &Lab,
    state: &Path,
    args: &[&str],
    ssh: Option<&str>,
    env: &[(&str, &str)],
) -> (i32, String, String) {
    let mut c = lab.exec(&lab.gw);
    // The lab's site leaves host groups unbound (see `util::fwgen_in`).
    c.arg(FWGEN)
        .args(["apply", "--allow-unbound"])
        .args(["--state-dir", state.to_str().unwrap()])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("SSH_CONNECTION")
        .env_remove("SSH_CLIENT")
        .envs(env.iter().copied());
    if let Some(s) = ssh {
        c.env("SSH_CONNECTION", s);
    }
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub(crate) fn new_ruleset(
    lab: &Lab,
    state: &Path,
    backend: &str,
    more: &[&str],
) -> (i32, String, String) {
    let args = [&["--site", SITE, "-b", backend][..], more].concat();
    apply(lab, state, &args, None)
}

/// What is live in the gateway's namespace, as `rollback` must make it again.
pub(crate) fn listing(lab: &Lab, backend: &str) -> String {
    let run = |args: &[&str]| {
        let out = lab.exec(&lab.gw).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.starts_with('#'))
            // Without the packet counters, which traffic changes: iptables' chains', and the
            // rules' of nftables' listing (iptables-nft gives every rule one).
            .map(|l| match (l.starts_with(':'), l.rfind(" [")) {
                (true, Some(i)) => format!("{}\n", &l[..i]),
                _ => format!("{}\n", uncounted(l)),
            })
            .collect::<String>()
    };
    match backend {
        "nftables" => run(&["nft", "list", "ruleset"]),
        _ => [
            sets(&run(&["ipset", "save"])),
            run(&["iptables-save"]),
            run(&["ip6tables-save"]),
        ]
        .concat(),
    }
}

/// `ipset save` output without what a set made again changes by itself: the hash's random
/// `initval`, and the members' order (all lines sorted).
fn sets(save: &str) -> String {
    let mut lines: Vec<String> = save
        .lines()
        .map(|l| match l.find(" initval ") {
            Some(i) => l[..i].to_string() + l[i + 9..].find(' ').map_or("", |j| &l[i + 9 + j..]),
            None => l.to_string(),
        })
        .collect();
    lines.sort();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// A listing's line with `counter packets N bytes M` as `counter`.
fn uncounted(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        if let ["counter", "packets", _, "bytes", _, ..] = &words[i..] {
            out.push("counter");
            i += 5;
        } else {
            out.push(words[i]);
            i += 1;
        }
    }
    out.join(" ")
}

/// Whether the admin client and the address of no role reach the web interface: (admin,
/// other).
pub(crate) fn reach(lab: &Lab) -> (bool, bool) {
    let p = |src| Probe {
        src,
        dst: "198.18.0.1",
        proto: "tcp",
        port: 443,
        open: true,
        why: "web interface",
    };
    let got = lab.probe(&lab.cli, &[p("198.18.0.2"), p("198.18.0.3")]);
    (got[0] == "open", got[1] == "open")
}

/// `--status` once it says `needle`, within `secs` (else a failure showing the last status).
pub(crate) fn status_saying(lab: &Lab, state: &Path, needle: &str, secs: u64) -> String {
    let mut status = String::new();
    let said = poll(secs, || {
        status = apply(lab, state, &["--status"], None).1;
        status.contains(needle)
    });
    if !said {
        // Whether the guard still runs, and for how long (when it neither restored nor said
        // why it could not).
        let ps = Command::new("ps")
            .args(["-eo", "pid,etime,stat,args"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let guards: Vec<&str> = ps
            .lines()
            .filter(|l| l.contains("--guard") || l.contains("firewall-cmd"))
            .collect();
        panic!(
            "`{needle}` not in the status within {secs} s; it says: {status}\nguards: {guards:#?}"
        );
    }
    status
}

pub(crate) fn wait_for(what: &str, secs: u64, f: impl FnMut() -> bool) {
    assert!(poll(secs, f), "{what}: not within {secs} s");
}

/// Whether `f` holds within `secs`, asked every 200 ms.
fn poll(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !f() {
        if std::time::Instant::now() >= end {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    true
}

/// A `PATH` whose `tool` runs `script` (sh; the real tool is `$REAL`) first, then the real
/// tool with its arguments: the directory that holds it (keep it while the shim is used) and
/// the value.
fn shim(tool: &str, script: &str) -> (tempfile::TempDir, String) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let real = crate::util::find_tool(tool).expect(tool);
    let file = dir.path().join(tool);
    let text = format!(
        "#!/bin/sh\nREAL='{}'\n{script}\nexec \"$REAL\" \"$@\"\n",
        real.display()
    );
    std::fs::write(&file, text).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (dir, path)
}

pub(crate) fn lab(tag: &str) -> Option<(Lab, crate::live::Server, tempfile::TempDir)> {
    if !ready() || !crate::util::have_tools(&["unshare", "setsid"]) {
        return None;
    }
    let lab = Lab::new(tag);
    let server = lab.serve(&lab.gw, "443", "", "198.18.0.1");
    Some((lab, server, tempfile::tempdir().unwrap()))
}

/// Applied and proven live; unconfirmed, restored byte-equal by the guard at the deadline;
/// real packets before, during and after. Without the guard the ruleset would stay.
fn unconfirmed_is_restored(backend: &str, tag: &str) {
    let Some((lab, _server, state)) = lab(tag) else {
        return;
    };
    let before = listing(&lab, backend);
    assert_eq!(reach(&lab), (true, true), "the lab works without a ruleset");
    let (code, out, err) = new_ruleset(&lab, state.path(), backend, &["--confirm-within", "8"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("applied and proven live"), "{err}");
    assert!(err.contains("fwgen apply --confirm"), "{err}");
    assert!(out.contains("0 over-broad"), "{out}");
    assert_ne!(listing(&lab, backend), before);
    assert_eq!(reach(&lab), (true, false), "live: the admin only");
    let (_, status, _) = apply(&lab, state.path(), &["--status"], None);
    assert!(status.starts_with("unconfirmed:"), "{status}");
    wait_for("the guard's rollback", 30, || {
        listing(&lab, backend) == before
    });
    assert_eq!(reach(&lab), (true, true), "restored: open again");
    let (_, status, _) = apply(&lab, state.path(), &["--status"], None);
    assert!(status.contains("rolled back by the guard"), "{status}");
}

#[test]
fn nftables_unconfirmed_is_restored_byte_equal() {
    unconfirmed_is_restored("nftables", "an");
}

#[test]
fn iptables_unconfirmed_is_restored_byte_equal() {
    unconfirmed_is_restored("iptables", "ai");
}

/// A guard that cannot restore (here `nft` refuses every load once the apply is done) tries
/// three times, then says so in `--status`, with what to run; `--rollback` then restores.
/// Before, it gave up silently: the status said "unconfirmed" forever.
#[test]
fn a_guard_that_cannot_roll_back_says_so() {
    let Some((lab, _server, state)) = lab("gx") else {
        return;
    };
    let before = listing(&lab, "nftables");
    let flag = tempfile::tempdir().unwrap();
    let broken = flag.path().join("broken");
    let (_shim, path) = shim(
        "nft",
        &format!(
            "if [ -e {} ] && [ \"$1\" = -f ]; then echo 'refused (test)' >&2; exit 1; fi",
            broken.display()
        ),
    );
    let args = ["--site", SITE, "-b", "nftables", "--confirm-within", "4"];
    let (code, out, err) = apply_env(&lab, state.path(), &args, None, &[("PATH", &path)]);
    assert_eq!(code, 0, "{out}{err}");
    std::fs::write(&broken, "").unwrap();
    let status = status_saying(&lab, state.path(), "could not roll back", 40);
    assert!(status.starts_with("unconfirmed:"), "{status}");
    assert!(status.contains("refused (test)"), "{status}");
    assert!(status.contains("fwgen apply --rollback"), "{status}");
    assert_ne!(listing(&lab, "nftables"), before, "still what was applied");
    std::fs::remove_file(&broken).unwrap();
    let (code, _, err) = apply(&lab, state.path(), &["--rollback"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(listing(&lab, "nftables"), before);
}

/// The window to confirm counts from when the ruleset is proven live, not from the start of
/// the apply: here every `nft --debug=netlink list` takes 6 s (a loaded machine), so the
/// apply's load and dump of the live ruleset take longer than `--confirm-within 4`, and the ruleset is still there, unconfirmed, to be confirmed
/// after the apply returns. Before, the guard rolled it back as soon as the apply let go of
/// the lock.
#[test]
fn the_window_to_confirm_starts_when_the_ruleset_is_proven() {
    let Some((lab, _server, state)) = lab("dl") else {
        return;
    };
    let before = listing(&lab, "nftables");
    let (_shim, path) = shim("nft", "case \"$*\" in *debug=netlink*) sleep 6;; esac");
    let args = ["--site", SITE, "-b", "nftables", "--confirm-within", "4"];
    let started = std::time::Instant::now();
    let (code, out, err) = apply_env(&lab, state.path(), &args, None, &[("PATH", &path)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        started.elapsed() > std::time::Duration::from_secs(12),
        "the ruleset as it would be live and the dump each took 6 s"
    );
    let (_, status, _) = apply(&lab, state.path(), &["--status"], None);
    assert!(
        status.starts_with("unconfirmed:") && !status.contains("the deadline has passed"),
        "{status}"
    );
    let (code, _, err) = apply(&lab, state.path(), &["--confirm"], None);
    assert_eq!(code, 0, "{err}");
    let applied = listing(&lab, "nftables");
    assert_ne!(applied, before);
    std::thread::sleep(std::time::Duration::from_secs(7));
    assert_eq!(listing(&lab, "nftables"), applied, "confirmed: it stays");
    assert_eq!(reach(&lab), (true, false));
}

/// A guard that stops at an error before it can restore (here the state directory became
/// writable by another user, so it refuses to take the lock) says why in `--status`: its
/// standard error goes to the state directory's `guard.log`. Before, it went nowhere and the
/// status said "unconfirmed" forever.
#[test]
fn a_guard_that_stops_says_why() {
    use std::os::unix::fs::PermissionsExt;
    let Some((lab, _server, state)) = lab("gy") else {
        return;
    };
    let before = listing(&lab, "nftables");
    let (code, out, err) = new_ruleset(&lab, state.path(), "nftables", &["--confirm-within", "3"]);
    assert_eq!(code, 0, "{out}{err}");
    let mode = |m| std::fs::set_permissions(state.path(), std::fs::Permissions::from_mode(m));
    mode(0o777).unwrap();
    let status = status_saying(&lab, state.path(), "the guard said", 30);
    mode(0o700).unwrap();
    assert!(status.starts_with("unconfirmed:"), "{status}");
    assert!(status.contains("writable by another user"), "{status}");
    let (code, _, err) = apply(&lab, state.path(), &["--rollback"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(listing(&lab, "nftables"), before);
    // Rolled back, what the guard said is history.
    let (_, status, _) = apply(&lab, state.path(), &["--status"], None);
    assert!(
        status.starts_with("rolled back:") && !status.contains("the guard said"),
        "{status}"
    );
}

/// Confirmed, it stays past the deadline; `--rollback` then restores it; a second
/// `--rollback` has nothing to do.
#[test]
fn confirmed_stays_and_rollback_restores() {
    for backend in ["nftables", "iptables"] {
        let Some((lab, _server, state)) = lab(if backend == "nftables" { "cn" } else { "ci" })
        else {
            return;
        };
        let before = listing(&lab, backend);
        // Five seconds to confirm in, on a loaded machine; then past the deadline.
        let (code, out, err) = new_ruleset(&lab, state.path(), backend, &["--confirm-within", "5"]);
        assert_eq!(code, 0, "{out}{err}");
        let (code, _, err) = apply(&lab, state.path(), &["--confirm"], None);
        assert_eq!(code, 0, "{err}");
        let applied = listing(&lab, backend);
        std::thread::sleep(std::time::Duration::from_secs(6));
        assert_eq!(
            listing(&lab, backend),
            applied,
            "{backend}: confirmed stays"
        );
        assert_eq!(reach(&lab), (true, false));
        let (code, _, err) = apply(&lab, state.path(), &["--rollback"], None);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("byte-equal"), "{err}");
        assert_eq!(listing(&lab, backend), before, "{backend}");
        let (code, _, err) = apply(&lab, state.path(), &["--rollback"], None);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("already rolled back"), "{err}");
    }
}

/// `fwgen apply` killed with SIGKILL as soon as it has loaded the ruleset, and the guard sent
/// SIGHUP as a dropped SSH session would: the guard, in a session of its own and deaf to
/// SIGHUP, restores the snapshot anyway.
#[test]
fn the_guard_outlives_a_killed_apply() {
    let Some((lab, _server, state)) = lab("k") else {
        return;
    };
    let before = listing(&lab, "nftables");
    let mut child = lab
        .exec(&lab.gw)
        .args([
            FWGEN,
            "apply",
            "--allow-unbound",
            "--site",
            SITE,
            "-b",
            "nftables",
            "--confirm-within",
            "3",
        ])
        .args(["--state-dir", state.path().to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("SSH_CONNECTION")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the ruleset loaded", 30, || {
        listing(&lab, "nftables") != before
    });
    let _ = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let guard = format!("apply --guard --state-dir {}", state.path().display());
    let hup = Command::new("pkill")
        .args(["-HUP", "-f", &guard])
        .status()
        .is_ok_and(|s| s.success());
    assert!(hup, "the guard is running");
    wait_for("the guard's rollback", 30, || {
        listing(&lab, "nftables") == before
    });
}

/// Over SSH, a ruleset that would not admit the session's client to the session's port is
/// refused before anything changes; `--force` applies it anyway; a session it admits is
/// said to stay admitted.
#[test]
fn a_session_that_would_be_locked_out_is_refused() {
    let Some((lab, _server, state)) = lab("s") else {
        return;
    };
    let before = listing(&lab, "nftables");
    let base = ["--site", SITE, "-b", "nftables", "--auto-confirm"];
    let (code, _, err) = apply(
        &lab,
        state.path(),
        &base,
        Some("198.18.0.3 40000 198.18.0.1 22"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("lock out this SSH session")
            && err.contains("198.18.0.3")
            && err.contains("port 22"),
        "{err}"
    );
    assert_eq!(listing(&lab, "nftables"), before, "nothing changed");
    // Only SSH_CLIENT (no server address): the gateway's own address stands for it.
    let (code, _, err) = apply_env(
        &lab,
        state.path(),
        &base,
        None,
        &[("SSH_CLIENT", "2001:db8:f::3 40000 22")],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("2001:db8:f::3 to 2001:db8:f::1 port 22"),
        "{err}"
    );
    assert_eq!(listing(&lab, "nftables"), before, "nothing changed");
    let (code, _, err) = apply(
        &lab,
        state.path(),
        &base,
        Some("198.18.0.2 40000 198.18.0.1 443"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("stays admitted"), "{err}");
    let forced = [&base[..], &["--force"]].concat();
    let (code, _, err) = apply(
        &lab,
        state.path(),
        &forced,
        Some("198.18.0.3 40000 198.18.0.1 22"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("--force"), "{err}");
}

/// `--dry-run` changes nothing and shows the difference and the audit of the ruleset as it
/// would be live.
#[test]
fn a_dry_run_changes_nothing() {
    let Some((lab, _server, state)) = lab("d") else {
        return;
    };
    let before = listing(&lab, "nftables");
    let (code, out, err) = new_ruleset(&lab, state.path(), "nftables", &["--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("+table inet fwgen {"), "{out}");
    assert!(out.contains("13 entries: 13 admitted"), "{out}");
    assert!(err.contains("nothing changed"), "{err}");
    assert_eq!(listing(&lab, "nftables"), before);
    assert!(!state.path().join("state.json").exists());
}

/// A table of someone else's that drops 443 makes the live audit fail: rolled back at once,
/// exit 1, the findings printed, the other table still there.
#[test]
fn a_failed_live_audit_rolls_back() {
    let Some((lab, _server, state)) = lab("f") else {
        return;
    };
    let other = "table inet other {\n chain input {\n type filter hook input priority -10; \
                 policy accept;\n tcp dport 443 drop\n }\n}\n";
    lab.feed(&lab.gw, &["nft", "-f", "-"], other);
    let before = listing(&lab, "nftables");
    let (code, out, err) = new_ruleset(&lab, state.path(), "nftables", &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("blocked   web-ui"), "{out}");
    assert!(
        err.contains("the live audit failed") && err.contains("byte-equal"),
        "{err}"
    );
    assert_eq!(listing(&lab, "nftables"), before);
}

/// One apply at a time: an unconfirmed one refuses the next (naming it); a held lock
/// refuses too; a state directory that cannot be written changes nothing.
#[test]
fn one_apply_at_a_time_and_a_state_directory_it_can_write() {
    let Some((lab, _server, state)) = lab("o") else {
        return;
    };
    let (code, _, err) = new_ruleset(&lab, state.path(), "nftables", &[]);
    assert_eq!(code, 0, "{err}");
    let applied = listing(&lab, "nftables");
    let (code, _, err) = new_ruleset(&lab, state.path(), "iptables", &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("is unconfirmed until") && err.contains("icap-gateway"),
        "{err}"
    );
    assert_eq!(listing(&lab, "nftables"), applied);
    // The lock held by another process.
    let lock = state.path().join("lock");
    let mut holder = Command::new("flock")
        .args(["--no-fork", lock.to_str().unwrap(), "sleep", "5"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (code, _, err) = apply(&lab, state.path(), &["--rollback"], None);
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("holds the state directory's lock"), "{err}");
    let (code, _, err) = apply(&lab, state.path(), &["--rollback"], None);
    assert_eq!(code, 0, "{err}");
    // A state directory another user could write into.
    let open = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        open.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let (code, _, err) = apply(&lab, open.path(), &["--site", SITE, "-b", "nftables"], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("writable by another user"), "{err}");
    // A read-only file system.
    let ro = tempfile::tempdir().unwrap();
    let mounted = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            "ro",
            "fwgen-ro",
            ro.path().to_str().unwrap(),
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(mounted, "mount -o ro tmpfs");
    let before = listing(&lab, "nftables");
    let r = apply(
        &lab,
        &ro.path().join("state"),
        &["--site", SITE, "-b", "nftables"],
        None,
    );
    let _ = Command::new("umount").arg(ro.path()).status();
    assert_eq!(r.0, 2, "{}", r.2);
    assert!(
        r.2.contains("state directory") && r.2.contains("nothing") || r.2.contains("cannot create"),
        "{}",
        r.2
    );
    assert_eq!(listing(&lab, "nftables"), before, "nothing changed");
}

/// firewalld, its daemon running in the gateway's namespace on a configuration holding an
/// earlier generation (the selection without its default features): the new generation's
/// files replace it, firewalld reloads, the live audit reads what firewalld made (its
/// nftables rules) and passes; unconfirmed, the guard puts the earlier files back byte-equal
/// and reloads.
#[test]
fn firewalld_is_applied_proven_and_restored() {
    firewalld_applied_and_restored("w", None);
}

/// The same on a loaded machine, where firewalld's directory watcher acts before the reload
/// that follows fwgen's files (here every `firewall-cmd --reload` waits 7 s first): five
/// seconds after a service file goes, firewalld drops the service from the zones and
/// policies it holds and writes those over fwgen's files. No file of the configuration may be firewalld's own
/// rewrite (no fwgen header, a `.old` copy beside it) after the apply or the rollback. And
/// where a reload outlasts D-Bus's 25 s (here every reload's reply is lost after it is done,
/// as firewall-cmd says it then): the apply and the guard wait until firewalld answers again,
/// then the live audit proves what it runs. Before, the apply failed ("loading failed").
#[test]
fn firewalld_files_stay_fwgens_when_reloads_are_slow() {
    firewalld_applied_and_restored("v", Some(7));
}

fn firewalld_applied_and_restored(tag: &str, slow_reloads: Option<u32>) {
    if !crate::live::firewalld_ready() || !crate::util::have_tools(&["firewall-offline-cmd"]) {
        return;
    }
    let Some((lab, _server, state)) = lab(tag) else {
        return;
    };
    let config = tempfile::tempdir().unwrap();
    crate::util::ok(&[
        "generate",
        "--site",
        SITE,
        "--no-default-features",
        "-b",
        "firewalld",
        "--placement",
        "host",
        "-o",
        config.path().to_str().unwrap(),
    ]);
    let fw = crate::live::start_firewalld(&lab, &lab.gw, config.path(), "fwgen");
    let bus = fw.bus();
    // firewalld's default RFC3964_IPv4=yes rejects what the gateway sends to IPv4-compatible
    // IPv6 addresses, which two entries of this site (to any address) need: the live audit
    // would fail, rightly. Off here, as the site's administrator would turn it.
    let conf = config.path().join("firewalld.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(&conf, text.replace("RFC3964_IPv4=yes", "RFC3964_IPv4=no")).unwrap();
    fw.cmd(&lab, &lab.gw, &["--reload"]).unwrap();
    let files = |dir: &Path| {
        let mut out = Vec::new();
        for d in ["zones", "policies", "services", "ipsets"] {
            let Ok(entries) = std::fs::read_dir(dir.join(d)) else {
                continue;
            };
            for e in entries {
                let p = e.unwrap().path();
                out.push((p.clone(), std::fs::read_to_string(&p).unwrap()));
            }
        }
        out.sort();
        out
    };
    // Every file is fwgen's as written: firewalld's rewrites have no header and leave a copy.
    let fwgens = |files: &[(std::path::PathBuf, String)], when: &str| {
        for (p, text) in files {
            assert!(
                p.extension().is_some_and(|x| x == "xml") && text.contains("Generated by fwgen"),
                "{when}: {} is not the file fwgen wrote:\n{text}",
                p.display()
            );
        }
    };
    // A `firewall-cmd --reload` that waits first, ahead of the real one in PATH (fwgen's and
    // the guard's).
    let (_slow, path) = match slow_reloads {
        Some(secs) => {
            let lost = "Error: Did not receive a reply. Possible causes include: the remote \
                        application did not send a reply (test: the reload is done)";
            let (dir, path) = shim(
                "firewall-cmd",
                &format!(
                    "if [ \"$1\" = --reload ]; then sleep {secs}; \"$REAL\" --reload >/dev/null \
                     || exit 1; echo '{lost}' >&2; exit 1; fi"
                ),
            );
            (Some(dir), path)
        }
        None => (None, std::env::var("PATH").unwrap_or_default()),
    };
    let before = files(config.path());
    let dir = config.path().to_str().unwrap();
    // Long enough for the checks below before the guard acts (the window counts from the
    // proof, when the apply returns).
    let window = (8 + slow_reloads.unwrap_or(0)).to_string();
    let args = [
        "--site",
        SITE,
        "-b",
        "firewalld",
        "--firewalld-config",
        dir,
        "--confirm-within",
        &window,
    ];
    let (code, out, err) = apply_env(
        &lab,
        state.path(),
        &args,
        None,
        &[("DBUS_SYSTEM_BUS_ADDRESS", &bus), ("PATH", &path)],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("firewalld applied and proven live"), "{err}");
    let applied = files(config.path());
    assert_ne!(applied, before, "the new generation is in place");
    fwgens(&before, "before");
    if slow_reloads.is_some() {
        // The watcher's five seconds, and some, after the last reload.
        std::thread::sleep(std::time::Duration::from_secs(7));
    }
    fwgens(&files(config.path()), "after the apply");
    assert_eq!(reach(&lab), (true, false), "live: the admin only");
    status_saying(&lab, state.path(), "rolled back by the guard", 180);
    if slow_reloads.is_some() {
        std::thread::sleep(std::time::Duration::from_secs(7));
    }
    assert_eq!(
        files(config.path()),
        before,
        "the earlier generation, byte-equal"
    );
    assert_eq!(fw.cmd(&lab, &lab.gw, &["--state"]).unwrap(), "running");
}

/// On a terminal (here a pseudo-terminal from `script`), apply shows the audit and asks:
/// `y` keeps the ruleset, anything else restores what was before at once.
#[test]
fn on_a_terminal_it_asks() {
    if !crate::util::have_tools(&["script"]) {
        return;
    }
    let Some((lab, _server, state)) = lab("t") else {
        return;
    };
    let before = listing(&lab, "nftables");
    for (answer, kept) in [("y", true), ("n", false)] {
        let cmd = format!(
            "{FWGEN} apply --allow-unbound --site {SITE} -b nftables --state-dir {}",
            state.path().display()
        );
        let mut c = lab.exec(&lab.gw);
        c.args(["script", "-qec", &cmd, "/dev/null"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("SSH_CONNECTION");
        let out = crate::util::output_with_input(c, &format!("{answer}\n"));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("Keep this ruleset? [y/N]"), "{said}");
        let (_, status, _) = apply(&lab, state.path(), &["--status"], None);
        if kept {
            assert!(status.starts_with("confirmed:"), "{status}\n{said}");
            assert_ne!(listing(&lab, "nftables"), before);
            let (code, _, err) = apply(&lab, state.path(), &["--rollback"], None);
            assert_eq!(code, 0, "{err}");
        } else {
            assert!(status.starts_with("rolled back:"), "{status}\n{said}");
        }
        assert_eq!(listing(&lab, "nftables"), before);
    }
}

/// An apply whose ruleset is live already (the timer's runs, an Ansible rerun) loads nothing,
/// starts no guard and leaves the state as it was, and proves what is live. After a reboot
/// (here `nft flush ruleset`), the same command applies it again. Before, every run loaded
/// the ruleset and left it unconfirmed (the timer of `examples/systemd` applied only when
/// names moved, so after a reboot the gateway stayed without its ruleset).
#[test]
fn an_apply_that_changes_nothing_loads_nothing() {
    let Some((lab, _server, state)) = lab("nc") else {
        return;
    };
    let (code, out, err) = new_ruleset(&lab, state.path(), "nftables", &["--auto-confirm"]);
    assert_eq!(code, 0, "{out}{err}");
    let handles = |lab: &Lab| lab.sh(&lab.gw, "nft -a list table inet fwgen");
    let (loaded, status) = (
        handles(&lab),
        apply(&lab, state.path(), &["--status"], None).1,
    );
    let (code, out, err) = new_ruleset(&lab, state.path(), "nftables", &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("no change: the live nftables ruleset is already this one"),
        "{err}"
    );
    assert!(
        err.contains("proven live: 13 entries: 13 admitted"),
        "{err}"
    );
    assert!(!err.contains("not confirmed yet"), "{err}");
    assert_eq!(handles(&lab), loaded, "not loaded again");
    assert_eq!(apply(&lab, state.path(), &["--status"], None).1, status);
    lab.sh(&lab.gw, "nft flush ruleset");
    let (code, out, err) = new_ruleset(&lab, state.path(), "nftables", &["--auto-confirm"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("applied and proven live"), "{err}");
    assert_eq!(reach(&lab), (true, false), "applied again");
}
