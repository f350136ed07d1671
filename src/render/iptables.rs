//! `--backend iptables`: `iptables-restore` files, `rules.v4` for iptables and `rules.v6` for
//! ip6tables, and `ipsets` for `ipset restore`.
//!
//! Syntax reference: iptables-restore(8), iptables-extensions(8), ipset(8). Each rules file is
//! a complete `filter` table (and, when FTP needs its helper, a `raw` table): loading it with
//! `iptables-restore rules.v4` replaces those tables' rules. A peer with one prefix is matched
//! in the rule (`-s 198.51.100.0/28`); a peer with several is an ipset (`-m set --match-set
//! fwgen-3f2a9c01d4e5b6a7-v4 src`, named by its content), so a growing address list adds set
//! entries, not rules. The sets are in `ipsets`, loaded first: `ipset restore -file ipsets`.
//! Each set is filled under a temporary name and swapped in, so reloading never leaves a set
//! in use empty, and since a name stands for its content, the rules still loaded never see
//! another rule's addresses in their set.
//!
//! ```text
//! *filter
//! :INPUT DROP [0:0]
//! -A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
//! -A INPUT -s 198.51.100.0/28 -p tcp --dport 443 -m comment --comment "fwgen web-ui" -j ACCEPT
//! COMMIT
//! ```
//!
//! multiport takes at most 15 ports (a range counts twice), so port sets are cut into chunks.
//! Comments are sanitised and at most 255 bytes (longer ones are silently truncated by the
//! kernel, so fwgen cuts them itself).

use std::fmt::Write;

use ipnet::IpNet;

use crate::model::{Direction, PortRange, PortSet, Service, Shown};
use crate::ruleset::{Rule, Ruleset};

use super::comment::{header_lines, log_prefix, rule_comment};
use super::intern::Interner;
use super::{
    Family, ICMP_V4_TYPES, ICMP_V6_TYPES, Placement, RemoteMatch, RenderOptions, remote_in,
};

/// The kernel's comment limit.
pub(super) const COMMENT_MAX: usize = 255;

pub(super) const DESCRIPTION: super::Description = super::Description {
    previous: None,
    check: None,
    name: "iptables",
    kind: super::Kind::Firewall,
    shape: super::Shape::Directory,
    file_name: "rules",
    placements: super::ANY_PLACEMENT,
    placement_note: "",
    needs_gateway: true,
    host_platforms: &[crate::model::Platform::Linux],
    replaces_policy: true,
    comment_max: Some(COMMENT_MAX),
    never_emits: &['"', '\\', '\n'],
    names_note: None,
    icmp: super::IcmpSyntax::Numbers,
    forwarder: Some(super::dnsmasq::Forwarder {
        note: "",
        lines: super::dnsmasq::ipset,
    }),
    render: |rules, opts| {
        let f = render(rules, opts);
        super::Rendered {
            output: super::Output::Files(vec![
                ("ipsets".into(), f.ipsets),
                ("rules.v4".into(), f.v4),
                ("rules.v6".into(), f.v6),
            ]),
            warnings: Vec::new(),
        }
    },
};
/// multiport's limit; a range takes two slots.
pub(super) const MULTIPORT_SLOTS: usize = 15;

/// Cut a port set into `--dport`/`--dports` arguments within multiport's limit.
pub(super) fn port_chunks(ports: &PortSet) -> Vec<String> {
    let mut chunks: Vec<Vec<PortRange>> = vec![];
    let mut used = 0;
    for r in ports.ranges() {
        let cost = if r.is_single() { 1 } else { 2 };
        if chunks.is_empty() || used + cost > MULTIPORT_SLOTS {
            chunks.push(vec![]);
            used = 0;
        }
        if let Some(c) = chunks.last_mut() {
            c.push(*r);
        }
        used += cost;
    }
    let colon = |r: &PortRange| {
        if r.is_single() {
            r.to_string()
        } else {
            format!("{}:{}", r.lo(), r.hi())
        }
    };
    chunks
        .iter()
        .map(|c| match c.as_slice() {
            [one] => format!("--dport {}", colon(one)),
            many => format!(
                "-m multiport --dports {}",
                many.iter().map(colon).collect::<Vec<_>>().join(",")
            ),
        })
        .collect()
}

fn icmp_lines(chain: &str, family: Family) -> Vec<String> {
    match family {
        Family::V4 => ICMP_V4_TYPES
            .iter()
            .map(|t| format!("-A {chain} -p icmp --icmp-type {t} -j ACCEPT"))
            .collect(),
        Family::V6 => ICMP_V6_TYPES
            .iter()
            .map(|t| {
                let name = match *t {
                    "nd-router-solicit" => "router-solicitation",
                    "nd-router-advert" => "router-advertisement",
                    "nd-neighbor-solicit" => "neighbour-solicitation",
                    "nd-neighbor-advert" => "neighbour-advertisement",
                    other => other,
                };
                format!("-A {chain} -p ipv6-icmp --icmpv6-type {name} -j ACCEPT")
            })
            .collect(),
    }
}

/// ipset's default `maxelem`; bigger sets say how big they may grow.
const IPSET_MAXELEM: usize = 65_536;

/// `maxelem` for a set of `n` prefixes: none (the default) up to 65,536, else the next power
/// of two.
fn maxelem(n: usize) -> Option<usize> {
    (n > IPSET_MAXELEM).then(|| n.next_power_of_two())
}

/// A set's name from what it holds: `fwgen-` and 16 hex digits of the SHA-256 of its family,
/// `maxelem` and prefixes, then `-v4`/`-v6` (25 characters; ipset allows 31, and the
/// temporary `-new` twin fits too). The same addresses always get the same name, other
/// addresses another: a reload never refills a set that the rules still loaded use for other
/// peers, and a set that grows past 65,536 elements (or shrinks back) is a new set, never a
/// `create -exist` against a live set with another `maxelem`.
fn set_name(family: Family, nets: &[IpNet]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(family.suffix());
    h.update(format!(" maxelem {:?}\n", maxelem(nets.len())));
    let mut text = String::with_capacity(nets.len() * 19);
    for n in nets {
        let _ = writeln!(text, "{}", Shown(*n));
    }
    h.update(text);
    let hex = crate::text::hex(&h.finalize());
    format!(
        "fwgen-{}-{}",
        hex.get(..16).unwrap_or_default(),
        family.suffix()
    )
}

/// The ipsets of one family, named in order of first use.
struct Sets {
    family: Family,
    names: Interner<Vec<IpNet>>,
    /// Sets that DNS fills at run time: (set name, host group), in order of first use.
    dns: Vec<(String, String)>,
}

impl Sets {
    fn new(family: Family) -> Self {
        Self {
            family,
            names: Interner::default(),
            dns: Vec::new(),
        }
    }

    /// The matches for a remote: none (any address), one, or one per DNS-filled set.
    fn remote(&mut self, remote: RemoteMatch, from: bool) -> Vec<String> {
        match remote {
            RemoteMatch::Any => vec![String::new()],
            RemoteMatch::Nets(nets) => vec![self.peer(&nets, from)],
            RemoteMatch::Names(groups) => groups
                .iter()
                .map(|g| {
                    let name = super::dns_ipset_name(g, self.family);
                    if !self.dns.iter().any(|(n, _)| *n == name) {
                        self.dns.push((name.clone(), g.clone()));
                    }
                    format!(
                        "-m set --match-set {name} {} ",
                        if from { "src" } else { "dst" }
                    )
                })
                .collect(),
        }
    }

    /// The match for traffic `from` the peer (or to it): `-s NET ` for one prefix, else
    /// `-m set --match-set NAME src `.
    fn peer(&mut self, nets: &[IpNet], from: bool) -> String {
        if let [one] = nets {
            return format!("{} {one} ", if from { "-s" } else { "-d" });
        }
        let family = self.family;
        let name = self.names.name(&nets.to_vec(), |_| set_name(family, nets));
        format!(
            "-m set --match-set {name} {} ",
            if from { "src" } else { "dst" }
        )
    }

    /// `ipset restore` commands that create or refill every set atomically.
    fn restore_lines(&self, out: &mut String) {
        let family = if self.family == Family::V4 {
            "inet"
        } else {
            "inet6"
        };
        // Filled by the DNS forwarder, never by this file: created if missing, never flushed,
        // so a reload keeps what DNS put in.
        for (name, group) in &self.dns {
            let _ = writeln!(
                out,
                "# host group {group}: filled at run time by the DNS forwarder (dnsmasq ipset=)"
            );
            let _ = writeln!(
                out,
                "create {name} hash:ip family {family} timeout {} -exist",
                super::DNS_SET_TIMEOUT
            );
        }
        for (name, nets) in self.names.iter() {
            let maxelem = maxelem(nets.len())
                .map(|m| format!(" maxelem {m}"))
                .unwrap_or_default();
            let create = format!("hash:net family {family}{maxelem}");
            let _ = writeln!(out, "create {name} {create} -exist");
            let _ = writeln!(out, "create {name}-new {create} -exist");
            let _ = writeln!(out, "flush {name}-new");
            for n in nets {
                let _ = writeln!(out, "add {name}-new {}", Shown(*n));
            }
            let _ = writeln!(out, "swap {name}-new {name}");
            let _ = writeln!(out, "destroy {name}-new");
        }
    }
}

/// `-A CHAIN` lines accepting `rules` in one family. `from` is true for traffic from the
/// peer (matched by source), false for traffic to it.
fn rule_lines(out: &mut Vec<String>, chain: &str, rules: &[&Rule], sets: &mut Sets, from: bool) {
    for rule in rules {
        let Some(remote) = remote_in(rule, sets.family) else {
            continue;
        };
        let comment = rule_comment(rule, COMMENT_MAX);
        let matches = service_matches(&rule.service, sets.family);
        for peer in sets.remote(remote, from) {
            for m in &matches {
                out.push(format!(
                    "-A {chain} {peer}{m} -m comment --comment \"{comment}\" -j ACCEPT"
                ));
            }
        }
    }
}

/// The protocol and port (or ICMP) matches of a service in one family, one per line the
/// service needs: a multiport match holds 15 ports, an ICMP match one type or type/code (by
/// number, which `iptables-save` prints back unchanged). None when the family has none of
/// the service's ICMP messages.
pub(super) fn service_matches(service: &Service, family: Family) -> Vec<String> {
    match service {
        Service::Tcp(p) => port_chunks(p)
            .iter()
            .map(|c| format!("-p tcp {c}"))
            .collect(),
        Service::Udp(p) => port_chunks(p)
            .iter()
            .map(|c| format!("-p udp {c}"))
            .collect(),
        Service::Icmp(t) => {
            let (proto, option) = match family {
                Family::V4 => ("icmp", "--icmp-type"),
                Family::V6 => ("ipv6-icmp", "--icmpv6-type"),
            };
            t.messages(family == Family::V6)
                .iter()
                .map(|&(n, code)| match code {
                    Some(c) => format!("-p {proto} {option} {n}/{c}"),
                    None => format!("-p {proto} {option} {n}"),
                })
                .collect()
        }
    }
}

/// `-A PREROUTING|OUTPUT … -j CT --helper ftp` for FTP control connections (table raw).
fn helper_lines(
    out: &mut Vec<String>,
    chain: &str,
    rules: &[&Rule],
    sets: &mut Sets,
    from: bool,
    gateway: &str,
) {
    for rule in rules.iter().filter(|r| r.is_ftp_control()) {
        let Some(remote) = remote_in(rule, sets.family) else {
            continue;
        };
        for peer in sets.remote(remote, from) {
            let line = format!("-A {chain} {gateway}{peer}-p tcp --dport 21 -j CT --helper ftp");
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
}

fn log_line(chain: &str, opts: &RenderOptions, what: &str) -> Option<String> {
    opts.log_drops.then(|| {
        format!(
            "-A {chain} -m limit --limit 10/min --limit-burst 5 -j LOG --log-prefix \"{}\"",
            log_prefix(opts, what, 28)
        )
    })
}

/// The tables of one family, decided: raw (FTP helpers) and filter (chains and rules).
struct Tables {
    sets: Sets,
    chains: Vec<(&'static str, &'static str)>,
    raw: Vec<String>,
    filter: Vec<String>,
}

fn one_family(rules: &Ruleset, opts: &RenderOptions, family: Family) -> (String, Sets) {
    let t = match opts.placement {
        Placement::Host => host_tables(rules, opts, family),
        Placement::Perimeter => perimeter_tables(rules, opts, family),
    };
    let (sets, chains, raw, filter) = (t.sets, t.chains, t.raw, t.filter);
    let mut out = String::new();
    for l in header_lines(rules, opts) {
        let _ = writeln!(out, "# {l}");
    }
    let _ = writeln!(
        out,
        "# Load with: {}{} FILE (replaces the filter{} table)",
        if sets.names.is_empty() && sets.dns.is_empty() {
            ""
        } else {
            "ipset restore -file ipsets (its sets first), then "
        },
        if family == Family::V4 {
            "iptables-restore"
        } else {
            "ip6tables-restore"
        },
        if raw.is_empty() { "" } else { " and raw" }
    );
    if !raw.is_empty() {
        out.push_str("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
        for l in &raw {
            let _ = writeln!(out, "{l}");
        }
        out.push_str("COMMIT\n");
    }
    out.push_str("*filter\n");
    for (name, policy) in &chains {
        let _ = writeln!(out, ":{name} {policy} [0:0]");
    }
    for l in &filter {
        let _ = writeln!(out, "{l}");
    }
    out.push_str("COMMIT\n");
    (out, sets)
}

/// Host placement: INPUT, FORWARD and OUTPUT with the policy; loopback, ICMP and the rules.
fn host_tables(rules: &Ruleset, opts: &RenderOptions, family: Family) -> Tables {
    let mut sets = Sets::new(family);
    let (ins, outs) = (
        rules.direction(Direction::In),
        rules.direction(Direction::Out),
    );
    let (mut raw, mut filter) = (Vec::new(), Vec::new());
    let p = opts.policy.upper();
    helper_lines(&mut raw, "PREROUTING", &ins, &mut sets, true, "");
    helper_lines(&mut raw, "OUTPUT", &outs, &mut sets, false, "");
    for (chain, lo, list, from, what) in [
        ("INPUT", "-i", &ins, true, "in"),
        ("OUTPUT", "-o", &outs, false, "out"),
    ] {
        filter.push(format!(
            "-A {chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
        ));
        filter.push(format!("-A {chain} {lo} lo -j ACCEPT"));
        filter.extend(icmp_lines(chain, family));
        filter.push(format!("-A {chain} -m conntrack --ctstate INVALID -j DROP"));
        rule_lines(&mut filter, chain, list, &mut sets, from);
        filter.extend(log_line(chain, opts, what));
    }
    filter.extend(log_line("FORWARD", opts, "forward"));
    Tables {
        sets,
        chains: vec![("INPUT", p), ("FORWARD", p), ("OUTPUT", p)],
        raw,
        filter,
    }
}

/// Perimeter placement: FORWARD jumps to FWGEN-IN and FWGEN-OUT for the gateway's addresses.
fn perimeter_tables(rules: &Ruleset, opts: &RenderOptions, family: Family) -> Tables {
    let mut sets = Sets::new(family);
    let (ins, outs) = (
        rules.direction(Direction::In),
        rules.direction(Direction::Out),
    );
    let gateway: Vec<IpNet> = family.filter(&rules.gateway);
    let (mut raw, mut filter) = (Vec::new(), Vec::new());
    // Every `-d` jump before any `-s` jump: traffic between two of the gateway's addresses
    // is decided by the inbound rules, whichever address comes first, as nftables decides it
    // (`ip daddr @gateway` before `ip saddr @gateway`).
    for gw in &gateway {
        filter.push(format!("-A FORWARD -d {gw} -j FWGEN-IN"));
    }
    for gw in &gateway {
        filter.push(format!("-A FORWARD -s {gw} -j FWGEN-OUT"));
    }
    for gw in &gateway {
        let (to_gw, from_gw) = (format!("-d {gw} "), format!("-s {gw} "));
        helper_lines(&mut raw, "PREROUTING", &ins, &mut sets, true, &to_gw);
        helper_lines(&mut raw, "PREROUTING", &outs, &mut sets, false, &from_gw);
    }
    for (chain, list, from, what) in [
        ("FWGEN-IN", &ins, true, "in"),
        ("FWGEN-OUT", &outs, false, "out"),
    ] {
        filter.push(format!(
            "-A {chain} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
        ));
        filter.push(format!("-A {chain} -m conntrack --ctstate INVALID -j DROP"));
        rule_lines(&mut filter, chain, list, &mut sets, from);
        filter.extend(log_line(chain, opts, what));
        filter.push(format!("-A {chain} -j {}", opts.policy.upper()));
    }
    Tables {
        sets,
        chains: vec![
            ("INPUT", "ACCEPT"),
            ("FORWARD", "ACCEPT"),
            ("OUTPUT", "ACCEPT"),
            ("FWGEN-IN", "-"),
            ("FWGEN-OUT", "-"),
        ],
        raw,
        filter,
    }
}

/// The three files: `rules.v4`, `rules.v6` and `ipsets`.
pub(super) struct Files {
    pub v4: String,
    pub v6: String,
    pub ipsets: String,
}

pub(super) fn render(rules: &Ruleset, opts: &RenderOptions) -> Files {
    let (v4, sets4) = one_family(rules, opts, Family::V4);
    let (v6, sets6) = one_family(rules, opts, Family::V6);
    let mut ipsets = String::new();
    for l in header_lines(rules, opts) {
        let _ = writeln!(ipsets, "# {l}");
    }
    let n = sets4.names.len() + sets6.names.len() + sets4.dns.len() + sets6.dns.len();
    let _ = writeln!(
        ipsets,
        "# Load with: ipset restore -file ipsets (first: rules.v4 and rules.v6 match its {n} {})",
        if n == 1 { "set" } else { "sets" }
    );
    sets4.restore_lines(&mut ipsets);
    sets6.restore_lines(&mut ipsets);
    Files { v4, v6, ipsets }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_prefixes_make_one_named_set_refilled_by_swap() {
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        let two = [net("192.0.2.0/25"), net("198.51.100.7/32")];
        let mut sets = Sets::new(Family::V4);
        assert_eq!(sets.peer(&two[..1], true), "-s 192.0.2.0/25 ");
        let name = set_name(Family::V4, &two);
        assert!(
            name.starts_with("fwgen-") && name.ends_with("-v4") && name.len() == 25,
            "{name}"
        );
        assert_eq!(
            sets.peer(&two, true),
            format!("-m set --match-set {name} src ")
        );
        assert_eq!(
            sets.peer(&two, false),
            format!("-m set --match-set {name} dst ")
        );
        assert_eq!(sets.names.len(), 1, "the same prefixes share one set");
        let mut out = String::new();
        sets.restore_lines(&mut out);
        assert_eq!(
            out,
            format!(
                "create {name} hash:net family inet -exist\n\
                 create {name}-new hash:net family inet -exist\n\
                 flush {name}-new\n\
                 add {name}-new 192.0.2.0/25\n\
                 add {name}-new 198.51.100.7/32\n\
                 swap {name}-new {name}\n\
                 destroy {name}-new\n"
            )
        );
        // Past ipset's default of 65,536 entries, the set says how big it may grow.
        let many: Vec<IpNet> = (0..70_000u32)
            .map(|i| IpNet::V4(ipnet::Ipv4Net::new((0x0a00_0000 + 2 * i).into(), 32).unwrap()))
            .collect();
        let mut sets = Sets::new(Family::V4);
        sets.peer(&many, true);
        let mut out = String::new();
        sets.restore_lines(&mut out);
        let big = set_name(Family::V4, &many);
        assert!(
            out.starts_with(&format!(
                "create {big} hash:net family inet maxelem 131072 -exist\n"
            )),
            "{}",
            &out[..200]
        );
    }

    #[test]
    fn set_names_follow_the_content_not_the_order() {
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        let a = [net("192.0.2.0/25"), net("198.51.100.7/32")];
        let b = [net("192.0.2.0/25"), net("198.51.100.8/32")];
        assert_eq!(set_name(Family::V4, &a), set_name(Family::V4, &a));
        assert_ne!(set_name(Family::V4, &a), set_name(Family::V4, &b));
        assert_ne!(set_name(Family::V4, &a), set_name(Family::V6, &a));
        // Whichever rule uses a set first, its name is the same.
        let mut one = Sets::new(Family::V4);
        one.peer(&b, true);
        let first = one.peer(&a, true);
        let mut two = Sets::new(Family::V4);
        assert_eq!(two.peer(&a, true), first);
    }

    #[test]
    fn multiport_chunks_count_ranges_twice() {
        let set =
            |spec: &str| PortSet::new(spec.split(',').map(|p| p.parse::<PortRange>().unwrap()));
        assert_eq!(port_chunks(&set("25")), ["--dport 25"]);
        assert_eq!(port_chunks(&set("8000-8010")), ["--dport 8000:8010"]);
        assert_eq!(port_chunks(&set("20,21")), ["-m multiport --dports 20,21"]);
        // 13 singles + 1 range = 15 slots: one chunk. 14 singles + 1 range: two.
        let thirteen: Vec<String> = (1..=13).map(|p| p.to_string()).collect();
        assert_eq!(
            port_chunks(&set(&format!("{},100-200", thirteen.join(",")))).len(),
            1
        );
        let fourteen: Vec<String> = (1..=14).map(|p| p.to_string()).collect();
        let chunks = port_chunks(&set(&format!("{},100-200", fourteen.join(","))));
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[1], "--dport 100:200");
    }
}
