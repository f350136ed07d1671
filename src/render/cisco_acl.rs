//! `--backend cisco-ios` and `--backend cisco-asa`: access lists for a Cisco router or ASA in
//! front of the gateway (perimeter placement only).
//!
//! References: Cisco IOS "Commented IP Access List Entries" and "Object Groups for ACLs";
//! Cisco ASA command reference (`access-list extended`, `object-group`, `access-group`).
//! Two access lists: `FWGEN-TO-GW` for traffic toward the gateway and `FWGEN-FROM-GW` for
//! traffic from it, meant for the interface that faces the gateway (`out` and `in`).
//!
//! IOS ACLs are stateless, so each connection also gets its return traffic: TCP replies with
//! `established` (ACK or RST set), UDP replies from the service port, and both only to the
//! opener's ephemeral ports (`gt 1023`), never to its services. IOS ACEs use wildcard
//! masks (`0.0.0.15`) and object groups use netmasks; IPv6 goes into separate
//! `ipv6 access-list`s, which keep neighbour discovery working before their final deny.
//!
//! ```text
//! ip access-list extended FWGEN-TO-GW
//!  remark fwgen web-ui
//!  permit tcp 198.51.100.0 0.0.0.15 host 192.0.2.25 eq 443
//! ```
//!
//! The ASA is stateful: one ACE per connection, netmasks, and object groups for address and
//! port groups (`object-group service … tcp`), in flat `access-list NAME extended` lines.
//! Remarks carry the catalogue entry ids, at most 100 characters, sanitised.

use std::collections::BTreeMap;
use std::fmt::Write;

use ipnet::IpNet;

use crate::model::{Direction, PortRange, PortSet, Protocol};
use crate::ruleset::Ruleset;

use super::comment::header_lines;
use super::intern::Interner;
use super::{Family, RemoteMatch, RenderOptions, remote_in};
use crate::text::sanitize;

mod generation;

pub use generation::Previous;

/// Options of the Cisco backends: where the lists are bound, and the generation they replace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CiscoOptions {
    /// The interface that faces the gateway (IOS), or the gateway's interface (ASA): with it,
    /// the file binds the new lists and removes the previous generation.
    pub interface: Option<String>,
    /// ASA: the interfaces traffic to the gateway arrives on (`outside`, `inside`).
    pub ingress: Vec<String>,
    /// The generation the file replaces (read from the file at `-o`, or `--previous`).
    pub previous: Option<Previous>,
}

/// An interface name as IOS and the ASA write them: `GigabitEthernet0/1.100`, `outside`.
pub fn check_interface(name: &str) -> Result<(), String> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | ':' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "interface `{name}`: an interface name is a letter, then letters, digits, `/`, `.`, \
             `_`, `:` or `-` (at most 64)"
        ))
    }
}

/// Read the configuration a new IOS file replaces.
pub fn previous_ios(text: &str) -> Result<Previous, String> {
    Previous::parse(text, Dialect::Ios)
}

/// Read the configuration a new ASA file replaces.
pub fn previous_asa(text: &str) -> Result<Previous, String> {
    Previous::parse(text, Dialect::Asa)
}

/// Cisco's remark limit.
pub const REMARK_MAX: usize = 100;

/// Why the Cisco backends have no host placement.
const PERIMETER_ONLY: &str = "an access list filters traffic through a router or ASA in front of the \
gateway; use --placement perimeter, or nftables/iptables/firewalld on the gateway itself";

pub const IOS: super::Description = super::Description {
    name: "cisco-ios",
    kind: super::Kind::Firewall,
    shape: super::Shape::File,
    file_name: "acl-ios.txt",
    placements: &[super::Placement::Perimeter],
    placement_note: PERIMETER_ONLY,
    needs_gateway: true,
    host_platforms: &[],
    replaces_policy: false,
    comment_max: Some(REMARK_MAX),
    // `?` asks the CLI for help when pasted.
    never_emits: &['?', '"', '\n'],
    names_note: Some(
        "IOS access lists take addresses only. Bind them with a lock file (`fwgen resolve`, \
         then --lock) or an ip-ranges file, or use cisco-asa, whose FQDN objects follow DNS",
    ),
    forwarder: None,
    render: render_ios,
    previous: Some(previous_ios),
};

pub const ASA: super::Description = super::Description {
    name: "cisco-asa",
    file_name: "acl-asa.txt",
    names_note: None,
    forwarder: None,
    render: render_asa,
    previous: Some(previous_asa),
    ..IOS
};

/// Which Cisco syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Ios,
    Asa,
}

/// A remark: sanitised, no `?` (it triggers CLI help when pasted), no leading `!`.
fn remark(text: &str) -> String {
    let t: String = text.chars().filter(|c| *c != '?').collect();
    t.trim_start_matches(['!', ' ']).to_string()
}

/// One side of an ACE.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Any,
    Nets(Vec<IpNet>),
    /// ASA: the FQDN objects of these host groups (the ASA resolves them).
    Fqdn(Vec<String>),
}

/// An ACE before it is printed: permit `protocol` from `src` (port `sport`) to `dst` (port
/// `dport`); `reply` marks IOS return traffic (TCP `established`).
#[derive(Clone, Debug)]
struct Ace {
    protocol: Protocol,
    src: Side,
    sport: Option<PortRange>,
    dst: Side,
    dport: Option<PortRange>,
    reply: bool,
    /// ASA: the whole port set as one service object group.
    dports: Option<PortSet>,
    /// What the remote side's addresses are, for its object group's name (`DNS-SERVERS`).
    label: Option<String>,
}

fn wildcard(net: &IpNet) -> String {
    match net {
        IpNet::V4(v) => {
            let bits = u32::MAX.checked_shr(u32::from(v.prefix_len())).unwrap_or(0);
            std::net::Ipv4Addr::from(bits).to_string()
        }
        IpNet::V6(_) => String::new(),
    }
}

/// The ports a host's replies go to: its ephemeral ports, never its services below 1024
/// (Linux uses 32768-60999 unless told otherwise; Windows 49152-65535).
fn ephemeral() -> PortRange {
    PortRange::from_bounds(1024, 65535)
}

fn port_spec(p: PortRange) -> String {
    if p.is_single() {
        format!("eq {}", p.lo())
    } else if p.hi().get() == 65535 && p.lo().get() > 1 {
        format!("gt {}", p.lo().get() - 1)
    } else {
        format!("range {} {}", p.lo(), p.hi())
    }
}

/// Names for object groups, given out in order of first use.
#[derive(Default)]
struct Groups {
    nets: Interner<Vec<IpNet>>,
    svcs: Interner<(Protocol, PortSet)>,
    /// ASA: object groups of FQDN objects (name, host group ids), in order of first use.
    fqdn: Vec<(String, Vec<String>)>,
}

impl Groups {
    /// The object group for `nets`: `FWGEN-GW` for the gateway, else named after the peers
    /// it holds (`FWGEN-DNS-SERVERS`), numbered when a name is taken (`FWGEN-NET-1` for
    /// addresses of no role or host group).
    fn net(&mut self, nets: &[IpNet], gateway: bool, label: Option<&str>) -> String {
        self.nets
            .name(&nets.to_vec(), |given| {
                let base = match (gateway, label) {
                    (true, _) => "FWGEN-GW".to_string(),
                    (false, Some(l)) => format!("FWGEN-{l}"),
                    (false, None) => "FWGEN-NET".to_string(),
                };
                let taken = |n: &str| given.iter().any(|(g, _)| g == n);
                if !taken(&base) && (gateway || label.is_some()) {
                    return base;
                }
                (1..)
                    .map(|i| format!("{base}-{i}"))
                    .find(|n| !taken(n))
                    .unwrap_or(base)
            })
            .to_string()
    }

    fn svc(&mut self, protocol: Protocol, ports: &PortSet) -> String {
        self.svcs
            .name(&(protocol, ports.clone()), |given| {
                format!("FWGEN-SVC-{}", given.len() + 1)
            })
            .to_string()
    }
}

/// The ACEs of one access list in one family, with the remark for each rule.
fn plan(
    rules: &Ruleset,
    family: Family,
    toward_gateway: bool,
    dialect: Dialect,
) -> Vec<(Vec<String>, Vec<Ace>)> {
    let gateway = Side::Nets(family.filter(&rules.gateway));
    let descriptions: BTreeMap<&str, &str> = rules
        .selected
        .iter()
        .map(|e| (e.id.as_str(), e.description.as_str()))
        .collect();
    let mut out = Vec::new();
    for rule in &rules.rules {
        let label = peer_label(rule);
        let Some(remote) = remote_in(rule, family) else {
            continue;
        };
        let remote = match remote {
            RemoteMatch::Any => Side::Any,
            RemoteMatch::Nets(n) => Side::Nets(n),
            RemoteMatch::Names(g) => Side::Fqdn(g),
        };
        // Connections this list must let start, and (IOS) replies it must let back.
        let forward = (rule.direction == Direction::In) == toward_gateway;
        if !forward && dialect == Dialect::Asa {
            continue;
        }
        let (from, to) = if toward_gateway {
            (remote, gateway.clone())
        } else {
            (gateway.clone(), remote)
        };
        let aces = aces(rule, from, to, forward, dialect, label);
        out.push((remarks(rule, &descriptions, forward), aces));
    }
    out
}

/// The ACEs of one rule from `from` to `to`: the connections it lets start (`forward`), or
/// the IOS return entries for them.
fn aces(
    rule: &crate::ruleset::Rule,
    from: Side,
    to: Side,
    forward: bool,
    dialect: Dialect,
    label: Option<String>,
) -> Vec<Ace> {
    let ace = |sport, dport, reply, dports| Ace {
        protocol: rule.protocol,
        src: from.clone(),
        sport,
        dst: to.clone(),
        dport,
        reply,
        dports,
        label: label.clone(),
    };
    if !forward {
        // A reply comes from the service port and goes to the opener's ephemeral ports
        // only: `permit udp any eq 53 host GW` alone would admit every UDP port of the
        // gateway to anyone who sends from port 53.
        return rule
            .ports
            .ranges()
            .iter()
            .map(|&p| ace(Some(p), Some(ephemeral()), true, None))
            .collect();
    }
    if dialect == Dialect::Asa && rule.ports.ranges().len() > 1 {
        return vec![ace(None, None, false, Some(rule.ports.clone()))];
    }
    rule.ports
        .ranges()
        .iter()
        .map(|&p| ace(None, Some(p), false, None))
        .collect()
}

/// The remote side's roles and host groups, as an object group's name takes them:
/// `DNS-SERVERS`, `ADMIN-CLIENTS_DNS-SERVERS`; `None` when there is none.
fn peer_label(rule: &crate::ruleset::Rule) -> Option<String> {
    let ids: Vec<String> = rule
        .peers
        .roles
        .iter()
        .chain(rule.peers.groups.iter())
        .map(|id| id.to_ascii_uppercase())
        .collect();
    match ids.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        [first, rest @ ..] => {
            let all = ids.join("_");
            Some(if all.len() <= 40 {
                all
            } else {
                format!("{first}-AND-{}-MORE", rest.len())
            })
        }
    }
    // Object-group names stop at 64 characters: `FWGEN-`, the label, a `-N` if taken, and
    // the generation's `-1a2b3c4d`.
    .filter(|l| l.len() + 6 + 3 <= generation::BASE_MAX)
}

/// One remark per catalogue entry of a rule, each within the remark limit:
/// `fwgen web-ui: Web interface (HTTPS)`, `replies: fwgen dns: …` for IOS return entries,
/// and one for host names with no address.
fn remarks(
    rule: &crate::ruleset::Rule,
    descriptions: &BTreeMap<&str, &str>,
    forward: bool,
) -> Vec<String> {
    let replies = if forward { "" } else { "replies: " };
    let mut out: Vec<String> = rule
        .entries
        .iter()
        .map(|id| {
            let text = match descriptions.get(id.as_str()) {
                Some(d) => format!("{replies}fwgen {id}: {d}"),
                None => format!("{replies}fwgen {id}"),
            };
            remark(&sanitize(&text, REMARK_MAX))
        })
        .collect();
    if !rule.peers.unresolved.is_empty() {
        let hosts: Vec<&str> = rule.peers.unresolved.iter().map(String::as_str).collect();
        out.push(remark(&sanitize(
            &format!("any address: no address known for {}", hosts.join(", ")),
            REMARK_MAX,
        )));
    }
    out
}

fn side(
    s: &Side,
    groups: &mut Groups,
    dialect: Dialect,
    gateway: bool,
    label: Option<&str>,
) -> String {
    match s {
        Side::Any => "any".to_string(),
        Side::Nets(nets) if nets.len() == 1 => {
            let Some(&n) = nets.first() else {
                return "any".to_string();
            };
            let host = matches!(n, IpNet::V4(v) if v.prefix_len() == 32)
                || matches!(n, IpNet::V6(v) if v.prefix_len() == 128);
            match (host, n, dialect) {
                (true, _, _) => format!("host {}", n.addr()),
                (false, IpNet::V4(v), Dialect::Ios) => format!("{} {}", v.network(), wildcard(&n)),
                (false, IpNet::V4(v), Dialect::Asa) => format!("{} {}", v.network(), v.netmask()),
                (false, IpNet::V6(_), _) => n.to_string(),
            }
        }
        Side::Nets(nets) => format!("object-group {}", groups.net(nets, gateway, label)),
        Side::Fqdn(names) => {
            let name = fqdn_group_name(names);
            if !groups.fqdn.contains(&(name.clone(), names.clone())) {
                groups.fqdn.push((name.clone(), names.clone()));
            }
            format!("object-group {name}")
        }
    }
}

/// The object group of FQDN objects for some host groups: `FWGEN-DNS-` and the group id
/// (ids are `[a-z0-9-]`), or 12 hex digits of the ids' SHA-256 when that passes the ASA's
/// 64 characters.
fn fqdn_group_name(groups: &[String]) -> String {
    let name = format!("FWGEN-DNS-{}", groups.join("+"));
    if name.len() <= generation::BASE_MAX && groups.len() == 1 {
        return name;
    }
    use sha2::Digest;
    let hex = crate::text::hex(&sha2::Sha256::digest(groups.join(",").as_bytes()));
    format!("FWGEN-DNS-{}", hex.get(..12).unwrap_or_default())
}

/// The network object for one host name in one family: `fwgen-v4-HOST` (host names are
/// checked to be letters, digits, `-`, `_` and dots), or a digest when longer than 64.
fn fqdn_object_name(host: &str, family: Family) -> String {
    let host = crate::names::host_key(host);
    let name = format!("fwgen-{}-{host}", family.suffix());
    if name.len() <= generation::BASE_MAX {
        return name;
    }
    use sha2::Digest;
    let hex = crate::text::hex(&sha2::Sha256::digest(host.as_bytes()));
    format!(
        "fwgen-{}-{}",
        family.suffix(),
        hex.get(..16).unwrap_or_default()
    )
}

fn ace_text(a: &Ace, groups: &mut Groups, dialect: Dialect, toward_gateway: bool) -> String {
    let label = a.label.as_deref();
    let src = side(
        &a.src,
        groups,
        dialect,
        !toward_gateway,
        label.filter(|_| toward_gateway),
    );
    let dst = side(
        &a.dst,
        groups,
        dialect,
        toward_gateway,
        label.filter(|_| !toward_gateway),
    );
    let mut s = ace_line(a, &src, &dst);
    if let Some(ports) = &a.dports {
        let _ = write!(s, " object-group {}", groups.svc(a.protocol, ports));
    }
    if a.reply && a.protocol == Protocol::Tcp {
        s.push_str(" established");
    }
    s
}

/// `permit PROTO SRC [SPORT] DST [DPORT]` for an ACE with its sides already written.
fn ace_line(a: &Ace, src: &str, dst: &str) -> String {
    let mut s = format!("permit {} {src}", a.protocol);
    if let Some(p) = a.sport {
        let _ = write!(s, " {}", port_spec(p));
    }
    let _ = write!(s, " {dst}");
    if let Some(p) = a.dport {
        let _ = write!(s, " {}", port_spec(p));
    }
    s
}

fn ftp_entries(rules: &Ruleset) -> Vec<String> {
    let mut ids: Vec<String> = rules
        .rules
        .iter()
        .filter(|r| r.is_ftp())
        .flat_map(|r| r.entries.iter().cloned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// IOS: returns the configuration and warnings.
pub fn render_ios(rules: &Ruleset, opts: &RenderOptions) -> super::Rendered {
    let mut warnings = Vec::new();
    let mut groups = Groups::default();
    let mut body = String::new();
    let ftp = ftp_entries(rules);
    if !ftp.is_empty() {
        warnings.push(format!(
            "cisco-ios: a stateless ACL cannot follow FTP data connections of {}; the control connection is permitted, \
             enable FTP inspection on the router (ip inspect or a zone-based firewall) for the data connections",
            ftp.join(", ")
        ));
    }
    for family in Family::BOTH {
        if family.filter(&rules.gateway).is_empty() {
            continue;
        }
        for toward in [true, false] {
            ios_list(
                &mut body,
                rules,
                opts,
                &mut groups,
                family,
                toward,
                !ftp.is_empty(),
            );
        }
    }
    let mut out = String::new();
    for (name, nets) in groups.nets.iter() {
        let _ = writeln!(out, "object-group network {name}");
        for n in nets {
            match n {
                IpNet::V4(v) if v.prefix_len() == 32 => {
                    let _ = writeln!(out, " host {}", v.addr());
                }
                IpNet::V4(v) => {
                    let _ = writeln!(out, " {} {}", v.network(), v.netmask());
                }
                // IOS object groups are built from IPv4 ACEs only: IPv6 ACEs list prefixes.
                IpNet::V6(_) => {}
            }
        }
        out.push_str("!\n");
    }
    out.push_str(&body);
    super::Rendered {
        output: super::Output::Single(finish(rules, opts, Dialect::Ios, &out)),
        warnings,
    }
}

/// The file around a configuration written with base names: the header, the generation's
/// names, how the lists are bound, then (with an interface) the switch-over and the removal
/// of the previous generation.
fn finish(rules: &Ruleset, opts: &RenderOptions, dialect: Dialect, config: &str) -> String {
    let base_defined = generation::defined(config);
    let id = generation::generation(config);
    let config = generation::rename(config, &base_defined, &id);
    let now = generation::defined(&config);
    let succession = generation::Succession::new(opts.cisco.previous.as_ref(), &id, &now);
    let list = |slot: &str| {
        now.iter()
            .find(|d| generation::base(&d.name) == slot && d.kind != generation::Kind::NetGroup)
            .map(|d| d.name.clone())
    };
    let mut out = String::new();
    for l in header_lines(rules, opts) {
        let _ = writeln!(out, "! {}", remark(&l));
    }
    let _ = writeln!(out, "! fwgen generation {id}");
    if let Some(r) = succession.record() {
        let _ = writeln!(out, "{r}");
    }
    // The binding commands, in order (IOS: in an interface block).
    let bindings = match dialect {
        Dialect::Ios => {
            let interface = opts.cisco.interface.as_deref().unwrap_or("IF");
            let mut b = vec![format!("interface {interface}")];
            b.extend(ios_bindings(&list, &succession));
            b.push(" exit".to_string());
            b
        }
        Dialect::Asa => asa_bindings(&list, &opts.cisco),
    };
    let removals = succession.removals();
    match &opts.cisco.interface {
        Some(_) => {
            out.push_str(
                "! Paste into configuration mode. It builds this generation's object groups and\n\
                 ! lists beside the previous ones, binds them (each binding replaces the list bound\n\
                 ! before, so the interface always has one), then removes what the previous\n\
                 ! generation defined and this one does not. The same inputs give the same file and\n\
                 ! names: a file is applied once.\n",
            );
        }
        None => {
            out.push_str(
                "! Bind the lists (or generate with --interface, and the file binds them and then\n\
                 ! removes the previous generation):\n",
            );
            for b in &bindings {
                let _ = writeln!(out, "!  {b}");
            }
        }
    }
    out.push_str(match dialect {
        Dialect::Ios => IOS_SCOPE,
        Dialect::Asa => ASA_BINDING,
    });
    out.push_str(&config);
    if opts.cisco.interface.is_some() {
        out.push_str("! Switch-over: bind this generation's lists.\n");
        for b in &bindings {
            let _ = writeln!(out, "{b}");
        }
        if !removals.is_empty() {
            out.push_str("! The previous generation, no longer bound.\n");
        }
        for r in &removals {
            let _ = writeln!(out, "{r}");
        }
    } else if !removals.is_empty() {
        out.push_str("! Once the lists above are bound, remove the previous generation:\n");
        for r in &removals {
            let _ = writeln!(out, "!  {r}");
        }
    }
    out
}

/// What an IOS list slot is bound as: `ip access-group` for IPv4, `ipv6 traffic-filter`,
/// and its direction on the interface that faces the gateway.
fn ios_slot(slot: &str) -> (&'static str, &'static str) {
    let command = if slot.ends_with("-V6") {
        "ipv6 traffic-filter"
    } else {
        "ip access-group"
    };
    let direction = if slot.starts_with("FWGEN-TO-GW") {
        "out"
    } else {
        "in"
    };
    (command, direction)
}

/// IOS: the interface block that binds this generation's lists, and unbinds a removed list
/// whose slot this generation leaves empty (the gateway lost its IPv6 address).
fn ios_bindings(
    list: &dyn Fn(&str) -> Option<String>,
    succession: &generation::Succession,
) -> Vec<String> {
    let mut lines = Vec::new();
    for slot in [
        "FWGEN-TO-GW",
        "FWGEN-FROM-GW",
        "FWGEN-TO-GW-V6",
        "FWGEN-FROM-GW-V6",
    ] {
        let (command, direction) = ios_slot(slot);
        if let Some(name) = list(slot) {
            lines.push(format!(" {command} {name} {direction}"));
        } else if let Some(old) = succession
            .removed_lists()
            .find(|d| generation::base(&d.name) == slot)
        {
            lines.push(format!(" no {command} {} {direction}", old.name));
        }
    }
    lines
}

/// ASA: `access-group` lines: the list from the gateway inbound on its interface, the list
/// to the gateway inbound on each interface traffic to it arrives on.
fn asa_bindings(list: &dyn Fn(&str) -> Option<String>, o: &CiscoOptions) -> Vec<String> {
    let interface = o.interface.as_deref().unwrap_or("dmz");
    let ingress: Vec<&str> = if o.ingress.is_empty() {
        vec!["outside"]
    } else {
        o.ingress.iter().map(String::as_str).collect()
    };
    let mut lines = Vec::new();
    if let Some(from) = list("FWGEN-FROM-GW") {
        lines.push(format!("access-group {from} in interface {interface}"));
    }
    if let Some(to) = list("FWGEN-TO-GW") {
        for i in ingress {
            lines.push(format!("access-group {to} in interface {i}"));
        }
    }
    lines
}

/// What an IOS list filters, and how to combine it with a list of one's own.
const IOS_SCOPE: &str = "! Each list ends by denying the gateway's other traffic and permitting what does not\n\
! involve the gateway. Where the interface has a list already, put these entries,\n\
! without the final permit, in front of its own.\n!\n";

/// One IOS access list: the rules' ACEs, then ICMP and the final entry.
fn ios_list(
    body: &mut String,
    rules: &Ruleset,
    opts: &RenderOptions,
    groups: &mut Groups,
    family: Family,
    toward: bool,
    ftp: bool,
) {
    let name = match (toward, family) {
        (true, Family::V4) => "FWGEN-TO-GW",
        (false, Family::V4) => "FWGEN-FROM-GW",
        (true, Family::V6) => "FWGEN-TO-GW-V6",
        (false, Family::V6) => "FWGEN-FROM-GW-V6",
    };
    let kind = match family {
        Family::V4 => "ip access-list extended",
        Family::V6 => "ipv6 access-list",
    };
    let _ = writeln!(body, "{kind} {name}");
    for (remarks, aces) in plan(rules, family, toward, Dialect::Ios) {
        for text in remarks {
            let _ = writeln!(body, " remark {text}");
        }
        for a in &aces {
            let line = if family == Family::V6 {
                ace_v6(a)
            } else {
                ace_text(a, groups, Dialect::Ios, toward)
            };
            let _ = writeln!(body, " {line}");
        }
    }
    if ftp {
        let _ = writeln!(
            body,
            " remark FTP data connections need FTP inspection on the router"
        );
    }
    ios_tail(body, rules, opts, groups, family, toward);
    body.push_str("!\n");
}

/// The end of an IOS list: the ICMP a host needs, then the final entries.
fn ios_tail(
    body: &mut String,
    rules: &Ruleset,
    opts: &RenderOptions,
    groups: &mut Groups,
    family: Family,
    toward: bool,
) {
    match family {
        Family::V4 => {
            let g = side(
                &Side::Nets(family.filter(&rules.gateway)),
                groups,
                Dialect::Ios,
                true,
                None,
            );
            let _ = writeln!(
                body,
                " remark ICMP errors (unreachable, PMTU discovery, time exceeded)"
            );
            for t in ["unreachable", "time-exceeded"] {
                if toward {
                    let _ = writeln!(body, " permit icmp any {g} {t}");
                } else {
                    let _ = writeln!(body, " permit icmp {g} any {t}");
                }
            }
            final_entry(body, " ", "", "ip", &[g], toward, opts);
        }
        Family::V6 => {
            let _ = writeln!(body, " remark ICMPv6 errors and neighbour discovery");
            for t in [
                "unreachable",
                "packet-too-big",
                "time-exceeded",
                "parameter-problem",
                "nd-na",
                "nd-ns",
            ] {
                let _ = writeln!(body, " permit icmp any any {t}");
            }
            let gws: Vec<String> = family
                .filter(&rules.gateway)
                .iter()
                .map(|n| {
                    if n.prefix_len() == 128 {
                        format!("host {}", n.addr())
                    } else {
                        n.to_string()
                    }
                })
                .collect();
            final_entry(body, " ", "", "ipv6", &gws, toward, opts);
        }
    }
}

/// An IPv6 ACE: prefixes, no wildcards, no object groups (one ACE per prefix pair).
fn ace_v6(a: &Ace) -> String {
    let side = |s: &Side| -> Vec<String> {
        match s {
            Side::Any => vec!["any".into()],
            // IOS takes no names: `Backend::render` refuses such a ruleset first.
            Side::Fqdn(_) => Vec::new(),
            Side::Nets(nets) => nets
                .iter()
                .map(|n| {
                    if n.prefix_len() == 128 {
                        format!("host {}", n.addr())
                    } else {
                        n.to_string()
                    }
                })
                .collect(),
        }
    };
    let mut lines = Vec::new();
    for src in side(&a.src) {
        for dst in side(&a.dst) {
            let mut s = ace_line(a, &src, &dst);
            if a.reply && a.protocol == Protocol::Tcp {
                s.push_str(" established");
            }
            lines.push(s);
        }
    }
    lines.join("\n ")
}

/// ASA: returns the configuration and warnings.
pub fn render_asa(rules: &Ruleset, opts: &RenderOptions) -> super::Rendered {
    let mut groups = Groups::default();
    let mut body = String::new();
    let ftp = !ftp_entries(rules).is_empty();
    for toward in [true, false] {
        asa_list(&mut body, rules, opts, &mut groups, toward, ftp);
    }
    let mut out = String::new();
    if !groups.fqdn.is_empty() {
        fqdn_objects(&mut out, rules, &groups);
    }
    for (name, nets) in groups.nets.iter() {
        let _ = writeln!(out, "object-group network {name}");
        for n in nets {
            match n {
                IpNet::V4(v) if v.prefix_len() == 32 => {
                    let _ = writeln!(out, " network-object host {}", v.addr());
                }
                IpNet::V6(v) if v.prefix_len() == 128 => {
                    let _ = writeln!(out, " network-object host {}", v.addr());
                }
                IpNet::V4(v) => {
                    let _ = writeln!(out, " network-object {} {}", v.network(), v.netmask());
                }
                IpNet::V6(_) => {
                    let _ = writeln!(out, " network-object {n}");
                }
            }
        }
    }
    for (name, (protocol, ports)) in groups.svcs.iter() {
        let _ = writeln!(out, "object-group service {name} {protocol}");
        for p in ports.ranges() {
            let _ = writeln!(out, " port-object {}", port_spec(*p));
        }
    }
    out.push_str(&body);
    super::Rendered::file(finish(rules, opts, Dialect::Asa, &out))
}

/// How to bind the ASA's lists, and why: an ASA admits a connection by the inbound list of
/// the interface it arrives on (or a global one); an outbound list on the gateway's
/// interface only filters what was admitted, so traffic from a lower security level (the
/// Internet toward the DMZ) would still be dropped with `out interface dmz`.
const ASA_BINDING: &str = "! Binding: the ASA admits a connection by the inbound access list of the interface it\n\
! arrives on (or a global one); an outbound list only filters what was admitted, so the\n\
! list to the gateway bound outbound on the gateway's interface would not admit traffic\n\
! from a lower security level. So the list from the gateway goes inbound on the gateway's\n\
! interface (--interface, dmz above without it), the list to the gateway inbound on every\n\
! interface that traffic to it arrives on (--ingress-interface, outside above without it).\n\
! Each list ends by denying the gateway's other traffic and permitting what does not\n\
! involve the gateway. An interface has one inbound list: where one is bound already, put\n\
! these entries, without the final permit, in front of its own.\n!\n";

/// One ASA access list (both families), then its final entry.
fn asa_list(
    body: &mut String,
    rules: &Ruleset,
    opts: &RenderOptions,
    groups: &mut Groups,
    toward: bool,
    ftp: bool,
) {
    let name = if toward {
        "FWGEN-TO-GW"
    } else {
        "FWGEN-FROM-GW"
    };
    let mut entries: Vec<(Vec<String>, Vec<Ace>)> = Vec::new();
    for family in Family::BOTH {
        if family.filter(&rules.gateway).is_empty() {
            continue;
        }
        entries.extend(plan(rules, family, toward, Dialect::Asa));
    }
    // One ACE per rule and family; the ASA's `any` covers both families, so an `any` rule is
    // written once.
    let mut seen = std::collections::BTreeSet::new();
    for (remarks, aces) in entries {
        let lines: Vec<String> = aces
            .iter()
            .map(|a| {
                ace_text(
                    &widen_gateway(a, rules, toward),
                    groups,
                    Dialect::Asa,
                    toward,
                )
            })
            .filter(|l| seen.insert(l.clone()))
            .collect();
        if lines.is_empty() {
            continue;
        }
        for text in remarks {
            let _ = writeln!(body, "access-list {name} remark {text}");
        }
        for l in lines {
            let _ = writeln!(body, "access-list {name} extended {l}");
        }
    }
    if ftp {
        let _ = writeln!(
            body,
            "access-list {name} remark FTP data connections: the default inspect ftp policy opens them"
        );
    }
    let gw = side(
        &Side::Nets(rules.gateway.clone()),
        groups,
        Dialect::Asa,
        true,
        None,
    );
    final_entry(
        body,
        &format!("access-list {name} "),
        "extended ",
        "ip",
        &[gw],
        toward,
        opts,
    );
}

/// The FQDN objects the lists use, with how to turn DNS lookups on, and their groups.
fn fqdn_objects(out: &mut String, rules: &Ruleset, groups: &Groups) {
    out.push_str(
        "! FQDN objects: the ASA resolves these names itself (8.4(2) or later). It needs DNS\n\
         ! lookups on the interface that reaches the resolver the gateway uses (here inside):\n\
         !  dns domain-lookup inside\n\
         !  dns server-group DefaultDNS\n\
         !   name-server ADDRESS-OF-THE-GATEWAYS-RESOLVER\n\
         ! The ASA looks a name up when an access list uses it, again every `dns poll-timer`\n\
         ! (240 minutes by default) and when the answer's TTL expires (`dns expire-entry-timer`);\n\
         ! an ACE whose names do not resolve is inactive. `show dns-hosts` lists the answers.\n!\n",
    );
    let hosts_of = |g: &str| {
        rules
            .dns_groups
            .iter()
            .find(|d| d.group == g)
            .map(|d| d.hosts.clone())
            .unwrap_or_default()
    };
    // Only the families the gateway has: the lists hold no other.
    let families: Vec<Family> = Family::BOTH
        .into_iter()
        .filter(|f| !f.filter(&rules.gateway).is_empty())
        .collect();
    let mut defined = std::collections::BTreeSet::new();
    for (_, ids) in &groups.fqdn {
        for h in ids.iter().flat_map(|g| hosts_of(g)) {
            for f in families.iter().copied() {
                let name = fqdn_object_name(&h, f);
                if defined.insert(name.clone()) {
                    let _ = writeln!(
                        out,
                        "object network {name}\n fqdn {} {}",
                        f.suffix(),
                        crate::names::host_key(&h)
                    );
                }
            }
        }
    }
    for (name, ids) in &groups.fqdn {
        let _ = writeln!(out, "object-group network {name}");
        let _ = writeln!(
            out,
            " description fwgen: host group {}, resolved by the ASA",
            ids.join(", ")
        );
        for h in ids.iter().flat_map(|g| hosts_of(g)) {
            for f in families.iter().copied() {
                let _ = writeln!(out, " network-object object {}", fqdn_object_name(&h, f));
            }
        }
    }
}

/// ASA: the gateway side names every gateway address (both families) in one group, so one
/// ACE covers both families when the remote is `any`.
fn widen_gateway(a: &Ace, rules: &Ruleset, toward: bool) -> Ace {
    let mut a = a.clone();
    let all = Side::Nets(rules.gateway.clone());
    let remote_any = if toward {
        a.src == Side::Any
    } else {
        a.dst == Side::Any
    };
    if remote_any {
        if toward {
            a.dst = all;
        } else {
            a.src = all;
        }
    }
    a
}

/// The last lines of an access list: the gateway's other traffic denied (or permitted, for a
/// staged roll-out with `--policy accept`), with `log` under `--log-drops`; then everything
/// that does not involve the gateway permitted, so that the list filters the gateway's
/// traffic only, as the nftables and iptables perimeter rulesets do. `gateway` holds the
/// gateway's side as an ACE writes it (`host A`, `object-group FWGEN-GW`). Every line starts
/// with `prefix` (` ` for IOS, `access-list NAME ` for the ASA); `keyword` goes before the
/// action (the ASA's `extended `).
fn final_entry(
    body: &mut String,
    prefix: &str,
    keyword: &str,
    proto: &str,
    gateway: &[String],
    toward: bool,
    opts: &RenderOptions,
) {
    let (action, staged) = match opts.policy {
        super::Policy::Drop => ("deny", ""),
        super::Policy::Accept => ("permit", " (STAGED ROLL-OUT: permitted)"),
    };
    let log = if opts.log_drops { " log" } else { "" };
    let _ = writeln!(body, "{prefix}remark the gateway's other traffic{staged}");
    for g in gateway {
        let (src, dst) = if toward {
            ("any", g.as_str())
        } else {
            (g.as_str(), "any")
        };
        let _ = writeln!(body, "{prefix}{keyword}{action} {proto} {src} {dst}{log}");
    }
    let _ = writeln!(
        body,
        "{prefix}remark traffic without the gateway: not this list's to decide"
    );
    let _ = writeln!(body, "{prefix}{keyword}permit {proto} any any");
}
