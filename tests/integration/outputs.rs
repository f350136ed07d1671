//! Where output goes: regular files are replaced atomically, links stay links, devices and
//! FIFOs are written through (never replaced, never read), `-o -` is standard output, and a
//! failed write to standard output is an error.
//!
//! See: issue "Safe to run as root and in CI", items 1 and 2.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{is_root, missing};

/// A product's whole selection, no site file: its peers stay unbound (allowed here).
const ARGS: [&str; 6] = [
    "generate",
    "--allow-unbound",
    "-p",
    "icap-gateway",
    "-b",
    "json",
];

/// `fwgen generate … -o PATH EXTRA…`, failing (not hanging) if it takes over 20 s: a FIFO or
/// a pipe that fwgen reads instead of writing blocks for ever.
fn generate_to(path: &Path, extra: &[&str]) -> crate::util::Run {
    let mut args = ARGS.to_vec();
    args.extend(["-o", path.to_str().unwrap()]);
    args.extend(extra);
    let child = Command::new("timeout")
        .arg("20")
        .arg(env!("CARGO_BIN_EXE_fwgen"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let code = child.status.code().unwrap_or(-1);
    assert_ne!(code, 124, "fwgen {args:?} hangs");
    crate::util::Run {
        code,
        stdout: String::from_utf8_lossy(&child.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&child.stderr).into_owned(),
    }
}

/// Run fwgen with `stdout` as its standard output; give up (and fail) after 20 s.
fn run_with_stdout(args: &[&str], stdout: Stdio) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fwgen"))
        .args(crate::util::allowing_unbound(args))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.code().unwrap_or(-1), err);
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("fwgen {args:?} hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_symlinked_output_keeps_its_link_and_replaces_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("etc/nftables.conf.d/real.json");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::write(&real, "old\n").unwrap();
    let link = dir.path().join("nftables.json");
    std::os::unix::fs::symlink("etc/nftables.conf.d/real.json", &link).unwrap();
    let r = generate_to(&link, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced by a file"
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(text.contains("\"generator\": \"fwgen "), "{text}");
    // Up to date through the link.
    let r = generate_to(&link, &["--check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A link to nothing yet: the file is created where it points.
    let dangling = dir.path().join("dangling.json");
    std::os::unix::fs::symlink("etc/new.json", &dangling).unwrap();
    std::fs::create_dir_all(dir.path().join("etc")).unwrap();
    assert_eq!(generate_to(&dangling, &[]).code, 0);
    assert!(
        std::fs::symlink_metadata(&dangling)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(dir.path().join("etc/new.json").is_file());
}

#[test]
fn a_replaced_file_never_keeps_set_id_bits() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("rules.json");
    std::fs::write(&f, "old\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o6755)).unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("rules.json", &link).unwrap();
    assert_eq!(generate_to(&link, &[]).code, 0);
    let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o7777;
    assert_eq!(
        mode, 0o755,
        "permission bits kept, set-id bits dropped: {mode:o}"
    );
}

#[test]
fn a_new_file_is_0644_and_a_replaced_one_keeps_its_permission_bits_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.json");
    let old = dir.path().join("old.json");
    std::fs::write(&old, "old\n").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o640)).unwrap();
    for (path, expect) in [(&new, 0o644), (&old, 0o640)] {
        // Under umask 077, which would make a file created with 0644 0600.
        let mut args = ARGS.to_vec();
        args.extend(["-o", path.to_str().unwrap()]);
        let status = Command::new("sh")
            .arg("-c")
            .arg("umask 077 && exec \"$@\"")
            .arg("sh")
            .arg(env!("CARGO_BIN_EXE_fwgen"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, expect, "{}: {mode:o}", path.display());
    }
}

#[test]
fn a_fifo_is_written_through_and_never_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let r = generate_to(&fifo, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = reader.join().unwrap();
    assert!(text.starts_with("{\n  \"generator\": \"fwgen "), "{text}");
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    // Nothing to compare with: --check on a FIFO is an error, and it does not block.
    let r = generate_to(&fifo, &["--check"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("device or a FIFO"), "{}", r.stderr);
}

#[test]
fn a_character_device_is_written_through_and_never_replaced() {
    // A null device of the test's own (mknod needs root), never the system's /dev/null.
    if !is_root() {
        missing("mknod needs root for the character-device output test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let null = dir.path().join("null");
    let made = Command::new("mknod")
        .arg(&null)
        .args(["c", "1", "3"])
        .status()
        .unwrap();
    assert!(made.success());
    let r = generate_to(&null, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let meta = std::fs::symlink_metadata(&null).unwrap();
    assert!(
        meta.file_type().is_char_device(),
        "the device was replaced by a file"
    );
    // A block device is refused outright.
    let block = dir.path().join("block");
    let made = Command::new("mknod")
        .arg(&block)
        .args(["b", "7", "250"])
        .status()
        .unwrap();
    assert!(made.success());
    let r = generate_to(&block, &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("it is a block device"), "{}", r.stderr);
}

#[test]
fn dev_stdout_into_a_pipe_and_dash_write_standard_output() {
    for out in ["/dev/stdout", "-"] {
        let mut args = ARGS.to_vec();
        args.extend(["-o", out]);
        let child = Command::new("timeout")
            .arg("20")
            .arg(env!("CARGO_BIN_EXE_fwgen"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert_ne!(output.status.code(), Some(124), "-o {out} hangs");
        assert!(output.status.success(), "-o {out}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.starts_with("{\n  \"generator\""), "-o {out}: {text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let r = crate::util::fwgen_in(dir.path(), &[&ARGS[..], &["-o", "-", "--check"]].concat());
    assert_eq!(r.code, 2, "--check needs files: {}", r.stderr);
    assert!(
        !dir.path().join("-").exists(),
        "`-o -` wrote a file named `-`"
    );
}

#[test]
fn a_failed_write_to_standard_output_is_an_error() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let (code, stderr) = run_with_stdout(&ARGS, Stdio::from(full));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output"),
        "{stderr}"
    );
    // A closed pipe stays quiet: cli::a_closed_pipe_is_not_an_error.
}

#[test]
fn check_never_prints_a_file_that_fwgen_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.json");
    std::fs::write(&secret, "TOKEN=hunter2\n").unwrap();
    let r = generate_to(&secret, &["--check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
    assert!(r.stderr.contains("is not an fwgen file"), "{}", r.stderr);
    // An older fwgen file is shown as a diff.
    assert_eq!(generate_to(&secret, &[]).code, 0);
    let old = std::fs::read_to_string(&secret).unwrap();
    std::fs::write(&secret, old.replace("\"icap-gateway\"", "\"old-gateway\"")).unwrap();
    let r = generate_to(&secret, &["--check"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("-  \"product\": \"old-gateway\""),
        "{}",
        r.stderr
    );
}

/// A manifest (perhaps from a pull request) names only paths inside its own directory:
/// `build --check` printed `/proc/self/environ` or `../secret` as a diff into CI logs.
///
/// See: issue "Safe to run as root and in CI", item 5.
#[test]
fn a_manifest_stays_inside_its_directory() {
    let outer = tempfile::tempdir().unwrap();
    std::fs::write(outer.path().join("secret"), "TOKEN=hunter2\n").unwrap();
    let dir = outer.path().join("repo");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(outer.path(), dir.join("up")).unwrap();
    let target = |name: &str, key: &str, value: &str| {
        let (site, output) = match key {
            "site" => (format!("\n    site: {value}"), "out.json".to_string()),
            _ => (String::new(), value.to_string()),
        };
        format!(
            "targets:\n  - name: {name}\n    product: icap-gateway{site}\n    backend: json\n    output: {output}\n"
        )
    };
    for (key, value) in [
        ("output", "/proc/self/environ"),
        ("output", "../secret"),
        ("output", "up/secret"),
        ("site", "/proc/self/environ"),
        ("site", "../secret"),
    ] {
        std::fs::write(dir.join("fwgen.yaml"), target("t", key, value)).unwrap();
        for check in [true, false] {
            let mut args = vec!["build"];
            if check {
                args.push("--check");
            }
            let r = crate::util::fwgen_in(&dir, &args);
            assert_eq!(r.code, 2, "{key} {value}: {}", r.stderr);
            assert!(
                r.stderr
                    .contains("paths stay inside the manifest's directory"),
                "{key} {value}: {}",
                r.stderr
            );
            assert!(!r.stderr.contains("hunter2") && !r.stderr.contains("PATH="));
        }
    }
    std::fs::write(
        dir.join("fwgen.yaml"),
        format!("catalogue: ../data\n{}", target("t", "output", "out.json")),
    )
    .unwrap();
    let r = crate::util::fwgen_in(&dir, &["build"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("fwgen.yaml:1: catalogue `../data`"),
        "{}",
        r.stderr
    );
    // Every path of a `catalogue:` list is held to the same rule.
    std::fs::write(dir.join("ok.yaml"), "").unwrap();
    std::fs::write(
        dir.join("fwgen.yaml"),
        format!(
            "catalogue: [ok.yaml, /proc/self/environ, ../data]\n{}",
            target("t", "output", "out.json")
        ),
    )
    .unwrap();
    let r = crate::util::fwgen_in(&dir, &["build"]);
    assert_eq!(r.code, 2);
    for bad in ["catalogue `/proc/self/environ`", "catalogue `../data`"] {
        assert!(r.stderr.contains(bad), "{bad}: {}", r.stderr);
    }
    assert!(!r.stderr.contains("catalogue `ok.yaml`"), "{}", r.stderr);
    assert!(!r.stderr.contains("PATH="), "{}", r.stderr);
    // Allowed on request: the output goes where the manifest says.
    std::fs::write(dir.join("fwgen.yaml"), target("t", "output", "../out.json")).unwrap();
    let r = crate::util::fwgen_in(&dir, &["build", "--allow-outside"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(outer.path().join("out.json").is_file());
}

/// A site path that names a file of another kind: its text is not echoed in the error.
#[test]
fn a_site_that_is_not_yaml_is_not_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("shadow");
    std::fs::write(&f, "root:$6$salt$hash:19000:0:99999:7:::\nTOKEN=hunter2\n").unwrap();
    let r = crate::util::fwgen(&["generate", "--site", f.to_str().unwrap(), "-b", "json"]);
    assert_eq!(r.code, 2);
    assert!(
        !r.stderr.contains("hunter2") && !r.stderr.contains("$6$"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("(not shown)"), "{}", r.stderr);
}

/// Two `fwgen build` runs on one manifest at the same time both succeed (one of them failed
/// with "File exists" while creating the output directories), and a failed run leaves no
/// empty directories behind.
///
/// See: issue "Safe to run as root and in CI", weak points.
#[test]
fn concurrent_builds_succeed_and_a_failed_one_leaves_no_directories() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("fwgen.yaml"),
            "targets:\n  - name: a\n    product: icap-gateway\n    backend: firewalld\n    placement: host\n    output: out/deep/fw\n  - name: b\n    product: icap-gateway\n    backend: json\n    output: out/deep/er/x.json\n",
        )
        .unwrap();
        let spawn = || {
            Command::new(env!("CARGO_BIN_EXE_fwgen"))
                .args(["build", "--allow-unbound"])
                .current_dir(dir.path())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (one, two) = (spawn(), spawn());
        for child in [one, two] {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-file"), "x\n").unwrap();
    std::fs::write(
        dir.path().join("fwgen.yaml"),
        "targets:\n  - name: a\n    product: icap-gateway\n    backend: json\n    output: new/deeper/x.json\n  - name: b\n    product: icap-gateway\n    backend: json\n    output: a-file/x.json\n",
    )
    .unwrap();
    let r = crate::util::fwgen_in(dir.path(), &["build"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        !dir.path().join("new").exists(),
        "the failed run left its directories behind"
    );
}

/// Issue 25, defect 2: an unprivileged user's link `/tmp/rules.nft -> /etc/shadow` made
/// `fwgen generate -o /tmp/rules.nft`, run as root, rename its output over `/etc/shadow`:
/// fwgen resolves links itself, so the kernel's `protected_symlinks` check (made on open)
/// never applied. In a private mount namespace on a tmpfs, with links made by uid 1000
/// (`setpriv`): another user's link in a sticky world-writable directory is not followed
/// (also as a directory on the way), nor another user's link into a directory that user
/// cannot write; root's own link, and a user's link into the user's own directory, are.
#[test]
fn root_never_writes_through_another_user_s_planted_link() {
    if !crate::util::is_root() {
        crate::util::missing("the planted-link test needs root (a mount namespace, setpriv)");
        return;
    }
    if !crate::util::have_tools(&["unshare", "setpriv", "mount"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let site = format!("{}/examples/site.yaml", env!("CARGO_MANIFEST_DIR"));
    let script = r#"
set -e
mount -t tmpfs tmpfs "$D"
mkdir "$D/tmp" "$D/etc" "$D/home"
chmod 1777 "$D/tmp"; chmod 755 "$D/etc"; chown 1000:1000 "$D/home"
echo secret > "$D/etc/shadow"; chmod 600 "$D/etc/shadow"
as_user() { setpriv --reuid 1000 --regid 1000 --clear-groups "$@"; }
as_user ln -s "$D/etc/shadow" "$D/tmp/rules.nft"
as_user ln -s "$D/etc" "$D/tmp/etcdir"
as_user ln -s ../etc/shadow "$D/home/shadow.nft"
as_user ln -s "$D/home/own.nft" "$D/home/own-link.nft"
ln -s "$D/etc/root.nft" "$D/tmp/root-link.nft"
set +e
for out in tmp/rules.nft tmp/etcdir/new.nft home/shadow.nft home/own-link.nft tmp/root-link.nft; do
  "$FWGEN" generate --allow-unbound --site "$SITE" -b nftables -o "$D/$out" 2>"$D/err"
  echo "RESULT $out $? $(head -c 300 "$D/err" | tr '\n' ' ')"
done
echo "SHADOW $(cat "$D/etc/shadow")"
echo "NEW $(test -e "$D/etc/new.nft" && echo exists || echo absent)"
echo "OWN $(head -c 40 "$D/home/own.nft" | head -1)"
echo "ROOT $(head -c 40 "$D/etc/root.nft" | head -1)"
"#;
    let out = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", script])
        .env("D", d)
        .env("SITE", &site)
        .env("FWGEN", env!("CARGO_BIN_EXE_fwgen"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}\n{err}");
    let result = |path: &str| -> (String, String) {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("RESULT {path} ")))
            .unwrap_or_else(|| panic!("no result for {path}:\n{text}\n{err}"));
        let rest = &line[format!("RESULT {path} ").len()..];
        let (code, msg) = rest.split_once(' ').unwrap_or((rest, ""));
        (code.to_string(), msg.to_string())
    };
    for refused in ["tmp/rules.nft", "tmp/etcdir/new.nft"] {
        let (code, msg) = result(refused);
        assert_eq!(code, "2", "{refused}: {msg}");
        assert!(
            msg.contains("owned by uid 1000") && msg.contains("protected_symlinks"),
            "{refused}: {msg}"
        );
    }
    let (code, msg) = result("home/shadow.nft");
    assert_eq!(code, "2", "{msg}");
    assert!(msg.contains("that user cannot write"), "{msg}");
    for allowed in ["home/own-link.nft", "tmp/root-link.nft"] {
        let (code, msg) = result(allowed);
        assert_eq!(code, "0", "{allowed}: {msg}");
    }
    assert!(text.contains("SHADOW secret\n"), "{text}");
    assert!(text.contains("NEW absent"), "{text}");
    assert!(text.contains("OWN #!/usr/sbin/nft -f"), "{text}");
    assert!(text.contains("ROOT #!/usr/sbin/nft -f"), "{text}");
}
