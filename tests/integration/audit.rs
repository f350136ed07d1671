//! `fwgen audit` against the kernel, not against itself: each ruleset is loaded into the
//! gateway's namespace of a two-namespace lab, dumped with `nft -j list ruleset`, audited,
//! and every connection the audit tried is then made for real (inbound from the client side,
//! outbound from the gateway); the audit's verdict must equal what the packets saw, probe by
//! probe. Rulesets: fwgen's own, fwgen's with fewer features, a hand-written `inet filter`
//! table with sets, user chains, `jump`/`return`, a second table that drops on the same hook,
//! a ruleset whose output chain drops the replies, and mutants with one rule or one set
//! element removed.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::live::{Lab, ready};
use crate::util::{fwgen, ok};

pub(crate) const SITE: &str = "tests/fixtures/sites/live-icap.yaml";

/// An `nft -j list ruleset` dump whose one chain accepts everything on input.
pub(crate) const ACCEPT_ALL_NFT: &str = r#"{"nftables": [{"metainfo": {"json_schema_version": 1}},
        {"table": {"family": "inet", "name": "t", "handle": 1}},
        {"chain": {"family": "inet", "table": "t", "name": "in", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}}]}"#;

/// Each Cisco backend with the interfaces that bind its lists (the ASA's: the gateway's and
/// the one traffic to it arrives on).
pub(crate) const CISCO_BINDINGS: [(&str, &[&str]); 2] = [
    ("cisco-ios", &["--interface", "GigabitEthernet0/1"]),
    (
        "cisco-asa",
        &["--interface", "dmz", "--ingress-interface", "outside"],
    ),
];

/// The lab's addresses: the gateway, the client side's two, and the outsider that stands for
/// any address.
const LAB: &[&str] = &[
    "198.18.0.1",
    "198.18.0.2",
    "198.18.0.3",
    "203.0.113.77",
    "2001:db8:f::1",
    "2001:db8:f::2",
    "2001:db8:f::3",
    "2001:db8:ffff::77",
];

/// A hand-written ruleset in another style: named sets, a user chain reached by `jump`,
/// `return`, `ct state` first.
const HAND_WRITTEN: &str = r#"
table inet filter {
    set admins4 { type ipv4_addr; flags interval; elements = { 198.18.0.2/32 } }
    set admins6 { type ipv6_addr; elements = { 2001:db8:f::2 } }
    set services { type inet_service; elements = { 1344, 8080 } }
    chain input {
        type filter hook input priority 0; policy drop;
        ct state established,related accept
        ct state invalid drop
        iif "lo" accept
        icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
        ip saddr @admins4 jump admin
        ip6 saddr @admins6 jump admin
        tcp dport @services accept
        meta l4proto udp udp dport 161 ip saddr 198.18.0.2 accept
    }
    chain admin {
        tcp dport { 22, 443 } accept
        return
    }
    chain output {
        type filter hook output priority 0; policy accept;
    }
}
"#;

/// A second table on the input hook that drops HTTPS over IPv4 before fwgen's table.
const GUARD: &str = r#"
table ip guard {
    chain in {
        type filter hook input priority -10; policy accept;
        tcp dport 443 counter drop
    }
}
"#;

/// Replies of inbound connections dropped: everything inbound is accepted, but the output
/// chain admits only DNS.
const NO_REPLIES: &str = r#"
table inet strict {
    chain input { type filter hook input priority 0; policy accept; }
    chain output {
        type filter hook output priority 0; policy drop;
        udp dport 53 accept
    }
}
"#;

/// Only new connections accepted inbound: the first packet (and, output accepting all, the
/// replies) pass, but the opener's later packets are dropped, so no TCP session completes
/// and no second datagram of a flow arrives. The audit must not call it admitted.
const NEW_ONLY: &str = r#"
table inet newonly {
    chain input {
        type filter hook input priority 0; policy drop;
        iif "lo" accept
        ct state new tcp dport { 443, 1344 } accept
        ct state new udp dport 161 accept
        ct state established tcp dport 22 accept
        tcp dport 22 accept
    }
    chain output {
        type filter hook output priority 0; policy accept;
    }
}
"#;

/// A prerouting chain that drops ICAP from one client before any input chain: every hook on
/// the way in counts, not only `input`.
const PREROUTING_DROP: &str = r#"
table inet early {
    chain pre {
        type filter hook prerouting priority -150; policy accept;
        ip saddr 198.18.0.3 tcp dport 1344 drop
    }
}
"#;

/// Interface matches and a verdict map: the gateway's interface (`IFACE`, the lab's) admits
/// HTTPS, another interface ICAP; the ports go through a verdict map with a jump.
const INTERFACES_AND_VMAP: &str = r#"
table inet edge {
    chain input {
        type filter hook input priority 0; policy drop;
        ct state established,related accept
        iifname "lo" accept
        meta l4proto ipv6-icmp icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
        iifname "IFACE" tcp dport vmap { 443 : accept, 1344 : jump icap, 22 : drop }
        iifname "other0" tcp dport 1344 accept
        iifname "IFACE" udp dport 161 accept
    }
    chain icap {
        ip saddr 198.18.0.3 accept
        ip6 saddr 2001:db8:f::3 accept
    }
    chain output {
        type filter hook output priority 0; policy accept;
    }
}
"#;

/// The live site's own host ruleset in nftables.
pub(crate) fn live_site_nftables() -> String {
    ok(&[
        "generate",
        "--site",
        SITE,
        "--placement",
        "host",
        "-b",
        "nftables",
    ])
}

/// Load `script` into the gateway's namespace (after clearing it), apply `then` (nft
/// commands that make a mutant), and dump the result as JSON.
fn load_and_dump(lab: &Lab, script: &str, then: &[String]) -> String {
    let run = |args: &[&str], input: Option<&str>| lab.feed(&lab.gw, args, input.unwrap_or(""));
    run(&["nft", "flush", "ruleset"], None);
    run(&["nft", "-f", "-"], Some(script));
    for cmd in then {
        run(&["sh", "-c", cmd], None);
    }
    lab.forget_neighbours();
    run(&["nft", "-j", "list", "ruleset"], None)
}

/// The handle of the rule whose comment is `comment` in the dump.
fn handle_of(dump: &str, comment: &str) -> i64 {
    let v: Value = serde_json::from_str(dump).unwrap();
    v["nftables"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|o| o.get("rule"))
        .find(|r| r["comment"] == comment)
        .and_then(|r| r["handle"].as_i64())
        .unwrap_or_else(|| panic!("no rule {comment}"))
}

/// The audit's findings as JSON, for `dump` and the selection `extra`.
fn audit(dump: &str, extra: &[&str]) -> (i32, Value) {
    audit_files(&[dump.to_string()], extra)
}

/// The audit's findings as JSON, for dumps (each given as one `--ruleset` file).
fn audit_files(dumps: &[String], extra: &[&str]) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, d) in dumps.iter().enumerate() {
        let path = dir.path().join(format!("dump-{i}"));
        std::fs::write(&path, d).unwrap();
        paths.push(path.to_str().unwrap().to_string());
    }
    let mut args = vec![
        "audit",
        "--site",
        SITE,
        "--placement",
        "host",
        "--format",
        "json",
    ];
    for p in &paths {
        args.extend(["--ruleset", p.as_str()]);
    }
    args.extend(extra);
    let r = fwgen(&args);
    assert!(r.code == 0 || r.code == 1, "{args:?}: {}", r.stderr);
    (r.code, serde_json::from_str(&r.stdout).unwrap())
}

/// Port ranges as a part prints them (`443`, `8000-8100, 9000`).
pub(crate) fn port_ranges(text: &str) -> Vec<(u64, u64)> {
    text.split(", ")
        .filter(|r| !r.is_empty())
        .map(|r| {
            let (lo, hi) = r.split_once('-').unwrap_or((r, r));
            (lo.parse().unwrap(), hi.parse().unwrap())
        })
        .collect()
}

/// The ports of a part, each range at its ends.
fn port_ends(text: &str) -> Vec<u64> {
    let mut out: Vec<u64> = port_ranges(text)
        .into_iter()
        .flat_map(|(lo, hi)| [lo, hi])
        .collect();
    out.dedup();
    out
}

/// Whether a part holds every source port of Linux's range (32768-60999), the ones a lab
/// socket takes: a part cut within it cannot be told apart by a probe.
pub(crate) fn from_linux_ports(p: &Value) -> bool {
    port_ranges(p["source_ports"].as_str().unwrap_or(""))
        .iter()
        .any(|&(lo, hi)| lo <= 32768 && hi >= 60999)
}

/// The connections of a part that the lab can make: each lab address inside its source and
/// destination prefixes, each of its port ranges at its ends.
pub(crate) fn lab_connections(p: &Value, lab: &[&str]) -> Vec<(String, String, u64)> {
    let inside = |side: &Value| -> Vec<String> {
        lab.iter()
            .filter(|a| {
                let a: std::net::IpAddr = a.parse().unwrap();
                side.as_array().unwrap().iter().any(|n| {
                    n.as_str()
                        .unwrap()
                        .parse::<ipnet::IpNet>()
                        .unwrap()
                        .contains(&a)
                })
            })
            .map(|a| a.to_string())
            .collect()
    };
    // ICMP parts name their types (`echo-request`): a ping is one connection, its "port"
    // unused by the probe.
    let ports = if p["protocol"] == "icmp" {
        vec![0]
    } else {
        port_ends(p["ports"].as_str().unwrap())
    };
    let mut out = Vec::new();
    for src in inside(&p["src"]) {
        for dst in inside(&p["dst"]) {
            for &port in &ports {
                out.push((src.clone(), dst.clone(), port));
            }
        }
    }
    out
}

/// Make every connection of `findings` the lab can make for real; return the mismatches and
/// the number compared.
fn compare(lab: &Lab, findings: &Value) -> (Vec<String>, usize) {
    let mut inbound = Vec::new();
    let mut outbound = Vec::new();
    for f in findings["findings"].as_array().unwrap() {
        // Only the lab's addresses can be probed for real (a document's server address is
        // not in it).
        for p in f["parts"].as_array().unwrap() {
            // The lab's sockets take a source port of Linux's range: a part cut within it
            // (a rule on some source ports) cannot be told apart by a probe.
            if !from_linux_ports(p) {
                continue;
            }
            for (src, dst, port) in lab_connections(p, LAB) {
                // The gateway's own addresses open outbound connections, the client's inbound.
                let gw_side = |a: &str| a == "198.18.0.1" || a == "2001:db8:f::1";
                if (p["direction"] == "in") == gw_side(&src) {
                    continue;
                }
                let item = (
                    f["id"].as_str().unwrap().to_string(),
                    serde_json::json!({"src": src, "dst": dst, "proto": p["protocol"], "port": port}),
                    p["result"].as_str().unwrap().to_string(),
                );
                if p["direction"] == "in" {
                    inbound.push(item);
                } else {
                    outbound.push(item);
                }
            }
        }
    }
    let mut bad = Vec::new();
    let mut n = 0;
    for (ns, probes) in [(&lab.cli, inbound), (&lab.gw, outbound)] {
        if probes.is_empty() {
            continue;
        }
        let json: Vec<Value> = probes.iter().map(|p| p.1.clone()).collect();
        let mut cmd = lab.exec(ns);
        cmd.args(["python3", crate::live::PROBE, "probe"]);
        let mut got: Vec<String> = crate::util::pipe_json(cmd, &lab.own_sources(&json));
        // A probe that should pass and did not is tried again (a new IPv6 neighbour).
        for _ in 0..2 {
            let retry: Vec<usize> = (0..probes.len())
                .filter(|&i| probes[i].2 == "admitted" && got[i] != "open")
                .collect();
            if retry.is_empty() {
                break;
            }
            let again =
                lab.own_sources(&retry.iter().map(|&i| json[i].clone()).collect::<Vec<_>>());
            let mut cmd = lab.exec(ns);
            cmd.args(["python3", crate::live::PROBE, "probe"]);
            let res: Vec<String> = crate::util::pipe_json(cmd, &again);
            for (i, g) in retry.into_iter().zip(res) {
                got[i] = g;
            }
        }
        for ((id, p, want), g) in probes.iter().zip(&got) {
            n += 1;
            assert_ne!(
                want, "unknown",
                "{id}: the audit did not understand a rule: {p}"
            );
            if (want == "admitted") != (g == "open") {
                bad.push(format!("{id} {p}: audit says {want}, the kernel {g}"));
            }
        }
    }
    (bad, n)
}

/// Every port the findings' lab connections use, per protocol and side, so that something
/// listens.
fn ports(findings: &[Value], inbound: bool) -> (String, String) {
    let mut tcp = BTreeSet::new();
    let mut udp = BTreeSet::new();
    for f in findings {
        for f in f["findings"].as_array().unwrap() {
            for p in f["parts"].as_array().unwrap() {
                if (p["direction"] == "in") == inbound {
                    for (_, _, port) in lab_connections(p, LAB) {
                        if p["protocol"] == "tcp" {
                            tcp.insert(port);
                        } else {
                            udp.insert(port);
                        }
                    }
                }
            }
        }
    }
    let join = |s: BTreeSet<u64>| {
        s.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    (join(tcp), join(udp))
}

#[test]
fn audit_verdicts_equal_what_the_kernel_does() {
    if !ready() {
        return;
    }
    let lab = Lab::new("a");
    lab.add_outsider();
    let dev = lab.gw_dev();
    let fwgen_nft = live_site_nftables();
    let fewer = ok(&[
        "generate",
        "--site",
        SITE,
        "--placement",
        "host",
        "--no-default-features",
        "-b",
        "nftables",
    ]);
    // (name, script, mutant commands given the plain dump, verdicts the audit must find).
    type Mutant = fn(&str) -> Vec<String>;
    let none: Mutant = |_| Vec::new();
    // The first of the two web-ui rules (IPv4): the entry is left partial.
    let drop_web_ui: Mutant = |dump| {
        vec![format!(
            "nft delete rule inet fwgen input handle {}",
            handle_of(dump, "fwgen web-ui")
        )]
    };
    let drop_element: Mutant = |_| vec!["nft delete element inet filter services { 1344 }".into()];
    type Case<'a> = (&'a str, String, Mutant, &'a [(&'a str, &'a str)]);
    let cases: Vec<Case> = vec![
        ("fwgen", fwgen_nft.clone(), none, &[("web-ui", "admitted")]),
        (
            "fewer-features",
            fewer,
            none,
            &[("ntp-clearswift", "blocked")],
        ),
        (
            "hand-written",
            HAND_WRITTEN.to_string(),
            none,
            &[("icap-service", "admitted")],
        ),
        (
            // The same without neighbour discovery: no IPv6 connection can start (the
            // kernel's neighbour caches are flushed before each case).
            "hand-written-without-nd",
            HAND_WRITTEN.replace(
                "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept",
                "",
            ),
            none,
            &[("icap-service", "partial"), ("web-ui", "partial")],
        ),
        (
            "guard-table",
            format!("{fwgen_nft}\n{GUARD}"),
            none,
            &[("web-ui", "partial")],
        ),
        (
            "no-replies",
            NO_REPLIES.to_string(),
            none,
            &[("web-ui", "blocked")],
        ),
        (
            "new-only",
            NEW_ONLY.to_string(),
            none,
            &[("web-ui", "blocked"), ("snmp-monitoring", "blocked")],
        ),
        (
            "prerouting-drop",
            format!("{fwgen_nft}\n{PREROUTING_DROP}"),
            none,
            &[("icap-service", "partial")],
        ),
        (
            "interfaces-and-vmap",
            INTERFACES_AND_VMAP.replace("IFACE", &dev),
            none,
            &[
                ("web-ui", "admitted"),
                ("icap-service", "admitted"),
                ("snmp-monitoring", "admitted"),
            ],
        ),
        (
            "fwgen-minus-web-ui",
            fwgen_nft.clone(),
            drop_web_ui,
            &[("web-ui", "partial")],
        ),
        (
            "hand-written-minus-1344",
            HAND_WRITTEN.to_string(),
            drop_element,
            &[("icap-service", "blocked")],
        ),
    ];
    // First every dump and audit, so that the listeners cover every port probed.
    let mut audits = Vec::new();
    for (name, script, mutant, expect) in &cases {
        let plain = load_and_dump(&lab, script, &[]);
        let dump = load_and_dump(&lab, script, &mutant(&plain));
        let (code, findings) = audit(&dump, &["--interface", &dev]);
        for (id, verdict) in *expect {
            let f = findings["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["id"] == *id)
                .unwrap_or_else(|| panic!("{name}: no finding {id}"));
            assert_eq!(f["verdict"], *verdict, "{name}: {id}: {f}");
        }
        let all_admitted = findings["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["verdict"] == "admitted");
        assert_eq!(code, if all_admitted { 0 } else { 1 }, "{name}");
        audits.push((name, script.clone(), mutant, findings));
    }
    let all: Vec<Value> = audits.iter().map(|a| a.3.clone()).collect();
    let (gw_tcp, gw_udp) = ports(&all, true);
    let (cli_tcp, cli_udp) = ports(&all, false);
    let _gw = lab.serve(&lab.gw, &gw_tcp, &gw_udp, "198.18.0.1,2001:db8:f::1");
    let _cli = lab.serve(
        &lab.cli,
        &cli_tcp,
        &cli_udp,
        "198.18.0.2,198.18.0.3,203.0.113.77,2001:db8:f::2,2001:db8:f::3,2001:db8:ffff::77",
    );
    let mut compared = 0;
    for (name, script, mutant, findings) in audits {
        let plain = load_and_dump(&lab, &script, &[]);
        load_and_dump(&lab, &script, &(*mutant)(&plain));
        let (bad, n) = compare(&lab, &findings);
        assert!(n > 10, "{name}: only {n} probes in the lab");
        assert!(bad.is_empty(), "{name}:\n{}", bad.join("\n"));
        compared += n;
    }
    assert!(compared > 100, "only {compared} probes compared");
}

/// Over-broad rules are warnings; `--strict` makes them fail. Formats other than nftables
/// JSON are refused with what is read.
#[test]
fn over_broad_rules_and_other_formats() {
    let dir = tempfile::tempdir().unwrap();
    // A ruleset that accepts everything: every entry admitted, and everything over-broad.
    let path = dir.path().join("open.json");
    std::fs::write(&path, ACCEPT_ALL_NFT).unwrap();
    let args = |extra: &[&str]| {
        let mut a = vec![
            "audit",
            "--site",
            SITE,
            "--placement",
            "host",
            "--ruleset",
            path.to_str().unwrap(),
        ];
        a.extend(extra.iter().copied());
        fwgen(&a)
    };
    let r = args(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        // Exactly what is beyond the selection: TCP from everyone but the two clients, and the
        // clients' other ports.
        r.stdout.contains("over-broad: in tcp 1-65535 any IPv4 address except 198.18.0.2/31 -> 198.18.0.1 is admitted")
            && r.stdout.contains("over-broad: in tcp 1-442, 444-65535 198.18.0.2/32 -> 198.18.0.1 is admitted (65534 connections no entry needs)")
            && r.stdout.contains("proven: 1 address × 1 port, from every ephemeral source port: every connection admitted"),
        "{}",
        r.stdout
    );
    assert_eq!(args(&["--strict"]).code, 1);
    let md = args(&["--format", "markdown"]).stdout;
    assert!(md.starts_with("# Firewall audit: icap-gateway 4.8"), "{md}");
    // iptables-save: read (a policy drop blocks every inbound entry).
    std::fs::write(&path, "*filter\n:INPUT DROP [0:0]\nCOMMIT\n").unwrap();
    let r = args(&[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("policy drop of chain ip filter INPUT")
            && r.stdout
                .contains("no ip6tables-save given: IPv6 is not audited"),
        "{}",
        r.stdout
    );
    // Neither of the formats read.
    std::fs::write(&path, "hello\n").unwrap();
    let r = args(&[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("not `nft -j list ruleset`, `nft --debug=netlink list ruleset`, iptables-save, ipset save (or list) or Cisco"),
        "{}",
        r.stderr
    );
}

/// Hostile rulesets: chains that jump to each other twice per level (2^40 visits if
/// followed), a jump loop, a missing chain, rules of an unknown chain and truncated JSON give
/// `unknown` findings or one clear error, promptly.
#[test]
fn hostile_rulesets_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut items = vec![
        r#"{"table": {"family": "inet", "name": "t", "handle": 1}}"#.to_string(),
        r#"{"chain": {"family": "inet", "table": "t", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}"#.to_string(),
        r#"{"rule": {"family": "inet", "table": "t", "chain": "input", "expr": [{"jump": {"target": "c0"}}]}}"#.to_string(),
    ];
    for i in 0..40 {
        items.push(format!(
            r#"{{"chain": {{"family": "inet", "table": "t", "name": "c{i}", "handle": {}}}}}"#,
            i + 2
        ));
        for _ in 0..2 {
            items.push(format!(
                r#"{{"rule": {{"family": "inet", "table": "t", "chain": "c{i}", "expr": [{{"jump": {{"target": "c{}"}}}}]}}}}"#,
                i + 1
            ));
        }
    }
    items
        .push(r#"{"chain": {"family": "inet", "table": "t", "name": "c40", "handle": 99}}"#.into());
    let exponential = format!("{{\"nftables\": [{}]}}", items.join(","));
    let looping = r#"{"nftables": [{"chain": {"family": "inet", "table": "t", "name": "input", "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
        {"chain": {"family": "inet", "table": "t", "name": "a"}},
        {"rule": {"family": "inet", "table": "t", "chain": "input", "expr": [{"jump": {"target": "a"}}]}},
        {"rule": {"family": "inet", "table": "t", "chain": "a", "expr": [{"jump": {"target": "a"}}]}}]}"#;
    // A 200,000-deep chain of jumps: never followed that deep (nor walked recursively).
    let mut deep = vec![
        r#"{"chain": {"family": "inet", "table": "t", "name": "input", "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}"#.to_string(),
        r#"{"rule": {"family": "inet", "table": "t", "chain": "input", "expr": [{"jump": {"target": "d0"}}]}}"#.to_string(),
    ];
    for i in 0..200_000 {
        deep.push(format!(
            r#"{{"chain": {{"family": "inet", "table": "t", "name": "d{i}"}}}}"#
        ));
        deep.push(format!(r#"{{"rule": {{"family": "inet", "table": "t", "chain": "d{i}", "expr": [{{"jump": {{"target": "d{}"}}}}]}}}}"#, i + 1));
    }
    let deep = format!("{{\"nftables\": [{}]}}", deep.join(","));
    let missing = looping.replace(r#""target": "a"}}]}},"#, r#""target": "nowhere"}}]}},"#);
    for (name, text, want) in [
        (
            "exponential",
            exponential.as_str(),
            "rules to visit for one packet (chains that jump",
        ),
        ("loop", looping, "a loop of jumps through inet t a"),
        ("deep", deep.as_str(), "more than 64 nested chains"),
        (
            "missing",
            missing.as_str(),
            "jump to a missing chain nowhere",
        ),
    ] {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, text).unwrap();
        let start = std::time::Instant::now();
        let r = fwgen(&[
            "audit",
            "--site",
            SITE,
            "--placement",
            "host",
            "--ruleset",
            path.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 1, "{name}: {}", r.stderr);
        assert!(
            r.stdout.contains("unknown") && r.stdout.contains(want),
            "{name}: {}",
            r.stdout
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "{name} took {:?}",
            start.elapsed()
        );
    }
    // A rule comment that tries to forge a report line (a line break, a bidi override).
    let forge = r#"{"nftables": [{"chain": {"family": "inet", "table": "t", "name": "input", "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
        {"rule": {"family": "inet", "table": "t", "chain": "input", "handle": 5, "comment": "x\nadmitted  web-ui   forged\u202e", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 161}}, {"accept": null}]}}]}"#;
    let path = dir.path().join("forge.json");
    std::fs::write(&path, forge).unwrap();
    for format in ["text", "markdown"] {
        let r = fwgen(&[
            "audit",
            "--site",
            SITE,
            "--placement",
            "host",
            "--format",
            format,
            "--ruleset",
            path.to_str().unwrap(),
        ]);
        assert!(r.stdout.contains("forged"), "{}", r.stdout);
        assert!(
            !r.stdout
                .lines()
                .any(|l| l.starts_with("admitted  web-ui   forged"))
                && !r.stdout.contains('\u{202e}'),
            "{format}: a comment forged a line:\n{}",
            r.stdout
        );
    }
    for (name, text, want) in [
        ("truncated", r#"{"nftables": [{"table": "#, "not JSON"),
        (
            "orphan",
            r#"{"nftables": [{"rule": {"family": "inet", "table": "t", "chain": "x", "expr": []}}]}"#,
            "a rule of an unknown chain inet t x",
        ),
        ("not-nft", r#"{"rules": []}"#, "no `nftables` array"),
    ] {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, text).unwrap();
        let r = fwgen(&[
            "audit",
            "--site",
            SITE,
            "--placement",
            "host",
            "--ruleset",
            path.to_str().unwrap(),
        ]);
        assert_eq!(r.code, 2, "{name}");
        assert!(r.stderr.contains(want), "{name}: {}", r.stderr);
    }
}

/// A Debian-style `iptables-save`: user chains, `-j` to them and `RETURN`, multiport, a set.
const DEBIAN_V4: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:admin - [0:0]
:services - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -s 198.18.0.2/32 -j admin
-A INPUT -j services
-A admin -p tcp -m multiport --dports 22,443 -j ACCEPT
-A admin -j RETURN
-A services -p tcp -m tcp --dport 1344 -m comment --comment \"icap\" -j ACCEPT
-A services -p udp -m set --match-set snmp src -m udp --dport 161 -j ACCEPT
COMMIT
";

const DEBIAN_V6: &str = "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 136 -j ACCEPT
-A INPUT -s 2001:db8:f::2/128 -p tcp -m tcp --dport 443 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 1000:2000 -j ACCEPT
COMMIT
";

const DEBIAN_SETS: &str = "create snmp hash:ip family inet hashsize 1024 maxelem 65536
add snmp 198.18.0.2
";

/// Load an iptables ruleset (ipsets, IPv4 and IPv6 files, in iptables-restore form) into the
/// gateway's namespace after clearing it, run `then`, and dump it as the tools save it.
fn ipt_load_and_dump(lab: &Lab, files: &[String; 3], then: &[&str]) -> [String; 3] {
    let sh = |script: &str, input: &str| lab.feed(&lab.gw, &["sh", "-c", script], input);
    sh(
        "iptables -F; iptables -X; ip6tables -F; ip6tables -X; nft flush ruleset; ipset destroy 2>/dev/null; true",
        "",
    );
    sh("ipset restore", &files[0]);
    sh("iptables-restore", &files[1]);
    sh("ip6tables-restore", &files[2]);
    for cmd in then {
        sh(cmd, "");
    }
    lab.forget_neighbours();
    [
        sh("ipset save", ""),
        sh("iptables-save", ""),
        sh("ip6tables-save", ""),
    ]
}

/// The same for iptables-save with ipset save: five rulesets and two mutants, audited from
/// what the tools save, then probed for real.
#[test]
fn audit_of_iptables_save_equals_what_the_kernel_does() {
    if !ready() {
        return;
    }
    let lab = Lab::new("b");
    lab.add_outsider();
    let generated = |extra: &[&str]| -> [String; 3] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec![
            "generate",
            "--site",
            SITE,
            "--placement",
            "host",
            "-b",
            "iptables",
        ];
        args.extend(extra);
        let files = crate::tools::generate_into(dir.path(), &args);
        let read = |name: &str| {
            std::fs::read_to_string(files.iter().find(|f| f.ends_with(name)).unwrap()).unwrap()
        };
        [read("ipsets"), read("rules.v4"), read("rules.v6")]
    };
    let fwgen_ipt = generated(&[]);
    let no_replies = [
        String::new(),
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT DROP [0:0]\n-A OUTPUT -p udp --dport 53 -j ACCEPT\nCOMMIT\n".to_string(),
        "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n".to_string(),
    ];
    let debian = [
        DEBIAN_SETS.to_string(),
        DEBIAN_V4.to_string(),
        DEBIAN_V6.to_string(),
    ];
    type Case<'a> = ([String; 3], &'a [&'a str], &'a [(&'a str, &'a str)]);
    let cases: Vec<Case> = vec![
        (fwgen_ipt.clone(), &[], &[("web-ui", "admitted")]),
        (
            generated(&["--no-default-features"]),
            &[],
            &[("ntp-clearswift", "blocked")],
        ),
        // SNMP over IPv4 only (the IPv6 file has no rule for it).
        (
            debian.clone(),
            &[],
            &[("snmp-monitoring", "partial"), ("web-ui", "admitted")],
        ),
        (no_replies, &[], &[("web-ui", "partial")]),
        (
            fwgen_ipt,
            &["iptables-save | grep -v 'fwgen web-ui' | iptables-restore"],
            &[("web-ui", "partial")],
        ),
        (
            debian,
            &["ipset del snmp 198.18.0.2"],
            &[("snmp-monitoring", "blocked")],
        ),
    ];
    let mut audits = Vec::new();
    for (n, (files, then, expect)) in cases.iter().enumerate() {
        let dumps = ipt_load_and_dump(&lab, files, then);
        let (_, findings) = audit_files(&dumps, &[]);
        for (id, verdict) in *expect {
            let f = findings["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["id"] == *id)
                .unwrap_or_else(|| panic!("case {n}: no finding {id}"));
            assert_eq!(f["verdict"], *verdict, "case {n}: {id}: {f}");
        }
        audits.push((n, findings));
    }
    let all: Vec<Value> = audits.iter().map(|a| a.1.clone()).collect();
    let (gw_tcp, gw_udp) = ports(&all, true);
    let (cli_tcp, cli_udp) = ports(&all, false);
    let _gw = lab.serve(&lab.gw, &gw_tcp, &gw_udp, "198.18.0.1,2001:db8:f::1");
    let _cli = lab.serve(
        &lab.cli,
        &cli_tcp,
        &cli_udp,
        "198.18.0.2,198.18.0.3,203.0.113.77,2001:db8:f::2,2001:db8:f::3,2001:db8:ffff::77",
    );
    let mut compared = 0;
    for ((n, findings), (files, then, _)) in audits.into_iter().zip(&cases) {
        ipt_load_and_dump(&lab, files, then);
        let (bad, k) = compare(&lab, &findings);
        assert!(bad.is_empty(), "case {n}:\n{}", bad.join("\n"));
        assert!(k > 10, "case {n}: only {k} probes in the lab");
        compared += k;
    }
    assert!(compared > 80, "only {compared} probes compared");
}

/// `--fix` prints commands the real tools accept, and after them the audit finds nothing
/// missing: for nftables (a ruleset without the default features, and one that drops the
/// replies) and iptables.
#[test]
fn fix_commands_load_and_admit_what_was_missing() {
    if !ready() {
        return;
    }
    let lab = Lab::new("c");
    let fix = |dumps: &[String]| -> String {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec!["audit", "--site", SITE, "--placement", "host", "--fix"];
        let mut paths = Vec::new();
        for (i, d) in dumps.iter().enumerate() {
            let p = dir.path().join(format!("dump-{i}"));
            std::fs::write(&p, d).unwrap();
            paths.push(p.to_str().unwrap().to_string());
        }
        for p in &paths {
            args.extend(["--ruleset", p.as_str()]);
        }
        let r = fwgen(&args);
        assert_eq!(r.code, 1, "findings expected: {}", r.stderr);
        r.stdout
    };
    let fewer = ok(&[
        "generate",
        "--site",
        SITE,
        "--placement",
        "host",
        "--no-default-features",
        "-b",
        "nftables",
    ]);
    for script in [fewer, NO_REPLIES.to_string()] {
        let dump = load_and_dump(&lab, &script, &[]);
        let commands = fix(&[dump]);
        assert!(commands.contains("insert rule "), "{commands}");
        let dump = load_and_dump(&lab, &format!("{script}\n{commands}"), &[]);
        let (code, findings) = audit(&dump, &[]);
        assert_eq!(code, 0, "after the fix: {findings}\n{commands}");
    }
    let dir = tempfile::tempdir().unwrap();
    let files = crate::tools::generate_into(
        dir.path(),
        &[
            "generate",
            "--site",
            SITE,
            "--placement",
            "host",
            "--no-default-features",
            "-b",
            "iptables",
        ],
    );
    let read = |name: &str| {
        std::fs::read_to_string(files.iter().find(|f| f.ends_with(name)).unwrap()).unwrap()
    };
    let ipt = [read("ipsets"), read("rules.v4"), read("rules.v6")];
    let dumps = ipt_load_and_dump(&lab, &ipt, &[]);
    let commands = fix(&dumps);
    assert!(commands.contains("iptables -I OUTPUT"), "{commands}");
    let lines: Vec<&str> = commands.lines().filter(|l| !l.starts_with('#')).collect();
    let after = ipt_load_and_dump(&lab, &ipt, &lines);
    let (code, findings) = audit_files(&after, &[]);
    assert_eq!(code, 0, "after the fix: {findings}\n{commands}");
}

/// Cisco IOS and ASA configurations: fwgen's own lists (with their bindings) admit every entry
/// and nothing over-broad; removing one ACE leaves its entry blocked or partial; a hand-written
/// IOS configuration with a numbered list and no return entries blocks what needs replies;
/// and without `--interface` or bindings the audit says what it needs.
#[test]
fn cisco_configurations_are_audited() {
    let site = "examples/site.yaml";
    let dir = tempfile::tempdir().unwrap();
    let audit = |path: &std::path::Path, extra: &[&str]| -> (i32, Value, String) {
        let mut args = vec![
            "audit",
            "--site",
            site,
            "--format",
            "json",
            "--ruleset",
            path.to_str().unwrap(),
        ];
        args.extend(extra);
        let r = fwgen(&args);
        let v = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
        (r.code, v, r.stderr)
    };
    let verdict = |v: &Value, id: &str| -> String {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .map(|f| f["verdict"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("no {id}"))
    };
    for (backend, bind) in [
        ("cisco-ios", &["--interface", "GigabitEthernet0/1"][..]),
        (
            "cisco-asa",
            &[
                "--interface",
                "dmz",
                "--ingress-interface",
                "outside,inside",
            ][..],
        ),
    ] {
        let mut args = vec!["generate", "--site", site, "-b", backend];
        args.extend(bind);
        let text = ok(&args);
        let path = dir.path().join(format!("{backend}.txt"));
        std::fs::write(&path, &text).unwrap();
        let (code, v, err) = audit(&path, bind);
        assert_eq!(code, 0, "{backend}: {err}\n{v}");
        assert!(
            v["over_broad"].as_array().unwrap().is_empty(),
            "{backend}: {v}"
        );
        // Without the permit after web-ui's remark (the IPv4 one).
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains("remark fwgen web-ui"))
            .unwrap();
        let mutant: Vec<&str> = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != at + 1)
            .map(|(_, l)| *l)
            .collect();
        std::fs::write(&path, mutant.join("\n")).unwrap();
        let (code, v, _) = audit(&path, bind);
        assert_eq!(code, 1, "{backend}");
        assert!(
            matches!(verdict(&v, "web-ui").as_str(), "partial" | "blocked"),
            "{backend}: {v}"
        );
        assert_eq!(verdict(&v, "smtp"), "admitted", "{backend}");
        // --fix: the ACEs it prints, pasted after the configuration, admit everything (IOS
        // takes them by sequence number, the ASA at `line 1`: first in their lists).
        let mut fix_args = vec![
            "audit",
            "--site",
            site,
            "--fix",
            "--ruleset",
            path.to_str().unwrap(),
        ];
        fix_args.extend(bind);
        let r = fwgen(&fix_args);
        assert_eq!(r.code, 1, "{}", r.stderr);
        assert!(r.stdout.contains("permit tcp 198.51.100.0"), "{}", r.stdout);
        let fixed = dir.path().join(format!("{backend}-fixed.txt"));
        std::fs::write(&fixed, format!("{}\n{}", mutant.join("\n"), r.stdout)).unwrap();
        let (code, v, _) = audit(&fixed, bind);
        assert_eq!(code, 0, "{backend} after the fix:\n{}\n{v}", r.stdout);
        // The bindings say which lists decide: without them, nothing to audit.
        let r = fwgen(&["audit", "--site", site, "--ruleset", path.to_str().unwrap()]);
        assert_eq!(r.code, 2);
        assert!(r.stderr.contains("needs --interface"), "{}", r.stderr);
    }
    let classic = "\
access-list 110 permit tcp any host 192.0.2.25 eq smtp
access-list 110 deny ip any any log
access-list 120 permit tcp host 192.0.2.25 eq 25 any gt 1023 established
interface GigabitEthernet0/1
 ip access-group 110 out
 ip access-group 120 in
";
    let path = dir.path().join("classic.txt");
    std::fs::write(&path, classic).unwrap();
    let (code, v, err) = audit(&path, &["--interface", "GigabitEthernet0/1"]);
    assert_eq!(code, 1, "{err}");
    // SMTP in: permitted both ways (its replies by the established entry); SMTP out: no
    // entry lets it start; the web interface: nothing over IPv4. No IPv6 list is bound, so
    // IOS lets IPv6 through: partial.
    assert_eq!(verdict(&v, "web-ui"), "partial");
    let smtp_in = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "smtp")
        .unwrap();
    let admitted_in = smtp_in["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["direction"] == "in" && p["dst"][0] == "192.0.2.25/32")
        .all(|p| p["result"] == "admitted");
    assert!(admitted_in, "{smtp_in}");
    assert_eq!(verdict(&v, "smtp"), "partial", "{smtp_in}");

    // Issue 25: a list bound to the interface but never defined. IOS permits everything
    // through an undefined list: every entry admitted, and over-broad findings (and a note)
    // that name the missing list.
    let undefined = "\
access-list 110 permit tcp any host 192.0.2.25 eq smtp
interface GigabitEthernet0/1
 ip access-group 198 out
 ip access-group 199 in
";
    std::fs::write(&path, undefined).unwrap();
    let (code, v, err) = audit(&path, &["--interface", "GigabitEthernet0/1"]);
    assert_eq!(code, 0, "{err}");
    for f in v["findings"].as_array().unwrap() {
        assert_eq!(f["verdict"], "admitted", "{f}");
    }
    let over = v["over_broad"].to_string();
    for list in ["198", "199"] {
        assert!(
            over.contains(&format!("IPv4 access list {list} is not defined")),
            "{list}: {over}"
        );
        assert!(
            v["notes"].to_string().contains(&format!(
                "IPv4 access list {list} is bound to an interface but not defined"
            )),
            "{v}"
        );
    }
}

/// The Cisco reading agrees with the nftables one, which the kernel tests check: for three
/// selections, fwgen's perimeter lists (IOS and ASA, bound as the file binds them) and its
/// perimeter nftables ruleset (loaded and dumped in a throwaway namespace) get the same
/// verdict for every connection tried.
#[test]
fn cisco_audits_agree_with_nftables_audits() {
    if !crate::util::have_tools(&["nft", "unshare"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let results = |args: &[&str]| -> Vec<(String, String)> {
        let r = fwgen(args);
        assert!(r.code == 0 || r.code == 1, "{args:?}: {}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        // How many connections each entry has admitted, blocked or unknown per direction
        // and protocol: the pieces may be cut differently (each format's rules and reasons
        // differ), the spaces they add up to must not.
        let mut sums: std::collections::BTreeMap<String, f64> = Default::default();
        for f in v["findings"].as_array().unwrap() {
            for p in f["parts"].as_array().unwrap() {
                let key = format!(
                    "{} {} {} {}",
                    f["id"], p["direction"], p["protocol"], p["result"]
                );
                // The part's size with its source ports: pieces cut on source ports (a list
                // that matches them) add up to the same. Counts past 2^64 (IPv6 prefixes) are
                // read as floating point.
                let sports: f64 = port_ranges(p["source_ports"].as_str().unwrap())
                    .iter()
                    .map(|&(lo, hi)| (hi - lo + 1) as f64)
                    .sum();
                *sums.entry(key).or_default() += p["connections"].as_f64().unwrap() * sports;
            }
        }
        sums.into_iter()
            .map(|(k, n)| (k, format!("{n:.9e}")))
            .collect::<Vec<_>>()
    };
    for site in [
        "examples/site.yaml",
        "examples/sites/dual-stack.yaml",
        "examples/sites/internal-servers.yaml",
    ] {
        let nft = ok(&["generate", "--site", site, "-b", "nftables"]);
        let nft_path = dir.path().join("p.nft");
        std::fs::write(&nft_path, &nft).unwrap();
        let dump = crate::util::in_throwaway_netns(&[
            "sh",
            "-c",
            &format!("nft -f {} && nft -j list ruleset", nft_path.display()),
        ]);
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        let json_path = dir.path().join("p.json");
        std::fs::write(&json_path, &dump.stdout).unwrap();
        let base = ["audit", "--site", site, "--format", "json", "--ruleset"];
        let mut a = base.to_vec();
        a.push(json_path.to_str().unwrap());
        let want = results(&a);
        for (backend, bind) in CISCO_BINDINGS.iter().copied() {
            let mut g = vec!["generate", "--site", site, "-b", backend];
            g.extend(bind);
            let path = dir.path().join("acl.txt");
            std::fs::write(&path, ok(&g)).unwrap();
            let mut a = base.to_vec();
            a.push(path.to_str().unwrap());
            a.extend(bind);
            let got = results(&a);
            assert_eq!(got, want, "{site} {backend}");
        }
    }
}

/// The selection binds names as generate does: with `--ip-ranges`, the CloudFront group's
/// connections are probed at CloudFront's prefixes, not at the outside address.
#[test]
fn audit_takes_ip_ranges_files_as_generate_does() {
    let dir = tempfile::tempdir().unwrap();
    let open = r#"{"nftables": [{"chain": {"family": "inet", "table": "t", "name": "out", "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}}]}"#;
    let path = dir.path().join("open.json");
    std::fs::write(&path, open).unwrap();
    let site_path = dir.path().join("site.yaml");
    std::fs::write(
        &site_path,
        "product: email-gateway\nversion: \"5.3\"\ngateway: [192.0.2.25, 2001:db8:25::25]\n",
    )
    .unwrap();
    let site = site_path.to_str().unwrap();
    let dsts = |extra: &[&str]| -> BTreeSet<String> {
        let mut args = vec![
            "audit",
            "--site",
            site,
            "--placement",
            "host",
            "--format",
            "json",
            "--ruleset",
            path.to_str().unwrap(),
        ];
        args.extend(extra);
        let r = fwgen(&args);
        let v: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("{}", r.stderr));
        let f = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == "product-updates")
            .unwrap()
            .clone();
        f["parts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["dst"].as_array().unwrap().clone())
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    let without = dsts(&[]);
    assert!(without.contains("0.0.0.0/1"), "{without:?}");
    let with = dsts(&["--ip-ranges", "tests/fixtures/names/ip-ranges.json"]);
    assert!(!with.contains("0.0.0.0/1") && with.len() > 2, "{with:?}");
}

/// `fwgen audit` of `SITE` in host placement, with these `--ruleset` files and `extra`
/// arguments: what it prints (it must exit 0 or 1).
fn audit_host(files: &[&str], extra: &[&str]) -> String {
    audit_of(SITE, files, &[&["--placement", "host"], extra].concat())
}

/// The example site, an email gateway.
const EXAMPLE: &str = "examples/site.yaml";

/// `fwgen audit` of `site` with `extra` arguments and these `--ruleset` files: what it
/// prints (it must exit 0 or 1).
fn audit_of(site: &str, files: &[&str], extra: &[&str]) -> String {
    let mut args = vec!["audit", "--site", site];
    args.extend(extra);
    for f in files {
        args.extend(["--ruleset", *f]);
    }
    let r = fwgen(&args);
    assert!(r.code == 0 || r.code == 1, "{args:?}: {}", r.stderr);
    r.stdout
}

/// Flood guards (the fixtures: `tcp flags syn limit rate over 100/second drop`, `ct count over`
/// and `quota over`, before an accept of SMTP; iptables' `hashlimit`, `connlimit` and `quota`
/// both ways): taken as never reached, they drop nothing, and a note says the audit assumed
/// so, naming the first rule. That they drop nothing in the kernel either is the live test's
/// (`audit_exact::rate_limits_quotas_and_set_statements_are_never_reached`).
#[test]
fn flood_guards_are_taken_as_never_reached_and_the_notes_say_so() {
    let audit = |rulesets: &[&str]| {
        let mut args = vec!["audit", "--site", "examples/site.yaml"];
        for r in rulesets {
            args.extend(["--ruleset", r]);
        }
        fwgen(&args).stdout
    };
    let nft = audit(&["tests/fixtures/audit/flood-guards.json"]);
    assert!(
        nft.contains(
            "note: 3 rules of the JSON listing hold a rate limit, quota, connection count or set \
             statement (the first: inet a forward_x, handle 3), each taken as never reached"
        ),
        "{nft}"
    );
    // SMTP in over IPv4 is accepted after the guards; the rest has no rule.
    assert!(nft.contains("partial   smtp "), "{nft}");
    let ipt = audit(&["tests/fixtures/audit/flood-guards-iptables-save.txt"]);
    assert!(
        ipt.contains(
            "note: 6 rules hold a rate limit, quota or connection count (the first: \
             iptables-save, line 5), each taken as never reached"
        ),
        "{ipt}"
    );
    assert!(!ipt.contains("-m hashlimit"), "{ipt}");
}

/// A rule iptables-nft wrote with one of iptables' own matches (`-m conntrack`, the fixture
/// is what nft printed): the listing names only the match, so the parts it decides are
/// unknown, and the reason says to audit iptables-save output instead.
#[test]
fn an_iptables_nft_match_points_to_iptables_save() {
    let r = fwgen(&[
        "audit",
        "--site",
        "examples/site.yaml",
        "--ruleset",
        "tests/fixtures/audit/iptables-nft.json",
    ]);
    assert!(
        r.stdout.contains(
            "unknown   smtp                         rule ip filter FORWARD handle 2: iptables' \
             match `conntrack` (a rule of iptables-nft, which nft's listing does not show): \
             give `iptables-save` and `ip6tables-save` output (with `ipset save`) as more \
             --ruleset files, and iptables' tables are read from them"
        ),
        "{}",
        r.stdout
    );
}

/// nft 1.0.6 lists `tcp sport >= 1000 tcp dport <= 2000 drop` as `tcp dport 1000-2000 drop`
/// (the fixtures are what it printed for that rule and a real range). Given the JSON listing
/// alone, nothing tells the two apart: the audit takes the ranges as printed and its report
/// says so, naming the first such rule and the listing that checks them. Given the bytecode
/// too, the note is gone and the misprinted rule is unreadable where it decides.
#[test]
fn ranges_read_without_the_bytecode_are_said_to_be_unchecked() {
    let json = "tests/fixtures/audit/misprint.json";
    let bytecode = "tests/fixtures/audit/misprint.bytecode";
    let audit = |files: &[&str]| audit_host(files, &[]);
    let alone = audit(&[json]);
    let note = "note: 2 rules of the JSON listing compare a header field with a range (the \
                first: inet t output, handle 2), which nft 1.0.6 also prints for two \
                comparisons of different fields";
    assert!(alone.contains(note), "{alone}");
    assert!(
        alone.contains("Give `nft --debug=netlink list ruleset` output as another --ruleset"),
        "{alone}"
    );
    assert!(!alone.contains("unknown  "), "{alone}");
    let checked = audit(&[json, bytecode]);
    assert!(!checked.contains("compare a header field"), "{checked}");
    assert!(checked.contains("unknown  "), "{checked}");
    assert!(checked.contains("nft misprints"), "{checked}");
}

/// nft 1.0.6 lists `meta nfproto ipv6 reject with tcp reset` as `meta l4proto tcp reject with
/// tcp reset` (the fixtures are what it printed), which would reset IPv4 too. Given the JSON
/// listing alone, the audit takes the rule as printed and its note says so; given the
/// bytecode too, it reads the family there: IPv4 is admitted, IPv6 TCP blocked. The
/// generated test against the kernel found this (its seed is kept).
#[test]
fn a_tcp_reset_for_one_family_is_read_from_the_bytecode() {
    let json = "tests/fixtures/audit/reset-family.json";
    let bytecode = "tests/fixtures/audit/reset-family.bytecode";
    let audit = |files: &[&str]| {
        let out = audit_host(files, &["--allow-unbound", "--format", "json"]);
        serde_json::from_str::<Value>(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    };
    // Each TCP entry's result, and whether a part it does not admit is IPv4.
    let results = |v: &Value| -> Vec<(String, String, bool)> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f.to_string().contains("\"tcp\""))
            .map(|f| {
                let v4_refused = f["parts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|p| p["result"] != "admitted" && !p["src"].to_string().contains(':'));
                (f["id"].to_string(), f["verdict"].to_string(), v4_refused)
            })
            .collect()
    };
    let alone = audit(&[json]);
    let note = "rejects with a TCP reset in a table of both families (the first: inet t input, \
                handle 2), where nft 1.0.6 leaves out a `meta nfproto` the rule has";
    assert!(alone.to_string().contains(note), "{alone}");
    assert!(results(&alone).iter().any(|r| r.2), "{alone}");
    let checked = audit(&[json, bytecode]);
    assert!(!checked.to_string().contains(note), "{checked}");
    let got = results(&checked);
    assert!(!got.is_empty() && got.iter().all(|r| !r.2), "{got:?}");
    assert!(got.iter().any(|r| r.1 == "\"partial\""), "{got:?}");
}

/// `text` written to `name` in `dir`: its path, as `--ruleset` takes it.
fn ruleset_file(dir: &tempfile::TempDir, name: impl AsRef<Path>, text: impl AsRef<str>) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text.as_ref()).unwrap();
    path.to_str().unwrap().to_string()
}

/// A destination rewrite in a nat chain (`-j DNAT`, `dnat`) is unknown for its own reason:
/// the rewrite starts connection tracking, so its nat chain sees the connections' first
/// packets, and nothing is in doubt about whether it does (see
/// `audit_exact::a_nat_chain_sees_packets_only_while_connections_are_tracked`).
#[test]
fn a_destination_rewrite_is_unknown_for_its_own_reason() {
    let dir = tempfile::tempdir().unwrap();
    let save = ruleset_file(
        &dir,
        "iptables-save.txt",
        "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         :POSTROUTING ACCEPT [0:0]\n\
         -A PREROUTING -p tcp --dport 25 -j DNAT --to-destination 192.0.2.10:2525\nCOMMIT\n",
    );
    let json = ruleset_file(
        &dir,
        "listing.json",
        r#"{"nftables": [{"table": {"family": "ip", "name": "nat", "handle": 1}},
{"chain": {"family": "ip", "table": "nat", "name": "pre", "handle": 1, "type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"}},
{"rule": {"family": "ip", "table": "nat", "chain": "pre", "handle": 2, "expr": [
  {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 25}},
  {"dnat": {"addr": "192.0.2.10", "port": 2525}}]}}]}"#,
    );
    for (file, why) in [
        (&save, "target DNAT rewrites the destination"),
        (&json, "`dnat` rewrites the destination"),
    ] {
        let out = audit_of(EXAMPLE, &[file.as_str()], &[]);
        let smtp: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("unknown   smtp "))
            .collect();
        assert_eq!(smtp.len(), 1, "{out}");
        assert!(smtp.iter().all(|l| l.contains(why)), "{out}");
    }
}

/// `iptables-save -c` puts each rule's counters before it (`[0:0] -A INPUT …`): read past,
/// so the audit of a saved ruleset with counters is the audit without them (it was refused:
/// "not a rule").
#[test]
fn iptables_save_with_counters_is_read_as_without() {
    let plain = std::fs::read_to_string("tests/fixtures/audit/iptables-save-v4.txt").unwrap();
    let counted: String = plain
        .lines()
        .enumerate()
        .map(|(i, l)| match l.starts_with("-A ") {
            true => format!("[{i}:{}] {l}\n", i * 60),
            false => format!("{l}\n"),
        })
        .collect();
    assert_ne!(plain, counted);
    let dir = tempfile::tempdir().unwrap();
    let path = ruleset_file(&dir, "iptables-save-c.txt", &counted);
    let audit = |file: &str| audit_of(EXAMPLE, &[file], &[]);
    let with = audit(path.as_str());
    assert_eq!(with, audit("tests/fixtures/audit/iptables-save-v4.txt"));
    assert!(with.contains("blocked "), "{with}");
}

/// iptables-nft cannot show a table of its own that holds chains nft made (the fixture: what
/// iptables-save -c 1.8.9 printed for `table ip filter` with iptables' INPUT chain, which
/// accepts SMTP, and a chain `guard` on the input hook with policy drop, which it leaves
/// out). It says so in a comment, and prints the rest (older versions print nothing of the
/// table): every IPv4 part is unknown, saying why and what to audit instead (SMTP inbound
/// was `admitted`, and the kernel drops it: `audit_exact::a_table_iptables_cannot_show_is_unknown`).
#[test]
fn a_table_iptables_save_cannot_show_makes_its_family_unknown() {
    let fixture = "tests/fixtures/audit/iptables-save-hidden-chain.txt";
    let newer = std::fs::read_to_string(fixture).unwrap();
    let older = "# Table `filter' is incompatible, use 'nft' tool.\n";
    let dir = tempfile::tempdir().unwrap();
    let path = ruleset_file(&dir, "older.txt", older);
    assert!(newer.contains("incompatible base-chains"), "{newer}");
    for file in [fixture, path.as_str()] {
        let out = audit_of(
            EXAMPLE,
            &[file],
            &["--placement", "host", "--format", "json"],
        );
        let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        let mut v4 = 0;
        for f in report["findings"].as_array().unwrap() {
            for p in f["parts"].as_array().unwrap() {
                if p["dst"][0].as_str().is_some_and(|a| a.contains(':'))
                    || p["src"][0].as_str().is_some_and(|a| a.contains(':'))
                {
                    continue;
                }
                v4 += 1;
                assert_eq!(p["result"], "unknown", "{file}: {p}");
                let why = p["decided_by"].as_str().unwrap_or("");
                assert!(
                    why.contains("iptables-save says table filter holds chains it cannot show")
                        && why.contains("give `nft -j list ruleset` output as another --ruleset"),
                    "{file}: {why}"
                );
            }
        }
        assert!(v4 > 10, "{file}: {v4} IPv4 parts");
    }
}

/// `nft -t` (terse) lists no set's elements, and its JSON is then what an empty set's is:
/// the audit takes such a set as empty, and a note says so, naming the first rule that names
/// one, and what to give instead. A dynamic set, which packets fill, is not counted.
#[test]
fn sets_listed_without_elements_are_noted() {
    let dir = tempfile::tempdir().unwrap();
    let listing = |blocked_elems: &str| {
        format!(
            r#"{{"nftables": [{{"table": {{"family": "inet", "name": "t", "handle": 1}}}},
{{"set": {{"family": "inet", "name": "blocked", "table": "t", "type": "ipv4_addr", "handle": 2{blocked_elems}}}}},
{{"set": {{"family": "inet", "name": "seen", "table": "t", "type": "ipv4_addr", "handle": 3, "flags": ["dynamic"]}}}},
{{"chain": {{"family": "inet", "table": "t", "name": "input", "handle": 4, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}}}},
{{"rule": {{"family": "inet", "table": "t", "chain": "input", "handle": 5, "expr": [{{"match": {{"op": "==", "left": {{"payload": {{"protocol": "ip", "field": "saddr"}}}}, "right": "@seen"}}}}, {{"counter": null}}]}}}},
{{"rule": {{"family": "inet", "table": "t", "chain": "input", "handle": 6, "expr": [{{"match": {{"op": "==", "left": {{"payload": {{"protocol": "ip", "field": "saddr"}}}}, "right": "@blocked"}}}}, {{"drop": null}}]}}}}]}}"#
        )
    };
    let audit = |name: &str, text: String| {
        let path = ruleset_file(&dir, name, &text);
        audit_host(&[path.as_str()], &[])
    };
    let terse = audit("terse.json", listing(""));
    assert!(
        terse.contains(
            "note: 1 rule of the JSON listing names a set or map listed without elements (the \
             first: inet t input, handle 6), each taken as empty"
        ) && terse.contains("give `nft -j list ruleset` without -t"),
        "{terse}"
    );
    let full = audit("full.json", listing(r#", "elem": ["192.0.2.99"]"#));
    assert!(!full.contains("without elements"), "{full}");
}

/// Beside iptables-save output, the listing's copies of iptables' tables are neither read
/// nor counted in its notes: iptables-save's own reading counts them. The listing's `ip
/// filter` here has a rate limit (which its note would count), the save text's none.
#[test]
fn iptables_tables_beside_a_listing_are_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let listing = ruleset_file(
        &dir,
        "listing.json",
        r#"{"nftables": [{"table": {"family": "ip", "name": "filter", "handle": 1}},
{"chain": {"family": "ip", "table": "filter", "name": "INPUT", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
{"rule": {"family": "ip", "table": "filter", "chain": "INPUT", "handle": 2, "expr": [{"limit": {"rate": 10, "per": "second"}}, {"drop": null}]}},
{"table": {"family": "inet", "name": "native", "handle": 2}},
{"chain": {"family": "inet", "table": "native", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 10, "policy": "accept"}}]}"#,
    );
    let save = ruleset_file(
        &dir,
        "iptables-save.txt",
        "# Generated by iptables-save v1.8.9 (nf_tables)\n*filter\n:INPUT ACCEPT [0:0]\n\
         :FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
    );
    let alone = audit_host(&[listing.as_str()], &[]);
    assert!(alone.contains("holds a rate limit"), "{alone}");
    let both = audit_host(&[listing.as_str(), save.as_str()], &[]);
    assert!(!both.contains("rate limit"), "{both}");
    // IPv4 is iptables-save's (nothing drops), IPv6 the listing's (nothing drops either).
    assert!(!both.contains("unknown "), "{both}");
}

/// iptables-legacy's tables run beside nftables' tables, not among them: beside its save
/// text, a listing's own `ip filter` table (here dropping every IPv4 packet) is still read.
/// The same save text from iptables-nft is the listing's `ip filter`, read in its place.
#[test]
fn iptables_legacy_beside_a_listing_replaces_none_of_its_tables() {
    let dir = tempfile::tempdir().unwrap();
    let listing = ruleset_file(
        &dir,
        "listing.json",
        r#"{"nftables": [{"table": {"family": "ip", "name": "filter", "handle": 1}},
{"chain": {"family": "ip", "table": "filter", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}]}"#,
    );
    let audit = |variant: &str| {
        let save = ruleset_file(
            &dir,
            format!("{variant}.txt"),
            format!(
                "# Generated by iptables-save v1.8.9 ({variant}) on Sun Dec  6 12:00:00 2026\n\
                 *filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n\
                 COMMIT\n"
            ),
        );
        audit_host(&[listing.as_str(), save.as_str()], &[])
    };
    let legacy = audit("legacy");
    assert!(
        legacy.contains("policy drop of chain ip filter input"),
        "{legacy}"
    );
    let nft = audit("nf_tables");
    assert!(!nft.contains("policy drop"), "{nft}");
}

/// A chain name with line breaks (the kernel takes any name; nft's JSON input makes one)
/// makes iptables-save print lines of its own: here a rule accepting 443 that is not there,
/// while INPUT drops everything. Beside the listing, which shows the name as it is, the
/// audit decides nothing of that family from the save text, and says why. Before, the web
/// interface was "admitted".
#[test]
fn a_chain_name_that_forges_save_lines_is_seen_beside_the_listing() {
    let dir = tempfile::tempdir().unwrap();
    let forged = "x\n-A INPUT -p tcp --dport 443 -j ACCEPT\n:y";
    let json = serde_json::json!({"nftables": [
        {"table": {"family": "ip", "name": "filter", "handle": 1}},
        {"chain": {"family": "ip", "table": "filter", "name": "INPUT", "handle": 1,
            "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
        {"chain": {"family": "ip", "table": "filter", "name": forged, "handle": 2}},
    ]});
    let listing = ruleset_file(&dir, "listing.json", json.to_string());
    let save = ruleset_file(
        &dir,
        "iptables-save.txt",
        format!(
            "# Generated by iptables-save v1.8.9 (nf_tables)\n*filter\n:INPUT DROP [0:0]\n\
             :FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:{forged} - [0:0]\nCOMMIT\n"
        ),
    );
    // The web interface's block of the report: its IPv4 part is what the save text decides
    // (alone, IPv6 is not given; beside the listing, IPv6 is the listing's, which filters
    // nothing).
    let web = |report: &str| -> String {
        report
            .split("\n")
            .skip_while(|l| !l.contains(" web-ui "))
            .take(4)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let ipv4 = "not admitted: in tcp 443 198.18.0.2/32";
    let alone = audit_host(&[save.as_str()], &[]);
    assert!(!web(&alone).contains(ipv4), "{alone}");
    let both = audit_host(&[listing.as_str(), save.as_str()], &[]);
    assert!(
        web(&both).contains(&format!(
            "{ipv4} -> 198.18.0.1/32: table ip filter has a chain"
        )),
        "{both}"
    );
    assert!(web(&both).contains("with a line break"), "{both}");
}

/// `ipset list` output (the fixture: what ipset 7 printed for two sets and an empty one) is
/// read as `ipset save` output of the same sets is; `ipset list -t` (no members) is refused,
/// saying what to give, since taking its sets as empty would decide what they match wrongly.
#[test]
fn ipset_list_output_is_read_as_ipset_save() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| ruleset_file(&dir, name, text);
    let v4 = write(
        "v4.txt",
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n\
         -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
         -A INPUT -p tcp -m set --match-set fw-smtp4 src -m tcp --dport 25 -j ACCEPT\n\
         -A INPUT -p tcp -m set --match-set fw-empty src -m tcp --dport 443 -j ACCEPT\nCOMMIT\n",
    );
    let v6 = write(
        "v6.txt",
        "# Generated by ip6tables-save\n*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n\
         :OUTPUT ACCEPT [0:0]\n-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT\n\
         -A INPUT -p ipv6-icmp -j ACCEPT\n\
         -A INPUT -m set --match-set fw-web6 src,dst -j ACCEPT\nCOMMIT\n",
    );
    let saved = write(
        "save.txt",
        "create fw-smtp4 hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12\n\
         add fw-smtp4 203.0.113.7\nadd fw-smtp4 198.51.100.0/28\n\
         create fw-web6 hash:net,port family inet6 hashsize 1024 maxelem 65536 bucketsize 12\n\
         add fw-web6 2001:db8:25::/64,tcp:443\n\
         create fw-empty hash:ip family inet hashsize 1024 maxelem 65536 bucketsize 12\n",
    );
    let audit = |sets: &str| audit_of(EXAMPLE, &[&v4, &v6, sets], &["--placement", "host"]);
    let listed = audit("tests/fixtures/audit/ipset-list.txt");
    assert_eq!(listed, audit(&saved));
    assert!(listed.contains("partial   smtp "), "{listed}");
    let full = std::fs::read_to_string("tests/fixtures/audit/ipset-list.txt").unwrap();
    let terse: String = full
        .split("\n\n")
        .map(|b| {
            b.split("Members:")
                .next()
                .unwrap_or_default()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    let path = write("terse.txt", &terse);
    let r = fwgen(&[
        "audit",
        "--site",
        SITE,
        "--placement",
        "host",
        "--ruleset",
        &v4,
        "--ruleset",
        &path,
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(
        r.stderr.contains(
            "set fw-smtp4 is listed without its members (`ipset list -t`): give `ipset save` output"
        ),
        "{}",
        r.stderr
    );
}
