//! A match of a rule as a union of cubes over a space's fields: what the exact evaluator
//! divides spaces by. Fields of the space (addresses, ports, the packet type by destination)
//! become sets; what every packet of the space shares (family, transport, state, flags,
//! interfaces) is compared once.

use super::*;
use crate::audit::space::{self, Addrs, Cube, Ports};

/// A value every packet of the space has, as a match compares it.
#[derive(Clone, Debug, PartialEq)]
enum Val {
    /// A protocol, family or packet type name (`tcp`, `ipv4`, `host`) and number.
    Name(&'static str, u8),
    /// `ct state` (`new`, `established`, `untracked`).
    State(&'static str),
    /// An interface, if the audit knows it (`lo` never matches a packet from another host).
    Interface(Option<String>),
    /// TCP flags (masked).
    Flags(u8),
    /// An ICMP code, a hop limit.
    Number(u8),
    /// An ICMP type (true: ICMPv6), which names of its family match.
    Icmp(bool, u8),
    /// An ICMP code of a family, which nft's names of its family's codes match.
    IcmpCode(bool, u8),
    /// A 16-bit word of a header (`th sport` of ICMPv6: type and code).
    Word(u16),
    /// An ICMPv6 checksum read as `th dport`: equal to no listed value.
    Checksum,
    /// `ct status` of a packet neither NATed nor expected.
    Status,
    /// A route back to the source through the interface the packet came in on: exists.
    Route,
}

/// Which part of the space a match reads, or the one value it reads.
enum Slot {
    Src,
    Dst,
    Sport,
    Dport,
    /// `meta pkttype`: a set of destination addresses.
    Pkttype,
    /// `fib daddr type`: a set of destination addresses.
    FibType,
    Fixed(Val),
}

/// What `left` reads from the packets of `ctx`; `None` when they have no such header.
fn slot(left: &Left, ctx: &Context) -> Result<Option<Slot>, String> {
    slot_of(left, ctx).map_or_else(
        || Ok(None),
        |s| match s {
            Slot::Fixed(Val::Number(0)) if matches!(left, Left::HopLimit) => {
                Err("`ip6 hoplimit` of a connection's packets (each host chooses it)".into())
            }
            s => Ok(Some(s)),
        },
    )
}

fn slot_of(left: &Left, ctx: &Context) -> Option<Slot> {
    let v6 = ctx.v6;
    let (l4, transport) = match ctx.l4 {
        L4::Tcp => (Val::Name("tcp", 6), true),
        L4::Udp => (Val::Name("udp", 17), true),
        L4::Icmp(..) => (Val::Name("icmp", 1), false),
        L4::Icmpv6(..) => (Val::Name("ipv6-icmp", 58), false),
    };
    let port = |want: &Option<Protocol>| {
        transport && want.is_none_or(|w| L4::transport(w) == Some(ctx.l4))
    };
    Some(match left {
        Left::Saddr { v6: f } => (*f == v6).then_some(Slot::Src)?,
        Left::Daddr { v6: f } => (*f == v6).then_some(Slot::Dst)?,
        Left::L4 { v6: f } => f.is_none_or(|f| f == v6).then_some(Slot::Fixed(l4))?,
        // `th` reads the transport header's first words whatever the protocol: for ICMP,
        // the type and code, then the checksum (which no listed port is taken to equal:
        // it changes with every packet).
        Left::Sport(None) | Left::Dport(None) if !transport => match ctx.l4 {
            L4::Icmp(t, code) | L4::Icmpv6(t, code) if matches!(left, Left::Sport(_)) => {
                Slot::Fixed(Val::Word(u16::from(t) << 8 | u16::from(code)))
            }
            _ => Slot::Fixed(Val::Checksum),
        },
        Left::Sport(want) => port(want).then_some(Slot::Sport)?,
        Left::Dport(want) => port(want).then_some(Slot::Dport)?,
        Left::Nfproto => Slot::Fixed(if v6 {
            Val::Name("ipv6", 10)
        } else {
            Val::Name("ipv4", 2)
        }),
        Left::Interface(input) => Slot::Fixed(Val::Interface(if *input {
            ctx.iif.clone()
        } else {
            ctx.oif.clone()
        })),
        Left::CtState => Slot::Fixed(Val::State(match ctx.state {
            State::New => "new",
            State::Established => "established",
            State::Untracked => "untracked",
        })),
        Left::Icmp { v6: f, kind } => match ctx.l4 {
            L4::Icmpv6(t, code) if *f => Slot::Fixed(icmp_field(true, (t, code), *kind)),
            L4::Icmp(t, code) if !*f => Slot::Fixed(icmp_field(false, (t, code), *kind)),
            _ => return None,
        },
        Left::IcmpChecksum { v6: f } => match (ctx.l4, *f) {
            (L4::Icmpv6(..), true) | (L4::Icmp(..), false) => Slot::Fixed(Val::Checksum),
            _ => return None,
        },
        // Neighbour discovery is sent with hop limit 255 (RFC 4861); a connection's packets
        // (echo included) with whatever the host chooses (0 here stands for "not known").
        Left::HopLimit => Slot::Fixed(Val::Number(match ctx.l4 {
            L4::Icmpv6(133..=137, _) => 255,
            _ if v6 => 0,
            _ => return None,
        })),
        Left::TcpFlags(mask) => match ctx.l4 {
            L4::Tcp => Slot::Fixed(Val::Flags(ctx.flags & mask)),
            _ => return None,
        },
        // What the destination address says: multicast, broadcast, or one host.
        Left::Pkttype => Slot::Pkttype,
        Left::FibDaddrType => Slot::FibType,
        Left::CtStatus => Slot::Fixed(Val::Status),
        // Packets the gateway sends have no input interface: the check does not apply.
        Left::FibReverse if ctx.local => return None,
        Left::FibReverse => Slot::Fixed(Val::Route),
        Left::Concat(_) => return None,
    })
}

/// A match as a union of cubes over the space's fields (`Ok(None)`: the packets have no such
/// header; an empty union matches nothing).
pub(super) fn cubes(
    left: &Left,
    elems: &[Elem],
    ctx: &Context,
) -> Result<Option<Vec<Cube>>, String> {
    let (parts, concat): (Vec<&Left>, bool) = match left {
        Left::Concat(p) => (p.iter().collect(), true),
        l => (vec![l], false),
    };
    let mut slots = Vec::new();
    for p in &parts {
        match slot(p, ctx)? {
            Some(s) => slots.push(s),
            None => return Ok(None),
        }
    }
    if let ([Slot::Fixed(Val::Checksum)], false) = (slots.as_slice(), concat) {
        return checksum(elems).map(Some);
    }
    // One field, many elements: one cube of their union.
    if let ([only], false) = (slots.as_slice(), concat)
        && !matches!(only, Slot::Fixed(_))
    {
        let mut cube = Cube::default();
        for e in elems {
            let one = cube_of(&[only], std::slice::from_ref(e), ctx)?;
            if let Some(one) = one {
                merge(&mut cube, one);
            }
        }
        fill_empty(&mut cube, only);
        return Ok(Some(vec![cube]));
    }
    let mut out = Vec::new();
    for e in elems {
        let values: &[Elem] = match (e, concat) {
            (Elem::Concat(v), true) => v,
            (_, true) => continue,
            (e, false) => std::slice::from_ref(e),
        };
        if values.len() != slots.len() {
            continue;
        }
        if let Some(c) = cube_of(&slots.iter().collect::<Vec<_>>(), values, ctx)? {
            out.push(c);
        }
    }
    Ok(Some(out))
}

/// At most this many of the 65,536 values (or all but this many) are taken as no (or every)
/// checksum: the chance of the other is at most 1 in 1,000.
const CHECKSUM_SURE: u32 = 64;

/// `th dport` of an ICMP or ICMPv6 message (listed as `icmp checksum` after `meta l4proto
/// icmp`) reads its checksum, which changes with the packet (and with link-layer addresses the
/// audit does not know): a match on a few values matches none, on all but a few every one;
/// anything between is not known.
fn checksum(elems: &[Elem]) -> Result<Vec<Cube>, String> {
    let mut held = Ports::new();
    for e in elems {
        let (lo, hi) = match e {
            Elem::Num(n) => (*n, *n),
            Elem::NumRange(a, b) => (*a, *b),
            other => return Err(format!("an ICMP checksum compared with {other:?}")),
        };
        // `> 1000` reads as 1001 up to the largest number.
        if let (Ok(lo), hi) = (u16::try_from(lo), u16::try_from(hi).unwrap_or(u16::MAX))
            && lo <= hi
        {
            held.ranges_insert(lo..=hi);
        }
    }
    let values = held.len();
    if values <= CHECKSUM_SURE {
        Ok(Vec::new())
    } else if values >= 65_536 - CHECKSUM_SURE {
        Ok(vec![Cube::default()])
    } else {
        Err(format!(
            "the match reads an ICMP message's checksum (`th dport`, `icmp checksum`), which \
             changes with every packet and which the audit cannot know: it holds {values} of \
             its 65536 values"
        ))
    }
}

/// A cube that allows nothing in `slot` (a match whose elements hold no value of it).
fn fill_empty(c: &mut Cube, slot: &Slot) {
    match slot {
        Slot::Src if c.src.is_none() => c.src = Some(Addrs::new()),
        Slot::Dst | Slot::Pkttype | Slot::FibType if c.dst.is_none() => {
            c.dst = Some(Addrs::new());
        }
        Slot::Sport if c.sport.is_none() => c.sport = Some(Ports::new()),
        Slot::Dport if c.dport.is_none() => c.dport = Some(Ports::new()),
        _ => {}
    }
}

/// The union of two one-field cubes.
fn merge(into: &mut Cube, c: Cube) {
    fn union<T: range_set_blaze::Integer>(
        a: &mut Option<range_set_blaze::RangeSetBlaze<T>>,
        b: Option<range_set_blaze::RangeSetBlaze<T>>,
    ) {
        if let Some(b) = b {
            *a = Some(match a.take() {
                Some(x) => &x | &b,
                None => b,
            });
        }
    }
    union(&mut into.src, c.src);
    union(&mut into.dst, c.dst);
    union(&mut into.sport, c.sport);
    union(&mut into.dport, c.dport);
}

/// One element (its values, one per slot) as a cube; `None` when a fixed value differs.
fn cube_of(slots: &[&Slot], values: &[Elem], ctx: &Context) -> Result<Option<Cube>, String> {
    let mut c = Cube::default();
    for (slot, e) in slots.iter().zip(values) {
        match slot {
            Slot::Fixed(v) => {
                if !element(e, v)? {
                    return Ok(None);
                }
            }
            Slot::Src | Slot::Dst => {
                let a = addrs(e, ctx.v6)?;
                let f = if matches!(slot, Slot::Src) {
                    &mut c.src
                } else {
                    &mut c.dst
                };
                *f = Some(f.take().map_or_else(|| a.clone(), |x| &x & &a));
            }
            Slot::Pkttype => {
                let a = if ctx.local {
                    // What this host sends is `host` to the kernel, whatever its address.
                    let host = matches!(e, Elem::Num(0))
                        || matches!(e, Elem::Name(n) if n == "host" || n == "unicast");
                    if host {
                        space::all_addrs(ctx.v6)
                    } else {
                        pkttype(e, ctx.v6)?;
                        Addrs::new()
                    }
                } else {
                    pkttype(e, ctx.v6)?
                };
                c.dst = Some(c.dst.take().map_or_else(|| a.clone(), |x| &x & &a));
            }
            Slot::FibType => {
                let a = fib_type(e, ctx)?;
                c.dst = Some(c.dst.take().map_or_else(|| a.clone(), |x| &x & &a));
            }
            Slot::Sport | Slot::Dport => {
                let p = ports(e)?;
                let f = if matches!(slot, Slot::Sport) {
                    &mut c.sport
                } else {
                    &mut c.dport
                };
                *f = Some(f.take().map_or_else(|| p.clone(), |x| &x & &p));
            }
        }
    }
    Ok(Some(c))
}

/// The addresses of one element in the family (none of another family).
fn addrs(e: &Elem, v6: bool) -> Result<Addrs, String> {
    let same = |a: &IpAddr| a.is_ipv6() == v6;
    Ok(match e {
        Elem::Addr(a) if same(a) => Addrs::from_iter([space::num(*a)..=space::num(*a)]),
        Elem::Net(n) if same(&n.addr()) => space::net(n),
        Elem::AddrRange(lo, hi) if same(lo) && same(hi) => {
            Addrs::from_iter([space::num(*lo)..=space::num(*hi)])
        }
        Elem::Addr(_) | Elem::Net(_) | Elem::AddrRange(..) => Addrs::new(),
        Elem::Unknown(what) => return Err(what.clone()),
        other => return Err(format!("{other:?} compared with an address")),
    })
}

/// The destination addresses of a packet type: `host` (0), `broadcast` (1), `multicast` (2),
/// `other` (3: another host's, never the gateway's own traffic).
fn pkttype(e: &Elem, v6: bool) -> Result<Addrs, String> {
    let multicast: Addrs = if v6 {
        Addrs::from_iter([0xff00_u128 << 112..=u128::MAX])
    } else {
        Addrs::from_iter([0xe000_0000_u128..=0xefff_ffff])
    };
    let broadcast: Addrs = if v6 {
        Addrs::new()
    } else {
        Addrs::from_iter([0xffff_ffff_u128..=0xffff_ffff])
    };
    let kind = match e {
        Elem::Name(n) => n.as_str(),
        Elem::Num(0) => "host",
        Elem::Num(1) => "broadcast",
        Elem::Num(2) => "multicast",
        Elem::Num(3) => "other",
        other => return Err(format!("packet type {other:?}")),
    };
    Ok(match kind {
        // iptables' `unicast` is nft's `host`.
        "host" | "unicast" => &(&space::all_addrs(v6) - &multicast) - &broadcast,
        "broadcast" => broadcast,
        "multicast" => multicast,
        "other" => Addrs::new(),
        other => return Err(format!("packet type {other:?}")),
    })
}

/// The destination addresses of an address type (`fib daddr type`): `local` (the host's
/// own), `multicast`, `broadcast`, `unicast` (any other), and none for the rest.
fn fib_type(e: &Elem, ctx: &Context) -> Result<Addrs, String> {
    let Elem::Name(kind) = e else {
        return Err(format!("fib address type {e:?}"));
    };
    let multicast = pkttype(&Elem::Name("multicast".into()), ctx.v6)?;
    let broadcast = pkttype(&Elem::Name("broadcast".into()), ctx.v6)?;
    Ok(match kind.as_str() {
        "local" => ctx.own.clone(),
        "multicast" => multicast,
        "broadcast" => broadcast,
        "unicast" => &(&(&space::all_addrs(ctx.v6) - &ctx.own) - &multicast) - &broadcast,
        // ip6tables' UNICAST: every address but multicast and the unspecified one.
        "any-unicast" => &(&space::all_addrs(ctx.v6) - &multicast) - &Addrs::from_iter([0..=0]),
        "unspec" | "anycast" | "blackhole" | "unreachable" | "prohibit" | "throw" | "nat"
        | "xresolve" => Addrs::new(),
        other => return Err(format!("fib address type {other:?}")),
    })
}

/// The ports of one element (numbers past 65535 hold none).
fn ports(e: &Elem) -> Result<Ports, String> {
    let clamp = |n: u64| u16::try_from(n.min(65535)).unwrap_or(u16::MAX);
    Ok(match e {
        Elem::Num(n) if *n <= 65535 => Ports::from_iter([clamp(*n)..=clamp(*n)]),
        Elem::Num(_) => Ports::new(),
        Elem::NumRange(lo, hi) if lo <= hi && *lo <= 65535 => {
            Ports::from_iter([clamp(*lo)..=clamp(*hi)])
        }
        Elem::NumRange(..) => Ports::new(),
        Elem::Unknown(what) => return Err(what.clone()),
        // A service name nft printed for a port is not resolved here.
        other => return Err(format!("{other:?} compared with a port")),
    })
}

/// The type (`kind`) or code of an ICMP message.
fn icmp_field(v6: bool, (t, code): (u8, u8), kind: bool) -> Val {
    if kind {
        Val::Icmp(v6, t)
    } else {
        Val::IcmpCode(v6, code)
    }
}

/// An ICMP code by the name nft gives it (`icmp code frag-needed`, `icmpv6 code
/// port-unreachable`).
fn icmp_code(name: &str, v6: bool) -> Option<u8> {
    Some(match (v6, name) {
        (false, "net-unreachable") | (true, "no-route") => 0,
        (false, "host-unreachable") | (true, "admin-prohibited") => 1,
        (false, "prot-unreachable") => 2,
        (false, "port-unreachable") | (true, "addr-unreachable") => 3,
        (false, "frag-needed") | (true, "port-unreachable") => 4,
        (true, "policy-fail") => 5,
        (true, "reject-route") => 6,
        (false, "net-prohibited") => 9,
        (false, "host-prohibited") => 10,
        (false, "admin-prohibited") => 13,
        _ => return None,
    })
}

/// An ICMP type by the name nft gives it in a family: the catalogue's names (nft's), and the
/// others nft prints (its aliases, multicast listener discovery and the rest of ICMPv6).
fn icmp_type(name: &str, v6: bool) -> Option<u8> {
    crate::model::icmp_number(name, v6).or(match (v6, name) {
        (false, "pong") => Some(0),
        (false, "ping") => Some(8),
        (false, "ttl-exceeded") => Some(11),
        (true, "mld-listener-query") => Some(130),
        (true, "mld-listener-report") => Some(131),
        (true, "mld-listener-done" | "mld-listener-reduction") => Some(132),
        (true, "router-renumbering") => Some(138),
        (true, "ind-neighbor-solicit") => Some(141),
        (true, "ind-neighbor-advert") => Some(142),
        (true, "mld2-listener-report") => Some(143),
        _ => None,
    })
}

/// Whether one element holds the fixed value `v`.
fn element(e: &Elem, v: &Val) -> Result<bool, String> {
    match (e, v) {
        (Elem::Unknown(what), _) => Err(what.clone()),
        (Elem::Name(s), Val::Name(name, _)) => Ok(s == name),
        (Elem::Num(n), Val::Name(_, number)) => Ok(*n == u64::from(*number)),
        (Elem::NumRange(lo, hi), Val::Name(_, number)) => {
            Ok((*lo..=*hi).contains(&u64::from(*number)))
        }
        (Elem::Name(s), Val::State(st)) => Ok(s == st),
        (Elem::Num(n), Val::Flags(f) | Val::Number(f)) => Ok(*n == u64::from(*f)),
        (Elem::NumRange(lo, hi), Val::Flags(f) | Val::Number(f)) => {
            Ok((*lo..=*hi).contains(&u64::from(*f)))
        }
        (Elem::Num(n), Val::Word(w)) => Ok(*n == u64::from(*w)),
        (Elem::NumRange(lo, hi), Val::Word(w)) => Ok((*lo..=*hi).contains(&u64::from(*w))),
        (Elem::Name(s), Val::Status) => match s.as_str() {
            "dnat" | "snat" | "expected" | "dying" | "untracked" => Ok(false),
            other => Err(format!("`ct status {other}`")),
        },
        (Elem::Name(s), Val::Route) => match s.as_str() {
            "missing" => Ok(false),
            "exists" => Ok(true),
            other => Err(format!("`fib … oif {other}`")),
        },
        // Decided for the whole match in `checksum`.
        (Elem::Num(_) | Elem::NumRange(..), Val::Checksum) => Ok(false),
        (Elem::Name(s), Val::Flags(f)) => match super::flags::named(s) {
            Some(x) => Ok(x == *f),
            None => Err(format!("tcp flag {s:?}")),
        },
        (Elem::Name(s), Val::Icmp(v6, t)) => match icmp_type(s, *v6) {
            Some(x) => Ok(x == *t),
            None => Err(format!("ICMP{} type {s:?}", if *v6 { "v6" } else { "" })),
        },
        (Elem::Num(n), Val::Icmp(_, t) | Val::IcmpCode(_, t)) => Ok(*n == u64::from(*t)),
        (Elem::NumRange(lo, hi), Val::IcmpCode(_, c)) => Ok((*lo..=*hi).contains(&u64::from(*c))),
        (Elem::Name(s), Val::IcmpCode(v6, c)) => match icmp_code(s, *v6) {
            Some(x) => Ok(x == *c),
            None => Err(format!("ICMP{} code {s:?}", if *v6 { "v6" } else { "" })),
        },
        (Elem::NumRange(lo, hi), Val::Icmp(_, t)) => Ok((*lo..=*hi).contains(&u64::from(*t))),
        // A packet from another host never comes through the loopback interface.
        (Elem::Name(s), Val::Interface(Some(name))) => Ok(match s.strip_suffix(['+', '*']) {
            // iptables `eth+`, nft `eth*`: a prefix.
            Some(prefix) => name.starts_with(prefix),
            None => s == name,
        }),
        (Elem::Name(s), Val::Interface(None)) if s == "lo" => Ok(false),
        (e, Val::Interface(None)) => Err(format!(
            "interface {e:?} (name the interfaces with --interface and --ingress-interface)"
        )),
        (e, v) => Err(format!("{e:?} compared with {v:?}")),
    }
}
