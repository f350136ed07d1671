//! `--backend nftables`: one nft script holding `table inet fwgen`, for IPv4 and IPv6.
//!
//! Syntax reference: nft(8), <https://wiki.nftables.org>. The script first creates and deletes
//! its own table, then defines it, so `nft -f` can load it again and again and it replaces only
//! its own table, never the rest of the host's ruleset:
//!
//! ```text
//! table inet fwgen
//! delete table inet fwgen
//! table inet fwgen {
//!     set addr_1_v4 { type ipv4_addr; flags interval; elements = { 198.51.100.0/28 } }
//!     chain input {
//!         type filter hook input priority filter; policy drop;
//!         ct state established,related accept
//!         ip saddr @addr_1_v4 tcp dport 443 accept comment "fwgen web-ui"
//!     }
//! }
//! ```
//!
//! Address groups and port sets are named sets, so growing address lists add set elements,
//! not rules. Comments are sanitised and at most 128 bytes (nft's limit).

use std::fmt::Write;

use ipnet::IpNet;

use crate::model::{Direction, PortSet};
use crate::ruleset::{Rule, Ruleset};

use super::comment::{header_lines, log_prefix, rule_comment};
use super::intern::Interner;
use super::{
    Family, ICMP_V4_TYPES, ICMP_V6_TYPES, Placement, RemoteMatch, RenderOptions, remote_in,
};

/// Every chain any generation of the script can define: a script that keeps its table
/// removes those it does not define.
const ALL_CHAINS: [&str; 7] = [
    "ct_helpers",
    "ct_helpers_out",
    "input",
    "forward",
    "output",
    "gateway_in",
    "gateway_out",
];

/// nft's comment limit.
pub const COMMENT_MAX: usize = 128;

pub const DESCRIPTION: super::Description = super::Description {
    name: "nftables",
    kind: super::Kind::Firewall,
    shape: super::Shape::File,
    file_name: "ruleset.nft",
    placements: super::ANY_PLACEMENT,
    placement_note: "",
    needs_gateway: true,
    comment_max: Some(COMMENT_MAX),
    never_emits: &['"', '\\', '\n'],
    names_note: None,
    forwarder: Some(super::dnsmasq::Forwarder {
        note: "",
        lines: |g| super::dnsmasq::nftset(g, "fwgen", dns_set_name),
    }),
    render: |rules, opts| super::Rendered::file(render(rules, opts)),
};

/// Names for the named sets, given out in order of first use.
#[derive(Default)]
struct Sets {
    addrs: Interner<(Family, Vec<IpNet>)>,
    ports: Interner<PortSet>,
    /// Sets filled by DNS at run time: (name, family, host group), in order of first use.
    dns: Vec<(String, Family, String)>,
    /// Write fixed addresses and ports as anonymous sets in the rules (`{ a, b }`): a script
    /// that keeps its table on reload must leave no named set of an earlier generation.
    inline: bool,
}

impl Sets {
    /// `@addr_N_v4`, or `{ a, b }` when inline.
    fn addr(&mut self, family: Family, nets: &[IpNet]) -> String {
        if self.inline {
            return match nets {
                [one] => net(one),
                _ => format!(
                    "{{ {} }}",
                    nets.iter().map(net).collect::<Vec<_>>().join(", ")
                ),
            };
        }
        let name = self.addrs.name(&(family, nets.to_vec()), |given| {
            format!("addr_{}_{}", given.len() + 1, family.suffix())
        });
        format!("@{name}")
    }

    /// `@dns-GROUP-v4`: the set the DNS forwarder fills with what `group`'s names resolve to.
    fn dns(&mut self, family: Family, group: &str) -> String {
        let name = dns_set_name(group, family);
        if !self.dns.iter().any(|(n, _, _)| *n == name) {
            self.dns.push((name.clone(), family, group.to_string()));
        }
        format!("@{name}")
    }

    /// The address matches of a remote in one family (none: any address).
    fn remote(&mut self, remote: RemoteMatch, family: Family) -> Vec<String> {
        match remote {
            RemoteMatch::Any => Vec::new(),
            RemoteMatch::Nets(nets) => vec![self.addr(family, &nets)],
            RemoteMatch::Names(groups) => groups.iter().map(|g| self.dns(family, g)).collect(),
        }
    }

    /// `25` or `@ports_N`.
    fn ports(&mut self, ports: &PortSet) -> String {
        if let [single] = ports.ranges() {
            return single.to_string();
        }
        if self.inline {
            return format!(
                "{{ {} }}",
                ports
                    .ranges()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let name = self
            .ports
            .name(ports, |given| format!("ports_{}", given.len() + 1));
        format!("@{name}")
    }
}

/// The nft set that DNS fills for `group` (ids are `[a-z0-9-]`, so the name is one token).
pub fn dns_set_name(group: &str, family: Family) -> String {
    format!("dns-{group}-{}", family.suffix())
}

fn family_kw(f: Family) -> &'static str {
    match f {
        Family::V4 => "ip",
        Family::V6 => "ip6",
    }
}

/// `elements = { … }`, eight to a line, hosts without their `/32` or `/128`.
fn elements(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    let mut s = String::from("elements = {");
    for (i, chunk) in items.chunks(8).enumerate() {
        s.push_str(if i == 0 { " " } else { ",\n\t\t\t     " });
        s.push_str(&chunk.join(", "));
    }
    s.push_str(" }");
    s
}

/// A named set with interval flags.
fn set_decl(out: &mut String, name: &str, ty: &str, items: impl IntoIterator<Item = String>) {
    let _ = writeln!(
        out,
        "\tset {name} {{\n\t\ttype {ty}\n\t\tflags interval\n\t\t{}\n\t}}",
        elements(items)
    );
}

fn net(n: &IpNet) -> String {
    match n {
        IpNet::V4(v) if v.prefix_len() == 32 => v.addr().to_string(),
        IpNet::V6(v) if v.prefix_len() == 128 => v.addr().to_string(),
        n => n.to_string(),
    }
}

/// The rules of one direction, as nft statements (without the chain around them).
/// `peer_field` is `saddr` for traffic from the peer, `daddr` for traffic to it.
fn rule_lines(rules: &[&Rule], sets: &mut Sets, peer_field: &str) -> Vec<String> {
    let mut out = Vec::new();
    for rule in rules {
        let ports = sets.ports(&rule.ports);
        let comment = rule_comment(rule, COMMENT_MAX);
        if rule.remote == crate::ruleset::Remote::Any {
            out.push(format!(
                "{} dport {ports} accept comment \"{comment}\"",
                rule.protocol
            ));
            continue;
        }
        for f in Family::BOTH {
            let Some(remote) = remote_in(rule, f) else {
                continue;
            };
            for set in sets.remote(remote, f) {
                out.push(format!(
                    "{} {peer_field} {set} {} dport {ports} accept comment \"{comment}\"",
                    family_kw(f),
                    rule.protocol
                ));
            }
        }
    }
    out
}

/// Statements that attach the FTP helper to FTP control connections. With `gateway`, only
/// that family and with the gateway match in front (perimeter placement).
fn helper_lines(
    rules: &[&Rule],
    sets: &mut Sets,
    peer_field: &str,
    gateway: Option<(Family, &str)>,
) -> Vec<String> {
    let mut out = Vec::new();
    let families: Vec<Family> = match gateway {
        Some((f, _)) => vec![f],
        None => Family::BOTH.to_vec(),
    };
    let prefix = gateway.map_or(String::new(), |(_, p)| p.to_string());
    for rule in rules.iter().filter(|r| r.is_ftp_control()) {
        for &f in &families {
            let Some(remote) = remote_in(rule, f) else {
                continue;
            };
            let matches = match sets.remote(remote, f) {
                m if m.is_empty() => vec![String::new()],
                m => m
                    .into_iter()
                    .map(|set| format!("{} {peer_field} {set} ", family_kw(f)))
                    .collect(),
            };
            for remote in matches {
                let line = format!("{prefix}{remote}tcp dport 21 ct helper set \"ftp-standard\"");
                if !out.contains(&line) {
                    out.push(line);
                }
            }
        }
    }
    out
}

/// `ip daddr @gateway_v4 ` and friends, one per gateway family.
fn gateway_prefix(gw_sets: &[(Family, String)], field: &str) -> Vec<(Family, String)> {
    gw_sets
        .iter()
        .map(|(f, name)| (*f, format!("{} {field} @{name} ", family_kw(*f))))
        .collect()
}

fn chain(out: &mut String, name: &str, hook: Option<(&str, &str)>, body: &[String]) {
    let _ = writeln!(out, "\tchain {name} {{");
    if let Some((hook, policy)) = hook {
        let _ = writeln!(
            out,
            "\t\ttype filter hook {hook} priority filter; policy {policy};"
        );
    }
    for line in body {
        let _ = writeln!(out, "\t\t{line}");
    }
    let _ = writeln!(out, "\t}}");
}

fn baseline(host: bool, hook_in: bool) -> Vec<String> {
    let mut v = vec!["ct state established,related accept".to_string()];
    if host {
        v.push(format!(
            "{} \"lo\" accept",
            if hook_in { "iif" } else { "oif" }
        ));
        v.push(format!(
            "icmp type {{ {} }} accept",
            ICMP_V4_TYPES.join(", ")
        ));
        v.push(format!(
            "icmpv6 type {{ {} }} accept",
            ICMP_V6_TYPES.join(", ")
        ));
    }
    v.push("ct state invalid drop".to_string());
    v
}

fn log_line(opts: &RenderOptions, what: &str) -> Option<String> {
    opts.log_drops.then(|| {
        format!(
            "limit rate 10/minute burst 5 packets log prefix \"{}\"",
            log_prefix(opts, what, 127)
        )
    })
}

/// Render the whole script.
pub fn render(rules: &Ruleset, opts: &RenderOptions) -> String {
    // Sets that DNS fills at run time must survive a reload: such a script keeps its table.
    let keep = !rules.dns_groups.is_empty();
    let mut sets = Sets {
        inline: keep,
        ..Sets::default()
    };
    let (ins, outs) = (
        rules.direction(Direction::In),
        rules.direction(Direction::Out),
    );
    let host = opts.placement == Placement::Host;

    let mut gw_sets = Vec::new();
    if !host {
        for f in Family::BOTH {
            let nets = f.filter(&rules.gateway);
            if !nets.is_empty() {
                gw_sets.push((f, format!("gateway_{}", f.suffix()), nets));
            }
        }
    }
    let gw_names: Vec<(Family, String)> = gw_sets.iter().map(|(f, n, _)| (*f, n.clone())).collect();

    // Chains first (they give out set names), then print sets above them.
    let mut chains = String::new();
    let in_rules = rule_lines(&ins, &mut sets, "saddr");
    let out_rules = rule_lines(&outs, &mut sets, "daddr");
    let (helpers_pre, helpers_out) = if host {
        (
            helper_lines(&ins, &mut sets, "saddr", None),
            helper_lines(&outs, &mut sets, "daddr", None),
        )
    } else {
        let mut pre = Vec::new();
        for (f, p) in gateway_prefix(&gw_names, "daddr") {
            pre.extend(helper_lines(&ins, &mut sets, "saddr", Some((f, &p))));
        }
        for (f, p) in gateway_prefix(&gw_names, "saddr") {
            pre.extend(helper_lines(&outs, &mut sets, "daddr", Some((f, &p))));
        }
        (pre, Vec::new())
    };
    if !helpers_pre.is_empty() {
        chain(
            &mut chains,
            "ct_helpers",
            Some(("prerouting", "accept")),
            &helpers_pre,
        );
    }
    if !helpers_out.is_empty() {
        chain(
            &mut chains,
            "ct_helpers_out",
            Some(("output", "accept")),
            &helpers_out,
        );
    }
    if host {
        // Base chains in output order; forward holds only the optional log rule.
        for (hook, rules, what) in [
            ("input", Some(in_rules), "in"),
            ("forward", None, "forward"),
            ("output", Some(out_rules), "out"),
        ] {
            let mut body =
                rules.map_or_else(Vec::new, |r| [baseline(true, hook == "input"), r].concat());
            body.extend(log_line(opts, what));
            chain(&mut chains, hook, Some((hook, opts.policy.nft())), &body);
        }
    } else {
        let mut jumps = Vec::new();
        for (_, p) in gateway_prefix(&gw_names, "daddr") {
            jumps.push(format!("{p}jump gateway_in"));
        }
        for (_, p) in gateway_prefix(&gw_names, "saddr") {
            jumps.push(format!("{p}jump gateway_out"));
        }
        chain(&mut chains, "forward", Some(("forward", "accept")), &jumps);
        for (name, body, what) in [
            ("gateway_in", in_rules, "in"),
            ("gateway_out", out_rules, "out"),
        ] {
            let mut b = baseline(false, true);
            b.extend(body);
            b.extend(log_line(opts, what));
            b.push(opts.policy.nft().to_string());
            chain(&mut chains, name, None, &b);
        }
    }

    let mut out = String::from("#!/usr/sbin/nft -f\n");
    for l in header_lines(rules, opts) {
        let _ = writeln!(out, "# {l}");
    }
    if keep {
        // Which chains this script defines; the others an earlier generation may have left
        // (another placement, FTP helpers) are removed.
        let defined: Vec<&str> = chains
            .lines()
            .filter_map(|l| l.strip_prefix("\tchain "))
            .filter_map(|l| l.strip_suffix(" {"))
            .collect();
        out.push_str(
            "\n# This table holds sets that the DNS forwarder fills at run time. Reloading keeps them:\n\
             # in one transaction the script empties fwgen's chains, removes the chains it no\n\
             # longer uses and adds every rule again; the DNS sets are declared, never deleted,\n\
             # so what DNS put in stays (`delete table` would empty them).\n",
        );
        out.push_str("add table inet fwgen\nflush table inet fwgen\n");
        for c in ALL_CHAINS.iter().filter(|c| !defined.contains(c)) {
            let _ = writeln!(out, "add chain inet fwgen {c}\ndelete chain inet fwgen {c}");
        }
        out.push_str("\ntable inet fwgen {\n");
    } else {
        out.push_str(
            "\n# Replace only fwgen's own table: create it if missing, delete it, define it.\n",
        );
        out.push_str("table inet fwgen\ndelete table inet fwgen\n\ntable inet fwgen {\n");
    }
    if !helpers_pre.is_empty() || !helpers_out.is_empty() {
        out.push_str(
            "\tct helper ftp-standard {\n\t\ttype \"ftp\" protocol tcp\n\t\tl3proto inet\n\t}\n",
        );
    }
    let addr_type = |f: Family| {
        if f == Family::V4 {
            "ipv4_addr"
        } else {
            "ipv6_addr"
        }
    };
    for (f, name, nets) in gw_sets
        .iter()
        .map(|(f, n, nets)| (f, n, nets))
        .chain(sets.addrs.iter().map(|(n, (f, nets))| (f, n, nets)))
    {
        set_decl(&mut out, name, addr_type(*f), nets.iter().map(net));
    }
    for (name, f, group) in &sets.dns {
        let _ = writeln!(
            out,
            "\tset {name} {{\n\t\ttype {}\n\t\tflags timeout\n\t\ttimeout {}s\n\t\tcomment \"host group {group}, filled by DNS\"\n\t}}",
            addr_type(*f),
            super::DNS_SET_TIMEOUT
        );
    }
    for (name, ports) in sets.ports.iter() {
        set_decl(
            &mut out,
            name,
            "inet_service",
            ports.ranges().iter().map(ToString::to_string),
        );
    }
    out.push_str(&chains);
    out.push_str("}\n");
    out
}
