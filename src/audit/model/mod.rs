//! The audit's own model of a firewall: typed rules (fields, value sets, negation,
//! verdicts, jumps) in tables and chains on netfilter's hooks, whatever syntax they were read
//! from. The nftables ([`crate::audit::nft`]), iptables-save ([`crate::audit::iptables`]) and
//! Cisco ([`crate::audit::cisco`]) readers build it; what it decides about a space of packets
//! is in `decide` (rule by rule, and runs of plain rules in one sweep in `batch`, over the
//! cubes of `cubes`).
//!
//! Decided: base chains of type `filter` and `route` with their hook, priority and policy, on
//! every hook a packet passes (ingress with a named device, prerouting, input, forward,
//! output, postrouting), and `nat` chains for a connection's first packet; user chains reached
//! by jumps and gotos (and returns); sets of addresses, prefixes, ranges, ports, protocols and
//! concatenations of those; matches on addresses, ports, transport protocol, family,
//! connection state, TCP flags, interfaces, packet type, ICMPv6 type and hop limit; accept,
//! drop, return, verdict maps, source rewrites. Anything else that could change the verdict
//! is `Unknown`, named by the reader, never guessed.

mod batch;
mod cubes;
mod decide;

pub use decide::Piece;

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::Protocol;

/// Where a packet meets the ruleset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hook {
    Input,
    Output,
    Forward,
}

impl Hook {
    fn name(self) -> &'static str {
        match self {
            Hook::Input => "input",
            Hook::Output => "output",
            Hook::Forward => "forward",
        }
    }

    /// Every netfilter hook a packet bound for this one passes, in order: an incoming
    /// packet meets prerouting before input, an outgoing one postrouting after output, a
    /// forwarded one both. Base chains on each, in every table, must let it through.
    fn path(self) -> &'static [Point] {
        match self {
            Hook::Input => &[Point::Ingress, Point::Prerouting, Point::Input],
            Hook::Output => &[Point::Output, Point::Postrouting, Point::Egress],
            Hook::Forward => &[
                Point::Ingress,
                Point::Prerouting,
                Point::Forward,
                Point::Postrouting,
                Point::Egress,
            ],
        }
    }
}

/// Names of a closed set of values, and the catch-all for any other (kept for the report).
macro_rules! named {
    ($(#[$doc:meta])* $t:ident { $($v:ident = $n:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $t {
            $($v,)+
            Other(String),
        }

        impl $t {
            pub fn named(s: &str) -> $t {
                match s {
                    $($n => $t::$v,)+
                    other => $t::Other(other.to_string()),
                }
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $($t::$v => f.write_str($n),)+
                    $t::Other(s) => f.write_str(s),
                }
            }
        }
    };
}

named!(
    /// A table's family: which packets its chains see (`inet` both IP families; `netdev`
    /// only on its ingress and egress hooks; others no packet the audit decides).
    Family { Inet = "inet", Ip = "ip", Ip6 = "ip6", Netdev = "netdev" }
);

named!(
    /// The netfilter hook a base chain is on.
    Point {
        Ingress = "ingress",
        Prerouting = "prerouting",
        Input = "input",
        Forward = "forward",
        Output = "output",
        Postrouting = "postrouting",
        Egress = "egress",
    }
);

named!(
    /// A base chain's type: what it may do to packets.
    Kind { Filter = "filter", Nat = "nat", Route = "route" }
);

/// What a base chain does with a packet no rule decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    Accept,
    Drop,
}

impl std::fmt::Display for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Policy::Accept => "accept",
            Policy::Drop => "drop",
        })
    }
}

/// Where a base chain is and what it does by default.
#[derive(Clone, Debug)]
pub struct Base {
    pub kind: Kind,
    pub hook: Point,
    pub priority: i64,
    pub policy: Policy,
}

/// Connection tracking's view of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// The first packet of a connection.
    New,
    /// A later packet of an admitted connection: a reply, or the opener's next packets.
    Established,
    /// A packet connection tracking does not follow: ICMPv6 neighbour discovery.
    Untracked,
}

/// The transport header of the packets decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4 {
    Tcp,
    Udp,
    /// ICMP (IPv4) of one type and code.
    Icmp(u8, u8),
    /// ICMPv6 of one type and code (neighbour discovery: 135 and 136; echo: 128 and 129).
    Icmpv6(u8, u8),
}

impl L4 {
    /// The transport of TCP and UDP (`None` for ICMP, whose packets carry a type instead).
    pub fn transport(p: Protocol) -> Option<L4> {
        match p {
            Protocol::Tcp => Some(L4::Tcp),
            Protocol::Udp => Some(L4::Udp),
            Protocol::Icmp => None,
        }
    }

    /// The ICMP message of type `t` and code `code` in a family.
    pub fn icmp(v6: bool, t: u8, code: u8) -> L4 {
        if v6 {
            L4::Icmpv6(t, code)
        } else {
            L4::Icmp(t, code)
        }
    }
}

/// TCP flags as the kernel numbers them.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECN: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    /// A flag by the name nft and iptables give it.
    pub fn named(name: &str) -> Option<u8> {
        Some(match name.to_ascii_lowercase().as_str() {
            "fin" => FIN,
            "syn" => SYN,
            "rst" => RST,
            "psh" => PSH,
            "ack" => ACK,
            "urg" => URG,
            "ecn" | "ece" => ECN,
            "cwr" => CWR,
            "all" => 0xff,
            "none" => 0,
            _ => return None,
        })
    }
}

/// What is the same for every packet of a space the ruleset decides: the family, transport,
/// connection state, TCP flags and interfaces. Addresses and ports are the space's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub v6: bool,
    pub l4: L4,
    pub state: State,
    /// TCP flags (for TCP).
    pub flags: u8,
    /// The interface the packets arrive on, if known (never `lo`: they come from another
    /// host). Empty: none, as the kernel names it (the packets the host sends).
    pub iif: Option<String>,
    /// The interface they leave by, if known. Empty: none (the packets the host receives).
    pub oif: Option<String>,
    /// Sent by this host (the output hook): the kernel marks every such packet as addressed
    /// to one host (`meta pkttype host`), multicast included.
    pub local: bool,
    /// The audited host's own addresses (host placement: the gateway's; perimeter: none
    /// known), for `fib daddr type local`.
    pub own: crate::audit::space::Addrs,
}

/// A chain by family, table and name.
pub type ChainRef = (String, String, String);

/// What the ruleset does with a packet, and the rule or policy that decides it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Accept(String),
    Drop(String),
    /// A construct this reader does not understand decides (or might): named.
    Unknown(String),
}

/// A chain, its rules compiled.
#[derive(Debug)]
struct Chain {
    family: Family,
    table: String,
    name: String,
    /// Base chains: (type, hook, priority, policy).
    base: Option<Base>,
    /// An ingress or egress chain's device, where the dump names it (nft 1.0.6's JSON does
    /// not; the listing at the end of its bytecode listing does).
    device: Option<String>,
    rules: Vec<Rule>,
    /// The most rules a packet can visit from here (jumps followed), or why there is no
    /// bound (a loop of jumps, chains nested too deep).
    worst: Result<usize, String>,
}

impl Chain {
    /// Whether the chain lets every packet pass: a base chain with no rules and policy
    /// accept, which changes nothing wherever it stands.
    fn passes(&self) -> bool {
        self.rules.is_empty()
            && self
                .base
                .as_ref()
                .is_some_and(|b| b.policy == Policy::Accept)
    }
}

#[derive(Debug)]
struct Rule {
    handle: i64,
    comment: Option<String>,
    expr: Vec<Expr>,
}

/// Rules that have something a note of the report names: how many, and the first.
#[derive(Default)]
pub(crate) struct Tally {
    count: usize,
    first: Option<String>,
}

impl Tally {
    pub(crate) fn add(&mut self, name: impl FnOnce() -> String) {
        self.count += 1;
        self.first.get_or_insert_with(name);
    }

    /// `N rules[ WHERE] VERB WHAT (the first: …), REST`, if there are any (`where` may be
    /// empty).
    pub(crate) fn note(&self, place: &str, verb: &str, what: &str, rest: &str) -> Option<String> {
        let (n, first) = (self.count, self.first.as_ref()?);
        let (s, z) = if n == 1 { ("", "s") } else { ("s", "") };
        let place = if place.is_empty() {
            String::new()
        } else {
            format!(" {place}")
        };
        Some(format!(
            "{n} rule{s}{place} {verb}{z} {what} (the first: {first}), {rest}"
        ))
    }
}

/// The smallest maximum segment size a host announces in its SYN: IPv4's smallest link (576
/// bytes) less the headers (IPv6's smallest link gives 1220). A rule on sizes below it (the
/// 2019 "SACK panic" guard drops SYNs of 1 to 500) matches no connection audited.
pub(crate) const LEAST_MSS: u64 = 536;

/// One expression of a rule, read once.
#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Match {
        negate: bool,
        left: Left,
        right: Right,
    },
    Accept,
    Drop,
    Return,
    /// Jump (false) or goto (true).
    Jump(String, bool),
    /// A statement that does not decide (`counter`, `log`, …), or a rate limit, quota or
    /// connection count taken as never reached (`limit rate 10/second` holds for every packet).
    Nop,
    /// A match that holds for no packet the audit decides, so the rule goes on to the next:
    /// a rate limit, quota or connection count that holds only once it is reached (`limit
    /// rate over 10/second`, `quota over`, `ct count over`), taken as never reached; or a
    /// header those packets never carry (an IPv6 routing header, `-m rt`).
    Never,
    /// A verdict map: the verdict of the first element that holds the key's value (no
    /// element: the rule goes on to the next).
    Vmap(Left, Vec<(Elem, Verdict)>),
    /// A rewrite of the source address (`snat`, `masquerade`): it ends the nat chain as an
    /// accept; the connection's filtering is decided before it (and replies are rewritten
    /// back before they are filtered).
    Snat,
    /// What the reader does not understand, named.
    Unknown(String),
}

impl Expr {
    /// A match every packet that has the header field `left` reads passes, and no other: what
    /// a set statement's key implies (`add @s { ip saddr }` loads `ip saddr` only from IPv4
    /// packets; nft's listing leaves that dependency out).
    pub(crate) fn has(left: Left) -> Expr {
        // Not one of no values: every value the packet can have.
        Expr::Match {
            negate: true,
            left,
            right: Right::Elems(Vec::new()),
        }
    }

    /// A match of the packet's family (`meta nfproto ipv6`, or `ipv4`), or with `negate` of
    /// the other: what a family's list means (Cisco), and what nft's listing leaves out
    /// (`reject with icmpv6`, the family of a rule the bytecode shows).
    pub(crate) fn family(v6: bool, negate: bool) -> Expr {
        Expr::Match {
            negate,
            left: Left::Nfproto,
            right: Right::Elems(vec![Elem::Name(if v6 { "ipv6" } else { "ipv4" }.into())]),
        }
    }
}

/// A verdict in a verdict map.
#[derive(Clone, Debug)]
pub(crate) enum Verdict {
    Accept,
    Drop,
    Return,
    Continue,
    Jump(String, bool),
}

/// What a match reads from a packet.
#[derive(Clone, Debug)]
pub(crate) enum Left {
    Saddr {
        v6: bool,
    },
    Daddr {
        v6: bool,
    },
    /// `ip protocol` (v4), `ip6 nexthdr` (v6), `meta l4proto` (both: `None`).
    L4 {
        v6: Option<bool>,
    },
    /// A port; `None` = `th` (any transport header).
    Sport(Option<Protocol>),
    Dport(Option<Protocol>),
    Nfproto,
    /// `iif`/`iifname` (`true`) or `oif`/`oifname`.
    Interface(bool),
    CtState,
    /// `ct status`: the packets audited are neither NATed nor expected.
    CtStatus,
    /// The reverse-path check (`fib saddr . iif oif`): whether a route back to the source
    /// leaves through the interface the packet came in on (the audit takes it that it does:
    /// its peers are where the host's routes say).
    FibReverse,
    /// An ICMP (`v6`: ICMPv6) header's type (`true`) or code (`false`).
    Icmp {
        v6: bool,
        kind: bool,
    },
    /// An ICMP (`v6`: ICMPv6) header's checksum, which changes with every packet.
    IcmpChecksum {
        v6: bool,
    },
    /// `tcp flags & MASK` (MASK all ones: the flags).
    TcpFlags(u8),
    /// `meta pkttype`: every packet audited is addressed to one host.
    Pkttype,
    /// `fib daddr type`: the destination is one of the host's own addresses (`local`),
    /// multicast, broadcast, or another host's (`unicast`).
    FibDaddrType,
    /// `ip6 hoplimit`.
    HopLimit,
    Concat(Vec<Left>),
}

#[derive(Clone, Debug)]
pub(crate) enum Right {
    Elems(Vec<Elem>),
    /// A named set, by its index in `Ruleset::sets`.
    Named(usize),
}

/// One value, prefix, range or concatenation on a right side or in a set.
#[derive(Clone, Debug)]
pub(crate) enum Elem {
    Addr(IpAddr),
    Net(IpNet),
    AddrRange(IpAddr, IpAddr),
    Num(u64),
    NumRange(u64, u64),
    Name(String),
    Concat(Vec<Elem>),
    Unknown(String),
}

/// A parsed ruleset.
#[derive(Debug, Default)]
pub struct Ruleset {
    chains: Vec<Chain>,
    /// (family, table, chain) -> index in `chains`.
    by_name: BTreeMap<(Family, String, String), usize>,
    sets: Vec<Vec<Elem>>,
    /// (family, table, set) -> index in `sets`.
    set_names: BTreeMap<(Family, String, String), usize>,
    /// For rulesets of one family per file (iptables-save): the families given. A packet of
    /// another family is not audited (no chain there does not mean none on the firewall).
    pub(crate) families: Option<Vec<Family>>,
    /// Tables whose save text is not what they hold, and why: iptables-nft's "incompatible"
    /// tables (chains nft made, which it cannot show), or a chain name with a line break
    /// (printed as lines of their own). Their family's packets are not decided.
    pub(crate) hidden: Vec<(Family, String, String)>,
    /// Tables with `flags dormant`: the kernel evaluates none of their chains.
    dormant: std::collections::BTreeSet<(Family, String)>,
    /// Tables whose flags nft printed as something that is no flag's name (nft 1.0.6 prints
    /// a table's single flag as freed memory): dormant or not, the dump cannot say.
    unreadable: std::collections::BTreeSet<(Family, String)>,
    /// What the report should say about the ruleset as a whole (dormant tables).
    pub notes: Vec<String>,
    /// Whether a rule matches TCP flags: then a connection's packets are decided with each
    /// set of flags they carry (SYN; SYN-ACK; ACK and PSH-ACK), else with one.
    pub(crate) uses_flags: bool,
    /// Whether a rule of the ruleset starts connection tracking for IPv4 and for IPv6 (a
    /// `ct` expression, a nat statement, a connection count; see [`Ruleset::tracks`]).
    tracked: (bool, bool),
    /// Runs of plain rules, computed as decisions need them.
    batches: batch::Cache,
}

/// The most tables with unreadable flags whose every combination is tried.
const MAX_UNREADABLE: usize = 4;

/// Why a ruleset could not be read.
pub type ParseError = String;

/// The most chains a packet may pass through before the reader calls it a loop.
const DEPTH: usize = 64;

impl Ruleset {
    /// A chain; base chains have (type, hook, priority, policy).
    pub(crate) fn add_chain(
        &mut self,
        (family, table, name): (Family, String, String),
        base: Option<Base>,
        device: Option<String>,
    ) {
        self.by_name.insert(
            (family.clone(), table.clone(), name.clone()),
            self.chains.len(),
        );
        self.chains.push(Chain {
            family,
            table,
            name,
            base,
            device,
            rules: Vec::new(),
            worst: Ok(0),
        });
    }

    /// A named set of `family table`.
    pub(crate) fn add_set(
        &mut self,
        family: Family,
        table: String,
        name: String,
        elems: Vec<Elem>,
    ) {
        self.set_names
            .insert((family, table, name), self.sets.len());
        self.sets.push(elems);
    }

    /// A rule in a table of `family` that needs connection tracking. The kernel tracks
    /// connections in a namespace only while something there asks for it, and passes packets
    /// through nat chains only when it does; a rule that asks settles it for the family.
    pub(crate) fn tracks(&mut self, family: &Family) {
        match family {
            Family::Ip => self.tracked.0 = true,
            Family::Ip6 => self.tracked.1 = true,
            Family::Inet => self.tracked = (true, true),
            Family::Netdev | Family::Other(_) => {}
        }
    }

    /// Whether connection tracking is known to run for the packets of a family.
    pub(crate) fn tracked(&self, v6: bool) -> bool {
        if v6 { self.tracked.1 } else { self.tracked.0 }
    }

    /// Whether the chain exists.
    pub(crate) fn has_chain(&self, family: &Family, table: &str, name: &str) -> bool {
        self.by_name
            .contains_key(&(family.clone(), table.to_string(), name.to_string()))
    }

    /// A table whose chains the kernel does not evaluate (`flags dormant`), with the note
    /// the report gives.
    pub(crate) fn dormant(&mut self, family: Family, table: String, note: String) {
        self.notes.push(note);
        self.dormant.insert((family, table));
    }

    /// A table that may or may not be dormant (its flags could not be read).
    pub(crate) fn unreadable(&mut self, family: Family, table: String, note: String) {
        self.notes.push(note);
        self.unreadable.insert((family, table));
    }

    /// The index of a named set, for `Right::Named`.
    pub(crate) fn set_index(&self, family: &Family, table: &str, name: &str) -> Option<usize> {
        self.set_names
            .get(&(family.clone(), table.to_string(), name.to_string()))
            .copied()
    }

    /// A rule at the end of chain `(family, table, chain)`, which must exist.
    pub(crate) fn add_rule(
        &mut self,
        (family, table, chain): (&Family, &str, &str),
        handle: i64,
        comment: Option<String>,
        expr: Vec<Expr>,
    ) -> Result<(), ParseError> {
        let key = (family.clone(), table.to_string(), chain.to_string());
        let &i = self
            .by_name
            .get(&key)
            .ok_or_else(|| format!("a rule of an unknown chain {family} {table} {chain}"))?;
        if let Some(c) = self.chains.get_mut(i) {
            c.rules.push(Rule {
                handle,
                comment,
                expr,
            });
        }
        Ok(())
    }

    /// After the last rule: the worst case of every chain.
    pub(crate) fn finish(&mut self) {
        fn flags(l: &Left) -> bool {
            match l {
                Left::TcpFlags(_) => true,
                Left::Concat(parts) => parts.iter().any(flags),
                _ => false,
            }
        }
        self.uses_flags = self
            .chains
            .iter()
            .flat_map(|c| &c.rules)
            .flat_map(|r| &r.expr)
            .any(|e| match e {
                Expr::Match { left, .. } | Expr::Vmap(left, _) => flags(left),
                _ => false,
            });
        let worst = self.worst_cases();
        for (c, w) in self.chains.iter_mut().zip(worst) {
            c.worst = w;
        }
    }

    /// The most rules a packet can visit from each chain, jumps followed (a chain that jumps
    /// twice to the next, forty deep, is 2^40 visits); a loop of jumps has no bound.
    fn worst_cases(&self) -> Vec<Result<usize, String>> {
        let mut worst: Vec<Option<Result<usize, String>>> = vec![None; self.chains.len()];
        for i in 0..self.chains.len() {
            let _ = self.worst_of(i, &mut worst, &mut Vec::new());
        }
        worst.into_iter().map(|w| w.unwrap_or(Ok(0))).collect()
    }

    fn worst_of(
        &self,
        i: usize,
        worst: &mut Vec<Option<Result<usize, String>>>,
        path: &mut Vec<usize>,
    ) -> Result<usize, String> {
        if let Some(Some(w)) = worst.get(i) {
            return w.clone();
        }
        let Some(c) = self.chains.get(i) else {
            return Ok(0);
        };
        if path.contains(&i) {
            return Err(format!(
                "a loop of jumps through {} {} {}",
                c.family, c.table, c.name
            ));
        }
        // Deeper than a packet is followed (and than the stack should go).
        if path.len() > DEPTH {
            return Err(format!(
                "more than {DEPTH} nested chains at {} {} {}",
                c.family, c.table, c.name
            ));
        }
        path.push(i);
        let mut total: usize = c.rules.len();
        let mut result = Ok(0);
        let targets = c.rules.iter().flat_map(|r| &r.expr).flat_map(|e| match e {
            Expr::Jump(t, _) => vec![t],
            Expr::Vmap(_, pairs) => pairs
                .iter()
                .filter_map(|(_, v)| match v {
                    Verdict::Jump(t, _) => Some(t),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        });
        for target in targets {
            let key = (c.family.clone(), c.table.clone(), target.clone());
            let Some(&next) = self.by_name.get(&key) else {
                continue;
            };
            match self.worst_of(next, worst, path) {
                Ok(n) => total = total.saturating_add(n),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        path.pop();
        let w = result.map(|_| total);
        if let Some(slot) = worst.get_mut(i) {
            *slot = Some(w.clone());
        }
        w
    }
}
