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

use crate::model::{Direction, PortSet, Service, Shown, icmp_name};
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
pub(crate) const COMMENT_MAX: usize = 128;

pub(crate) const DESCRIPTION: super::Description = super::Description {
    name: "nftables",
    kind: super::Kind::Firewall,
    shape: super::Shape::File,
    file_name: "ruleset.nft",
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
        lines: |g| super::dnsmasq::nftset(g, "fwgen", dns_set_name),
    }),
    render: |rules, opts| super::Rendered::file(render(rules, opts)),
    previous: None,
    check: None,
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
pub(crate) fn dns_set_name(group: &str, family: Family) -> String {
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
        IpNet::V4(v) if v.prefix_len() == 32 => Shown(v.addr()).to_string(),
        IpNet::V6(v) if v.prefix_len() == 128 => v.addr().to_string(),
        n => Shown(*n).to_string(),
    }
}

/// The rules of one direction, as nft statements (without the chain around them).
/// `peer_field` is `saddr` for traffic from the peer, `daddr` for traffic to it.
fn rule_lines(rules: &[&Rule], sets: &mut Sets, peer_field: &str) -> Vec<String> {
    let mut out = Vec::new();
    for rule in rules {
        let comment = rule_comment(rule, COMMENT_MAX);
        if rule.remote == crate::ruleset::Remote::Any {
            // The inet table sees both families: TCP and UDP in one statement, ICMP in one
            // per family (`icmp type` matches IPv4 only, `icmpv6 type` IPv6 only).
            let families: &[Option<Family>] = match rule.service {
                Service::Tcp(_) | Service::Udp(_) => &[None],
                Service::Icmp(_) => &[Some(Family::V4), Some(Family::V6)],
            };
            for &f in families {
                for l4 in service_match(&rule.service, f, sets) {
                    out.push(format!("{l4} accept comment \"{comment}\""));
                }
            }
            continue;
        }
        for f in Family::BOTH {
            let Some(remote) = remote_in(rule, f) else {
                continue;
            };
            let matches = service_match(&rule.service, Some(f), sets);
            if matches.is_empty() {
                continue;
            }
            for set in sets.remote(remote, f) {
                for l4 in &matches {
                    out.push(format!(
                        "{} {peer_field} {set} {l4} accept comment \"{comment}\"",
                        family_kw(f),
                    ));
                }
            }
        }
    }
    out
}

/// The transport matches of a service in one family (`None`: both, for TCP and UDP), one per
/// statement: `tcp dport 25`; `icmp type echo-request`, `icmpv6 type { echo-request,
/// nd-neighbor-solicit }` for whole types and `icmp type destination-unreachable icmp code
/// 4` for each message of one code. None when the family has none of the service's ICMP
/// messages.
fn service_match(service: &Service, family: Option<Family>, sets: &mut Sets) -> Vec<String> {
    match service {
        Service::Tcp(p) => vec![format!("tcp dport {}", sets.ports(p))],
        Service::Udp(p) => vec![format!("udp dport {}", sets.ports(p))],
        Service::Icmp(t) => {
            let v6 = family == Some(Family::V6);
            let kw = if v6 { "icmpv6" } else { "icmp" };
            let name = |n: u8| icmp_name(n, v6).map_or_else(|| n.to_string(), str::to_string);
            let messages = t.messages(v6);
            let whole: Vec<String> = messages
                .iter()
                .filter(|m| m.1.is_none())
                .map(|m| name(m.0))
                .collect();
            let mut out = match whole.as_slice() {
                [] => Vec::new(),
                [one] => vec![format!("{kw} type {one}")],
                more => vec![format!("{kw} type {{ {} }}", more.join(", "))],
            };
            out.extend(messages.iter().filter_map(|&(n, code)| {
                code.map(|c| format!("{kw} type {} {kw} code {c}", name(n)))
            }));
            out
        }
    }
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

/// One chain of the table: its name, hook and policy (base chains), and its statements.
struct Chain {
    name: &'static str,
    hook: Option<(&'static str, &'static str)>,
    body: Vec<String>,
}

/// The table, decided before anything is printed.
struct Table {
    /// Keep the table on reload (it has sets that DNS fills).
    keep: bool,
    /// The gateway's own sets (perimeter placement): family, name, prefixes.
    gateway: Vec<(Family, String, Vec<IpNet>)>,
    sets: Sets,
    /// Whether the FTP helper object is needed.
    ftp: bool,
    chains: Vec<Chain>,
}

/// Decide the table: chains first (they give out set names), sets as they were named.
fn plan(rules: &Ruleset, opts: &RenderOptions) -> Table {
    // Sets that DNS fills at run time must survive a reload: such a script keeps its table.
    let keep = !rules.dns_groups.is_empty();
    let mut sets = Sets {
        inline: keep,
        ..Sets::default()
    };
    let host = opts.placement == Placement::Host;
    let mut gateway = Vec::new();
    if !host {
        for f in Family::BOTH {
            let nets = f.filter(&rules.gateway);
            if !nets.is_empty() {
                gateway.push((f, format!("gateway_{}", f.suffix()), nets));
            }
        }
    }
    let gw_names: Vec<(Family, String)> = gateway.iter().map(|(f, n, _)| (*f, n.clone())).collect();
    let (ins, outs) = (
        rules.direction(Direction::In),
        rules.direction(Direction::Out),
    );
    let in_rules = rule_lines(&ins, &mut sets, "saddr");
    let out_rules = rule_lines(&outs, &mut sets, "daddr");
    let gw = if host { None } else { Some(&gw_names[..]) };
    let (pre, out) = helpers(&ins, &outs, &mut sets, gw);
    let mut chains = Vec::new();
    let ftp = !pre.is_empty() || !out.is_empty();
    for (name, hook, body) in [
        ("ct_helpers", ("prerouting", "accept"), pre),
        ("ct_helpers_out", ("output", "accept"), out),
    ] {
        if !body.is_empty() {
            chains.push(Chain {
                name,
                hook: Some(hook),
                body,
            });
        }
    }
    if host {
        chains.extend(host_chains(opts, in_rules, out_rules));
    } else {
        chains.extend(perimeter_chains(opts, &gw_names, in_rules, out_rules));
    }
    Table {
        keep,
        gateway,
        sets,
        ftp,
        chains,
    }
}

/// The statements that attach the FTP helper: for the host's own traffic (`gateway` is
/// `None`) in prerouting and output, else in prerouting for traffic to and from the gateway.
fn helpers(
    ins: &[&Rule],
    outs: &[&Rule],
    sets: &mut Sets,
    gateway: Option<&[(Family, String)]>,
) -> (Vec<String>, Vec<String>) {
    match gateway {
        None => (
            helper_lines(ins, sets, "saddr", None),
            helper_lines(outs, sets, "daddr", None),
        ),
        Some(gw) => {
            let mut pre = Vec::new();
            for (f, p) in gateway_prefix(gw, "daddr") {
                pre.extend(helper_lines(ins, sets, "saddr", Some((f, &p))));
            }
            for (f, p) in gateway_prefix(gw, "saddr") {
                pre.extend(helper_lines(outs, sets, "daddr", Some((f, &p))));
            }
            (pre, Vec::new())
        }
    }
}

/// Host placement: base chains in output order; forward holds only the optional log rule.
fn host_chains(opts: &RenderOptions, ins: Vec<String>, outs: Vec<String>) -> Vec<Chain> {
    [
        ("input", Some(ins), "in"),
        ("forward", None, "forward"),
        ("output", Some(outs), "out"),
    ]
    .into_iter()
    .map(|(hook, rules, what)| {
        let mut body =
            rules.map_or_else(Vec::new, |r| [baseline(true, hook == "input"), r].concat());
        body.extend(log_line(opts, what));
        Chain {
            name: hook,
            hook: Some((hook, opts.policy.nft())),
            body,
        }
    })
    .collect()
}

/// Perimeter placement: forward jumps to a chain per direction for the gateway's addresses.
fn perimeter_chains(
    opts: &RenderOptions,
    gw: &[(Family, String)],
    ins: Vec<String>,
    outs: Vec<String>,
) -> Vec<Chain> {
    let mut jumps = Vec::new();
    for (_, p) in gateway_prefix(gw, "daddr") {
        jumps.push(format!("{p}jump gateway_in"));
    }
    for (_, p) in gateway_prefix(gw, "saddr") {
        jumps.push(format!("{p}jump gateway_out"));
    }
    let mut chains = vec![Chain {
        name: "forward",
        hook: Some(("forward", "accept")),
        body: jumps,
    }];
    for (name, rules, what) in [("gateway_in", ins, "in"), ("gateway_out", outs, "out")] {
        let mut body = baseline(false, true);
        body.extend(rules);
        body.extend(log_line(opts, what));
        body.push(opts.policy.nft().to_string());
        chains.push(Chain {
            name,
            hook: None,
            body,
        });
    }
    chains
}

/// Render the whole script.
pub(crate) fn render(rules: &Ruleset, opts: &RenderOptions) -> String {
    let table = plan(rules, opts);
    let mut out = String::from("#!/usr/sbin/nft -f\n");
    for l in header_lines(rules, opts) {
        let _ = writeln!(out, "# {l}");
    }
    prelude(&mut out, &table);
    if table.ftp {
        out.push_str(
            "\tct helper ftp-standard {\n\t\ttype \"ftp\" protocol tcp\n\t\tl3proto inet\n\t}\n",
        );
    }
    declarations(&mut out, &table);
    for c in &table.chains {
        chain(&mut out, c.name, c.hook, &c.body);
    }
    out.push_str("}\n");
    out
}

/// How the script replaces what an earlier one loaded, up to the table's opening brace.
fn prelude(out: &mut String, table: &Table) {
    if !table.keep {
        out.push_str(
            "\n# Replace only fwgen's own table: create it if missing, delete it, define it.\n",
        );
        out.push_str("table inet fwgen\ndelete table inet fwgen\n\ntable inet fwgen {\n");
        return;
    }
    out.push_str(
        "\n# This table holds sets that the DNS forwarder fills at run time. Reloading keeps them:\n\
         # in one transaction the script empties fwgen's chains, removes the chains it no\n\
         # longer uses and adds every rule again; the DNS sets are declared, never deleted,\n\
         # so what DNS put in stays (`delete table` would empty them).\n",
    );
    out.push_str("add table inet fwgen\nflush table inet fwgen\n");
    // The chains an earlier generation may have left (another placement, FTP helpers).
    for c in ALL_CHAINS
        .iter()
        .filter(|c| !table.chains.iter().any(|d| d.name == **c))
    {
        let _ = writeln!(out, "add chain inet fwgen {c}\ndelete chain inet fwgen {c}");
    }
    out.push_str("\ntable inet fwgen {\n");
}

/// The named sets: the gateway's, address sets, DNS-filled sets, port sets.
fn declarations(out: &mut String, table: &Table) {
    let addr_type = |f: Family| {
        if f == Family::V4 {
            "ipv4_addr"
        } else {
            "ipv6_addr"
        }
    };
    for (f, name, nets) in table
        .gateway
        .iter()
        .map(|(f, n, nets)| (f, n, nets))
        .chain(table.sets.addrs.iter().map(|(n, (f, nets))| (f, n, nets)))
    {
        set_decl(out, name, addr_type(*f), nets.iter().map(net));
    }
    for (name, f, group) in &table.sets.dns {
        let _ = writeln!(
            out,
            "\tset {name} {{\n\t\ttype {}\n\t\tflags timeout\n\t\ttimeout {}s\n\t\tcomment \"host group {group}, filled by DNS\"\n\t}}",
            addr_type(*f),
            super::DNS_SET_TIMEOUT
        );
    }
    for (name, ports) in table.sets.ports.iter() {
        set_decl(
            out,
            name,
            "inet_service",
            ports.ranges().iter().map(ToString::to_string),
        );
    }
}
