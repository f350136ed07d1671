//! The audit equals the kernel on rulesets nobody wrote by hand: a property test draws small
//! nftables rulesets (and iptables + ipset ones) over a tiny universe (the lab's gateway,
//! peers in two prefixes per family, the outsider; a few ports; TCP, UDP and ICMP echo
//! (pings of the site's own entries); both directions) from the constructs hand-written
//! firewalls use: named and anonymous sets, prefixes, ranges, negation, `<` and `>`,
//! jump/goto/return, verdict maps and concatenations (anonymous and named), interface names,
//! rejects of each kind, rate limits, quotas, connection counts and set statements, drops
//! before accepts, a second table on another hook, state matches on one side only, TCP flags,
//! and neighbour discovery admitted or not (in one test, that second table a nat chain).
//! Each is loaded into the lab's gateway namespace, audited from what `nft -j list ruleset`
//! (or `iptables-save` and `ipset save`) prints, and every connection of every part the
//! audit reports that the lab can make is made with real packets (TCP counts when data passes
//! both ways after the handshake; UDP when two datagrams are echoed; ICMP when two echo
//! requests of one exchange are answered). The audit's result for each must be what the
//! packets saw, and never unknown: the generator draws only what the audit models.

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use serde_json::Value;

use crate::live::{Lab, ready};
use crate::util::fwgen;

const SITE: &str = "tests/fixtures/sites/exact-lab.yaml";

/// The lab's addresses: the gateway's, the peers' (two prefixes per family) and the
/// outsider's.
const ADDRESSES: &[&str] = &[
    "198.18.0.1",
    "198.18.0.2",
    "198.18.0.3",
    "198.18.0.9",
    "203.0.113.77",
    "2001:db8:f::1",
    "2001:db8:f::2",
    "2001:db8:f::3",
    "2001:db8:f::9",
    "2001:db8:ffff::77",
];

const GATEWAY: &[&str] = &["198.18.0.1", "2001:db8:f::1"];

/// The universe behind a firewall (perimeter placement, [`Lab::perimeter_universe`]): the
/// same peers and outsider, the gateway on the firewall's other side.
const PERIMETER_SITE: &str = "tests/fixtures/sites/exact-lab-perimeter.yaml";
const PERIMETER_GATEWAY: &[&str] = &["198.18.2.2", "2001:db8:2::2"];

/// Where a lab's ruleset runs, and what the audit is told of it.
struct At {
    /// The namespace the ruleset is loaded into: the gateway's (host placement) or the
    /// firewall's (perimeter).
    ns: String,
    site: &'static str,
    gateway: &'static [&'static str],
    /// The audit's placement options.
    placement: Vec<String>,
    /// The interface a ruleset's `IFACE` names.
    iface: String,
}

impl At {
    fn of(lab: &Lab) -> At {
        match &lab.fw {
            None => At {
                ns: lab.gw.clone(),
                site: SITE,
                gateway: GATEWAY,
                placement: ["--placement", "host", "--interface", &lab.gw_dev()]
                    .map(String::from)
                    .to_vec(),
                iface: lab.gw_dev(),
            },
            Some(fw) => {
                let (ingress, egress) = lab.fw_devs();
                At {
                    ns: fw.clone(),
                    site: PERIMETER_SITE,
                    gateway: PERIMETER_GATEWAY,
                    placement: [
                        "--placement",
                        "perimeter",
                        "--interface",
                        &egress,
                        "--ingress-interface",
                        &ingress,
                    ]
                    .map(String::from)
                    .to_vec(),
                    iface: egress,
                }
            }
        }
    }

    /// The lab's addresses: the peers', the outsider's and the gateway's.
    fn addresses(&self) -> Vec<&'static str> {
        ADDRESSES
            .iter()
            .filter(|a| !GATEWAY.contains(a))
            .chain(self.gateway)
            .copied()
            .collect()
    }
}

/// Addresses a rule may name, IPv4.
const ADDR4: &[&str] = &[
    "198.18.0.2",
    "198.18.0.3",
    "198.18.0.9",
    "198.18.0.2/31",
    "198.18.0.8/29",
    "198.18.0.0/24",
    "198.18.0.2-198.18.0.9",
    "{ 198.18.0.3, 198.18.0.9 }",
    "203.0.113.0/24",
    "@a4",
];

/// Addresses a rule may name, IPv6.
const ADDR6: &[&str] = &[
    "2001:db8:f::2",
    "2001:db8:f::9",
    "2001:db8:f::2/127",
    "2001:db8:f::8/125",
    "2001:db8:f::3-2001:db8:f::9",
    "{ 2001:db8:f::3, 2001:db8:f::9 }",
    "2001:db8:f::/64",
    "@a6",
];

/// Ports a rule may name (`true`: it may be negated).
const PORTS: &[(&str, bool)] = &[
    ("443", true),
    ("1344", true),
    ("161", true),
    ("53", true),
    ("80", true),
    ("{ 443, 1344 }", true),
    ("{ 53, 123, 162 }", true),
    ("80-443", true),
    ("1000-2000", true),
    ("< 1024", false),
    ("> 1000", false),
    (">= 1000", false),
    ("<= 2000", false),
    ("@p", true),
];

/// One match of a rule.
fn matching() -> impl Strategy<Value = String> {
    let neg = || prop_oneof![3 => Just(""), 1 => Just("!= ")];
    let addr4 = (
        prop::sample::select(vec!["saddr", "daddr"]),
        neg(),
        prop::sample::select(ADDR4),
    )
        .prop_map(|(side, n, a)| format!("ip {side} {n}{a}"));
    let addr6 = (
        prop::sample::select(vec!["saddr", "daddr"]),
        neg(),
        prop::sample::select(ADDR6),
    )
        .prop_map(|(side, n, a)| format!("ip6 {side} {n}{a}"));
    let port = (
        prop::sample::select(vec![
            "tcp dport",
            "udp dport",
            "th dport",
            "tcp sport",
            "udp sport",
        ]),
        neg(),
        prop::sample::select(PORTS),
    )
        .prop_map(|(field, n, (p, negatable))| {
            let n = if negatable { n } else { "" };
            format!("{field} {n}{p}")
        });
    let other = prop::sample::select(vec![
        "ct state new",
        "ct state established,related",
        "ct state established",
        "ct state != established",
        "meta l4proto tcp",
        "meta l4proto udp",
        "meta l4proto icmp",
        "meta l4proto ipv6-icmp",
        "icmp type echo-request",
        "icmp type { echo-request, echo-reply }",
        "icmp type echo-reply",
        "icmpv6 type echo-request",
        "icmpv6 type { echo-request, echo-reply }",
        "icmpv6 type echo-reply",
        "meta nfproto ipv6",
        "tcp flags syn",
        "tcp flags & (syn | ack) == syn",
        "meta pkttype host",
        "fib daddr type local",
        "fib daddr type unicast",
        "ip protocol tcp",
        "ip protocol udp",
        "meta l4proto { tcp, udp }",
        "ct state invalid",
        "ct state { new, established }",
        "ct state != new",
        "ct state untracked",
        "meta l4proto != tcp",
        "ip6 nexthdr tcp",
        "ip6 nexthdr udp",
        "tcp flags & (syn | ack) != syn",
        // Named concatenations (the table's `c4` and `c6`).
        "ip saddr . th dport @c4",
        "ip6 daddr . th dport @c6",
        // The gateway's side of the lab (`IFACE`, replaced when loaded) and another.
        "iifname \"IFACE\"",
        "oifname \"IFACE\"",
        "iifname != \"IFACE\"",
        "iifname \"lo\"",
        "oifname { \"lo\", \"IFACE\" }",
        // Concatenations: an address and a port together.
        "ip saddr . tcp dport { 198.18.0.2 . 443, 198.18.0.9 . 1344, 203.0.113.77 . 80 }",
        "ip daddr . th dport { 198.18.0.2 . 53, 198.18.0.8/30 . 161 }",
        "ip6 saddr . udp dport { 2001:db8:f::2 . 161, 2001:db8:f::9 . 53 }",
        // Rate limits, quotas and counts the lab's few connections never reach (the audit
        // takes them as never reached), and set statements, whose key a packet must have
        // (the tables' dynamic sets `d4` and `d6`).
        "limit rate over 100000/second burst 100000 packets",
        "limit rate 100000/second burst 100000 packets",
        "quota over 1000 mbytes",
        "ct count over 100000",
        "update @d4 { ip saddr limit rate 100000/second burst 100000 packets }",
        "add @d6 { ip6 daddr . th dport }",
    ])
    .prop_map(String::from);
    prop_oneof![3 => addr4, 3 => addr6, 4 => port, 3 => other]
}

/// One rule: up to three matches and a verdict (`user`: a rule of the user chain, which
/// may return but not jump).
fn rule(user: bool) -> impl Strategy<Value = String> {
    let verdicts: Vec<&str> = if user {
        vec![
            "accept",
            "drop",
            "return",
            "counter drop",
            "accept",
            "tcp dport vmap { 443 : accept, 1344 : drop, 80 : return }",
        ]
    } else {
        vec![
            "accept",
            "drop",
            "jump u",
            "goto u",
            "counter accept",
            "reject",
            // Verdict maps: the verdict of the element the packet's value is in, if any.
            "tcp dport vmap { 443 : accept, 1344 : drop, 80-200 : jump u }",
            "th dport vmap { 53 : accept, 161 : drop, 1000-2000 : goto u }",
            "ip saddr vmap { 198.18.0.2 : accept, 198.18.0.8/29 : drop }",
            "ip6 daddr vmap { 2001:db8:f::2 : drop, 2001:db8:f::8/125 : accept }",
            "meta l4proto vmap { udp : drop, tcp : jump u }",
            // The table's named verdict map, and rejects of each kind.
            "th dport vmap @vm",
            "reject with tcp reset",
            "reject with icmpx admin-prohibited",
            "reject with icmp host-prohibited",
            "reject with icmpv6 admin-prohibited",
        ]
    };
    (
        prop::collection::vec(matching(), 0..=3),
        prop::sample::select(verdicts),
    )
        .prop_filter("one family and one transport per rule", |(m, v)| {
            consistent(&[m.as_slice(), &[(*v).to_string()]].concat())
        })
        .prop_map(|(m, v)| format!("{} {v}", m.join(" ")).trim().to_string())
}

/// Whether nft accepts these matches in one rule: one family (`ip` or `ip6`; ICMP is IPv4's,
/// ICMPv6 IPv6's), one transport (`tcp`, `udp`, `icmp`, `icmpv6`; `th` with any).
fn consistent(m: &[String]) -> bool {
    // `meta l4proto { tcp, udp }` and `meta l4proto vmap` name both: only `th` goes with them.
    let both = |x: &String| {
        ["meta l4proto {", "meta l4proto vmap", "meta l4proto !="]
            .iter()
            .any(|p| x.starts_with(p))
    };
    let (either, m): (Vec<&String>, Vec<&String>) = m.iter().partition(|x| both(x));
    let has = |p: &str| {
        m.iter()
            .any(|x| x.starts_with(p) || x.contains(&format!(" {p}")))
    };
    let icmp = has("icmp ") || has("meta l4proto icmp");
    let icmpv6 = has("icmpv6 ") || has("meta l4proto ipv6-icmp");
    let v4 = has("ip ") || icmp;
    let v6 = has("ip6 ") || has("meta nfproto ipv6") || icmpv6;
    let tcp =
        has("tcp ") || has("meta l4proto tcp") || has("ip protocol tcp") || has("nexthdr tcp");
    let udp =
        has("udp ") || has("meta l4proto udp") || has("ip protocol udp") || has("nexthdr udp");
    let transports = [tcp, udp, icmp, icmpv6].iter().filter(|&&t| t).count();
    !(v4 && v6) && transports <= 1 && (either.is_empty() || transports == 0)
}

/// A base chain: (policy drop, neighbour discovery admitted, established accepted first,
/// rules).
type Chain = (bool, bool, bool, Vec<String>);

/// A base chain's policy and rules, and whether neighbour discovery is admitted first.
fn chain() -> impl Strategy<Value = Chain> {
    (
        any::<bool>(),
        prop::bool::weighted(0.6),
        prop::bool::weighted(0.5),
        prop::collection::vec(rule(false), 0..=5),
    )
}

/// Elements of the named sets (`flags interval; auto-merge`: overlaps allowed).
fn elements(from: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::sample::subsequence(from, 1..=from.len()).prop_map(|v| v.join(", "))
}

#[derive(Debug, Clone)]
struct Case {
    input: Chain,
    output: Chain,
    user: Vec<String>,
    /// Rules of a second table's prerouting chain (`None`: no such table).
    pre: Option<Vec<String>>,
    a4: String,
    a6: String,
    p: String,
}

fn case() -> impl Strategy<Value = Case> {
    (
        chain(),
        chain(),
        prop::collection::vec(rule(true), 0..=4),
        prop::option::weighted(0.3, prop::collection::vec(rule(true), 1..=3)),
        elements(&["198.18.0.2", "198.18.0.9", "198.18.0.8/30", "203.0.113.77"]),
        elements(&["2001:db8:f::2", "2001:db8:f::9", "2001:db8:f::8/126"]),
        elements(&["443", "1344", "1000-2000", "161", "53"]),
    )
        .prop_map(|(input, output, user, pre, a4, a6, p)| Case {
            input,
            output,
            user,
            // A prerouting chain's `return` ends it (its policy accepts).
            pre,
            a4,
            a6,
            p,
        })
}

const ND_RULE: &str = "icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept";

impl Case {
    /// The ruleset on the gateway: `input` and `output` its base chains.
    fn nft(&self) -> String {
        self.nft_on(&[
            (("input", "input", 0), &self.input),
            (("output", "output", 0), &self.output),
        ])
    }

    /// The ruleset on a firewall between the peers and the gateway: `input` and `output`
    /// become two chains of the forward hook (the second at priority 10: both must accept),
    /// and `own`, if any, the firewall's own input and output chains (its neighbour
    /// discovery with both sides passes them).
    fn nft_forward(&self, own: Option<&(Chain, Chain)>) -> String {
        let mut chains = vec![
            (("forward", "forward", 0), &self.input),
            (("forward2", "forward", 10), &self.output),
        ];
        if let Some((input, output)) = own {
            chains.push((("input", "input", 0), input));
            chains.push((("output", "output", 0), output));
        }
        self.nft_on(&chains)
    }

    /// The ruleset with these base chains (name, hook and priority; policy and rules).
    fn nft_on(&self, chains: &[((&str, &str, i32), &Chain)]) -> String {
        let base = |(name, hook, prio): (&str, &str, i32), (drop, nd, est, rules): &Chain| {
            let mut s = format!(
                "    chain {name} {{\n        type filter hook {hook} priority {prio}; policy {};\n",
                if *drop { "drop" } else { "accept" }
            );
            if *est {
                s.push_str("        ct state established,related accept\n");
            }
            if *nd {
                s.push_str(&format!("        {ND_RULE}\n"));
            }
            for r in rules {
                s.push_str(&format!("        {r}\n"));
            }
            s.push_str("    }\n");
            s
        };
        let mut s = format!(
            "flush ruleset\ntable inet t {{\n    set a4 {{ type ipv4_addr; flags interval; auto-merge; elements = {{ {} }} }}\n    set a6 {{ type ipv6_addr; flags interval; auto-merge; elements = {{ {} }} }}\n    set p {{ type inet_service; flags interval; auto-merge; elements = {{ {} }} }}\n    set c4 {{ type ipv4_addr . inet_service; elements = {{ 198.18.0.2 . 443, 198.18.0.9 . 161, 203.0.113.77 . 53 }} }}\n    set c6 {{ type ipv6_addr . inet_service; elements = {{ 2001:db8:f::2 . 1344, 2001:db8:f::9 . 123 }} }}\n    map vm {{ type inet_service : verdict; elements = {{ 443 : accept, 161 : drop, 53 : accept }} }}\n    set d4 {{ type ipv4_addr; flags dynamic; }}\n    set d6 {{ type ipv6_addr . inet_service; flags dynamic; }}\n",
            self.a4, self.a6, self.p
        );
        for (at, chain) in chains {
            s.push_str(&base(*at, chain));
        }
        s.push_str("    chain u {\n");
        for r in &self.user {
            s.push_str(&format!("        {r}\n"));
        }
        s.push_str("    }\n}\n");
        if let Some(pre) = &self.pre {
            s.push_str("table inet early {\n    set a4 { type ipv4_addr; flags interval; auto-merge; elements = { 198.18.0.9 } }\n    set a6 { type ipv6_addr; flags interval; auto-merge; elements = { 2001:db8:f::9 } }\n    set p { type inet_service; elements = { 161 } }\n    set c4 { type ipv4_addr . inet_service; elements = { 198.18.0.9 . 161 } }\n    set c6 { type ipv6_addr . inet_service; elements = { 2001:db8:f::9 . 53 } }\n    set d4 { type ipv4_addr; flags dynamic; }\n    set d6 { type ipv6_addr . inet_service; flags dynamic; }\n    chain prerouting {\n        type filter hook prerouting priority -150; policy accept;\n");
            for r in pre {
                let r = r.replace("return", "accept");
                s.push_str(&format!("        {r}\n"));
            }
            s.push_str("    }\n}\n");
        }
        s
    }
}

/// The lab connections of every part of an audit (a part cut within Linux's source ports is
/// left out: a probe cannot tell its pieces apart), with the result the audit gives.
fn expected(findings: &Value, at: &At) -> Result<Vec<(Value, bool, String)>, String> {
    let mut out = Vec::new();
    let addresses = at.addresses();
    for f in findings["findings"].as_array().unwrap_or(&Vec::new()) {
        // The sampling audit's report (before the exact one): one probe per sample. Read too,
        // so that this test can be run against it to show what it got wrong.
        for p in f["probes"].as_array().unwrap_or(&Vec::new()) {
            let probe = serde_json::json!({"src": p["src"], "dst": p["dst"], "proto": p["protocol"], "port": p["port"]});
            let what = format!("{} {} {}", f["id"], p["result"], p["decided_by"]);
            let inbound = p["direction"] == "in";
            let lab = |a: &Value| addresses.contains(&a.as_str().unwrap_or(""));
            if lab(&p["src"])
                && lab(&p["dst"])
                && at.gateway.contains(&p["src"].as_str().unwrap_or("")) != inbound
            {
                out.push((probe, p["result"] == "admitted", what));
            }
        }
        for p in f["parts"].as_array().unwrap_or(&Vec::new()) {
            if !crate::audit::from_linux_ports(p) {
                continue;
            }
            for (src, dst, port) in crate::audit::lab_connections(p, &addresses) {
                let inbound = p["direction"] == "in";
                // The gateway opens outbound connections, the client side inbound ones.
                if at.gateway.contains(&src.as_str()) == inbound {
                    continue;
                }
                // The constructs the generator draws that no audit can decide: `th dport` on
                // ICMP reads a checksum (what the kernel does is chance); nft's listing of
                // `X sport < 1024 X dport > 1000` is `X dport != 1024-1000`, and of `X
                // sport >= 1000 X dport <= 2000` `X dport 1000-2000`, which are not the
                // rules the kernel holds (the audit says it cannot read them, from the
                // listing or from the bytecode beside it). And one input the audit is not
                // given: in perimeter placement the firewall's own addresses, which its
                // neighbour discovery comes from and goes to.
                if p["result"] == "unknown"
                    && p["decided_by"].as_str().is_some_and(|d| {
                        d.contains("reads an ICMP message's checksum")
                            || d.contains("nft misprints")
                            || d.contains("the firewall's own address, which the audit is not")
                            || d.contains("the kernel passes packets through nat chains only")
                    })
                {
                    continue;
                }
                if p["result"] == "unknown" {
                    return Err(format!(
                        "{}: unknown, where the generator drew only what the audit models: {}",
                        f["id"], p["decided_by"]
                    ));
                }
                let probe = serde_json::json!({"src": src, "dst": dst, "proto": p["protocol"], "port": port});
                let what = format!("{} {} {}", f["id"], p["result"], p["decided_by"]);
                out.push((probe, p["result"] == "admitted", what));
            }
        }
    }
    Ok(out)
}

/// Probe from `ns` with short timeouts (the namespaces answer in microseconds), each from a
/// source of the lab's own ([`Lab::own_sources`]).
fn probe(lab: &Lab, ns: &str, probes: &[Value], timeout: &str) -> Vec<String> {
    if probes.is_empty() {
        return Vec::new();
    }
    let probes = lab.own_sources(probes);
    let mut cmd = lab.exec(ns);
    cmd.env("FWGEN_PROBE_TIMEOUT", timeout)
        .env("FWGEN_PROBE_TRIES", "1")
        .args(["python3", crate::live::PROBE, "probe"]);
    crate::util::pipe_json(cmd, &probes)
}

/// Load `script` into the gateway, audit its dump, and make every connection; the
/// mismatches.
fn check(lab: &Lab, case: &Case) -> Result<usize, TestCaseError> {
    check_nft(lab, &case.nft().replace("IFACE", &At::of(lab).iface))
}

/// Load an nft `script` where the lab's ruleset runs: what nft said, if it refused.
fn load_nft(lab: &Lab, script: &str) -> Result<(), String> {
    let mut load = lab.exec(&At::of(lab).ns);
    load.args(["nft", "-f", "-"]);
    let out = crate::util::output_with_input(load, script);
    match out.status.success() {
        true => Ok(()),
        false => Err(String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

/// Load an nft `script` where the lab's ruleset runs, audit its dump, and make every
/// connection.
fn check_nft(lab: &Lab, script: &str) -> Result<usize, TestCaseError> {
    if let Err(e) = load_nft(lab, script) {
        prop_assert!(false, "nft refuses the ruleset: {e}\n{script}");
    }
    against_kernel(lab, &nft_dumps(lab), script)
}

/// What is loaded where the lab's ruleset runs: the listing, and the bytecode that shows the
/// rules nft lists wrongly.
fn nft_dumps(lab: &Lab) -> [String; 2] {
    let dump = |args: &[&str]| {
        let out = lab
            .exec(&At::of(lab).ns)
            .arg("nft")
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    [
        dump(&["-j", "list", "ruleset"]),
        dump(&["--debug=netlink", "list", "ruleset"]),
    ]
}

/// `fwgen audit` of `dumps` as the lab's placement and site say, with `extra` arguments.
fn audit_dumps(at: &At, dumps: &[String], extra: &[&str]) -> crate::util::Run {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["audit".to_string(), "--site".into(), at.site.into()];
    args.extend(at.placement.iter().cloned());
    args.extend(extra.iter().map(|a| a.to_string()));
    for (i, d) in dumps.iter().enumerate() {
        let path = dir.path().join(format!("dump-{i}"));
        std::fs::write(&path, d).unwrap();
        args.extend(["--ruleset".to_string(), path.to_str().unwrap().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    fwgen(&args)
}

/// Audit the dumps of what is loaded where the lab's ruleset runs, and make every
/// connection.
fn against_kernel(lab: &Lab, dumps: &[String], script: &str) -> Result<usize, TestCaseError> {
    let at = At::of(lab);
    let r = audit_dumps(&at, dumps, &["--format", "json"]);
    prop_assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let findings: Value = serde_json::from_str(&r.stdout).unwrap();
    let want =
        expected(&findings, &at).map_err(|e| TestCaseError::fail(format!("{e}\n{script}")))?;
    let mut bad = Vec::new();
    // Inbound first, then outbound, each after the neighbour caches are emptied: what one
    // exchange taught the other side must not help the next. The client namespace holds
    // several peers' addresses, but a host resolves its neighbour once, from whichever of its
    // addresses asks first: inbound, the gateway (or the firewall) for its connections;
    // outbound behind a firewall, the firewall for its replies. So there IPv6 is probed one
    // peer address at a time, as if each were its own host (which the audit assumes).
    // Outbound from the gateway itself the peer never asks: the gateway's solicitation of
    // each peer address tells it the gateway's link address.
    let src = |p: &Value| p["src"].as_str().unwrap_or("").to_string();
    let dst = |p: &Value| p["dst"].as_str().unwrap_or("").to_string();
    let peer = |p: &Value, inbound: bool| if inbound { src(p) } else { dst(p) };
    let mut groups: Vec<(bool, Option<String>)> = vec![(true, None), (false, None)];
    for inbound in [true, false].into_iter().filter(|&i| i || lab.fw.is_some()) {
        let mut v6_peers: Vec<String> = want
            .iter()
            .filter(|w| at.gateway.contains(&src(&w.0).as_str()) != inbound)
            .map(|w| peer(&w.0, inbound))
            .filter(|a| a.contains(':'))
            .collect();
        v6_peers.sort();
        v6_peers.dedup();
        groups.extend(v6_peers.into_iter().map(|a| (inbound, Some(a))));
    }
    for (inbound, only) in groups {
        lab.forget_neighbours();
        let these: Vec<&(Value, bool, String)> = want
            .iter()
            .filter(|(p, _, _)| at.gateway.contains(&src(p).as_str()) != inbound)
            .filter(|(p, _, _)| match &only {
                Some(a) => peer(p, inbound) == *a,
                None => !peer(p, inbound).contains(':'),
            })
            .collect();
        let ns = if inbound { &lab.cli } else { &lab.gw };
        let probes: Vec<Value> = these.iter().map(|w| w.0.clone()).collect();
        let mut got = probe(lab, ns, &probes, "0.15");
        // A connection the audit admits that did not open in 0.15 s (a loaded machine) is
        // tried once more, alone with its group and with fresh neighbour caches, for 2 s:
        // a connection the kernel blocks stays closed however long it is given.
        let again: Vec<usize> = (0..these.len())
            .filter(|&i| these[i].1 && got.get(i).is_some_and(|g| g != "open"))
            .collect();
        if !again.is_empty() {
            lab.forget_neighbours();
            let retry: Vec<Value> = again.iter().map(|&i| probes[i].clone()).collect();
            for (i, g) in again.into_iter().zip(probe(lab, ns, &retry, "2")) {
                got[i] = g;
            }
        }
        for ((p, admitted, what), g) in these.iter().zip(&got) {
            if *admitted != (g == "open") {
                bad.push(format!("{p}: the audit says {what}; the kernel: {g}"));
            }
        }
    }
    prop_assert!(
        bad.is_empty(),
        "{} of {} connections differ:\n{}\n{script}",
        bad.len(),
        want.len(),
        bad.join("\n")
    );
    Ok(want.len())
}

/// Every port the universe's entries use, per protocol, for the listeners.
fn listen(lab: &Lab) -> (crate::live::Server, crate::live::Server) {
    let open = r#"{"nftables": [{"table": {"family": "inet", "name": "t", "handle": 1}}]}"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("open.json");
    std::fs::write(&path, open).unwrap();
    let at = At::of(lab);
    let r = fwgen(&[
        "audit",
        "--site",
        at.site,
        "--placement",
        "host",
        "--format",
        "json",
        "--ruleset",
        path.to_str().unwrap(),
    ]);
    let all: Value = serde_json::from_str(&r.stdout).unwrap();
    let ports = |inbound: bool| {
        let mut tcp = std::collections::BTreeSet::new();
        let mut udp = std::collections::BTreeSet::new();
        for f in all["findings"].as_array().unwrap() {
            // The sampling audit's `probes` too (see `expected`).
            let parts = f["parts"].as_array().or(f["probes"].as_array()).unwrap();
            for p in parts {
                if (p["direction"] == "in") != inbound {
                    continue;
                }
                let ports: Vec<u64> = match p["port"].as_u64() {
                    Some(port) => vec![port],
                    None => crate::audit::lab_connections(p, &at.addresses())
                        .into_iter()
                        .map(|c| c.2)
                        .collect(),
                };
                for port in ports {
                    // ICMP needs no listener: the kernel answers echo requests.
                    if p["protocol"] == "icmp" {
                        continue;
                    }
                    if p["protocol"] == "tcp" {
                        tcp.insert(port.to_string());
                    } else {
                        udp.insert(port.to_string());
                    }
                }
            }
        }
        let join =
            |s: std::collections::BTreeSet<String>| s.into_iter().collect::<Vec<_>>().join(",");
        (join(tcp), join(udp))
    };
    let (gt, gu) = ports(true);
    let (ct, cu) = ports(false);
    (
        lab.serve(&lab.gw, &gt, &gu, &at.gateway.join(",")),
        lab.serve(
            &lab.cli,
            &ct,
            &cu,
            "198.18.0.2,198.18.0.3,198.18.0.9,203.0.113.77,2001:db8:f::2,2001:db8:f::3,2001:db8:f::9,2001:db8:ffff::77",
        ),
    )
}

/// Cases per run: `FWGEN_EXACT_CASES`, 16 by default (CI's share of its ten minutes; new
/// seeds each run, and every failing seed kept). Run hundreds before changing the evaluator.
fn cases() -> u32 {
    std::env::var("FWGEN_EXACT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}

/// One iptables rule's matches (`v6`: of ip6tables).
fn ipt_matching(v6: bool) -> impl Strategy<Value = String> {
    let (one, prefix, list, range, set, pset) = if v6 {
        (
            "2001:db8:f::2",
            "2001:db8:f::8/125",
            "2001:db8:f::3,2001:db8:f::9",
            "2001:db8:f::2-2001:db8:f::9",
            "a6",
            "ap6",
        )
    } else {
        (
            "198.18.0.2",
            "198.18.0.8/29",
            "198.18.0.3,198.18.0.9",
            "198.18.0.2-198.18.0.9",
            "a4",
            "ap4",
        )
    };
    // The option of this family: ip6tables' or iptables'.
    let pick = |six: &str, four: &str| String::from(if v6 { six } else { four });
    let options: Vec<String> =
        vec![
        format!("-s {one}"),
        format!("! -s {one}"),
        format!("-s {prefix}"),
        format!("-d {one}"),
        format!("-s {list}"),
        format!("-m iprange --src-range {range}"),
        format!("-m iprange ! --dst-range {range}"),
        format!("-m set --match-set {set} src"),
        format!("-m set ! --match-set {set} dst"),
        format!("-m set --match-set {pset} src,dst"),
        "-p tcp -m tcp --dport 443".into(),
        "-p udp -m udp --dport 161".into(),
        "-p tcp -m multiport --dports 443,1344".into(),
        "-p udp -m multiport --dports 53,123,162".into(),
        "-p tcp -m tcp --dport 1000:2000".into(),
        "-p tcp -m tcp ! --dport 443".into(),
        "-p tcp -m tcp --sport 80".into(),
        "-p tcp -m tcp --syn".into(),
        "-p tcp -m tcp --tcp-flags SYN,ACK SYN".into(),
        "-p udp".into(),
        pick(
            "-p ipv6-icmp -m icmp6 --icmpv6-type 128",
            "-p icmp -m icmp --icmp-type 8",
        ),
        pick(
            "-p ipv6-icmp -m icmp6 --icmpv6-type echo-reply",
            "-p icmp -m icmp --icmp-type echo-reply",
        ),
        pick("-p ipv6-icmp", "-p icmp"),
        "-m conntrack --ctstate NEW".into(),
        "-m conntrack --ctstate RELATED,ESTABLISHED".into(),
        "-m state --state ESTABLISHED".into(),
        "-m conntrack ! --ctstate ESTABLISHED".into(),
        "-m pkttype --pkt-type host".into(),
        "-p tcp -m multiport --sports 80,443".into(),
        "-p udp -m multiport ! --dports 53,161".into(),
        "-p tcp -m tcp ! --syn".into(),
        "-m state --state INVALID".into(),
        "-m conntrack --ctstate UNTRACKED".into(),
        "-m comment --comment \"a note\"".into(),
        // Rates, counts and quotas the lab's few packets never reach (the audit takes them
        // as never reached): a limit that holds below its rate, and one past it.
        "-m limit --limit 10000/sec --limit-burst 10000".into(),
        "-m hashlimit --hashlimit-above 10000/sec --hashlimit-burst 10000 --hashlimit-name ha"
            .into(),
        "-m hashlimit --hashlimit-upto 10000/sec --hashlimit-burst 10000 --hashlimit-mode srcip \
         --hashlimit-name hu"
            .into(),
        "-m connlimit --connlimit-above 10000".into(),
        "-m connlimit --connlimit-upto 10000".into(),
        "-m quota --quota 1000000000".into(),
        "-m quota ! --quota 1000000000".into(),
        // Address types (nft's `fib daddr type`), and IPv6's routing header, which no
        // connection of the lab carries.
        "-m addrtype --dst-type LOCAL".into(),
        "-m addrtype ! --dst-type UNICAST".into(),
        pick("-m rt --rt-type 0", "-m addrtype --dst-type BROADCAST,MULTICAST"),
        // A segment size no host announces.
        "-p tcp -m tcpmss --mss 1:500".into(),
        // Fragments (IPv4 only: ip6tables has no `-f`), which no connection of the lab sends.
        pick("-p udp", "-f"),
        pick("-p tcp", "! -f"),
        // The gateway's side of the lab (`IFACE`, replaced when loaded), loopback and a
        // wildcard; `-i` and `-o` trade places where the chain allows only the other.
        "-i IFACE".into(),
        "! -i IFACE".into(),
        "-i lo".into(),
        "-o fwg+".into(),
        "! -o IFACE".into(),
    ];
    prop::sample::select(options)
}

/// `rule` as `chain` allows it: `-i` in the chains of what arrives (INPUT, PREROUTING), `-o`
/// in those of what leaves (OUTPUT); user chains take both.
fn ipt_side(chain: &str, rule: &str) -> String {
    let (from, to) = match chain {
        "INPUT" | "PREROUTING" => ("-o", "-i"),
        "OUTPUT" => ("-i", "-o"),
        _ => return rule.to_string(),
    };
    rule.split(' ')
        .map(|w| if w == from { to } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// An iptables rule of `chain` (`user`: may return, not jump).
fn ipt_rule(v6: bool, user: bool) -> impl Strategy<Value = String> {
    let reject = if v6 {
        "REJECT --reject-with icmp6-adm-prohibited"
    } else {
        "REJECT --reject-with icmp-host-prohibited"
    };
    let targets: Vec<&str> = if user {
        vec!["ACCEPT", "DROP", "RETURN", "REJECT", reject]
    } else {
        vec!["ACCEPT", "DROP", "u", "REJECT", "ACCEPT", reject, "GOTO"]
    };
    (
        prop::collection::vec(ipt_matching(v6), 0..=3).prop_filter(
            "each kind of option once per rule",
            |m| {
                let kind = |o: &String| {
                    let o = o.trim_start_matches("! ");
                    if o.contains("state ") {
                        "state".to_string()
                    } else if o.starts_with("-s ") || o.starts_with("-d ") {
                        o[..2].to_string()
                    } else if o.starts_with("-m set") {
                        o.to_string()
                    } else if o.starts_with("-i ") || o.starts_with("-o ") {
                        // One interface a rule: `ipt_side` may make `-o` an `-i`.
                        "interface".to_string()
                    } else {
                        o.split(' ').take(2).collect::<Vec<_>>().join(" ")
                    }
                };
                let kinds: std::collections::BTreeSet<String> = m.iter().map(kind).collect();
                let protocols = m.iter().filter(|o| o.starts_with("-p ")).count();
                kinds.len() == m.len() && protocols <= 1
            },
        ),
        prop::sample::select(targets),
    )
        .prop_map(|(m, t)| {
            let target = match t {
                "GOTO" => "-g u".to_string(),
                t => format!("-j {t}"),
            };
            format!("{} {target}", m.join(" ")).trim().to_string()
        })
}

/// A built-in chain: (policy drop, neighbour discovery admitted first (IPv6), rules).
type IptChain = (bool, bool, Vec<String>);

/// One family's tables for iptables-restore: policies, neighbour discovery (IPv6), rules,
/// and a mangle PREROUTING chain that may drop.
#[derive(Debug, Clone)]
struct IptFamily {
    input: IptChain,
    output: IptChain,
    user: Vec<String>,
    mangle: Vec<String>,
}

fn ipt_family(v6: bool) -> impl Strategy<Value = IptFamily> {
    let chain = move || {
        (
            any::<bool>(),
            prop::bool::weighted(0.6),
            prop::collection::vec(ipt_rule(v6, false), 0..=5),
        )
    };
    (
        chain(),
        chain(),
        prop::collection::vec(ipt_rule(v6, true), 0..=3),
        prop::collection::vec(ipt_rule(v6, true), 0..=2),
    )
        .prop_map(|(input, output, user, mangle)| IptFamily {
            input,
            output,
            user,
            mangle,
        })
}

impl IptFamily {
    /// The tables on the gateway: `input` and `output` its INPUT and OUTPUT chains.
    fn save(&self, v6: bool) -> String {
        self.save_as(v6, [("INPUT", &self.input), ("OUTPUT", &self.output)])
    }

    /// The tables on a firewall between the peers and the gateway: `input` becomes its
    /// FORWARD chain and `output` its own INPUT chain (its neighbour discovery passes it).
    fn save_forward(&self, v6: bool) -> String {
        self.save_as(v6, [("FORWARD", &self.input), ("INPUT", &self.output)])
    }

    /// The tables with `input`'s and `output`'s policy and rules in these built-in chains
    /// (the third accepts).
    fn save_as(&self, v6: bool, chains: [(&str, &IptChain); 2]) -> String {
        let policy = |drop: bool| if drop { "DROP" } else { "ACCEPT" };
        let mut s = String::from("*mangle\n:PREROUTING ACCEPT [0:0]\n");
        for r in &self.mangle {
            // RETURN in a built-in chain falls to its policy: accept.
            // REJECT (and its --reject-with) is for the filter table only.
            let r = match r.split_once("-j REJECT") {
                Some((matches, _)) => format!("{matches}-j DROP"),
                None => r.replace("-j RETURN", "-j ACCEPT"),
            };
            s.push_str(&format!("-A PREROUTING {}\n", ipt_side("PREROUTING", &r)));
        }
        s.push_str("COMMIT\n*filter\n");
        for builtin in ["INPUT", "FORWARD", "OUTPUT"] {
            let drop = chains.iter().any(|(name, c)| *name == builtin && c.0);
            s.push_str(&format!(":{builtin} {}\n", policy(drop)));
        }
        s.push_str(":u - [0:0]\n");
        for (name, (_, nd, rules)) in chains {
            if *nd && v6 {
                for t in [135, 136] {
                    s.push_str(&format!(
                        "-A {name} -p ipv6-icmp -m icmp6 --icmpv6-type {t} -j ACCEPT\n"
                    ));
                }
            }
            for r in rules {
                s.push_str(&format!("-A {name} {}\n", ipt_side(name, r)));
            }
        }
        for r in &self.user {
            s.push_str(&format!("-A u {r}\n"));
        }
        s.push_str("COMMIT\n");
        s
    }
}

/// The ipsets the generated iptables rules use.
const IPSETS: &str = "create a4 hash:net family inet
add a4 198.18.0.2
add a4 198.18.0.8/30
create a6 hash:net family inet6
add a6 2001:db8:f::2
add a6 2001:db8:f::8/126
create ap4 hash:net,port family inet
add ap4 198.18.0.2/31,tcp:443
add ap4 198.18.0.9,udp:161
create ap6 hash:net,port family inet6
add ap6 2001:db8:f::2/127,tcp:443
add ap6 2001:db8:f::9,udp:161
";

fn check_iptables(lab: &Lab, (v4, v6): &(IptFamily, IptFamily)) -> Result<usize, TestCaseError> {
    let dev = lab.gw_dev();
    check_ipt(
        lab,
        v4.save(false).replace("IFACE", &dev),
        v6.save(true).replace("IFACE", &dev),
    )
}

/// Load the generated ipsets and these iptables and ip6tables tables where the lab's ruleset
/// runs, audit what the tools save, and make every connection.
fn check_ipt(lab: &Lab, s4: String, s6: String) -> Result<usize, TestCaseError> {
    let script = format!("# ipset\n{IPSETS}# iptables\n{s4}# ip6tables\n{s6}");
    let ns = At::of(lab).ns;
    let sh = |cmd: &str, input: &str| {
        let mut c = lab.exec(&ns);
        c.args(["sh", "-c", cmd]);
        crate::util::output_with_input(c, input)
    };
    let clear = "iptables -F; iptables -X; iptables -t mangle -F; ip6tables -F; ip6tables -X; \
                 ip6tables -t mangle -F; nft flush ruleset; ipset destroy 2>/dev/null; true";
    sh(clear, "");
    for (cmd, input) in [
        ("ipset restore", IPSETS),
        ("iptables-restore", s4.as_str()),
        ("ip6tables-restore", s6.as_str()),
    ] {
        let out = sh(cmd, input);
        prop_assert!(
            out.status.success(),
            "the generator wrote what {cmd} refuses: {}\n{script}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let dumps: Vec<String> = ["ipset save", "iptables-save", "ip6tables-save"]
        .iter()
        .map(|cmd| String::from_utf8(sh(cmd, "").stdout).unwrap())
        .collect();
    let n = against_kernel(lab, &dumps, &script);
    sh(clear, "");
    n
}

/// What `cmd` prints, run by `sh` where the lab's ruleset runs; it must succeed.
fn shell(lab: &Lab, cmd: &str) -> String {
    lab.sh(&At::of(lab).ns, cmd)
}

/// iptables' INPUT chain accepts ICAP, and a chain nft added to iptables-nft's own `ip
/// filter` table (on the input hook, policy drop) drops it; iptables-save says it cannot
/// show that table whole, and leaves the chain out. Every IPv4 part is unknown, saying so
/// (from the rules iptables-save shows, ICAP was `admitted`), while the kernel drops ICAP
/// until the chain is gone.
#[test]
fn a_table_iptables_cannot_show_is_unknown() {
    let Some((lab, _servers)) = universe_lab("ih", false) else {
        return;
    };
    let at = At::of(&lab);
    let sh = |cmd: &str| shell(&lab, cmd);
    sh(
        "nft flush ruleset; iptables -A INPUT -p tcp --dport 1344 -j ACCEPT; \
         ip6tables -A INPUT -p tcp --dport 1344 -j ACCEPT; \
         nft add chain ip filter guard '{ type filter hook input priority 10; policy drop; }'",
    );
    let dumps = [sh("iptables-save"), sh("ip6tables-save")];
    assert!(dumps[0].contains("incompatible"), "{}", dumps[0]);
    let r = audit_dumps(&at, &dumps, &["--format", "json"]);
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stderr));
    let mut v4 = 0;
    for f in report["findings"].as_array().unwrap() {
        for p in f["parts"].as_array().unwrap() {
            let why = p["decided_by"].as_str().unwrap_or("");
            if p["dst"][0].as_str().is_some_and(|a| a.contains('.')) {
                v4 += 1;
                assert_eq!(p["result"], "unknown", "{}: {p}", f["id"]);
                assert!(why.contains("holds chains it cannot show"), "{why}");
            } else {
                assert_ne!(p["result"], "unknown", "{}: {p}", f["id"]);
            }
        }
    }
    assert!(v4 > 5, "{v4} IPv4 parts");
    // Beside nft's listing, which shows the table whole, every part is decided, as the
    // kernel decides it.
    let whole = [
        sh("nft -j list ruleset"),
        dumps[0].clone(),
        dumps[1].clone(),
    ];
    let n = against_kernel(&lab, &whole, "").unwrap_or_else(|e| panic!("{e}"));
    assert!(n > 20, "{n} compared");
    let icap = [
        serde_json::json!({"src": "198.18.0.3", "dst": "198.18.0.1", "proto": "tcp", "port": 1344}),
    ];
    lab.forget_neighbours();
    assert_eq!(probe(&lab, &lab.cli, &icap, "0.5"), ["closed"]);
    sh("nft delete chain ip filter guard");
    lab.forget_neighbours();
    assert_eq!(probe(&lab, &lab.cli, &icap, "2"), ["open"]);
    sh("iptables -F; nft flush ruleset");
}

/// iptables-nft's rules (INPUT drops what it does not accept; `-m conntrack`, which nft's
/// listing shows only as `xt`) beside a native nftables table that drops SNMP. Neither text
/// shows the firewall alone: the listing cannot say what the conntrack match decides, and
/// iptables-save does not show the native table. Given both, iptables' tables are read from
/// iptables-save and the rest from the listing: every part is decided, as the kernel does.
#[test]
fn iptables_nft_beside_native_tables_is_audited_whole() {
    let Some((lab, _servers)) = universe_lab("ib", false) else {
        return;
    };
    let at = At::of(&lab);
    let sh = |cmd: &str| shell(&lab, cmd);
    let script = "nft flush ruleset
for t in iptables ip6tables; do
  $t -P INPUT DROP
  $t -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  $t -A INPUT -p tcp --dport 1344 -j ACCEPT
  $t -A INPUT -p udp --dport 161 -j ACCEPT
done
ip6tables -A INPUT -p ipv6-icmp --icmpv6-type neighbour-solicitation -j ACCEPT
ip6tables -A INPUT -p ipv6-icmp --icmpv6-type neighbour-advertisement -j ACCEPT
nft add table inet native
nft add chain inet native input '{ type filter hook input priority 10; policy accept; }'
nft add rule inet native input udp dport 161 drop";
    sh(script);
    let dumps = [
        sh("nft -j list ruleset"),
        sh("iptables-save"),
        sh("ip6tables-save"),
    ];
    let listing = audit_dumps(&at, &dumps[..1], &["--format", "json"]);
    assert!(
        listing.stdout.contains("iptables' match `conntrack`"),
        "{}",
        listing.stdout
    );
    let n = against_kernel(&lab, &dumps, script).unwrap_or_else(|e| panic!("{e}"));
    assert!(n > 20, "{n} compared");
    let whole = audit_dumps(&at, &dumps, &[]);
    assert!(
        whole.stdout.contains("blocked   snmp-monitoring"),
        "{}",
        whole.stdout
    );
    // The fix: nft rules for the native table, and for iptables' own tables a comment
    // (an nft script cannot hold iptables commands). Loaded, SNMP passes.
    let fix = audit_dumps(&at, &dumps, &["--fix"]).stdout;
    assert!(
        fix.contains(
            "insert rule inet native input ip saddr { 198.18.0.9/32 } udp dport { 161 } accept"
        ) && fix.contains("# ip filter \"INPUT\" is iptables' (iptables-nft): not written here"),
        "{fix}"
    );
    let snmp = [
        serde_json::json!({"src": "198.18.0.9", "dst": "198.18.0.1", "proto": "udp", "port": 161}),
    ];
    lab.forget_neighbours();
    assert_eq!(probe(&lab, &lab.cli, &snmp, "0.5"), ["closed"]);
    load_nft(&lab, &fix).unwrap_or_else(|e| panic!("{e}"));
    lab.forget_neighbours();
    assert_eq!(probe(&lab, &lab.cli, &snmp, "2"), ["open"]);
    sh(
        "iptables -P INPUT ACCEPT; iptables -F; ip6tables -P INPUT ACCEPT; ip6tables -F; nft flush ruleset",
    );
}

/// `-m multiport --ports` (the source port or the destination port in the list), and `!
/// --ports` (neither): replies pass by their source port, outbound SMTP falls to the
/// policy. The audit decides every part as the kernel does.
#[test]
fn multiport_ports_match_either_port() {
    let Some((lab, _servers)) = universe_lab("mp", false) else {
        return;
    };
    let save = |icmp: &str| {
        format!(
            "*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT DROP [0:0]
-A INPUT -p tcp -m multiport --ports 1344,443 -j ACCEPT
-A INPUT -p udp -m multiport --ports 53,161 -j ACCEPT
-A OUTPUT -p tcp -m multiport ! --ports 1344,443,25 -j DROP
-A OUTPUT -p tcp -m multiport --ports 1344,443 -j ACCEPT
-A OUTPUT -p udp -m multiport --ports 53,161 -j ACCEPT
{icmp}COMMIT
"
        )
    };
    let v6 = save("-A INPUT -p ipv6-icmp -j ACCEPT\n-A OUTPUT -p ipv6-icmp -j ACCEPT\n");
    let n = check_ipt(&lab, save(""), v6).unwrap_or_else(|e| panic!("{e}"));
    assert!(n > 20, "{n} compared");
}

/// `nft -t` leaves every named set's and map's elements out of the JSON listing, which then
/// reads as an empty set's; the bytecode listing, made without `-t`, shows them. With a
/// blocklist set (.9) and a verdict map (SNMP dropped): from the terse JSON beside the full
/// bytecode, what they decide is unknown, naming them, and nothing the full listings do not
/// admit is admitted (from the terse JSON alone, .9's connections were `admitted`, and the
/// kernel drops them); from the full listings, every part is decided as the kernel does.
#[test]
fn a_terse_listing_is_told_apart_by_the_bytecode() {
    let Some((lab, _servers)) = universe_lab("te", false) else {
        return;
    };
    let at = At::of(&lab);
    let script = "flush ruleset
table inet t {
  set blocked { type ipv4_addr; elements = { 198.18.0.9 } }
  map svc { type inet_service : verdict; elements = { 161 : drop } }
  chain input { type filter hook input priority 0; policy accept;
    ip saddr @blocked drop
    udp dport vmap @svc
  }
}
";
    load_nft(&lab, script).unwrap_or_else(|e| panic!("{e}"));
    let bytecode = shell(&lab, "nft --debug=netlink list ruleset");
    let report = |json: &str| {
        let r = audit_dumps(
            &at,
            &[json.to_string(), bytecode.clone()],
            &["--format", "json"],
        );
        let v: Value =
            serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stderr));
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["parts"].as_array().unwrap().clone())
            .collect::<Vec<Value>>()
    };
    let terse = report(&shell(&lab, "nft -t -j list ruleset"));
    let full = report(&shell(&lab, "nft -j list ruleset"));
    let why = |p: &Value| p["decided_by"].as_str().unwrap_or("").to_string();
    for name in ["set inet t blocked", "map inet t svc"] {
        assert!(
            terse.iter().any(|p| p["result"] == "unknown"
                && why(p).contains(name)
                && why(p).contains("elements are in the bytecode listing")),
            "{name}: {terse:?}"
        );
    }
    // Every connection the terse audit admits, the full one admits too.
    let admitted = |parts: &[Value]| {
        let mut out = std::collections::BTreeSet::new();
        for p in parts.iter().filter(|p| p["result"] == "admitted") {
            for c in crate::audit::lab_connections(p, &at.addresses()) {
                out.insert((p["protocol"].to_string(), c));
            }
        }
        out
    };
    let (t, f) = (admitted(&terse), admitted(&full));
    assert!(
        t.is_subset(&f),
        "{:?}",
        t.difference(&f).collect::<Vec<_>>()
    );
    assert!(t.len() < f.len(), "{} and {}", t.len(), f.len());
    let n = against_kernel(&lab, &nft_dumps(&lab), script).unwrap_or_else(|e| panic!("{e}"));
    assert!(n > 20, "{n} compared");
}

/// The lab of the universe (the gateway, the peers, the outsider) with its listeners, behind
/// a firewall when `perimeter`; `None` where the live tests cannot run (said by `ready`).
fn universe_lab(
    tag: &str,
    perimeter: bool,
) -> Option<(Lab, (crate::live::Server, crate::live::Server))> {
    if !ready() {
        return None;
    }
    let lab = if perimeter {
        Lab::perimeter_universe(tag)
    } else {
        let lab = Lab::new(tag);
        lab.add_outsider();
        lab.add_client("198.18.0.9", "2001:db8:f::9");
        lab
    };
    let servers = listen(&lab);
    Some((lab, servers))
}

/// Run `check` on `cases()` values of `strategy` in a lab of the universe, keeping failing
/// seeds in `seeds`; every case must compare connections.
fn generated<S: Strategy>(
    (tag, perimeter): (&str, bool),
    seeds: &'static str,
    strategy: S,
    check: impl Fn(&Lab, &S::Value) -> Result<usize, TestCaseError>,
) {
    let Some((lab, _servers)) = universe_lab(tag, perimeter) else {
        return;
    };
    let config = Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(seeds))),
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let compared = std::cell::Cell::new(0usize);
    let result = runner.run(&strategy, |c| {
        compared.set(compared.get() + check(&lab, &c)?);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(
        compared.get() > 20 * cases() as usize,
        "only {} connections compared",
        compared.get()
    );
}

/// ICMP echo in the constructs that decide it, written out (the generator seldom draws them
/// together): replies admitted by their type only, by state only, an exchange's later
/// request dropped, `meta l4proto`, a drop before the accept, codes (echo's is 0), an `ip6`
/// table of its own.
const ICMP_RULESETS: &[&str] = &[
    "table inet t {
  chain input { type filter hook input priority 0; policy drop;
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ct state established accept
    icmp type echo-request accept
    icmpv6 type echo-request accept
  }
  chain output { type filter hook output priority 0; policy drop;
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    icmp type echo-reply accept
    icmpv6 type echo-reply accept
    icmp type echo-request accept
  }
}",
    "table inet t {
  chain input { type filter hook input priority 0; policy drop;
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ct state new icmp type echo-request accept
    ct state new icmpv6 type echo-request accept
    ip saddr 198.18.0.3 ct state established accept
  }
}",
    "table inet t {
  chain input { type filter hook input priority 0; policy drop;
    meta l4proto { icmp, ipv6-icmp } accept
  }
  chain output { type filter hook output priority 0; policy drop;
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ct state established,related accept
    ip daddr 198.18.0.3 icmp type echo-request drop
    icmp type echo-request accept
    icmpv6 type { echo-request, echo-reply } accept
  }
}",
    "table inet t {
  chain input { type filter hook input priority 0; policy drop;
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ct state established accept
    icmp type echo-request icmp code 1 accept
    icmpv6 type echo-request icmpv6 code 0 accept
  }
}",
    // nft lists `th dport` after `meta l4proto icmp` as `icmp checksum`, which the audit read
    // as the code (0 for echo: "blocked"); the checksum changes with every ping. A few values
    // match no ping, all but a few every ping, and the ones between are unknown.
    "table inet t {
  chain input { type filter hook input priority 0; policy accept;
    meta l4proto icmp th dport < 32 reject
    meta l4proto ipv6-icmp th dport 1000 drop
    meta l4proto icmp th dport < 1024 ip saddr 198.18.0.9 reject
  }
  chain output { type filter hook output priority 0; policy accept;
    meta l4proto icmp th dport != 7 ip daddr 198.18.0.3 drop
  }
}",
    "table ip6 t6 {
  chain output { type filter hook output priority 0; policy accept;
    icmpv6 type echo-reply drop
  }
}
table inet t {
  chain input { type filter hook input priority 0; policy drop;
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ct state established accept
    ip saddr 198.18.0.8/29 icmp type echo-request accept
    ip6 saddr 2001:db8:f::9 icmpv6 type echo-request accept
  }
}",
];

/// The audit equals the kernel on [`ICMP_RULESETS`]: every ping of every part is made.
#[test]
fn audit_equals_the_kernel_on_icmp_rulesets() {
    let Some(compared) = written_rulesets(("e", false), ICMP_RULESETS) else {
        return;
    };
    // Both pings (in and out), both families, in every ruleset; and the other entries'.
    assert!(compared > 4 * ICMP_RULESETS.len(), "{compared} compared");
}

/// Each of `bodies` (`IFACE`: the interface toward the gateway, `INGRESS` the firewall's
/// toward the peers) loaded into a lab of its own `tag` (behind a firewall when
/// `perimeter`), audited, and every connection made: how many were compared (`None`: no
/// lab here).
pub(crate) fn written_rulesets(at: (&str, bool), bodies: &[&str]) -> Option<usize> {
    each_written(at, bodies, |lab, named, body| {
        check_nft(lab, &named(&format!("flush ruleset\n{body}\n")))
    })
}

/// [`written_rulesets`] for iptables: each pair of an iptables-save and an ip6tables-save
/// text (`IFACE`, `INGRESS` as there), with the lab's ipsets ([`check_ipt`]).
pub(crate) fn written_saves(at: (&str, bool), pairs: &[(&str, &str)]) -> Option<usize> {
    each_written(at, pairs, |lab, named, (s4, s6)| {
        check_ipt(lab, named(s4), named(s6))
    })
}

/// Each of `items` checked by `check` in one lab, given what names the lab's interfaces in
/// a text: every one must pass. How many connections were compared.
fn each_written<T>(
    (tag, perimeter): (&str, bool),
    items: &[T],
    check: impl Fn(&Lab, &dyn Fn(&str) -> String, &T) -> Result<usize, TestCaseError>,
) -> Option<usize> {
    let (lab, _servers) = universe_lab(tag, perimeter)?;
    let ingress = lab.fw_devs().0;
    let iface = At::of(&lab).iface;
    let named = |s: &str| s.replace("IFACE", &iface).replace("INGRESS", &ingress);
    let mut compared = 0;
    let mut failed = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match check(&lab, &named, item) {
            Ok(n) => compared += n,
            Err(e) => failed.push(format!("ruleset {i}: {e}")),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    Some(compared)
}

/// Interface matches where the packets have no interface on that side: the host's own
/// packets arrive on none (output and postrouting), those it receives leave by none (input
/// and prerouting). The kernel compares an empty name (index 0): a name, a wildcard or an
/// index never matches, `!=` always does. Neighbour discovery arrives on and leaves by the
/// gateway's interface whichever way the connection goes. `IFACE` is the gateway's side of
/// the lab.
const NO_INTERFACE_RULESETS: &[&str] = &[
    "table inet t {
  chain input { type filter hook input priority 0; policy accept;
    oifname \"IFACE\" drop
    oifname \"fwg*\" drop
  }
  chain output { type filter hook output priority 0; policy accept;
    iifname \"IFACE\" drop
    iif \"IFACE\" drop
    iifname { \"lo\", \"IFACE\" } drop
  }
}",
    "table inet t {
  chain input { type filter hook input priority 0; policy accept;
    oifname != \"IFACE\" tcp dport 1344 drop
  }
  chain output { type filter hook output priority 0; policy accept;
    iifname != \"IFACE\" udp dport 53 drop
  }
}",
    "table inet early {
  chain pre { type filter hook prerouting priority -150; policy accept;
    oifname \"IFACE\" drop
    oifname != \"IFACE\" udp dport 161 drop
  }
  chain post { type filter hook postrouting priority 0; policy accept;
    iifname \"IFACE\" drop
    iifname != \"IFACE\" tcp dport 80 drop
  }
}",
    // Everything arriving on the gateway's side passes, the rest is dropped: the peers'
    // neighbour advertisements too arrive there, also for the gateway's own connections.
    "table inet early {
  chain pre { type filter hook prerouting priority -150; policy drop;
    iifname \"IFACE\" accept
  }
  chain out { type filter hook output priority 0; policy drop;
    oifname \"IFACE\" accept
  }
}",
    // The gateway's own solicitations, in postrouting: IPv6 gives them an input interface.
    "table inet late {
  chain post { type filter hook postrouting priority 0; policy accept;
    icmpv6 type nd-neighbor-solicit iifname \"IFACE\" drop
  }
}",
];

/// The audit equals the kernel on [`NO_INTERFACE_RULESETS`], and decides every part.
#[test]
fn interfaces_a_packet_has_none_of_are_empty_names() {
    let Some(compared) = written_rulesets(("ni", false), NO_INTERFACE_RULESETS) else {
        return;
    };
    assert!(compared > 20, "{compared} compared");
}

/// Rate limits, quotas and connection counts as hand-written firewalls use them (flood
/// guards that drop past a rate, accepts below one), and set statements and meters keyed on
/// one family's header in a table of both: nft loads the key only from packets that have
/// that header, so the rule goes on for no other (the listing leaves that out). The lab's
/// few connections reach no rate, quota or count.
const STATEFUL_RULESETS: &[&str] = &[
    "table inet t {
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    tcp flags syn limit rate over 100000/second burst 100000 packets drop
    ct count over 100000 drop
    quota over 1000 mbytes drop
    meter flood { ip saddr limit rate over 100000/second burst 100000 packets } drop
    tcp dport { 22, 1344 } accept
    udp dport 161 limit rate 100000/second burst 100000 packets accept
  }
}",
    "table inet t {
  set seen { type ipv4_addr; flags dynamic; size 65535; }
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    update @seen { ip saddr } tcp dport 22 accept
    meter ok { ip saddr limit rate 100000/second burst 100000 packets } udp dport 161 accept
    meter six { ip6 saddr . tcp dport limit rate 100000/second burst 100000 packets } tcp dport 1344 accept
  }
}",
    // Named limits and quotas, defined apart from the rules that use them.
    "table inet t {
  limit flood { rate over 100000/second burst 100000 packets }
  limit fair { rate 100000/second burst 100000 packets }
  quota month { over 1000 mbytes }
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    limit name \"flood\" drop
    quota name \"month\" drop
    tcp dport { 22, 1344 } limit name \"fair\" accept
  }
}",
];

/// Hardening rules as guides give them: against fragments (the lab's connections are of
/// whole packets, which `ip frag-off & 0x1fff != 0` never matches and `& 0x3fff == 0` always
/// does, for IPv4: the field implies it), and the 2019 "SACK panic" guard against SYNs that
/// announce a tiny segment size (no host announces less than 536 bytes).
const HARDENING_RULESETS: &[&str] = &["table inet t {
  chain input { type filter hook input priority 0; policy drop;
    ip frag-off & 0x1fff != 0 drop
    tcp flags syn tcp option maxseg size 1-500 drop
    tcp option maxseg size { 1-100, 200-535 } drop
    ct state established,related accept
    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
    ip frag-off & 0x3fff == 0 tcp dport { 22, 1344 } accept
    udp dport 161 accept
  }
}"];

/// The audit equals the kernel on [`HARDENING_RULESETS`], and decides every part.
#[test]
fn fragment_and_segment_size_rules_match_no_connection() {
    let Some(compared) = written_rulesets(("hd", false), HARDENING_RULESETS) else {
        return;
    };
    assert!(compared > 20, "{compared} compared");
}

/// The audit equals the kernel on [`STATEFUL_RULESETS`], and decides every part, from the
/// JSON listing alone (which leaves the keys' dependencies out) and with the bytecode.
#[test]
fn rate_limits_quotas_and_set_statements_are_never_reached() {
    let Some((lab, _servers)) = universe_lab("st", false) else {
        return;
    };
    let mut failed = Vec::new();
    for (i, body) in STATEFUL_RULESETS.iter().enumerate() {
        let script = format!("flush ruleset\n{body}\n");
        load_nft(&lab, &script).unwrap_or_else(|e| panic!("nft refuses ruleset {i}: {e}"));
        let dumps = nft_dumps(&lab);
        for (given, dumps) in [("the listing", &dumps[..1]), ("both", &dumps[..])] {
            match against_kernel(&lab, dumps, &script) {
                Ok(n) => assert!(n > 20, "ruleset {i}, {given}: {n} compared"),
                Err(e) => failed.push(format!("ruleset {i}, {given}: {e}")),
            }
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// iptables' brute-force guards as hand-written rulesets have them: `-m recent --set`, then
/// `--update` (or `--rcheck`) past a hit count to drop, and `-m hashlimit` past a rate. The
/// lab's few connections reach neither, the audit takes them as never reached, and each
/// connection is what the kernel does.
const RECENT_V4: &str = "*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --set --name ssh --rsource
-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m recent --update --seconds 60 --hitcount 20 --name ssh --rsource -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 1344 -m conntrack --ctstate NEW -m recent --rcheck --seconds 60 --hitcount 20 --name icap -j DROP
-A INPUT -p tcp -m tcp --dport 1344 -m recent ! --rcheck --seconds 60 --hitcount 20 --name icap -j ACCEPT
-A INPUT -p udp -m udp --dport 161 -m hashlimit --hashlimit-above 1000/sec --hashlimit-burst 1000 --hashlimit-name snmp -j DROP
-A INPUT -p udp -m udp --dport 161 -j ACCEPT
COMMIT
";

/// The audit equals the kernel on [`RECENT_V4`] (and its IPv6 twin), and decides every part.
#[test]
fn brute_force_guards_of_iptables_are_never_reached() {
    let Some((lab, _servers)) = universe_lab("rc", false) else {
        return;
    };
    // The same for IPv6, with neighbour discovery admitted.
    let v6 = RECENT_V4.replace(
        "-A INPUT -m conntrack",
        "-A INPUT -p ipv6-icmp -j ACCEPT\n-A INPUT -m conntrack",
    );
    let compared = check_ipt(&lab, RECENT_V4.to_string(), v6).unwrap_or_else(|e| panic!("{e}"));
    assert!(compared > 20, "{compared} compared");
}

/// What ufw 0.36.2 writes for the lab (`ufw limit 22/tcp`, `ufw allow 1344/tcp`, SNMP from the
/// managers, the web interface from the admin clients over IPv4; the fixtures are its
/// iptables-save and ip6tables-save): the firewall of many gateways, with rate limits, a
/// `recent` guard, address types, hop limits and routing headers. The audit decides every
/// part, and each connection is what the kernel does.
#[test]
fn a_ufw_ruleset_is_audited_whole() {
    let Some((lab, _servers)) = universe_lab("uf", false) else {
        return;
    };
    let read = |f: &str| std::fs::read_to_string(f).unwrap_or_else(|e| panic!("{f}: {e}"));
    let compared = check_ipt(
        &lab,
        read("tests/fixtures/audit/ufw-v4.txt"),
        read("tests/fixtures/audit/ufw-v6.txt"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(compared > 20, "{compared} compared");
}

/// Load `script` (`IFACE`: the gateway's interface) into a lab of its own `tag` and audit its
/// listing: each part `touched` holds must be unknown, naming `chain`, and every other part
/// decided; the kernel must open none of the touched parts' connections, and every one once
/// the ruleset is gone (so "admitted" would have been wrong).
fn unknown_where_it_blocks(tag: &str, script: &str, touched: fn(&Value) -> bool, chain: &str) {
    unknown_where_it_decides(tag, script, (touched, chain), false);
}

/// [`unknown_where_it_blocks`], where the kernel opens every touched connection (`opens`:
/// so "blocked" would have been wrong) or none.
fn unknown_where_it_decides(
    tag: &str,
    script: &str,
    (touched, chain): (fn(&Value) -> bool, &str),
    opens: bool,
) {
    let Some((lab, _servers)) = universe_lab(tag, false) else {
        return;
    };
    let at = At::of(&lab);
    load_nft(&lab, &script.replace("IFACE", &at.iface)).unwrap_or_else(|e| panic!("{e}"));
    let r = audit_dumps(&at, &nft_dumps(&lab)[..1], &["--format", "json"]);
    let report: Value =
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stderr));
    let (mut inbound, mut outbound) = (Vec::new(), Vec::new());
    for f in report["findings"].as_array().unwrap() {
        for p in f["parts"].as_array().unwrap() {
            let (result, why) = (&p["result"], p["decided_by"].as_str().unwrap_or(""));
            if !touched(p) {
                assert_ne!(result, "unknown", "{}: {p}", f["id"]);
                continue;
            }
            assert_eq!(result, "unknown", "{}: {p}", f["id"]);
            assert!(why.contains(chain), "{}: {why}", f["id"]);
            for (src, dst, port) in crate::audit::lab_connections(p, &at.addresses()) {
                let probe = serde_json::json!({"src": src, "dst": dst, "proto": p["protocol"], "port": port});
                if at.gateway.contains(&src.as_str()) {
                    outbound.push(probe);
                } else {
                    inbound.push(probe);
                }
            }
        }
    }
    assert!(
        !inbound.is_empty() || !outbound.is_empty(),
        "no part touched"
    );
    let made = |timeout| -> Vec<String> {
        lab.forget_neighbours();
        [(&lab.cli, &inbound), (&lab.gw, &outbound)]
            .into_iter()
            .flat_map(|(ns, probes)| probe(&lab, ns, probes, timeout))
            .collect()
    };
    if opens {
        let got = made("2");
        assert!(got.iter().all(|g| g == "open"), "{got:?}");
        return;
    }
    let got = made("0.5");
    assert!(got.iter().all(|g| g != "open"), "{got:?}");
    load_nft(&lab, "flush ruleset\n").unwrap_or_else(|e| panic!("{e}"));
    let got = made("2");
    assert!(got.iter().all(|g| g == "open"), "{got:?}");
}

/// An `arp` table that drops address resolution blocks every IPv4 connection, which the
/// audit does not model: each IPv4 part is unknown, naming the chain (it was `admitted`, and
/// the kernel opens none of them), and IPv6 is decided as before.
#[test]
fn an_arp_table_that_may_drop_makes_ipv4_unknown() {
    let script = "flush ruleset
table arp a {
  chain input { type filter hook input priority 0; policy drop; }
}
";
    let v4 = |p: &Value| p["dst"][0].as_str().is_some_and(|a| a.contains('.'));
    unknown_where_it_blocks("ar", script, v4, "chain arp a input");
}

/// A netdev table's egress chain on the gateway's interface, which drops DNS queries: the
/// last hook a packet leaving the host meets. nft's JSON does not name its device, so the
/// parts it would drop are unknown (they were `admitted`, and the kernel opens none of
/// them); what it does not touch is decided.
#[test]
fn an_egress_chain_is_on_the_way_out() {
    let script = "flush ruleset
table netdev e {
  chain out { type filter hook egress device \"IFACE\" priority 0; policy accept;
    udp dport 53 drop
  }
}
";
    let dns = |p: &Value| p["protocol"] == "udp" && p["ports"] == "53";
    unknown_where_it_blocks("eg", script, dns, "egress chain netdev e out");
}

/// nat chains that drop the gateway's IPv4 DNS queries and IPv6 ICAP requests. The kernel
/// passes packets through nat chains only while it tracks connections in the namespace, and
/// it tracks them only while something asks (a `ct` match, a nat statement, iptables rules,
/// another program). With no such rule in the ruleset, the parts they would drop are
/// unknown, naming the chains (they were `blocked`, and the kernel opens them all); with a
/// `ct` match for IPv4 only, IPv6's stay unknown.
const NAT_DROPS: &str = "flush ruleset
table ip nat {
  chain out { type nat hook output priority -100; policy accept;
    udp dport 53 drop
  }
}
table ip6 nat6 {
  chain pre { type nat hook prerouting priority dstnat; policy accept;
    tcp dport 1344 drop
  }
}
";

/// Whether a part is the gateway's IPv4 DNS or IPv6 ICAP, which [`NAT_DROPS`] drops.
fn nat_dropped(p: &Value) -> bool {
    let v4 = p["dst"][0].as_str().is_some_and(|a| a.contains('.'));
    (v4 && p["protocol"] == "udp" && p["ports"] == "53")
        || (!v4 && p["protocol"] == "tcp" && p["ports"] == "1344")
}

#[test]
fn a_nat_chain_sees_packets_only_while_connections_are_tracked() {
    let both = (nat_dropped as fn(&Value) -> bool, "nat chain ip");
    unknown_where_it_decides("nt", NAT_DROPS, both, true);
    let tracked_v4 = format!(
        "{NAT_DROPS}table ip t {{
  chain input {{ type filter hook input priority 0; policy accept;
    ct state invalid drop
  }}
}}
"
    );
    let v6 = |p: &Value| nat_dropped(p) && p["dst"][0].as_str().is_some_and(|a| a.contains(':'));
    unknown_where_it_decides("n6", &tracked_v4, (v6, "nat chain ip6 nat6 pre"), true);
    // Tracked for both families (a `ct` match in an inet table, or a nat statement), the nat
    // chains decide, as the kernel does.
    let tracked = [
        NAT_DROPS.replace("flush ruleset\n", "")
            + "table inet t {\n  chain input { type filter hook input priority 0; policy accept;\n    ct state invalid drop\n  }\n}",
        NAT_DROPS.replace("flush ruleset\n", "").replace(
            "tcp dport 1344 drop\n",
            "tcp dport 1344 drop\n  }\n  chain post { type nat hook postrouting priority srcnat; policy accept;\n    ip6 daddr 2001:db8:ffff::77 masquerade\n",
        ).replace(
            "udp dport 53 drop\n",
            "udp dport 53 drop\n  }\n  chain post { type nat hook postrouting priority srcnat; policy accept;\n    ip daddr 203.0.113.77 masquerade\n",
        ),
    ];
    let bodies: Vec<&str> = tracked.iter().map(String::as_str).collect();
    let Some(compared) = written_rulesets(("nb", false), &bodies) else {
        return;
    };
    assert!(compared > 20, "{compared} compared");
}

/// Ingress and egress chains on the gateway's interface (`IFACE`), and one on another
/// device. nft 1.0.6's JSON names no chain's device; the listing at the end of the bytecode
/// listing does, and [`written_rulesets`] gives both: every part is decided, as the kernel
/// decides it (from the JSON alone, what such a chain drops is unknown:
/// [`an_egress_chain_is_on_the_way_out`]).
const EDGE_RULESETS: &[&str] = &[
    "table netdev e {
  chain ing { type filter hook ingress device \"IFACE\" priority 0; policy accept;
    udp dport 161 drop
  }
  chain eg { type filter hook egress device \"IFACE\" priority 0; policy accept;
    udp dport 53 drop
  }
}",
    "table inet f {
  chain ing { type filter hook ingress device \"IFACE\" priority 0; policy accept;
    tcp dport 1344 drop
  }
}
table netdev other {
  chain ing { type filter hook ingress device \"lo\" priority 0; policy drop; }
}",
];

#[test]
fn an_edge_chains_device_is_read_from_the_bytecode_listing() {
    let Some(compared) = written_rulesets(("ed", false), EDGE_RULESETS) else {
        return;
    };
    assert!(compared > 20 * EDGE_RULESETS.len(), "{compared} compared");
}

/// nft 1.0.6 lists `tcp sport >= 1000 tcp dport <= 2000 drop` as `tcp dport 1000-2000
/// drop`: read alone, that listing says the gateway's connections to ports 25, 80 and 443
/// pass, and the kernel drops them (so the audit alone differs from the kernel). Given the
/// bytecode too (`nft --debug=netlink list ruleset`), the audit says it cannot read the rule
/// and where it decides, says `unknown`: it never differs from the kernel.
#[test]
fn a_rule_nft_misprints_is_unknown_given_its_bytecode() {
    let Some((lab, _servers)) = universe_lab("nm", false) else {
        return;
    };
    let script = "flush ruleset
table inet t {
  chain output {
    type filter hook output priority 0; policy accept;
    tcp sport >= 1000 tcp dport <= 2000 drop
  }
}
";
    load_nft(&lab, script).unwrap_or_else(|e| panic!("{e}"));
    let dump = |args: &[&str]| {
        let out = lab.exec(&lab.gw).arg("nft").args(args).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let json = dump(&["-j", "list", "ruleset"]);
    assert!(
        json.contains("\"range\": [1000, 2000]"),
        "the misprint: {json}"
    );
    let alone = against_kernel(&lab, std::slice::from_ref(&json), script);
    let Err(e) = alone else {
        panic!("the listing alone agreed with the kernel");
    };
    assert!(e.to_string().contains("smtp-alerts"), "{e}");
    let netlink = dump(&["--debug=netlink", "list", "ruleset"]);
    against_kernel(&lab, &[json, netlink], script).unwrap_or_else(|e| panic!("{e}"));
}

/// Why [`probe`] gives every probe a source of the lab's own ([`Lab::own_sources`]):
/// connection tracking outlives a ruleset, so a ping whose identifier an admitted ping used
/// moments before, or a UDP datagram from the port of an admitted exchange, is "established"
/// to the kernel under a ruleset that admits no new one (the generated test once saw a ping
/// "open" through an unconditional drop, and the iptables-save test a UDP one). A fresh
/// identifier or port is a new exchange.
#[test]
fn a_probe_from_a_used_source_is_established_to_the_kernel() {
    if !ready() {
        return;
    }
    let lab = Lab::new("ie");
    let _server = lab.serve(&lab.gw, "22", "161", "198.18.0.1");
    let load = |script: &str| load_nft(&lab, script).unwrap_or_else(|e| panic!("{e}"));
    let send = |proto: &str, source: u16| -> String {
        let mut p = serde_json::json!({"src": "198.18.0.2", "dst": "198.18.0.1", "proto": proto,
                                       "port": if proto == "udp" { 161 } else { 0 }});
        let key = if proto == "udp" { "sport" } else { "ident" };
        p[key] = source.into();
        let mut cmd = lab.exec(&lab.cli);
        cmd.env("FWGEN_PROBE_TIMEOUT", "1")
            .env("FWGEN_PROBE_TRIES", "1")
            .args(["python3", crate::live::PROBE, "probe"]);
        let got: Vec<String> = crate::util::pipe_json(cmd, &vec![p]);
        got.concat()
    };
    let input = |policy: &str, rule: &str| {
        format!(
            "flush ruleset\ntable inet t {{\n  chain input {{\n    type filter hook input \
             priority 0; policy {policy};\n    {rule}\n  }}\n}}\n"
        )
    };
    for proto in ["icmp", "udp"] {
        // A `ct` rule in both: the kernel tracks connections in a namespace only while a rule
        // asks about them.
        load(&input("accept", "ct state established accept"));
        assert_eq!(send(proto, 40_001), "open", "{proto}: admitted, answered");
        load(&input("drop", "ct state established accept"));
        assert_eq!(
            send(proto, 40_001),
            "open",
            "{proto}: the same source: an established exchange"
        );
        assert_eq!(
            send(proto, 40_002),
            "closed",
            "{proto}: a new source: a new exchange, dropped"
        );
    }
}

/// A firewall between the peers and the gateway (perimeter placement) is a host on both
/// links: IPv6 through it needs its own neighbour discovery with each side, which its
/// prerouting, input, output and postrouting chains see, and which connection tracking
/// leaves untracked. And before routing (prerouting) a forwarded packet has no output
/// interface yet. Before the audit knew, it said `admitted` for every IPv6 connection of
/// the first four, of which the kernel connects none in the first three and no inbound one
/// in the fourth (18, 18, 18 and 6 of 36 connections differed), and `blocked` for every
/// connection of the fifth, all of which connect (36 of 36).
const FIREWALL_RULESETS: &[&str] = &[
    "table inet early {
  chain prerouting { type filter hook prerouting priority -150; policy accept;
    ct state untracked drop
  }
}",
    "table inet t {
  chain input { type filter hook input priority 0; policy drop;
    ct state established,related accept
    tcp dport 22 accept
  }
}",
    "table inet t {
  chain input { type filter hook input priority 0; policy accept;
  }
  chain output { type filter hook output priority 0; policy drop;
    icmpv6 type nd-neighbor-solicit accept
  }
}",
    "table ip6 t6 {
  chain input { type filter hook input priority 0; policy accept;
    iifname \"IFACE\" icmpv6 type nd-neighbor-advert drop
  }
}",
    "table inet early {
  chain prerouting { type filter hook prerouting priority -150; policy accept;
    oifname \"IFACE\" drop
    oifname \"INGRESS\" drop
  }
}",
];

/// The audit equals the kernel on [`FIREWALL_RULESETS`], loaded into the firewall.
#[test]
fn a_firewalls_own_neighbour_discovery_and_prerouting_are_its_own() {
    let Some(compared) = written_rulesets(("fr", true), FIREWALL_RULESETS) else {
        return;
    };
    assert!(
        compared > 20 * FIREWALL_RULESETS.len(),
        "{compared} compared"
    );
}

/// The same on a firewall between the peers and the gateway (perimeter placement): the
/// generated rules in its FORWARD chain and its own INPUT chain, the mangle PREROUTING
/// chain, and `IFACE` the interface facing the gateway or the one facing the peers.
#[test]
fn audit_equals_the_kernel_on_generated_perimeter_iptables_rulesets() {
    generated(
        ("yp", true),
        "tests/proptest-regressions/audit_exact_perimeter_iptables.txt",
        (ipt_family(false), ipt_family(true), any::<bool>()),
        |lab, (v4, v6, egress)| {
            let (ingress, toward_gateway) = lab.fw_devs();
            let iface = if *egress { toward_gateway } else { ingress };
            check_ipt(
                lab,
                v4.save_forward(false).replace("IFACE", &iface),
                v6.save_forward(true).replace("IFACE", &iface),
            )
        },
    );
}

#[test]
fn audit_equals_the_kernel_on_generated_iptables_rulesets() {
    generated(
        ("y", false),
        "tests/proptest-regressions/audit_exact_iptables.txt",
        (ipt_family(false), ipt_family(true)),
        check_iptables,
    );
}

/// The same on a firewall between the peers and the gateway (perimeter placement): the
/// generated rules in two chains of the forward hook, with the `early` table's prerouting
/// chain, half the time the firewall's own input and output chains (which its neighbour
/// discovery passes), and `IFACE` the interface facing the gateway or the one facing the
/// peers.
#[test]
fn audit_equals_the_kernel_on_generated_perimeter_rulesets() {
    generated(
        ("xp", true),
        "tests/proptest-regressions/audit_exact_perimeter.txt",
        (case(), any::<bool>(), prop::option::of((chain(), chain()))),
        |lab, (case, egress, own)| {
            let (ingress, toward_gateway) = lab.fw_devs();
            let iface = if *egress { toward_gateway } else { ingress };
            check_nft(
                lab,
                &case.nft_forward(own.as_ref()).replace("IFACE", &iface),
            )
        },
    );
}

#[test]
fn audit_equals_the_kernel_on_generated_nftables_rulesets() {
    generated(
        ("x", false),
        "tests/proptest-regressions/audit_exact.txt",
        case(),
        check,
    );
}

/// The same with the second table's prerouting chain a nat chain (priority dstnat), which
/// sees a connection's first packet only, and only while connections are tracked (what it
/// would drop where no rule asks for that is unknown, and left out).
#[test]
fn audit_equals_the_kernel_on_generated_rulesets_with_nat_chains() {
    generated(
        ("xn", false),
        "tests/proptest-regressions/audit_exact_nat.txt",
        case().prop_filter("a second table", |c| c.pre.is_some()),
        |lab, c| {
            let nat = c.nft().replace(
                "type filter hook prerouting priority -150",
                "type nat hook prerouting priority dstnat",
            );
            check_nft(lab, &nat.replace("IFACE", &At::of(lab).iface))
        },
    );
}

/// Why [`Lab::forget_neighbours`] ends the connections earlier probes left: a lab's peers
/// share one interface, so each IPv6 peer is probed in a group of its own after the caches
/// are emptied; but a connection of an earlier group that still retransmits (here the
/// gateway's FIN, which its output chain drops) needs neighbour discovery again, and the
/// gateway's solicitation teaches the client side its link address. A peer whose own
/// exchange the ruleset blocks (the gateway's advertisements to ::2 are dropped) then
/// connects. The generated test once failed that way.
#[test]
fn no_probe_leaves_a_connection_that_teaches_the_next_its_neighbours() {
    let Some((lab, _servers)) = universe_lab("lq", false) else {
        return;
    };
    load_nft(
        &lab,
        "flush ruleset
table inet t {
  chain output { type filter hook output priority 0; policy accept;
    ip6 daddr 2001:db8:f::3 tcp flags fin drop
    ip6 daddr 2001:db8:f::2 icmpv6 type nd-neighbor-advert drop
  }
}",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let one = |ns: &str, src: &str, dst: &str, port: u16| {
        let p = serde_json::json!({"src": src, "dst": dst, "proto": "tcp", "port": port});
        probe(&lab, ns, &[p], "2").concat()
    };
    lab.forget_neighbours();
    assert_eq!(one(&lab.gw, "2001:db8:f::1", "2001:db8:f::3", 80), "open");
    lab.forget_neighbours();
    assert_eq!(
        one(&lab.cli, "2001:db8:f::2", "2001:db8:f::1", 443),
        "closed",
        "the client side learnt the gateway's link address from a connection of the last probe"
    );
}

/// A firewall's own solicitation of a routed packet's next hop comes from its link-local
/// address (the packet's source is not its own), so a peer whose route names the firewall's
/// global address learns nothing from it: the peer's replies need the peer's own
/// solicitation of the firewall and the firewall's advertisement back. Here the firewall's
/// output chain drops its advertisements to 2001:db8:f::3 only: outbound connections to ::3
/// are blocked, in the kernel and in the audit (which admitted them while it took the
/// firewall's solicitation to teach the peer), and those to ::2 and ::9 open. A generated
/// case whose rule decided those advertisements by their checksum (which changes with the
/// lab's random link addresses) failed in CI from run to run.
#[test]
fn a_peer_behind_a_firewall_solicits_it_for_its_replies() {
    let Some((lab, _servers)) = universe_lab("nr", true) else {
        return;
    };
    let script = "flush ruleset
table inet t {
  chain output { type filter hook output priority 0; policy accept;
    ip6 daddr 2001:db8:f::3 icmpv6 type nd-neighbor-advert drop
  }
}";
    let compared = check_nft(&lab, script).unwrap_or_else(|e| panic!("{e}"));
    assert!(compared > 0);
    let at = At::of(&lab);
    let r = audit_dumps(&at, &nft_dumps(&lab), &["--format", "json"]);
    let findings: Value = serde_json::from_str(&r.stdout).unwrap();
    let outbound_to = |peer: &str, result: &str| {
        findings["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|f| f["parts"].as_array().into_iter().flatten())
            .filter(|p| p["direction"] == "out" && p["result"] == result)
            .filter(|p| {
                crate::audit::lab_connections(p, &at.addresses())
                    .iter()
                    .any(|c| c.1 == peer)
            })
            .count()
    };
    assert!(
        outbound_to("2001:db8:f::3", "blocked") > 0,
        "outbound to ::3 blocked: {}",
        r.stdout
    );
    assert_eq!(outbound_to("2001:db8:f::3", "admitted"), 0, "{}", r.stdout);
    assert!(outbound_to("2001:db8:f::2", "admitted") > 0, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("the firewall's advertisements to the peer for its replies"),
        "{}",
        r.stdout
    );
}

/// `--fix` on a firewall in front of the gateway, proven against the kernel. Three rulesets
/// that block part of what the gateway needs, each fwgen's own perimeter ruleset for the lab
/// with one thing wrong: the firewall's own input chain drops its neighbour discovery (so no
/// IPv6 passes it), the ruleset was generated without the site's default features, or it
/// drops the gateway's replies. For each, the commands `--fix` prints load after it, the
/// audit then finds nothing missing, and every connection the lab can make through the
/// firewall is what the audit says.
#[test]
fn perimeter_fix_commands_admit_in_the_kernel_what_was_missing() {
    let Some((lab, _servers)) = universe_lab("fx", true) else {
        return;
    };
    let at = At::of(&lab);
    let generated = |extra: &[&str]| {
        let mut args = vec!["generate", "--site", PERIMETER_SITE, "--placement"];
        args.extend(["perimeter", "--allow-unbound", "-b", "nftables"]);
        args.extend(extra);
        crate::util::ok(&args)
    };
    let own = generated(&[]);
    let reply = "\t\tct state established,related accept\n";
    let out_chain = own
        .find("chain gateway_out {")
        .expect("a gateway_out chain");
    let at_reply = out_chain + own[out_chain..].find(reply).expect("a reply rule");
    let broken = [
        format!(
            "{own}\ntable inet host {{\n  chain input {{ type filter hook input priority 0; policy drop;\n    ct state established,related accept\n  }}\n}}\n"
        ),
        generated(&["--no-default-features"]),
        format!("{}{}", &own[..at_reply], &own[at_reply + reply.len()..]),
    ];
    // The audit of what is loaded in the firewall: its exit code, its output (the commands,
    // with `--fix`) and what it says on standard error.
    let audit = |script: &str, extra: &[&str]| -> (i32, String, String) {
        load_nft(&lab, script).unwrap_or_else(|e| panic!("nft refuses it: {e}\n{script}"));
        let r = audit_dumps(&at, &nft_dumps(&lab), extra);
        (r.code, r.stdout, r.stderr)
    };
    let mut compared = 0;
    for (i, script) in broken.iter().enumerate() {
        let (code, commands, said) = audit(script, &["--fix"]);
        assert_eq!(code, 1, "ruleset {i}: findings expected:\n{said}{commands}");
        assert!(commands.contains(" rule "), "ruleset {i}: {commands}");
        let fixed = format!("{script}\n{commands}");
        let (code, report, said) = audit(&fixed, &[]);
        assert_eq!(
            code, 0,
            "ruleset {i} after the fix:\n{report}{said}\n{commands}"
        );
        match check_nft(&lab, &fixed) {
            Ok(n) => compared += n,
            Err(e) => panic!("ruleset {i} after the fix: {e}"),
        }
    }
    assert!(compared > 60, "{compared} connections compared");
}
