//! Every generated ruleset is loaded by the real tools: `nft -c -f` (checked by the kernel) and
//! a real `iptables-restore`/`ip6tables-restore` into a throwaway network namespace (`--test`
//! alone misses jumps to missing chains). Skips loudly when the tools are missing; fails
//! under `FWGEN_REQUIRE_VALIDATORS=1`.

use std::path::Path;

use fwgen::render::Placement;

use crate::util::{fwgen, have_tools, in_throwaway_netns};

/// Every (product, version, component).
pub fn targets() -> Vec<(String, String, String)> {
    let cat = fwgen::catalogue::load_embedded().unwrap();
    let mut out = Vec::new();
    for p in cat.products.values() {
        for v in p.versions.values() {
            for c in &v.components {
                out.push((p.id.clone(), v.version.to_string(), c.id.clone()));
            }
        }
    }
    out
}

/// Generate into `dir` and return the files written.
pub fn generate_into(dir: &Path, args: &[&str]) -> Vec<std::path::PathBuf> {
    let mut all = args.to_vec();
    let d = dir.to_str().unwrap();
    all.extend(["--output-dir", d]);
    let r = fwgen(&all);
    assert_eq!(r.code, 0, "fwgen {all:?}: {}", r.stderr);
    // The ruleset's files; `.fwgen.files` is fwgen's list of them, nothing to load.
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.ends_with(fwgen::output::OWNED_LIST))
        .collect();
    files.sort();
    files
}

/// What [`check_with_real_tool`] runs: every test that loads rulesets checks for these.
pub const LOADERS: &[&str] = &[
    "nft",
    "iptables-restore",
    "ip6tables-restore",
    "ipset",
    "unshare",
];

/// Load a generated file with the real tool; panics with the tool's message on failure.
/// iptables files are loaded after the `ipsets` beside them, as a user does.
pub fn check_with_real_tool(file: &Path) {
    let f = file.to_str().unwrap();
    let ipsets = file.with_file_name("ipsets");
    let ipsets = ipsets.to_str().unwrap();
    let script = |tool: &str| format!("ipset restore -file '{ipsets}' && {tool} '{f}'");
    let cmd: Vec<String> = match file.file_name().and_then(|n| n.to_str()) {
        Some("ruleset.nft") => ["nft", "-c", "-f", f].map(String::from).to_vec(),
        Some("ipsets") => ["ipset", "restore", "-file", f].map(String::from).to_vec(),
        Some("rules.v4") => vec!["sh".into(), "-c".into(), script("iptables-restore")],
        Some("rules.v6") => vec!["sh".into(), "-c".into(), script("ip6tables-restore")],
        other => panic!("unexpected output file {other:?}"),
    };
    let cmd: Vec<&str> = cmd.iter().map(String::as_str).collect();
    let out = in_throwaway_netns(&cmd);
    assert!(
        out.status.success(),
        "{cmd:?} rejected {f}:\n{}\n--- file ---\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(file).unwrap_or_default()
    );
}

/// Check every file of a generated output directory that a real tool can load: the nft
/// script, the ipsets and iptables files, a firewalld configuration (`zones/`), the Windows
/// Firewall script (PowerShell's grammar). Files no tool here reads (Cisco lists, reviews)
/// are left to their own tests.
pub fn check_with_real_tools(dir: &Path) {
    let mut firewalld = false;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        match p.file_name().and_then(|n| n.to_str()) {
            Some("ruleset.nft" | "ipsets" | "rules.v4" | "rules.v6") => check_with_real_tool(&p),
            Some("zones") => firewalld = true,
            Some("windows-firewall.ps1") => {
                crate::powershell::check_file(&p);
            }
            // An Aerleon export (firewalld has a `policies/` too, of its own): Aerleon's own
            // aclgen writes every target from it.
            Some("policies") if p.join("pol").is_dir() => {
                if let Some(aclgen) = crate::aerleon::aclgen() {
                    let dir = p.parent().unwrap();
                    let copy = tempfile::tempdir().unwrap();
                    for sub in ["policies/pol", "def"] {
                        std::fs::create_dir_all(copy.path().join(sub)).unwrap();
                        for f in std::fs::read_dir(dir.join(sub)).unwrap() {
                            let f = f.unwrap().path();
                            std::fs::copy(&f, copy.path().join(sub).join(f.file_name().unwrap()))
                                .unwrap();
                        }
                    }
                    crate::aerleon::run_aclgen(&aclgen, copy.path());
                }
            }
            _ => {}
        }
    }
    if firewalld {
        check_firewalld_dir(dir);
    }
}

/// The operating system of a component's host.
pub fn platform(product: &str, version: &str, component: &str) -> fwgen::model::Platform {
    let cat = fwgen::catalogue::load_embedded().unwrap();
    let pv = &cat.products[product]
        .versions
        .values()
        .find(|v| v.version.to_string() == version)
        .unwrap();
    pv.components
        .iter()
        .find(|c| c.id == component)
        .unwrap()
        .platform
}

/// `generate` arguments for every (product, version, component) × {default, all features} ×
/// {perimeter, host} that `backend` writes (host rulesets only for hosts of its platforms),
/// with a dual-stack gateway; `extra` is appended.
pub fn matrix(backend: &str, extra: &[&str]) -> Vec<Vec<String>> {
    let d = crate::util::description(backend);
    let mut out = Vec::new();
    for (p, v, c) in targets() {
        let platform = platform(&p, &v, &c);
        for features in [None, Some("--all-features")] {
            for placement in [Placement::Perimeter, Placement::Host] {
                if !d.fits(placement, platform) {
                    continue;
                }
                let placement = placement.name();
                let mut args: Vec<String> = [
                    "generate",
                    "-p",
                    &p,
                    "-V",
                    &v,
                    "-c",
                    &c,
                    "-b",
                    backend,
                    "--placement",
                    placement,
                ]
                .iter()
                .map(|s| s.to_string())
                .collect();
                args.extend(
                    ["--gateway", "192.0.2.1", "--gateway", "2001:db8::1"].map(String::from),
                );
                args.extend(features.map(String::from));
                args.extend(extra.iter().map(|s| s.to_string()));
                out.push(args);
            }
        }
    }
    out
}

#[test]
fn real_tools_accept_every_product_version_component_feature_set_and_placement() {
    if !have_tools(LOADERS) {
        return;
    }
    let mut checked = 0;
    for backend in ["nftables", "iptables"] {
        for args in matrix(backend, &[]) {
            let dir = tempfile::tempdir().unwrap();
            for file in generate_into(
                dir.path(),
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
            ) {
                check_with_real_tool(&file);
                checked += 1;
            }
        }
    }
    // 6 (product, version, component) × 2 feature sets × 2 placements, less the Exchange
    // Server's own firewall (Windows), × 4 files (ruleset.nft; ipsets, rules.v4, rules.v6).
    assert_eq!(checked, (6 * 2 * 2 - 2) * 4);
}

/// `firewall-offline-cmd --check-config` on a generated configuration directory (with the
/// installed `firewalld.conf` copied in, as firewalld warns without one); any ERROR or WARNING
/// in its output fails too, since it only warns about e.g. a v6 entry in an IPv4 ipset.
pub fn check_firewalld_dir(dir: &Path) {
    std::fs::copy("/etc/firewalld/firewalld.conf", dir.join("firewalld.conf"))
        .expect("firewalld.conf is installed");
    let d = dir.to_str().unwrap();
    let mut cmd = vec![
        "firewall-offline-cmd",
        "--system-config",
        d,
        "--check-config",
    ];
    if !crate::util::is_root() {
        cmd.insert(0, "-r");
        cmd.insert(0, "unshare");
    }
    let out = std::process::Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !text.contains("ERROR") && !text.contains("WARNING"),
        "firewall-offline-cmd rejected {d} (rc {:?}):\n{text}",
        out.status.code()
    );
}

#[test]
fn firewalld_accepts_every_product_version_component_feature_set_and_placement() {
    if !have_tools(&["firewall-offline-cmd"]) {
        return;
    }
    let mut checked = 0;
    for args in matrix("firewalld", &["--log-drops"]) {
        let dir = tempfile::tempdir().unwrap();
        let files = generate_into(
            dir.path(),
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert!(files.iter().any(|f| f.ends_with("zones")), "{files:?}");
        check_firewalld_dir(dir.path());
        checked += 1;
    }
    assert_eq!(checked, 6 * 2 * 2 - 2);
}

#[test]
fn firewalld_check_catches_broken_configurations() {
    if !have_tools(&["firewall-offline-cmd"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    generate_into(
        dir.path(),
        &[
            "generate",
            "--site",
            "examples/site.yaml",
            "-b",
            "firewalld",
        ],
    );
    let svc = dir.path().join("services/fwgen-in-1.xml");
    let text = std::fs::read_to_string(&svc).unwrap();
    std::fs::write(&svc, text.replace("port=\"25\"", "port=\"99999\"")).unwrap();
    assert!(
        std::panic::catch_unwind(|| check_firewalld_dir(dir.path())).is_err(),
        "port 99999 was accepted"
    );
}

#[test]
fn log_drops_and_extra_gateway_addresses_load_too() {
    if !have_tools(LOADERS) {
        return;
    }
    for backend in ["nftables", "iptables"] {
        for placement in ["perimeter", "host"] {
            let dir = tempfile::tempdir().unwrap();
            let args = [
                "generate",
                "--site",
                "examples/site.yaml",
                "--gateway",
                "198.18.0.9",
                "-b",
                backend,
                "--placement",
                placement,
                "--log-drops",
            ];
            for file in generate_into(dir.path(), &args) {
                let text = std::fs::read_to_string(&file).unwrap();
                assert!(
                    file.ends_with("ipsets") || text.contains("fwgen drop"),
                    "{}: no log rule",
                    file.display()
                );
                check_with_real_tool(&file);
            }
        }
    }
}

#[test]
fn nft_script_replaces_only_its_own_table_and_loads_again_and_again() {
    if !have_tools(&["nft", "unshare"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = generate_into(
        dir.path(),
        &["generate", "--site", "examples/site.yaml", "-b", "nftables"],
    );
    let f = files[0].to_str().unwrap();
    let script = format!(
        "nft add table inet other && nft add chain inet other keep && nft -f {f} && nft -f {f} && nft -f {f} && nft list tables"
    );
    let out = in_throwaway_netns(&["sh", "-c", &script]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tables = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        tables.trim(),
        "table inet other\ntable inet fwgen",
        "{tables}"
    );
}

#[test]
fn perimeter_placement_without_a_gateway_address_says_how_to_give_one() {
    for backend in ["nftables", "iptables"] {
        let r = fwgen(&["generate", "-p", "icap-gateway", "-b", backend]);
        assert_eq!(r.code, 2);
        assert!(r.stderr.contains("perimeter placement needs the gateway's address: add `gateway: [ADDR]` to the site file or pass `--gateway ADDR`"), "{}", r.stderr);
    }
}

/// The checks above can fail: files the tools must refuse are refused.
#[test]
fn the_real_tool_checks_catch_broken_files() {
    if !have_tools(LOADERS) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let nft = dir.path().join("ruleset.nft");
    std::fs::write(
        &nft,
        "table inet t {\n\tchain c {\n\t\ttcp dport 1 accept comment \"a\\\"b\"\n\t}\n}\n",
    )
    .unwrap();
    // Beside a valid ipsets file: a jump to a missing chain, and a match on a missing set.
    std::fs::write(
        dir.path().join("ipsets"),
        "create fwgen-addr-1-v4 hash:net family inet -exist\n",
    )
    .unwrap();
    let v4 = dir.path().join("rules.v4");
    std::fs::write(
        &v4,
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j NOSUCHCHAIN\nCOMMIT\n",
    )
    .unwrap();
    let v6 = dir.path().join("rules.v6");
    std::fs::write(
        &v6,
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set fwgen-addr-2-v6 src -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    // The control: a match on the set that exists loads.
    let control = dir.path().join("control");
    std::fs::create_dir(&control).unwrap();
    std::fs::copy(dir.path().join("ipsets"), control.join("ipsets")).unwrap();
    std::fs::write(
        control.join("rules.v4"),
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m set --match-set fwgen-addr-1-v4 src -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    check_with_real_tool(&control.join("rules.v4"));
    for f in [nft, v4, v6] {
        let caught = std::panic::catch_unwind(|| check_with_real_tool(&f));
        assert!(caught.is_err(), "{} was accepted", f.display());
    }
}

/// Traffic between two of the gateway's own addresses through a perimeter firewall: iptables
/// jumped per address (`-d GW1`, `-s GW1`, `-d GW2`, …), so GW1 -> GW2 met GW1's outbound
/// rules first, while nftables decides by the inbound rules (`ip daddr @gateway` first). Now
/// both decide it by the inbound rules: the same verdict for every such packet.
///
/// See: issue "Safe to run as root and in CI", weak points.
#[test]
fn traffic_between_two_gateway_addresses_gets_one_verdict_everywhere() {
    use crate::eval::{Packet, eval_iptables, parse_iptables, parse_nft};
    // No site: outbound rules to any address (unbound peers) where no inbound rule is.
    let args = [
        "generate",
        "-p",
        "icap-gateway",
        "--gateway",
        "192.0.2.25",
        "--gateway",
        "192.0.2.26",
    ];
    let dir = tempfile::tempdir().unwrap();
    let files = generate_into(dir.path(), &[&args[..], &["-b", "iptables"]].concat());
    let read = |name: &str| {
        std::fs::read_to_string(files.iter().find(|f| f.ends_with(name)).unwrap()).unwrap()
    };
    let ipt = parse_iptables(&read("rules.v4"), &read("ipsets"));
    let nft = parse_nft(&crate::util::ok(&[&args[..], &["-b", "nftables"]].concat()));
    let (a, b): (std::net::IpAddr, std::net::IpAddr) =
        ("192.0.2.25".parse().unwrap(), "192.0.2.26".parse().unwrap());
    let mut compared = 0;
    let mut differs = Vec::new();
    for (src, dst) in [(a, b), (b, a)] {
        for proto in ["tcp", "udp"] {
            for dport in [
                22, 25, 53, 80, 123, 161, 389, 443, 514, 636, 3389, 9000, 19200,
            ] {
                let p = Packet {
                    proto,
                    src,
                    sport: 40000,
                    dst,
                    dport,
                    ack: false,
                };
                let i = eval_iptables(&ipt, "FORWARD", &p).unwrap_or(true);
                let n = nft.eval("forward", &p).unwrap_or(true);
                if i != n {
                    differs.push(format!("{p:?}: iptables {i}, nftables {n}"));
                }
                compared += 1;
            }
        }
    }
    assert!(differs.is_empty(), "{}", differs.join("\n"));
    assert_eq!(compared, 52);
}
