//! ICMP as a service of its own: a site's "ping from the SNMP managers" in every backend, the
//! real tools accepting each, live pings through nftables, iptables and a firewalld daemon,
//! and `diff` comparing ICMP types as it compares ports. (The audit's ICMP against the
//! kernel: `audit_exact`; the errors: the `invalid/` and `invalid-sites/` snapshots.)

use serde_json::Value;

use crate::live::{Lab, Probe, check, load_into, start_firewalld};
use crate::tools::{LOADERS, check_firewalld_dir, check_with_real_tool, generate_into};
use crate::util::{fwgen, have_tools, ok, rule_for};

/// The lab's ICAP Gateway with two pings of its own: from the SNMP managers (.2) in, to the
/// DNS servers (.2) out.
const SITE: &str = "tests/fixtures/sites/live-icmp.yaml";

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir`, read, with its path.
fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push((p.clone(), read(&p)));
        }
    }
    out
}

/// `fwgen generate --site SITE -b BACKEND --placement host`: the output.
fn host_output(site: &str, backend: &str) -> String {
    ok(&[
        "generate",
        "--site",
        site,
        "-b",
        backend,
        "--placement",
        "host",
    ])
}

/// The files `fwgen generate --site SITE -b BACKEND --placement PLACEMENT` writes into `dir`.
fn generate_at(
    dir: &std::path::Path,
    site: &str,
    backend: &str,
    placement: &str,
) -> Vec<std::path::PathBuf> {
    generate_into(
        dir,
        &[
            "generate",
            "--site",
            site,
            "-b",
            backend,
            "--placement",
            placement,
        ],
    )
}

/// `fwgen audit --site SITE --format json` of `rulesets` with `extra`: the report.
fn audit_json(site: &str, rulesets: &[std::path::PathBuf], extra: &[&str]) -> Value {
    let mut args = vec!["audit", "--site", site, "--format", "json"];
    for r in rulesets {
        args.extend(["--ruleset", r.to_str().unwrap()]);
    }
    args.extend(extra);
    let r = fwgen(&args);
    assert!(r.code == 0 || r.code == 1, "{args:?}: {}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

#[test]
fn nftables_and_iptables_match_each_family_s_echo_request_and_load() {
    let tools = have_tools(LOADERS);
    for placement in ["host", "perimeter"] {
        let dir = tempfile::tempdir().unwrap();
        let files = generate_at(dir.path(), SITE, "nftables", placement);
        let nft = read(&files[0]);
        for line in [
            "ip saddr @addr_1_v4 icmp type echo-request accept comment \"fwgen ping-from-snmp\"",
            "ip6 saddr @addr_2_v6 icmpv6 type echo-request accept comment \"fwgen ping-from-snmp\"",
            "ip daddr @addr_1_v4 icmp type echo-request accept comment \"fwgen ping-dns\"",
            "ip6 daddr @addr_2_v6 icmpv6 type echo-request accept comment \"fwgen ping-dns\"",
        ] {
            assert!(nft.contains(line), "{placement}: no `{line}` in\n{nft}");
        }
        let dir_ipt = tempfile::tempdir().unwrap();
        let ipt = generate_at(dir_ipt.path(), SITE, "iptables", placement);
        let text: String = ipt.iter().map(|f| read(f)).collect();
        for want in [
            "-p icmp --icmp-type 8 -m comment --comment \"fwgen ping-from-snmp\" -j ACCEPT",
            "-p ipv6-icmp --icmpv6-type 128 -m comment --comment \"fwgen ping-from-snmp\" -j ACCEPT",
            "-p icmp --icmp-type 8 -m comment --comment \"fwgen ping-dns\" -j ACCEPT",
            "-p ipv6-icmp --icmpv6-type 128 -m comment --comment \"fwgen ping-dns\" -j ACCEPT",
        ] {
            assert!(text.contains(want), "{placement}: no `{want}` in\n{text}");
        }
        if tools {
            for f in files.iter().chain(&ipt) {
                check_with_real_tool(f);
            }
        }
    }
}

#[test]
fn firewalld_writes_rich_rules_with_icmp_types_and_its_check_accepts_them() {
    for placement in ["host", "perimeter"] {
        let dir = tempfile::tempdir().unwrap();
        generate_at(dir.path(), SITE, "firewalld", placement);
        let rich: Vec<String> = all_files(dir.path())
            .into_iter()
            .flat_map(|(_, t)| {
                t.lines()
                    .map(str::trim)
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .filter(|l| l.contains("<icmp-type name=\"echo-request\"/>"))
            .collect();
        // Per direction, one rich rule per family, each from (or to) the role's ipset.
        assert_eq!(rich.len(), 4, "{placement}: {rich:#?}");
        for family in ["ipv4", "ipv6"] {
            assert!(
                rich.iter()
                    .any(|l| l.starts_with(&format!("<rule family=\"{family}\"><source ipset="))),
                "{placement} {family}: {rich:#?}"
            );
            assert!(
                rich.iter()
                    .any(|l| l
                        .starts_with(&format!("<rule family=\"{family}\"><destination ipset="))),
                "{placement} {family}: {rich:#?}"
            );
        }
        if have_tools(&["firewall-offline-cmd"]) {
            check_firewalld_dir(dir.path());
        }
    }
}

#[test]
fn cisco_lists_permit_each_echo_and_its_reply() {
    let ios = ok(&["generate", "--site", SITE, "-b", "cisco-ios"]);
    for ace in [
        " permit icmp host 198.18.0.2 host 198.18.0.1 echo",
        " permit icmp host 198.18.0.1 host 198.18.0.2 echo-reply",
        " permit icmp host 2001:db8:f::2 host 2001:db8:f::1 echo-request",
        " permit icmp host 2001:db8:f::1 host 2001:db8:f::2 echo-reply",
    ] {
        assert!(ios.lines().any(|l| l == ace), "IOS: no `{ace}` in\n{ios}");
    }
    let asa = ok(&["generate", "--site", SITE, "-b", "cisco-asa"]);
    for ace in [
        "extended permit icmp host 198.18.0.2 host 198.18.0.1 echo",
        "extended permit icmp host 198.18.0.1 host 198.18.0.2 echo-reply",
        "extended permit icmp6 host 2001:db8:f::2 host 2001:db8:f::1 echo",
        "extended permit icmp6 host 2001:db8:f::1 host 2001:db8:f::2 echo-reply",
    ] {
        assert!(
            asa.lines().any(|l| l.ends_with(ace)),
            "ASA: no `{ace}` in\n{asa}"
        );
    }
}

#[test]
fn json_and_the_reviews_name_the_icmp_types() {
    let j: Value = serde_json::from_str(&ok(&["generate", "--site", SITE, "-b", "json"])).unwrap();
    let rule = rule_for(&j, "ping-from-snmp");
    assert_eq!(rule["protocol"], "icmp", "{rule}");
    assert_eq!(
        rule["icmp_types"],
        serde_json::json!(["echo-request"]),
        "{rule}"
    );
    assert!(rule.get("ports").is_none(), "{rule}");
    let tcp = rule_for(&j, "web-ui");
    assert_eq!(tcp["protocol"], "tcp", "TCP rules keep their shape: {tcp}");
    assert!(tcp["ports"].is_array(), "{tcp}");

    let md = ok(&["generate", "--site", SITE, "-b", "markdown"]);
    assert!(
        md.lines()
            .any(|l| l
                .starts_with("| `ping-from-snmp` | icmp | echo-request | role snmp-managers |")),
        "{md}"
    );
    let html = ok(&["generate", "--site", SITE, "-b", "html"]);
    // The diagram's flow labels, each with its wrapped lines joined.
    let labels: Vec<String> = html
        .split("<text class=\"flabel\">")
        .skip(1)
        .filter_map(|t| t.split("</text>").next())
        .map(|t| {
            t.split('<')
                .filter_map(|part| part.split_once('>').map(|(_, text)| text))
                .collect()
        })
        .collect();
    assert!(
        labels.iter().any(|l| l == "udp 161; icmp echo-request"),
        "the diagram labels the ping: {labels:?}"
    );
}

#[test]
fn the_windows_firewall_gets_one_rule_per_icmp_family() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.yaml");
    let base = read(std::path::Path::new("examples/sites/exchange-server.yaml"));
    assert!(
        !base.contains("entries:"),
        "the example has no entries of its own yet"
    );
    std::fs::write(
        &site,
        format!(
            "{base}\nentries:\n  - id: ping-exchange\n    component: exchange-server\n    description: Monitoring pings the Exchange Server\n    protocols: [icmp]\n    icmp_types: [echo-request, 5/1]\n    directions: [in]\n    peer: any\n"
        ),
    )
    .unwrap();
    let site = site.to_str().unwrap();
    let ps = host_output(site, "windows");
    for want in [
        "-Protocol 'ICMPv4' `\n    -IcmpType '5:1','8' `\n    -RemoteAddress 'Any' `",
        "-Protocol 'ICMPv6' `\n    -IcmpType '128' `\n    -RemoteAddress 'Any' `",
    ] {
        assert!(ps.contains(want), "no `{want}` in\n{ps}");
    }
    let script = crate::powershell::check(&ps).unwrap_or_else(|e| panic!("{e}\n{ps}"));
    let icmp: Vec<(&str, &[(u16, u16)])> = script
        .rules
        .iter()
        .filter(|r| r.protocol.starts_with("icmp"))
        .map(|r| (r.protocol.as_str(), r.ports.as_slice()))
        .collect();
    assert_eq!(
        icmp,
        [
            ("icmp", &[(5, 1), (8, 256)][..]),
            ("icmpv6", &[(128, 256)][..])
        ]
    );
}

#[test]
fn an_icmp_type_without_a_name_is_refused_by_firewalld_and_written_as_a_number_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_with_types(dir.path(), "echo-request, 42, \"v6:200\"");
    let site = site.as_str();
    let r = fwgen(&["generate", "--site", site, "-b", "firewalld"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "firewalld cannot express ICMP type 42, which it has no name for (it names ICMP messages; use one it knows) (entries ping-from-snmp)"
        ),
        "{}",
        r.stderr
    );
    let nft = host_output(site, "nftables");
    assert!(nft.contains("icmp type { echo-request, 42 }"), "{nft}");
    assert!(nft.contains("icmpv6 type { echo-request, 200 }"), "{nft}");
}

#[test]
fn diff_compares_icmp_types_like_ports() {
    let dir = tempfile::tempdir().unwrap();
    let base = read(std::path::Path::new(
        "tests/fixtures/catalogue/minimal.yaml",
    ));
    let ping = |id: &str, types: &str| {
        format!(
            "  - id: {id}\n    description: Monitoring pings the gateway\n    protocols: [icmp]\n    icmp_types: [{types}]\n    directions: [in]\n    peer: {{role: admin-clients}}\n    source: {{section: Table 1, row: Ping, line: 2}}\n"
        )
    };
    let old = dir.path().join("old.yaml");
    let new = dir.path().join("new.yaml");
    std::fs::write(&old, format!("{base}{}", ping("ping", "echo-request"))).unwrap();
    // Renamed, and a type added: matched by what it is (ICMP from the same peer, a shared
    // type), shown as a change of types.
    std::fs::write(
        &new,
        format!(
            "{base}{}",
            ping("monitoring-ping", "echo-request, timestamp-request, 3/4")
        ),
    )
    .unwrap();
    let out = ok(&["diff", old.to_str().unwrap(), new.to_str().unwrap()]);
    for line in [
        "  > ping -> monitoring-ping",
        "      kept: icmp echo-request in role admin-clients",
        "      kept: icmpv6 echo-request in role admin-clients",
        "      added: icmp destination-unreachable/4,timestamp-request in role admin-clients",
    ] {
        assert!(out.lines().any(|l| l == line), "no `{line}` in\n{out}");
    }
}

/// Pings from the client namespace to the gateway and from the gateway to the clients: the
/// bound peer (.2) gets through, the other address (.3) does not, in both families.
fn ping_probes() -> (Vec<Probe>, Vec<Probe>) {
    let p = |src, dst, open, why| Probe {
        src,
        dst,
        proto: "icmp",
        port: 0,
        open,
        why,
    };
    (
        vec![
            p("198.18.0.2", "198.18.0.1", true, "SNMP manager"),
            p("198.18.0.3", "198.18.0.1", false, "no ping entry"),
            p("2001:db8:f::2", "2001:db8:f::1", true, "SNMP manager"),
            p("2001:db8:f::3", "2001:db8:f::1", false, "no ping entry"),
        ],
        vec![
            p("198.18.0.1", "198.18.0.2", true, "DNS server"),
            p("198.18.0.1", "198.18.0.3", false, "no ping entry"),
            p("2001:db8:f::1", "2001:db8:f::2", true, "DNS server"),
            p("2001:db8:f::1", "2001:db8:f::3", false, "no ping entry"),
        ],
    )
}

fn live_pings(backend: &str, tag: &str) {
    let lab = Lab::new(tag);
    let (inbound, outbound) = ping_probes();
    crate::live::assert_lab_works(&lab, &inbound, &outbound);

    let dir = tempfile::tempdir().unwrap();
    let files = generate_into(
        dir.path(),
        &[
            "generate",
            "--site",
            SITE,
            "-b",
            backend,
            "--placement",
            "host",
        ],
    );
    let _daemon = if backend == "firewalld" {
        Some(start_firewalld(&lab, &lab.gw, dir.path(), "fwgen"))
    } else {
        load_into(&lab, &lab.gw, &files);
        None
    };
    let mut bad = check(&lab, &lab.cli, &inbound, false);
    bad.extend(check(&lab, &lab.gw, &outbound, false));
    assert!(bad.is_empty(), "{backend}:\n{}", bad.join("\n"));
}

#[test]
fn live_pings_through_the_nftables_ruleset() {
    if crate::live::ready() {
        live_pings("nftables", "qn");
    }
}

#[test]
fn live_pings_through_the_iptables_ruleset() {
    if crate::live::ready() {
        live_pings("iptables", "qi");
    }
}

#[test]
fn live_pings_through_a_real_firewalld_daemon() {
    if crate::live::firewalld_ready() {
        live_pings("firewalld", "qf");
    }
}

/// The verdicts of the two ping entries in an audit of `rulesets` (files) against the site.
fn ping_verdicts(rulesets: &[std::path::PathBuf], extra: &[&str]) -> Vec<String> {
    ping_verdicts_of(SITE, rulesets, extra)
}

/// The same for another site file.
fn ping_verdicts_of(site: &str, rulesets: &[std::path::PathBuf], extra: &[&str]) -> Vec<String> {
    let v = audit_json(site, rulesets, extra);
    ["ping-from-snmp", "ping-dns"]
        .iter()
        .map(|id| {
            let f = v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["id"] == *id)
                .unwrap_or_else(|| panic!("no finding {id}: {v}"));
            f["verdict"].as_str().unwrap().to_string()
        })
        .collect()
}

/// `text` without the lines that name the ping entries (their rules, and for Cisco their
/// remarks and entries, which follow the remark).
fn without_pings(text: &str) -> String {
    text.lines()
        .filter(|l| {
            let ping_peer = l.contains("198.18.0.2") || l.contains("2001:db8:f::2");
            let ping_rule = l.contains("ping-") || (l.contains(" icmp") && ping_peer);
            !ping_rule
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The audit reads ICMP matches in all three formats: what fwgen wrote admits both pings,
/// in both families; the same without the ping rules admits neither.
#[test]
fn the_audit_reads_icmp_from_nft_iptables_and_cisco() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let admitted = vec!["admitted".to_string(); 2];
    let blocked = vec!["blocked".to_string(); 2];
    for (backend, extra) in crate::audit::CISCO_BINDINGS {
        let mut args = vec!["generate", "--site", SITE, "-b", backend];
        args.extend(extra);
        let text = ok(&args);
        let all = write(&format!("{backend}.txt"), &text);
        assert_eq!(ping_verdicts(&[all], extra), admitted, "{backend}");
        let none = write(&format!("{backend}-none.txt"), &without_pings(&text));
        assert_eq!(ping_verdicts(&[none], extra), blocked, "{backend}");
    }
    if !have_tools(LOADERS) {
        return;
    }
    let host = ["--placement", "host"];
    let nft = host_output(SITE, "nftables");
    for (name, script) in [("all", nft.clone()), ("none", without_pings(&nft))] {
        let dump = nft_dump(d, name, &script);
        let want = if name == "all" { &admitted } else { &blocked };
        assert_eq!(&ping_verdicts(&[dump], &host), want, "nftables {name}");
    }
    let ipt = tempfile::tempdir().unwrap();
    generate_at(ipt.path(), SITE, "iptables", "host");
    for name in ["all", "none"] {
        for f in ["rules.v4", "rules.v6"] {
            let text = read(&ipt.path().join(f));
            let text = if name == "all" {
                text
            } else {
                without_pings(&text)
            };
            std::fs::write(d.join(format!("{name}.{f}")), text).unwrap();
        }
        let p = |f: &str| d.join(f).to_str().unwrap().to_string();
        let script = format!(
            "ipset restore -file '{}' && iptables-restore '{}' && ip6tables-restore '{}' && ipset save > '{}' && iptables-save > '{}' && ip6tables-save > '{}'",
            ipt.path().join("ipsets").display(),
            p(&format!("{name}.rules.v4")),
            p(&format!("{name}.rules.v6")),
            p(&format!("{name}.ipset-save")),
            p(&format!("{name}.v4-save")),
            p(&format!("{name}.v6-save")),
        );
        let out = crate::util::in_throwaway_netns(&["sh", "-c", &script]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dumps: Vec<std::path::PathBuf> = ["ipset-save", "v4-save", "v6-save"]
            .iter()
            .map(|s| d.join(format!("{name}.{s}")))
            .collect();
        let want = if name == "all" { &admitted } else { &blocked };
        assert_eq!(&ping_verdicts(&dumps, &host), want, "iptables {name}");
    }
}

/// A type only IPv6 has, for peers with IPv4 addresses only, admits nothing: said, and
/// refused by `--strict`.
#[test]
fn icmp_types_of_no_family_of_the_peers_are_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_variant(
        dir.path(),
        &[
            ("icmp_types: [echo-request]", "icmp_types: [packet-too-big]"),
            (
                "snmp-managers: [198.18.0.2, 2001:db8:f::2]",
                "snmp-managers: [198.18.0.2]",
            ),
        ],
    );
    let site = site.as_str();
    let warning = "entry `ping-from-snmp`: ICMP types packet-too-big exist in no address family of its peers (IPv4): it admits nothing";
    let r = fwgen(&["generate", "--site", site, "-b", "nftables"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains(warning), "{}", r.stderr);
    assert!(!r.stdout.contains("ping-from-snmp\""), "{}", r.stdout);
    let strict = fwgen(&["generate", "--site", site, "-b", "nftables", "--strict"]);
    assert_eq!(strict.code, 2, "{}", strict.stderr);
    assert!(strict.stderr.contains(warning), "{}", strict.stderr);
}

/// The reviews of a host ruleset show the baseline every Linux host ruleset puts before the
/// entries (ICMP errors, neighbour discovery, loopback, the default drop); a perimeter one's
/// do not (the baseline is the host's).
#[test]
fn host_reviews_show_the_host_baseline() {
    let md = host_output(SITE, "markdown");
    let section = md
        .split("## Host baseline\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_else(|| panic!("no host baseline in\n{md}"));
    for row in [
        "| ICMP (IPv4): destination-unreachable, time-exceeded, parameter-problem | admitted (firewalld: as related traffic only) | admitted |",
        "| the loopback interface (lo) | admitted | admitted |",
        "| everything else | dropped | dropped |",
    ] {
        assert!(
            section.lines().any(|l| l == row),
            "no `{row}` in\n{section}"
        );
    }
    assert!(section.contains("nd-neighbor-solicit"), "{section}");
    let html = host_output(SITE, "html");
    assert!(html.contains("<h2>Host baseline</h2>"));
    let accept = ok(&[
        "generate",
        "--site",
        SITE,
        "-b",
        "markdown",
        "--placement",
        "host",
        "--policy",
        "accept",
    ]);
    assert!(
        accept.contains("| everything else | accepted (--policy accept: nothing is dropped yet) |")
    );
    let perimeter = ok(&["generate", "--site", SITE, "-b", "markdown"]);
    assert!(!perimeter.contains("Host baseline"));
}

/// A site file in `dir`: the lab's, with the first of each `(from, to)` replaced.
fn site_variant(dir: &std::path::Path, edits: &[(&str, &str)]) -> String {
    let site = dir.join("site.yaml");
    let text = edits
        .iter()
        .fold(read(std::path::Path::new(SITE)), |t, (from, to)| {
            assert!(t.contains(from), "the site has no `{from}`");
            t.replacen(from, to, 1)
        });
    std::fs::write(&site, text).unwrap();
    site.to_str().unwrap().to_string()
}

/// The lab's site with the ping entry's types replaced by `types`, in `dir`.
fn site_with_types(dir: &std::path::Path, types: &str) -> String {
    site_variant(
        dir,
        &[(
            "icmp_types: [echo-request]",
            &format!("icmp_types: [{types}]"),
        )],
    )
}

/// `script` loaded into a throwaway network namespace and listed by `nft -j`: the dump's
/// path (`dir/NAME.json`), for the audit.
fn nft_dump(dir: &std::path::Path, name: &str, script: &str) -> std::path::PathBuf {
    let file = dir.join(format!("{name}.nft"));
    std::fs::write(&file, script).unwrap();
    let out = crate::util::in_throwaway_netns(&[
        "sh",
        "-c",
        &format!("nft -f '{}' && nft -j list ruleset", file.display()),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = dir.join(format!("{name}.json"));
    std::fs::write(&dump, &out.stdout).unwrap();
    dump
}

/// One code of a type (`5/1`: an ICMPv4 host redirect, which no baseline admits) in every
/// backend that can match it, refused by the one that cannot, loaded by the real tools and
/// read back by the audit.
#[test]
fn one_code_of_an_icmp_type_is_matched_where_the_syntax_can() {
    let dir = tempfile::tempdir().unwrap();
    let site = site_with_types(dir.path(), "echo-request, 5/1");
    let site = site.as_str();
    let nft = host_output(site, "nftables");
    for line in [
        "ip saddr @addr_1_v4 icmp type echo-request accept comment \"fwgen ping-from-snmp\"",
        "ip saddr @addr_1_v4 icmp type redirect icmp code 1 accept comment \"fwgen ping-from-snmp\"",
        "ip6 saddr @addr_2_v6 icmpv6 type echo-request accept comment \"fwgen ping-from-snmp\"",
    ] {
        assert!(nft.contains(line), "no `{line}` in\n{nft}");
    }
    let ipt_dir = tempfile::tempdir().unwrap();
    let ipt = generate_at(ipt_dir.path(), site, "iptables", "host");
    let text: String = ipt.iter().map(|f| read(f)).collect();
    assert!(
        text.contains("-p icmp --icmp-type 5/1 -m comment"),
        "{text}"
    );
    assert!(!text.contains("--icmpv6-type 5"), "{text}");
    let fw = tempfile::tempdir().unwrap();
    generate_at(fw.path(), site, "firewalld", "host");
    let zones: String = all_files(fw.path()).into_iter().map(|(_, t)| t).collect();
    for name in ["host-redirect", "echo-request"] {
        assert!(
            zones.contains(&format!("<icmp-type name=\"{name}\"/>")),
            "no {name} in\n{zones}"
        );
    }
    let ios = ok(&["generate", "--site", site, "-b", "cisco-ios"]);
    assert!(
        ios.lines()
            .any(|l| l == " permit icmp host 198.18.0.2 host 198.18.0.1 5 1"),
        "{ios}"
    );
    let asa = fwgen(&["generate", "--site", site, "-b", "cisco-asa"]);
    assert_eq!(asa.code, 2, "{}", asa.stderr);
    assert!(
        asa.stderr.contains(
            "cisco-asa cannot express ICMP type 5 code 1: it matches ICMP types, not codes"
        ),
        "{}",
        asa.stderr
    );
    if have_tools(LOADERS) {
        for f in &ipt {
            check_with_real_tool(f);
        }
        let nft_dir = tempfile::tempdir().unwrap();
        for f in generate_at(nft_dir.path(), site, "nftables", "host") {
            check_with_real_tool(&f);
        }
        if have_tools(&["firewall-offline-cmd"]) {
            check_firewalld_dir(fw.path());
        }
        // The audit reads the code back from nft (which prints it by name) and IOS: the
        // rulesets admit what the entries ask for.
        let script = read(&nft_dir.path().join("ruleset.nft"));
        let dump = nft_dump(dir.path(), "all", &script);
        let admitted = vec!["admitted".to_string(); 2];
        assert_eq!(
            ping_verdicts_of(site, std::slice::from_ref(&dump), &["--placement", "host"]),
            admitted
        );
        // Without the rules of the one code, the echo is admitted and the code is not.
        let cut: String = script
            .lines()
            .filter(|l| !l.contains(" code 1 accept"))
            .map(|l| format!("{l}\n"))
            .collect();
        let dump = nft_dump(dir.path(), "cut", &cut);
        let r = fwgen(&[
            "audit",
            "--site",
            site,
            "--placement",
            "host",
            "--ruleset",
            dump.to_str().unwrap(),
        ]);
        for want in [
            "partial   ping-from-snmp",
            "not admitted: in icmp redirect/1 198.18.0.2/32 -> 198.18.0.1/32",
        ] {
            assert!(r.stdout.contains(want), "no `{want}` in\n{}", r.stdout);
        }
    }
    let ios = ok(&[
        "generate",
        "--site",
        site,
        "-b",
        "cisco-ios",
        "--interface",
        "Gi0/1",
    ]);
    let ios_file = dir.path().join("ios.txt");
    std::fs::write(&ios_file, &ios).unwrap();
    assert_eq!(
        ping_verdicts_of(site, &[ios_file], &["--interface", "Gi0/1"]),
        vec!["admitted".to_string(); 2]
    );
}

/// Over-broad covers ICMP echo: a ruleset that accepts every ICMP message admits pings from
/// addresses no entry names; fwgen's own ruleset for the site admits none beyond its
/// entries.
#[test]
fn over_broad_finds_pings_no_entry_asks_for() {
    let dir = tempfile::tempdir().unwrap();
    let open = dir.path().join("open.json");
    std::fs::write(&open, crate::audit::ACCEPT_ALL_NFT).unwrap();
    let audit = |path: &std::path::Path| {
        let v = audit_json(SITE, &[path.to_path_buf()], &["--placement", "host"]);
        v["over_broad"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap().to_string())
            .collect::<Vec<String>>()
    };
    let over = audit(&open);
    for want in [
        "in icmp echo-request any IPv4 address except 198.18.0.2/32 -> 198.18.0.1 is admitted",
        "out icmp echo-request 198.18.0.1 -> any IPv4 address except 198.18.0.2/32 is admitted",
        "in icmpv6 echo-request any IPv6 address except 2001:db8:f::2/128 -> 2001:db8:f::1 is admitted",
    ] {
        assert!(
            over.iter().any(|o| o.starts_with(want)),
            "no `{want}` in {over:#?}"
        );
    }
    if !have_tools(LOADERS) {
        return;
    }
    let script = host_output(SITE, "nftables");
    let dump = nft_dump(dir.path(), "fwgen", &script);
    assert_eq!(audit(&dump), Vec::<String>::new());
}
