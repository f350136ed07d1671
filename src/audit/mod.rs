//! `fwgen audit`: does an existing firewall admit what the selected catalogue entries need?
//!
//! Every entry, bound to the site's addresses, becomes probes: one connection per
//! direction, protocol, end of each port range, remote prefix (its first address, or an
//! outside address for `any`) and gateway address of the same family. A connection is
//! admitted when its first packet and the opener's later packets pass every hook on their
//! way (host placement: prerouting and `input` for `in`, `output` and postrouting for `out`;
//! perimeter: prerouting, `forward`, postrouting) and its replies pass the opposite way as
//! established traffic. An entry is `admitted` when all its connections are, `blocked` when
//! none is, `partial` otherwise (the ones that are not are listed), and `unknown` when a
//! construct the reader does not understand decides one (named). Then what the ruleset
//! admits beyond the selection: each bound entry from an outside address, and ports no entry
//! needs (over-broad, warnings).
//!
//! Pure: the caller reads the files.

pub mod cisco;
mod fix;
pub mod iptables;
pub mod nft;

pub use fix::{Syntax, fix};

use std::net::IpAddr;

use serde::Serialize;

use crate::model::{Direction, Protocol};
use crate::render::Placement;
use crate::ruleset::{Remote, Ruleset};

use nft::{Decision, Hook, Packet, State};

/// An address no catalogue peer has: what `any` is probed with, and the outsider of the
/// over-broad checks (TEST-NET-3 and the documentation prefix).
pub const OUTSIDE_V4: &str = "203.0.113.77";
pub const OUTSIDE_V6: &str = "2001:db8:ffff::77";

/// Ports no shipped entry uses, probed for over-broad rules.
const UNUSED_PORTS: &[u16] = &[23, 3306, 5900, 6379, 27017];

/// The interfaces the audited firewall has on each side: what interface matches see, and
/// which Cisco bindings decide.
#[derive(Clone, Debug, Default)]
pub struct Interfaces {
    /// Host placement: the gateway's interface. Perimeter: the firewall's interface that faces
    /// the gateway (the ASA's: the gateway's interface).
    pub gateway: String,
    /// Perimeter: the interfaces traffic to the gateway arrives on.
    pub ingress: Vec<String>,
}

/// An entry's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Admitted,
    Partial,
    Blocked,
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Admitted => "admitted",
            Verdict::Partial => "partial",
            Verdict::Blocked => "blocked",
            Verdict::Unknown => "unknown",
        }
    }
}

/// One connection the audit tried, and what the ruleset does with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub direction: Direction,
    pub protocol: Protocol,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub port: u16,
    /// `admitted`, `blocked` or `unknown`.
    pub result: Verdict,
    /// The rule or policy that decides it (for a blocked reply: the reply's).
    pub decided_by: String,
    /// For a blocked connection: the base chains that drop it, and whether it is the reply
    /// there (what `--fix` adds rules to; a reply is checked even when the first packet is
    /// dropped, so that one fix admits both).
    #[serde(skip)]
    pub dropped_in: Vec<(nft::ChainRef, bool)>,
}

/// One catalogue entry's finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: String,
    pub verdict: Verdict,
    /// The rule or policy that decides the first connection (or the first that is not
    /// admitted).
    pub deciding: String,
    /// The connections that are not admitted.
    pub missing: Vec<String>,
    pub description: String,
    /// The document row the entry comes from.
    pub source: String,
    pub probes: Vec<Probe>,
}

/// What the audit found.
#[derive(Clone, Debug, Serialize)]
pub struct Audit {
    pub product: String,
    pub version: String,
    pub component: String,
    pub placement: &'static str,
    pub findings: Vec<Finding>,
    /// What the ruleset admits beyond the selection.
    pub over_broad: Vec<String>,
    /// What the audit says about the ruleset as a whole (a dormant table, flags it cannot
    /// read).
    pub notes: Vec<String>,
}

impl Audit {
    /// Findings that fail the audit: blocked, partial or unknown.
    pub fn failures(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.verdict != Verdict::Admitted)
            .count()
    }
}

/// A firewall's decisions, whatever its syntax: for a drop, also the base chain.
pub trait Firewall {
    fn decide(&self, hook: Hook, p: &Packet) -> (Decision, Option<nft::ChainRef>);
    /// What the report should say about the ruleset as a whole.
    fn notes(&self) -> Vec<String>;
}

impl Firewall for nft::Ruleset {
    fn decide(&self, hook: Hook, p: &Packet) -> (Decision, Option<nft::ChainRef>) {
        self.decide_at(hook, p)
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

/// The hooks a connection's first packet and its replies meet.
fn hooks(placement: Placement, d: Direction) -> (Hook, Hook) {
    match (placement, d) {
        (Placement::Perimeter, _) => (Hook::Forward, Hook::Forward),
        (Placement::Host, Direction::In) => (Hook::Input, Hook::Output),
        (Placement::Host, Direction::Out) => (Hook::Output, Hook::Input),
    }
}

/// The ephemeral port a probe's opener sends from.
const EPHEMERAL: u16 = 40000;

/// The interfaces a connection's first packet arrives on and leaves by (the reply's are the
/// other way round): host placement: the gateway's interface; perimeter: the one facing the
/// gateway and the (first) ingress interface. `None` where not named.
fn interfaces(
    placement: Placement,
    d: Direction,
    at: &Interfaces,
) -> (Option<String>, Option<String>) {
    let gw = (!at.gateway.is_empty()).then(|| at.gateway.clone());
    let other = at.ingress.first().cloned();
    match (placement, d) {
        (Placement::Host, Direction::In) => (gw, None),
        (Placement::Host, Direction::Out) => (None, gw),
        (Placement::Perimeter, Direction::In) => (other, gw),
        (Placement::Perimeter, Direction::Out) => (gw, other),
    }
}

/// Try one connection: its first packet, then a reply.
fn connect(
    fw: &dyn Firewall,
    (placement, at): (Placement, &Interfaces),
    d: Direction,
    protocol: Protocol,
    (src, dst): (IpAddr, IpAddr),
    port: u16,
) -> Probe {
    let (there, back) = hooks(placement, d);
    let (iif, oif) = interfaces(placement, d, at);
    let first = Packet {
        protocol,
        src,
        sport: EPHEMERAL,
        dst,
        dport: port,
        state: State::New,
        iif: iif.clone(),
        oif: oif.clone(),
    };
    let reply = Packet {
        protocol,
        src: dst,
        sport: port,
        dst: src,
        dport: EPHEMERAL,
        state: State::Established,
        iif: oif,
        oif: iif,
    };
    // The opener's later packets: the same way, as established traffic (a ruleset that
    // accepts `ct state new` and nothing established lets no TCP session complete).
    let later = Packet {
        state: State::Established,
        ..first.clone()
    };
    let (first_decision, first_at) = fw.decide(there, &first);
    let (later_decision, later_at) = fw.decide(there, &later);
    let (reply_decision, reply_at) = fw.decide(back, &reply);
    let mut dropped_in: Vec<(nft::ChainRef, bool)> =
        first_at.map(|c| (c, false)).into_iter().collect();
    // A drop of the later packets is fixed as replies are: an established rule.
    dropped_in.extend(later_at.map(|c| (c, true)));
    dropped_in.extend(reply_at.map(|c| (c, true)));
    dropped_in.dedup();
    let first_decision = match (first_decision, later_decision) {
        (Decision::Accept(_), Decision::Drop(r)) => {
            Decision::Drop(format!("its later packets: {r}"))
        }
        (Decision::Accept(_), Decision::Unknown(r)) => {
            Decision::Unknown(format!("its later packets: {r}"))
        }
        (d, _) => d,
    };
    let (result, decided_by) = match (first_decision, reply_decision) {
        (Decision::Accept(why), Decision::Accept(_)) => (Verdict::Admitted, why),
        (Decision::Accept(_), Decision::Drop(r)) => (Verdict::Blocked, format!("its replies: {r}")),
        (Decision::Accept(_), Decision::Unknown(r)) => {
            (Verdict::Unknown, format!("its replies: {r}"))
        }
        (Decision::Drop(why), _) => (Verdict::Blocked, why),
        (Decision::Unknown(why), _) => (Verdict::Unknown, why),
    };
    Probe {
        direction: d,
        protocol,
        src,
        dst,
        port,
        result,
        // Text from the audited file (rule comments, names, constructs) as one line without
        // control or invisible characters: it cannot forge a line of the report.
        decided_by: crate::text::flatten(&decided_by, 1000, &[]),
        dropped_in,
    }
}

fn outside(family_of: IpAddr) -> IpAddr {
    let s = if family_of.is_ipv4() {
        OUTSIDE_V4
    } else {
        OUTSIDE_V6
    };
    s.parse().unwrap_or(family_of)
}

/// The addresses a remote side is probed with in the gateway address's family: each
/// prefix's first address, the outsider for `any`; `None` when the firewall resolves names.
fn remote_addresses(remote: &Remote, gateway: IpAddr) -> Option<Vec<IpAddr>> {
    match remote {
        Remote::Any => Some(vec![outside(gateway)]),
        Remote::Addresses(nets) => Some(
            nets.iter()
                .filter(|n| n.addr().is_ipv4() == gateway.is_ipv4())
                .map(|n| n.network())
                .collect(),
        ),
        Remote::Names(_) => None,
    }
}

/// Audit `fw` against the selection in `rules`; `at` names the interfaces (for interface
/// matches, and the Cisco bindings).
pub fn audit(rules: &Ruleset, placement: Placement, fw: &dyn Firewall, at: &Interfaces) -> Audit {
    let findings = rules
        .selected
        .iter()
        .map(|e| finding(rules, (placement, at), fw, e))
        .collect();
    Audit {
        product: rules.meta.product.clone(),
        version: rules.meta.version.clone(),
        component: rules.meta.component.clone(),
        placement: placement.name(),
        findings,
        over_broad: over_broad(rules, (placement, at), fw),
        // Notes quote the audited file (table and list names): one line each, as every other
        // text from it, so that they cannot forge a line of the report.
        notes: fw
            .notes()
            .iter()
            .map(|n| crate::text::flatten(n, 1000, &[]))
            .collect(),
    }
}

fn finding(
    rules: &Ruleset,
    placement: (Placement, &Interfaces),
    fw: &dyn Firewall,
    e: &crate::ruleset::Selected,
) -> Finding {
    let mut probes = Vec::new();
    let mut names = false;
    for &d in &e.directions {
        for &protocol in &e.protocols {
            for range in e.ports.ranges() {
                let mut ports = vec![range.lo().get(), range.hi().get()];
                ports.dedup();
                for &gw in rules
                    .gateway
                    .iter()
                    .map(ipnet::IpNet::addr)
                    .collect::<Vec<_>>()
                    .iter()
                {
                    let Some(remotes) = remote_addresses(&e.remote, gw) else {
                        names = true;
                        continue;
                    };
                    for remote in remotes {
                        let ends = match d {
                            Direction::In => (remote, gw),
                            Direction::Out => (gw, remote),
                        };
                        for &port in &ports {
                            probes.push(connect(fw, placement, d, protocol, ends, port));
                        }
                    }
                }
            }
        }
    }
    let not: Vec<&Probe> = probes
        .iter()
        .filter(|p| p.result != Verdict::Admitted)
        .collect();
    let verdict = if names || probes.iter().any(|p| p.result == Verdict::Unknown) {
        Verdict::Unknown
    } else if probes.is_empty() {
        // No address of a family both ends have: nothing could pass.
        Verdict::Blocked
    } else if not.is_empty() {
        Verdict::Admitted
    } else if not.len() == probes.len() {
        Verdict::Blocked
    } else {
        Verdict::Partial
    };
    let deciding = if names {
        "its peers are host names the firewall resolves: not audited".to_string()
    } else {
        not.first()
            .copied()
            .or(probes.first())
            .map(|p| p.decided_by.clone())
            .unwrap_or_else(|| "no address of the gateway's families for its peers".into())
    };
    Finding {
        id: e.id.clone(),
        verdict,
        deciding,
        missing: not.iter().map(|p| connection(p)).collect(),
        description: e.description.clone(),
        source: e.source.clone(),
        probes,
    }
}

/// `in tcp 443 198.51.100.7 -> 192.0.2.25: policy drop of chain inet filter input`.
fn connection(p: &Probe) -> String {
    format!(
        "{} {} {} {} -> {}: {}",
        p.direction, p.protocol, p.port, p.src, p.dst, p.decided_by
    )
}

/// What the ruleset admits beyond the selection: each entry with bound peers, from (or to)
/// an outside address; and ports no entry needs, from and to outside.
fn over_broad(
    rules: &Ruleset,
    placement: (Placement, &Interfaces),
    fw: &dyn Firewall,
) -> Vec<String> {
    let mut out = Vec::new();
    // A connection from (or to) an outside address that an entry with `any` peer needs.
    let needed = |d: Direction, protocol: Protocol, port: u16| {
        rules.selected.iter().any(|e| {
            e.remote == Remote::Any
                && e.directions.contains(&d)
                && e.protocols.contains(&protocol)
                && e.ports.contains(port)
        })
    };
    for gw in rules.gateway.iter().map(ipnet::IpNet::addr) {
        let stranger = outside(gw);
        let mut tried = std::collections::BTreeSet::new();
        let mut candidates: Vec<(Direction, Protocol, u16, String)> = Vec::new();
        for e in rules.selected.iter().filter(|e| e.remote != Remote::Any) {
            for &d in &e.directions {
                for &protocol in &e.protocols {
                    for r in e.ports.ranges() {
                        candidates.push((
                            d,
                            protocol,
                            r.lo().get(),
                            format!("entry {} admits only {}", e.id, e.peer),
                        ));
                    }
                }
            }
        }
        for d in [Direction::In, Direction::Out] {
            for protocol in [Protocol::Tcp, Protocol::Udp] {
                for &port in UNUSED_PORTS {
                    candidates.push((d, protocol, port, "no entry needs it".into()));
                }
            }
        }
        for (d, protocol, port, why) in candidates {
            if needed(d, protocol, port) || !tried.insert((d, protocol, port)) {
                continue;
            }
            let ends = match d {
                Direction::In => (stranger, gw),
                Direction::Out => (gw, stranger),
            };
            let p = connect(fw, placement, d, protocol, ends, port);
            let is = match p.result {
                Verdict::Admitted => "is admitted",
                // What the audit cannot decide may be admitted: said, not left out.
                Verdict::Unknown => "may be admitted",
                _ => continue,
            };
            out.push(format!(
                "{d} {protocol} {port} {} -> {} {is} ({why}): {}",
                p.src, p.dst, p.decided_by
            ));
        }
    }
    out
}

/// The report as text: one line per entry, then what is over-broad.
pub fn text(a: &Audit) -> String {
    use std::fmt::Write;
    let mut s = format!(
        "audit: {} {} component {}, placement {}\n",
        a.product,
        crate::text::flatten(&a.version, 200, &[]),
        a.component,
        a.placement
    );
    for n in &a.notes {
        let _ = writeln!(s, "note: {n}");
    }
    for f in &a.findings {
        let _ = writeln!(s, "{:<9} {:<28} {}", f.verdict.as_str(), f.id, f.deciding);
        for m in &f.missing {
            let _ = writeln!(s, "{:<9} {:<28}   not admitted: {m}", "", "");
        }
        let _ = writeln!(s, "{:<9} {:<28}   from {}", "", "", f.source);
    }
    for o in &a.over_broad {
        let _ = writeln!(s, "over-broad: {o}");
    }
    let _ = writeln!(s, "{}", summary(a));
    s
}

/// `12 entries: 10 admitted, 1 partial, 1 blocked, 0 unknown; 2 over-broad`.
pub fn summary(a: &Audit) -> String {
    let n = |v: Verdict| a.findings.iter().filter(|f| f.verdict == v).count();
    format!(
        "{} entries: {} admitted, {} partial, {} blocked, {} unknown; {} over-broad",
        a.findings.len(),
        n(Verdict::Admitted),
        n(Verdict::Partial),
        n(Verdict::Blocked),
        n(Verdict::Unknown),
        a.over_broad.len()
    )
}

/// The report as Markdown, for a change ticket.
pub fn markdown(a: &Audit) -> String {
    use std::fmt::Write;
    let md = crate::text::markdown;
    let mut s = format!(
        "# Firewall audit: {} {} ({}, {} placement)\n\n{}\n\n",
        a.product,
        md(&a.version),
        a.component,
        a.placement,
        summary(a)
    );
    for n in &a.notes {
        let _ = writeln!(s, "> {}\n", md(n));
    }
    s.push_str("| entry | verdict | decided by | not admitted | source |\n|---|---|---|---|---|\n");
    for f in &a.findings {
        let _ = writeln!(
            s,
            "| `{}` | **{}** | {} | {} | {} |",
            f.id,
            f.verdict.as_str(),
            md(&f.deciding),
            md(&f.missing.join("; ")),
            md(&f.source)
        );
    }
    if !a.over_broad.is_empty() {
        s.push_str("\n## Over-broad\n\n");
        for o in &a.over_broad {
            let _ = writeln!(s, "- {}", md(o));
        }
    }
    s
}
