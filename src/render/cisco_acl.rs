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

use crate::model::{PortRange, PortSet, Protocol, Service, Shown};
use crate::ruleset::Ruleset;

use super::comment::header_lines;
use super::intern::Interner;
use super::perimeter::{self, NetNames, Replies, Side, ephemeral};
use super::{Family, RenderOptions};
use crate::text::sanitize;

mod asa;
mod generation;
mod ios;

use asa::{ASA_BINDING, asa_bindings, render_asa};
use ios::{IOS_SCOPE, ios_bindings, render_ios};

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
pub(super) fn check_interface(name: &str) -> Result<(), String> {
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
pub(super) fn previous_ios(text: &str) -> Result<Previous, String> {
    Previous::parse(text, Dialect::Ios)
}

/// Read the configuration a new ASA file replaces.
pub(super) fn previous_asa(text: &str) -> Result<Previous, String> {
    Previous::parse(text, Dialect::Asa)
}

/// Cisco's remark limit.
pub(super) const REMARK_MAX: usize = 100;

/// Why the Cisco backends have no host placement.
const PERIMETER_ONLY: &str = "an access list filters traffic through a router or ASA in front of the \
gateway; use --placement perimeter, or nftables/iptables/firewalld on the gateway itself";

pub(super) const IOS: super::Description = super::Description {
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
    icmp: super::IcmpSyntax::Numbers,
    previous: Some(previous_ios),
    check: None,
};

pub(super) const ASA: super::Description = super::Description {
    name: "cisco-asa",
    file_name: "acl-asa.txt",
    names_note: None,
    forwarder: None,
    render: render_asa,
    previous: Some(previous_asa),
    // Its access lists' ICMP argument is a type (codes need service objects).
    icmp: super::IcmpSyntax::TypesOnly,
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
    /// ICMP: the message type, its one code (`None`: every code), and whether it is ICMPv6.
    icmp: Option<(u8, Option<u8>, bool)>,
    /// What the remote side's addresses are, for its object group's name (`DNS-SERVERS`).
    label: Option<String>,
}

fn wildcard(net: &IpNet) -> String {
    match net {
        IpNet::V4(v) => {
            let bits = u32::MAX.checked_shr(u32::from(v.prefix_len())).unwrap_or(0);
            Shown(std::net::Ipv4Addr::from(bits)).to_string()
        }
        IpNet::V6(_) => String::new(),
    }
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
    nets: NetNames,
    svcs: Interner<(Protocol, PortSet)>,
    /// ASA: object groups of FQDN objects (name, host group ids), in order of first use.
    fqdn: Interner<Vec<String>>,
}

impl Groups {
    fn net(&mut self, nets: &[IpNet], gateway: bool, label: Option<&str>) -> String {
        self.nets.name(nets, gateway, label)
    }

    /// The object group of FQDN objects for these host groups, defined at its first use.
    fn fqdn(&mut self, names: &[String]) -> String {
        self.fqdn
            .name(&names.to_vec(), |_| fqdn_group_name(names))
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
    let descriptions: BTreeMap<&str, &str> = rules
        .selected
        .iter()
        .map(|e| (e.id.as_str(), e.description.as_str()))
        .collect();
    let replies = match dialect {
        Dialect::Ios => Replies::All,
        Dialect::Asa => Replies::IcmpOnly,
    };
    // Object-group names stop at 64 characters: `FWGEN-`, the label, a `-N` if taken, and
    // the generation's `-1a2b3c4d`.
    let label_max = generation::BASE_MAX - 6 - 3;
    perimeter::plan(rules, Some(family), toward_gateway, replies, label_max)
        .into_iter()
        .map(|f| {
            let remarks = remarks(f.rule, &descriptions, f.forward);
            let aces = aces(
                f.rule,
                (f.from, f.to),
                (f.forward, family),
                dialect,
                f.label,
            );
            (remarks, aces)
        })
        .collect()
}

/// The ACEs of one rule from `from` to `to`: the connections it lets start (`forward`), or
/// the IOS return entries for them.
fn aces(
    rule: &crate::ruleset::Rule,
    (from, to): (Side, Side),
    (forward, family): (bool, Family),
    dialect: Dialect,
    label: Option<String>,
) -> Vec<Ace> {
    let ace = |sport, dport, reply, dports| Ace {
        protocol: rule.service.protocol(),
        src: from.clone(),
        sport,
        dst: to.clone(),
        dport,
        reply,
        dports,
        icmp: None,
        label: label.clone(),
    };
    let ports = match &rule.service {
        Service::Tcp(p) | Service::Udp(p) => p,
        Service::Icmp(t) => {
            // One entry per type; the replies (echo-reply for echo-request) back.
            let v6 = family == Family::V6;
            return t
                .messages(v6)
                .into_iter()
                .filter_map(|(n, code)| {
                    if forward {
                        Some((n, code))
                    } else {
                        crate::model::icmp_reply(v6, n).map(|r| (r, None))
                    }
                })
                .map(|(n, code)| Ace {
                    icmp: Some((n, code, v6)),
                    ..ace(None, None, !forward, None)
                })
                .collect();
        }
    };
    if !forward {
        // A reply comes from the service port and goes to the opener's ephemeral ports
        // only: `permit udp any eq 53 host GW` alone would admit every UDP port of the
        // gateway to anyone who sends from port 53.
        return ports
            .ranges()
            .iter()
            .map(|&p| ace(Some(p), Some(ephemeral()), true, None))
            .collect();
    }
    if dialect == Dialect::Asa && ports.ranges().len() > 1 {
        return vec![ace(None, None, false, Some(ports.clone()))];
    }
    ports
        .ranges()
        .iter()
        .map(|&p| ace(None, Some(p), false, None))
        .collect()
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
                (true, _, _) => format!("host {}", Shown(n.addr())),
                (false, IpNet::V4(v), Dialect::Ios) => {
                    format!("{} {}", Shown(v.network()), wildcard(&n))
                }
                (false, IpNet::V4(v), Dialect::Asa) => {
                    format!("{} {}", Shown(v.network()), Shown(v.netmask()))
                }
                (false, IpNet::V6(_), _) => n.to_string(),
            }
        }
        Side::Nets(nets) => format!("object-group {}", groups.net(nets, gateway, label)),
        Side::Fqdn(names) => format!("object-group {}", groups.fqdn(names)),
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
    let mut s = ace_line(a, &src, &dst, dialect);
    if let Some(ports) = &a.dports {
        let _ = write!(s, " object-group {}", groups.svc(a.protocol, ports));
    }
    if a.reply && a.protocol == Protocol::Tcp {
        s.push_str(" established");
    }
    s
}

/// Cisco's ICMP keywords: (keyword, ICMPv6, type, the one dialect that spells it so, if
/// only one does). Both dialects read every keyword of the family.
const ICMP_KEYWORDS: &[(&str, bool, u8, Option<Dialect>)] = &[
    ("echo-reply", false, 0, None),
    ("unreachable", false, 3, None),
    ("source-quench", false, 4, None),
    ("redirect", false, 5, None),
    ("echo", false, 8, None),
    ("router-advertisement", false, 9, None),
    ("router-solicitation", false, 10, None),
    ("time-exceeded", false, 11, None),
    ("parameter-problem", false, 12, None),
    ("timestamp-request", false, 13, None),
    ("timestamp-reply", false, 14, None),
    ("information-request", false, 15, None),
    ("information-reply", false, 16, None),
    ("mask-request", false, 17, None),
    ("mask-reply", false, 18, None),
    ("unreachable", true, 1, None),
    ("packet-too-big", true, 2, None),
    ("time-exceeded", true, 3, None),
    ("parameter-problem", true, 4, None),
    ("echo-request", true, 128, Some(Dialect::Ios)),
    ("echo", true, 128, Some(Dialect::Asa)),
    ("echo-reply", true, 129, None),
    ("router-solicitation", true, 133, None),
    ("router-advertisement", true, 134, None),
    ("nd-ns", true, 135, Some(Dialect::Ios)),
    ("neighbor-solicitation", true, 135, Some(Dialect::Asa)),
    ("nd-na", true, 136, Some(Dialect::Ios)),
    ("neighbor-advertisement", true, 136, Some(Dialect::Asa)),
    ("redirect", true, 137, None),
];

/// The keyword IOS or the ASA gives ICMP type `t` of a family, where it has one (the number
/// is valid too, but reads worse and not every parser takes it).
fn icmp_keyword(t: u8, v6: bool, dialect: Dialect) -> Option<&'static str> {
    ICMP_KEYWORDS
        .iter()
        .find(|k| k.1 == v6 && k.2 == t && k.3.is_none_or(|d| d == dialect))
        .map(|k| k.0)
}

/// The ICMP type an IOS or ASA keyword of a family names (for reading configurations).
pub(crate) fn icmp_keyword_type(word: &str, v6: bool) -> Option<u8> {
    ICMP_KEYWORDS
        .iter()
        .find(|k| k.0 == word && k.1 == v6)
        .map(|k| k.2)
}

/// `permit PROTO SRC [SPORT] DST [DPORT]` for an ACE with its sides already written;
/// `permit icmp SRC DST TYPE` (the ASA's IPv6 entries: `icmp6`).
fn ace_line(a: &Ace, src: &str, dst: &str, dialect: Dialect) -> String {
    if let Some((t, code, v6)) = a.icmp {
        let proto = if v6 && dialect == Dialect::Asa {
            "icmp6"
        } else {
            "icmp"
        };
        // A keyword names a type; one code is written as numbers: `3 4`.
        let message = match code {
            Some(c) => format!("{t} {c}"),
            None => icmp_keyword(t, v6, dialect).map_or_else(|| t.to_string(), str::to_string),
        };
        return format!("permit {proto} {src} {dst} {message}");
    }
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

/// The file around a configuration written with base names: the header, the generation's
/// names, how the lists are bound, then (with an interface) the switch-over and the removal
/// of the previous generation.
fn finish(rules: &Ruleset, opts: &RenderOptions, dialect: Dialect, config: String) -> String {
    let base_defined = generation::defined(&config);
    let id = generation::generation(&config);
    let renamed = generation::rename(&config, &base_defined, &id);
    // Shadowing would keep the base-named copy alive to the end.
    drop(config);
    let config = renamed;
    let now = generation::defined(&config);
    let succession = generation::Succession::new(opts.cisco.previous.as_ref(), &id, &now);
    let list = |slot: &str| {
        now.iter()
            .find(|d| generation::base(&d.name) == slot && d.kind != generation::Kind::NetGroup)
            .map(|d| d.name.clone())
    };
    // The configuration and a few kilobytes around it: one allocation, not a doubling series.
    let mut out = String::with_capacity(config.len() + 16 * 1024);
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
