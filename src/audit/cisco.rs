//! Cisco IOS and ASA configurations (access lists, object groups, and the bindings that say
//! which list filters which direction), read into the same typed rules as an nftables dump.
//!
//! Perimeter placement only: a router or ASA in front of the gateway. The lists that decide
//! come from the bindings of the interfaces named on the command line: on IOS the list bound
//! `out` on the interface that faces the gateway filters traffic to it and the one bound `in`
//! traffic from it (IOS lists are stateless: replies must be permitted too, `established`
//! matches them); on the ASA the list bound `in` on the gateway's interface filters traffic
//! from it, and the lists bound `in` on the interfaces traffic to it arrives on filter that
//! (every one must permit; the ASA is stateful: replies pass). A list's end denies.
//!
//! ACEs: `permit`/`deny`, protocols `ip`, `ipv6`, `tcp`, `udp` (others never match a probe),
//! `any`/`any4`/`any6`, `host A`, `A WILDCARD` (IOS) or `A NETMASK` (ASA), IPv6 prefixes,
//! `object-group`/`object` references, ports `eq`/`neq`/`lt`/`gt`/`range` and service groups,
//! `established`, `log`; `remark` lines. Anything else is `unknown`, named.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::Interfaces;
use super::model::{
    Base, Elem, Expr, Family, Kind, Left, ParseError, Point, Policy, Right, Ruleset,
};
use crate::model::Protocol;

/// Whether a text is a Cisco configuration.
pub fn is_cisco(text: &str) -> bool {
    text.lines().any(|l| {
        l.starts_with("ip access-list ")
            || l.starts_with("ipv6 access-list ")
            || l.starts_with("access-list ")
    })
}

/// Whether a Cisco configuration is an ASA's (`access-list NAME extended …`).
pub fn is_asa(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("access-list ") && l.split_whitespace().nth(2) == Some("extended"))
}

/// One ACE or remark as read: (permit, matches) or a construct not understood.
enum Ace {
    Entry { permit: bool, matches: Vec<Expr> },
    Unknown(String),
}

#[derive(Default)]
struct Config {
    asa: bool,
    /// (list name, IPv6) -> its entries with their line numbers (an ASA list is read once
    /// per family: its addresses are of both).
    lists: BTreeMap<(String, bool), Vec<(usize, Ace)>>,
    /// Network object groups and objects -> members.
    nets: BTreeMap<String, Vec<Elem>>,
    /// Service groups -> (protocol if fixed, port elements).
    services: BTreeMap<String, (Option<Protocol>, Vec<Elem>)>,
    /// (interface, `in`/`out`, v6) -> list.
    bindings: BTreeMap<(String, String, bool), String>,
}

/// Lists of both IP families are read as chains of one table.
const FAMILY: Family = Family::Inet;
const TABLE: &str = "cisco";

/// Read a configuration and the gateway's addresses into rules on the forward hook.
pub fn parse(text: &str, gateway: &[IpNet], at: &Interfaces) -> Result<Ruleset, ParseError> {
    let cfg = read(text)?;
    let deciding = deciding(&cfg, at);
    if deciding.is_empty() {
        return Err(format!(
            "no access list is bound to interface {} (or the ingress interfaces) in this \
             configuration: give --interface (and, for the ASA, --ingress-interface) as the \
             configuration names them",
            at.gateway
        ));
    }
    let mut r = Ruleset::default();
    for (n, (list, toward, v6)) in deciding.iter().enumerate() {
        let chain = format!("{list}{}", if *v6 { " (IPv6)" } else { "" });
        if !r.has_chain(&FAMILY, TABLE, &chain) {
            list_chain(&mut r, &cfg, list, &chain, *v6)?;
        }
        base_chain(&mut r, cfg.asa, n, &chain, *toward, *v6, gateway)?;
    }
    r.finish();
    Ok(r)
}

/// The (list, toward the gateway, IPv6) that decide: IOS: `out` and `in` on the interface
/// facing the gateway, per family; ASA: `in` on the gateway's interface and on each ingress
/// interface, for both families.
fn deciding(cfg: &Config, at: &Interfaces) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    let bound = |i: &str, dir: &str, v6: bool| {
        cfg.bindings
            .get(&(i.to_string(), dir.to_string(), v6))
            .cloned()
    };
    for v6 in [false, true] {
        if cfg.asa {
            out.extend(bound(&at.gateway, "in", false).map(|l| (l, false, v6)));
            for i in &at.ingress {
                out.extend(bound(i, "in", false).map(|l| (l, true, v6)));
            }
        } else {
            for (dir, toward) in [("out", true), ("in", false)] {
                out.extend(bound(&at.gateway, dir, v6).map(|l| (l, toward, v6)));
            }
        }
    }
    out
}

/// A list's ACEs as a chain that ends in the implicit deny.
fn list_chain(
    r: &mut Ruleset,
    cfg: &Config,
    list: &str,
    chain: &str,
    v6: bool,
) -> Result<(), ParseError> {
    r.add_chain((FAMILY, TABLE.into(), chain.into()), None, None);
    let Some(aces) = cfg.lists.get(&(list.to_string(), v6)) else {
        return undefined_list(r, cfg.asa, list, chain, v6);
    };
    for (line, ace) in aces {
        let expr = match ace {
            Ace::Entry { permit, matches } => {
                let mut e = family_match(v6);
                e.extend(matches.iter().cloned());
                e.push(if *permit { Expr::Accept } else { Expr::Drop });
                e
            }
            Ace::Unknown(what) => vec![Expr::Unknown(what.clone())],
        };
        let handle = i64::try_from(*line).unwrap_or(0);
        r.add_rule(
            (&FAMILY, TABLE, chain),
            handle,
            Some(format!("line {line}")),
            expr,
        )?;
    }
    r.add_rule(
        (&FAMILY, TABLE, chain),
        0,
        Some("implicit deny".into()),
        vec![Expr::Drop],
    )
}

/// A bound list the configuration does not define. IOS filters nothing through it (an
/// undefined access list permits everything): every connection passes, and the report says
/// which list is missing. (The ASA refuses an `access-group` for a list that does not exist;
/// such a list denies all here, as the implicit deny of an empty list would.)
fn undefined_list(
    r: &mut Ruleset,
    asa: bool,
    list: &str,
    chain: &str,
    v6: bool,
) -> Result<(), ParseError> {
    let family = if v6 { "IPv6" } else { "IPv4" };
    if asa {
        r.notes.push(format!(
            "access list {list} is bound but not defined in this configuration: audited as \
             denying all"
        ));
        return r.add_rule(
            (&FAMILY, TABLE, chain),
            0,
            Some(format!("access list {list} is not defined")),
            vec![Expr::Drop],
        );
    }
    r.notes.push(format!(
        "{family} access list {list} is bound to an interface but not defined: IOS permits \
         everything through an undefined list, so it filters nothing; define it (or remove the \
         binding)"
    ));
    r.add_rule(
        (&FAMILY, TABLE, chain),
        0,
        Some(format!(
            "{family} access list {list} is not defined: IOS permits everything through it"
        )),
        vec![Expr::Accept],
    )
}

/// A base chain per deciding list: traffic to (or from) the gateway in its family goes
/// through the list; everything else passes (other interfaces are not audited). On the ASA,
/// replies of admitted connections pass (it is stateful).
fn base_chain(
    r: &mut Ruleset,
    asa: bool,
    n: usize,
    chain: &str,
    toward: bool,
    v6: bool,
    gateway: &[IpNet],
) -> Result<(), ParseError> {
    let base = format!("{} {chain} #{n}", if toward { "to" } else { "from" });
    let prio = i64::try_from(n).unwrap_or(0);
    r.add_chain(
        (FAMILY, TABLE.into(), base.clone()),
        Some(Base {
            kind: Kind::Filter,
            hook: Point::Forward,
            priority: prio,
            policy: Policy::Accept,
        }),
        None,
    );
    if asa {
        let replies = vec![
            Expr::Match {
                negate: false,
                left: Left::CtState,
                right: Right::Elems(vec![Elem::Name("established".into())]),
            },
            Expr::Accept,
        ];
        r.add_rule(
            (&FAMILY, TABLE, &base),
            0,
            Some("ASA: replies pass".into()),
            replies,
        )?;
    }
    let mut first = family_match(v6);
    first.push(Expr::Match {
        negate: false,
        left: if toward {
            Left::Daddr { v6 }
        } else {
            Left::Saddr { v6 }
        },
        right: Right::Elems(gateway.iter().map(|n| Elem::Net(*n)).collect()),
    });
    first.push(Expr::Jump(chain.to_string(), false));
    r.add_rule((&FAMILY, TABLE, &base), 0, None, first)
}

/// Matches the family of a list (IOS keeps IPv6 in its own lists; an ASA list holds both,
/// each ACE's addresses decide).
fn family_match(v6: bool) -> Vec<Expr> {
    vec![Expr::family(v6, false)]
}

/// The block a sub-command (an indented line) belongs to.
enum Block {
    None,
    List(String, bool),
    Net(String),
    Service(String),
    Interface(String),
}

impl Config {
    /// A sub-command of a group or an interface.
    fn sub(&mut self, block: &Block, words: &[&str]) {
        match (block, words) {
            (Block::Net(name), _) => {
                let members = net_member(words);
                self.nets.entry(name.clone()).or_default().extend(members);
            }
            (Block::Service(name), ["port-object", rest @ ..]) => {
                let (elem, _) = port_spec(rest);
                self.services.entry(name.clone()).or_default().1.push(elem);
            }
            (Block::Interface(i), ["ip", "access-group", l, dir]) => {
                self.bindings
                    .insert((i.clone(), (*dir).into(), false), (*l).into());
            }
            (Block::Interface(i), ["ipv6", "traffic-filter", l, dir]) => {
                self.bindings
                    .insert((i.clone(), (*dir).into(), true), (*l).into());
            }
            _ => {}
        }
    }
}

/// Read the configuration: lists, groups, bindings.
fn read(text: &str) -> Result<Config, ParseError> {
    let mut cfg = Config {
        asa: is_asa(text),
        ..Config::default()
    };
    let mut block = Block::None;
    // Entries are read after the groups they name: collect them first.
    let mut entries: Vec<RawEntry> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t: Vec<String> = raw.split_whitespace().map(String::from).collect();
        let words: Vec<&str> = t.iter().map(String::as_str).collect();
        if raw.starts_with('!') || words.is_empty() {
            continue;
        }
        if raw.starts_with(' ') {
            if let Block::List(name, v6) = &block {
                entries.push((line, name.clone(), *v6, t.clone()));
            } else {
                cfg.sub(&block, &words);
            }
            continue;
        }
        block = match words.as_slice() {
            ["ip", "access-list", "extended", name] => Block::List((*name).into(), false),
            ["ipv6", "access-list", name] => Block::List((*name).into(), true),
            ["object-group", "network", name] | ["object", "network", name] => {
                cfg.nets.entry((*name).into()).or_default();
                Block::Net((*name).into())
            }
            ["object-group", "service", name, proto] => {
                let p = match *proto {
                    "tcp" => Some(Protocol::Tcp),
                    "udp" => Some(Protocol::Udp),
                    _ => None,
                };
                cfg.services.insert((*name).into(), (p, Vec::new()));
                Block::Service((*name).into())
            }
            ["interface", name] => Block::Interface((*name).into()),
            ["access-list", name, "extended", ..] => {
                for v6 in [false, true] {
                    let rest = t.get(3..).unwrap_or_default().to_vec();
                    entries.push((line, (*name).into(), v6, rest));
                }
                Block::None
            }
            // `access-list NAME line N extended …` inserts at line N: kept as `line N …`.
            ["access-list", name, "line", n, "extended", ..] => {
                for v6 in [false, true] {
                    let mut rest = vec!["line".to_string(), (*n).to_string()];
                    rest.extend(t.get(5..).unwrap_or_default().iter().cloned());
                    entries.push((line, (*name).into(), v6, rest));
                }
                Block::None
            }
            ["access-list", name, action, ..] if matches!(*action, "permit" | "deny") => {
                entries.push((
                    line,
                    (*name).into(),
                    false,
                    t.get(2..).unwrap_or_default().to_vec(),
                ));
                Block::None
            }
            ["access-group", name, "in", "interface", i] => {
                cfg.bindings
                    .insert(((*i).into(), "in".into(), false), (*name).into());
                Block::None
            }
            _ => Block::None,
        };
    }
    order(&mut cfg, entries);
    Ok(cfg)
}

/// An entry as read: (line, list, IPv6, words after the list name).
type RawEntry = (usize, String, bool, Vec<String>);

/// A list's ACEs with their place (sequence) and line.
type Placed = Vec<(u64, usize, Ace)>;

/// Put every entry in its list, in order.
fn order(cfg: &mut Config, entries: Vec<RawEntry>) {
    // Where each entry goes: IOS by sequence number (given, or 10 past the list's last),
    // ASA at the line an `access-list … line N` names, else at the end.
    let mut ordered: BTreeMap<(String, bool), Placed> = BTreeMap::new();
    for (line, name, v6, words) in entries {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let list = ordered.entry((name, v6)).or_default();
        let last = list.iter().map(|e| e.0).max().unwrap_or(0);
        let (place, words) = match words.as_slice() {
            ["line", n, rest @ ..] => match n.parse::<usize>() {
                Ok(n) => (Place::At(n), rest),
                Err(_) => (Place::End, rest),
            },
            ["sequence", n, rest @ ..] | [n, rest @ ..] if n.parse::<u64>().is_ok() => {
                (Place::Seq(n.parse().unwrap_or(last + 10)), rest)
            }
            other => (Place::End, other),
        };
        let Some(ace) = ace(cfg, words, v6) else {
            continue;
        };
        match place {
            Place::Seq(seq) => list.push((seq, line, ace)),
            Place::End => list.push((last + 10, line, ace)),
            Place::At(n) => {
                let at = n.saturating_sub(1).min(list.len());
                list.insert(at, (0, line, ace));
                // Renumber: the list's order is now its order.
                for (i, e) in list.iter_mut().enumerate() {
                    e.0 = (i as u64 + 1) * 10;
                }
            }
        }
        list.sort_by_key(|e| e.0);
    }
    for (key, list) in ordered {
        cfg.lists.insert(
            key,
            list.into_iter().map(|(_, line, ace)| (line, ace)).collect(),
        );
    }
}

/// Where an ACE goes in its list.
enum Place {
    /// IOS: by sequence number.
    Seq(u64),
    /// ASA `line N`: inserted there.
    At(usize),
    /// After the last.
    End,
}

/// A member line of a network object group or object.
fn net_member(w: &[&str]) -> Vec<Elem> {
    let w = match w {
        ["network-object", rest @ ..] => rest,
        other => other,
    };
    match w {
        ["host", a] => vec![addr(a)],
        ["object", _] | ["group-object", _] => {
            vec![Elem::Unknown(format!("nested group {}", w.join(" ")))]
        }
        ["range", a, b] => match (a.parse(), b.parse()) {
            (Ok(a), Ok(b)) => vec![Elem::AddrRange(a, b)],
            _ => vec![Elem::Unknown(w.join(" "))],
        },
        ["fqdn", ..] => vec![Elem::Unknown("an FQDN object (resolved by the ASA)".into())],
        ["description", ..] => Vec::new(),
        [a, m] => vec![masked(a, m, false)],
        [p] => vec![addr(p)],
        _ => vec![Elem::Unknown(w.join(" "))],
    }
}

fn addr(a: &str) -> Elem {
    if let Ok(n) = a.parse::<IpNet>() {
        return Elem::Net(n.trunc());
    }
    a.parse::<IpAddr>()
        .map_or_else(|_| Elem::Unknown(format!("address `{a}`")), Elem::Addr)
}

/// `A MASK`: a netmask (ASA, object groups) or a wildcard (IOS ACEs).
fn masked(a: &str, m: &str, wildcard: bool) -> Elem {
    let (Ok(IpAddr::V4(a)), Ok(IpAddr::V4(m))) = (a.parse::<IpAddr>(), m.parse::<IpAddr>()) else {
        return Elem::Unknown(format!("address `{a} {m}`"));
    };
    let bits = u32::from(m);
    let mask = if wildcard { !bits } else { bits };
    // Only contiguous masks are prefixes.
    if mask.leading_ones() + mask.trailing_zeros() != 32 {
        return Elem::Unknown(format!("a non-contiguous mask `{m}`"));
    }
    let len = u8::try_from(mask.leading_ones()).unwrap_or(32);
    ipnet::Ipv4Net::new(a, len).map_or_else(
        |_| Elem::Unknown(format!("address `{a} {m}`")),
        |n| Elem::Net(IpNet::V4(n.trunc())),
    )
}

/// Well-known port names the Cisco CLI prints.
fn port_number(p: &str) -> Option<u64> {
    Some(match p {
        "www" | "http" => 80,
        "https" => 443,
        "domain" => 53,
        "smtp" => 25,
        "ssh" => 22,
        "ftp" => 21,
        "ftp-data" => 20,
        "ntp" => 123,
        "snmp" => 161,
        "snmptrap" => 162,
        "ldap" => 389,
        "ldaps" => 636,
        "syslog" => 514,
        "telnet" => 23,
        _ => return p.parse().ok(),
    })
}

/// A port spec at the start of `w`: the element and how many words it took (0: none).
fn port_spec(w: &[&str]) -> (Elem, usize) {
    let num = |p: &str| port_number(p).ok_or_else(|| format!("port `{p}`"));
    let r = match w {
        ["eq", p, ..] => num(p).map(|n| (Elem::Num(n), 2)),
        ["gt", p, ..] => num(p).map(|n| (Elem::NumRange(n + 1, 65535), 2)),
        ["lt", p, ..] => num(p).map(|n| (Elem::NumRange(0, n.saturating_sub(1)), 2)),
        ["range", a, b, ..] => num(a).and_then(|a| num(b).map(|b| (Elem::NumRange(a, b), 3))),
        ["neq", p, ..] => return (Elem::Unknown(format!("neq {p}")), 2),
        _ => return (Elem::Unknown(String::new()), 0),
    };
    r.unwrap_or_else(|e| (Elem::Unknown(e), 2))
}

/// An address spec at the start of `w` (IOS ACEs take wildcards, the ASA netmasks): the
/// elements (empty: any) and how many words it took.
fn address_spec(cfg: &Config, w: &[&str], v6: bool) -> Result<(Option<Vec<Elem>>, usize), String> {
    Ok(match w {
        ["any", ..] => (None, 1),
        ["any4", ..] if !v6 => (None, 1),
        ["any6", ..] if v6 => (None, 1),
        ["any4" | "any6", ..] => (Some(Vec::new()), 1),
        ["host", a, ..] => (Some(vec![addr(a)]), 2),
        ["object-group" | "object", name, ..] => match cfg.nets.get(*name) {
            Some(members) => (Some(members.clone()), 2),
            None => return Err(format!("object group {name} (not defined)")),
        },
        [a, m, ..]
            if a.parse::<std::net::Ipv4Addr>().is_ok()
                && m.parse::<std::net::Ipv4Addr>().is_ok() =>
        {
            (Some(vec![masked(a, m, !cfg.asa)]), 2)
        }
        [p, ..] if p.contains('/') => (Some(vec![addr(p)]), 1),
        [other, ..] => return Err(format!("address `{other}`")),
        [] => return Err("an ACE without its addresses".into()),
    })
}

/// One ACE (`permit tcp SRC [PORT] DST [PORT] [established] [log]`), or `None` for remarks.
fn ace(cfg: &Config, w: &[&str], v6: bool) -> Option<Ace> {
    let (permit, rest) = match w {
        ["remark", ..] => return None,
        ["permit", rest @ ..] => (true, rest),
        ["deny", rest @ ..] => (false, rest),
        _ => return Some(Ace::Unknown(format!("`{}`", w.join(" ")))),
    };
    Some(match entry(cfg, rest, v6) {
        Ok(matches) => Ace::Entry { permit, matches },
        Err(what) => Ace::Unknown(what),
    })
}

/// A port spec or service group at the start of `w`: its elements, and how many words.
fn ports_at(cfg: &Config, w: &[&str]) -> (Option<Vec<Elem>>, usize) {
    match w {
        ["object-group", name, ..] if cfg.services.contains_key(*name) => {
            let ports = cfg.services.get(*name).map(|s| s.1.clone());
            (ports, 2)
        }
        _ => {
            let (e, used) = port_spec(w);
            ((used > 0).then(|| vec![e]), used)
        }
    }
}

fn entry(cfg: &Config, w: &[&str], v6: bool) -> Result<Vec<Expr>, String> {
    let mut m = Vec::new();
    let elems = |v: Vec<Elem>| Right::Elems(v);
    // IOS writes ICMPv6 `icmp` in an IPv6 list; the ASA `icmp6`.
    let icmp = matches!(w.first(), Some(&"icmp" | &"icmp6"));
    let icmpv6 = icmp && (v6 || w.first() == Some(&"icmp6"));
    let (proto, mut i, service) = match w.first() {
        Some(&"ip" | &"ipv6") => (None, 1, None),
        Some(&"icmp" | &"icmp6") => {
            m.push(l4_match(if icmpv6 { "ipv6-icmp" } else { "icmp" }));
            (None, 1, None)
        }
        Some(&"tcp") => (Some(Protocol::Tcp), 1, None),
        Some(&"udp") => (Some(Protocol::Udp), 1, None),
        Some(&"object-group") => match w.get(1).and_then(|n| cfg.services.get(*n)) {
            Some((p, ports)) => (*p, 2, Some(ports)),
            None => return Err(format!("service group {:?}", w.get(1))),
        },
        // Other protocols: never a connection the audit decides.
        Some(p) => return Ok(vec![l4_match(p)]),
        None => return Err("an empty ACE".into()),
    };
    if let Some(p) = proto {
        m.push(l4_match(p.as_str()));
    }
    for (dst, side) in [(false, "source"), (true, "destination")] {
        let (addrs, used) = address_spec(cfg, w.get(i..).unwrap_or_default(), v6)
            .map_err(|e| format!("{side}: {e}"))?;
        i += used;
        if let Some(a) = addrs {
            m.push(Expr::Match {
                negate: false,
                left: if dst {
                    Left::Daddr { v6 }
                } else {
                    Left::Saddr { v6 }
                },
                right: elems(a),
            });
        }
        let (port, used) = if icmp {
            (None, 0)
        } else {
            ports_at(cfg, w.get(i..).unwrap_or_default())
        };
        i += used;
        if let Some(ports) = port {
            m.push(Expr::Match {
                negate: false,
                left: if dst {
                    Left::Dport(proto)
                } else {
                    Left::Sport(proto)
                },
                right: elems(ports),
            });
        }
    }
    if let Some(ports) = service {
        m.push(Expr::Match {
            negate: false,
            left: Left::Dport(proto),
            right: elems(ports.clone()),
        });
    }
    if icmp {
        i += icmp_spec(w.get(i..).unwrap_or_default(), icmpv6, &mut m)?;
    }
    for word in w.get(i..).unwrap_or_default() {
        match *word {
            "established" => m.push(Expr::Match {
                negate: false,
                left: Left::CtState,
                right: elems(vec![Elem::Name("established".into())]),
            }),
            "log" | "log-input" => {}
            other => return Err(format!("`{other}` in an ACE")),
        }
    }
    Ok(m)
}

/// A match of the transport protocol `name`.
fn l4_match(name: &str) -> Expr {
    Expr::Match {
        negate: false,
        left: Left::L4 { v6: None },
        right: Right::Elems(vec![Elem::Name(name.into())]),
    }
}

/// An ICMP ACE's message: a type keyword (IOS's or the ASA's) or number, then perhaps a code
/// number; matches of them pushed onto `m`. The words it read.
fn icmp_spec(w: &[&str], v6: bool, m: &mut Vec<Expr>) -> Result<usize, String> {
    let Some(&word) = w.first().filter(|&&w| !w.starts_with("log")) else {
        return Ok(0);
    };
    let t = match word.parse::<u8>() {
        Ok(n) => n,
        Err(_) => crate::render::icmp_keyword_type(word, v6).ok_or_else(|| {
            format!(
                "ICMP{} message `{word}` (not one the audit knows)",
                if v6 { "v6" } else { "" }
            )
        })?,
    };
    let field = |kind: bool, n: u8| Expr::Match {
        negate: false,
        left: Left::Icmp { v6, kind },
        right: Right::Elems(vec![Elem::Num(u64::from(n))]),
    };
    m.push(field(true, t));
    match w.get(1).map(|c| c.parse::<u8>()) {
        Some(Ok(code)) => {
            m.push(field(false, code));
            Ok(2)
        }
        _ => Ok(1),
    }
}
