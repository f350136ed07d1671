//! `fwgen audit`: does an existing firewall admit what the selected catalogue entries need?
//!
//! Exact, not sampled: every entry, bound to the site's addresses, is a space of connections
//! per direction, protocol and gateway address: every address of its peers (every address
//! of the family for `any`), every one of its ports, from every ephemeral source port
//! (32768-65535: Linux's and IANA's ranges). The ruleset decides the space as a whole ([`space`], `nft::decide`): a
//! connection is admitted when its first packet, the opener's later packets and the replies
//! (for TCP with the flags each carries) pass every hook on their way (host placement:
//! ingress, prerouting and input for what arrives, output and postrouting for what leaves;
//! perimeter: ingress, prerouting, forward, postrouting). IPv6 needs neighbour discovery
//! too: solicitations and advertisements both ways. An entry is `admitted` when all its
//! space is, `blocked` when none is, `partial` otherwise (what is not is listed as prefixes
//! and ports), and `unknown` when a construct the reader cannot model decides part of it
//! (named). Over-broad is computed the same way: what the ruleset admits toward and from the
//! gateway, minus what the selection needs.
//!
//! Pure: the caller reads the files.

pub mod cisco;
mod connect;
mod fix;
pub mod iptables;
pub mod model;
mod nd;
pub mod nft;
mod over_broad;
mod read;
pub mod space;

pub use fix::{Syntax, fix};
pub use read::{MAX_RULESET_BYTES, ReadError, read};

use ipnet::IpNet;
use serde::Serialize;

use crate::model::{Direction, Protocol};
use crate::render::Placement;
use crate::ruleset::Ruleset;

use connect::{Need, Space};
use model::{Context, Hook};

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

/// A part of an entry's connections that the ruleset decides alike: who opens them (`src`,
/// from `source_ports`), to whom (`dst`), on which `ports`, and what becomes of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Part {
    pub direction: Direction,
    pub protocol: Protocol,
    pub src: Vec<IpNet>,
    pub dst: Vec<IpNet>,
    /// The service ports (`443`, `8000-8100, 9000`).
    pub ports: String,
    /// The opener's source ports.
    pub source_ports: String,
    /// How many connections (source address × destination address × port; source ports
    /// not counted).
    pub connections: u128,
    /// `admitted`, `blocked` or `unknown`.
    pub result: Verdict,
    /// The rule or policy that decides it (for a blocked reply: the reply's).
    pub decided_by: String,
    /// For a blocked part: the base chains that drop it, and whether it is the reply there
    /// (what `--fix` adds rules to; a reply is checked even when the first packet is
    /// dropped, so that one fix admits both).
    #[serde(skip)]
    pub dropped_in: Vec<(model::ChainRef, bool)>,
    /// The part's space, in the first packet's terms.
    #[serde(skip)]
    pub space: Space,
    /// Whether the part is IPv6.
    #[serde(skip)]
    pub v6: bool,
}

/// One catalogue entry's finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: String,
    pub verdict: Verdict,
    /// What was proven: `2 addresses × 1 port, every one admitted`.
    pub proven: String,
    /// The rule or policy that decides the first part (or the first that is not admitted).
    pub deciding: String,
    /// The parts that are not admitted.
    pub missing: Vec<String>,
    pub description: String,
    /// The document row the entry comes from.
    pub source: String,
    pub parts: Vec<Part>,
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
    /// read, neighbour discovery).
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

/// A firewall's decisions, whatever its syntax: a space of packets divided into pieces, each
/// accepted, dropped (and in which base chain) or unknown.
pub trait Firewall {
    fn decide(&self, hook: Hook, ctx: &Context, space: Space) -> Vec<model::Piece>;
    /// Whether a rule matches TCP flags (then each packet's flags are decided).
    fn uses_flags(&self) -> bool;
    /// What the report should say about the ruleset as a whole.
    fn notes(&self) -> Vec<String>;
}

impl Firewall for model::Ruleset {
    fn decide(&self, hook: Hook, ctx: &Context, space: Space) -> Vec<model::Piece> {
        model::Ruleset::decide(self, hook, ctx, space)
    }

    fn uses_flags(&self) -> bool {
        self.uses_flags
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
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
    // Notes quote the audited file (table and list names): one line each, as every other
    // text from it, so that they cannot forge a line of the report.
    let notes: Vec<String> = fw.notes();
    Audit {
        product: rules.meta.product.clone(),
        version: rules.meta.version.clone(),
        component: rules.meta.component.clone(),
        placement: placement.name(),
        findings,
        over_broad: over_broad::over_broad(rules, (placement, at), fw),
        notes: notes
            .iter()
            .map(|n| crate::text::flatten(n, 1000, &[]))
            .collect(),
    }
}

/// Whether `fw` admits, on the host itself, a new TCP connection from `client` (any
/// ephemeral source port) to the host's `server`:`port`, both ways (and IPv6 neighbour
/// discovery): `None` when it does, else what it does not admit (the lock-out check of
/// `fwgen apply`).
pub fn refuses(
    fw: &dyn Firewall,
    at: &Interfaces,
    (client, server, port): (std::net::IpAddr, std::net::IpAddr, u16),
) -> Option<String> {
    if client.is_ipv6() != server.is_ipv6() {
        return Some(format!("{client} and {server} are of two address families"));
    }
    let one = |a| space::Addrs::from_iter([space::num(a)..=space::num(a)]);
    let need = Need {
        direction: Direction::In,
        protocol: Protocol::Tcp,
        gateway: server,
        remote: one(client),
        ports: space::Ports::from_iter([port..=port]),
    };
    let parts = connect::connection(fw, (Placement::Host, at), &need);
    let refused: Vec<String> = parts
        .iter()
        .filter(|p| p.result != Verdict::Admitted)
        .map(connect::describe)
        .collect();
    (!refused.is_empty()).then(|| refused.join("; "))
}

fn finding(
    rules: &Ruleset,
    placement: (Placement, &Interfaces),
    fw: &dyn Firewall,
    e: &crate::ruleset::Selected,
) -> Finding {
    let mut parts = Vec::new();
    let mut names = false;
    let mut needed: u128 = 0;
    for &d in &e.directions {
        for service in &e.services {
            for gw in rules.gateway.iter().map(IpNet::addr) {
                let Some(need) = Need::of(e, d, service, gw) else {
                    names = true;
                    continue;
                };
                if need.is_empty() {
                    continue;
                }
                needed = needed.saturating_add(need.connections());
                parts.extend(connect::connection(fw, placement, &need));
            }
        }
    }
    let not: Vec<&Part> = parts
        .iter()
        .filter(|p| p.result != Verdict::Admitted)
        .collect();
    let verdict = if names || parts.iter().any(|p| p.result == Verdict::Unknown) {
        Verdict::Unknown
    } else if parts.is_empty() {
        // No address of a family both ends have: nothing could pass.
        Verdict::Blocked
    } else if not.is_empty() {
        Verdict::Admitted
    } else if not.len() == parts.len() {
        Verdict::Blocked
    } else {
        Verdict::Partial
    };
    let deciding = if names {
        "its peers are host names the firewall resolves: not audited".to_string()
    } else {
        not.first()
            .copied()
            .or(parts.first())
            .map(|p| p.decided_by.clone())
            .unwrap_or_else(|| "no address of the gateway's families for its peers".into())
    };
    // A connection is admitted when every source port of it is: the needed ones less those
    // some part of which is not (each counted once).
    let not_spaces: Vec<&Space> = not.iter().map(|p| &p.space).collect();
    let admitted = needed.saturating_sub(connect::triples(&not_spaces));
    let proven = connect::proven(e, needed, admitted, names);
    Finding {
        id: e.id.clone(),
        verdict,
        proven,
        deciding,
        missing: not.iter().map(|p| connect::describe(p)).collect(),
        description: e.description.clone(),
        source: e.source.clone(),
        parts,
    }
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
        let _ = writeln!(s, "{:<9} {:<28}   proven: {}", "", "", f.proven);
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
    s.push_str(
        "| entry | verdict | proven | decided by | not admitted | source |\n|---|---|---|---|---|---|\n",
    );
    for f in &a.findings {
        let _ = writeln!(
            s,
            "| `{}` | **{}** | {} | {} | {} | {} |",
            f.id,
            f.verdict.as_str(),
            md(&f.proven),
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
