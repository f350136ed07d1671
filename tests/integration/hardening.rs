//! Hostile and broken input: a clear error or a bounded success, never a hang, an OOM kill, a
//! panic or a damaged output file.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{fwgen, ok};

/// Run fwgen under `ulimit -v` (address space, KiB) and a wall-clock bound.
fn bounded(args: &[&str], kib: u64, secs: u64) -> (i32, String, Duration) {
    let bin = env!("CARGO_BIN_EXE_fwgen");
    let quoted: Vec<String> = crate::util::allowing_unbound(args)
        .iter()
        .map(|a| format!("'{a}'"))
        .collect();
    let script = format!(
        "ulimit -v {kib}; exec timeout {secs} {bin} {}",
        quoted.join(" ")
    );
    let start = Instant::now();
    let out = Command::new("sh")
        .args(["-c", &script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        start.elapsed(),
    )
}

#[test]
fn absurd_nesting_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "flow.yaml",
            format!("product: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        (
            "maps.yaml",
            format!(
                "product: {}1{}\n",
                "{a: ".repeat(50_000),
                "}".repeat(50_000)
            ),
        ),
        (
            "indent.yaml",
            format!("product:\n{}x: 1\n", " ".repeat(10_000)),
        ),
        // An apostrophe inside a plain scalar is no quote: the brackets after it count.
        // (It hid them from the guard: a 320 KB site took over two minutes.)
        (
            "apostrophe.yaml",
            format!(
                "features: [it's, {}x{}]\n",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ),
        (
            "apostrophe-dash.yaml",
            format!(
                "features: [a- 'b, {}x{}]\n",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ),
    ] {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        let (code, stderr, took) = bounded(&["validate", f.to_str().unwrap()], 1_000_000, 20);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(
            stderr.contains("levels deep") || stderr.contains("indented"),
            "{name}: {stderr}"
        );
        assert!(took < Duration::from_secs(5), "{name} took {took:?}");
    }
}

#[test]
fn yaml_alias_bombs_are_refused_with_bounded_memory() {
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (prev, name) in "abcdefghi".chars().zip("bcdefghij".chars()) {
        bomb.push_str(&format!("{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    // The classic bomb, and the same aliases aimed at fields that take lists.
    let cases = [
        (
            "catalogue.yaml",
            format!("{bomb}product: *j\n"),
            vec!["validate"],
        ),
        (
            "notes.yaml",
            "notes: [&a [x, x, x, x], &b [*a, *a, *a, *a], &c [*b, *b, *b, *b], *c, *c, *c]\n"
                .to_string(),
            vec!["validate"],
        ),
        (
            "site.yaml",
            format!(
                "features: &a [snmp, snmp, snmp, snmp]\nroles: {{dns-servers: [*a, *a, *a]}}\n{}",
                "product: icap-gateway\n"
            ),
            vec!["generate", "-b", "json", "--site"],
        ),
    ];
    for (name, text, cmd) in cases {
        let f = dir.path().join(name);
        std::fs::write(&f, text).unwrap();
        let mut args = cmd.clone();
        args.push(f.to_str().unwrap());
        let (code, stderr, took) = bounded(&args, 500_000, 20);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stderr.starts_with("error: "), "{name}: {stderr}");
        assert!(took < Duration::from_secs(5), "{name} took {took:?}");
    }
}

#[test]
fn oversized_files_are_refused_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("huge.yaml");
    std::fs::File::create(&f)
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap(); // sparse: no disk used
    let (code, stderr, took) = bounded(&["validate", f.to_str().unwrap()], 200_000, 20);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("file is 104857600 bytes; the limit is 16777216"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(2));
    let (code, stderr, _) = bounded(
        &["generate", "-b", "json", "--site", f.to_str().unwrap()],
        200_000,
        20,
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("the limit is 16777216"), "{stderr}");
}

/// A site whose admin role has a million addresses (13 MB of YAML).
pub(crate) fn million_site(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let mut addrs = Vec::with_capacity(1_000_000);
    'outer: for a in 0..64 {
        for b in 0..256 {
            for c in (0..256).step_by(2) {
                addrs.push(format!("10.{a}.{b}.{c}"));
                if addrs.len() == 1_000_000 {
                    break 'outer;
                }
            }
        }
    }
    let f = dir.join("million.yaml");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&f).unwrap());
    write!(
        w,
        "product: icap-gateway\ngateway: [192.0.2.10]\nroles:\n  admin-clients: [{}]\n",
        addrs.join(", ")
    )
    .unwrap();
    let last = addrs.pop().unwrap();
    (f, last)
}

#[test]
fn a_million_addresses_render_to_nftables_within_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (site, last) = million_site(dir.path());
    let out = dir.path().join("million.nft");
    // 1.5 GiB of address space is a hard ceiling (a release build peaks near 190 MB).
    let (code, stderr, _) = bounded(
        &[
            "generate",
            "--site",
            site.to_str().unwrap(),
            "-b",
            "nftables",
            "-o",
            out.to_str().unwrap(),
        ],
        1_500_000,
        240,
    );
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains(&format!(" {last},")) || text.contains(&format!(" {last} }}")),
        "the last address {last} is in the set"
    );
    assert_eq!(
        text.matches("ip saddr @addr_1_v4 tcp dport 443 accept")
            .count(),
        1,
        "one rule for the whole group"
    );
}

#[test]
fn output_to_places_that_cannot_take_it() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (dir.path().join("missing/dir/x.json"), "does not exist"),
        (dir.path().to_path_buf(), "it is a directory"),
        (
            "/sys/fwgen-test.json".into(),
            "cannot write `/sys/fwgen-test.json`",
        ),
        ("/proc/version".into(), "cannot write `/proc/version`"),
    ];
    for (path, expect) in cases {
        let r = fwgen(&[
            "generate",
            "-p",
            "icap-gateway",
            "-b",
            "json",
            "-o",
            path.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 2, "{}: {}", path.display(), r.stderr);
        assert!(
            r.stderr.contains(expect),
            "{}: {}",
            path.display(),
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"));
    }
    // A read-only directory (for a non-root user; root writes anyway, so only check no panic).
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    let r = fwgen(&[
        "generate",
        "-p",
        "icap-gateway",
        "-b",
        "json",
        "-o",
        ro.join("x.json").to_str().unwrap(),
    ]);
    if !crate::util::is_root() {
        assert_eq!(r.code, 2);
        assert!(r.stderr.contains("cannot write"), "{}", r.stderr);
    }
    assert!(!r.stderr.contains("panicked"));
}

#[test]
fn non_utf8_paths_bom_and_crlf_are_handled() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join(OsStr::from_bytes(b"site-\xff.yaml"));
    std::fs::write(&site, "\u{feff}product: icap-gateway\r\nfeatures: [snmp]\r\nroles:\r\n  dns-servers: [192.0.2.53]\r\n").unwrap();
    let out = dir.path().join(OsStr::from_bytes(b"out-\xfe.json"));
    let st = Command::new(env!("CARGO_BIN_EXE_fwgen"))
        .args(["generate", "--allow-unbound"])
        .arg("--site")
        .arg(&site)
        .args(["-b", "json", "-o"])
        .arg(&out)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        json["features"],
        serde_json::json!(["clearswift-ntp", "snmp"])
    );
    let dns = crate::util::rule_for(&json, "dns-internal");
    assert_eq!(dns["remote"], serde_json::json!(["192.0.2.53/32"]));
}

#[test]
fn staged_rollout_policy_accept_is_loud_and_loads() {
    for backend in [
        "nftables",
        "iptables",
        "firewalld",
        "cisco-ios",
        "cisco-asa",
    ] {
        let out = ok(&[
            "generate",
            "--site",
            "examples/site.yaml",
            "-b",
            backend,
            "--policy",
            "accept",
        ]);
        assert!(out.contains("POLICY ACCEPT: STAGED ROLL-OUT"), "{backend}");
    }
    let nft = ok(&[
        "generate",
        "--site",
        "examples/site.yaml",
        "-b",
        "nftables",
        "--placement",
        "host",
        "--policy",
        "accept",
    ]);
    assert!(nft.contains("type filter hook input priority filter; policy accept;"));
    assert!(!nft.contains("policy drop"));
    let ios = ok(&[
        "generate",
        "--site",
        "examples/site.yaml",
        "-b",
        "cisco-ios",
        "--policy",
        "accept",
    ]);
    assert!(ios.contains(" permit ip any any") && !ios.contains(" deny ip any any"));
    if crate::util::have_tools(crate::tools::LOADERS) {
        for backend in ["nftables", "iptables"] {
            let dir = tempfile::tempdir().unwrap();
            for f in crate::tools::generate_into(
                dir.path(),
                &[
                    "generate",
                    "--site",
                    "examples/site.yaml",
                    "-b",
                    backend,
                    "--placement",
                    "host",
                    "--policy",
                    "accept",
                    "--log-drops",
                ],
            ) {
                crate::tools::check_with_real_tool(&f);
            }
        }
    }
}

const THREE_HOSTS: &str = "tests/fixtures/catalogue/three-hosts.yaml";

#[test]
fn a_host_ruleset_without_administration_warns_about_lockout() {
    // The gateway: in its words (web interface, SSH console).
    let r = fwgen(&[
        "--catalogue",
        THREE_HOSTS,
        "generate",
        "-p",
        "three-hosts",
        "--no-default-features",
        "--placement",
        "host",
        "-b",
        "nftables",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stderr.contains("lock you out"),
        "the gateway admits its web interface: {}",
        r.stderr
    );
    // Another Linux host of the product: in its own words, never the gateway's.
    let r = fwgen(&[
        "--catalogue",
        THREE_HOSTS,
        "generate",
        "-p",
        "three-hosts",
        "-c",
        "relay",
        "--placement",
        "host",
        "-b",
        "nftables",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("drops what it does not admit on `relay` (A Linux relay host)")
            && r.stderr.contains("can lock you out"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("gateway"), "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "# warning: host placement: this ruleset drops what it does not admit on relay"
        )
    );
    // Not when the web interface is admitted, nor in perimeter placement, nor when staged,
    // nor for the Windows Firewall script (which keeps the host's default actions).
    for args in [
        &[
            "generate",
            "-p",
            "icap-gateway",
            "--placement",
            "host",
            "-b",
            "nftables",
        ][..],
        &[
            "--catalogue",
            THREE_HOSTS,
            "generate",
            "-p",
            "three-hosts",
            "-c",
            "relay",
            "--gateway",
            "192.0.2.1",
            "-b",
            "nftables",
        ],
        &[
            "--catalogue",
            THREE_HOSTS,
            "generate",
            "-p",
            "three-hosts",
            "-c",
            "relay",
            "--placement",
            "host",
            "--policy",
            "accept",
            "-b",
            "nftables",
        ],
        &[
            "generate",
            "-p",
            "exchange-gateway",
            "-c",
            "exchange-server",
            "--placement",
            "host",
            "-b",
            "windows",
        ],
    ] {
        let r = fwgen(args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("lock you out"), "{args:?}: {}", r.stderr);
    }
}

/// A device or FIFO has no length: the 16 MiB input limit still holds (it read `/dev/zero`
/// until memory ran out).
///
/// See: issue "Safe to run as root and in CI", weak points.
#[test]
fn inputs_without_a_length_are_bounded_too() {
    let (code, stderr, took) = bounded(
        &["generate", "--site", "/dev/zero", "-b", "json"],
        1_000_000,
        20,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("the limit is 16777216"), "{stderr}");
    assert!(took < Duration::from_secs(20));
}

/// An IPv4 address written as IPv6 would filter IPv6 packets only: refused with the IPv4 form.
#[test]
fn ipv4_mapped_ipv6_addresses_are_refused() {
    let r = fwgen(&[
        "generate",
        "-p",
        "icap-gateway",
        "--gateway",
        "::ffff:192.0.2.25",
        "-b",
        "nftables",
        "--strict",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("write `192.0.2.25`"), "{}", r.stderr);
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    std::fs::write(
        &site,
        "product: icap-gateway\nroles:\n  dns-servers: [\"::1.2.3.4\"]\n",
    )
    .unwrap();
    let r = fwgen(&["generate", "--site", site.to_str().unwrap(), "-b", "json"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("site.yaml:3") && r.stderr.contains("write `1.2.3.4`"),
        "{}",
        r.stderr
    );
}

/// Aliases of a large string are no type error, and each repeats the string: bounded by the
/// number of aliases times the file's size, refused before parsing.
///
/// See: issue "Safe to run as root and in CI", item 10.
#[test]
fn aliases_of_a_large_string_are_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("site.yaml");
    let big = "x".repeat(1_000_000);
    let aliases = vec!["*s"; 2_000].join(", ");
    std::fs::write(
        &f,
        format!("product: &s \"{big}\"\nfeatures: [{aliases}]\n"),
    )
    .unwrap();
    let (code, stderr, took) = bounded(
        &["generate", "--site", f.to_str().unwrap(), "-b", "json"],
        500_000,
        20,
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("2000 aliases"), "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

/// A long `implies` chain: validation used to take each feature's closure with linear
/// look-ups (cubic in the number of features); 3,000 features now validate at once.
///
/// See: issue "Safe to run as root and in CI", item 10.
#[test]
fn a_long_implies_chain_validates_in_linear_time() {
    let n = 3_000;
    let mut y = String::from(
        "product: chain\ntitle: Chain\nversion: \"1\"\ndocument: {file: x.txt, title: x}\ncomponents:\n  - {id: gateway, description: g}\nfeatures:\n",
    );
    for i in 0..n {
        let implies = if i + 1 < n {
            format!(", implies: [f{}]", i + 1)
        } else {
            String::new()
        };
        y.push_str(&format!(
            "  - {{id: f{i}, description: d, default: false{implies}}}\n"
        ));
    }
    y.push_str(&format!("entries:\n  - {{id: e, description: d, protocols: [tcp], ports: [80], directions: [out], peer: any, feature: f{}, source: {{section: s, row: r, line: 1}}}}\n", n - 1));
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("chain.yaml");
    std::fs::write(&f, y).unwrap();
    // A hang guard, not a timing: the cubic version needed minutes.
    let (code, stderr, _) = bounded(&["validate", f.to_str().unwrap()], 1_000_000, 20);
    assert_eq!(code, 0, "{stderr}");
}
