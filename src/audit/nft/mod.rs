//! An nftables ruleset as `nft -j list ruleset` prints it (libnftables JSON), and what it
//! decides about one packet.
//!
//! Understood: tables of the `inet`, `ip` and `ip6` families, and their `dormant` flag; base
//! chains of type `filter` and `route` with their hook, priority and policy, on every hook a
//! packet passes (prerouting, input, forward, output, postrouting), and `nat` chains for a
//! connection's first packet; user chains reached by `jump` and `goto` (and
//! `return`); named and anonymous sets of addresses, prefixes, ranges, ports, protocols and
//! concatenations of those; `match` on `ip`/`ip6` addresses, `tcp`/`udp`/`th` ports, `meta
//! l4proto`/`nfproto`, `ct state`, and the loopback interface; verdicts `accept`, `drop`,
//! `reject`, `continue`; statements that do not decide (`counter`, `log`, `limit`, `ct
//! helper`, `mangle`, `notrack`). Anything else that could change the verdict is `Unknown`,
//! named, never guessed: a chain of another type on the way, an interface the options do
//! not name, a NAT rewrite, a match this reader does not know. What a packet meets is
//! decided in `decide`.

mod batch;
mod cubes;
mod decide;
mod json;

use json::{compare, elem, implied, left, tcp_flags};

pub use decide::Piece;

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

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
    fn path(self) -> &'static [&'static str] {
        match self {
            Hook::Input => &["ingress", "prerouting", "input"],
            Hook::Output => &["output", "postrouting"],
            Hook::Forward => &["ingress", "prerouting", "forward", "postrouting"],
        }
    }
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
    /// ICMPv6 of one type (neighbour discovery: 135 and 136), code 0.
    Icmpv6(u8),
}

impl L4 {
    pub fn of(p: Protocol) -> L4 {
        match p {
            Protocol::Tcp => L4::Tcp,
            Protocol::Udp => L4::Udp,
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
    /// host).
    pub iif: Option<String>,
    /// The interface they leave by, if known.
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
    family: String,
    table: String,
    name: String,
    /// Base chains: (type, hook, priority, policy).
    base: Option<(String, String, i64, String)>,
    /// An ingress chain's device, where the dump names it (nft 1.0.6's JSON does not).
    device: Option<String>,
    rules: Vec<Rule>,
    /// The most rules a packet can visit from here (jumps followed), or why there is no
    /// bound (a loop of jumps, chains nested too deep).
    worst: Result<usize, String>,
}

#[derive(Debug)]
struct Rule {
    handle: i64,
    comment: Option<String>,
    expr: Vec<Expr>,
}

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
    /// A statement that does not decide (`counter`, `log`, …).
    Nop,
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
    /// An ICMP (`v6`: ICMPv6) header's type (`true`) or another of its fields.
    Icmp {
        v6: bool,
        kind: bool,
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
    by_name: BTreeMap<(String, String, String), usize>,
    sets: Vec<Vec<Elem>>,
    /// (family, table, set) -> index in `sets`.
    set_names: BTreeMap<(String, String, String), usize>,
    /// Verdict maps: (family, table, name) -> their [key, verdict] elements as read.
    maps: BTreeMap<(String, String, String), Vec<Value>>,
    /// For rulesets of one family per file (iptables-save): the families given. A packet of
    /// another family is not audited (no chain there does not mean none on the firewall).
    pub(crate) families: Option<Vec<&'static str>>,
    /// Tables with `flags dormant`: the kernel evaluates none of their chains.
    dormant: std::collections::BTreeSet<(String, String)>,
    /// Tables whose flags nft printed as something that is no flag's name (nft 1.0.6 prints
    /// a table's single flag as freed memory): dormant or not, the dump cannot say.
    unreadable: std::collections::BTreeSet<(String, String)>,
    /// What the report should say about the ruleset as a whole (dormant tables).
    pub notes: Vec<String>,
    /// Whether a rule matches TCP flags: then a connection's packets are decided with each
    /// set of flags they carry (SYN; SYN-ACK; ACK and PSH-ACK), else with one.
    pub(crate) uses_flags: bool,
    /// Runs of plain rules, computed as decisions need them.
    batches: batch::Cache,
}

/// A table's flags as nft names them (`owner` and `persist` do not change what it filters).
const TABLE_FLAGS: &[&str] = &["dormant", "owner", "persist"];

/// The most tables with unreadable flags whose every combination is tried.
const MAX_UNREADABLE: usize = 4;

/// Why a ruleset could not be read.
pub type ReadError = String;

/// The most chains a packet may pass through before the reader calls it a loop.
const DEPTH: usize = 64;

fn text(o: &Value, k: &str) -> Option<String> {
    o.get(k).and_then(Value::as_str).map(String::from)
}

impl Ruleset {
    /// Read `nft -j list ruleset` output (several dumps are read as one ruleset). Sets come
    /// before the rules that use them, and chains before their rules, as nft prints them.
    pub fn parse(texts: &[&str]) -> Result<Ruleset, ReadError> {
        use serde_json::value::RawValue;
        use std::collections::BTreeMap;
        // Read as it streams: the dump is split into its items as borrowed slices of the text
        // (no tree of the whole dump), and each item is read into a small tree only while it
        // is turned into typed rules. Memory stays near the input's size plus the rules'.
        type Item<'a> = BTreeMap<String, &'a RawValue>;
        let mut raws: Vec<&RawValue> = Vec::new();
        for t in texts {
            let top: Item = serde_json::from_str(t).map_err(|e| format!("not JSON: {e}"))?;
            let list: Vec<&RawValue> = top
                .get("nftables")
                .and_then(|raw| serde_json::from_str(raw.get()).ok())
                .ok_or("no `nftables` array: not `nft -j list ruleset` output")?;
            raws.extend(list);
        }
        // Each item is read into its map only while it is used (twice: tables, chains and
        // sets first, then rules), never all of them at once.
        fn item(raw: &RawValue) -> Result<BTreeMap<String, &RawValue>, ReadError> {
            serde_json::from_str(raw.get())
                .map_err(|e| format!("an item of the `nftables` array is not an object: {e}"))
        }
        let mut r = Ruleset::default();
        let value = |raw: &RawValue| -> Result<Value, ReadError> {
            serde_json::from_str(raw.get()).map_err(|e| format!("not JSON: {e}"))
        };
        for raw in &raws {
            let item = item(raw)?;
            if item.contains_key("rule") {
                continue;
            }
            let v = Value::Object(
                item.iter()
                    .map(|(k, raw)| Ok((k.clone(), value(raw)?)))
                    .collect::<Result<_, ReadError>>()?,
            );
            r.item(&v)?;
        }
        for raw in &raws {
            if let Some(rule) = item(raw)?.get("rule") {
                r.rule(&value(rule)?)?;
            }
        }
        r.finish();
        Ok(r)
    }

    fn item(&mut self, item: &Value) -> Result<(), ReadError> {
        if let Some(t) = item.get("table") {
            self.table(t);
        } else if let Some(c) = item.get("chain") {
            let (Some(family), Some(table), Some(name)) =
                (text(c, "family"), text(c, "table"), text(c, "name"))
            else {
                return Err(format!("a chain without family, table or name: {c}"));
            };
            let base = match (text(c, "type"), text(c, "hook")) {
                (Some(t), Some(h)) => Some((
                    t,
                    h,
                    c.get("prio").and_then(Value::as_i64).unwrap_or(0),
                    text(c, "policy").unwrap_or_else(|| "accept".into()),
                )),
                _ => None,
            };
            let device = text(c, "dev");
            self.add_chain(family.clone(), table.clone(), name.clone(), base);
            if let Some(ch) = self.chains.last_mut() {
                ch.device = device;
            }
        } else if let Some(map) = item
            .get("map")
            .filter(|m| m.get("map").and_then(Value::as_str) == Some("verdict"))
        {
            let (Some(family), Some(table), Some(name)) =
                (text(map, "family"), text(map, "table"), text(map, "name"))
            else {
                return Err(format!("a map without family, table or name: {map}"));
            };
            let elements = map
                .get("elem")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            self.maps.insert((family, table, name), elements);
        } else if let Some(set) = item.get("set").or_else(|| item.get("map")) {
            let (Some(family), Some(table), Some(name)) =
                (text(set, "family"), text(set, "table"), text(set, "name"))
            else {
                return Err(format!("a set without family, table or name: {set}"));
            };
            let elements = set
                .get("elem")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(elem).collect())
                .unwrap_or_default();
            self.add_set(family, table, name, elements);
        }
        Ok(())
    }

    /// A table's flags: `"dormant"`, `["dormant", "owner"]`, or (nft 1.0.6) anything.
    fn table(&mut self, t: &Value) {
        let (Some(family), Some(name)) = (text(t, "family"), text(t, "name")) else {
            return;
        };
        let flags: Vec<String> = match t.get("flags") {
            None => return,
            Some(Value::String(f)) => vec![f.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|f| f.as_str().map_or_else(|| f.to_string(), String::from))
                .collect(),
            Some(other) => vec![other.to_string()],
        };
        let at = format!("{family} {name}");
        if let Some(odd) = flags.iter().find(|f| !TABLE_FLAGS.contains(&f.as_str())) {
            let odd = crate::text::flatten(odd, 80, &[]);
            self.notes.push(format!(
                "table {at}: nft printed its flags as {odd:?}, which names no flag (nft 1.0.6 \
                 prints a table's single flag wrongly in JSON), so whether it is dormant is not \
                 known: a connection that it decides is unknown (`nft list table {at}` shows \
                 `flags dormant` if it is)"
            ));
            self.unreadable.insert((family, name));
        } else if flags.iter().any(|f| f == "dormant") {
            self.notes.push(format!(
                "table {at} is dormant (flags dormant): the kernel evaluates none of its chains, \
                 so they filter nothing and are not audited"
            ));
            self.dormant.insert((family, name));
        }
    }

    fn rule(&mut self, rule: &Value) -> Result<(), ReadError> {
        let (Some(family), Some(table), Some(chain)) = (
            text(rule, "family"),
            text(rule, "table"),
            text(rule, "chain"),
        ) else {
            return Err(format!("a rule without family, table or name: {rule}"));
        };
        let mut expr = Vec::new();
        for e in rule
            .get("expr")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            expr.extend(implied(e));
            expr.push(self.expr(&family, &table, e));
        }
        let handle = rule.get("handle").and_then(Value::as_i64).unwrap_or(0);
        self.add_rule(
            (&family, &table, &chain),
            handle,
            text(rule, "comment"),
            expr,
        )
    }

    /// A chain; base chains have (type, hook, priority, policy).
    pub(crate) fn add_chain(
        &mut self,
        family: String,
        table: String,
        name: String,
        base: Option<(String, String, i64, String)>,
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
            device: None,
            rules: Vec::new(),
            worst: Ok(0),
        });
    }

    /// A named set of `family table`.
    pub(crate) fn add_set(
        &mut self,
        family: String,
        table: String,
        name: String,
        elems: Vec<Elem>,
    ) {
        self.set_names
            .insert((family, table, name), self.sets.len());
        self.sets.push(elems);
    }

    /// Whether the chain exists.
    pub(crate) fn has_chain(&self, family: &str, table: &str, name: &str) -> bool {
        self.by_name
            .contains_key(&(family.to_string(), table.to_string(), name.to_string()))
    }

    /// The index of a named set, for `Right::Named`.
    pub(crate) fn set_index(&self, family: &str, table: &str, name: &str) -> Option<usize> {
        self.set_names
            .get(&(family.to_string(), table.to_string(), name.to_string()))
            .copied()
    }

    /// A rule at the end of chain `(family, table, chain)`, which must exist.
    pub(crate) fn add_rule(
        &mut self,
        (family, table, chain): (&str, &str, &str),
        handle: i64,
        comment: Option<String>,
        expr: Vec<Expr>,
    ) -> Result<(), ReadError> {
        let key = (family.to_string(), table.to_string(), chain.to_string());
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

    /// One expression of a rule in table `family table`.
    fn expr(&self, family: &str, table: &str, e: &Value) -> Expr {
        let Some((kind, body)) = e.as_object().and_then(|o| o.iter().next()) else {
            return Expr::Unknown(format!("expression {e}"));
        };
        match kind.as_str() {
            "match" => self.matching(family, table, body),
            "accept" => Expr::Accept,
            "drop" | "reject" => Expr::Drop,
            "return" => Expr::Return,
            "jump" | "goto" => {
                let target = body
                    .get("target")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                Expr::Jump(target.to_string(), kind == "goto")
            }
            "counter" | "log" | "limit" | "ct helper" | "mangle" | "comment" | "continue"
            | "quota" | "meter" | "set" | "ct count" => Expr::Nop,
            "snat" | "masquerade" => Expr::Snat,
            "notrack" => Expr::Unknown(
                "`notrack`: connection tracking skips these packets, so state matches see them \
                 as untracked"
                    .into(),
            ),
            "dnat" | "redirect" | "tproxy" => Expr::Unknown(format!(
                "`{kind}` rewrites the destination: the connections it touches are not decided"
            )),
            "vmap" => self.vmap(family, table, body),
            other => Expr::Unknown(format!("`{other}`")),
        }
    }

    /// A `match` expression: `==`, `!=`, `in`, and `<`, `>`, `<=`, `>=` on numbers (a range).
    fn matching(&self, family: &str, table: &str, body: &Value) -> Expr {
        let op = body.get("op").and_then(Value::as_str).unwrap_or("==");
        let left = match body.get("left").map(left) {
            Some(Ok(l)) => l,
            Some(Err(what)) => return Expr::Unknown(what),
            None => return Expr::Unknown("a match without left side".into()),
        };
        let Some(rv) = body.get("right") else {
            return Expr::Unknown("a match without right side".into());
        };
        if let Left::TcpFlags(mask) = left {
            return tcp_flags(op, mask, rv);
        }
        let right = match rv {
            Value::String(s) if s.starts_with('@') => {
                let key = (family.to_string(), table.to_string(), s[1..].to_string());
                match self.set_names.get(&key) {
                    Some(&i) => Right::Named(i),
                    None => return Expr::Unknown(format!("missing set {s}")),
                }
            }
            Value::Object(o) if o.contains_key("set") => Right::Elems(
                o["set"]
                    .as_array()
                    .map(|a| a.iter().map(elem).collect())
                    .unwrap_or_default(),
            ),
            Value::Array(items) => Right::Elems(items.iter().map(elem).collect()),
            other => Right::Elems(vec![elem(other)]),
        };
        let (negate, right) = match (op, right) {
            ("==" | "in", r) => (false, r),
            ("!=", r) => (true, r),
            (cmp @ ("<" | ">" | "<=" | ">="), Right::Elems(e)) => match e.as_slice() {
                [Elem::Num(n)] => (false, Right::Elems(compare(cmp, *n))),
                _ => return Expr::Unknown(format!("comparison `{cmp}` with {rv}")),
            },
            (other, _) => return Expr::Unknown(format!("comparison `{other}`")),
        };
        Expr::Match {
            negate,
            left,
            right,
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

    /// A verdict map statement: its key and its elements (anonymous, or a named map).
    fn vmap(&self, family: &str, table: &str, body: &Value) -> Expr {
        let key = match body.get("key").map(left) {
            Some(Ok(l)) => l,
            Some(Err(what)) => return Expr::Unknown(what),
            None => return Expr::Unknown("a verdict map without key".into()),
        };
        let pairs: Vec<Value> = match body.get("data") {
            Some(Value::Object(o)) if o.contains_key("set") => {
                o["set"].as_array().cloned().unwrap_or_default()
            }
            Some(Value::String(name)) if name.starts_with('@') => {
                let k = (family.to_string(), table.to_string(), name[1..].to_string());
                match self.maps.get(&k) {
                    Some(pairs) => pairs.clone(),
                    None => return Expr::Unknown(format!("missing verdict map {name}")),
                }
            }
            _ => return Expr::Unknown("a verdict map of another form".into()),
        };
        let mut out = Vec::new();
        for pair in &pairs {
            let (Some(k), Some(v)) = (pair.get(0), pair.get(1)) else {
                return Expr::Unknown(format!("verdict map element {pair}"));
            };
            let Some((kind, body)) = v.as_object().and_then(|o| o.iter().next()) else {
                return Expr::Unknown(format!("verdict {v}"));
            };
            let verdict = match kind.as_str() {
                "accept" => Verdict::Accept,
                "drop" | "reject" => Verdict::Drop,
                "return" => Verdict::Return,
                "continue" => Verdict::Continue,
                "jump" | "goto" => Verdict::Jump(
                    body.get("target")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    kind == "goto",
                ),
                other => return Expr::Unknown(format!("verdict `{other}` in a map")),
            };
            out.push((elem(k), verdict));
        }
        Expr::Vmap(key, out)
    }
}
