//! Cisco IOS and ASA output: every ACE parses with the `cisco-acl` package, the structure is
//! sound (remarks, ports, object groups, wildcard vs netmask), and an evaluator shows the ACLs
//! make the same allow/deny decisions as the iptables backend for the same selection.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::Command;

use ipnet::IpNet;
use serde_json::Value;

use crate::eval::{Addr, Packet, eval_iptables, parse_iptables};
use crate::tools::targets;
use crate::util::{fwgen, ok};

// ---------------------------------------------------------------------------------------
// A small ACL model and evaluator, for both dialects.

#[derive(Clone, Debug)]
struct CiscoAce {
    permit: bool,
    proto: String,
    src: Addr,
    sport: Option<(u16, u16)>,
    dst: Addr,
    dport: Vec<(u16, u16)>,
    established: bool,
}

#[derive(Debug, Default)]
struct CiscoConfig {
    acls: BTreeMap<String, Vec<CiscoAce>>,
    /// ASA FQDN objects: name -> (`v4`|`v6`, host name).
    fqdn_objects: BTreeMap<String, (String, String)>,
    /// Raw ACE texts per dialect-neutral form, for cisco-acl: (IPv4?, IOS-form line).
    ios_lines: Vec<String>,
    remarks: Vec<String>,
}

impl CiscoAce {
    fn matches(&self, p: &Packet) -> bool {
        let proto = self.proto == "ip" || self.proto == "ipv6" || self.proto == p.proto;
        let ports =
            |r: &[(u16, u16)], v: u16| r.is_empty() || r.iter().any(|(a, b)| *a <= v && v <= *b);
        proto
            && self.src.matches(p.src)
            && self.dst.matches(p.dst)
            && self.sport.is_none_or(|(a, b)| a <= p.sport && p.sport <= b)
            && ports(&self.dport, p.dport)
            && (!self.established || (p.proto == "tcp" && p.ack))
    }
}

fn eval_acl(aces: &[CiscoAce], p: &Packet) -> bool {
    aces.iter().find(|a| a.matches(p)).is_some_and(|a| a.permit)
}

fn is_mask(m: u32) -> bool {
    m.leading_ones() + m.trailing_zeros() == 32
}

fn v4(s: &str) -> Option<u32> {
    s.parse::<std::net::Ipv4Addr>().ok().map(u32::from)
}

/// Parse one address at `t[i..]`; returns the address, tokens used, and (for cisco-acl) the
/// IOS form. `netmask` says which mask kind this dialect/place must use.
fn parse_addr(
    t: &[&str],
    groups: &BTreeMap<String, Vec<IpNet>>,
    netmask: bool,
    errors: &mut Vec<String>,
) -> (Addr, usize, Vec<String>) {
    match t[0] {
        "any" | "any4" | "any6" => (Addr::Any, 1, vec!["any".into()]),
        "host" => {
            let ip: IpAddr = t[1].parse().unwrap();
            (
                Addr::Nets(vec![IpNet::from(ip)]),
                2,
                vec![format!("host {ip}")],
            )
        }
        "object-group" => {
            let nets = groups.get(t[1]).cloned().unwrap_or_else(|| {
                errors.push(format!("object-group {} used before it is defined", t[1]));
                vec![]
            });
            let forms = nets
                .iter()
                .map(|n| match n {
                    IpNet::V4(v) if v.prefix_len() == 32 => format!("host {}", v.addr()),
                    IpNet::V4(v) => format!("{} {}", v.network(), v.hostmask()),
                    n => n.to_string(),
                })
                .collect();
            (Addr::Nets(nets), 2, forms)
        }
        a if a.contains(':') => {
            let n: IpNet = a.parse().unwrap_or_else(|_| panic!("IPv6 prefix {a}"));
            (Addr::Nets(vec![n]), 1, vec![n.to_string()])
        }
        a => {
            let (addr, mask) = (
                v4(a).unwrap_or_else(|| panic!("address {a}")),
                v4(t[1]).unwrap_or_else(|| panic!("mask {}", t[1])),
            );
            let netmask_value = if netmask { mask } else { !mask };
            if !is_mask(netmask_value) {
                errors.push(format!(
                    "`{a} {}` is not a {}",
                    t[1],
                    if netmask { "netmask" } else { "wildcard" }
                ));
            }
            let len = netmask_value.leading_ones() as u8;
            let net = IpNet::V4(ipnet::Ipv4Net::new(addr.into(), len).unwrap());
            if net.trunc() != net {
                errors.push(format!("`{a} {}` has host bits set", t[1]));
            }
            (
                Addr::Nets(vec![net]),
                2,
                vec![format!(
                    "{} {}",
                    std::net::Ipv4Addr::from(addr),
                    std::net::Ipv4Addr::from(!netmask_value)
                )],
            )
        }
    }
}

fn parse_ports(
    t: &[&str],
    services: &BTreeMap<String, Vec<(u16, u16)>>,
    errors: &mut Vec<String>,
) -> (Vec<(u16, u16)>, usize, Vec<String>) {
    let num = |s: &str, errors: &mut Vec<String>| -> u16 {
        match s.parse::<u32>() {
            Ok(n) if (1..=65535).contains(&n) => n as u16,
            _ => {
                errors.push(format!("port `{s}` is not in 1..=65535"));
                0
            }
        }
    };
    match t.first().copied() {
        Some("eq") => {
            let n = num(t[1], errors);
            (vec![(n, n)], 2, vec![format!("eq {n}")])
        }
        Some("gt") => {
            let n = num(t[1], errors);
            if n == 65535 {
                errors.push("gt 65535 matches no port".into());
            }
            (
                vec![(n.saturating_add(1), 65535)],
                2,
                vec![format!("gt {n}")],
            )
        }
        Some("range") => {
            let (a, b) = (num(t[1], errors), num(t[2], errors));
            if a > b {
                errors.push(format!("range {a} {b} is reversed"));
            }
            (vec![(a, b)], 3, vec![format!("range {a} {b}")])
        }
        Some("object-group") if services.contains_key(t[1]) => {
            let r = services[t[1]].clone();
            let forms = r
                .iter()
                .map(|(a, b)| {
                    if a == b {
                        format!("eq {a}")
                    } else {
                        format!("range {a} {b}")
                    }
                })
                .collect();
            (r, 2, forms)
        }
        _ => (vec![], 0, vec![String::new()]),
    }
}

/// Parse an IOS or ASA configuration as fwgen writes it; `errors` collects structural problems.
fn parse_cisco(text: &str, asa: bool, errors: &mut Vec<String>) -> CiscoConfig {
    let mut cfg = CiscoConfig::default();
    let mut net_groups: BTreeMap<String, Vec<IpNet>> = BTreeMap::new();
    let mut svc_groups: BTreeMap<String, Vec<(u16, u16)>> = BTreeMap::new();
    let mut current_group: Option<(String, bool)> = None; // (name, is_service)
    let mut current_object: Option<String> = None; // ASA `object network NAME`
    let mut current_acl: Option<String> = None;
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.starts_with(|c: char| c.is_ascii_alphabetic())
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    for line in text.lines() {
        if line.starts_with('!') || line.is_empty() {
            if line.starts_with('!') && line.len() > 1 && line.contains('?') {
                errors.push(format!("`?` in a comment line: {line}"));
            }
            current_group = None;
            current_object = None;
            continue;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        if asa && !line.starts_with(' ') && t[0] == "object" {
            // `object network NAME`, then ` fqdn v4|v6 HOST`.
            assert_eq!(t.get(1), Some(&"network"), "{line}");
            let name = t[2].to_string();
            let ok = name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
            if !ok {
                errors.push(format!("object name {name}"));
            }
            current_group = None;
            current_acl = None;
            current_object = Some(name);
            continue;
        }
        if let Some(name) = &current_object {
            if line.starts_with(' ') {
                match t.as_slice() {
                    ["fqdn", fam @ ("v4" | "v6"), host]
                        if host.len() <= 253
                            && host.split('.').all(|l| {
                                !l.is_empty()
                                    && l.chars()
                                        .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
                            }) =>
                    {
                        cfg.fqdn_objects
                            .insert(name.clone(), (fam.to_string(), host.to_string()));
                    }
                    _ => errors.push(format!("object {name}: unexpected `{line}`")),
                }
                continue;
            }
            current_object = None;
        }
        // ASA flat form: access-list NAME remark|extended …
        let (acl_line, body): (Option<String>, Vec<&str>) = if asa && t[0] == "access-list" {
            current_group = None;
            (Some(t[1].to_string()), t[2..].to_vec())
        } else if !line.starts_with(' ') {
            (None, t.clone())
        } else {
            (current_acl.clone(), t.clone())
        };
        if !(line.starts_with(' ') || asa && t[0] == "access-list") {
            current_acl = None;
            current_group = None;
            match (t[0], t.get(1).copied()) {
                ("object-group", Some(kind)) => {
                    let name = t[2].to_string();
                    assert!(name_ok(&name), "object-group name {name}");
                    let svc = kind == "service";
                    if svc {
                        svc_groups.insert(name.clone(), vec![]);
                    } else {
                        net_groups.insert(name.clone(), vec![]);
                    }
                    current_group = Some((name, svc));
                }
                ("ip", Some("access-list")) | ("ipv6", Some("access-list")) => {
                    let name = t.last().unwrap().to_string();
                    assert!(name_ok(&name), "ACL name {name}");
                    cfg.acls.insert(name.clone(), vec![]);
                    current_acl = Some(name);
                }
                _ => errors.push(format!("unexpected line: {line}")),
            }
            continue;
        }
        if let Some((name, svc)) = &current_group {
            let t: Vec<&str> = if t[0] == "network-object" || t[0] == "port-object" {
                t[1..].to_vec()
            } else {
                t.clone()
            };
            if *svc {
                let (r, _, _) = parse_ports(&t, &svc_groups, errors);
                svc_groups.get_mut(name).unwrap().extend(r);
            } else if t[0] == "description" {
                // A group's description: text, nothing to match.
            } else if t[0] == "object" {
                // An FQDN object: the ASA resolves it. For the checks it stands for one
                // documentation address of its family (what a lookup could answer).
                match cfg.fqdn_objects.get(t[1]) {
                    None => errors.push(format!("object {} used before it is defined", t[1])),
                    Some((fam, _)) => {
                        let stand_in: IpNet = if fam == "v4" {
                            "198.51.100.200/32".parse().unwrap()
                        } else {
                            "2001:db8:53::200/128".parse().unwrap()
                        };
                        net_groups.get_mut(name).unwrap().push(stand_in);
                    }
                }
            } else {
                // Object-group members take netmasks on both platforms.
                let (a, _, _) = parse_addr(&t, &net_groups, true, errors);
                if let Addr::Nets(n) = a {
                    net_groups.get_mut(name).unwrap().extend(n);
                }
            }
            continue;
        }
        let Some(acl) = acl_line else {
            errors.push(format!("line outside any block: {line}"));
            continue;
        };
        let mut b = body;
        if b[0] == "remark" {
            let text = line.split_once("remark ").unwrap().1;
            if text.len() > 100 {
                errors.push(format!("remark over 100 characters: {text}"));
            }
            cfg.remarks.push(text.to_string());
            continue;
        }
        if asa {
            assert_eq!(b[0], "extended", "{line}");
            b.remove(0);
        }
        cfg.acls.entry(acl.clone()).or_default();
        let permit = match b[0] {
            "permit" => true,
            "deny" => false,
            other => panic!("action {other} in {line}"),
        };
        let proto = b[1].to_string();
        let mut i = 2;
        let (src, n, src_forms) = parse_addr(&b[i..], &net_groups, asa, errors);
        i += n;
        let (sports, n, sport_forms) = parse_ports(&b[i..], &svc_groups, errors);
        i += n;
        let (dst, n, dst_forms) = parse_addr(&b[i..], &net_groups, asa, errors);
        i += n;
        let (dport, n, dport_forms) = parse_ports(&b[i..], &svc_groups, errors);
        i += n;
        let rest = &b[i..];
        let established = rest.contains(&"established");
        let icmp = proto == "icmp" || proto == "icmp6";
        if !icmp {
            for r in rest {
                assert!(
                    ["established", "log"].contains(r),
                    "unexpected `{r}` in {line}"
                );
            }
        }
        let sport = sports.first().copied();
        // The IOS form of every expanded ACE, for cisco-acl (IPv4 only; ICMP with its type).
        if !line.contains(':') {
            for s in &src_forms {
                for sp in &sport_forms {
                    for d in &dst_forms {
                        for dp in &dport_forms {
                            let mut l = format!("{} {proto} {s}", b[0]);
                            for part in [sp.as_str(), d.as_str(), dp.as_str()] {
                                if !part.is_empty() {
                                    l.push(' ');
                                    l.push_str(part);
                                }
                            }
                            for r in rest {
                                l.push(' ');
                                l.push_str(r);
                            }
                            // cisco-acl knows IPv4 only; IPv6 ACEs get the structural checks.
                            if !l.contains(':') {
                                cfg.ios_lines.push(l);
                            }
                        }
                    }
                }
            }
        }
        if icmp {
            continue;
        }
        cfg.acls.get_mut(&acl).unwrap().push(CiscoAce {
            permit,
            proto,
            src,
            sport,
            dst,
            dport,
            established,
        });
    }
    cfg
}

// ---------------------------------------------------------------------------------------

fn generate(args: &[&str], backend: &str) -> String {
    let mut all = args.to_vec();
    all.extend(["-b", backend]);
    without_generations(&ok(&all))
}

/// Cisco output with the generation taken off every name (`FWGEN-TO-GW-1a2b3c4d` is
/// `FWGEN-TO-GW`), so that the tests of what the lists decide find them by their base names
/// (`cisco_updates` tests the generations).
pub fn without_generations(text: &str) -> String {
    let strip = |w: &str| -> String {
        match w.rsplit_once('-') {
            Some((base, g))
                if (base.starts_with("FWGEN-") || base.starts_with("fwgen-"))
                    && g.len() == 8
                    && g.chars().all(|c| c.is_ascii_hexdigit()) =>
            {
                base.to_string()
            }
            _ => w.to_string(),
        }
    };
    text.lines()
        .map(|l| l.split(' ').map(strip).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn cisco_python() -> Option<PathBuf> {
    crate::util::installed_tool(
        "FWGEN_CISCO_ACL_PYTHON",
        "cisco-acl-venv/bin/python",
        "the cisco-acl Python package",
    )
}

fn cisco_acl_errors(python: &PathBuf, lines: &[String]) -> Vec<String> {
    let mut cmd = Command::new(python);
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/cisco/check_aces.py"
    ));
    crate::util::pipe_json(cmd, &lines)
}

/// Selections: every product version (gateway component) with default and all features, and
/// the example site (roles and hosts bound to addresses).
fn selections() -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (p, v, c) in targets().into_iter().filter(|t| t.2 == "gateway") {
        for f in [None, Some("--all-features")] {
            let mut a: Vec<String> = [
                "generate",
                "-p",
                &p,
                "-V",
                &v,
                "-c",
                &c,
                "--gateway",
                "192.0.2.1",
                "--gateway",
                "2001:db8::1",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            a.extend(f.map(String::from));
            out.push(a);
        }
    }
    out.push(
        ["generate", "--site", "examples/site.yaml", "--all-features"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    // A site with entries of its own.
    out.push(
        ["generate", "--site", "examples/sites/own-rules.yaml"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    );
    out
}

/// A site with pings of its own: ICMP entries and their replies (parsed and checked for
/// structure; the evaluators that compare decisions with nftables know TCP and UDP only).
fn icmp_selection() -> Vec<String> {
    ["generate", "--site", "tests/fixtures/sites/live-icmp.yaml"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[test]
fn every_ace_parses_with_cisco_acl_and_the_structure_is_sound() {
    let python = cisco_python();
    let mut parsed = 0;
    for sel in selections().into_iter().chain([icmp_selection()]) {
        let args: Vec<&str> = sel.iter().map(String::as_str).collect();
        for (backend, asa) in [("cisco-ios", false), ("cisco-asa", true)] {
            let text = generate(&args, backend);
            let mut errors = Vec::new();
            let cfg = parse_cisco(&text, asa, &mut errors);
            assert!(
                errors.is_empty(),
                "{backend} {args:?}:\n{}",
                errors.join("\n")
            );
            assert!(
                cfg.acls.contains_key("FWGEN-TO-GW") && cfg.acls.contains_key("FWGEN-FROM-GW"),
                "{backend}: ACLs {:?}",
                cfg.acls.keys().collect::<Vec<_>>()
            );
            if let Some(py) = &python {
                let bad = cisco_acl_errors(py, &cfg.ios_lines);
                assert!(
                    bad.is_empty(),
                    "{backend} {args:?}: cisco-acl rejects:\n{}",
                    bad.join("\n")
                );
                parsed += cfg.ios_lines.len();
            }
        }
    }
    if python.is_some() {
        assert!(parsed > 1000, "only {parsed} ACEs checked");
    }
}

/// `--names fqdn`: the ASA resolves the host groups that have no address itself. Its FQDN
/// objects are defined before the groups that hold them, every ACE still parses (with
/// cisco-acl, each object standing for an address a lookup could answer), and the header
/// says how to turn DNS lookups on.
#[test]
fn asa_fqdn_objects_are_sound_and_every_ace_parses() {
    let python = cisco_python();
    let mut objects = 0;
    for sel in selections() {
        let mut args: Vec<&str> = sel.iter().map(String::as_str).collect();
        args.extend(["--names", "fqdn"]);
        let text = generate(&args, "cisco-asa");
        let mut errors = Vec::new();
        let cfg = parse_cisco(&text, true, &mut errors);
        assert!(errors.is_empty(), "{args:?}:\n{}", errors.join("\n"));
        if cfg.fqdn_objects.is_empty() {
            continue;
        }
        objects += cfg.fqdn_objects.len();
        for want in [
            "!  dns domain-lookup ",
            "!  dns server-group DefaultDNS",
            "!   name-server ",
        ] {
            assert!(text.contains(want), "{args:?}: {want}");
        }
        assert!(text.contains("extended permit") && text.contains("object-group FWGEN-DNS-"));
        // Both families for a dual-stack gateway.
        assert!(cfg.fqdn_objects.values().any(|(f, _)| f == "v6"));
        if let Some(py) = &python {
            let bad = cisco_acl_errors(py, &cfg.ios_lines);
            assert!(
                bad.is_empty(),
                "{args:?}: cisco-acl rejects:\n{}",
                bad.join("\n")
            );
        }
    }
    assert!(objects > 10, "only {objects} FQDN objects");
    // IOS cannot follow names: a clear error, not a list that admits any address.
    let r = fwgen(&[
        "generate",
        "-p",
        "email-gateway",
        "-V",
        "5.3",
        "--gateway",
        "192.0.2.1",
        "--names",
        "fqdn",
        "-b",
        "cisco-ios",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("IOS access lists take addresses only"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
}

/// Packets that exercise every rule: each port range's ends, each remote prefix's first
/// address (or an outside address for `any`), plus near misses: a port just past the range
/// and a source or destination outside the remote's prefixes.
fn packets(ruleset: &Value, gateway: &[IpAddr]) -> Vec<Packet> {
    let outside_v4: IpAddr = "203.0.113.77".parse().unwrap();
    let outside_v6: IpAddr = "2001:db8:ffff::77".parse().unwrap();
    let mut out = Vec::new();
    for r in ruleset["rules"].as_array().unwrap() {
        let proto: &'static str = if r["protocol"] == "tcp" { "tcp" } else { "udp" };
        let mut ports = Vec::new();
        for p in r["ports"].as_array().unwrap() {
            let (a, b): (u16, u16) = match p {
                Value::Number(n) => (n.as_u64().unwrap() as u16, n.as_u64().unwrap() as u16),
                s => {
                    let (a, b) = s.as_str().unwrap().split_once('-').unwrap();
                    (a.parse().unwrap(), b.parse().unwrap())
                }
            };
            ports.extend([a, b, b.saturating_add(1).max(1), a.saturating_sub(1).max(1)]);
        }
        ports.extend([3306, 1, 65535]);
        let mut remotes: Vec<IpAddr> = match &r["remote"] {
            Value::String(_) => vec![outside_v4, outside_v6],
            Value::Array(a) => a
                .iter()
                .map(|n| n.as_str().unwrap().parse::<IpNet>().unwrap().network())
                .collect(),
            _ => unreachable!(),
        };
        remotes.extend([outside_v4, outside_v6]);
        for &gw in gateway {
            for &remote in remotes.iter().filter(|r| r.is_ipv4() == gw.is_ipv4()) {
                for &port in &ports {
                    let (src, dst) = if r["direction"] == "in" {
                        (remote, gw)
                    } else {
                        (gw, remote)
                    };
                    out.push(Packet {
                        proto,
                        src,
                        sport: 40000,
                        dst,
                        dport: port,
                        ack: false,
                    });
                }
            }
        }
    }
    out
}

/// The selection's JSON ruleset and the gateway's addresses.
fn ruleset_json(args: &[&str]) -> (Value, Vec<IpAddr>) {
    let json: Value = serde_json::from_str(&generate(args, "json")).unwrap();
    let gateway = json["gateway"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().parse::<IpNet>().unwrap().addr())
        .collect();
    (json, gateway)
}

#[test]
fn cisco_acls_decide_like_the_iptables_backend() {
    let mut compared = 0;
    for sel in selections() {
        let args: Vec<&str> = sel.iter().map(String::as_str).collect();
        let (json, gateway) = ruleset_json(&args);
        let dir = tempfile::tempdir().unwrap();
        let mut a = args.clone();
        a.extend([
            "-b",
            "iptables",
            "--output-dir",
            dir.path().to_str().unwrap(),
        ]);
        assert_eq!(fwgen(&a).code, 0);
        let ipsets = std::fs::read_to_string(dir.path().join("ipsets")).unwrap();
        let read = |f: &str| {
            parse_iptables(
                &std::fs::read_to_string(dir.path().join(f)).unwrap(),
                &ipsets,
            )
        };
        let (ipt4, ipt6) = (read("rules.v4"), read("rules.v6"));
        for (backend, asa) in [("cisco-ios", false), ("cisco-asa", true)] {
            let mut errors = Vec::new();
            let cfg = parse_cisco(&generate(&args, backend), asa, &mut errors);
            for p in packets(&json, &gateway) {
                let toward = gateway.contains(&p.dst);
                let ipt = if p.src.is_ipv4() { &ipt4 } else { &ipt6 };
                let want = eval_iptables(ipt, "FORWARD", &p)
                    .expect("gateway traffic is decided by fwgen's chains");
                let v6 = p.src.is_ipv6() && !asa;
                let acl = |to: bool| {
                    format!(
                        "FWGEN-{}-GW{}",
                        if to { "TO" } else { "FROM" },
                        if v6 { "-V6" } else { "" }
                    )
                };
                let got = eval_acl(&cfg.acls[&acl(toward)], &p);
                assert_eq!(
                    got, want,
                    "{backend} {args:?}: {p:?}: iptables says {want}, the ACL {got}"
                );
                if got && !asa {
                    // A stateless IOS ACL must also let the reply back.
                    let reply = Packet {
                        proto: p.proto,
                        src: p.dst,
                        sport: p.dport,
                        dst: p.src,
                        dport: p.sport,
                        ack: true,
                    };
                    assert!(
                        eval_acl(&cfg.acls[&acl(!toward)], &reply),
                        "{backend} {args:?}: the reply to {p:?} is dropped"
                    );
                }
                compared += 1;
            }
        }
    }
    assert!(compared > 10_000, "only {compared} packets compared");
}

/// The lists filter the gateway's traffic only, as the nftables perimeter ruleset does: for
/// random packets, with the gateway as source, destination, both or neither, IPv4 and IPv6,
/// the IOS and ASA verdicts equal nftables' verdict (a packet without the gateway must pass
/// both lists, whichever interface it crosses).
#[test]
fn cisco_lists_decide_like_nftables_with_and_without_the_gateway() {
    let mut compared = 0;
    let mut seed: u64 = 0x5eed_f00d;
    let mut next = move |n: usize| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as usize) % n
    };
    for sel in selections() {
        let args: Vec<&str> = sel.iter().map(String::as_str).collect();
        let (json, gateway) = ruleset_json(&args);
        let nft = crate::eval::parse_nft(&generate(&args, "nftables"));
        // Addresses: the gateway's, every rule's remote prefixes, and strangers.
        let mut addrs: Vec<IpAddr> = gateway.clone();
        for r in json["rules"].as_array().unwrap() {
            if let Value::Array(a) = &r["remote"] {
                addrs.extend(
                    a.iter()
                        .map(|n| n.as_str().unwrap().parse::<IpNet>().unwrap().network()),
                );
            }
        }
        addrs.extend(
            [
                "203.0.113.77",
                "198.51.100.250",
                "2001:db8:ffff::77",
                "2001:db8:eeee::1",
            ]
            .map(|a| a.parse::<IpAddr>().unwrap()),
        );
        let ports = [
            1u16, 21, 22, 25, 53, 80, 123, 161, 389, 443, 514, 1024, 3389, 40000, 65535,
        ];
        for (backend, asa) in [("cisco-ios", false), ("cisco-asa", true)] {
            let mut errors = Vec::new();
            let cfg = parse_cisco(&generate(&args, backend), asa, &mut errors);
            assert!(errors.is_empty(), "{errors:?}");
            for _ in 0..3_000 {
                let src = addrs[next(addrs.len())];
                let same: Vec<IpAddr> = addrs
                    .iter()
                    .copied()
                    .filter(|a| a.is_ipv4() == src.is_ipv4())
                    .collect();
                let dst = same[next(same.len())];
                let p = Packet {
                    proto: if next(2) == 0 { "tcp" } else { "udp" },
                    src,
                    sport: 40000,
                    dst,
                    dport: ports[next(ports.len())],
                    ack: false,
                };
                let want = nft.eval("forward", &p).unwrap_or(true);
                let v6 = p.src.is_ipv6() && !asa;
                let list = |to: bool| {
                    &cfg.acls[&format!(
                        "FWGEN-{}-GW{}",
                        if to { "TO" } else { "FROM" },
                        if v6 { "-V6" } else { "" }
                    )]
                };
                let got = if gateway.contains(&p.dst) {
                    eval_acl(list(true), &p)
                } else if gateway.contains(&p.src) {
                    eval_acl(list(false), &p)
                } else {
                    eval_acl(list(true), &p) && eval_acl(list(false), &p)
                };
                assert_eq!(
                    got, want,
                    "{backend} {args:?}: {p:?}: nftables says {want}, the ACL {got}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 50_000, "only {compared} packets compared");
}

/// Names a reviewer can read: object groups are named after the roles and host groups they
/// hold, and every catalogue entry has a remark of its own (none cut into `+4 more`).
#[test]
fn object_groups_are_named_after_their_peers_and_every_entry_has_a_remark() {
    let args = ["generate", "--site", "examples/site.yaml", "--all-features"];
    let json: Value = serde_json::from_str(&generate(&args, "json")).unwrap();
    let mut ids: Vec<String> = json["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["entries"].as_array().unwrap().clone())
        .map(|e| e.as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    for backend in ["cisco-ios", "cisco-asa"] {
        let text = generate(&args, backend);
        let remarks: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once(" remark ").map(|(_, r)| r))
            .collect();
        for id in &ids {
            assert!(
                remarks
                    .iter()
                    .any(|r| r.starts_with(&format!("fwgen {id}:"))
                        || r.starts_with(&format!("replies: fwgen {id}:"))),
                "{backend}: no remark for {id}"
            );
        }
        assert!(
            !remarks.iter().any(|r| r.contains(" more")),
            "{backend}: a remark was cut"
        );
        // Every address group but the gateway's starts with a role's or host group's id.
        let cat = fwgen::catalogue::load_embedded().unwrap();
        let pv = cat.products["email-gateway"].newest().unwrap();
        let peers: Vec<String> = pv
            .roles
            .iter()
            .map(|r| r.id.to_ascii_uppercase())
            .chain(pv.host_groups.iter().map(|g| g.id.to_ascii_uppercase()))
            .collect();
        let groups: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("object-group network FWGEN-"))
            .filter(|g| *g != "GW")
            .collect();
        assert!(groups.len() >= 3, "{backend}: {groups:?}");
        for g in groups {
            assert!(
                peers.iter().any(|p| g.starts_with(p.as_str())),
                "{backend}: group FWGEN-{g} is not named after its peers"
            );
        }
    }
}

/// The ASA's header binds the lists inbound: an outbound list on the gateway's interface
/// would not admit traffic from a lower security level (issue "Cisco ACLs that can be
/// re-applied", ASA guidance).
#[test]
fn asa_lists_are_bound_inbound_where_traffic_arrives() {
    let text = without_generations(&ok(&[
        "generate",
        "--site",
        "examples/site.yaml",
        "-b",
        "cisco-asa",
    ]));
    let bindings: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            l.trim_start_matches(['!', ' '])
                .strip_prefix("access-group ")
        })
        .collect();
    assert!(
        bindings.contains(&"FWGEN-FROM-GW in interface dmz"),
        "{bindings:?}"
    );
    assert!(
        bindings
            .iter()
            .any(|b| b.starts_with("FWGEN-TO-GW in interface outside")),
        "{bindings:?}"
    );
    assert!(
        !bindings.iter().any(|b| b.contains(" out interface")),
        "an outbound binding is offered as the way to apply: {bindings:?}"
    );
}

#[test]
fn cisco_refuses_host_placement_and_warns_about_ftp_data_on_ios() {
    for backend in ["cisco-ios", "cisco-asa"] {
        let r = fwgen(&[
            "generate",
            "--site",
            "examples/site.yaml",
            "--placement",
            "host",
            "-b",
            backend,
        ]);
        assert_eq!(r.code, 2);
        assert!(
            r.stderr.contains("cannot express host placement"),
            "{}",
            r.stderr
        );
    }
    let r = fwgen(&[
        "generate",
        "--site",
        "examples/site.yaml",
        "-F",
        "backup-ftp",
        "-b",
        "cisco-ios",
    ]);
    assert_eq!(r.code, 0);
    assert!(
        r.stderr.contains(
            "warning: cisco-ios: a stateless ACL cannot follow FTP data connections of ftp-backup"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout
            .contains("remark FTP data connections need FTP inspection on the router")
    );
}

#[test]
fn structural_checks_catch_a_netmask_in_place_of_a_wildcard_and_long_remarks() {
    let text = "ip access-list extended FWGEN-TO-GW\n permit tcp 198.51.100.0 255.255.255.0 host 192.0.2.1 eq 25\n remark ".to_string() + &"x".repeat(101) + "\n";
    let mut errors = Vec::new();
    parse_cisco(&text, false, &mut errors);
    assert!(
        errors.iter().any(|e| e.contains("is not a wildcard")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("remark over 100 characters")),
        "{errors:?}"
    );
    let mut errors = Vec::new();
    parse_cisco(
        "access-list A extended permit tcp object-group NOPE host 192.0.2.1 eq 99999\n",
        true,
        &mut errors,
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
}

/// A stateless IOS return entry admits the peer's service port to the gateway's ephemeral
/// ports only: `permit udp any eq 53 host GW` alone would open every UDP port of the gateway
/// to anyone sending from port 53. For every return entry toward the gateway, a packet from
/// its service port to a gateway port below 1024 gets the same verdict as the same packet
/// from an ephemeral port (the return entry adds nothing there), and the entry itself names
/// no port below 1024.
///
/// See: issue "Rulesets as narrow as the vendor's rows", item 5.
#[test]
fn no_ios_return_entry_admits_a_gateway_port_below_1024() {
    let mut returns = 0;
    for sel in selections() {
        let args: Vec<&str> = sel.iter().map(String::as_str).collect();
        let mut errors = Vec::new();
        let cfg = parse_cisco(&generate(&args, "cisco-ios"), false, &mut errors);
        assert!(errors.is_empty(), "{args:?}: {errors:?}");
        for (list, gw) in [
            ("FWGEN-TO-GW", "192.0.2.1"),
            ("FWGEN-TO-GW-V6", "2001:db8::1"),
        ] {
            let Some(aces) = cfg.acls.get(list) else {
                continue;
            };
            let gw: IpAddr = gw.parse().unwrap();
            for ace in aces.iter().filter(|a| a.permit && a.sport.is_some()) {
                returns += 1;
                assert!(
                    !ace.dport.is_empty() && ace.dport.iter().all(|(lo, _)| *lo >= 1024),
                    "{args:?} {list}: a return entry admits gateway ports {:?}: {ace:?}",
                    ace.dport
                );
                let (sport, _) = ace.sport.unwrap();
                let src = match &ace.src {
                    Addr::Any => {
                        if gw.is_ipv4() {
                            "203.0.113.9".parse().unwrap()
                        } else {
                            "2001:db8:ffff::9".parse().unwrap()
                        }
                    }
                    Addr::Nets(n) => n[0].network(),
                };
                for dport in [1, 22, 25, 53, 123, 443, 1023] {
                    for ack in [false, true] {
                        let p = |sport| Packet {
                            proto: if ace.proto == "tcp" { "tcp" } else { "udp" },
                            src,
                            sport,
                            dst: gw,
                            dport,
                            ack,
                        };
                        assert_eq!(
                            eval_acl(aces, &p(sport)),
                            eval_acl(aces, &p(40000)),
                            "{args:?} {list}: from service port {sport} to gateway port {dport} \
                             the return entry {ace:?} changes the verdict"
                        );
                    }
                }
            }
        }
    }
    assert!(returns > 100, "only {returns} return entries checked");
}
