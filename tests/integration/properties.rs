//! Property tests over arbitrary catalogues: ports, ranges, protocols, directions, address
//! sets, and text fields holding any Unicode and control characters.
//!
//! For each generated catalogue: (a) the real tools accept the nftables and iptables output
//! (and firewalld's offline check, for some cases); (b) the rules are the same whatever the
//! text fields hold; (c) the iptables and nftables outputs admit exactly the (direction,
//! protocol, address, port) tuples the ruleset says, judged by evaluators over the outputs.

use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use proptest::prelude::*;
use serde_json::Value;

use crate::eval::{Packet, eval_iptables, parse_iptables, parse_nft};
use crate::hostile::{all_files, rules_only};
use crate::tools::{check_firewalld_dir, check_with_real_tool, generate_into};
use crate::util::{find_tool, have_tools};

#[derive(Clone, Debug)]
struct GenEntry {
    protocols: Vec<&'static str>,
    ports: Vec<(u16, u16)>,
    directions: Vec<&'static str>,
    /// With two directions: who opens (`out`, `in`, `both`).
    opens: Option<&'static str>,
    /// 0 any, 1 the role, 2 a host group with addresses, 3 a host group without.
    peer: u8,
    feature: bool,
}

#[derive(Clone, Debug)]
struct Case {
    entries: Vec<GenEntry>,
    role: Vec<IpNet>,
    group: Vec<IpNet>,
}

fn entry() -> impl Strategy<Value = GenEntry> {
    let protocols = prop_oneof![
        Just(vec!["tcp"]),
        Just(vec!["udp"]),
        Just(vec!["tcp", "udp"])
    ];
    let directions = prop_oneof![
        Just((vec!["in"], None)),
        Just((vec!["out"], None)),
        Just((vec!["in", "out"], Some("both"))),
        Just((vec!["in", "out"], Some("out"))),
        Just((vec!["out", "in"], Some("in"))),
    ];
    let range = (1u16..=65535, 0u16..=40).prop_map(|(lo, w)| (lo, lo.saturating_add(w)));
    (
        protocols,
        prop::collection::vec(range, 1..10),
        directions,
        0u8..4,
        any::<bool>(),
    )
        .prop_map(
            |(protocols, ports, (directions, opens), peer, feature)| GenEntry {
                protocols,
                ports,
                directions,
                opens,
                peer,
                feature,
            },
        )
}

fn net() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (any::<u16>(), 24u8..=32).prop_map(|(x, len)| {
            let a =
                std::net::Ipv4Addr::new(198, 18 + (x >> 15) as u8, (x >> 7) as u8, (x << 1) as u8);
            IpNet::V4(ipnet::Ipv4Net::new(a, len).unwrap()).trunc()
        }),
        (any::<u32>(), 64u8..=128).prop_map(|(x, len)| {
            let a = std::net::Ipv6Addr::new(
                0x2001,
                0xdb8,
                (x >> 16) as u16,
                x as u16,
                0,
                0,
                0,
                x as u16 | 1,
            );
            IpNet::V6(ipnet::Ipv6Net::new(a, len).unwrap()).trunc()
        }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(entry(), 1..6),
        prop::collection::vec(net(), 0..4),
        prop::collection::vec(net(), 1..4),
    )
        .prop_map(|(entries, role, group)| Case {
            entries,
            role,
            group,
        })
}

/// A YAML double-quoted scalar holding `s` exactly (fwgen's own quoting, which a property
/// test of the lock file reads back).
pub(crate) fn q(s: &str) -> String {
    fwgen::text::yaml_quoted(s)
}

/// The catalogue (with `text` in every text field) and the site for a case.
fn write_case(dir: &Path, c: &Case, text: &str) -> (String, String) {
    write_case_for(dir, c, text, "")
}

/// [`write_case`] with `component` added to the component's fields (`platform: windows`).
fn write_case_for(dir: &Path, c: &Case, text: &str, component: &str) -> (String, String) {
    let t = q(text);
    let host = q(&format!("h{text}.example"));
    let mut y = format!(
        "product: prop\ntitle: {t}\nversion: \"1\"\ndocument: {{file: {t}, title: {t}}}\nnotes: [{t}]\ncomponents: [{{id: gateway, description: {t}{component}}}]\n"
    );
    let used = |p: u8| c.entries.iter().any(|e| e.peer == p);
    if used(1) {
        y.push_str(&format!("roles: [{{id: r1, description: {t}}}]\n"));
    }
    if c.entries.iter().any(|e| e.feature) {
        y.push_str(&format!(
            "features: [{{id: f1, description: {t}, default: false}}]\n"
        ));
    }
    let mut groups = Vec::new();
    if used(2) {
        let addrs: Vec<String> = c.group.iter().map(ToString::to_string).collect();
        groups.push(format!("{{id: g1, description: {t}, hosts: [{host}], addresses: [{}], address_source: document, source: {{section: {t}, row: {t}, line: 1}}}}", addrs.join(", ")));
    }
    if used(3) {
        groups.push(format!("{{id: g2, description: {t}, hosts: [{host}], address_source: subject-to-change, reference: {t}, source: {{section: {t}, row: {t}, line: 1}}}}"));
    }
    if !groups.is_empty() {
        y.push_str(&format!("host_groups: [{}]\n", groups.join(", ")));
    }
    y.push_str("entries:\n");
    for (i, e) in c.entries.iter().enumerate() {
        let ports: Vec<String> = e
            .ports
            .iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("\"{a}-{b}\"")
                }
            })
            .collect();
        let peer = ["any", "{role: r1}", "{group: g1}", "{group: g2}"][e.peer as usize];
        y.push_str(&format!(
            "  - {{id: e{i}, description: {t}, protocols: [{}], ports: [{}], directions: [{}],{} peer: {peer}, notes: {t}, source: {{section: {t}, row: {t}, line: 1}}{}}}\n",
            e.protocols.join(", "),
            ports.join(", "),
            e.directions.join(", "),
            e.opens
                .map(|o| format!(" opens: {o}, reading: r,"))
                .unwrap_or_default(),
            if e.feature { ", feature: f1" } else { "" }
        ));
    }
    let cat = dir.join("catalogue.yaml");
    std::fs::write(&cat, y).unwrap();
    let mut site = String::from("product: prop\ngateway: [192.0.2.1, 2001:db8::1]\n");
    if used(1) && !c.role.is_empty() {
        let addrs: Vec<String> = c.role.iter().map(ToString::to_string).collect();
        site.push_str(&format!("roles:\n  r1: [{}]\n", addrs.join(", ")));
    }
    let site_path = dir.join("site.yaml");
    std::fs::write(&site_path, site).unwrap();
    (
        cat.to_str().unwrap().to_string(),
        site_path.to_str().unwrap().to_string(),
    )
}

fn generate(dir: &Path, cat: &str, site: &str, backend: &str) -> Vec<(std::path::PathBuf, String)> {
    generate_with(dir, cat, site, backend, &[])
}

fn generate_with(
    dir: &Path,
    cat: &str,
    site: &str,
    backend: &str,
    extra: &[&str],
) -> Vec<(std::path::PathBuf, String)> {
    let out = dir.join(backend);
    let mut args = vec![
        "--catalogue",
        cat,
        "generate",
        "--site",
        site,
        "--all-features",
        "-b",
        backend,
    ];
    args.extend(extra);
    generate_into(&out, &args);
    all_files(&out)
}

/// The Windows Firewall script of a case whose host runs Windows, with `text` in every text
/// field: PowerShell's grammar finds only the two cmdlets, their parameters and single-quoted
/// literals, and the rules are the JSON ruleset's, whatever the text.
fn check_windows_case(c: &Case, text: &str, profiles: &str) {
    let dir = tempfile::tempdir().unwrap();
    let windows = ", platform: windows, source: {section: s, row: r, line: 1}";
    let (cat, site) = write_case_for(dir.path(), c, text, windows);
    let json = generate_with(dir.path(), &cat, &site, "json", &["--placement", "host"]);
    let script = generate_with(
        dir.path(),
        &cat,
        &site,
        "windows",
        &[
            "--placement",
            "host",
            "--windows-profile",
            profiles,
            "--policy-store",
            "corp.example\\O'Brien's $GPO",
        ],
    );
    let [(path, text)] = script.as_slice() else {
        panic!("{script:?}")
    };
    let parsed = crate::powershell::check(text)
        .unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
    assert_eq!(
        crate::powershell::script_rules(&parsed),
        crate::powershell::json_rules(&json[0].1),
        "the script's rules are not the ruleset's"
    );
}

/// What the ruleset says about a new packet.
fn ruleset_admits(json: &Value, gateway: &[IpAddr], p: &Packet) -> bool {
    let inbound = gateway.contains(&p.dst);
    let remote = if inbound { p.src } else { p.dst };
    json["rules"].as_array().unwrap().iter().any(|r| {
        r["direction"] == if inbound { "in" } else { "out" }
            && r["protocol"] == p.proto
            && match &r["remote"] {
                Value::String(_) => true,
                Value::Array(a) => a.iter().any(|n| {
                    n.as_str()
                        .unwrap()
                        .parse::<IpNet>()
                        .unwrap()
                        .contains(&remote)
                }),
                _ => false,
            }
            && r["ports"]
                .as_array()
                .unwrap()
                .iter()
                .any(|port| match port {
                    Value::Number(n) => n.as_u64() == Some(u64::from(p.dport)),
                    s => {
                        let (a, b) = s.as_str().unwrap().split_once('-').unwrap();
                        a.parse::<u16>().unwrap() <= p.dport && p.dport <= b.parse::<u16>().unwrap()
                    }
                })
    })
}

/// Sample packets: every range's ends and neighbours, every prefix's first address and an
/// address outside all of them, both directions, both protocols.
fn samples(c: &Case, gateway: &[IpAddr]) -> Vec<Packet> {
    let mut ports: Vec<u16> = c
        .entries
        .iter()
        .flat_map(|e| {
            e.ports
                .iter()
                .flat_map(|&(a, b)| [a, b, a.saturating_sub(1).max(1), b.saturating_add(1)])
        })
        .collect();
    ports.extend([1, 65535]);
    ports.sort();
    ports.dedup();
    let mut remotes: Vec<IpAddr> = c.role.iter().chain(&c.group).map(|n| n.network()).collect();
    remotes.extend([
        "203.0.113.9".parse::<IpAddr>().unwrap(),
        "2001:db8:ffff::9".parse().unwrap(),
    ]);
    let mut out = Vec::new();
    for &gw in gateway {
        for &remote in remotes.iter().filter(|r| r.is_ipv4() == gw.is_ipv4()) {
            for proto in ["tcp", "udp"] {
                for &port in &ports {
                    out.push(Packet {
                        proto,
                        src: remote,
                        sport: 40000,
                        dst: gw,
                        dport: port,
                        ack: false,
                    });
                    out.push(Packet {
                        proto,
                        src: gw,
                        sport: 40000,
                        dst: remote,
                        dport: port,
                        ack: false,
                    });
                }
            }
        }
    }
    out
}

fn check_case(c: &Case, text: &str, tools: bool, firewalld: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (cat_p, site_p) = write_case(dir.path(), c, "plain text");
    let hostile_dir = tempfile::tempdir().unwrap();
    let (cat_h, site_h) = write_case(hostile_dir.path(), c, text);

    // (b) The rules do not depend on the text.
    let json_p: Value =
        serde_json::from_str(&generate(dir.path(), &cat_p, &site_p, "json")[0].1).unwrap();
    let json_h: Value =
        serde_json::from_str(&generate(hostile_dir.path(), &cat_h, &site_h, "json")[0].1).unwrap();
    // Host names are text too: compare everything but the peer labels.
    let semantics = |j: &Value| -> Vec<Value> {
        j["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("peers");
                r
            })
            .collect()
    };
    assert_eq!(
        semantics(&json_p),
        semantics(&json_h),
        "text changed the ruleset"
    );
    let mut backends = vec!["nftables", "iptables"];
    if firewalld {
        backends.push("firewalld");
    }
    for backend in backends {
        let plain = generate(dir.path(), &cat_p, &site_p, backend);
        let hostile = generate(hostile_dir.path(), &cat_h, &site_h, backend);
        assert_eq!(plain.len(), hostile.len());
        for ((path, p), (_, h)) in plain.iter().zip(&hostile) {
            assert_eq!(
                rules_only(p),
                rules_only(h),
                "{backend} {}: text changed the rules",
                path.display()
            );
        }
        // (a) The real tools accept the hostile output.
        if tools {
            if backend == "firewalld" {
                check_firewalld_dir(&hostile_dir.path().join("firewalld"));
            } else {
                for (path, _) in &hostile {
                    check_with_real_tool(&hostile_dir.path().join(backend).join(path));
                }
            }
        }
    }

    // (c) iptables and nftables admit exactly what the ruleset says.
    let gateway: Vec<IpAddr> = vec!["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()];
    let ipt = generate(dir.path(), &cat_p, &site_p, "iptables");
    assert!(ipt[0].0.ends_with("ipsets"), "{:?}", ipt[0].0);
    let (ipt4, ipt6) = (
        parse_iptables(&ipt[1].1, &ipt[0].1),
        parse_iptables(&ipt[2].1, &ipt[0].1),
    );
    let nft = parse_nft(&generate(dir.path(), &cat_p, &site_p, "nftables")[0].1);
    for p in samples(c, &gateway) {
        let want = ruleset_admits(&json_p, &gateway, &p);
        let ipt = eval_iptables(if p.src.is_ipv4() { &ipt4 } else { &ipt6 }, "FORWARD", &p)
            .unwrap_or(true);
        let nft = nft.eval("forward", &p).unwrap_or(true);
        assert_eq!(
            (ipt, nft),
            (want, want),
            "{p:?}: ruleset {want}, iptables {ipt}, nftables {nft}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct("tests/integration/properties.proptest-regressions"))), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_catalogues_render_faithfully(c in case(), text in any::<String>(), firewalld in prop::bool::weighted(0.25)) {
        let tools = have_tools(crate::tools::LOADERS);
        let firewalld = firewalld && find_tool("firewall-offline-cmd").is_some();
        check_case(&c, &text, tools, firewalld);
    }

    #[test]
    fn arbitrary_text_never_becomes_powershell_code(
        c in case(),
        text in prop_oneof![
            any::<String>(),
            "[ a-z'\u{2018}\u{2019}\u{201a}\u{201b}\"$`(){}@;|&#<>\n\r\t\u{e9}\u{65e5}\u{202e}-]{0,60}",
        ],
        profiles in prop_oneof![Just("any"), Just("domain,private"), Just("public,domain,public")],
    ) {
        check_windows_case(&c, &text, profiles);
    }
}
